/* The cuda backend against the cpu backend (the reference): every op of the
 * table on random inputs, forward outputs and gradients, then 20 training
 * steps of resnet20 whose losses must follow the cpu's curve. Every GPU
 * result is computed twice and must have the same bits both times.
 *
 * One line per compared output: max |cuda - cpu|, and that divided by the
 * largest |cpu| value of the output (rel), against the tolerance:
 *   TOL_TF32  1e-2  convolution and GEMM: cuDNN and cuBLAS may round their
 *                   inputs to TF32 (10 mantissa bits) on tensor cores;
 *   TOL_SUM   1e-4  outputs that sum many terms in another order (batch norm
 *                   statistics and gradients, pooling means, row norms, losses);
 *   TOL_EXACT 1e-5  elementwise ops (a fused multiply-add may differ in the
 *                   last bit);
 *   TOL_BF16  3e-2  convolution with precision = bf16: inputs rounded to 8
 *                   significant bits (relative error 2^-9 each), results
 *                   rounded to bf16 before they are widened.
 * Training: at every step |cuda loss - cpu loss| <= TOL_CURVE * max(cpu loss,
 * 1): 5% relative, or 0.05 absolute once the loss falls below 1 (near zero a
 * relative measure would magnify noise). TF32 differences grow as training
 * amplifies them, hence the wider margin than the ops'. With precision = bf16
 * the margin is TOL_CURVE_BF16, 10%.
 *
 * Exit codes: 0 all within tolerance, 1 a failure, 77 no GPU (skipped). */
#include <math.h>
#include <string.h>

#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

#define EXIT_SKIP 77

#define TOL_TF32 1e-2
#define TOL_SUM 1e-4
#define TOL_EXACT 1e-5
#define TOL_BF16 3e-2
#define TOL_CURVE 5e-2
#define TOL_CURVE_BF16 1e-1
#define TRAIN_STEPS 20

static cbd_backend *cpu, *gpu, *gpu_bf16; /* gpu_bf16: the cuda backend with precision = bf16 */
static uint64_t next_seed = 100;

/* ---- helpers ---- */

static float *host_floats(size_t n) { return cbd_calloc(n ? n : 1, sizeof(float)); }

static float *random_floats(size_t n, float stddev) {
    float *x = host_floats(n);
    test_fill_normal(x, n, stddev, next_seed++);
    return x;
}

static void *to_device(cbd_backend *be, const void *host, size_t bytes) {
    void *p = be->ops.alloc(be, bytes);
    be->ops.upload(be, p, host, bytes);
    return p;
}

static void *device_zeros(cbd_backend *be, size_t floats) {
    float *p = be->ops.alloc(be, floats * sizeof(float));
    be->ops.fill(be, p, floats, 0.0f);
    return p;
}

/* Downloads and releases. */
static void from_device(cbd_backend *be, float *host, float *dev, size_t floats) {
    be->ops.download(be, host, dev, floats * sizeof(float));
    be->ops.release(be, dev);
}

/* got: the first cuda run, again: the second, want: the cpu's. */
static void compare(const char *op, const float *got, const float *again, const float *want, size_t n,
                    double tol) {
    double max_abs = 0.0, max_ref = 0.0;
    size_t bad_values = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) bad_values++;
        const double d = fabs((double)got[i] - want[i]);
        if (d > max_abs) max_abs = d;
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    const double rel = max_abs / (max_ref > 0.0 ? max_ref : 1.0);
    const int same_bits = memcmp(got, again, n * sizeof(float)) == 0;
    const int ok = bad_values == 0 && rel <= tol && same_bits;
    printf("%-44s n=%-8zu max_abs %.3e  rel %.3e  tol %.0e  %s%s\n", op, n, max_abs, rel, tol,
           ok ? "ok" : "FAIL", same_bits ? "" : " (the two cuda runs differ)");
    CHECK(ok, "%s: rel %.3e (tol %.0e), %zu non-finite, %s", op, rel, tol, bad_values,
          same_bits ? "repeatable" : "not repeatable");
}

static void compare_scalar(const char *op, double got, double again, double want, double tol) {
    const double max_abs = fabs(got - want);
    const double rel = max_abs / (fabs(want) > 0.0 ? fabs(want) : 1.0);
    const int same_bits = memcmp(&got, &again, sizeof got) == 0;
    const int ok = isfinite(got) && rel <= tol && same_bits;
    printf("%-44s n=%-8d max_abs %.3e  rel %.3e  tol %.0e  %s%s\n", op, 1, max_abs, rel, tol,
           ok ? "ok" : "FAIL", same_bits ? "" : " (the two cuda runs differ)");
    CHECK(ok, "%s: cuda %.9g cpu %.9g", op, got, want);
}

/* ---- memory ---- */

static void check_memory(void) {
    const size_t n = 10007;
    float *src = random_floats(n, 1.0f), *got = host_floats(n), *filled = host_floats(n);
    float *a = to_device(gpu, src, n * sizeof(float));
    float *b = gpu->ops.alloc(gpu, n * sizeof(float));
    gpu->ops.copy(gpu, b, a, n * sizeof(float));
    gpu->ops.download(gpu, got, b, n * sizeof(float));
    compare("upload + copy + download", got, got, src, n, 0.0);
    gpu->ops.fill(gpu, b, n, 0.25f);
    gpu->ops.download(gpu, filled, b, n * sizeof(float));
    for (size_t i = 0; i < n; i++) got[i] = 0.25f;
    compare("fill", filled, filled, got, n, 0.0);
    /* copy_2d: 7 columns of every row of a [rows, 13] block into a [rows, 9] block at column 2, against the cpu */
    {
        enum { ROWS = 100, SRC_W = 13, DST_W = 9, COLS = 7, AT = 2 };
        float *want = host_floats(ROWS * DST_W), *two = host_floats(ROWS * DST_W);
        for (size_t i = 0; i < ROWS * DST_W; i++) want[i] = two[i] = -1.0f;
        cpu->ops.copy_2d(cpu, ROWS, COLS * sizeof(float), src, SRC_W * sizeof(float), want + AT,
                         DST_W * sizeof(float));
        float *d = to_device(gpu, two, ROWS * DST_W * sizeof(float));
        gpu->ops.copy_2d(gpu, ROWS, COLS * sizeof(float), a, SRC_W * sizeof(float), d + AT, DST_W * sizeof(float));
        gpu->ops.download(gpu, two, d, ROWS * DST_W * sizeof(float));
        compare("copy_2d", two, two, want, ROWS * DST_W, 0.0);
        gpu->ops.release(gpu, d);
        free(want);
        free(two);
    }
    gpu->ops.release(gpu, a);
    gpu->ops.release(gpu, b);
    /* the pool hands a released block out again */
    float *c = gpu->ops.alloc(gpu, n * sizeof(float));
    CHECK(c == a || c == b, "a released block of the same size was not reused");
    gpu->ops.release(gpu, c);
    free(src);
    free(got);
    free(filled);

    /* an upload larger than the staging buffers goes in chunks, through each
     * buffer more than once; the host copy is overwritten right after the
     * call, which must not reach the device */
    const size_t big = 3 * (32u << 20) / sizeof(float) + 12345;
    float *host = random_floats(big, 1.0f), *want = host_floats(big), *back = host_floats(big);
    memcpy(want, host, big * sizeof(float));
    float *dev = gpu->ops.alloc(gpu, big * sizeof(float));
    gpu->ops.upload(gpu, dev, host, big * sizeof(float));
    memset(host, 0, big * sizeof(float));
    gpu->ops.download(gpu, back, dev, big * sizeof(float));
    compare("upload of 3 staging buffers and more", back, back, want, big, 0.0);
    gpu->ops.release(gpu, dev);
    free(host), free(want), free(back);
}

/* ---- convolution ---- */

static void run_conv(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w, const float *dy,
                     float *y, float *dx, float *dw) {
    const size_t nx = (size_t)s->n * s->in_c * s->in_h * s->in_w;
    const size_t nw = (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
    const size_t ny = (size_t)s->n * s->out_c * s->out_h * s->out_w;
    float *dev_x = to_device(be, x, nx * 4), *dev_w = to_device(be, w, nw * 4), *dev_dy = to_device(be, dy, ny * 4);
    float *dev_y = device_zeros(be, ny), *dev_dx = device_zeros(be, nx), *dev_dw = device_zeros(be, nw);
    be->ops.conv2d_forward(be, s, dev_x, dev_w, dev_y);
    be->ops.conv2d_backward_data(be, s, dev_dy, dev_w, dev_dx);
    be->ops.conv2d_backward_weights(be, s, dev_x, dev_dy, dev_dw);
    from_device(be, y, dev_y, ny);
    from_device(be, dx, dev_dx, nx);
    from_device(be, dw, dev_dw, nw);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_w);
    be->ops.release(be, dev_dy);
}

static void check_conv(int n, int in_c, int in_hw, int out_c, int kernel, int stride, int pad) {
    const int out_hw = (in_hw + 2 * pad - kernel) / stride + 1;
    const cbd_conv_shape s = {n, in_c, in_hw, in_hw, out_c, out_hw, out_hw, kernel, stride, pad};
    const size_t nx = (size_t)n * in_c * in_hw * in_hw, nw = (size_t)out_c * in_c * kernel * kernel;
    const size_t ny = (size_t)n * out_c * out_hw * out_hw;
    float *x = random_floats(nx, 1.0f), *w = random_floats(nw, 0.1f), *dy = random_floats(ny, 1.0f);
    float *y = host_floats(3 * ny), *dx = host_floats(3 * nx), *dw = host_floats(3 * nw);
    run_conv(cpu, &s, x, w, dy, y, dx, dw);
    /* the fp32 (TF32) backend, then the bf16 one */
    cbd_backend *const backends[2] = {gpu, gpu_bf16};
    const double tolerance[2] = {TOL_TF32, TOL_BF16};
    for (int b = 0; b < 2; b++) {
        run_conv(backends[b], &s, x, w, dy, y + ny, dx + nx, dw + nw);
        run_conv(backends[b], &s, x, w, dy, y + 2 * ny, dx + 2 * nx, dw + 2 * nw);
        const char *direction[3] = {"forward", "backward_data", "backward_weights"};
        float *const out[3] = {y, dx, dw};
        const size_t count[3] = {ny, nx, nw};
        for (int d = 0; d < 3; d++) {
            char name[128];
            snprintf(name, sizeof name, "%sconv2d_%s %dx%d s%d p%d %dch@%d", b ? "bf16 " : "", direction[d], kernel,
                     kernel, stride, pad, in_c, in_hw);
            compare(name, out[d] + count[d], out[d] + 2 * count[d], out[d], count[d], tolerance[b]);
        }
    }
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
}

/* ---- batch norm ---- */

typedef struct {
    float *y, *mean, *var, *dx, *dgamma, *dbeta, *y_infer, *run_mean, *run_var;
} bn_out;

static bn_out bn_out_alloc(size_t n, int c) {
    bn_out o = {host_floats(n), host_floats(c), host_floats(c), host_floats(n), host_floats(c),
                host_floats(c), host_floats(n), host_floats(c), host_floats(c)};
    return o;
}

static void bn_out_free(bn_out *o) {
    free(o->y), free(o->mean), free(o->var), free(o->dx), free(o->dgamma), free(o->dbeta), free(o->y_infer);
    free(o->run_mean), free(o->run_var);
}

static void run_batchnorm(cbd_backend *be, const cbd_shape4 *s, const float *x, const float *dy,
                          const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                          int relu, bn_out *o) {
    const size_t n = cbd_shape4_count(*s), c = (size_t)s->c;
    const float eps = 1e-5f;
    float *dev_x = to_device(be, x, n * 4), *dev_dy = to_device(be, dy, n * 4);
    float *dev_gamma = to_device(be, gamma, c * 4), *dev_beta = to_device(be, beta, c * 4);
    float *dev_rm = to_device(be, run_mean, c * 4), *dev_rv = to_device(be, run_var, c * 4);
    float *y = device_zeros(be, n), *mean = device_zeros(be, c), *var = device_zeros(be, c);
    float *dx = device_zeros(be, n), *dgamma = device_zeros(be, c), *dbeta = device_zeros(be, c);
    float *y_infer = device_zeros(be, n);
    be->ops.batchnorm_forward_train(be, s, eps, dev_x, dev_gamma, dev_beta, y, mean, var, relu);
    be->ops.batchnorm_backward(be, s, eps, dev_x, dev_dy, relu ? y : NULL, dev_gamma, mean, var, dx, dgamma,
                               dbeta);
    be->ops.batchnorm_forward_infer(be, s, eps, dev_x, dev_gamma, dev_beta, dev_rm, dev_rv, y_infer, relu);
    be->ops.batchnorm_update_running(be, s->c, (size_t)s->n * s->h * s->w, 0.1f, mean, var, dev_rm, dev_rv);
    from_device(be, o->y, y, n);
    from_device(be, o->mean, mean, c);
    from_device(be, o->var, var, c);
    from_device(be, o->dx, dx, n);
    from_device(be, o->dgamma, dgamma, c);
    from_device(be, o->dbeta, dbeta, c);
    from_device(be, o->y_infer, y_infer, n);
    from_device(be, o->run_mean, dev_rm, c);
    from_device(be, o->run_var, dev_rv, c);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_dy);
    be->ops.release(be, dev_gamma);
    be->ops.release(be, dev_beta);
}

static void check_batchnorm(int n_, int c, int h, int w, int relu) {
    const cbd_shape4 s = {n_, c, h, w};
    const size_t n = cbd_shape4_count(s);
    float *x = random_floats(n, 2.0f), *dy = random_floats(n, 1.0f);
    for (size_t i = 0; i < n; i++) x[i] += 0.5f; /* a mean away from zero */
    float *gamma = host_floats(c), *beta = host_floats(c), *rm = host_floats(c), *rv = host_floats(c);
    test_fill_uniform(gamma, c, 0.5f, 2.0f, next_seed++);
    test_fill_uniform(beta, c, -1.0f, 1.0f, next_seed++);
    test_fill_uniform(rm, c, -0.5f, 0.5f, next_seed++);
    test_fill_uniform(rv, c, 0.5f, 2.0f, next_seed++);
    bn_out o[3] = {bn_out_alloc(n, c), bn_out_alloc(n, c), bn_out_alloc(n, c)};
    run_batchnorm(cpu, &s, x, dy, gamma, beta, rm, rv, relu, &o[0]);
    run_batchnorm(gpu, &s, x, dy, gamma, beta, rm, rv, relu, &o[1]);
    run_batchnorm(gpu, &s, x, dy, gamma, beta, rm, rv, relu, &o[2]);
    char name[128];
#define BN_COMPARE(field, count, tol)                                                   \
    snprintf(name, sizeof name, "batchnorm%s %s %dx%dx%dx%d", relu ? "+relu" : "", #field, n_, c, h, w); \
    compare(name, o[1].field, o[2].field, o[0].field, count, tol)
    BN_COMPARE(y, n, TOL_SUM);
    BN_COMPARE(mean, (size_t)c, TOL_SUM);
    BN_COMPARE(var, (size_t)c, TOL_SUM);
    BN_COMPARE(dx, n, TOL_SUM);
    BN_COMPARE(dgamma, (size_t)c, TOL_SUM);
    BN_COMPARE(dbeta, (size_t)c, TOL_SUM);
    BN_COMPARE(y_infer, n, TOL_EXACT);
    BN_COMPARE(run_mean, (size_t)c, TOL_SUM);
    BN_COMPARE(run_var, (size_t)c, TOL_SUM);
#undef BN_COMPARE
    for (int k = 0; k < 3; k++) bn_out_free(&o[k]);
    free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
}

/* ---- pooling ---- */

static void run_maxpool(cbd_backend *be, const cbd_pool_shape *s, const float *x, const float *dy, float *y,
                        float *dx) {
    const size_t nx = (size_t)s->n * s->c * s->in_h * s->in_w, ny = (size_t)s->n * s->c * s->out_h * s->out_w;
    float *dev_x = to_device(be, x, nx * 4), *dev_dy = to_device(be, dy, ny * 4);
    float *dev_y = device_zeros(be, ny), *dev_dx = device_zeros(be, nx);
    void *ws = be->ops.alloc(be, be->ops.maxpool_workspace_bytes(be, s) + 64);
    be->ops.maxpool_forward(be, s, dev_x, dev_y, ws);
    be->ops.maxpool_backward(be, s, dev_dy, ws, dev_dx);
    from_device(be, y, dev_y, ny);
    from_device(be, dx, dev_dx, nx);
    be->ops.release(be, ws);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_dy);
}

static void check_maxpool(int n, int c, int in_hw, int kernel, int stride, int pad) {
    const int out_hw = (in_hw + 2 * pad - kernel) / stride + 1;
    const cbd_pool_shape s = {n, c, in_hw, in_hw, out_hw, out_hw, kernel, stride, pad};
    const size_t nx = (size_t)n * c * in_hw * in_hw, ny = (size_t)n * c * out_hw * out_hw;
    float *x = random_floats(nx, 1.0f), *dy = random_floats(ny, 1.0f);
    float *y = host_floats(3 * ny), *dx = host_floats(3 * nx);
    run_maxpool(cpu, &s, x, dy, y, dx);
    run_maxpool(gpu, &s, x, dy, y + ny, dx + nx);
    run_maxpool(gpu, &s, x, dy, y + 2 * ny, dx + 2 * nx);
    char name[128];
    snprintf(name, sizeof name, "maxpool_forward %dx%d s%d p%d @%d", kernel, kernel, stride, pad, in_hw);
    compare(name, y + ny, y + 2 * ny, y, ny, TOL_EXACT);
    snprintf(name, sizeof name, "maxpool_backward %dx%d s%d p%d @%d", kernel, kernel, stride, pad, in_hw);
    compare(name, dx + nx, dx + 2 * nx, dx, nx, TOL_EXACT);
    free(x), free(dy), free(y), free(dx);
}

static void run_avgpool(cbd_backend *be, const cbd_shape4 *s, const float *x, const float *dy, float *y,
                        float *dx) {
    const size_t nx = cbd_shape4_count(*s), ny = (size_t)s->n * s->c;
    float *dev_x = to_device(be, x, nx * 4), *dev_dy = to_device(be, dy, ny * 4);
    float *dev_y = device_zeros(be, ny), *dev_dx = device_zeros(be, nx);
    be->ops.avgpool_global_forward(be, s, dev_x, dev_y);
    be->ops.avgpool_global_backward(be, s, dev_dy, dev_dx);
    from_device(be, y, dev_y, ny);
    from_device(be, dx, dev_dx, nx);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_dy);
}

static void check_avgpool(int n, int c, int h, int w) {
    const cbd_shape4 s = {n, c, h, w};
    const size_t nx = cbd_shape4_count(s), ny = (size_t)n * c;
    float *x = random_floats(nx, 1.0f), *dy = random_floats(ny, 1.0f);
    float *y = host_floats(3 * ny), *dx = host_floats(3 * nx);
    run_avgpool(cpu, &s, x, dy, y, dx);
    run_avgpool(gpu, &s, x, dy, y + ny, dx + nx);
    run_avgpool(gpu, &s, x, dy, y + 2 * ny, dx + 2 * nx);
    char name[128];
    snprintf(name, sizeof name, "avgpool_global_forward %dx%d", h, w);
    compare(name, y + ny, y + 2 * ny, y, ny, TOL_SUM);
    snprintf(name, sizeof name, "avgpool_global_backward %dx%d", h, w);
    compare(name, dx + nx, dx + 2 * nx, dx, nx, TOL_EXACT);
    free(x), free(dy), free(y), free(dx);
}

/* ---- gemm and the row helpers ---- */

static void run_gemm(cbd_backend *be, int ta, int tb, int m, int n, int k, const float *a, int lda, size_t na,
                     const float *b, int ldb, size_t nb, const float *c0, int ldc, size_t nc, float *c) {
    float *dev_a = to_device(be, a, na * 4), *dev_b = to_device(be, b, nb * 4), *dev_c = to_device(be, c0, nc * 4);
    be->ops.gemm(be, ta, tb, m, n, k, 1.5f, dev_a, lda, dev_b, ldb, 0.5f, dev_c, ldc);
    from_device(be, c, dev_c, nc);
    be->ops.release(be, dev_a);
    be->ops.release(be, dev_b);
}

static void check_gemm(int ta, int tb) {
    const int m = 37, n = 29, k = 53, pad = 3; /* leading dimensions wider than the rows */
    const int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    const int lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
    const size_t na = (size_t)a_rows * lda, nb = (size_t)b_rows * ldb, nc = (size_t)m * ldc;
    float *a = random_floats(na, 1.0f), *b = random_floats(nb, 1.0f), *c0 = random_floats(nc, 1.0f);
    float *c = host_floats(3 * nc);
    run_gemm(cpu, ta, tb, m, n, k, a, lda, na, b, ldb, nb, c0, ldc, nc, c);
    run_gemm(gpu, ta, tb, m, n, k, a, lda, na, b, ldb, nb, c0, ldc, nc, c + nc);
    run_gemm(gpu, ta, tb, m, n, k, a, lda, na, b, ldb, nb, c0, ldc, nc, c + 2 * nc);
    char name[64];
    snprintf(name, sizeof name, "gemm trans_a=%d trans_b=%d (37x29x53, padded ld)", ta, tb);
    compare(name, c + nc, c + 2 * nc, c, nc, TOL_TF32);
    free(a), free(b), free(c0), free(c);
}

static void run_rows(cbd_backend *be, int rows, int cols, const float *x, const float *v, float *y, float *sums) {
    const size_t n = (size_t)rows * cols;
    float *dev_x = to_device(be, x, n * 4), *dev_v = to_device(be, v, (size_t)cols * 4);
    float *dev_sums = device_zeros(be, (size_t)cols);
    be->ops.sum_rows(be, rows, cols, dev_x, dev_sums);
    be->ops.add_row_vector(be, rows, cols, dev_v, dev_x);
    from_device(be, y, dev_x, n);
    from_device(be, sums, dev_sums, (size_t)cols);
    be->ops.release(be, dev_v);
}

static void check_rows(void) {
    const int rows = 257, cols = 129;
    const size_t n = (size_t)rows * cols;
    float *x = random_floats(n, 1.0f), *v = random_floats((size_t)cols, 1.0f);
    float *y = host_floats(3 * n), *sums = host_floats(3 * (size_t)cols);
    run_rows(cpu, rows, cols, x, v, y, sums);
    run_rows(gpu, rows, cols, x, v, y + n, sums + cols);
    run_rows(gpu, rows, cols, x, v, y + 2 * n, sums + 2 * cols);
    compare("add_row_vector 257x129", y + n, y + 2 * n, y, n, TOL_EXACT);
    compare("sum_rows 257x129", sums + cols, sums + 2 * cols, sums, (size_t)cols, TOL_SUM);
    free(x), free(v), free(y), free(sums);
}

/* ---- elementwise ---- */

/* out: relu y, relu dx, add, axpy, scale (n each) */
static void run_elementwise(cbd_backend *be, size_t n, const float *a, const float *b, float *out) {
    float *dev_a = to_device(be, a, n * 4), *dev_b = to_device(be, b, n * 4);
    float *y = device_zeros(be, n), *dx = device_zeros(be, n), *sum = device_zeros(be, n);
    float *ax = to_device(be, b, n * 4), *sc = to_device(be, a, n * 4), *sum_relu = device_zeros(be, n);
    be->ops.relu_forward(be, n, dev_a, y);
    be->ops.relu_backward(be, n, y, dev_b, dx);
    be->ops.add(be, n, dev_a, dev_b, sum);
    be->ops.axpy(be, n, 0.37f, dev_a, ax);
    be->ops.scale(be, n, -1.7f, sc);
    be->ops.add_relu(be, n, dev_a, dev_b, sum_relu);
    from_device(be, out, y, n);
    from_device(be, out + n, dx, n);
    from_device(be, out + 2 * n, sum, n);
    from_device(be, out + 3 * n, ax, n);
    from_device(be, out + 4 * n, sc, n);
    from_device(be, out + 5 * n, sum_relu, n);
    be->ops.release(be, dev_a);
    be->ops.release(be, dev_b);
}

static void check_elementwise(void) {
    const size_t n = 100003, per = 6 * n;
    float *a = random_floats(n, 1.0f), *b = random_floats(n, 1.0f), *out = host_floats(3 * per);
    run_elementwise(cpu, n, a, b, out);
    run_elementwise(gpu, n, a, b, out + per);
    run_elementwise(gpu, n, a, b, out + 2 * per);
    const char *names[6] = {"relu_forward", "relu_backward", "add", "axpy", "scale", "add_relu"};
    for (int k = 0; k < 6; k++)
        compare(names[k], out + per + k * n, out + 2 * per + k * n, out + k * n, n, TOL_EXACT);
    free(a), free(b), free(out);
}

/* dx0: what the backward adds to */
static void run_shortcut(cbd_backend *be, const cbd_shape4 *in, const cbd_shape4 *out, const float *x,
                         const float *dy, const float *dx0, float *y, float *dx) {
    const size_t nx = cbd_shape4_count(*in), ny = cbd_shape4_count(*out);
    float *dev_x = to_device(be, x, nx * 4), *dev_dy = to_device(be, dy, ny * 4);
    float *dev_y = device_zeros(be, ny), *dev_dx = to_device(be, dx0, nx * 4);
    be->ops.shortcut_pad_forward(be, in, out, dev_x, dev_y);
    be->ops.shortcut_pad_backward_add(be, in, out, dev_dy, dev_dx);
    from_device(be, y, dev_y, ny);
    from_device(be, dx, dev_dx, nx);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_dy);
}

static void check_shortcut(void) {
    const cbd_shape4 in = {3, 16, 8, 8}, out = {3, 32, 4, 4};
    const size_t nx = cbd_shape4_count(in), ny = cbd_shape4_count(out);
    float *x = random_floats(nx, 1.0f), *dy = random_floats(ny, 1.0f), *dx0 = random_floats(nx, 1.0f);
    float *y = host_floats(3 * ny), *dx = host_floats(3 * nx);
    run_shortcut(cpu, &in, &out, x, dy, dx0, y, dx);
    run_shortcut(gpu, &in, &out, x, dy, dx0, y + ny, dx + nx);
    run_shortcut(gpu, &in, &out, x, dy, dx0, y + 2 * ny, dx + 2 * nx);
    compare("shortcut_pad_forward 16@8 -> 32@4", y + ny, y + 2 * ny, y, ny, TOL_EXACT);
    compare("shortcut_pad_backward_add 16@8 -> 32@4", dx + nx, dx + 2 * nx, dx, nx, TOL_EXACT);
    free(x), free(dy), free(dx0), free(y), free(dx);
}

/* out: y, dx (rows x cols each), then norms (rows) */
static void run_l2norm(cbd_backend *be, int rows, int cols, const float *x, const float *dy, float *out) {
    const size_t n = (size_t)rows * cols;
    float *dev_x = to_device(be, x, n * 4), *dev_dy = to_device(be, dy, n * 4);
    float *y = device_zeros(be, n), *dx = device_zeros(be, n), *norms = device_zeros(be, (size_t)rows);
    be->ops.l2norm_rows_forward(be, rows, cols, dev_x, y, norms);
    be->ops.l2norm_rows_backward(be, rows, cols, y, norms, dev_dy, dx);
    from_device(be, out, y, n);
    from_device(be, out + n, dx, n);
    from_device(be, out + 2 * n, norms, (size_t)rows);
    be->ops.release(be, dev_x);
    be->ops.release(be, dev_dy);
}

static void check_l2norm(void) {
    const int rows = 33, cols = 300;
    const size_t n = (size_t)rows * cols, per = 2 * n + rows;
    float *x = random_floats(n, 1.0f), *dy = random_floats(n, 1.0f), *out = host_floats(3 * per);
    memset(x + 5 * cols, 0, cols * sizeof(float)); /* a zero row: the eps floor */
    run_l2norm(cpu, rows, cols, x, dy, out);
    run_l2norm(gpu, rows, cols, x, dy, out + per);
    run_l2norm(gpu, rows, cols, x, dy, out + 2 * per);
    compare("l2norm_rows_forward y 33x300", out + per, out + 2 * per, out, n, TOL_SUM);
    compare("l2norm_rows_forward norms", out + per + 2 * n, out + 2 * per + 2 * n, out + 2 * n, (size_t)rows,
            TOL_SUM);
    compare("l2norm_rows_backward dx", out + per + n, out + 2 * per + n, out + n, n, TOL_SUM);
    free(x), free(dy), free(out);
}

/* ---- losses ---- */

/* out: dz of cross-entropy, kd, cosine (rows x classes, rows x classes, rows x dim);
 * loss: the three losses, then cross-entropy without a gradient */
static void run_losses(cbd_backend *be, int rows, int classes, int dim, const float *z, const float *tz,
                       const int *labels, const float *a, const float *t, float *out, double *loss) {
    const size_t nz = (size_t)rows * classes, na = (size_t)rows * dim;
    float *dev_z = to_device(be, z, nz * 4), *dev_tz = to_device(be, tz, nz * 4);
    float *dev_a = to_device(be, a, na * 4), *dev_t = to_device(be, t, na * 4);
    int *dev_labels = to_device(be, labels, (size_t)rows * sizeof(int));
    float *dz = device_zeros(be, nz), *dkd = device_zeros(be, nz), *da = device_zeros(be, na);
    loss[0] = be->ops.softmax_cross_entropy(be, rows, classes, dev_z, dev_labels, 0.7f, dz);
    loss[1] = be->ops.distill_kd(be, rows, classes, 4.0f, dev_z, dev_tz, 0.3f, dkd);
    loss[2] = be->ops.distill_cosine(be, rows, dim, dev_a, dev_t, 0.9f, 0.3f, da);
    loss[3] = be->ops.softmax_cross_entropy(be, rows, classes, dev_z, dev_labels, 1.0f, NULL);
    from_device(be, out, dz, nz);
    from_device(be, out + nz, dkd, nz);
    from_device(be, out + 2 * nz, da, na);
    be->ops.release(be, dev_z);
    be->ops.release(be, dev_tz);
    be->ops.release(be, dev_a);
    be->ops.release(be, dev_t);
    be->ops.release(be, dev_labels);
}

static void check_losses(int rows, int classes) {
    const int dim = 64;
    const size_t nz = (size_t)rows * classes, na = (size_t)rows * dim, per = 2 * nz + na;
    float *z = random_floats(nz, 3.0f), *tz = random_floats(nz, 3.0f);
    float *a = random_floats(na, 1.0f), *t = random_floats(na, 1.0f), *out = host_floats(3 * per);
    int *labels = cbd_malloc((size_t)rows * sizeof(int));
    for (int r = 0; r < rows; r++)
        labels[r] = (int)(cbd_rng_uniform(next_seed, CBD_RNG_STREAM_TEST, (uint64_t)r, 2) * classes);
    next_seed++;
    double loss[3][4];
    run_losses(cpu, rows, classes, dim, z, tz, labels, a, t, out, loss[0]);
    run_losses(gpu, rows, classes, dim, z, tz, labels, a, t, out + per, loss[1]);
    run_losses(gpu, rows, classes, dim, z, tz, labels, a, t, out + 2 * per, loss[2]);
    char name[128];
    const char *names[3] = {"softmax_cross_entropy", "distill_kd", "distill_cosine"};
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%s loss %dx%d", names[k], rows, k == 2 ? dim : classes);
        compare_scalar(name, loss[1][k], loss[2][k], loss[0][k], TOL_SUM);
        snprintf(name, sizeof name, "%s gradient", names[k]);
        const size_t off = (size_t)k * nz, count = k == 2 ? na : nz;
        compare(name, out + per + off, out + 2 * per + off, out + off, count, TOL_SUM);
    }
    compare_scalar("softmax_cross_entropy loss, no gradient", loss[1][3], loss[2][3], loss[0][3], TOL_SUM);
    free(z), free(tz), free(a), free(t), free(out), free(labels);
}

/* ---- sgd ---- */

static void run_sgd(cbd_backend *be, size_t n, const float *w0, const float *g, const float *m0, int nesterov,
                    float *out) {
    float *w = to_device(be, w0, n * 4), *dev_g = to_device(be, g, n * 4), *m = to_device(be, m0, n * 4);
    be->ops.sgd_update(be, n, w, dev_g, m, 0.05f, 0.9f, 5e-4f, nesterov);
    from_device(be, out, w, n);
    from_device(be, out + n, m, n);
    be->ops.release(be, dev_g);
}

static void check_sgd(int nesterov) {
    const size_t n = 100003, per = 2 * n;
    float *w = random_floats(n, 1.0f), *g = random_floats(n, 1.0f), *m = random_floats(n, 1.0f);
    float *out = host_floats(3 * per);
    run_sgd(cpu, n, w, g, m, nesterov, out);
    run_sgd(gpu, n, w, g, m, nesterov, out + per);
    run_sgd(gpu, n, w, g, m, nesterov, out + 2 * per);
    compare(nesterov ? "sgd_update nesterov: weights" : "sgd_update: weights", out + per, out + 2 * per, out, n,
            TOL_EXACT);
    compare(nesterov ? "sgd_update nesterov: momentum" : "sgd_update: momentum", out + per + n,
            out + 2 * per + n, out + n, n, TOL_EXACT);
    free(w), free(g), free(m), free(out);
}

/* ---- training ---- */

/* TRAIN_STEPS steps of resnet20 (cosine head) on 4 fixed random batches of
 * 32 images 3x32x32, taken in turn, so that the loss falls. */
static void train_curve(cbd_backend *be, double *losses) {
    enum { BATCH = 32, SIZE = 32, BATCHES = 4 };
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    char err[256];
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) {
        CHECK(0, "model on %s: %s", be->name, err);
        return;
    }
    cbd_model_initialize(&m, 7);
    const cbd_shape4 xs = {BATCH, cfg.in_channels, SIZE, SIZE};
    const size_t nx = cbd_shape4_count(xs);
    float *host_x = host_floats(nx);
    int host_labels[BATCH];
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, nx * sizeof(float)), xs);
    int *labels = be->ops.alloc(be, sizeof host_labels);
    const cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 0};
    for (int s = 0; s < TRAIN_STEPS; s++) {
        const uint64_t batch_seed = 1000 + (uint64_t)(s % BATCHES);
        test_fill_normal(host_x, nx, 1.0f, batch_seed);
        for (int i = 0; i < BATCH; i++)
            host_labels[i] = (int)(cbd_rng_uniform(batch_seed, CBD_RNG_STREAM_TEST, (uint64_t)i, 3) * cfg.classes);
        be->ops.upload(be, x.data, host_x, nx * sizeof(float));
        be->ops.upload(be, labels, host_labels, sizeof host_labels);
        cbd_model_forward(&m, &x, 1);
        losses[s] = cbd_cross_entropy(be, m.logits, labels, BATCH, cfg.classes, 1.0f, m.d_logits);
        cbd_model_backward(&m);
        cbd_sgd_step(be, &m.params, &sgd, 0.02f);
    }
    be->ops.synchronize(be);
    be->ops.release(be, x.data);
    be->ops.release(be, labels);
    free(host_x);
    cbd_model_free(&m);
}

static void check_training(cbd_backend *be, double tol) {
    const char *label = be->conv_bf16 ? "resnet20 training loss curve, bf16" : "resnet20 training loss curve";
    double want[TRAIN_STEPS], got[TRAIN_STEPS], again[TRAIN_STEPS];
    train_curve(cpu, want);
    train_curve(be, got);
    train_curve(be, again);
    double worst = 0.0;
    int finite = 1;
    printf("%s, %d steps (loss: cpu, cuda, |difference| / max(cpu, 1))\n", label, TRAIN_STEPS);
    for (int s = 0; s < TRAIN_STEPS; s++) {
        const double rel = fabs(got[s] - want[s]) / fmax(fabs(want[s]), 1.0);
        if (!isfinite(got[s])) finite = 0;
        if (rel > worst) worst = rel;
        printf("  step %2d  cpu %.6f  cuda %.6f  rel %.3e\n", s, want[s], got[s], rel);
    }
    const int repeatable = memcmp(got, again, sizeof got) == 0;
    const int ok = finite && worst <= tol && repeatable;
    printf("%-44s n=%-8d max_abs %-9s  rel %.3e  tol %.0e  %s%s\n", label, TRAIN_STEPS, "-", worst, tol,
           ok ? "ok" : "FAIL", repeatable ? "" : " (the two cuda runs differ)");
    CHECK(ok, "%s: worst relative difference %.3e (tol %.0e), %s", label, worst, tol,
          repeatable ? "repeatable" : "not repeatable");
    printf("  first -> last loss: cpu %.4f -> %.4f, cuda %.4f -> %.4f\n", want[0], want[TRAIN_STEPS - 1], got[0],
           got[TRAIN_STEPS - 1]);
}

int main(void) {
    char err[256] = "";
    if (!cbd_cuda_available(err, sizeof err)) {
        printf("no GPU: %s, skipped\n", err);
        return EXIT_SKIP;
    }
    /* the cpu backend in plain NCHW, as the cuda backend keeps every tensor
     * (its channel-blocked layout is checked against this one by
     * test_layout_blocked) */
    cpu = cbd_backend_cpu_create_layout(0, err, sizeof err);
    if (!cpu) {
        fprintf(stderr, "FAIL: cpu backend: %s\n", err);
        return 1;
    }
    gpu = cbd_backend_create("cuda", err, sizeof err);
    if (!gpu) {
        fprintf(stderr, "FAIL: a GPU is present but the cuda backend cannot start: %s\n", err);
        return 1;
    }
    const char *missing = cbd_backend_missing_op(gpu);
    if (missing) {
        fprintf(stderr, "FAIL: the cuda backend leaves op '%s' empty\n", missing);
        return 1;
    }
    gpu_bf16 = cbd_backend_create("cuda", err, sizeof err);
    if (!gpu_bf16 || cbd_backend_set_precision(gpu_bf16, "bf16", err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: the cuda backend with precision bf16: %s\n", err);
        return 1;
    }
    cbd_backend *automatic = cbd_backend_create("auto", err, sizeof err);
    CHECK(automatic && strcmp(automatic->name, "cuda") == 0, "device = auto did not pick the GPU");
    cbd_backend_destroy(automatic);

    check_memory();
    check_conv(4, 3, 32, 16, 3, 1, 1);   /* CIFAR stem */
    check_conv(4, 16, 32, 32, 3, 2, 1);  /* downsampling 3x3 (right padding 0 in oneDNN's terms) */
    check_conv(4, 16, 32, 32, 1, 2, 0);  /* projection shortcut */
    check_conv(2, 3, 32, 8, 7, 2, 3);    /* ImageNet stem */
    check_conv(3, 8, 15, 8, 3, 2, 1);    /* odd size */
    check_conv(8, 64, 8, 64, 3, 1, 1);   /* deep, small map */
    check_batchnorm(8, 16, 8, 8, 0);
    check_batchnorm(8, 16, 8, 8, 1);
    check_batchnorm(3, 5, 7, 7, 0);
    check_batchnorm(64, 4, 16, 16, 1);
    check_batchnorm(64, 4, 32, 32, 0);   /* 4 chunks of 16 images per channel */
    check_batchnorm(37, 3, 24, 24, 1);   /* 2 chunks, 29 and 8 images */
    check_maxpool(2, 4, 15, 3, 2, 1);    /* ImageNet stem pool, odd size */
    check_maxpool(2, 4, 16, 3, 2, 1);
    check_maxpool(2, 3, 16, 2, 2, 0);
    check_avgpool(4, 16, 7, 7);
    check_avgpool(4, 64, 8, 8);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) check_gemm(ta, tb);
    check_rows();
    check_elementwise();
    check_shortcut();
    check_l2norm();
    check_losses(33, 10);
    check_losses(7, 1000);
    check_sgd(0);
    check_sgd(1);
    check_training(gpu, TOL_CURVE);
    check_training(gpu_bf16, TOL_CURVE_BF16);

    cbd_backend_destroy(gpu_bf16);
    cbd_backend_destroy(gpu);
    cbd_backend_destroy(cpu);
    return test_finish("cuda_parity");
}
