/* Batch normalisation per channel. Training normalises with the batch's
 * statistics (kept for backward) and updates running averages; evaluation
 * uses the running averages. */
#ifndef CBD_BATCHNORM_H
#define CBD_BATCHNORM_H

#include "nn/params.h"

typedef struct {
    int channels;
    float eps, momentum;
    int gamma, beta, running_mean, running_var; /* parameter table indices */
} cbd_batchnorm;

/* Batch statistics of one forward pass, needed by backward: 2 * channels floats. */
typedef struct {
    float *mean, *var;
} cbd_batchnorm_saved;

#define CBD_BN_EPS 1e-5f
#define CBD_BN_MOMENTUM 0.1f

void cbd_batchnorm_create(cbd_batchnorm *bn, cbd_params *p, const char *path, int channels);

/* relu: y = max(0, bn(x)), the ReLU that follows fused in. */
void cbd_batchnorm_forward(cbd_backend *be, const cbd_batchnorm *bn, const cbd_params *p,
                           int training, const cbd_tensor *x, cbd_tensor *y,
                           cbd_batchnorm_saved *saved, int relu);
/* Writes gamma and beta gradients and dx. relu_y: NULL, or the forward's
 * output when it had the ReLU fused in (dy is masked by relu_y > 0). */
void cbd_batchnorm_backward(cbd_backend *be, const cbd_batchnorm *bn, const cbd_params *p,
                            const cbd_tensor *x, const cbd_tensor *dy, const cbd_tensor *relu_y,
                            const cbd_batchnorm_saved *saved, cbd_tensor *dx);

#endif
