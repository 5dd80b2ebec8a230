/* The SGD update on the cpu (PyTorch's semantics: decay added to the gradient,
 * momentum buffer, optional Nesterov). */
#include "nn/cpu/cpu_backend.h"

CPU_HOT_LOOP
void cpu_sgd_update(cbd_backend *be, size_t n, float *w, const float *g, float *m, float lr,
                    float momentum, float weight_decay, int nesterov) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float grad = g[i] + weight_decay * w[i];
        const float buf = momentum * m[i] + grad;
        m[i] = buf;
        w[i] -= lr * (nesterov ? grad + momentum * buf : buf);
    }
}
