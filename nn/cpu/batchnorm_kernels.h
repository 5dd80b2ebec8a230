/* The loops of the cpu backend's batch norm for channels_last tensors
 * (batchnorm_nhwc.c) and the backward sums they share with channel blocks;
 * batchnorm_cpu.c has the other loops and the combination of the per-image
 * sums they all produce. */
#ifndef CBD_BATCHNORM_KERNELS_H
#define CBD_BATCHNORM_KERNELS_H

#include <string.h>

#include "nn/tensor.h"

#define BN_RUN_MAX 64

/* The sums of one image's run of `run` (<= BN_RUN_MAX) adjacent channels,
 * backward: sum_dy[l] = sum over its hw pixels (`pixel` floats apart) of dy,
 * sum_dy_dev[l] of dy * (x - mean[l]); dy counts only where relu_y > 0 when
 * `masked` (a ReLU fused into the forward). `masked`, `run` and `pixel` are
 * constants at the channel-block call (16, 16), so it compiles to its own
 * vector loop there. */
static inline __attribute__((always_inline)) void bn_run_dy_sums(const float *restrict xr, const float *restrict gr,
                                                                 const float *restrict mr, const float *restrict mean,
                                                                 int run, size_t pixel, int hw, int masked,
                                                                 float *restrict sum_dy,
                                                                 float *restrict sum_dy_dev) {
    float sd[BN_RUN_MAX] = {0}, sdd[BN_RUN_MAX] = {0}, m[BN_RUN_MAX];
    memcpy(m, mean, (size_t)run * sizeof(float));
    for (int p = 0; p < hw; p++) {
        const float *xp = xr + (size_t)p * pixel, *gp = gr + (size_t)p * pixel;
        const float *mp = masked ? mr + (size_t)p * pixel : gp;
#pragma omp simd
        for (int l = 0; l < run; l++) {
            const float gv = gp[l]; /* loaded unconditionally: no branch, the loop vectorises */
            const float g = masked ? (mp[l] > 0.0f ? gv : 0.0f) : gv;
            sd[l] += g;
            sdd[l] += g * (xp[l] - m[l]);
        }
    }
    memcpy(sum_dy, sd, (size_t)run * sizeof(float));
    memcpy(sum_dy_dev, sdd, (size_t)run * sizeof(float));
}

/* Per image and channel ([n, C]): the mean over H x W and the sum of squared
 * deviations from it. */
void bn_nhwc_image_stats(const cbd_shape4 *s, const float *x, float *img_mean, float *img_m2);
/* y = a[c] * x + b[c], then max(0, y) when relu. */
void bn_nhwc_affine(const cbd_shape4 *s, const float *x, const float *a, const float *b, int relu, float *y);
/* Per image and channel: sum of dy and of dy * (x - mean[c]), dy counted only
 * where relu_y > 0 when relu_y is given. */
void bn_nhwc_dy_sums(const cbd_shape4 *s, const float *x, const float *dy, const float *relu_y, const float *mean,
                     float *img_dy, float *img_dy_dev);
/* dx = a[c] * dy + b[c] * x + k[c], dy masked by relu_y as above. */
void bn_nhwc_dx(const cbd_shape4 *s, const float *x, const float *dy, const float *relu_y, const float *a,
                const float *b, const float *k, float *dx);

#endif
