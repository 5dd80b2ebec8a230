/* Checks for CUDA, cuBLAS and cuDNN calls, and launch sizes for the cuda
 * backend's kernels. A failing call ends the program with the call, the file
 * and the line: a GPU error leaves device state unknown, so there is nothing
 * sensible to continue with.
 *
 * Shared by the C files and the .cu files (compiled as C++), so it declares
 * its own C-linkage failure function instead of including nn/log.h, whose
 * _Noreturn C++ does not accept. */
#ifndef CBD_CUDA_UTIL_H
#define CBD_CUDA_UTIL_H

#include <stddef.h>

#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prints "cbd: error: FILE:LINE: message" and exits with CBD_EXIT_FAILURE
 * (via cbd_fail). */
void cuda_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* The message of the most recent cuDNN error, or "" (cuDNN 9 keeps one). */
const char *cuda_cudnn_last_error(void);

#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(call)                                                                        \
    do {                                                                                        \
        cudaError_t cuda_check_status_ = (call);                                                \
        if (cuda_check_status_ != cudaSuccess)                                                  \
            cuda_fail_at(__FILE__, __LINE__, "CUDA call %s failed: %s (%s)", #call,             \
                         cudaGetErrorString(cuda_check_status_),                                \
                         cudaGetErrorName(cuda_check_status_));                                 \
    } while (0)

/* After a kernel launch: a bad launch configuration or a missing kernel image
 * (a GPU this build has no code for) shows up here. */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUBLAS_CHECK(call)                                                                      \
    do {                                                                                        \
        cublasStatus_t cublas_check_status_ = (call);                                           \
        if (cublas_check_status_ != CUBLAS_STATUS_SUCCESS)                                      \
            cuda_fail_at(__FILE__, __LINE__, "cuBLAS call %s failed: %s", #call,                \
                         cublasGetStatusString(cublas_check_status_));                          \
    } while (0)

#define CUDNN_CHECK(call)                                                                       \
    do {                                                                                        \
        cudnnStatus_t cudnn_check_status_ = (call);                                             \
        if (cudnn_check_status_ != CUDNN_STATUS_SUCCESS)                                        \
            cuda_fail_at(__FILE__, __LINE__, "cuDNN call %s failed: %s %s", #call,              \
                         cudnnGetErrorString(cudnn_check_status_), cuda_cudnn_last_error());    \
    } while (0)

/* Threads per block of the elementwise kernels, and of the reductions (a
 * power of two: the block reduction halves it). */
#define CUDA_THREADS 256
#define CUDA_REDUCE_THREADS 256
/* Grid-stride loops cover any size, so grids are capped: enough blocks to
 * fill a large GPU several times over. */
#define CUDA_MAX_BLOCKS 65535

static inline unsigned cuda_blocks_for(size_t n) {
    size_t blocks = (n + CUDA_THREADS - 1) / CUDA_THREADS;
    if (blocks < 1) blocks = 1;
    if (blocks > CUDA_MAX_BLOCKS) blocks = CUDA_MAX_BLOCKS;
    return (unsigned)blocks;
}

/* One block per row (or channel), capped the same way. */
static inline unsigned cuda_blocks_for_rows(size_t rows) {
    if (rows < 1) return 1;
    return rows > CUDA_MAX_BLOCKS ? CUDA_MAX_BLOCKS : (unsigned)rows;
}

#endif
