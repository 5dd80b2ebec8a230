/* ReLU. Backward reads the output, so forward may run in place. */
#ifndef CBD_RELU_H
#define CBD_RELU_H

#include "nn/backend.h"

void cbd_relu_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y);
/* dx may alias dy. */
void cbd_relu_backward(cbd_backend *be, const cbd_tensor *y, const cbd_tensor *dy, cbd_tensor *dx);

#endif
