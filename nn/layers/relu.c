#include "nn/layers/relu.h"

void cbd_relu_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y) {
    be->ops.relu_forward(be, cbd_tensor_count(x), x->data, y->data);
}

void cbd_relu_backward(cbd_backend *be, const cbd_tensor *y, const cbd_tensor *dy, cbd_tensor *dx) {
    be->ops.relu_backward(be, cbd_tensor_count(y), y->data, dy->data, dx->data);
}
