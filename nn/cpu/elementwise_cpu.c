/* Elementwise and row-wise ops on the cpu, OpenMP loops. Each output element
 * is computed by one thread in a fixed order, so results do not depend on the
 * thread count. */
#include <math.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"

#define L2NORM_EPS 1e-12f

CPU_HOT_LOOP
void cpu_relu_forward(cbd_backend *be, size_t n, const float *x, float *y) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

CPU_HOT_LOOP
void cpu_relu_backward(cbd_backend *be, size_t n, const float *y, const float *dy, float *dx) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = dy[i]; /* loaded unconditionally: the loop vectorises, no branch */
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

CPU_HOT_LOOP
void cpu_add(cbd_backend *be, size_t n, const float *a, const float *b, float *y) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

CPU_HOT_LOOP
void cpu_add_relu(cbd_backend *be, size_t n, const float *a, const float *b, float *y) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

CPU_HOT_LOOP
void cpu_axpy(cbd_backend *be, size_t n, float alpha, const float *x, float *y) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

CPU_HOT_LOOP
void cpu_scale(cbd_backend *be, size_t n, float alpha, float *x) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) x[i] *= alpha;
}

/* In the backend's layout (nn/backend.h) a channel's pixels sit 1 apart
 * (NCHW), a block apart (channel blocks) or C apart (channels_last);
 * cbd_layout_offset gives where a channel of an image starts. */
typedef struct {
    cbd_backend *be;
    size_t pixel_stride;
} plane_layout;

static plane_layout layout_of(cbd_backend *be, const cbd_shape4 *s) {
    const size_t blocked = be->channels_last ? (size_t)s->c : (size_t)be->channel_block;
    plane_layout l = {be, cbd_layout_blocked(be, s->c) ? blocked : 1};
    return l;
}

static size_t plane_start(plane_layout l, const cbd_shape4 *s, int n, int c) {
    return cbd_layout_offset(l.be, *s, n, c, 0, 0);
}

/* out[n, c + offset, h, w] = in[n, c, 2h, 2w]; other channels zero.
 * offset = (out.c - in.c) / 2, as in the CIFAR ResNets of He et al. (option A). */
CPU_HOT_LOOP
void cpu_shortcut_pad_forward(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                              const float *x, float *y) {
    const plane_layout li = layout_of(be, in), lo = layout_of(be, out);
    const int offset = (out->c - in->c) / 2;
    const int stride_h = (in->h + out->h - 1) / out->h, stride_w = (in->w + out->w - 1) / out->w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < out->n; n++)
        for (int c = 0; c < out->c; c++) {
            float *dst = y + plane_start(lo, out, n, c);
            const int src_c = c - offset;
            if (src_c < 0 || src_c >= in->c) {
                for (size_t p = 0; p < (size_t)out->h * out->w; p++) dst[p * lo.pixel_stride] = 0.0f;
                continue;
            }
            const float *src = x + plane_start(li, in, n, src_c);
            for (int h = 0; h < out->h; h++)
                for (int w = 0; w < out->w; w++)
                    dst[((size_t)h * out->w + w) * lo.pixel_stride] =
                        src[((size_t)h * stride_h * in->w + (size_t)w * stride_w) * li.pixel_stride];
        }
}

/* dx[n, c, 2h, 2w] += dy[n, c + offset, h, w]; the rest of dx as it is. */
CPU_HOT_LOOP
void cpu_shortcut_pad_backward_add(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out,
                                   const float *dy, float *dx) {
    const plane_layout li = layout_of(be, in), lo = layout_of(be, out);
    const int offset = (out->c - in->c) / 2;
    const int stride_h = (in->h + out->h - 1) / out->h, stride_w = (in->w + out->w - 1) / out->w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < in->n; n++)
        for (int c = 0; c < in->c; c++) {
            float *dst = dx + plane_start(li, in, n, c);
            const float *src = dy + plane_start(lo, out, n, c + offset);
            for (int h = 0; h < out->h; h++)
                for (int w = 0; w < out->w; w++)
                    dst[((size_t)h * stride_h * in->w + (size_t)w * stride_w) * li.pixel_stride] +=
                        src[((size_t)h * out->w + w) * lo.pixel_stride];
        }
}

void cpu_l2norm_rows_forward(cbd_backend *be, int rows, int cols, const float *x, float *y,
                             float *norms) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        double ss = 0.0;
        for (int c = 0; c < cols; c++) ss += (double)xr[c] * xr[c];
        float norm = (float)sqrt(ss);
        if (norm < L2NORM_EPS) norm = L2NORM_EPS;
        norms[r] = norm;
        const float inv = 1.0f / norm;
        for (int c = 0; c < cols; c++) yr[c] = xr[c] * inv;
    }
}

void cpu_l2norm_rows_backward(cbd_backend *be, int rows, int cols, const float *y,
                              const float *norms, const float *dy, float *dx) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
        float *dxr = dx + (size_t)r * cols;
        double dot = 0.0;
        for (int c = 0; c < cols; c++) dot += (double)yr[c] * dyr[c];
        const float inv = 1.0f / norms[r], d = (float)dot;
        for (int c = 0; c < cols; c++) dxr[c] = (dyr[c] - yr[c] * d) * inv;
    }
}
