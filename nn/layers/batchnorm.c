#include "nn/layers/batchnorm.h"

#include "nn/batch_sum.h"

#include "nn/log.h"

void cbd_batchnorm_create(cbd_batchnorm *bn, cbd_params *p, const char *path, int channels) {
    bn->channels = channels;
    bn->eps = CBD_BN_EPS;
    bn->momentum = CBD_BN_MOMENTUM;
    char name[CBD_PARAM_NAME_MAX];
    const int shape[1] = {channels};
    cbd_path_join(name, sizeof name, path, "weight");
    bn->gamma = cbd_params_add(p, name, CBD_PARAM_BN_SCALE, CBD_INIT_ONES, 1, shape, 0, 0);
    cbd_path_join(name, sizeof name, path, "bias");
    bn->beta = cbd_params_add(p, name, CBD_PARAM_BN_SHIFT, CBD_INIT_ZEROS, 1, shape, 0, 0);
    cbd_path_join(name, sizeof name, path, "running_mean");
    bn->running_mean = cbd_params_add(p, name, CBD_BUFFER_RUNNING_MEAN, CBD_INIT_ZEROS, 1, shape, 0, 0);
    cbd_path_join(name, sizeof name, path, "running_var");
    bn->running_var = cbd_params_add(p, name, CBD_BUFFER_RUNNING_VAR, CBD_INIT_ONES, 1, shape, 0, 0);
}

void cbd_batchnorm_forward(cbd_backend *be, const cbd_batchnorm *bn, const cbd_params *p,
                           int training, const cbd_tensor *x, cbd_tensor *y,
                           cbd_batchnorm_saved *saved, int relu) {
    cbd_shape4 s = cbd_tensor_shape(x);
    CBD_ASSERT(s.c == bn->channels, "batch norm expects %d channels, got %d", bn->channels, s.c);
    const float *gamma = cbd_param_value(p, bn->gamma), *beta = cbd_param_value(p, bn->beta);
    float *rmean = cbd_param_value(p, bn->running_mean), *rvar = cbd_param_value(p, bn->running_var);
    if (!training) {
        be->ops.batchnorm_forward_infer(be, &s, bn->eps, x->data, gamma, beta, rmean, rvar, y->data, relu);
        return;
    }
    be->ops.batchnorm_forward_train(be, &s, bn->eps, x->data, gamma, beta, y->data, saved->mean,
                                    saved->var, relu);
    be->ops.batchnorm_update_running(be, s.c, cbd_batch_global_rows(be, (size_t)s.n) * s.h * s.w, bn->momentum, saved->mean,
                                     saved->var, rmean, rvar);
}

void cbd_batchnorm_backward(cbd_backend *be, const cbd_batchnorm *bn, const cbd_params *p,
                            const cbd_tensor *x, const cbd_tensor *dy, const cbd_tensor *relu_y,
                            const cbd_batchnorm_saved *saved, cbd_tensor *dx) {
    cbd_shape4 s = cbd_tensor_shape(x);
    be->ops.batchnorm_backward(be, &s, bn->eps, x->data, dy->data, relu_y ? relu_y->data : NULL,
                               cbd_param_value(p, bn->gamma),
                               saved->mean, saved->var, dx->data, cbd_param_grad(p, bn->gamma),
                               cbd_param_grad(p, bn->beta));
}
