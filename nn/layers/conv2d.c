#include "nn/layers/conv2d.h"

#include "nn/log.h"

void cbd_conv2d_create(cbd_conv2d *conv, cbd_params *p, const char *path, int in_c, int out_c,
                       int kernel, int stride, int pad) {
    conv->in_c = in_c;
    conv->out_c = out_c;
    conv->kernel = kernel;
    conv->stride = stride;
    conv->pad = pad;
    char name[CBD_PARAM_NAME_MAX];
    cbd_path_join(name, sizeof name, path, "weight");
    const int shape[4] = {out_c, in_c, kernel, kernel};
    conv->weight = cbd_params_add(p, name, CBD_PARAM_WEIGHT, CBD_INIT_KAIMING_NORMAL, 4, shape,
                                  in_c * kernel * kernel, out_c * kernel * kernel);
}

cbd_shape4 cbd_conv2d_output_shape(const cbd_conv2d *conv, cbd_shape4 in) {
    cbd_shape4 out = {in.n, conv->out_c, (in.h + 2 * conv->pad - conv->kernel) / conv->stride + 1,
                      (in.w + 2 * conv->pad - conv->kernel) / conv->stride + 1};
    return out;
}

cbd_conv_shape cbd_conv2d_op_shape(const cbd_conv2d *conv, cbd_shape4 in) {
    CBD_ASSERT(in.c == conv->in_c, "conv expects %d input channels, got %d", conv->in_c, in.c);
    cbd_shape4 out = cbd_conv2d_output_shape(conv, in);
    CBD_ASSERT(out.h >= 1 && out.w >= 1, "conv input %dx%d too small for kernel %d", in.h, in.w,
               conv->kernel);
    cbd_conv_shape s = {in.n,  in.c,         in.h,        in.w,      out.c,
                        out.h, out.w,        conv->kernel, conv->stride, conv->pad};
    return s;
}

void cbd_conv2d_forward(cbd_backend *be, const cbd_conv2d *conv, const cbd_params *p,
                        const cbd_tensor *x, cbd_tensor *y) {
    cbd_conv_shape s = cbd_conv2d_op_shape(conv, cbd_tensor_shape(x));
    CBD_ASSERT(y->n == s.n && y->c == s.out_c && y->h == s.out_h && y->w == s.out_w,
               "conv output tensor has the wrong shape");
    be->ops.conv2d_forward(be, &s, x->data, cbd_param_value(p, conv->weight), y->data);
}

void cbd_conv2d_backward(cbd_backend *be, const cbd_conv2d *conv, const cbd_params *p,
                         const cbd_tensor *x, const cbd_tensor *dy, cbd_tensor *dx) {
    cbd_conv_shape s = cbd_conv2d_op_shape(conv, cbd_tensor_shape(x));
    be->ops.conv2d_backward_weights(be, &s, x->data, dy->data, cbd_param_grad(p, conv->weight));
    if (dx) be->ops.conv2d_backward_data(be, &s, dy->data, cbd_param_value(p, conv->weight), dx->data);
}
