#include "nn/losses/losses.h"

#include "nn/batch_sum.h"

double cbd_cross_entropy(cbd_backend *be, const float *z, const int *labels, int rows, int classes,
                         float grad_scale, float *dz) {
    return be->ops.softmax_cross_entropy(be, rows, classes, z, labels, cbd_batch_grad_scale(be, grad_scale), dz);
}
