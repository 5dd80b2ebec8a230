/* Residual connections: the add that joins a block's two paths, and the
 * parameter-free shortcut of the CIFAR ResNets (stride-2 subsample, channels
 * zero-padded; He et al. 2016, option A). */
#ifndef CBD_RESIDUAL_H
#define CBD_RESIDUAL_H

#include "nn/backend.h"

void cbd_residual_add(cbd_backend *be, const cbd_tensor *a, const cbd_tensor *b, cbd_tensor *y);
/* y = max(0, a + b): the add and the block's ReLU in one pass. */
void cbd_residual_add_relu(cbd_backend *be, const cbd_tensor *a, const cbd_tensor *b, cbd_tensor *y);
/* dx += dy: a tensor read by two paths receives both gradients. */
void cbd_residual_accumulate(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx);

cbd_shape4 cbd_shortcut_pad_output_shape(cbd_shape4 in, int out_c, int stride);
void cbd_shortcut_pad_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y);
/* dx += the shortcut's gradient of dy: the block input's two gradients in one pass. */
void cbd_shortcut_pad_backward_add(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx);

#endif
