/* The projection h of multi-teacher distillation (Eq. 4 of the paper): a
 * learned linear map R^d -> R^{dK}, followed by ReLU as in the authors' code
 * (configurable). The student's cosine classifier then reads h(v). */
#ifndef CBD_PROJECTION_H
#define CBD_PROJECTION_H

#include "nn/layers/linear.h"

typedef struct {
    cbd_linear fc;
    int relu;
} cbd_projection;

void cbd_projection_create(cbd_projection *h, cbd_params *p, const char *path, int in, int out,
                           int relu);
/* y [rows, out]; keeps y for backward. */
void cbd_projection_forward(cbd_backend *be, const cbd_projection *h, const cbd_params *p,
                            const float *x, int rows, float *y);
/* dy may be overwritten (it becomes the pre-activation gradient). */
void cbd_projection_backward(cbd_backend *be, const cbd_projection *h, const cbd_params *p,
                             const float *x, const float *y, float *dy, int rows, float *dx);

#endif
