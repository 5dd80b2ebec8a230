/* Batch normalisation's loops for channels_last tensors (N, H, W, C; the cpu
 * backend's layout with precision = bf16), called by batchnorm_cpu.c, which
 * combines the per-image sums. An image is walked pixel by pixel over a run
 * of up to 64 adjacent channels (contiguous in memory), so a task's data is
 * H x W x 64 floats, and every per-image, per-channel sum adds the pixels in
 * the order the channel-block loops do: the same bits as that layout. */
#include <string.h>

#include "nn/cpu/batchnorm_kernels.h"
#include "nn/cpu/cpu_backend.h"

#define RUN_MAX BN_RUN_MAX

/* Channels per task: all of them up to 64, else runs of 64 (or 16). */
static int run_of(int c) { return c <= RUN_MAX ? c : (c % RUN_MAX == 0 ? RUN_MAX : 16); }

CPU_HOT_LOOP
void bn_nhwc_image_stats(const cbd_shape4 *s, const float *x, float *img_mean, float *img_m2) {
    const int run = run_of(s->c), runs = s->c / run, hw = s->h * s->w, c_all = s->c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int r = 0; r < runs; r++) {
            const float *img = x + (size_t)n * hw * c_all + (size_t)r * run;
            float sum[RUN_MAX] = {0}, m2[RUN_MAX] = {0}, mean[RUN_MAX];
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int l = 0; l < run; l++) sum[l] += img[(size_t)p * c_all + l];
            for (int l = 0; l < run; l++) mean[l] = sum[l] / (float)hw;
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int l = 0; l < run; l++) {
                    const float d = img[(size_t)p * c_all + l] - mean[l];
                    m2[l] += d * d;
                }
            memcpy(img_mean + (size_t)n * c_all + (size_t)r * run, mean, (size_t)run * sizeof(float));
            memcpy(img_m2 + (size_t)n * c_all + (size_t)r * run, m2, (size_t)run * sizeof(float));
        }
}

CPU_HOT_LOOP
void bn_nhwc_affine(const cbd_shape4 *s, const float *x, const float *a, const float *b, int relu, float *y) {
    const size_t pixels = (size_t)s->n * s->h * s->w;
    const int c_all = s->c;
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < pixels; p++) {
        const float *xp = x + p * c_all;
        float *yp = y + p * c_all;
        if (relu) {
#pragma omp simd
            for (int c = 0; c < c_all; c++) {
                const float v = a[c] * xp[c] + b[c];
                yp[c] = v > 0.0f ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (int c = 0; c < c_all; c++) yp[c] = a[c] * xp[c] + b[c];
        }
    }
}

CPU_HOT_LOOP
void bn_nhwc_dy_sums(const cbd_shape4 *s, const float *x, const float *dy, const float *relu_y, const float *mean,
                     float *img_dy, float *img_dy_dev) {
    const int run = run_of(s->c), runs = s->c / run, hw = s->h * s->w, c_all = s->c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int r = 0; r < runs; r++) {
            const size_t off = (size_t)n * hw * c_all + (size_t)r * run, at = (size_t)n * c_all + (size_t)r * run;
            if (relu_y)
                bn_run_dy_sums(x + off, dy + off, relu_y + off, mean + r * run, run, (size_t)c_all, hw, 1,
                               img_dy + at, img_dy_dev + at);
            else
                bn_run_dy_sums(x + off, dy + off, NULL, mean + r * run, run, (size_t)c_all, hw, 0, img_dy + at,
                               img_dy_dev + at);
        }
}

static inline __attribute__((always_inline)) void pixel_dx(const float *restrict xp, const float *restrict gp,
                                                           const float *restrict mp, const float *restrict a,
                                                           const float *restrict b, const float *restrict k,
                                                           int c_all, int masked, float *restrict dp) {
#pragma omp simd
    for (int c = 0; c < c_all; c++) {
        const float gv = gp[c];
        const float g = masked ? (mp[c] > 0.0f ? gv : 0.0f) : gv;
        dp[c] = a[c] * g + b[c] * xp[c] + k[c];
    }
}

CPU_HOT_LOOP
void bn_nhwc_dx(const cbd_shape4 *s, const float *x, const float *dy, const float *relu_y, const float *a,
                const float *b, const float *k, float *dx) {
    const size_t pixels = (size_t)s->n * s->h * s->w;
    const int c_all = s->c;
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < pixels; p++) {
        const size_t off = p * c_all;
        if (relu_y)
            pixel_dx(x + off, dy + off, relu_y + off, a, b, k, c_all, 1, dx + off);
        else
            pixel_dx(x + off, dy + off, NULL, a, b, k, c_all, 0, dx + off);
    }
}
