/* Forward passes of the backend against plain double-precision loops written
 * from the definitions. Gradient checks prove backward matches forward; this
 * proves forward computes the right function (padding, strides, statistics). */
#include <float.h>
#include <string.h>

#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/cosine_classifier.h"
#include "nn/layers/linear.h"
#include "nn/layers/pool.h"
#include "nn/layers/residual.h"
#include "nn/losses/losses.h"
#include "tests/test_util.h"

static cbd_backend *be;

static double max_abs_diff(const float *a, const double *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void conv_reference(int n_, int ic, int ih, int oc, int k, int stride, int pad) {
    cbd_params p;
    cbd_params_init(&p);
    cbd_conv2d conv;
    cbd_conv2d_create(&conv, &p, "c", ic, oc, k, stride, pad);
    cbd_params_allocate(&p, be);
    cbd_params_initialize(&p, 4);
    cbd_shape4 xs = {n_, ic, ih, ih}, ys = cbd_conv2d_output_shape(&conv, xs);
    size_t nx = cbd_shape4_count(xs), ny = cbd_shape4_count(ys);
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, nx * 4), xs);
    cbd_tensor y = cbd_tensor_make(be->ops.alloc(be, ny * 4), ys);
    /* the reference reads NCHW; the backend may keep channel blocks */
    float *xn = malloc(nx * sizeof(float)), *yn = malloc(ny * sizeof(float));
    test_fill_normal(xn, nx, 1.0f, 31);
    cbd_layout_from_nchw(be, xs, xn, x.data);
    cbd_conv2d_forward(be, &conv, &p, &x, &y);
    cbd_layout_to_nchw(be, ys, y.data, yn);
    const float *w = cbd_param_value(&p, conv.weight);
    double *ref = calloc(ny, sizeof(double));
    for (int n = 0; n < ys.n; n++)
        for (int o = 0; o < oc; o++)
            for (int oh = 0; oh < ys.h; oh++)
                for (int ow = 0; ow < ys.w; ow++) {
                    double s = 0.0;
                    for (int i = 0; i < ic; i++)
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++) {
                                int hh = oh * stride - pad + kh, ww = ow * stride - pad + kw;
                                if (hh < 0 || hh >= ih || ww < 0 || ww >= ih) continue;
                                s += (double)xn[(((size_t)n * ic + i) * ih + hh) * ih + ww] *
                                     w[(((size_t)o * ic + i) * k + kh) * k + kw];
                            }
                    ref[(((size_t)n * oc + o) * ys.h + oh) * ys.w + ow] = s;
                }
    double err = max_abs_diff(yn, ref, ny);
    CHECK(ys.h == (ih + 2 * pad - k) / stride + 1, "output size %d", ys.h);
    free(xn);
    free(yn);
    CHECK(err < 1e-4, "conv %dx%d s%d p%d on %dx%d: max |diff| %g", k, k, stride, pad, ih, ih, err);
    free(ref);
    be->ops.release(be, x.data);
    be->ops.release(be, y.data);
    cbd_params_free(&p);
}

static void batchnorm_reference(void) {
    cbd_params p;
    cbd_params_init(&p);
    cbd_batchnorm bn;
    cbd_batchnorm_create(&bn, &p, "bn", 3);
    cbd_params_allocate(&p, be);
    cbd_params_initialize(&p, 1);
    float *gamma = cbd_param_value(&p, bn.gamma), *beta = cbd_param_value(&p, bn.beta);
    test_fill_uniform(gamma, 3, 0.5f, 2.0f, 41);
    test_fill_uniform(beta, 3, -1.0f, 1.0f, 42);
    cbd_shape4 s = {5, 3, 4, 3};
    size_t n = cbd_shape4_count(s), per = (size_t)s.n * s.h * s.w;
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    cbd_tensor y = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    test_fill_normal(x.data, n, 3.0f, 43);
    float stats[6];
    cbd_batchnorm_saved saved = {stats, stats + 3};
    cbd_batchnorm_forward(be, &bn, &p, 1, &x, &y, &saved, 0);
    double *ref = calloc(n, sizeof(double));
    for (int c = 0; c < 3; c++) {
        double mean = 0.0, var = 0.0;
        for (int b = 0; b < s.n; b++)
            for (int i = 0; i < s.h * s.w; i++) mean += x.data[((size_t)b * 3 + c) * s.h * s.w + i];
        mean /= per;
        for (int b = 0; b < s.n; b++)
            for (int i = 0; i < s.h * s.w; i++) {
                double d = x.data[((size_t)b * 3 + c) * s.h * s.w + i] - mean;
                var += d * d;
            }
        var /= per;
        CHECK(fabs(stats[c] - mean) < 1e-5, "channel %d mean %g vs %g", c, stats[c], mean);
        CHECK(fabs(stats[3 + c] - var) < 1e-4 * var, "channel %d var %g vs %g", c, stats[3 + c], var);
        for (int b = 0; b < s.n; b++)
            for (int i = 0; i < s.h * s.w; i++) {
                size_t j = ((size_t)b * 3 + c) * s.h * s.w + i;
                ref[j] = gamma[c] * (x.data[j] - mean) / sqrt(var + CBD_BN_EPS) + beta[c];
            }
        /* running averages: momentum 0.1 from (0, 1), unbiased variance */
        const float *rm = cbd_param_value(&p, bn.running_mean), *rv = cbd_param_value(&p, bn.running_var);
        CHECK(fabs(rm[c] - 0.1 * mean) < 1e-5, "running mean %g vs %g", rm[c], 0.1 * mean);
        double want_rv = 0.9 + 0.1 * var * per / (per - 1);
        CHECK(fabs(rv[c] - want_rv) < 1e-4, "running var %g vs %g", rv[c], want_rv);
    }
    CHECK(max_abs_diff(y.data, ref, n) < 1e-4, "batchnorm train output diff %g", max_abs_diff(y.data, ref, n));

    /* inference uses the running statistics */
    cbd_batchnorm_forward(be, &bn, &p, 0, &x, &y, NULL, 0);
    const float *rm = cbd_param_value(&p, bn.running_mean), *rv = cbd_param_value(&p, bn.running_var);
    for (size_t j = 0; j < n; j++) {
        int c = (int)((j / (s.h * s.w)) % 3);
        ref[j] = gamma[c] * (x.data[j] - rm[c]) / sqrt(rv[c] + CBD_BN_EPS) + beta[c];
    }
    CHECK(max_abs_diff(y.data, ref, n) < 1e-4, "batchnorm eval output diff %g", max_abs_diff(y.data, ref, n));
    free(ref);
    be->ops.release(be, x.data);
    be->ops.release(be, y.data);
    cbd_params_free(&p);
}

static void pooling_reference(void) {
    cbd_maxpool mp = {3, 2, 1};
    cbd_shape4 xs = {2, 3, 7, 7}, ys = cbd_maxpool_output_shape(&mp, xs);
    CHECK(ys.h == 4 && ys.w == 4, "maxpool output %dx%d", ys.h, ys.w);
    size_t nx = cbd_shape4_count(xs), ny = cbd_shape4_count(ys);
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, nx * 4), xs);
    cbd_tensor y = cbd_tensor_make(be->ops.alloc(be, ny * 4), ys);
    void *ws = be->ops.alloc(be, cbd_maxpool_workspace_bytes(be, &mp, xs) + 64);
    test_fill_normal(x.data, nx, 1.0f, 51);
    cbd_maxpool_forward(be, &mp, &x, &y, ws);
    double *ref = calloc(ny, sizeof(double));
    for (int nc = 0; nc < xs.n * xs.c; nc++)
        for (int oh = 0; oh < ys.h; oh++)
            for (int ow = 0; ow < ys.w; ow++) {
                double m = -DBL_MAX;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int h = oh * 2 - 1 + kh, w = ow * 2 - 1 + kw;
                        if (h >= 0 && h < 7 && w >= 0 && w < 7) m = fmax(m, x.data[(size_t)nc * 49 + h * 7 + w]);
                    }
                ref[(size_t)nc * 16 + oh * 4 + ow] = m;
            }
    CHECK(max_abs_diff(y.data, ref, ny) == 0.0, "maxpool differs by %g", max_abs_diff(y.data, ref, ny));

    cbd_shape4 gs = {2, 3, 1, 1};
    cbd_tensor g = cbd_tensor_make(be->ops.alloc(be, 6 * 4), gs);
    cbd_avgpool_global_forward(be, &x, &g);
    for (int nc = 0; nc < 6; nc++) {
        double s = 0.0;
        for (int i = 0; i < 49; i++) s += x.data[(size_t)nc * 49 + i];
        ref[nc] = s / 49.0;
    }
    CHECK(max_abs_diff(g.data, ref, 6) < 1e-6, "global avgpool differs by %g", max_abs_diff(g.data, ref, 6));

    /* padding shortcut: 7x7 -> 4x4, 3 -> 7 channels, input centred at channel offset 2 */
    cbd_shape4 ps = {2, 7, 4, 4};
    cbd_tensor py = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(ps) * 4), ps);
    cbd_shortcut_pad_forward(be, &x, &py);
    int bad = 0;
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 7; c++)
            for (int h = 0; h < 4; h++)
                for (int w = 0; w < 4; w++) {
                    float got = py.data[(((size_t)n * 7 + c) * 4 + h) * 4 + w];
                    int sc = c - 2;
                    float want = (sc >= 0 && sc < 3) ? x.data[(((size_t)n * 3 + sc) * 7 + 2 * h) * 7 + 2 * w] : 0.0f;
                    bad += got != want;
                }
    CHECK(bad == 0, "shortcut pad: %d wrong entries", bad);
    free(ref);
    be->ops.release(be, x.data);
    be->ops.release(be, y.data);
    be->ops.release(be, g.data);
    be->ops.release(be, py.data);
    be->ops.release(be, ws);
}

static void heads_reference(void) {
    const int rows = 4, in = 5, classes = 3;
    cbd_params p;
    cbd_params_init(&p);
    cbd_linear fc;
    cbd_cosine_classifier cc;
    cbd_linear_create(&fc, &p, "fc", in, classes, 1, CBD_INIT_UNIFORM_FAN_IN);
    cbd_cosine_classifier_create(&cc, &p, "cc", in, classes, 20.0f);
    cbd_params_allocate(&p, be);
    cbd_params_initialize(&p, 2);
    float x[20], y[12];
    test_fill_normal(x, 20, 1.0f, 61);
    cbd_linear_forward(be, &fc, &p, x, rows, y);
    const float *w = cbd_param_value(&p, fc.weight), *b = cbd_param_value(&p, fc.bias);
    double ref[12];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < classes; c++) {
            double s = b[c];
            for (int k = 0; k < in; k++) s += (double)x[r * in + k] * w[c * in + k];
            ref[r * classes + c] = s;
        }
    CHECK(max_abs_diff(y, ref, 12) < 1e-5, "linear differs by %g", max_abs_diff(y, ref, 12));

    cbd_arena arena;
    cbd_arena_init(&arena, be, cbd_cosine_cache_floats(&cc, rows));
    cbd_cosine_cache cache;
    cbd_cosine_cache_carve(&cc, rows, &arena, &cache);
    cbd_cosine_classifier_forward(be, &cc, &p, x, rows, y, &cache);
    const float *cw = cbd_param_value(&p, cc.weight);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < classes; c++) {
            double xx = 0, ww = 0, xw = 0;
            for (int k = 0; k < in; k++) {
                xx += (double)x[r * in + k] * x[r * in + k];
                ww += (double)cw[c * in + k] * cw[c * in + k];
                xw += (double)x[r * in + k] * cw[c * in + k];
            }
            ref[r * classes + c] = 20.0 * xw / sqrt(xx * ww);
        }
    CHECK(max_abs_diff(y, ref, 12) < 1e-4, "cosine classifier differs by %g", max_abs_diff(y, ref, 12));
    for (int i = 0; i < 12; i++) CHECK(fabs(y[i]) <= 20.0f + 1e-4f, "cosine logit %g exceeds the scale", y[i]);
    cbd_arena_release(&arena);
    cbd_params_free(&p);
}

static void losses_reference(void) {
    const int rows = 3, classes = 4;
    float z[12], t[12];
    test_fill_normal(z, 12, 2.0f, 71);
    test_fill_normal(t, 12, 2.0f, 72);
    int labels[3] = {2, 0, 3};
    double ce = 0.0, kd = 0.0, cosd = 0.0, la = 0.0;
    const int64_t counts[4] = {60, 30, 9, 1};
    const double tau = 1.5, T = 2.0, beta = 100.0;
    for (int r = 0; r < rows; r++) {
        const float *zr = z + r * classes, *tr = t + r * classes;
        double s = 0, sa = 0, sz = 0, st = 0;
        for (int c = 0; c < classes; c++) {
            s += exp(zr[c]);
            sa += exp(zr[c] + tau * log(counts[c] / 100.0));
            sz += exp(zr[c] / T);
            st += exp(tr[c] / T);
        }
        ce += log(s) - zr[labels[r]];
        la += log(sa) - (zr[labels[r]] + tau * log(counts[labels[r]] / 100.0));
        for (int c = 0; c < classes; c++) kd -= T * T * (exp(tr[c] / T) / st) * (zr[c] / T - log(sz));
        double zz = 0, tt = 0, zt = 0;
        for (int c = 0; c < classes; c++) {
            zz += (double)zr[c] * zr[c];
            tt += (double)tr[c] * tr[c];
            zt += (double)zr[c] * tr[c];
        }
        cosd += beta * (1.0 - zt / sqrt(zz * tt));
    }
    ce /= rows, kd /= rows, cosd /= rows, la /= rows;
    double got = cbd_cross_entropy(be, z, labels, rows, classes, 1.0f, NULL);
    CHECK(fabs(got - ce) < 1e-5 * fabs(ce), "cross-entropy %g vs %g", got, ce);
    got = cbd_kd_loss(be, z, t, rows, classes, (float)T, 1.0f, NULL);
    CHECK(fabs(got - kd) < 1e-5 * fabs(kd), "KD %g vs %g", got, kd);
    got = cbd_feature_distill(be, z, t, rows, classes, (float)beta, 1.0f, NULL);
    CHECK(fabs(got - cosd) < 1e-4 * fabs(cosd), "cosine distill %g vs %g", got, cosd);
    cbd_logit_adjusted_ce adj;
    cbd_logit_adjusted_create(&adj, be, counts, classes, (float)tau, rows);
    got = cbd_logit_adjusted_cross_entropy(be, &adj, z, labels, rows, 1.0f, NULL);
    CHECK(fabs(got - la) < 1e-5 * fabs(la), "logit-adjusted CE %g vs %g", got, la);
    cbd_logit_adjusted_free(&adj, be);
    /* distilling a feature onto itself costs nothing; onto its negative, 2 beta */
    got = cbd_feature_distill(be, z, z, rows, classes, (float)beta, 1.0f, NULL);
    CHECK(fabs(got) < 1e-4, "self-distillation loss %g", got);
    float neg[12];
    for (int i = 0; i < 12; i++) neg[i] = -z[i];
    got = cbd_feature_distill(be, z, neg, rows, classes, (float)beta, 1.0f, NULL);
    CHECK(fabs(got - 2 * beta) < 1e-3, "opposite-feature loss %g", got);
}

int main(void) {
    be = test_cpu_backend();
    conv_reference(2, 3, 8, 5, 3, 1, 1);
    conv_reference(2, 4, 9, 6, 3, 2, 1);
    conv_reference(1, 16, 6, 16, 3, 1, 1);
    conv_reference(2, 8, 7, 16, 1, 2, 0);
    conv_reference(1, 3, 17, 8, 7, 2, 3);
    batchnorm_reference();
    pooling_reference();
    heads_reference();
    losses_reference();
    cbd_backend_destroy(be);
    return test_finish("layers_reference");
}
