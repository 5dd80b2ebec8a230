/* One convolution shape through a backend's three directions, for the tests
 * that compare one kind of convolution kernel with another. */
#ifndef CBD_TESTS_CONV_RUN_H
#define CBD_TESTS_CONV_RUN_H

#include <stdlib.h>

#include "nn/backend.h"
#include "nn/log.h"

/* y, dx and dw of one shape; inputs and outputs NCHW, the backend's layout
 * between (host memory: the cpu backend) */
static inline void conv_run_directions(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w,
                                       const float *dy, float *y, float *dx, float *dw) {
    const cbd_shape4 xs = {s->n, s->in_c, s->in_h, s->in_w}, ys = {s->n, s->out_c, s->out_h, s->out_w};
    const size_t nx = cbd_shape4_count(xs), ny = cbd_shape4_count(ys);
    float *bx = cbd_calloc(nx, sizeof(float)), *bdx = cbd_calloc(nx, sizeof(float));
    float *by = cbd_calloc(ny, sizeof(float)), *bdy = cbd_calloc(ny, sizeof(float));
    cbd_layout_from_nchw(be, xs, x, bx);
    cbd_layout_from_nchw(be, ys, dy, bdy);
    be->ops.conv2d_forward(be, s, bx, w, by);
    be->ops.conv2d_backward_data(be, s, bdy, w, bdx);
    be->ops.conv2d_backward_weights(be, s, bx, bdy, dw);
    cbd_layout_to_nchw(be, ys, by, y);
    cbd_layout_to_nchw(be, xs, bdx, dx);
    free(bx), free(bdx), free(by), free(bdy);
}

#endif
