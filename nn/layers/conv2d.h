/* 2-D convolution, square kernel, no bias (batch norm follows every conv). */
#ifndef CBD_CONV2D_H
#define CBD_CONV2D_H

#include "nn/params.h"

typedef struct {
    int in_c, out_c, kernel, stride, pad;
    int weight; /* [out_c, in_c, k, k] in the parameter table */
} cbd_conv2d;

void cbd_conv2d_create(cbd_conv2d *conv, cbd_params *p, const char *path, int in_c, int out_c,
                       int kernel, int stride, int pad);
cbd_shape4 cbd_conv2d_output_shape(const cbd_conv2d *conv, cbd_shape4 in);
cbd_conv_shape cbd_conv2d_op_shape(const cbd_conv2d *conv, cbd_shape4 in);

void cbd_conv2d_forward(cbd_backend *be, const cbd_conv2d *conv, const cbd_params *p,
                        const cbd_tensor *x, cbd_tensor *y);
/* Writes the weight gradient; writes dx unless it is NULL. */
void cbd_conv2d_backward(cbd_backend *be, const cbd_conv2d *conv, const cbd_params *p,
                         const cbd_tensor *x, const cbd_tensor *dy, cbd_tensor *dx);

#endif
