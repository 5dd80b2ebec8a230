#include "nn/layers/projection.h"

void cbd_projection_create(cbd_projection *h, cbd_params *p, const char *path, int in, int out,
                           int relu) {
    cbd_linear_create(&h->fc, p, path, in, out, 1, CBD_INIT_GLOROT_UNIFORM);
    h->relu = relu;
}

void cbd_projection_forward(cbd_backend *be, const cbd_projection *h, const cbd_params *p,
                            const float *x, int rows, float *y) {
    cbd_linear_forward(be, &h->fc, p, x, rows, y);
    if (h->relu) be->ops.relu_forward(be, (size_t)rows * h->fc.out, y, y);
}

void cbd_projection_backward(cbd_backend *be, const cbd_projection *h, const cbd_params *p,
                             const float *x, const float *y, float *dy, int rows, float *dx) {
    if (h->relu) be->ops.relu_backward(be, (size_t)rows * h->fc.out, y, dy, dy);
    cbd_linear_backward(be, &h->fc, p, x, dy, rows, dx);
}
