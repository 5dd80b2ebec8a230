/* Losses. Each returns the mean over the batch and writes grad_scale times
 * its gradient (pass the loss's weight in the total as grad_scale; dz NULL to
 * skip the gradient). */
#ifndef CBD_LOSSES_H
#define CBD_LOSSES_H

#include <stdint.h>

#include "nn/backend.h"

/* Cross-entropy of softmax(z) against integer labels. */
double cbd_cross_entropy(cbd_backend *be, const float *z, const int *labels, int rows, int classes,
                         float grad_scale, float *dz);

/* Cosine feature distillation beta * (1 - cos(a, target)) against a constant
 * target (Eq. 2 / Eq. 4 of the paper). */
double cbd_feature_distill(cbd_backend *be, const float *a, const float *target, int rows, int dim,
                           float beta, float grad_scale, float *da);

/* Temperature knowledge distillation T^2 * CE(softmax(z / T), softmax(teacher_z / T)) (Eq. 3). */
double cbd_kd_loss(cbd_backend *be, const float *z, const float *teacher_z, int rows, int classes,
                   float temperature, float grad_scale, float *dz);

/* Logit-adjusted cross-entropy (Menon et al. 2021): CE on z + tau * log(prior),
 * prior = class frequencies of the training set. */
typedef struct {
    int classes;
    float tau;
    float *offset;   /* [classes]: tau * log(prior), backend memory */
    float *adjusted; /* [max_rows, classes] scratch */
    int max_rows;
} cbd_logit_adjusted_ce;

/* counts: training images per class (every count > 0). */
void cbd_logit_adjusted_create(cbd_logit_adjusted_ce *la, cbd_backend *be, const int64_t *counts,
                               int classes, float tau, int max_rows);
void cbd_logit_adjusted_free(cbd_logit_adjusted_ce *la, cbd_backend *be);
double cbd_logit_adjusted_cross_entropy(cbd_backend *be, cbd_logit_adjusted_ce *la, const float *z,
                                        const int *labels, int rows, float grad_scale, float *dz);

#endif
