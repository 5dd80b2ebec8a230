/* Conversions between fp32 and bf16 for convolutions run with precision =
 * bf16 (conv_cudnn.c). Rounding to nearest, ties to even (__float2bfloat16_rn),
 * as PyTorch's autocast casts; bf16 -> fp32 is exact. */
#include <cuda_bf16.h>

#include "nn/cuda/cuda_backend.h"

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ static void to_bf16_kernel(size_t n, const float *x, __nv_bfloat16 *y) {
    GRID_STRIDE(i, n) y[i] = __float2bfloat16_rn(x[i]);
}

__global__ static void from_bf16_kernel(size_t n, const __nv_bfloat16 *x, float *y) {
    GRID_STRIDE(i, n) y[i] = __bfloat162float(x[i]);
}

extern "C" void cuda_to_bf16(cbd_backend *be, size_t n, const float *x, void *y) {
    to_bf16_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, x, (__nv_bfloat16 *)y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_from_bf16(cbd_backend *be, size_t n, const void *x, float *y) {
    from_bf16_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, (const __nv_bfloat16 *)x, y);
    CUDA_CHECK_LAUNCH();
}
