/* Internals shared by the cuda backend's files: the handles, the device
 * memory pool, the reusable device buffers, and the op functions that
 * backend_cuda.c puts in the table.
 *
 * Every op runs on one stream, in order. That is what makes the pool and the
 * shared buffers safe without events: memory released by one op and handed to
 * the next is only touched by work queued after the earlier work.
 *
 * Precision: fp32 storage; cuBLAS and cuDNN may use TF32 tensor cores (set
 * NVIDIA_TF32_OVERRIDE=0 in the environment to forbid it for both). With
 * precision = bf16 (be->conv_bf16), convolutions convert their inputs to bf16
 * copies, run on bf16 tensor cores with fp32 sums, and convert the result
 * back (conv_cudnn.c). */
#ifndef CBD_CUDA_BACKEND_H
#define CBD_CUDA_BACKEND_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nn/backend.h"
#include "nn/cuda/cuda_util.h"

/* A device block of the pool. */
typedef struct {
    void *ptr;
    size_t bytes;
} cuda_block;

/* A caching allocator keyed by size: release puts a block on the free list,
 * alloc takes a free block of the same (rounded) size before asking
 * cudaMalloc. Tensors come from a few large arenas, so the lists are short. */
typedef struct {
    cuda_block *live, *cached;
    int live_count, live_capacity;
    int cached_count, cached_capacity;
    size_t live_bytes, cached_bytes;
} cuda_pool;

/* Device buffers reused by every call of an op family, grown on demand. */
enum {
    CUDA_BUFFER_CONV_WORKSPACE, /* cuDNN convolution workspace */
    CUDA_BUFFER_REDUCE,         /* per-row partial results of the losses */
    CUDA_BUFFER_BF16_A,         /* bf16 convolution operands: x or dy */
    CUDA_BUFFER_BF16_B,         /*   the weights */
    CUDA_BUFFER_BF16_C,         /*   the result (y, dx or dw), or dy for the weight gradient */
    CUDA_BUFFER_SLOTS
};

struct cuda_conv_plan; /* conv_cudnn.c */

/* Uploads go through pinned host buffers taken in turn: the caller's bytes
 * are copied into one, and the DMA from it is queued on the stream with an
 * event after it, so upload returns without waiting for queued work (the
 * next batch's copy overlaps the current step). A buffer is reused once its
 * event has passed. */
#define CUDA_STAGING_COUNT 2
#define CUDA_STAGING_BYTES ((size_t)32 << 20)
typedef struct {
    void *host; /* CUDA_STAGING_BYTES of pinned memory */
    cudaEvent_t copied;
} cuda_staging;

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    cuda_pool pool;
    void *buffer[CUDA_BUFFER_SLOTS];
    size_t buffer_bytes[CUDA_BUFFER_SLOTS];
    struct cuda_conv_plan *conv_plans;
    int conv_count, conv_capacity;
    cuda_staging staging[CUDA_STAGING_COUNT];
    int staging_next;
    int staging_state; /* 0 not made yet, 1 ready, -1 refused (uploads then wait for their copy) */
} cuda_impl;

static inline cuda_impl *cuda_of(cbd_backend *be) { return (cuda_impl *)be->impl; }
static inline cudaStream_t cuda_stream(cbd_backend *be) { return cuda_of(be)->stream; }

/* The shared buffer of `slot`, at least `bytes` long. Its address may change
 * between calls; growing it waits for queued work. */
void *cuda_buffer(cuda_impl *impl, int slot, size_t bytes);

/* 1 if this build's kernels can run on the current device; else 0 with the
 * reason in err (elementwise_cuda.cu). */
int cuda_kernels_loadable(char *err, size_t err_len);

/* ---- ops (one group per file) ---- */
/* conv_cudnn.c */
void cuda_conv2d_forward(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w,
                         float *y);
void cuda_conv2d_backward_data(cbd_backend *be, const cbd_conv_shape *s, const float *dy,
                               const float *w, float *dx);
void cuda_conv2d_backward_weights(cbd_backend *be, const cbd_conv_shape *s, const float *x,
                                  const float *dy, float *dw);
void cuda_conv_cache_clear(cuda_impl *impl);
/* convert_cuda.cu: n values between fp32 and bf16 (y holds n bf16, x n bf16) */
void cuda_to_bf16(cbd_backend *be, size_t n, const float *x, void *y);
void cuda_from_bf16(cbd_backend *be, size_t n, const void *x, float *y);
/* batchnorm_cuda.cu */
void cuda_batchnorm_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                  const float *gamma, const float *beta, float *y,
                                  float *batch_mean, float *batch_var, int relu);
void cuda_batchnorm_forward_infer(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                  const float *gamma, const float *beta, const float *mean,
                                  const float *var, float *y, int relu);
void cuda_batchnorm_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                             const float *dy, const float *relu_y, const float *gamma,
                             const float *batch_mean, const float *batch_var, float *dx, float *dgamma,
                             float *dbeta);
void cuda_batchnorm_update_running(cbd_backend *be, int channels, size_t count, float momentum,
                                   const float *batch_mean, const float *batch_var,
                                   float *running_mean, float *running_var);
/* pool_cuda.cu */
size_t cuda_maxpool_workspace_bytes(cbd_backend *be, const cbd_pool_shape *s);
void cuda_maxpool_forward(cbd_backend *be, const cbd_pool_shape *s, const float *x, float *y,
                          void *workspace);
void cuda_maxpool_backward(cbd_backend *be, const cbd_pool_shape *s, const float *dy,
                           const void *workspace, float *dx);
void cuda_avgpool_global_forward(cbd_backend *be, const cbd_shape4 *in, const float *x, float *y);
void cuda_avgpool_global_backward(cbd_backend *be, const cbd_shape4 *in, const float *dy,
                                  float *dx);
/* gemm_cublas.c */
void cuda_gemm(cbd_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* elementwise_cuda.cu */
void cuda_fill(cbd_backend *be, float *x, size_t n, float value);
void cuda_add_row_vector(cbd_backend *be, int rows, int cols, const float *v, float *y);
void cuda_sum_rows(cbd_backend *be, int rows, int cols, const float *x, float *out);
void cuda_relu_forward(cbd_backend *be, size_t n, const float *x, float *y);
void cuda_relu_backward(cbd_backend *be, size_t n, const float *y, const float *dy, float *dx);
void cuda_add(cbd_backend *be, size_t n, const float *a, const float *b, float *y);
void cuda_axpy(cbd_backend *be, size_t n, float alpha, const float *x, float *y);
void cuda_scale(cbd_backend *be, size_t n, float alpha, float *x);
void cuda_shortcut_pad_forward(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                               const float *x, float *y);
void cuda_shortcut_pad_backward(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                                const float *dy, float *dx);
void cuda_l2norm_rows_forward(cbd_backend *be, int rows, int cols, const float *x, float *y,
                              float *norms);
void cuda_l2norm_rows_backward(cbd_backend *be, int rows, int cols, const float *y,
                               const float *norms, const float *dy, float *dx);
/* loss_cuda.cu */
double cuda_softmax_cross_entropy(cbd_backend *be, int rows, int classes, const float *z,
                                  const int *labels, float grad_scale, float *dz);
double cuda_distill_kd(cbd_backend *be, int rows, int classes, float temperature, const float *z,
                       const float *teacher_z, float grad_scale, float *dz);
double cuda_distill_cosine(cbd_backend *be, int rows, int dim, const float *a, const float *target,
                           float beta, float grad_scale, float *da);
/* sgd_cuda.cu */
void cuda_sgd_update(cbd_backend *be, size_t n, float *w, const float *g, float *m, float lr,
                     float momentum, float weight_decay, int nesterov);

#ifdef __cplusplus
}
#endif

#endif
