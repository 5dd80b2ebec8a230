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
    CUDA_BUFFER_RANKS,          /* batch-norm partials of every rank (data-parallel training) */
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

/* conv_cudnn.c: drops the cached plans */
void cuda_conv_cache_clear(cuda_impl *impl);
/* convert_cuda.cu: n values between fp32 and bf16 (y holds n bf16, x n bf16) */
void cuda_to_bf16(cbd_backend *be, size_t n, const float *x, void *y);
void cuda_from_bf16(cbd_backend *be, size_t n, const void *x, float *y);

/* ---- ops ---- */
/* cuda_NAME for every op NAME of nn/backend.h's list, declared from it (memory: backend_cuda.c; conv2d_*: conv_cudnn.c; batchnorm_*: batchnorm_cuda.cu; maxpool_*, avgpool_*:
 * pool_cuda.cu; gemm: gemm_cublas.c; fill, add_row_vector, sum_rows, the elementwise ops, shortcut_pad_* and
 * l2norm_rows_*: elementwise_cuda.cu; the losses: loss_cuda.cu; sgd_update: sgd_cuda.cu). */
#define CBD_OP_FN(name) cuda_##name
CBD_BACKEND_DECLARE_OPS

#ifdef __cplusplus
}
#endif

#endif
