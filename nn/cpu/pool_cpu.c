/* Pooling on the cpu: max pooling (kept indices in a workspace for backward)
 * and global average pooling, oneDNN primitives on the backend's activation
 * layout, cached per shape. */
#include <stdlib.h>

#include "nn/cpu/cpu_backend.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, diff_src, diff_dst, workspace;
    size_t workspace_bytes;
} pool_state;

static void pool_state_destroy(void *p) {
    pool_state *s = p;
    dnnl_memory_t mems[] = {s->src, s->dst, s->diff_src, s->diff_dst, s->workspace};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->fwd) dnnl_primitive_destroy(s->fwd);
    if (s->bwd) dnnl_primitive_destroy(s->bwd);
    if (s->fwd_pd) dnnl_primitive_desc_destroy(s->fwd_pd);
    free(s);
}

static pool_state *pool_state_get(cpu_impl *impl, int op, const cbd_pool_shape *s) {
    const int dims[9] = {s->n,     s->c,     s->in_h,  s->in_w,  s->out_h,
                         s->out_w, s->kernel, s->stride, s->pad};
    cpu_cache_key key = cpu_key(op, 9, dims);
    pool_state *p = cpu_cache_find(impl, &key);
    if (p) return p;

    p = calloc(1, sizeof *p);
    if (!p) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a pooling primitive");
    const dnnl_dims_t src_dims = {s->n, s->c, s->in_h, s->in_w};
    const dnnl_dims_t dst_dims = {s->n, s->c, s->out_h, s->out_w};
    dnnl_memory_desc_t src_md, dst_md;
    cpu_md_activation(impl, &src_md, src_dims);
    cpu_md_activation(impl, &dst_md, dst_dims);
    /* global pooling: one window over the whole (possibly non-square) map */
    const int global = op == CPU_OP_AVGPOOL_GLOBAL;
    const dnnl_dims_t strides = {s->stride, s->stride};
    const dnnl_dims_t kernel = {global ? s->in_h : s->kernel, global ? s->in_w : s->kernel};
    const dnnl_dims_t pad_l = {s->pad, s->pad};
    const dnnl_dims_t pad_r = {(s->out_h - 1) * s->stride + kernel[0] - s->in_h - s->pad,
                               (s->out_w - 1) * s->stride + kernel[1] - s->in_w - s->pad};
    dnnl_alg_kind_t alg = op == CPU_OP_MAXPOOL ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;

    dnnl_pooling_desc_t desc;
    DNNL_CHECK(dnnl_pooling_forward_desc_init(&desc, dnnl_forward_training, alg, &src_md, &dst_md,
                                              strides, kernel, pad_l, pad_r));
    DNNL_CHECK(dnnl_primitive_desc_create(&p->fwd_pd, &desc, NULL, impl->engine, NULL));
    DNNL_CHECK(dnnl_primitive_create(&p->fwd, p->fwd_pd));
    dnnl_pooling_desc_t bdesc;
    DNNL_CHECK(dnnl_pooling_backward_desc_init(&bdesc, alg, &src_md, &dst_md, strides, kernel,
                                               pad_l, pad_r));
    dnnl_primitive_desc_t bpd;
    DNNL_CHECK(dnnl_primitive_desc_create(&bpd, &bdesc, NULL, impl->engine, p->fwd_pd));
    DNNL_CHECK(dnnl_primitive_create(&p->bwd, bpd));
    DNNL_CHECK(dnnl_primitive_desc_destroy(bpd));

    DNNL_CHECK(dnnl_memory_create(&p->src, &src_md, impl->engine, DNNL_MEMORY_NONE));
    DNNL_CHECK(dnnl_memory_create(&p->dst, &dst_md, impl->engine, DNNL_MEMORY_NONE));
    DNNL_CHECK(dnnl_memory_create(&p->diff_src, &src_md, impl->engine, DNNL_MEMORY_NONE));
    DNNL_CHECK(dnnl_memory_create(&p->diff_dst, &dst_md, impl->engine, DNNL_MEMORY_NONE));
    const dnnl_memory_desc_t *ws_md = dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_workspace_md, 0);
    p->workspace_bytes = ws_md ? dnnl_memory_desc_get_size(ws_md) : 0;
    if (p->workspace_bytes)
        DNNL_CHECK(dnnl_memory_create(&p->workspace, ws_md, impl->engine, DNNL_MEMORY_NONE));
    cpu_cache_insert(impl, &key, p, pool_state_destroy);
    return p;
}

size_t cpu_maxpool_workspace_bytes(cbd_backend *be, const cbd_pool_shape *s) {
    return pool_state_get(cpu_of(be), CPU_OP_MAXPOOL, s)->workspace_bytes;
}

void cpu_maxpool_forward(cbd_backend *be, const cbd_pool_shape *s, const float *x, float *y,
                         void *workspace) {
    cpu_impl *impl = cpu_of(be);
    pool_state *p = pool_state_get(impl, CPU_OP_MAXPOOL, s);
    cpu_memory_bind(p->src, x);
    cpu_memory_bind(p->dst, y);
    cpu_memory_bind(p->workspace, workspace);
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, p->src}, {DNNL_ARG_DST, p->dst}, {DNNL_ARG_WORKSPACE, p->workspace}};
    cpu_execute(impl, p->fwd, 3, args);
}

void cpu_maxpool_backward(cbd_backend *be, const cbd_pool_shape *s, const float *dy,
                          const void *workspace, float *dx) {
    cpu_impl *impl = cpu_of(be);
    pool_state *p = pool_state_get(impl, CPU_OP_MAXPOOL, s);
    cpu_memory_bind(p->diff_dst, dy);
    cpu_memory_bind(p->workspace, workspace);
    cpu_memory_bind(p->diff_src, dx);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, p->diff_dst},
                               {DNNL_ARG_WORKSPACE, p->workspace},
                               {DNNL_ARG_DIFF_SRC, p->diff_src}};
    cpu_execute(impl, p->bwd, 3, args);
}

static cbd_pool_shape global_shape(const cbd_shape4 *in) {
    cbd_pool_shape s = {in->n, in->c, in->h, in->w, 1, 1, 0, 1, 0};
    return s;
}

void cpu_avgpool_global_forward(cbd_backend *be, const cbd_shape4 *in, const float *x, float *y) {
    cpu_impl *impl = cpu_of(be);
    cbd_pool_shape s = global_shape(in);
    pool_state *p = pool_state_get(impl, CPU_OP_AVGPOOL_GLOBAL, &s);
    cpu_memory_bind(p->src, x);
    cpu_memory_bind(p->dst, y);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DST, p->dst}};
    cpu_execute(impl, p->fwd, 2, args);
}

void cpu_avgpool_global_backward(cbd_backend *be, const cbd_shape4 *in, const float *dy,
                                 float *dx) {
    cpu_impl *impl = cpu_of(be);
    cbd_pool_shape s = global_shape(in);
    pool_state *p = pool_state_get(impl, CPU_OP_AVGPOOL_GLOBAL, &s);
    cpu_memory_bind(p->diff_dst, dy);
    cpu_memory_bind(p->diff_src, dx);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DIFF_DST, p->diff_dst}, {DNNL_ARG_DIFF_SRC, p->diff_src}};
    cpu_execute(impl, p->bwd, 2, args);
}
