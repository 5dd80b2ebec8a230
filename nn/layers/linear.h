/* Fully connected layer y = x W^T + b, x [N, in], W [out, in], b [out]. */
#ifndef CBD_LINEAR_H
#define CBD_LINEAR_H

#include "nn/params.h"

typedef struct {
    int in, out;
    int weight, bias; /* bias = -1 when the layer has none */
} cbd_linear;

void cbd_linear_create(cbd_linear *fc, cbd_params *p, const char *path, int in, int out,
                       int with_bias, cbd_init_kind weight_init);
void cbd_linear_forward(cbd_backend *be, const cbd_linear *fc, const cbd_params *p,
                        const float *x, int rows, float *y);
/* Writes weight (and bias) gradients; writes dx unless it is NULL. */
void cbd_linear_backward(cbd_backend *be, const cbd_linear *fc, const cbd_params *p,
                         const float *x, const float *dy, int rows, float *dx);

#endif
