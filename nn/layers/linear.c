#include "nn/layers/linear.h"

#include "nn/batch_sum.h"

void cbd_linear_create(cbd_linear *fc, cbd_params *p, const char *path, int in, int out,
                       int with_bias, cbd_init_kind weight_init) {
    fc->in = in;
    fc->out = out;
    char name[CBD_PARAM_NAME_MAX];
    cbd_path_join(name, sizeof name, path, "weight");
    const int wshape[2] = {out, in};
    fc->weight = cbd_params_add(p, name, CBD_PARAM_WEIGHT, weight_init, 2, wshape, in, out);
    fc->bias = -1;
    if (with_bias) {
        cbd_path_join(name, sizeof name, path, "bias");
        const int bshape[1] = {out};
        fc->bias = cbd_params_add(p, name, CBD_PARAM_BIAS, CBD_INIT_UNIFORM_FAN_IN, 1, bshape, in, out);
    }
}

void cbd_linear_forward(cbd_backend *be, const cbd_linear *fc, const cbd_params *p,
                        const float *x, int rows, float *y) {
    cbd_batch_gemm_rows(be, rows, 1, fc->out, fc->in, 1.0f, x, fc->in, cbd_param_value(p, fc->weight), fc->in, 0.0f,
                        y, fc->out);
    if (fc->bias >= 0) be->ops.add_row_vector(be, rows, fc->out, cbd_param_value(p, fc->bias), y);
}

void cbd_linear_backward(cbd_backend *be, const cbd_linear *fc, const cbd_params *p,
                         const float *x, const float *dy, int rows, float *dx) {
    /* dW [out, in] = dy^T [out, N] x [N, in], summed over the batch by chunks (nn/batch_sum.h) */
    cbd_batch_gemm_tn(be, rows, fc->out, fc->in, 1.0f, dy, fc->out, x, fc->in, cbd_param_grad(p, fc->weight));
    if (fc->bias >= 0) cbd_batch_sum_rows(be, rows, fc->out, dy, cbd_param_grad(p, fc->bias));
    /* dx [N, in] = dy [N, out] W [out, in] */
    if (dx)
        cbd_batch_gemm_rows(be, rows, 0, fc->in, fc->out, 1.0f, dy, fc->out, cbd_param_value(p, fc->weight), fc->in,
                            0.0f, dx, fc->in);
}
