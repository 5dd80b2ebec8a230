#include "nn/losses/losses.h"

double cbd_cross_entropy(cbd_backend *be, const float *z, const int *labels, int rows, int classes,
                         float grad_scale, float *dz) {
    return be->ops.softmax_cross_entropy(be, rows, classes, z, labels, grad_scale, dz);
}
