#include "nn/layers/residual.h"

#include "nn/log.h"

void cbd_residual_add(cbd_backend *be, const cbd_tensor *a, const cbd_tensor *b, cbd_tensor *y) {
    CBD_ASSERT(cbd_tensor_count(a) == cbd_tensor_count(b), "residual add of unequal tensors");
    be->ops.add(be, cbd_tensor_count(a), a->data, b->data, y->data);
}

void cbd_residual_add_relu(cbd_backend *be, const cbd_tensor *a, const cbd_tensor *b, cbd_tensor *y) {
    CBD_ASSERT(cbd_tensor_count(a) == cbd_tensor_count(b), "residual add of unequal tensors");
    be->ops.add_relu(be, cbd_tensor_count(a), a->data, b->data, y->data);
}

void cbd_residual_accumulate(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx) {
    CBD_ASSERT(cbd_tensor_count(dy) == cbd_tensor_count(dx), "residual gradient of unequal tensors");
    be->ops.axpy(be, cbd_tensor_count(dy), 1.0f, dy->data, dx->data);
}

cbd_shape4 cbd_shortcut_pad_output_shape(cbd_shape4 in, int out_c, int stride) {
    cbd_shape4 out = {in.n, out_c, (in.h + stride - 1) / stride, (in.w + stride - 1) / stride};
    return out;
}

void cbd_shortcut_pad_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y) {
    cbd_shape4 in = cbd_tensor_shape(x), out = cbd_tensor_shape(y);
    CBD_ASSERT(out.c >= in.c, "padding shortcut cannot drop channels");
    be->ops.shortcut_pad_forward(be, &in, &out, x->data, y->data);
}

void cbd_shortcut_pad_backward_add(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx) {
    cbd_shape4 in = cbd_tensor_shape(dx), out = cbd_tensor_shape(dy);
    be->ops.shortcut_pad_backward_add(be, &in, &out, dy->data, dx->data);
}
