/* Convolution on the cpu: oneDNN primitives chosen with format `any` (the
 * blocked layouts its JIT kernels run fastest on), bridged to and from NCHW at
 * the op boundary, cached per shape. */
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"

typedef struct {
    dnnl_memory_desc_t src_any, wei_any, dst_any;
    dnnl_memory_desc_t src_user, wei_user, dst_user;
    dnnl_dims_t strides, pad_l, pad_r;

    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd;
    cpu_bridge fwd_src, fwd_wei, fwd_dst;

    dnnl_primitive_t bwd_data;
    cpu_bridge bd_diff_dst, bd_wei, bd_diff_src;

    dnnl_primitive_t bwd_weights;
    cpu_bridge bw_src, bw_diff_dst, bw_diff_wei;
} conv_state;

static void conv_state_destroy(void *p) {
    conv_state *c = p;
    cpu_bridge_destroy(&c->fwd_src);
    cpu_bridge_destroy(&c->fwd_wei);
    cpu_bridge_destroy(&c->fwd_dst);
    cpu_bridge_destroy(&c->bd_diff_dst);
    cpu_bridge_destroy(&c->bd_wei);
    cpu_bridge_destroy(&c->bd_diff_src);
    cpu_bridge_destroy(&c->bw_src);
    cpu_bridge_destroy(&c->bw_diff_dst);
    cpu_bridge_destroy(&c->bw_diff_wei);
    if (c->fwd) dnnl_primitive_destroy(c->fwd);
    if (c->bwd_data) dnnl_primitive_destroy(c->bwd_data);
    if (c->bwd_weights) dnnl_primitive_destroy(c->bwd_weights);
    if (c->fwd_pd) dnnl_primitive_desc_destroy(c->fwd_pd);
    free(c);
}

static const dnnl_memory_desc_t *query(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static conv_state *conv_state_get(cpu_impl *impl, const cbd_conv_shape *s) {
    const int dims[10] = {s->n,     s->in_c,  s->in_h, s->in_w,   s->out_c,
                          s->out_h, s->out_w, s->kernel, s->stride, s->pad};
    cpu_cache_key key = cpu_key(CPU_OP_CONV, 10, dims);
    conv_state *c = cpu_cache_find(impl, &key);
    if (c) return c;

    c = calloc(1, sizeof *c);
    if (!c) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a convolution primitive");
    const dnnl_dims_t src = {s->n, s->in_c, s->in_h, s->in_w};
    const dnnl_dims_t wei = {s->out_c, s->in_c, s->kernel, s->kernel};
    const dnnl_dims_t dst = {s->n, s->out_c, s->out_h, s->out_w};
    cpu_md_plain(&c->src_any, 4, src, dnnl_format_tag_any);
    cpu_md_plain(&c->wei_any, 4, wei, dnnl_format_tag_any);
    cpu_md_plain(&c->dst_any, 4, dst, dnnl_format_tag_any);
    cpu_md_plain(&c->src_user, 4, src, dnnl_nchw);
    cpu_md_plain(&c->wei_user, 4, wei, dnnl_oihw);
    cpu_md_plain(&c->dst_user, 4, dst, dnnl_nchw);
    c->strides[0] = c->strides[1] = s->stride;
    c->pad_l[0] = c->pad_l[1] = s->pad;
    c->pad_r[0] = (s->out_h - 1) * s->stride + s->kernel - s->in_h - s->pad;
    c->pad_r[1] = (s->out_w - 1) * s->stride + s->kernel - s->in_w - s->pad;

    dnnl_convolution_desc_t desc;
    DNNL_CHECK(dnnl_convolution_forward_desc_init(
        &desc, dnnl_forward_training, dnnl_convolution_direct, &c->src_any, &c->wei_any, NULL,
        &c->dst_any, c->strides, c->pad_l, c->pad_r));
    DNNL_CHECK(dnnl_primitive_desc_create(&c->fwd_pd, &desc, NULL, impl->engine, NULL));
    DNNL_CHECK(dnnl_primitive_create(&c->fwd, c->fwd_pd));
    cpu_bridge_init(impl, &c->fwd_src, &c->src_user, query(c->fwd_pd, dnnl_query_src_md), 1);
    cpu_bridge_init(impl, &c->fwd_wei, &c->wei_user, query(c->fwd_pd, dnnl_query_weights_md), 1);
    cpu_bridge_init(impl, &c->fwd_dst, &c->dst_user, query(c->fwd_pd, dnnl_query_dst_md), 0);
    cpu_cache_insert(impl, &key, c, conv_state_destroy);
    return c;
}

void cpu_conv2d_forward(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w,
                        float *y) {
    cpu_impl *impl = cpu_of(be);
    conv_state *c = conv_state_get(impl, s);
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, cpu_bridge_input(impl, &c->fwd_src, x)},
        {DNNL_ARG_WEIGHTS, cpu_bridge_input(impl, &c->fwd_wei, w)},
        {DNNL_ARG_DST, cpu_bridge_output(&c->fwd_dst, y)},
    };
    cpu_execute(impl, c->fwd, 3, args);
    cpu_bridge_output_done(impl, &c->fwd_dst);
}

void cpu_conv2d_backward_data(cbd_backend *be, const cbd_conv_shape *s, const float *dy,
                              const float *w, float *dx) {
    cpu_impl *impl = cpu_of(be);
    conv_state *c = conv_state_get(impl, s);
    if (!c->bwd_data) {
        dnnl_convolution_desc_t desc;
        DNNL_CHECK(dnnl_convolution_backward_data_desc_init(
            &desc, dnnl_convolution_direct, &c->src_any, &c->wei_any, &c->dst_any, c->strides,
            c->pad_l, c->pad_r));
        dnnl_primitive_desc_t pd;
        DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, impl->engine, c->fwd_pd));
        DNNL_CHECK(dnnl_primitive_create(&c->bwd_data, pd));
        cpu_bridge_init(impl, &c->bd_diff_dst, &c->dst_user, query(pd, dnnl_query_diff_dst_md), 1);
        cpu_bridge_init(impl, &c->bd_wei, &c->wei_user, query(pd, dnnl_query_weights_md), 1);
        cpu_bridge_init(impl, &c->bd_diff_src, &c->src_user, query(pd, dnnl_query_diff_src_md), 0);
        DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
    }
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_DIFF_DST, cpu_bridge_input(impl, &c->bd_diff_dst, dy)},
        {DNNL_ARG_WEIGHTS, cpu_bridge_input(impl, &c->bd_wei, w)},
        {DNNL_ARG_DIFF_SRC, cpu_bridge_output(&c->bd_diff_src, dx)},
    };
    cpu_execute(impl, c->bwd_data, 3, args);
    cpu_bridge_output_done(impl, &c->bd_diff_src);
}

void cpu_conv2d_backward_weights(cbd_backend *be, const cbd_conv_shape *s, const float *x,
                                 const float *dy, float *dw) {
    cpu_impl *impl = cpu_of(be);
    conv_state *c = conv_state_get(impl, s);
    if (!c->bwd_weights) {
        dnnl_convolution_desc_t desc;
        DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(
            &desc, dnnl_convolution_direct, &c->src_any, &c->wei_any, NULL, &c->dst_any,
            c->strides, c->pad_l, c->pad_r));
        dnnl_primitive_desc_t pd;
        DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, impl->engine, c->fwd_pd));
        DNNL_CHECK(dnnl_primitive_create(&c->bwd_weights, pd));
        cpu_bridge_init(impl, &c->bw_src, &c->src_user, query(pd, dnnl_query_src_md), 1);
        cpu_bridge_init(impl, &c->bw_diff_dst, &c->dst_user, query(pd, dnnl_query_diff_dst_md), 1);
        cpu_bridge_init(impl, &c->bw_diff_wei, &c->wei_user,
                        query(pd, dnnl_query_diff_weights_md), 0);
        DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
    }
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, cpu_bridge_input(impl, &c->bw_src, x)},
        {DNNL_ARG_DIFF_DST, cpu_bridge_input(impl, &c->bw_diff_dst, dy)},
        {DNNL_ARG_DIFF_WEIGHTS, cpu_bridge_output(&c->bw_diff_wei, dw)},
    };
    cpu_execute(impl, c->bwd_weights, 3, args);
    cpu_bridge_output_done(impl, &c->bw_diff_wei);
}
