#include "nn/losses/losses.h"

#include "nn/batch_sum.h"

#include "nn/log.h"

double cbd_kd_loss(cbd_backend *be, const float *z, const float *teacher_z, int rows, int classes,
                   float temperature, float grad_scale, float *dz) {
    CBD_ASSERT(temperature > 0.0f, "KD temperature %g must be positive", temperature);
    return be->ops.distill_kd(be, rows, classes, temperature, z, teacher_z, cbd_batch_grad_scale(be, grad_scale), dz);
}
