/* The cpu backend: host memory, oneDNN for convolution, batch norm and
 * pooling, OpenBLAS for GEMM, OpenMP loops for the rest. The readable
 * reference every other backend is checked against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"

static void *cpu_alloc(cbd_backend *be, size_t bytes) {
    (void)be;
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu bytes", bytes);
    return p;
}

static void cpu_release(cbd_backend *be, void *p) {
    (void)be;
    free(p);
}

static void cpu_copy_bytes(cbd_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (dst != src) memmove(dst, src, bytes);
}

static void cpu_fill(cbd_backend *be, float *x, size_t n, float value) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = value;
}

static void cpu_synchronize(cbd_backend *be) { (void)be; }

static void cpu_destroy(cbd_backend *be) {
    cpu_impl *impl = cpu_of(be);
    cpu_cache_clear(impl);
    cpu_scratch_free(impl);
    dnnl_stream_destroy(impl->stream);
    dnnl_engine_destroy(impl->engine);
    free(impl);
    free(be);
}

cbd_backend *cbd_backend_cpu_create(char *err, size_t err_len) {
    return cbd_backend_cpu_create_layout(CPU_CHANNEL_BLOCK, err, err_len);
}

cbd_backend *cbd_backend_cpu_create_layout(int channel_block, char *err, size_t err_len) {
    if (channel_block != 0 && channel_block != CPU_CHANNEL_BLOCK) {
        snprintf(err, err_len, "the cpu backend stores channels in blocks of %d or not at all, not %d",
                 CPU_CHANNEL_BLOCK, channel_block);
        return NULL;
    }
    cpu_impl *impl = calloc(1, sizeof *impl);
    cbd_backend *be = calloc(1, sizeof *be);
    if (!impl || !be) {
        snprintf(err, err_len, "out of memory creating the cpu backend");
        free(impl);
        free(be);
        return NULL;
    }
    if (dnnl_engine_create(&impl->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&impl->stream, impl->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(err, err_len, "oneDNN could not create a cpu engine");
        free(impl);
        free(be);
        return NULL;
    }
    be->name = "cpu";
    be->channel_block = channel_block;
    impl->channel_block = channel_block;
    be->impl = impl;
    be->destroy = cpu_destroy;
    be->ops = (cbd_ops){
        .alloc = cpu_alloc,
        .release = cpu_release,
        .upload = cpu_copy_bytes,
        .download = cpu_copy_bytes,
        .copy = cpu_copy_bytes,
        .fill = cpu_fill,
        .synchronize = cpu_synchronize,
        .conv2d_forward = cpu_conv2d_forward,
        .conv2d_backward_data = cpu_conv2d_backward_data,
        .conv2d_backward_weights = cpu_conv2d_backward_weights,
        .batchnorm_forward_train = cpu_batchnorm_forward_train,
        .batchnorm_forward_infer = cpu_batchnorm_forward_infer,
        .batchnorm_backward = cpu_batchnorm_backward,
        .batchnorm_update_running = cpu_batchnorm_update_running,
        .maxpool_workspace_bytes = cpu_maxpool_workspace_bytes,
        .maxpool_forward = cpu_maxpool_forward,
        .maxpool_backward = cpu_maxpool_backward,
        .avgpool_global_forward = cpu_avgpool_global_forward,
        .avgpool_global_backward = cpu_avgpool_global_backward,
        .gemm = cpu_gemm,
        .add_row_vector = cpu_add_row_vector,
        .sum_rows = cpu_sum_rows,
        .relu_forward = cpu_relu_forward,
        .relu_backward = cpu_relu_backward,
        .add = cpu_add,
        .axpy = cpu_axpy,
        .scale = cpu_scale,
        .shortcut_pad_forward = cpu_shortcut_pad_forward,
        .shortcut_pad_backward = cpu_shortcut_pad_backward,
        .l2norm_rows_forward = cpu_l2norm_rows_forward,
        .l2norm_rows_backward = cpu_l2norm_rows_backward,
        .softmax_cross_entropy = cpu_softmax_cross_entropy,
        .distill_kd = cpu_distill_kd,
        .distill_cosine = cpu_distill_cosine,
        .sgd_update = cpu_sgd_update,
    };
    return be;
}
