/* Batch normalisation on the cpu: oneDNN primitives on NCHW, cached per shape.
 * Training normalises with batch statistics; inference with running ones. */
#include <stdlib.h>

#include "nn/cpu/cpu_backend.h"

typedef struct {
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, mean, var, scale, shift;
    dnnl_memory_t diff_src, diff_dst, diff_scale, diff_shift;
} bn_state;

static void bn_state_destroy(void *p) {
    bn_state *b = p;
    dnnl_memory_t mems[] = {b->src,      b->dst,      b->mean,       b->var,       b->scale,
                            b->shift,    b->diff_src, b->diff_dst,   b->diff_scale, b->diff_shift};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (b->fwd) dnnl_primitive_destroy(b->fwd);
    if (b->bwd) dnnl_primitive_destroy(b->bwd);
    if (b->fwd_pd) dnnl_primitive_desc_destroy(b->fwd_pd);
    free(b);
}

static dnnl_memory_t make_mem(cpu_impl *impl, const dnnl_memory_desc_t *md) {
    dnnl_memory_t m;
    DNNL_CHECK(dnnl_memory_create(&m, md, impl->engine, DNNL_MEMORY_NONE));
    return m;
}

static bn_state *bn_state_get(cpu_impl *impl, const cbd_shape4 *s, float eps, int training) {
    /* eps joins the key bit for bit: one network may mix epsilons. */
    union { float f; int i; } eps_bits = {eps};
    const int dims[5] = {s->n, s->c, s->h, s->w, eps_bits.i};
    cpu_cache_key key = cpu_key(training ? CPU_OP_BN_TRAIN : CPU_OP_BN_INFER, 5, dims);
    bn_state *b = cpu_cache_find(impl, &key);
    if (b) return b;

    b = calloc(1, sizeof *b);
    if (!b) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a batch norm primitive");
    const dnnl_dims_t data_dims = {s->n, s->c, s->h, s->w};
    const dnnl_dims_t chan_dims = {s->c};
    dnnl_memory_desc_t data_md, chan_md;
    cpu_md_plain(&data_md, 4, data_dims, dnnl_nchw);
    cpu_md_plain(&chan_md, 1, chan_dims, dnnl_a);

    unsigned flags = dnnl_use_scale | dnnl_use_shift;
    if (!training) flags |= dnnl_use_global_stats;
    dnnl_batch_normalization_desc_t desc;
    DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(
        &desc, training ? dnnl_forward_training : dnnl_forward_inference, &data_md, eps, flags));
    DNNL_CHECK(dnnl_primitive_desc_create(&b->fwd_pd, &desc, NULL, impl->engine, NULL));
    DNNL_CHECK(dnnl_primitive_create(&b->fwd, b->fwd_pd));
    b->src = make_mem(impl, &data_md);
    b->dst = make_mem(impl, &data_md);
    b->mean = make_mem(impl, &chan_md);
    b->var = make_mem(impl, &chan_md);
    b->scale = make_mem(impl, &chan_md);
    b->shift = make_mem(impl, &chan_md);
    if (training) {
        dnnl_batch_normalization_desc_t bdesc;
        DNNL_CHECK(dnnl_batch_normalization_backward_desc_init(&bdesc, dnnl_backward, &data_md,
                                                               &data_md, eps, flags));
        dnnl_primitive_desc_t bpd;
        DNNL_CHECK(dnnl_primitive_desc_create(&bpd, &bdesc, NULL, impl->engine, b->fwd_pd));
        DNNL_CHECK(dnnl_primitive_create(&b->bwd, bpd));
        DNNL_CHECK(dnnl_primitive_desc_destroy(bpd));
        b->diff_src = make_mem(impl, &data_md);
        b->diff_dst = make_mem(impl, &data_md);
        b->diff_scale = make_mem(impl, &chan_md);
        b->diff_shift = make_mem(impl, &chan_md);
    }
    cpu_cache_insert(impl, &key, b, bn_state_destroy);
    return b;
}

void cpu_batchnorm_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                 const float *gamma, const float *beta, float *y,
                                 float *batch_mean, float *batch_var) {
    cpu_impl *impl = cpu_of(be);
    bn_state *b = bn_state_get(impl, s, eps, 1);
    cpu_memory_bind(b->src, x);
    cpu_memory_bind(b->scale, gamma);
    cpu_memory_bind(b->shift, beta);
    cpu_memory_bind(b->dst, y);
    cpu_memory_bind(b->mean, batch_mean);
    cpu_memory_bind(b->var, batch_var);
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, b->src},   {DNNL_ARG_SCALE, b->scale},
                               {DNNL_ARG_SHIFT, b->shift}, {DNNL_ARG_DST, b->dst},
                               {DNNL_ARG_MEAN, b->mean},  {DNNL_ARG_VARIANCE, b->var}};
    cpu_execute(impl, b->fwd, 6, args);
}

void cpu_batchnorm_forward_infer(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                 const float *gamma, const float *beta, const float *mean,
                                 const float *var, float *y) {
    cpu_impl *impl = cpu_of(be);
    bn_state *b = bn_state_get(impl, s, eps, 0);
    cpu_memory_bind(b->src, x);
    cpu_memory_bind(b->scale, gamma);
    cpu_memory_bind(b->shift, beta);
    cpu_memory_bind(b->mean, mean);
    cpu_memory_bind(b->var, var);
    cpu_memory_bind(b->dst, y);
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, b->src},   {DNNL_ARG_SCALE, b->scale},
                               {DNNL_ARG_SHIFT, b->shift}, {DNNL_ARG_MEAN, b->mean},
                               {DNNL_ARG_VARIANCE, b->var}, {DNNL_ARG_DST, b->dst}};
    cpu_execute(impl, b->fwd, 6, args);
}

void cpu_batchnorm_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                            const float *dy, const float *gamma, const float *batch_mean,
                            const float *batch_var, float *dx, float *dgamma, float *dbeta) {
    cpu_impl *impl = cpu_of(be);
    bn_state *b = bn_state_get(impl, s, eps, 1);
    cpu_memory_bind(b->src, x);
    cpu_memory_bind(b->diff_dst, dy);
    cpu_memory_bind(b->scale, gamma);
    cpu_memory_bind(b->shift, gamma); /* not read by backward, but the primitive wants it bound */
    cpu_memory_bind(b->mean, batch_mean);
    cpu_memory_bind(b->var, batch_var);
    cpu_memory_bind(b->diff_src, dx);
    cpu_memory_bind(b->diff_scale, dgamma);
    cpu_memory_bind(b->diff_shift, dbeta);
    dnnl_exec_arg_t args[9] = {
        {DNNL_ARG_SHIFT, b->shift},
        {DNNL_ARG_SRC, b->src},           {DNNL_ARG_DIFF_DST, b->diff_dst},
        {DNNL_ARG_SCALE, b->scale},       {DNNL_ARG_MEAN, b->mean},
        {DNNL_ARG_VARIANCE, b->var},      {DNNL_ARG_DIFF_SRC, b->diff_src},
        {DNNL_ARG_DIFF_SCALE, b->diff_scale}, {DNNL_ARG_DIFF_SHIFT, b->diff_shift}};
    cpu_execute(impl, b->bwd, 9, args);
}

void cpu_batchnorm_update_running(cbd_backend *be, int channels, size_t count, float momentum,
                                  const float *batch_mean, const float *batch_var,
                                  float *running_mean, float *running_var) {
    (void)be;
    const float unbias = count > 1 ? (float)count / (float)(count - 1) : 1.0f;
    for (int c = 0; c < channels; c++) {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * batch_mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbias * batch_var[c];
    }
}
