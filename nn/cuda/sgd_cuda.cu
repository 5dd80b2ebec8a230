/* The SGD update on the GPU (mirrors nn/cpu/sgd_cpu.c: PyTorch's semantics,
 * decay added to the gradient, momentum buffer, optional Nesterov). */
#include "nn/cuda/cuda_backend.h"

/* cpu_sgd_update, one thread per weight */
__global__ static void sgd_update_kernel(size_t n, float *w, const float *g, float *m, float lr, float momentum,
                                         float weight_decay, int nesterov) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float grad = g[i] + weight_decay * w[i];
        const float buf = momentum * m[i] + grad;
        m[i] = buf;
        w[i] -= lr * (nesterov ? grad + momentum * buf : buf);
    }
}

extern "C" void cuda_sgd_update(cbd_backend *be, size_t n, float *w, const float *g, float *m, float lr,
                                float momentum, float weight_decay, int nesterov) {
    sgd_update_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, w, g, m, lr, momentum,
                                                                                 weight_decay, nesterov);
    CUDA_CHECK_LAUNCH();
}
