/* Pooling on the GPU, own kernels (mirrors nn/cpu/pool_cpu.c: oneDNN max
 * pooling, whose padding never wins, and global average pooling).
 *
 * The max-pool workspace holds, for each output element, the offset in its
 * (n, c) input plane of the value chosen (int32; the first maximum of the
 * window in row-major order, as oneDNN's). Backward gathers: each input
 * element adds the gradients of the outputs that chose it, in output order,
 * so overlapping windows need no atomics and the sum has fixed bits. */
#include <float.h>

#include "nn/cuda/cuda_backend.h"

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* cpu_maxpool_forward */
__global__ static void maxpool_forward_kernel(cbd_pool_shape s, const float *x, float *y, int *argmax) {
    const size_t count = (size_t)s.n * s.c * s.out_h * s.out_w;
    GRID_STRIDE(i, count) {
        const int ow = (int)(i % s.out_w), oh = (int)((i / s.out_w) % s.out_h);
        const size_t plane = i / ((size_t)s.out_w * s.out_h); /* (n, c) plane: n * channels + c */
        const float *xp = x + plane * s.in_h * s.in_w;
        float best = -FLT_MAX;
        int best_at = -1;
        for (int kh = 0; kh < s.kernel; kh++) {
            const int h = oh * s.stride - s.pad + kh;
            if (h < 0 || h >= s.in_h) continue;
            for (int kw = 0; kw < s.kernel; kw++) {
                const int w = ow * s.stride - s.pad + kw;
                if (w < 0 || w >= s.in_w) continue;
                const float v = xp[h * s.in_w + w];
                if (best_at < 0 || v > best) {
                    best = v;
                    best_at = h * s.in_w + w;
                }
            }
        }
        y[i] = best;
        argmax[i] = best_at;
    }
}

/* cpu_maxpool_backward: one thread per input element. */
__global__ static void maxpool_backward_kernel(cbd_pool_shape s, const float *dy, const int *argmax,
                                               float *dx) {
    const size_t count = (size_t)s.n * s.c * s.in_h * s.in_w;
    GRID_STRIDE(i, count) {
        const int w = (int)(i % s.in_w), h = (int)((i / s.in_w) % s.in_h);
        const size_t plane = i / ((size_t)s.in_w * s.in_h);
        const int at = h * s.in_w + w;
        /* outputs whose window [o * stride - pad, o * stride - pad + kernel) holds h */
        const int lo_h = h + s.pad - s.kernel + 1, lo_w = w + s.pad - s.kernel + 1;
        const int oh0 = lo_h <= 0 ? 0 : (lo_h + s.stride - 1) / s.stride;
        const int ow0 = lo_w <= 0 ? 0 : (lo_w + s.stride - 1) / s.stride;
        const int oh1 = min((h + s.pad) / s.stride, s.out_h - 1);
        const int ow1 = min((w + s.pad) / s.stride, s.out_w - 1);
        const size_t out_plane = plane * s.out_h * s.out_w;
        float sum = 0.0f;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++) {
                const size_t o = out_plane + (size_t)oh * s.out_w + ow;
                if (argmax[o] == at) sum += dy[o];
            }
        dx[i] = sum;
    }
}

/* cpu_avgpool_global_forward: mean of each (n, c) plane, summed in order. */
__global__ static void avgpool_global_forward_kernel(size_t planes, int plane_size, const float *x, float *y) {
    GRID_STRIDE(p, planes) {
        const float *xp = x + p * plane_size;
        float sum = 0.0f;
        for (int j = 0; j < plane_size; j++) sum += xp[j];
        y[p] = sum / (float)plane_size;
    }
}

/* cpu_avgpool_global_backward: each input gets its plane's gradient / size. */
__global__ static void avgpool_global_backward_kernel(size_t count, int plane_size, const float *dy, float *dx) {
    GRID_STRIDE(i, count) dx[i] = dy[i / plane_size] / (float)plane_size;
}

extern "C" size_t cuda_maxpool_workspace_bytes(cbd_backend *be, const cbd_pool_shape *s) {
    (void)be;
    return (size_t)s->n * s->c * s->out_h * s->out_w * sizeof(int);
}

extern "C" void cuda_maxpool_forward(cbd_backend *be, const cbd_pool_shape *s, const float *x, float *y,
                                     void *workspace) {
    const size_t count = (size_t)s->n * s->c * s->out_h * s->out_w;
    maxpool_forward_kernel<<<cuda_blocks_for(count), CUDA_THREADS, 0, cuda_stream(be)>>>(*s, x, y,
                                                                                          (int *)workspace);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_maxpool_backward(cbd_backend *be, const cbd_pool_shape *s, const float *dy,
                                      const void *workspace, float *dx) {
    const size_t count = (size_t)s->n * s->c * s->in_h * s->in_w;
    maxpool_backward_kernel<<<cuda_blocks_for(count), CUDA_THREADS, 0, cuda_stream(be)>>>(
        *s, dy, (const int *)workspace, dx);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_avgpool_global_forward(cbd_backend *be, const cbd_shape4 *in, const float *x, float *y) {
    const size_t planes = (size_t)in->n * in->c;
    avgpool_global_forward_kernel<<<cuda_blocks_for(planes), CUDA_THREADS, 0, cuda_stream(be)>>>(
        planes, in->h * in->w, x, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_avgpool_global_backward(cbd_backend *be, const cbd_shape4 *in, const float *dy,
                                             float *dx) {
    const size_t count = cbd_shape4_count(*in);
    avgpool_global_backward_kernel<<<cuda_blocks_for(count), CUDA_THREADS, 0, cuda_stream(be)>>>(
        count, in->h * in->w, dy, dx);
    CUDA_CHECK_LAUNCH();
}
