/* Elementwise and row-wise kernels (mirror nn/cpu/elementwise_cpu.c, the row
 * helpers of nn/cpu/gemm_cpu.c, and cpu_fill of nn/cpu/backend_cpu.c).
 * Grid-stride loops; each output element is written by one thread, and the
 * row sums follow a fixed order (see reduce_cuda.cuh). */
#include <stdio.h>

#include "nn/cuda/cuda_backend.h"
#include "nn/cuda/reduce_cuda.cuh"

#define L2NORM_EPS 1e-12f /* as nn/cpu/elementwise_cpu.c */

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* ---- fill (cpu_fill) ---- */

__global__ static void fill_kernel(float *x, size_t n, float value) {
    GRID_STRIDE(i, n) x[i] = value;
}

extern "C" void cuda_fill(cbd_backend *be, float *x, size_t n, float value) {
    fill_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(x, n, value);
    CUDA_CHECK_LAUNCH();
}

/* A GPU this build has no code for fails every launch; asking for a kernel's
 * attributes finds that out at creation, with a message that says so. */
extern "C" int cuda_kernels_loadable(char *err, size_t err_len) {
    cudaFuncAttributes attr;
    cudaError_t status = cudaFuncGetAttributes(&attr, fill_kernel);
    if (status == cudaSuccess) return 1;
    (void)cudaGetLastError();
    cudaDeviceProp prop;
    int major = 0, minor = 0, device = 0;
    if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
        major = prop.major;
        minor = prop.minor;
    }
    snprintf(err, err_len,
             "this build has no kernels for the GPU (compute capability %d.%d): %s; rebuild with "
             "-DCMAKE_CUDA_ARCHITECTURES=%d%d",
             major, minor, cudaGetErrorString(status), major, minor);
    return 0;
}

/* ---- relu, add, axpy, scale ---- */

/* cpu_relu_forward */
__global__ static void relu_forward_kernel(size_t n, const float *x, float *y) {
    GRID_STRIDE(i, n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* cpu_relu_backward: the gradient passes where the output is positive */
__global__ static void relu_backward_kernel(size_t n, const float *y, const float *dy, float *dx) {
    GRID_STRIDE(i, n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* cpu_add */
__global__ static void add_kernel(size_t n, const float *a, const float *b, float *y) {
    GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

/* cpu_add_relu */
__global__ static void add_relu_kernel(size_t n, const float *a, const float *b, float *y) {
    GRID_STRIDE(i, n) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

/* cpu_axpy */
__global__ static void axpy_kernel(size_t n, float alpha, const float *x, float *y) {
    GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

/* cpu_scale */
__global__ static void scale_kernel(size_t n, float alpha, float *x) {
    GRID_STRIDE(i, n) x[i] *= alpha;
}

extern "C" void cuda_relu_forward(cbd_backend *be, size_t n, const float *x, float *y) {
    relu_forward_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, x, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_relu_backward(cbd_backend *be, size_t n, const float *y, const float *dy, float *dx) {
    relu_backward_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, y, dy, dx);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_add(cbd_backend *be, size_t n, const float *a, const float *b, float *y) {
    add_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, a, b, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_add_relu(cbd_backend *be, size_t n, const float *a, const float *b, float *y) {
    add_relu_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, a, b, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_axpy(cbd_backend *be, size_t n, float alpha, const float *x, float *y) {
    axpy_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, alpha, x, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_scale(cbd_backend *be, size_t n, float alpha, float *x) {
    scale_kernel<<<cuda_blocks_for(n), CUDA_THREADS, 0, cuda_stream(be)>>>(n, alpha, x);
    CUDA_CHECK_LAUNCH();
}

/* ---- row helpers of the linear layers ---- */

/* cpu_add_row_vector: y[r, c] += v[c] */
__global__ static void add_row_vector_kernel(size_t count, int cols, const float *v, float *y) {
    GRID_STRIDE(i, count) y[i] += v[i % (size_t)cols];
}

/* cpu_sum_rows: one thread per column sums its rows in row order, in double,
 * as the cpu does: the same order, so nearly always the same bits. */
__global__ static void sum_rows_kernel(int rows, int cols, const float *x, float *out) {
    GRID_STRIDE(c, (size_t)cols) {
        double s = 0.0;
        for (int r = 0; r < rows; r++) s += x[(size_t)r * cols + c];
        out[c] = (float)s;
    }
}

extern "C" void cuda_add_row_vector(cbd_backend *be, int rows, int cols, const float *v, float *y) {
    const size_t count = (size_t)rows * cols;
    if (!count) return;
    add_row_vector_kernel<<<cuda_blocks_for(count), CUDA_THREADS, 0, cuda_stream(be)>>>(count, cols, v, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_sum_rows(cbd_backend *be, int rows, int cols, const float *x, float *out) {
    if (cols <= 0) return;
    sum_rows_kernel<<<cuda_blocks_for((size_t)cols), CUDA_THREADS, 0, cuda_stream(be)>>>(rows, cols, x, out);
    CUDA_CHECK_LAUNCH();
}

/* ---- the parameter-free residual shortcut ---- */

/* cpu_shortcut_pad_forward: out[n, c + offset, h, w] = in[n, c, h * sh, w * sw];
 * other channels zero. One thread per output element. */
__global__ static void shortcut_pad_forward_kernel(cbd_shape4 in, cbd_shape4 out, int offset, int stride_h,
                                                   int stride_w, const float *x, float *y) {
    const size_t count = (size_t)out.n * out.c * out.h * out.w;
    GRID_STRIDE(i, count) {
        const int w = (int)(i % out.w);
        const int h = (int)((i / out.w) % out.h);
        const int c = (int)((i / ((size_t)out.w * out.h)) % out.c);
        const int n = (int)(i / ((size_t)out.w * out.h * out.c));
        const int src_c = c - offset;
        y[i] = (src_c < 0 || src_c >= in.c)
                   ? 0.0f
                   : x[(((size_t)n * in.c + src_c) * in.h + (size_t)h * stride_h) * in.w + (size_t)w * stride_w];
    }
}

/* cpu_shortcut_pad_backward_add: each input element kept by the stride adds
 * the gradient of the output element it was copied to; the others stay. */
__global__ static void shortcut_pad_backward_add_kernel(cbd_shape4 in, cbd_shape4 out, int offset, int stride_h,
                                                    int stride_w, const float *dy, float *dx) {
    const size_t count = (size_t)in.n * in.c * in.h * in.w;
    GRID_STRIDE(i, count) {
        const int w = (int)(i % in.w);
        const int h = (int)((i / in.w) % in.h);
        const int c = (int)((i / ((size_t)in.w * in.h)) % in.c);
        const int n = (int)(i / ((size_t)in.w * in.h * in.c));
        const int oh = h / stride_h, ow = w / stride_w;
        const int kept = h % stride_h == 0 && w % stride_w == 0 && oh < out.h && ow < out.w;
        if (kept) dx[i] += dy[(((size_t)n * out.c + c + offset) * out.h + oh) * out.w + ow];
    }
}

extern "C" void cuda_shortcut_pad_forward(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                                          const float *x, float *y) {
    const int offset = (out->c - in->c) / 2;
    const int stride_h = (in->h + out->h - 1) / out->h, stride_w = (in->w + out->w - 1) / out->w;
    shortcut_pad_forward_kernel<<<cuda_blocks_for(cbd_shape4_count(*out)), CUDA_THREADS, 0, cuda_stream(be)>>>(
        *in, *out, offset, stride_h, stride_w, x, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_shortcut_pad_backward_add(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                                               const float *dy, float *dx) {
    const int offset = (out->c - in->c) / 2;
    const int stride_h = (in->h + out->h - 1) / out->h, stride_w = (in->w + out->w - 1) / out->w;
    shortcut_pad_backward_add_kernel<<<cuda_blocks_for(cbd_shape4_count(*in)), CUDA_THREADS, 0, cuda_stream(be)>>>(
        *in, *out, offset, stride_h, stride_w, dy, dx);
    CUDA_CHECK_LAUNCH();
}

/* ---- l2-normalised rows (one block per row) ---- */

/* cpu_l2norm_rows_forward: y = x / max(||x||, eps), norms keeps the divisor */
__global__ static void l2norm_rows_forward_kernel(int rows, int cols, const float *x, float *y, float *norms) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        double ss = 0.0;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) ss += (double)xr[c] * xr[c];
        ss = block_sum_double(ss);
        float norm = (float)sqrt(ss);
        if (norm < L2NORM_EPS) norm = L2NORM_EPS;
        if (threadIdx.x == 0) norms[r] = norm;
        const float inv = 1.0f / norm;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] * inv;
    }
}

/* cpu_l2norm_rows_backward: dx = (dy - y (y . dy)) / norm */
__global__ static void l2norm_rows_backward_kernel(int rows, int cols, const float *y, const float *norms,
                                                   const float *dy, float *dx) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
        float *dxr = dx + (size_t)r * cols;
        double dot = 0.0;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) dot += (double)yr[c] * dyr[c];
        dot = block_sum_double(dot);
        const float inv = 1.0f / norms[r], d = (float)dot;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) dxr[c] = (dyr[c] - yr[c] * d) * inv;
    }
}

extern "C" void cuda_l2norm_rows_forward(cbd_backend *be, int rows, int cols, const float *x, float *y,
                                         float *norms) {
    if (rows <= 0) return;
    l2norm_rows_forward_kernel<<<cuda_blocks_for_rows((size_t)rows), CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(
        rows, cols, x, y, norms);
    CUDA_CHECK_LAUNCH();
}

extern "C" void cuda_l2norm_rows_backward(cbd_backend *be, int rows, int cols, const float *y,
                                          const float *norms, const float *dy, float *dx) {
    if (rows <= 0) return;
    l2norm_rows_backward_kernel<<<cuda_blocks_for_rows((size_t)rows), CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(
        rows, cols, y, norms, dy, dx);
    CUDA_CHECK_LAUNCH();
}
