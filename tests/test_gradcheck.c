/* Finite-difference gradient checks for every layer, loss and whole ResNets.
 *
 * Each case defines a scalar L (a loss, or sum(r * y) for a fixed random r),
 * computes the analytic gradients once, then compares a sample of entries of
 * every input and parameter gradient with central differences of L. The
 * error of an entry is |analytic - numeric| / max(|analytic|, |numeric|,
 * 1e-2 * the largest analytic entry); a wrong sign gives 2, a missing term or
 * a transposed index gives O(1), float32 rounding gives ~1e-3. */
#include <string.h>

#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/cosine_classifier.h"
#include "nn/layers/linear.h"
#include "nn/layers/pool.h"
#include "nn/layers/projection.h"
#include "nn/layers/relu.h"
#include "nn/layers/residual.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "tests/test_util.h"

#define TOLERANCE 1e-2
#define SAMPLES 24

static cbd_backend *be;

typedef double (*objective_fn)(void *ctx);

static double dot_r(const float *y, size_t n, uint64_t seed) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * (cbd_rng_uniform(seed, CBD_RNG_STREAM_TEST, i, 9) - 0.5);
    return s;
}

static void fill_r(float *dy, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) dy[i] = cbd_rng_uniform(seed, CBD_RNG_STREAM_TEST, i, 9) - 0.5f;
}

/* Checks SAMPLES entries (or all, if fewer) of x against grad. */
static double check_var(const char *layer, const char *var, objective_fn f, void *ctx, float *x,
                        const float *grad, size_t n, float eps) {
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
    double worst = 0.0;
    size_t worst_i = 0;
    double worst_a = 0, worst_n = 0;
    const size_t count = n < SAMPLES ? n : SAMPLES;
    for (size_t k = 0; k < count; k++) {
        size_t i = n <= SAMPLES ? k : (size_t)(cbd_rng_uniform(77, CBD_RNG_STREAM_TEST, k, 5) * n);
        const float keep = x[i];
        x[i] = keep + eps;
        double lp = f(ctx);
        x[i] = keep - eps;
        double lm = f(ctx);
        x[i] = keep;
        double numeric = (lp - lm) / (2.0 * eps);
        double analytic = grad[i];
        double denom = fmax(fmax(fabs(analytic), fabs(numeric)), 1e-2 * gmax);
        double err = denom > 0 ? fabs(analytic - numeric) / denom : 0.0;
        if (err > worst) {
            worst = err;
            worst_i = i;
            worst_a = analytic;
            worst_n = numeric;
        }
    }
    f(ctx); /* leave caches consistent with the unperturbed input */
    printf("  %-22s %-14s max rel err %.2e  (|grad|max %.3g)\n", layer, var, worst, gmax);
    CHECK(gmax > 0.0, "%s: gradient of %s is all zero", layer, var);
    CHECK(worst < TOLERANCE, "%s: d/d%s[%zu] analytic %.6g numeric %.6g (rel err %.3g)", layer, var,
          worst_i, worst_a, worst_n, worst);
    return worst;
}

/* ---- conv2d --------------------------------------------------------------- */
typedef struct {
    cbd_params p;
    cbd_conv2d conv;
    cbd_tensor x, y;
} conv_case;

static double conv_objective(void *c_) {
    conv_case *c = c_;
    cbd_conv2d_forward(be, &c->conv, &c->p, &c->x, &c->y);
    return dot_r(c->y.data, cbd_tensor_count(&c->y), 1);
}

static void grad_conv(int n, int in_c, int hw, int out_c, int k, int stride, int pad) {
    conv_case c;
    cbd_params_init(&c.p);
    cbd_conv2d_create(&c.conv, &c.p, "conv", in_c, out_c, k, stride, pad);
    cbd_params_allocate(&c.p, be);
    cbd_params_initialize(&c.p, 3);
    cbd_shape4 xs = {n, in_c, hw, hw}, ys = cbd_conv2d_output_shape(&c.conv, xs);
    c.x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * 4), xs);
    c.y = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(ys) * 4), ys);
    cbd_tensor dy = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(ys) * 4), ys);
    cbd_tensor dx = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * 4), xs);
    test_fill_normal(c.x.data, cbd_tensor_count(&c.x), 1.0f, 11);
    fill_r(dy.data, cbd_tensor_count(&dy), 1);
    conv_objective(&c);
    cbd_conv2d_backward(be, &c.conv, &c.p, &c.x, &dy, &dx);
    char name[64];
    snprintf(name, sizeof name, "conv%dx%d s%d p%d", k, k, stride, pad);
    check_var(name, "input", conv_objective, &c, c.x.data, dx.data, cbd_tensor_count(&c.x), 1e-2f);
    check_var(name, "weight", conv_objective, &c, cbd_param_value(&c.p, c.conv.weight),
              cbd_param_grad(&c.p, c.conv.weight), c.p.entries[c.conv.weight].count, 1e-2f);
    be->ops.release(be, c.x.data);
    be->ops.release(be, c.y.data);
    be->ops.release(be, dy.data);
    be->ops.release(be, dx.data);
    cbd_params_free(&c.p);
}

/* ---- batch norm (training) -------------------------------------------------- */
typedef struct {
    cbd_params p;
    cbd_batchnorm bn;
    cbd_tensor x, y;
    cbd_batchnorm_saved saved;
} bn_case;

static double bn_objective(void *c_) {
    bn_case *c = c_;
    cbd_batchnorm_forward(be, &c->bn, &c->p, 1, &c->x, &c->y, &c->saved, 0);
    return dot_r(c->y.data, cbd_tensor_count(&c->y), 2);
}

static void grad_batchnorm(void) {
    bn_case c;
    cbd_params_init(&c.p);
    cbd_batchnorm_create(&c.bn, &c.p, "bn", 3);
    cbd_params_allocate(&c.p, be);
    cbd_params_initialize(&c.p, 3);
    test_fill_uniform(cbd_param_value(&c.p, c.bn.gamma), 3, 0.5f, 1.5f, 21);
    test_fill_uniform(cbd_param_value(&c.p, c.bn.beta), 3, -0.5f, 0.5f, 22);
    cbd_shape4 s = {4, 3, 5, 5};
    size_t n = cbd_shape4_count(s);
    c.x = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    c.y = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    cbd_tensor dy = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    cbd_tensor dx = cbd_tensor_make(be->ops.alloc(be, n * 4), s);
    float stats[6];
    c.saved.mean = stats;
    c.saved.var = stats + 3;
    test_fill_normal(c.x.data, n, 2.0f, 12);
    for (size_t i = 0; i < n; i++) c.x.data[i] += (float)(i % 3); /* channel offsets */
    fill_r(dy.data, n, 2);
    bn_objective(&c);
    cbd_batchnorm_backward(be, &c.bn, &c.p, &c.x, &dy, NULL, &c.saved, &dx);
    check_var("batchnorm(train)", "input", bn_objective, &c, c.x.data, dx.data, n, 1e-2f);
    check_var("batchnorm(train)", "gamma", bn_objective, &c, cbd_param_value(&c.p, c.bn.gamma),
              cbd_param_grad(&c.p, c.bn.gamma), 3, 1e-2f);
    check_var("batchnorm(train)", "beta", bn_objective, &c, cbd_param_value(&c.p, c.bn.beta),
              cbd_param_grad(&c.p, c.bn.beta), 3, 1e-2f);
    be->ops.release(be, c.x.data);
    be->ops.release(be, c.y.data);
    be->ops.release(be, dy.data);
    be->ops.release(be, dx.data);
    cbd_params_free(&c.p);
}

/* ---- parameter-free layers: relu, max pool, avg pool, add, shortcut ------- */
typedef enum { PF_RELU, PF_MAXPOOL, PF_AVGPOOL, PF_ADD_A, PF_SHORTCUT } pf_kind;
typedef struct {
    pf_kind kind;
    cbd_tensor x, x2, y;
    cbd_maxpool mp;
    void *ws;
} pf_case;

static double pf_objective(void *c_) {
    pf_case *c = c_;
    switch (c->kind) {
    case PF_RELU: cbd_relu_forward(be, &c->x, &c->y); break;
    case PF_MAXPOOL: cbd_maxpool_forward(be, &c->mp, &c->x, &c->y, c->ws); break;
    case PF_AVGPOOL: cbd_avgpool_global_forward(be, &c->x, &c->y); break;
    case PF_ADD_A: cbd_residual_add(be, &c->x, &c->x2, &c->y); break;
    case PF_SHORTCUT: cbd_shortcut_pad_forward(be, &c->x, &c->y); break;
    }
    return dot_r(c->y.data, cbd_tensor_count(&c->y), 3);
}

static void grad_param_free(pf_kind kind, const char *name, cbd_shape4 xs, cbd_shape4 ys) {
    pf_case c = {.kind = kind, .mp = {3, 2, 1}};
    size_t nx = cbd_shape4_count(xs), ny = cbd_shape4_count(ys);
    c.x = cbd_tensor_make(be->ops.alloc(be, nx * 4), xs);
    c.x2 = cbd_tensor_make(be->ops.alloc(be, nx * 4), xs);
    c.y = cbd_tensor_make(be->ops.alloc(be, ny * 4), ys);
    cbd_tensor dy = cbd_tensor_make(be->ops.alloc(be, ny * 4), ys);
    cbd_tensor dx = cbd_tensor_make(be->ops.alloc(be, nx * 4), xs);
    /* distinct values at least 0.01 apart, none near 0: no kink within eps */
    for (size_t i = 0; i < nx; i++) {
        size_t j = (i * 7919) % nx;
        float v = 0.02f + 0.01f * (float)j;
        c.x.data[i] = (i % 2) ? v : -v;
    }
    test_fill_normal(c.x2.data, nx, 1.0f, 13);
    fill_r(dy.data, ny, 3);
    if (kind == PF_MAXPOOL) c.ws = be->ops.alloc(be, cbd_maxpool_workspace_bytes(be, &c.mp, xs) + 64);
    pf_objective(&c);
    switch (kind) {
    case PF_RELU: cbd_relu_backward(be, &c.y, &dy, &dx); break;
    case PF_MAXPOOL: cbd_maxpool_backward(be, &c.mp, &dy, c.ws, &dx); break;
    case PF_AVGPOOL: cbd_avgpool_global_backward(be, &dy, &dx); break;
    case PF_ADD_A: be->ops.copy(be, dx.data, dy.data, nx * 4); break; /* d(a + b)/da = dy */
    case PF_SHORTCUT: /* it adds to dx */
        be->ops.fill(be, dx.data, nx, 0.0f);
        cbd_shortcut_pad_backward_add(be, &dy, &dx);
        break;
    }
    check_var(name, "input", pf_objective, &c, c.x.data, dx.data, nx, 1e-3f);
    if (kind == PF_ADD_A)
        check_var(name, "second input", pf_objective, &c, c.x2.data, dx.data, nx, 1e-3f);
    be->ops.release(be, c.x.data);
    be->ops.release(be, c.x2.data);
    be->ops.release(be, c.y.data);
    be->ops.release(be, dy.data);
    be->ops.release(be, dx.data);
    if (c.ws) be->ops.release(be, c.ws);
}

/* ---- linear, projection, cosine classifier, l2 norm ------------------------ */
typedef enum { HEAD_LINEAR, HEAD_PROJECTION, HEAD_COSINE } head_kind;
typedef struct {
    head_kind kind;
    cbd_params p;
    cbd_linear fc;
    cbd_projection proj;
    cbd_cosine_classifier cc;
    cbd_cosine_cache cache;
    cbd_arena arena;
    int rows, in, out;
    float *x, *y;
} head_case;

static double head_objective(void *c_) {
    head_case *c = c_;
    switch (c->kind) {
    case HEAD_LINEAR: cbd_linear_forward(be, &c->fc, &c->p, c->x, c->rows, c->y); break;
    case HEAD_PROJECTION: cbd_projection_forward(be, &c->proj, &c->p, c->x, c->rows, c->y); break;
    case HEAD_COSINE: cbd_cosine_classifier_forward(be, &c->cc, &c->p, c->x, c->rows, c->y, &c->cache); break;
    }
    return dot_r(c->y, (size_t)c->rows * c->out, 4);
}

static void grad_head(head_kind kind, const char *name) {
    head_case c = {.kind = kind, .rows = 5, .in = 6, .out = 4};
    cbd_params_init(&c.p);
    if (kind == HEAD_LINEAR) cbd_linear_create(&c.fc, &c.p, "fc", c.in, c.out, 1, CBD_INIT_UNIFORM_FAN_IN);
    if (kind == HEAD_PROJECTION) {
        c.out = 8;
        cbd_projection_create(&c.proj, &c.p, "h", c.in, c.out, 1);
    }
    if (kind == HEAD_COSINE) cbd_cosine_classifier_create(&c.cc, &c.p, "cls", c.in, c.out, 3.0f);
    cbd_params_allocate(&c.p, be);
    cbd_params_initialize(&c.p, 5);
    if (kind == HEAD_COSINE) {
        cbd_arena_init(&c.arena, be, cbd_cosine_cache_floats(&c.cc, c.rows));
        cbd_cosine_cache_carve(&c.cc, c.rows, &c.arena, &c.cache);
    }
    size_t nx = (size_t)c.rows * c.in, ny = (size_t)c.rows * c.out;
    c.x = be->ops.alloc(be, nx * 4);
    c.y = be->ops.alloc(be, ny * 4);
    float *dy = be->ops.alloc(be, ny * 4), *dx = be->ops.alloc(be, nx * 4);
    test_fill_normal(c.x, nx, 1.0f, 14);
    fill_r(dy, ny, 4);
    head_objective(&c);
    int w = -1, b = -1;
    switch (kind) {
    case HEAD_LINEAR:
        cbd_linear_backward(be, &c.fc, &c.p, c.x, dy, c.rows, dx);
        w = c.fc.weight, b = c.fc.bias;
        break;
    case HEAD_PROJECTION:
        cbd_projection_backward(be, &c.proj, &c.p, c.x, c.y, dy, c.rows, dx);
        w = c.proj.fc.weight, b = c.proj.fc.bias;
        break;
    case HEAD_COSINE:
        cbd_cosine_classifier_backward(be, &c.cc, &c.p, dy, c.rows, &c.cache, dx);
        w = c.cc.weight;
        break;
    }
    check_var(name, "input", head_objective, &c, c.x, dx, nx, 1e-3f);
    check_var(name, "weight", head_objective, &c, cbd_param_value(&c.p, w), cbd_param_grad(&c.p, w),
              c.p.entries[w].count, 1e-3f);
    if (b >= 0)
        check_var(name, "bias", head_objective, &c, cbd_param_value(&c.p, b), cbd_param_grad(&c.p, b),
                  c.p.entries[b].count, 1e-3f);
    be->ops.release(be, c.x);
    be->ops.release(be, c.y);
    be->ops.release(be, dy);
    be->ops.release(be, dx);
    cbd_arena_release(&c.arena);
    cbd_params_free(&c.p);
}

/* ---- losses ------------------------------------------------------------------ */
typedef enum { LOSS_CE, LOSS_KD, LOSS_COSINE, LOSS_LOGIT_ADJUSTED } loss_kind;
typedef struct {
    loss_kind kind;
    int rows, cols;
    float *z, *target;
    int labels[6];
    cbd_logit_adjusted_ce la;
} loss_case;

static double loss_eval(loss_case *c, float *dz) {
    switch (c->kind) {
    case LOSS_CE: return cbd_cross_entropy(be, c->z, c->labels, c->rows, c->cols, 1.0f, dz);
    case LOSS_KD: return cbd_kd_loss(be, c->z, c->target, c->rows, c->cols, 2.0f, 1.0f, dz);
    case LOSS_COSINE: return cbd_feature_distill(be, c->z, c->target, c->rows, c->cols, 3.0f, 1.0f, dz);
    case LOSS_LOGIT_ADJUSTED:
        return cbd_logit_adjusted_cross_entropy(be, &c->la, c->z, c->labels, c->rows, 1.0f, dz);
    }
    return 0.0;
}

static double loss_objective(void *c_) { return loss_eval(c_, NULL); }

static void grad_loss(loss_kind kind, const char *name) {
    loss_case c = {.kind = kind, .rows = 6, .cols = 5};
    size_t n = (size_t)c.rows * c.cols;
    c.z = be->ops.alloc(be, n * 4);
    c.target = be->ops.alloc(be, n * 4);
    float *dz = be->ops.alloc(be, n * 4);
    test_fill_normal(c.z, n, 2.0f, 15);
    test_fill_normal(c.target, n, 2.0f, 16);
    for (int r = 0; r < c.rows; r++) c.labels[r] = (r * 3 + 1) % c.cols;
    const int64_t counts[5] = {500, 120, 40, 9, 2};
    if (kind == LOSS_LOGIT_ADJUSTED) cbd_logit_adjusted_create(&c.la, be, counts, 5, 1.0f, c.rows);
    double loss = loss_eval(&c, dz);
    CHECK(isfinite(loss) && loss > 0.0, "%s: loss %g", name, loss);
    check_var(name, "logits/input", loss_objective, &c, c.z, dz, n, 1e-3f);
    if (kind == LOSS_LOGIT_ADJUSTED) cbd_logit_adjusted_free(&c.la, be);
    be->ops.release(be, c.z);
    be->ops.release(be, c.target);
    be->ops.release(be, dz);
}

/* ---- whole networks ------------------------------------------------------------ */
/* Through ReLU and max-pool kinks and batch statistics over a few values,
 * single-coordinate differences of a deep network are dominated by kink
 * crossings. The network check is directional instead: move a whole tensor
 * along its unit analytic gradient g/|g|; the slope of L must be |g|. A
 * missing path or a wrong sign in the block wiring changes that slope.
 * Inputs are large enough (64x64 for the ImageNet family) that the last
 * stage's batch statistics are taken over 16 values, not 4: with 4 the loss
 * is so curved that no finite difference measures the slope. */
typedef struct {
    cbd_model m;
    cbd_tensor x;
} net_case;

static double net_objective(void *c_) {
    net_case *c = c_;
    cbd_model_forward(&c->m, &c->x, 1);
    return dot_r(c->m.logits, (size_t)c->m.rows * c->m.cfg.classes, 6);
}

static void check_direction(const char *label, const char *var, net_case *c, float *x,
                            const float *g, size_t n) {
    double norm = 0.0;
    for (size_t i = 0; i < n; i++) norm += (double)g[i] * g[i];
    norm = sqrt(norm);
    CHECK(norm > 0.0, "%s: gradient of %s is all zero", label, var);
    if (norm == 0.0) return;
    float *keep = malloc(n * 4);
    memcpy(keep, x, n * 4);
    double worst = 0.0, worst_numeric = 0.0;
    const float steps[2] = {1e-4f, 3e-4f};
    for (int s = 0; s < 2; s++) {
        const double eps = steps[s];
        for (size_t i = 0; i < n; i++) x[i] = keep[i] + (float)(eps * g[i] / norm);
        double lp = net_objective(c);
        for (size_t i = 0; i < n; i++) x[i] = keep[i] - (float)(eps * g[i] / norm);
        double lm = net_objective(c);
        double numeric = (lp - lm) / (2.0 * eps);
        double err = fabs(numeric - norm) / norm;
        if (s == 0 || err < worst) {
            worst = err; /* best of two step sizes: kinks hurt the larger, rounding the smaller */
            worst_numeric = numeric;
        }
    }
    memcpy(x, keep, n * 4);
    free(keep);
    printf("  %-22s %-34s slope rel err %.2e  (|grad| %.3g)\n", label, var, worst, norm);
    CHECK(worst < 1e-2, "%s: slope along d%s is %.6g, |grad| is %.6g (rel err %.3g)", label, var,
          worst_numeric, norm, worst);
}

static void grad_network(const char *arch, int in_c, int hw, int batch, const char **params_to_check,
                         int projection_dim) {
    net_case c;
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = in_c;
    cfg.classes = 5;
    cfg.cosine_scale = 4.0f;
    cfg.projection_dim = projection_dim;
    char err[256];
    if (cbd_model_create(&c.m, be, &cfg, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return;
    }
    cbd_model_initialize(&c.m, 8);
    cbd_shape4 xs = {batch, in_c, hw, hw};
    c.x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * 4), xs);
    test_fill_normal(c.x.data, cbd_shape4_count(xs), 1.0f, 17);
    net_objective(&c);
    fill_r(c.m.d_logits, (size_t)batch * cfg.classes, 6);
    cbd_params_zero_grads(&c.m.params);
    cbd_model_backward(&c.m);
    char label[64];
    snprintf(label, sizeof label, "%s%s", arch, projection_dim ? "+h" : "");
    for (const char **name = params_to_check; *name; name++) {
        int i = cbd_params_find(&c.m.params, *name);
        CHECK(i >= 0, "%s has no parameter %s", arch, *name);
        if (i < 0) continue;
        size_t n = c.m.params.entries[i].count;
        float *g = malloc(n * 4);
        memcpy(g, cbd_param_grad(&c.m.params, i), n * 4);
        check_direction(label, *name, &c, cbd_param_value(&c.m.params, i), g, n);
        free(g);
    }
    be->ops.release(be, c.x.data);
    cbd_model_free(&c.m);
}

int main(void) {
    be = test_cpu_backend();
    printf("layer                  variable\n");
    grad_conv(2, 3, 7, 4, 3, 1, 1);
    grad_conv(2, 3, 7, 4, 3, 2, 1);
    grad_conv(2, 4, 6, 3, 1, 2, 0);
    grad_conv(2, 3, 9, 4, 7, 2, 3);
    grad_conv(4, 16, 8, 32, 3, 2, 1);
    grad_conv(4, 32, 6, 32, 3, 1, 1);
    grad_conv(2, 64, 4, 256, 1, 1, 0);
    grad_batchnorm();
    cbd_shape4 s4 = {2, 3, 4, 4};
    grad_param_free(PF_RELU, "relu", s4, s4);
    cbd_shape4 mp_in = {2, 2, 9, 9}, mp_out = {2, 2, 5, 5};
    grad_param_free(PF_MAXPOOL, "maxpool3x3 s2", mp_in, mp_out);
    cbd_shape4 gp_in = {2, 3, 5, 5}, gp_out = {2, 3, 1, 1};
    grad_param_free(PF_AVGPOOL, "global avgpool", gp_in, gp_out);
    grad_param_free(PF_ADD_A, "residual add", s4, s4);
    cbd_shape4 sc_in = {2, 4, 7, 7}, sc_out = {2, 8, 4, 4};
    grad_param_free(PF_SHORTCUT, "shortcut pad", sc_in, sc_out);
    grad_head(HEAD_LINEAR, "linear");
    grad_head(HEAD_PROJECTION, "projection h");
    grad_head(HEAD_COSINE, "cosine classifier");
    grad_loss(LOSS_CE, "cross-entropy");
    grad_loss(LOSS_KD, "KD (T=2)");
    grad_loss(LOSS_COSINE, "cosine distill");
    grad_loss(LOSS_LOGIT_ADJUSTED, "logit-adjusted CE");

    const char *r20[] = {"stem/conv/weight", "stage1/block1/conv1/weight", "stage2/block1/conv1/weight",
                         "stage2/block1/bn2/weight", "stage3/block3/conv2/weight",
                         "classifier/weight", NULL};
    grad_network("resnet20", 1, 16, 4, r20, 0);
    const char *r20h[] = {"stage3/block3/conv2/weight", "projection/weight", "projection/bias", NULL};
    grad_network("resnet20", 3, 16, 4, r20h, 12);
    const char *r18[] = {"stem/conv/weight", "stem/bn/bias", "stage1/block2/conv2/weight",
                         "stage2/block1/shortcut/conv/weight", "stage2/block1/shortcut/bn/weight",
                         "stage3/block1/conv1/weight", NULL};
    grad_network("resnet18", 3, 64, 4, r18, 0);
    const char *r50[] = {"stage1/block1/conv3/weight", "stage1/block1/shortcut/conv/weight",
                         "stage2/block2/conv1/weight", NULL};
    grad_network("resnet50", 3, 64, 4, r50, 0);

    cbd_backend_destroy(be);
    return test_finish("gradcheck");
}
