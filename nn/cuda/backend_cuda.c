/* The cuda backend: device memory from a caching pool, cuDNN for
 * convolution, cuBLAS for GEMM, own kernels for the rest (see the other files
 * of this folder). Each kernel mirrors a function of nn/cpu/, the reference
 * it is tested against (tests/test_cuda_parity.c).
 *
 * This file: creation and teardown, the op table, the memory pool, the
 * host <-> device transfers, and the shared device buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cuda/cuda_backend.h"
#include "nn/log.h"

/* cudaMalloc aligns to 256 bytes; rounding sizes up to 512 lets blocks of
 * nearly equal requests be reused for each other. */
#define POOL_ROUND 512

void cuda_fail_at(const char *file, int line, const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cbd_fail(CBD_EXIT_FAILURE, "%s:%d: %s", file, line, message);
}

const char *cuda_cudnn_last_error(void) {
    static char message[512];
    message[0] = '\0';
    cudnnGetLastErrorString(message, sizeof message);
    return message;
}

int cbd_cuda_available(char *err, size_t err_len) {
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        snprintf(err, err_len, "no CUDA GPU found (%s)",
                 status != cudaSuccess ? cudaGetErrorString(status) : "0 devices");
        return 0;
    }
    return 1;
}

/* ---- the pool ---- */

static void block_push(cuda_block **list, int *count, int *capacity, cuda_block b) {
    if (*count == *capacity) {
        const int grown = *capacity ? 2 * *capacity : 64;
        cuda_block *bigger = realloc(*list, (size_t)grown * sizeof *bigger);
        if (!bigger) cbd_fail(CBD_EXIT_FAILURE, "out of host memory for the GPU memory pool");
        *list = bigger;
        *capacity = grown;
    }
    (*list)[(*count)++] = b;
}

/* Removes entry i (order does not matter). */
static cuda_block block_take(cuda_block *list, int *count, int i) {
    cuda_block b = list[i];
    list[i] = list[--*count];
    return b;
}

/* Gives every cached block back to the driver, once queued work that may
 * still use one has finished. */
static void pool_trim(cuda_impl *impl) {
    cuda_pool *pool = &impl->pool;
    CUDA_CHECK(cudaStreamSynchronize(impl->stream));
    for (int i = 0; i < pool->cached_count; i++) CUDA_CHECK(cudaFree(pool->cached[i].ptr));
    pool->cached_count = 0;
    pool->cached_bytes = 0;
}

void *cuda_alloc(cbd_backend *be, size_t bytes) {
    cuda_impl *impl = cuda_of(be);
    cuda_pool *pool = &impl->pool;
    const size_t rounded = (bytes ? (bytes + POOL_ROUND - 1) / POOL_ROUND : 1) * POOL_ROUND;
    for (int i = pool->cached_count - 1; i >= 0; i--)
        if (pool->cached[i].bytes == rounded) {
            cuda_block b = block_take(pool->cached, &pool->cached_count, i);
            pool->cached_bytes -= b.bytes;
            block_push(&pool->live, &pool->live_count, &pool->live_capacity, b);
            pool->live_bytes += b.bytes;
            return b.ptr;
        }
    void *ptr = NULL;
    cudaError_t status = cudaMalloc(&ptr, rounded);
    if (status == cudaErrorMemoryAllocation && pool->cached_count > 0) {
        /* blocks of other sizes may be what stands in the way */
        (void)cudaGetLastError();
        pool_trim(impl);
        status = cudaMalloc(&ptr, rounded);
    }
    if (status != cudaSuccess)
        cbd_fail(CBD_EXIT_FAILURE,
                 "cannot allocate %zu bytes of GPU memory (%s); %zu bytes in use by this process: "
                 "use a smaller batch_size",
                 rounded, cudaGetErrorString(status), pool->live_bytes);
    cuda_block b = {ptr, rounded};
    block_push(&pool->live, &pool->live_count, &pool->live_capacity, b);
    pool->live_bytes += rounded;
    return ptr;
}

void cuda_release(cbd_backend *be, void *p) {
    if (!p) return;
    cuda_pool *pool = &cuda_of(be)->pool;
    /* recent allocations are the likeliest to be released first */
    for (int i = pool->live_count - 1; i >= 0; i--)
        if (pool->live[i].ptr == p) {
            cuda_block b = block_take(pool->live, &pool->live_count, i);
            pool->live_bytes -= b.bytes;
            block_push(&pool->cached, &pool->cached_count, &pool->cached_capacity, b);
            pool->cached_bytes += b.bytes;
            return;
        }
    CBD_PANIC("cuda backend: release of %p, which it did not allocate (or released twice)", p);
}

/* ---- transfers ---- */

/* Pinned staging buffers (see cuda_staging), made at the first upload.
 * Returns 0 if the driver refuses them. */
static int staging_ready(cuda_impl *impl) {
    if (impl->staging_state) return impl->staging_state > 0;
    impl->staging_state = -1;
    for (int i = 0; i < CUDA_STAGING_COUNT; i++) {
        cuda_staging *st = &impl->staging[i];
        if (cudaHostAlloc(&st->host, CUDA_STAGING_BYTES, cudaHostAllocDefault) != cudaSuccess ||
            cudaEventCreateWithFlags(&st->copied, cudaEventDisableTiming) != cudaSuccess) {
            (void)cudaGetLastError();
            cbd_log("cbd: warning: no pinned host memory for uploads (%zu MiB); copies will not overlap "
                    "computation",
                    (size_t)CUDA_STAGING_COUNT * (CUDA_STAGING_BYTES >> 20));
            return 0;
        }
    }
    impl->staging_state = 1;
    return 1;
}

/* The caller may reuse its host buffer as soon as the call returns: the
 * bytes are in a staging buffer (or, without one, already copied). The copy
 * is queued on the stream, so ops queued after it see the data. */
void cuda_upload(cbd_backend *be, void *dst, const void *host_src, size_t bytes) {
    if (!bytes) return;
    cuda_impl *impl = cuda_of(be);
    if (!staging_ready(impl)) {
        CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, impl->stream));
        CUDA_CHECK(cudaStreamSynchronize(impl->stream));
        return;
    }
    for (size_t done = 0; done < bytes;) {
        cuda_staging *st = &impl->staging[impl->staging_next];
        impl->staging_next = (impl->staging_next + 1) % CUDA_STAGING_COUNT;
        const size_t chunk = bytes - done < CUDA_STAGING_BYTES ? bytes - done : CUDA_STAGING_BYTES;
        CUDA_CHECK(cudaEventSynchronize(st->copied)); /* its previous copy has left */
        memcpy(st->host, (const char *)host_src + done, chunk);
        CUDA_CHECK(cudaMemcpyAsync((char *)dst + done, st->host, chunk, cudaMemcpyHostToDevice, impl->stream));
        CUDA_CHECK(cudaEventRecord(st->copied, impl->stream));
        done += chunk;
    }
}

/* Waits for the copy (and so for all queued work): the caller reads its
 * buffer next. */
void cuda_download(cbd_backend *be, void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cuda_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
}

/* Device to device, queued like any op. */
void cuda_copy(cbd_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes || dst == src) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_stream(be)));
}

void cuda_copy_2d(cbd_backend *be, size_t rows, size_t row_bytes, const void *src, size_t src_pitch, void *dst,
                  size_t dst_pitch) {
    if (rows == 0 || row_bytes == 0) return;
    CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, rows, cudaMemcpyDeviceToDevice,
                                 cuda_stream(be)));
}

void cuda_synchronize(cbd_backend *be) { CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be))); }

/* ---- shared buffers ---- */

void *cuda_buffer(cuda_impl *impl, int slot, size_t bytes) {
    CBD_ASSERT(slot >= 0 && slot < CUDA_BUFFER_SLOTS, "buffer slot %d", slot);
    if (bytes > impl->buffer_bytes[slot]) {
        /* queued work may still use the old buffer */
        CUDA_CHECK(cudaStreamSynchronize(impl->stream));
        if (impl->buffer[slot]) CUDA_CHECK(cudaFree(impl->buffer[slot]));
        impl->buffer[slot] = NULL;
        impl->buffer_bytes[slot] = 0;
        const size_t rounded = (bytes + POOL_ROUND - 1) / POOL_ROUND * POOL_ROUND;
        cudaError_t status = cudaMalloc(&impl->buffer[slot], rounded);
        if (status == cudaErrorMemoryAllocation && impl->pool.cached_count > 0) {
            (void)cudaGetLastError();
            pool_trim(impl);
            status = cudaMalloc(&impl->buffer[slot], rounded);
        }
        if (status != cudaSuccess)
            cbd_fail(CBD_EXIT_FAILURE,
                     "cannot allocate a %zu-byte GPU work buffer (%s): use a smaller batch_size",
                     rounded, cudaGetErrorString(status));
        impl->buffer_bytes[slot] = rounded;
    }
    return impl->buffer[slot];
}

/* ---- creation ---- */

static void cuda_impl_free(cuda_impl *impl) {
    if (impl->stream) cudaStreamSynchronize(impl->stream);
    cuda_conv_cache_clear(impl);
    for (int i = 0; i < CUDA_STAGING_COUNT; i++) {
        if (impl->staging[i].host) cudaFreeHost(impl->staging[i].host);
        if (impl->staging[i].copied) cudaEventDestroy(impl->staging[i].copied);
    }
    for (int i = 0; i < CUDA_BUFFER_SLOTS; i++)
        if (impl->buffer[i]) cudaFree(impl->buffer[i]);
    for (int i = 0; i < impl->pool.live_count; i++) cudaFree(impl->pool.live[i].ptr);
    for (int i = 0; i < impl->pool.cached_count; i++) cudaFree(impl->pool.cached[i].ptr);
    free(impl->pool.live);
    free(impl->pool.cached);
    if (impl->cudnn) cudnnDestroy(impl->cudnn);
    if (impl->cublas) cublasDestroy(impl->cublas);
    if (impl->stream) cudaStreamDestroy(impl->stream);
    free(impl);
}

static void cuda_destroy(cbd_backend *be) {
    cuda_impl_free(cuda_of(be));
    free(be);
}

/* Sets up device, stream and library handles; on failure writes why. */
static int cuda_impl_init(cuda_impl *impl, char *err, size_t err_len) {
    cudaError_t cs;
    if ((cs = cudaSetDevice(impl->device)) != cudaSuccess ||
        (cs = cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        snprintf(err, err_len, "cannot use CUDA device %d: %s", impl->device, cudaGetErrorString(cs));
        return -1;
    }
    if (!cuda_kernels_loadable(err, err_len)) return -1;
    cublasStatus_t bs;
    if ((bs = cublasCreate(&impl->cublas)) != CUBLAS_STATUS_SUCCESS ||
        (bs = cublasSetStream(impl->cublas, impl->stream)) != CUBLAS_STATUS_SUCCESS ||
        (bs = cublasSetMathMode(impl->cublas, CUBLAS_TF32_TENSOR_OP_MATH)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, err_len, "cuBLAS could not start: %s", cublasGetStatusString(bs));
        return -1;
    }
    cudnnStatus_t ds;
    if ((ds = cudnnCreate(&impl->cudnn)) != CUDNN_STATUS_SUCCESS ||
        (ds = cudnnSetStream(impl->cudnn, impl->stream)) != CUDNN_STATUS_SUCCESS) {
        snprintf(err, err_len, "cuDNN could not start: %s", cudnnGetErrorString(ds));
        return -1;
    }
    return 0;
}

cbd_backend *cbd_backend_cuda_create(char *err, size_t err_len) {
    if (!cbd_cuda_available(err, err_len)) return NULL;
    cuda_impl *impl = calloc(1, sizeof *impl);
    cbd_backend *be = calloc(1, sizeof *be);
    if (!impl || !be) {
        snprintf(err, err_len, "out of memory creating the cuda backend");
        free(impl);
        free(be);
        return NULL;
    }
    /* one rank per GPU: the local rank among the visible GPUs (all ranks on
     * GPU 0 when each sees one, as Slurm's --gpus-per-task arranges) */
    int visible = 0;
    if (cudaGetDeviceCount(&visible) != cudaSuccess || visible < 1) visible = 1;
    impl->device = cbd_backend_gpu_rank() % visible;
    if (cuda_impl_init(impl, err, err_len) != 0) {
        cuda_impl_free(impl);
        free(be);
        return NULL;
    }
    be->name = "cuda";
    be->impl = impl;
    be->stream = impl->stream;
    be->destroy = cuda_destroy;
    be->ops = (cbd_ops)CBD_BACKEND_OPS_TABLE;
    return be;
}
