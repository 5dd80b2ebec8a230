/* precision = bf16 on the cpu backend against fp32, the reference: each
 * convolution direction on random inputs, from the plain NCHW backend and
 * from the default one (fp32 in channel blocks of 16; bf16 turns it to
 * channels_last, NHWC), then 20 training steps of resnet20
 * whose losses must follow the fp32 curve, with the same bits for 1, 2 and 3
 * threads and run to run. Where oneDNN has no native bf16 (no AVX-512 BF16
 * or AMX) the test says so and is skipped (exit 77).
 *
 * One line per compared output: max |bf16 - fp32| and that divided by the
 * largest |fp32| value of the output (rel), against
 *   TOL_BF16   1e-2  each product has its two inputs rounded to 8
 *                    significant bits (relative error up to 2^-9 each), the
 *                    sums are fp32: errors of random sign that mostly cancel;
 *   FLOOR_BF16 1e-5  the least rel a bf16 result must show: fp32 agrees to
 *                    ~1e-7, so a result below the floor did not round.
 * Training: |bf16 loss - fp32 loss| <= TOL_CURVE_BF16 * max(fp32 loss, 1)
 * at every step (10%, as the cuda backend's bf16 curve), and the loss falls.
 *
 * The data gradient right after the weight gradient with the same dy reads
 * the rounding of dy the weight gradient's chunks made (conv_cpu.c): checked
 * to happen where it should, and to give the bits of a data gradient that
 * rounds dy itself, and not to happen for another dy. */
#include <omp.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"
#include "nn/log.h"
#include "nn/threads.h"
#include "tests/conv_run.h"
#include "tests/train_fixture.h"

#define EXIT_SKIP 77
#define TOL_BF16 1e-2
#define FLOOR_BF16 1e-5
#define TOL_CURVE_BF16 1e-1
#define STEPS 20

static uint64_t next_seed = 300;

static cbd_backend *backend(int channel_block, const char *precision) {
    char err[256];
    cbd_backend *be = cbd_backend_cpu_create_layout(channel_block, err, sizeof err);
    if (!be || cbd_backend_set_precision(be, precision, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: cpu backend (block %d, %s): %s\n", channel_block, precision, err);
        exit(1);
    }
    return be;
}

static float *random_floats(size_t n, float stddev) {
    float *x = cbd_calloc(n, sizeof(float));
    test_fill_normal(x, n, stddev, next_seed++);
    return x;
}

static void compare(const char *what, const float *got, const float *again, const float *want, size_t n) {
    double max_abs = 0.0, max_ref = 0.0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) finite = 0;
        max_abs = fmax(max_abs, fabs((double)got[i] - want[i]));
        max_ref = fmax(max_ref, fabs((double)want[i]));
    }
    const double rel = max_abs / fmax(max_ref, 1e-30);
    const int same_bits = memcmp(got, again, n * sizeof *got) == 0;
    const int ok = finite && rel <= TOL_BF16 && rel >= FLOOR_BF16 && same_bits;
    printf("%-50s n=%-8zu max_abs %.3e  rel %.3e  tol %.0e  %s%s\n", what, n, max_abs, rel, TOL_BF16,
           ok ? "ok" : "FAIL", same_bits ? "" : " (two runs differ)");
    CHECK(ok, "%s: rel %.3e (between %.0e and %.0e), %s, %s", what, rel, FLOOR_BF16, TOL_BF16,
          finite ? "finite" : "non-finite values", same_bits ? "repeatable" : "not repeatable");
}

static void check_conv(int channel_block, int n, int in_c, int in_hw, int out_c, int kernel, int stride, int pad) {
    const int out_hw = (in_hw + 2 * pad - kernel) / stride + 1;
    const cbd_conv_shape s = {n, in_c, in_hw, in_hw, out_c, out_hw, out_hw, kernel, stride, pad};
    const size_t nx = (size_t)n * in_c * in_hw * in_hw, nw = (size_t)out_c * in_c * kernel * kernel;
    const size_t ny = (size_t)n * out_c * out_hw * out_hw;
    float *x = random_floats(nx, 1.0f), *w = random_floats(nw, 0.1f), *dy = random_floats(ny, 1.0f);
    float *y = cbd_calloc(3 * ny, sizeof(float)), *dx = cbd_calloc(3 * nx, sizeof(float));
    float *dw = cbd_calloc(3 * nw, sizeof(float));
    cbd_backend *fp32 = backend(channel_block, "fp32"), *bf16 = backend(channel_block, "bf16");
    conv_run_directions(fp32, &s, x, w, dy, y, dx, dw);
    conv_run_directions(bf16, &s, x, w, dy, y + ny, dx + nx, dw + nw);
    conv_run_directions(bf16, &s, x, w, dy, y + 2 * ny, dx + 2 * nx, dw + 2 * nw);
    const char *direction[3] = {"forward", "backward_data", "backward_weights"};
    float *const out[3] = {y, dx, dw};
    const size_t count[3] = {ny, nx, nw};
    for (int d = 0; d < 3; d++) {
        char name[128];
        snprintf(name, sizeof name, "bf16 conv2d_%s %dx%d s%d p%d %dch@%d n%d %s", direction[d], kernel, kernel,
                 stride, pad, in_c, in_hw, n, channel_block ? "blocked / nhwc" : "nchw");
        compare(name, out[d] + count[d], out[d] + 2 * count[d], out[d], count[d]);
    }
    cbd_backend_destroy(bf16);
    cbd_backend_destroy(fp32);
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
}

/* The backend's layout of an NCHW tensor, in a new buffer. */
static float *in_layout(cbd_backend *be, cbd_shape4 s, const float *nchw) {
    float *t = cbd_calloc(cbd_shape4_count(s), sizeof(float));
    cbd_layout_from_nchw(be, s, nchw, t);
    return t;
}

static void check_dy_shared(int channel_block, int n, int c, int hw) {
    const cbd_conv_shape s = {n, c, hw, hw, c, hw, hw, 3, 1, 1};
    const cbd_shape4 xs = {n, c, hw, hw};
    const size_t nx = cbd_shape4_count(xs), nw = (size_t)c * c * 9;
    float *x0 = random_floats(nx, 1.0f), *w = random_floats(nw, 0.1f);
    float *dy0 = random_floats(nx, 1.0f), *other0 = random_floats(nx, 1.0f);
    float *y = cbd_calloc(nx, sizeof(float)), *dw = cbd_calloc(nw, sizeof(float));
    float *dx[3];
    for (int i = 0; i < 3; i++) dx[i] = cbd_calloc(nx, sizeof(float));
    cbd_backend *be = backend(channel_block, "bf16");
    float *x = in_layout(be, xs, x0), *dy = in_layout(be, xs, dy0), *other = in_layout(be, xs, other0);
    be->ops.conv2d_forward(be, &s, x, w, y);
    be->ops.conv2d_backward_data(be, &s, dy, w, dx[0]);   /* rounds dy itself */
    be->ops.conv2d_backward_weights(be, &s, x, dy, dw);
    const int shared = cpu_of(be)->rounded_dy_conv != NULL;
    be->ops.conv2d_backward_data(be, &s, dy, w, dx[1]);   /* reads the chunks' rounding */
    be->ops.conv2d_backward_weights(be, &s, x, other, dw);
    be->ops.conv2d_backward_data(be, &s, dy, w, dx[2]);   /* another dy was rounded: rounds its own */
    const int same = memcmp(dx[0], dx[1], nx * sizeof(float)) == 0;
    const int not_other = memcmp(dx[0], dx[2], nx * sizeof(float)) == 0;
    printf("bf16 dy rounded once for both gradients, %dch@%d n%d %s: %s; data gradient bits %s; "
           "after another dy's weight gradient %s\n",
           c, hw, n, channel_block ? "blocked / nhwc" : "nchw", shared ? "shared" : "NOT shared",
           same ? "the same" : "DIFFER", not_other ? "the same" : "DIFFER");
    CHECK(shared, "%dch@%d: the weight gradient's rounding of dy was not kept for the data gradient", c, hw);
    CHECK(same, "%dch@%d: the data gradient from the shared rounding differs from its own", c, hw);
    CHECK(not_other, "%dch@%d: the data gradient used the rounding of another dy", c, hw);
    cbd_backend_destroy(be);
    free(x0), free(w), free(dy0), free(other0), free(y), free(dw), free(x), free(dy), free(other);
    for (int i = 0; i < 3; i++) free(dx[i]);
}

/* STEPS steps of resnet20 on the fixture's learnable batches, 1x28x28. */
static void train_curve(const char *precision, int threads, double *losses) {
    cbd_threads_set(threads);
    cbd_backend *be = backend(16, precision);
    fixture_resnet20_losses(be, STEPS, losses);
    cbd_backend_destroy(be);
}

static void check_training(void) {
    double want[STEPS], got[STEPS], one[STEPS], three[STEPS], again[STEPS];
    train_curve("fp32", 2, want);
    train_curve("bf16", 2, got);
    train_curve("bf16", 1, one);
    train_curve("bf16", 3, three);
    train_curve("bf16", 2, again);
    const double worst = fixture_curve_compare("fp32", want, "bf16", got, STEPS);
    CHECK(worst <= TOL_CURVE_BF16, "bf16 loss curve off the fp32 one by %.3e (tol %.0e)", worst, TOL_CURVE_BF16);
    CHECK(got[STEPS - 1] < 0.5 * got[0], "bf16 loss did not fall: %.5f -> %.5f", got[0], got[STEPS - 1]);
    CHECK(memcmp(got, one, sizeof got) == 0, "bf16 training: 1 and 2 threads give different bits");
    CHECK(memcmp(got, three, sizeof got) == 0, "bf16 training: 2 and 3 threads give different bits");
    CHECK(memcmp(got, again, sizeof got) == 0, "bf16 training: two runs with 2 threads differ");
    CHECK(memcmp(got, want, sizeof got) != 0, "bf16 training gave fp32's bits: bf16 was not used");
    printf("  first -> last loss: fp32 %.4f -> %.4f, bf16 %.4f -> %.4f; worst rel %.3e (tol %.0e); "
           "1 / 2 / 3 threads and a rerun: same bits\n",
           want[0], want[STEPS - 1], got[0], got[STEPS - 1], worst, TOL_CURVE_BF16);
}

int main(void) {
    char why[256] = "";
    if (!cbd_cpu_bf16_supported(why, sizeof why)) {
        printf("no bf16 on this CPU (%s): skipped\n", why);
        return EXIT_SKIP;
    }
    for (int layout = 0; layout < 2; layout++) {
        const int block = layout ? 16 : 0;
        check_conv(block, 4, 3, 32, 16, 3, 1, 1);   /* CIFAR stem */
        check_conv(block, 4, 16, 32, 32, 3, 2, 1);  /* downsampling 3x3 */
        check_conv(block, 4, 16, 32, 32, 1, 2, 0);  /* projection shortcut */
        check_conv(block, 2, 3, 32, 8, 7, 2, 3);    /* ImageNet stem */
        check_conv(block, 3, 8, 15, 8, 3, 2, 1);    /* odd size */
        check_conv(block, 8, 64, 8, 64, 3, 1, 1);   /* deep, small map */
        check_conv(block, 16, 16, 28, 16, 3, 1, 1); /* resnet20's first stage, 8 chunks of 2 */
    }
    for (int layout = 0; layout < 2; layout++) {
        check_dy_shared(layout ? 16 : 0, 16, 16, 28);
        check_dy_shared(layout ? 16 : 0, 8, 64, 7);
    }
    check_training();
    return test_finish("cpu_bf16");
}
