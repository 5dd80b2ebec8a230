#include "nn/losses/losses.h"

#include "nn/batch_sum.h"

double cbd_feature_distill(cbd_backend *be, const float *a, const float *target, int rows, int dim,
                           float beta, float grad_scale, float *da) {
    return be->ops.distill_cosine(be, rows, dim, a, target, beta, cbd_batch_grad_scale(be, grad_scale), da);
}
