#include "nn/layers/pool.h"

#include "nn/log.h"

cbd_shape4 cbd_maxpool_output_shape(const cbd_maxpool *mp, cbd_shape4 in) {
    cbd_shape4 out = {in.n, in.c, (in.h + 2 * mp->pad - mp->kernel) / mp->stride + 1,
                      (in.w + 2 * mp->pad - mp->kernel) / mp->stride + 1};
    return out;
}

cbd_pool_shape cbd_maxpool_op_shape(const cbd_maxpool *mp, cbd_shape4 in) {
    cbd_shape4 out = cbd_maxpool_output_shape(mp, in);
    CBD_ASSERT(out.h >= 1 && out.w >= 1, "max pool input %dx%d too small", in.h, in.w);
    cbd_pool_shape s = {in.n, in.c, in.h, in.w, out.h, out.w, mp->kernel, mp->stride, mp->pad};
    return s;
}

size_t cbd_maxpool_workspace_bytes(cbd_backend *be, const cbd_maxpool *mp, cbd_shape4 in) {
    cbd_pool_shape s = cbd_maxpool_op_shape(mp, in);
    return be->ops.maxpool_workspace_bytes(be, &s);
}

void cbd_maxpool_forward(cbd_backend *be, const cbd_maxpool *mp, const cbd_tensor *x, cbd_tensor *y,
                         void *workspace) {
    cbd_pool_shape s = cbd_maxpool_op_shape(mp, cbd_tensor_shape(x));
    be->ops.maxpool_forward(be, &s, x->data, y->data, workspace);
}

void cbd_maxpool_backward(cbd_backend *be, const cbd_maxpool *mp, const cbd_tensor *dy,
                          const void *workspace, cbd_tensor *dx) {
    cbd_pool_shape s = cbd_maxpool_op_shape(mp, cbd_tensor_shape(dx));
    be->ops.maxpool_backward(be, &s, dy->data, workspace, dx->data);
}

void cbd_avgpool_global_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y) {
    cbd_shape4 s = cbd_tensor_shape(x);
    CBD_ASSERT(y->n == s.n && y->c == s.c && y->h == 1 && y->w == 1, "pooled tensor shape");
    be->ops.avgpool_global_forward(be, &s, x->data, y->data);
}

void cbd_avgpool_global_backward(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx) {
    cbd_shape4 s = cbd_tensor_shape(dx);
    be->ops.avgpool_global_backward(be, &s, dy->data, dx->data);
}
