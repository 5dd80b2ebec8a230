#include "nn/optim/sgd.h"

float cbd_sgd_decay_for(const cbd_sgd_config *cfg, cbd_param_kind kind) {
    if (!cbd_param_is_trainable(kind)) return 0.0f;
    if (kind == CBD_PARAM_WEIGHT || cfg->decay_norm_and_bias) return cfg->weight_decay;
    return 0.0f;
}

void cbd_sgd_step(cbd_backend *be, cbd_params *p, const cbd_sgd_config *cfg, float lr) {
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        if (!cbd_param_is_trainable(e->kind)) continue;
        be->ops.sgd_update(be, e->count, cbd_param_value(p, i), cbd_param_grad(p, i),
                           cbd_param_momentum(p, i), lr, cfg->momentum,
                           cbd_sgd_decay_for(cfg, e->kind), cfg->nesterov);
    }
}
