/* The loops of the cpu backend's batch norm for channels_last tensors
 * (batchnorm_nhwc.c); batchnorm_cpu.c has those of the other layouts and the
 * combination of the per-image sums they all produce. */
#ifndef CBD_BATCHNORM_KERNELS_H
#define CBD_BATCHNORM_KERNELS_H

#include "nn/tensor.h"

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
