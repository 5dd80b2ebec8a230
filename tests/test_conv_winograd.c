/* The cpu backend's Winograd convolutions (fp32 3x3 stride 1, conv_cpu.c)
 * against double-precision loops and against its direct kernels
 * (cbd_backend_cpu_set_winograd(be, 0)), each direction; shapes Winograd
 * does not take must give the direct kernels' bits; then 20 training steps
 * of resnet20 against the direct curve, the same bits for 1, 2 and 4 threads
 * and run to run. Where oneDNN has no Winograd kernels (no AVX-512) the test
 * says so and is skipped (exit 77).
 *
 * One line per output: max |got - exact| divided by the largest |exact|
 * value (rel), for Winograd and for direct, against
 *   TOL_WINOGRAD 1e-5  F(4x4, 3x3) goes through transforms whose
 *                      coefficients reach 8, so its fp32 rounding errors are
 *                      a few times the direct sum's (here 0.9-1.9e-6 against
 *                      2-6e-7); 1e-5 leaves 5x, and a wrong tile is ~1.
 * Training: after one update the losses agree to TOL_FIRST_STEP (1e-3,
 * relative); over all 20 steps |Winograd - direct| <= TOL_CURVE (10%, as the
 * bf16 curve) * max(direct, 1): memorising noise amplifies the rounding
 * differences step by step, as it does a change of seed. */
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/threads.h"
#include "tests/conv_run.h"
#include "tests/train_fixture.h"

#define EXIT_SKIP 77
#define TOL_WINOGRAD 1e-5
#define TOL_FIRST_STEP 1e-3
#define TOL_CURVE 1e-1
#define STEPS 20

static uint64_t next_seed = 700;

static cbd_backend *backend(int winograd) {
    char err[256];
    cbd_backend *be = cbd_backend_cpu_create(err, sizeof err);
    if (!be) {
        fprintf(stderr, "FAIL: cpu backend: %s\n", err);
        exit(1);
    }
    cbd_backend_cpu_set_winograd(be, winograd);
    return be;
}

/* The three directions in double precision, from the definition. */
static void conv_exact(const cbd_conv_shape *s, const float *x, const float *w, const float *dy, double *y,
                       double *dx, double *dw) {
    const size_t nx = (size_t)s->n * s->in_c * s->in_h * s->in_w, nw = (size_t)s->out_c * s->in_c * 9;
    const size_t ny = (size_t)s->n * s->out_c * s->out_h * s->out_w;
    memset(y, 0, ny * sizeof *y), memset(dx, 0, nx * sizeof *dx), memset(dw, 0, nw * sizeof *dw);
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->out_c; o++)
            for (int oh = 0; oh < s->out_h; oh++)
                for (int ow = 0; ow < s->out_w; ow++) {
                    const size_t yi = (((size_t)n * s->out_c + o) * s->out_h + oh) * s->out_w + ow;
                    for (int i = 0; i < s->in_c; i++)
                        for (int kh = 0; kh < s->kernel; kh++)
                            for (int kw = 0; kw < s->kernel; kw++) {
                                const int hh = oh * s->stride - s->pad + kh, ww = ow * s->stride - s->pad + kw;
                                if (hh < 0 || hh >= s->in_h || ww < 0 || ww >= s->in_w) continue;
                                const size_t xi = (((size_t)n * s->in_c + i) * s->in_h + hh) * s->in_w + ww;
                                const size_t wi = (((size_t)o * s->in_c + i) * s->kernel + kh) * s->kernel + kw;
                                y[yi] += (double)x[xi] * w[wi];
                                dx[xi] += (double)dy[yi] * w[wi];
                                dw[wi] += (double)dy[yi] * x[xi];
                            }
                }
}

static double rel_error(const float *got, const double *exact, size_t n) {
    double max_abs = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        max_abs = fmax(max_abs, isfinite(got[i]) ? fabs(got[i] - exact[i]) : INFINITY);
        max_ref = fmax(max_ref, fabs(exact[i]));
    }
    return max_abs / fmax(max_ref, 1e-30);
}

/* fwd_expected, wgrad_expected: whether Winograd should take the forward
 * and data gradient, and the weight gradient (by its chunks' tiles). */
static void check_shape(int n, int in_c, int hw, int out_c, int stride, int fwd_expected, int wgrad_expected) {
    const int out_hw = (hw + 2 - 3) / stride + 1;
    const cbd_conv_shape s = {n, in_c, hw, hw, out_c, out_hw, out_hw, 3, stride, 1};
    const size_t nx = (size_t)n * in_c * hw * hw, nw = (size_t)out_c * in_c * 9;
    const size_t ny = (size_t)n * out_c * out_hw * out_hw;
    float *x = cbd_calloc(nx, sizeof(float)), *w = cbd_calloc(nw, sizeof(float));
    float *dy = cbd_calloc(ny, sizeof(float));
    test_fill_normal(x, nx, 1.0f, next_seed++);
    test_fill_normal(w, nw, 0.1f, next_seed++);
    test_fill_normal(dy, ny, 1.0f, next_seed++);
    float *y = cbd_calloc(3 * ny, sizeof(float)), *dx = cbd_calloc(3 * nx, sizeof(float));
    float *dw = cbd_calloc(3 * nw, sizeof(float));
    double *ey = cbd_calloc(ny, sizeof(double)), *edx = cbd_calloc(nx, sizeof(double));
    double *edw = cbd_calloc(nw, sizeof(double));
    cbd_backend *direct = backend(0), *winograd = backend(1);
    conv_run_directions(direct, &s, x, w, dy, y, dx, dw);
    conv_run_directions(winograd, &s, x, w, dy, y + ny, dx + nx, dw + nw);
    conv_run_directions(winograd, &s, x, w, dy, y + 2 * ny, dx + 2 * nx, dw + 2 * nw);
    conv_exact(&s, x, w, dy, ey, edx, edw);
    const char *direction[3] = {"forward", "backward_data", "backward_weights"};
    float *const out[3] = {y, dx, dw};
    const double *exact[3] = {ey, edx, edw};
    const size_t count[3] = {ny, nx, nw};
    const int expected[3] = {fwd_expected, fwd_expected, wgrad_expected};
    for (int d = 0; d < 3; d++) {
        const size_t c = count[d];
        const double rel_direct = rel_error(out[d], exact[d], c), rel_wino = rel_error(out[d] + c, exact[d], c);
        const int same_as_direct = memcmp(out[d], out[d] + c, c * sizeof(float)) == 0;
        const int repeatable = memcmp(out[d] + c, out[d] + 2 * c, c * sizeof(float)) == 0;
        const int ok = rel_wino <= TOL_WINOGRAD && repeatable && same_as_direct == !expected[d];
        printf("conv2d_%-16s 3x3 s%d %3dch->%3d@%-2d n%-2d %-8s rel %.2e (direct %.2e, tol %.0e) %s\n",
               direction[d], stride, in_c, out_c, hw, n, expected[d] ? "winograd" : "direct", rel_wino,
               rel_direct, TOL_WINOGRAD, ok ? "ok" : "FAIL");
        CHECK(rel_wino <= TOL_WINOGRAD, "%s %dch@%d: rel %.3e > %.0e", direction[d], in_c, hw, rel_wino,
              TOL_WINOGRAD);
        CHECK(repeatable, "%s %dch@%d: two runs differ", direction[d], in_c, hw);
        CHECK(same_as_direct == !expected[d], "%s %dch@%d s%d: %s", direction[d], in_c, hw, stride,
              expected[d] ? "the direct kernels' bits: Winograd did not run" : "not the direct kernels' bits");
    }
    cbd_backend_destroy(winograd);
    cbd_backend_destroy(direct);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(ey), free(edx), free(edw);
}

static void train_curve(int winograd, int threads, double *losses) {
    cbd_threads_set(threads);
    cbd_backend *be = backend(winograd);
    fixture_resnet20_losses(be, STEPS, losses);
    cbd_backend_destroy(be);
}

static void check_training(void) {
    double want[STEPS], got[STEPS], one[STEPS], four[STEPS], again[STEPS];
    train_curve(0, 2, want);
    train_curve(1, 2, got);
    train_curve(1, 1, one);
    train_curve(1, 4, four);
    train_curve(1, 2, again);
    const double worst = fixture_curve_compare("direct", want, "Winograd", got, STEPS);
    const double first = fabs(got[1] - want[1]) / fabs(want[1]);
    CHECK(first <= TOL_FIRST_STEP, "after one update: loss %.6f, direct %.6f (rel %.3e > %.0e)", got[1], want[1],
          first, TOL_FIRST_STEP);
    CHECK(worst <= TOL_CURVE, "Winograd loss curve off the direct one by %.3e (tol %.0e)", worst, TOL_CURVE);
    CHECK(got[STEPS - 1] < 0.5 * got[0], "loss did not fall: %.5f -> %.5f", got[0], got[STEPS - 1]);
    CHECK(memcmp(got, one, sizeof got) == 0, "Winograd training: 1 and 2 threads give different bits");
    CHECK(memcmp(got, four, sizeof got) == 0, "Winograd training: 2 and 4 threads give different bits");
    CHECK(memcmp(got, again, sizeof got) == 0, "Winograd training: two runs with 2 threads differ");
    CHECK(memcmp(got, want, sizeof got) != 0, "Winograd training gave the direct bits: Winograd did not run");
    printf("resnet20, %d steps: direct %.4f -> %.4f, Winograd %.4f -> %.4f; worst rel %.3e (tol %.0e); "
           "1 / 2 / 4 threads and a rerun: same bits\n",
           STEPS, want[0], want[STEPS - 1], got[0], got[STEPS - 1], worst, TOL_CURVE);
}

int main(void) {
    char why[256] = "";
    if (!cbd_cpu_winograd_supported(why, sizeof why)) {
        printf("no Winograd kernels (%s): skipped\n", why);
        return EXIT_SKIP;
    }
    cbd_threads_set(2);
    check_shape(16, 16, 28, 16, 1, 1, 1); /* resnet20's first stage: chunks of 2 images, 98 tiles each */
    check_shape(16, 32, 14, 64, 1, 1, 1); /* widening: chunks of 2 images, 32 tiles each */
    check_shape(8, 32, 14, 32, 1, 1, 0);  /* 1 image a chunk, 16 tiles: weight gradient direct */
    check_shape(8, 64, 8, 64, 1, 1, 0);   /* small map: 4 tiles a chunk, weight gradient direct */
    check_shape(8, 64, 3, 64, 1, 1, 0);   /* 3x3 maps, one padded tile an image */
    check_shape(8, 16, 12, 16, 1, 1, 0);  /* resnet20 at 12x12 (test_layout_blocked): 9 tiles an image */
    check_shape(8, 32, 6, 32, 1, 1, 0);   /* 6x6: tiles cut by the map's edge */
    check_shape(8, 16, 16, 32, 2, 0, 0);  /* stride 2: direct */
    check_training();
    return test_finish("conv_winograd");
}
