/* SGD with momentum and weight decay over the parameter table. Decay applies
 * to conv and linear weights; batch norm parameters and biases are not
 * decayed unless decay_norm_and_bias is set. */
#ifndef CBD_SGD_H
#define CBD_SGD_H

#include "nn/params.h"

typedef struct {
    float momentum;
    float weight_decay;
    int nesterov;
    int decay_norm_and_bias;
} cbd_sgd_config;

/* Weight decay an entry of this kind receives under `cfg`. */
float cbd_sgd_decay_for(const cbd_sgd_config *cfg, cbd_param_kind kind);
/* One update of every trainable parameter with learning rate lr. */
void cbd_sgd_step(cbd_backend *be, cbd_params *p, const cbd_sgd_config *cfg, float lr);

#endif
