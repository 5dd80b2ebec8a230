#include <math.h>
#include <stdlib.h>

#include "nn/log.h"
#include "nn/losses/losses.h"

#include "nn/batch_sum.h"

void cbd_logit_adjusted_create(cbd_logit_adjusted_ce *la, cbd_backend *be, const int64_t *counts,
                               int classes, float tau, int max_rows) {
    double total = 0.0;
    for (int c = 0; c < classes; c++) {
        CBD_ASSERT(counts[c] > 0, "class %d has no training images; its prior is undefined", c);
        total += (double)counts[c];
    }
    float *host = cbd_malloc((size_t)classes * sizeof(float));
    for (int c = 0; c < classes; c++) host[c] = (float)(tau * log((double)counts[c] / total));
    la->classes = classes;
    la->tau = tau;
    la->max_rows = max_rows;
    la->offset = be->ops.alloc(be, (size_t)classes * sizeof(float));
    la->adjusted = be->ops.alloc(be, (size_t)classes * max_rows * sizeof(float));
    be->ops.upload(be, la->offset, host, (size_t)classes * sizeof(float));
    free(host);
}

void cbd_logit_adjusted_free(cbd_logit_adjusted_ce *la, cbd_backend *be) {
    be->ops.release(be, la->offset);
    be->ops.release(be, la->adjusted);
    la->offset = la->adjusted = NULL;
}

double cbd_logit_adjusted_cross_entropy(cbd_backend *be, cbd_logit_adjusted_ce *la, const float *z,
                                        const int *labels, int rows, float grad_scale, float *dz) {
    CBD_ASSERT(rows <= la->max_rows, "logit-adjusted CE sized for %d rows, got %d", la->max_rows, rows);
    const size_t n = (size_t)rows * la->classes;
    be->ops.copy(be, la->adjusted, z, n * sizeof(float));
    be->ops.add_row_vector(be, rows, la->classes, la->offset, la->adjusted);
    /* The offset is constant, so d/dz equals d/d(adjusted). */
    return be->ops.softmax_cross_entropy(be, rows, la->classes, la->adjusted, labels, cbd_batch_grad_scale(be, grad_scale), dz);
}
