/* The cpu backend's channel-blocked layout (nn/backend.h) against its plain
 * NCHW layout, whose ops layers_reference and gradcheck check against the
 * definitions: every op that sees a 4-D tensor's layout, fed the same NCHW
 * values converted into each layout, must give the same NCHW values back;
 * then whole networks (resnet20; resnet18 with its max pool and projection
 * shortcuts) must train the same few steps in both layouts. All of it twice:
 * channel blocks, then channels_last (NHWC, the layout of precision = bf16).
 * Batch norm in channels_last must also give the bits of channel blocks (its
 * loops make the same sums in the same order).
 *
 * The blocked backends run direct convolutions here, as the reference does:
 * this compares layouts; conv_winograd compares Winograd with direct. With
 * Winograd the first step's gradients of resnet20 differ by 1.7e-3, not for
 * a wrong op (each layer's output is within 5e-6 channel standard deviations
 * of the exact sum) but because a ReLU whose input sits that close to zero
 * flips, and a flipped ReLU passes or stops a whole gradient: multiplying
 * the input by 1 + 1e-4 noise moves the reference's own gradients by 2.3e-2
 * (by 1e-5 noise: 7e-6). */
#include <string.h>

#include "tests/train_fixture.h"

static cbd_backend *plain, *blocked; /* the reference, and the layout under test */
static double bn_tolerance = 1.0;     /* 0: batch norm must agree bit for bit */

/* A 4-D tensor held in NCHW on the host, and its copy in a backend's layout. */
typedef struct {
    cbd_shape4 s;
    float *nchw;
} host4;

static host4 host_normal(cbd_shape4 s, uint64_t seed) {
    host4 h = {s, malloc(cbd_shape4_count(s) * sizeof(float))};
    test_fill_normal(h.nchw, cbd_shape4_count(s), 1.0f, seed);
    return h;
}

static float *to_backend(cbd_backend *be, const host4 *h) {
    float *p = be->ops.alloc(be, cbd_shape4_count(h->s) * sizeof(float));
    cbd_layout_from_nchw(be, h->s, h->nchw, p);
    return p;
}

/* Largest |a - b| over the largest |a|. */
static double vec_diff(const float *a, const float *b, size_t n) {
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)a[i]));
    }
    return diff / scale;
}

/* vec_diff of two tensors read back into NCHW from their backends' layouts. */
static double layout_diff(cbd_shape4 s, const float *from_plain, const float *from_blocked) {
    const size_t n = cbd_shape4_count(s);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    cbd_layout_to_nchw(plain, s, from_plain, a);
    cbd_layout_to_nchw(blocked, s, from_blocked, b);
    const double d = vec_diff(a, b, n);
    free(a);
    free(b);
    return d;
}

static void conv_case(int n, int in_c, int out_c, int hw, int k, int stride, int pad) {
    const int out_hw = (hw + 2 * pad - k) / stride + 1;
    cbd_conv_shape cs = {n, in_c, hw, hw, out_c, out_hw, out_hw, k, stride, pad};
    cbd_shape4 xs = {n, in_c, hw, hw}, ys = {n, out_c, out_hw, out_hw};
    host4 x = host_normal(xs, 1), dy = host_normal(ys, 2);
    const size_t nw = (size_t)out_c * in_c * k * k;
    float *w = malloc(nw * sizeof(float));
    test_fill_normal(w, nw, 0.2f, 3);
    float *y[2], *dx[2], *dw[2];
    cbd_backend *bes[2] = {plain, blocked};
    for (int i = 0; i < 2; i++) {
        cbd_backend *be = bes[i];
        float *xb = to_backend(be, &x), *dyb = to_backend(be, &dy);
        y[i] = be->ops.alloc(be, cbd_shape4_count(ys) * sizeof(float));
        dx[i] = be->ops.alloc(be, cbd_shape4_count(xs) * sizeof(float));
        dw[i] = be->ops.alloc(be, nw * sizeof(float));
        be->ops.conv2d_forward(be, &cs, xb, w, y[i]);
        be->ops.conv2d_backward_data(be, &cs, dyb, w, dx[i]);
        be->ops.conv2d_backward_weights(be, &cs, xb, dyb, dw[i]);
        be->ops.release(be, xb);
        be->ops.release(be, dyb);
    }
    const double ey = layout_diff(ys, y[0], y[1]), ex = layout_diff(xs, dx[0], dx[1]),
                 ew = vec_diff(dw[0], dw[1], nw);
    CHECK(ey < 1e-5 && ex < 1e-5 && ew < 1e-5, "conv %d->%d %dx%d k%d s%d: y %.2g dx %.2g dw %.2g", in_c,
          out_c, hw, hw, k, stride, ey, ex, ew);
    for (int i = 0; i < 2; i++) {
        bes[i]->ops.release(bes[i], y[i]);
        bes[i]->ops.release(bes[i], dx[i]);
        bes[i]->ops.release(bes[i], dw[i]);
    }
    free(w);
    free(x.nchw);
    free(dy.nchw);
}

static void batchnorm_case(cbd_shape4 s, int relu) {
    host4 x = host_normal(s, 11), dy = host_normal(s, 12);
    for (size_t i = 0; i < cbd_shape4_count(s); i++) x.nchw[i] = 3.0f * x.nchw[i] + 1.5f;
    float gamma[256], beta[256];
    test_fill_uniform(gamma, (size_t)s.c, 0.5f, 2.0f, 13);
    test_fill_uniform(beta, (size_t)s.c, -1.0f, 1.0f, 14);
    float *y[2], *yi[2], *dx[2], stats[2][4][256];
    cbd_backend *bes[2] = {plain, blocked};
    for (int i = 0; i < 2; i++) {
        cbd_backend *be = bes[i];
        const size_t n = cbd_shape4_count(s) * sizeof(float);
        float *xb = to_backend(be, &x), *dyb = to_backend(be, &dy);
        y[i] = be->ops.alloc(be, n);
        yi[i] = be->ops.alloc(be, n);
        dx[i] = be->ops.alloc(be, n);
        be->ops.batchnorm_forward_train(be, &s, 1e-5f, xb, gamma, beta, y[i], stats[i][0], stats[i][1], relu);
        be->ops.batchnorm_backward(be, &s, 1e-5f, xb, dyb, relu ? y[i] : NULL, gamma, stats[i][0], stats[i][1],
                                   dx[i], stats[i][2], stats[i][3]);
        be->ops.batchnorm_forward_infer(be, &s, 1e-5f, xb, gamma, beta, stats[0][0], stats[0][1], yi[i], relu);
        be->ops.release(be, xb);
        be->ops.release(be, dyb);
    }
    const double e[4] = {layout_diff(s, y[0], y[1]), layout_diff(s, dx[0], dx[1]),
                         layout_diff(s, yi[0], yi[1]), 0.0};
    double estat = 0.0;
    for (int k = 0; k < 4; k++) estat = fmax(estat, vec_diff(stats[0][k], stats[1][k], (size_t)s.c));
    const double t = bn_tolerance;
    CHECK(e[0] <= 1e-5 * t && e[1] <= 1e-4 * t && e[2] <= 1e-6 * t && estat <= 1e-4 * t,
          "batchnorm%s %dx%dx%dx%d: y %.2g dx %.2g infer %.2g stats %.2g", relu ? "+relu" : "", s.n, s.c,
          s.h, s.w, e[0], e[1],
          e[2], estat);
    for (int i = 0; i < 2; i++) {
        bes[i]->ops.release(bes[i], y[i]);
        bes[i]->ops.release(bes[i], yi[i]);
        bes[i]->ops.release(bes[i], dx[i]);
    }
    free(x.nchw);
    free(dy.nchw);
}

static void pooling_case(void) {
    cbd_pool_shape ps = {2, 16, 9, 9, 5, 5, 3, 2, 1};
    cbd_shape4 xs = {2, 16, 9, 9}, ys = {2, 16, 5, 5}, gs = {2, 16, 1, 1};
    host4 x = host_normal(xs, 21), dy = host_normal(ys, 22), dg = host_normal(gs, 23);
    float *y[2], *dx[2], *g[2], *dgx[2];
    cbd_backend *bes[2] = {plain, blocked};
    for (int i = 0; i < 2; i++) {
        cbd_backend *be = bes[i];
        float *xb = to_backend(be, &x), *dyb = to_backend(be, &dy), *dgb = to_backend(be, &dg);
        void *ws = be->ops.alloc(be, be->ops.maxpool_workspace_bytes(be, &ps) + 64);
        y[i] = be->ops.alloc(be, cbd_shape4_count(ys) * sizeof(float));
        dx[i] = be->ops.alloc(be, cbd_shape4_count(xs) * sizeof(float));
        g[i] = be->ops.alloc(be, cbd_shape4_count(gs) * sizeof(float));
        dgx[i] = be->ops.alloc(be, cbd_shape4_count(xs) * sizeof(float));
        be->ops.maxpool_forward(be, &ps, xb, y[i], ws);
        be->ops.maxpool_backward(be, &ps, dyb, ws, dx[i]);
        be->ops.avgpool_global_forward(be, &xs, xb, g[i]);
        be->ops.avgpool_global_backward(be, &xs, dgb, dgx[i]);
        be->ops.release(be, ws);
        be->ops.release(be, xb);
        be->ops.release(be, dyb);
        be->ops.release(be, dgb);
    }
    CHECK(layout_diff(ys, y[0], y[1]) == 0.0, "maxpool forward differs");
    CHECK(layout_diff(xs, dx[0], dx[1]) == 0.0, "maxpool backward differs");
    CHECK(layout_diff(gs, g[0], g[1]) < 1e-6, "global avgpool forward differs");
    CHECK(layout_diff(xs, dgx[0], dgx[1]) < 1e-6, "global avgpool backward differs");
    for (int i = 0; i < 2; i++) {
        float *bufs[4] = {y[i], dx[i], g[i], dgx[i]};
        for (int k = 0; k < 4; k++) bes[i]->ops.release(bes[i], bufs[k]);
    }
    free(x.nchw);
    free(dy.nchw);
    free(dg.nchw);
}

static void shortcut_case(void) {
    cbd_shape4 in = {2, 16, 8, 8}, out = {2, 32, 4, 4};
    host4 x = host_normal(in, 31), dy = host_normal(out, 32), dx0 = host_normal(in, 33);
    float *y[2], *dx[2];
    cbd_backend *bes[2] = {plain, blocked};
    for (int i = 0; i < 2; i++) {
        cbd_backend *be = bes[i];
        float *xb = to_backend(be, &x), *dyb = to_backend(be, &dy);
        y[i] = be->ops.alloc(be, cbd_shape4_count(out) * sizeof(float));
        dx[i] = to_backend(be, &dx0); /* the backward adds to it */
        be->ops.shortcut_pad_forward(be, &in, &out, xb, y[i]);
        be->ops.shortcut_pad_backward_add(be, &in, &out, dyb, dx[i]);
        be->ops.release(be, xb);
        be->ops.release(be, dyb);
    }
    CHECK(layout_diff(out, y[0], y[1]) == 0.0, "shortcut pad forward differs");
    CHECK(layout_diff(in, dx[0], dx[1]) == 0.0, "shortcut pad backward differs");
    for (int i = 0; i < 2; i++) {
        bes[i]->ops.release(bes[i], y[i]);
        bes[i]->ops.release(bes[i], dx[i]);
    }
    free(x.nchw);
    free(dy.nchw);
    free(dx0.nchw);
}

/* A few training steps of a whole network in each layout: same losses, same
 * weights after (to rounding: sums run in another order). */
static void network_case(const char *arch, int in_c, int hw, int batch) {
    enum { STEPS = 4 };
    train_fixture f[2];
    cbd_backend *bes[2] = {plain, blocked};
    double loss[2][STEPS];
    float *first_grads[2];
    for (int i = 0; i < 2; i++) {
        fixture_create(&f[i], bes[i], arch, in_c, hw, batch, 10, 5);
        for (int s = 0; s < STEPS; s++) {
            fixture_batch_learnable(&f[i], s, 10);
            loss[i][s] = fixture_step(&f[i]);
            if (s == 0) {
                first_grads[i] = malloc(f[i].m.params.total * sizeof(float));
                memcpy(first_grads[i], f[i].m.params.grads, f[i].m.params.total * sizeof(float));
            }
        }
    }
    /* the first step's gradients come from the same weights: a tight test of
     * every backward op; later steps compound rounding differences */
    const double worst_grad = vec_diff(first_grads[0], first_grads[1], f[0].m.params.total);
    CHECK(worst_grad < 1e-4, "%s: first-step gradients differ by %.3g (relative to the largest)", arch,
          worst_grad);
    free(first_grads[0]);
    free(first_grads[1]);
    double worst_loss = 0.0;
    for (int s = 0; s < STEPS; s++) worst_loss = fmax(worst_loss, fabs(loss[0][s] - loss[1][s]) / loss[0][s]);
    const double worst_weight = vec_diff(f[0].m.params.values, f[1].m.params.values, f[0].m.params.total);
    /* Later steps compound the rounding of sums taken in another order: on a
     * CPU without AVX-512, oneDNN's AVX2 kernels reorder the blocked tensors
     * and resnet18's loss after 4 steps differs by 8e-4, its weights by 2e-3
     * (with AVX-512: below 1e-4 and 1e-3). A wrong op gives O(1) differences. */
    CHECK(worst_loss < 5e-3, "%s: losses differ by %.3g (relative)", arch, worst_loss);
    CHECK(worst_weight < 1e-2, "%s: weights after %d steps differ by %.3g (relative to the largest)", arch,
          STEPS, worst_weight);
    printf("  %s: %d steps, loss %.5f -> %.5f; plain vs blocked: gradients %.2g, loss %.2g, weights %.2g\n",
           arch, STEPS, loss[0][0], loss[0][STEPS - 1], worst_grad, worst_loss, worst_weight);
    for (int i = 0; i < 2; i++) fixture_free(&f[i]);
}

static void batchnorm_cases(void) {
    batchnorm_case((cbd_shape4){3, 32, 5, 5}, 0);
    batchnorm_case((cbd_shape4){3, 32, 5, 5}, 1);
    batchnorm_case((cbd_shape4){4, 16, 1, 1}, 0);
    batchnorm_case((cbd_shape4){2, 192, 3, 3}, 1); /* channels_last: runs of 64 */
    batchnorm_case((cbd_shape4){2, 80, 4, 4}, 0);  /* channels_last: runs of 16 */
}

int main(void) {
    char err[256];
    cbd_backend *reference = cbd_backend_cpu_create_layout(0, err, sizeof err);
    cbd_backend *in_blocks = cbd_backend_cpu_create(err, sizeof err);
    cbd_backend *nhwc = cbd_backend_cpu_create_channels_last(err, sizeof err);
    if (!reference || !in_blocks || !nhwc) {
        fprintf(stderr, "cpu backend: %s\n", err);
        return 1;
    }
    CHECK(in_blocks->channel_block == 16 && !in_blocks->channels_last && reference->channel_block == 0 &&
              nhwc->channel_block == 16 && nhwc->channels_last,
          "channel blocks %d / %d / %d", in_blocks->channel_block, reference->channel_block, nhwc->channel_block);
    cbd_backend_cpu_set_winograd(in_blocks, 0);
    cbd_backend_cpu_set_winograd(nhwc, 0);
    plain = reference;
    cbd_backend *const layouts[2] = {in_blocks, nhwc};
    for (int l = 0; l < 2; l++) {
        blocked = layouts[l];
        printf("%s against NCHW:\n", l ? "channels_last" : "channel blocks");
        conv_case(3, 16, 32, 9, 3, 2, 1); /* blocked in, blocked out */
        conv_case(2, 3, 16, 10, 3, 1, 1); /* the stem: NCHW in, blocked out */
        conv_case(2, 32, 16, 6, 1, 1, 0);
        conv_case(4, 16, 64, 7, 1, 2, 0); /* a projection shortcut */
        batchnorm_cases();
        pooling_case();
        shortcut_case();
        network_case("resnet20", 1, 12, 8);
        network_case("resnet18", 3, 64, 8);
    }
    /* batch norm, channels_last against channel blocks: the same bits */
    plain = in_blocks;
    blocked = nhwc;
    bn_tolerance = 0.0;
    const int before = test_failures;
    batchnorm_cases();
    printf("batch norm, channels_last against channel blocks: %s\n",
           test_failures == before ? "the same bits" : "DIFFERENT");
    cbd_backend_destroy(reference);
    cbd_backend_destroy(in_blocks);
    cbd_backend_destroy(nhwc);
    return test_finish("layout_blocked");
}
