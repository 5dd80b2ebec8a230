/* Batch normalisation on the GPU, own kernels (mirror nn/cpu/batchnorm_cpu.c,
 * the same arithmetic: float mean, then the variance about it in a second
 * pass, y = gamma / sqrtf(var + eps) * (x - mean) + beta).
 *
 * Training kernels give each channel to one block, which reduces over N, H, W
 * in a fixed order (reduce_cuda.cuh) with double accumulators, so statistics
 * and parameter gradients have the same bits on every run. Own kernels rather
 * than cuDNN's because cuDNN returns the inverse standard deviation and folds
 * its own running-average rule into the forward call, while the op table
 * keeps the biased batch variance and updates running statistics apart. */
#include "nn/cuda/cuda_backend.h"
#include "nn/cuda/reduce_cuda.cuh"

/* Threads per channel in the training kernels: channels can hold millions of
 * values (N = 256 at 112 x 112), so blocks are wide. */
#define BN_THREADS 512

/* Element i of channel c, counting over (n, h, w) in memory order. */
__device__ static size_t bn_index(size_t i, int c, int channels, size_t plane) {
    const size_t n = i / plane, j = i % plane;
    return (n * channels + c) * plane + j;
}

/* cpu_batchnorm_forward_train: batch statistics (variance biased: divided by
 * the count) and the normalised output, one block per channel. */
__global__ static void bn_forward_train_kernel(cbd_shape4 s, float eps, const float *x, const float *gamma,
                                               const float *beta, float *y, float *batch_mean,
                                               float *batch_var, int relu) {
    const size_t plane = (size_t)s.h * s.w, count = (size_t)s.n * plane;
    for (int c = blockIdx.x; c < s.c; c += gridDim.x) {
        double sum = 0.0;
        for (size_t i = threadIdx.x; i < count; i += blockDim.x) sum += x[bn_index(i, c, s.c, plane)];
        const float mean = (float)(block_sum_double(sum) / (double)count);
        double sq = 0.0;
        for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
            const float d = x[bn_index(i, c, s.c, plane)] - mean;
            sq += (double)d * d;
        }
        const float var = (float)(block_sum_double(sq) / (double)count);
        if (threadIdx.x == 0) {
            batch_mean[c] = mean;
            batch_var[c] = var;
        }
        const float scale = gamma[c] / sqrtf(var + eps), shift = beta[c];
        for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
            const size_t k = bn_index(i, c, s.c, plane);
            const float v = scale * (x[k] - mean) + shift;
            y[k] = relu ? fmaxf(v, 0.0f) : v;
        }
    }
}

/* cpu_batchnorm_forward_infer: the same map with given statistics; one
 * thread per element. */
__global__ static void bn_forward_infer_kernel(cbd_shape4 s, float eps, const float *x, const float *gamma,
                                               const float *beta, const float *mean, const float *var,
                                               float *y, int relu) {
    const size_t plane = (size_t)s.h * s.w, total = (size_t)s.n * s.c * plane;
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (size_t)gridDim.x * blockDim.x) {
        const int c = (int)((k / plane) % s.c);
        const float scale = gamma[c] / sqrtf(var[c] + eps);
        const float v = scale * (x[k] - mean[c]) + beta[c];
        y[k] = relu ? fmaxf(v, 0.0f) : v;
    }
}

/* cpu_batchnorm_backward: with xhat = (x - mean) / sqrt(var + eps) and M
 * values per channel,
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma / sqrt(var + eps) * (dy - dbeta / M - xhat * dgamma / M).
 * One block per channel: the two sums first, then dx. With relu_y (a ReLU
 * fused into the forward), dy counts only where relu_y > 0. */
__device__ static float bn_masked_dy(const float *dy, const float *relu_y, size_t k) {
    return (!relu_y || relu_y[k] > 0.0f) ? dy[k] : 0.0f;
}

__global__ static void bn_backward_kernel(cbd_shape4 s, float eps, const float *x, const float *dy,
                                          const float *relu_y, const float *gamma, const float *batch_mean, const float *batch_var,
                                          float *dx, float *dgamma, float *dbeta) {
    const size_t plane = (size_t)s.h * s.w, count = (size_t)s.n * plane;
    for (int c = blockIdx.x; c < s.c; c += gridDim.x) {
        const float mean = batch_mean[c], inv_std = 1.0f / sqrtf(batch_var[c] + eps);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
            const size_t k = bn_index(i, c, s.c, plane);
            const float xhat = (x[k] - mean) * inv_std, g = bn_masked_dy(dy, relu_y, k);
            sum_dy += g;
            sum_dy_xhat += (double)g * xhat;
        }
        const float db = (float)block_sum_double(sum_dy);
        const float dg = (float)block_sum_double(sum_dy_xhat);
        if (threadIdx.x == 0) {
            dbeta[c] = db;
            dgamma[c] = dg;
        }
        const float scale = gamma[c] * inv_std, m = (float)count;
        for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
            const size_t k = bn_index(i, c, s.c, plane);
            const float xhat = (x[k] - mean) * inv_std;
            dx[k] = scale * (bn_masked_dy(dy, relu_y, k) - db / m - xhat * dg / m);
        }
    }
}

/* cpu_batchnorm_update_running: one thread per channel. */
__global__ static void bn_update_running_kernel(int channels, float unbias, float momentum,
                                                const float *batch_mean, const float *batch_var,
                                                float *running_mean, float *running_var) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < channels; c += gridDim.x * blockDim.x) {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * batch_mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbias * batch_var[c];
    }
}

extern "C" void cuda_batchnorm_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                             const float *gamma, const float *beta, float *y,
                                             float *batch_mean, float *batch_var, int relu) {
    if (s->c <= 0) return;
    bn_forward_train_kernel<<<cuda_blocks_for_rows((size_t)s->c), BN_THREADS, 0, cuda_stream(be)>>>(
        *s, eps, x, gamma, beta, y, batch_mean, batch_var, relu);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_batchnorm_forward_infer(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                             const float *gamma, const float *beta, const float *mean,
                                             const float *var, float *y, int relu) {
    bn_forward_infer_kernel<<<cuda_blocks_for(cbd_shape4_count(*s)), CUDA_THREADS, 0, cuda_stream(be)>>>(
        *s, eps, x, gamma, beta, mean, var, y, relu);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_batchnorm_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                        const float *dy, const float *relu_y, const float *gamma,
                                        const float *batch_mean, const float *batch_var, float *dx,
                                        float *dgamma, float *dbeta) {
    if (s->c <= 0) return;
    bn_backward_kernel<<<cuda_blocks_for_rows((size_t)s->c), BN_THREADS, 0, cuda_stream(be)>>>(
        *s, eps, x, dy, relu_y, gamma, batch_mean, batch_var, dx, dgamma, dbeta);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_batchnorm_update_running(cbd_backend *be, int channels, size_t count, float momentum,
                                              const float *batch_mean, const float *batch_var,
                                              float *running_mean, float *running_var) {
    if (channels <= 0) return;
    const float unbias = count > 1 ? (float)count / (float)(count - 1) : 1.0f;
    bn_update_running_kernel<<<cuda_blocks_for((size_t)channels), CUDA_THREADS, 0, cuda_stream(be)>>>(
        channels, unbias, momentum, batch_mean, batch_var, running_mean, running_var);
    CUDA_CHECK_LAUNCH();
}
