/* A parameter table far smaller than any ResNet's, for the checkpoint
 * harness and its seeds: checkpoints of real models are megabytes, which
 * would make every mutation slow, and the loader treats every table alike.
 * It has each kind of entry (trainable with momentum, buffers; 1-D to 4-D). */
#ifndef CBD_FUZZ_SMALL_TABLE_H
#define CBD_FUZZ_SMALL_TABLE_H

#include <string.h>

#include "nn/model.h"
#include "nn/params.h"

/* The model the seeds' metadata describes (checked by cbd_checkpoint_load). */
static inline void fuzz_small_model_config(cbd_model_config *cfg) {
    cbd_model_config_default(cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", "resnet20");
    cfg->in_channels = 1;
    cfg->classes = 3;
}

/* Registers and allocates the table on be. */
static inline void fuzz_small_table(cbd_params *p, cbd_backend *be) {
    static const int conv[4] = {4, 1, 3, 3}, channels[1] = {4}, fc[2] = {3, 4}, classes[1] = {3};
    cbd_params_init(p);
    cbd_params_add(p, "conv1/weight", CBD_PARAM_WEIGHT, CBD_INIT_KAIMING_NORMAL, 4, conv, 9, 36);
    cbd_params_add(p, "bn1/weight", CBD_PARAM_BN_SCALE, CBD_INIT_ONES, 1, channels, 0, 0);
    cbd_params_add(p, "bn1/bias", CBD_PARAM_BN_SHIFT, CBD_INIT_ZEROS, 1, channels, 0, 0);
    cbd_params_add(p, "bn1/running_mean", CBD_BUFFER_RUNNING_MEAN, CBD_INIT_ZEROS, 1, channels, 0, 0);
    cbd_params_add(p, "bn1/running_var", CBD_BUFFER_RUNNING_VAR, CBD_INIT_ONES, 1, channels, 0, 0);
    cbd_params_add(p, "classifier/weight", CBD_PARAM_WEIGHT, CBD_INIT_GLOROT_UNIFORM, 2, fc, 4, 3);
    cbd_params_add(p, "classifier/bias", CBD_PARAM_BIAS, CBD_INIT_ZEROS, 1, classes, 0, 0);
    cbd_params_allocate(p, be);
}

#endif
