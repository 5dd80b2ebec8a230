/* Batch normalisation on the cpu, written out. Training normalises with the
 * batch statistics, inference with the running ones.
 *
 * oneDNN's batch norm on plain NCHW is a reference-grade loop (30% of the time
 * a resnet20 training step spent in oneDNN). Two versions here, one per
 * layout (nn/backend.h):
 *  - NCHW (the plain reference): each channel is handled by one thread from
 *    start to end, reading its slab of N x H x W values a few times while it
 *    is in cache; sums are float partials per image row added into a double.
 *  - channel blocks of 16 (N, C/16, H, W, 16): one image's block of 16
 *    channels is H x W x 16 contiguous floats, summed 16 lanes at a time
 *    into per-image statistics, which are then combined image by image in
 *    order, in double. channels_last tensors (N, H, W, C) have loops of
 *    their own (batchnorm_nhwc.c) that make the same per-image sums in the
 *    same order: the same bits as channel blocks.
 * Either way every sum has a fixed order, so results do not depend on the
 * thread count. With several ranks (nn/batch_sum.h) the per-image
 * statistics of every rank are gathered and combined in image order, the
 * global batch's order: the result does not depend on the number of ranks
 * either (synchronised batch norm). Variances are taken about a mean (two passes over data in
 * cache), not as E[x^2] - E[x]^2, which cancels badly. A following ReLU can
 * be fused in (the op table's relu / relu_y): one memory pass less each way. */
#include <math.h>
#include <string.h>

#include "nn/batch_sum.h"
#include "nn/cpu/batchnorm_kernels.h"
#include "nn/cpu/cpu_backend.h"

/* Sum of row[0..len) in float lanes, in the same order every call. */
static inline float row_sum(const float *row, int len) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < len; i++) s += row[i];
    return s;
}

static inline float row_sum_sq_dev(const float *row, int len, float mean) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < len; i++) {
        const float d = row[i] - mean;
        s += d * d;
    }
    return s;
}

/* y = a * x + b over one channel's rows, then max(0, y) when relu. */
static inline void channel_affine(const cbd_shape4 *s, int c, const float *x, float a, float b,
                                  int relu, float *y) {
    const size_t hw = (size_t)s->h * s->w;
    for (int n = 0; n < s->n; n++) {
        const size_t off = ((size_t)n * s->c + c) * hw;
        const float *xr = x + off;
        float *yr = y + off;
        if (relu) {
#pragma omp simd
            for (size_t i = 0; i < hw; i++) {
                const float v = a * xr[i] + b;
                yr[i] = v > 0.0f ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < hw; i++) yr[i] = a * xr[i] + b;
        }
    }
}


/* ---- channel blocks of 16 ---------------------------------------------------- */

#define BN_LANES CPU_CHANNEL_BLOCK

/* Per image and channel: the mean over H x W and the sum of squared
 * deviations from it. */
CPU_HOT_LOOP
static void blocked_image_stats(const cbd_shape4 *s, const float *x, float *img_mean,
                                float *img_m2) {
    const int blocks = s->c / BN_LANES, hw = s->h * s->w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int cb = 0; cb < blocks; cb++) {
            const float *blk = x + ((size_t)n * blocks + cb) * hw * BN_LANES;
            float sum[BN_LANES] = {0}, m2[BN_LANES] = {0}, mean[BN_LANES];
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int l = 0; l < BN_LANES; l++) sum[l] += blk[p * BN_LANES + l];
            for (int l = 0; l < BN_LANES; l++) mean[l] = sum[l] / (float)hw;
            for (int p = 0; p < hw; p++)
#pragma omp simd
                for (int l = 0; l < BN_LANES; l++) {
                    const float d = blk[p * BN_LANES + l] - mean[l];
                    m2[l] += d * d;
                }
            float *mo = img_mean + (size_t)n * s->c + cb * BN_LANES;
            float *qo = img_m2 + (size_t)n * s->c + cb * BN_LANES;
            memcpy(mo, mean, sizeof mean);
            memcpy(qo, m2, sizeof m2);
        }
}

/* y = a[c] * x + b[c] over the whole tensor, then max(0, y) when relu. */
CPU_HOT_LOOP
static void blocked_affine(const cbd_shape4 *s, const float *x, const float *a, const float *b,
                           int relu, float *y) {
    const int blocks = s->c / BN_LANES, hw = s->h * s->w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int cb = 0; cb < blocks; cb++) {
            const size_t off = ((size_t)n * blocks + cb) * hw * BN_LANES;
            const float *ca = a + cb * BN_LANES, *cbv = b + cb * BN_LANES;
            const float *xb = x + off;
            float *yb = y + off;
            if (relu) {
                for (int p = 0; p < hw; p++)
#pragma omp simd
                    for (int l = 0; l < BN_LANES; l++) {
                        const float v = ca[l] * xb[p * BN_LANES + l] + cbv[l];
                        yb[p * BN_LANES + l] = v > 0.0f ? v : 0.0f;
                    }
            } else {
                for (int p = 0; p < hw; p++)
#pragma omp simd
                    for (int l = 0; l < BN_LANES; l++) yb[p * BN_LANES + l] = ca[l] * xb[p * BN_LANES + l] + cbv[l];
            }
        }
}

/* Per-image values [n, C] of this rank into [n * ranks, C] of the global
 * batch, in image order (the local ones when there is one rank). */
static const float *gather_images(cbd_backend *be, const float *mine, size_t nc, float *all) {
    if (cbd_batch_ranks(be) == 1) return mine;
    cbd_batch_gather_floats(be, mine, nc, all);
    return all;
}

static void blocked_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                  const float *gamma, const float *beta, float *y, float *batch_mean,
                                  float *batch_var, int relu) {
    cpu_impl *impl = cpu_of(be);
    const size_t nc = (size_t)s->n * s->c, ranks = (size_t)cbd_batch_ranks(be), gnc = nc * ranks;
    float *img_mean = cpu_scratch(impl, CPU_SCRATCH_BN_PARTIALS,
                                  (2 * nc + 2 * gnc + 2 * (size_t)s->c) * sizeof(float));
    float *img_m2 = img_mean + nc, *all_mean = img_m2 + nc, *all_m2 = all_mean + gnc, *a = all_m2 + gnc,
          *b = a + s->c;
    if (impl->channels_last)
        bn_nhwc_image_stats(s, x, img_mean, img_m2);
    else
        blocked_image_stats(s, x, img_mean, img_m2);
    const float *gm = gather_images(be, img_mean, nc, all_mean), *gq = gather_images(be, img_m2, nc, all_m2);
    const int images = s->n * (int)ranks;
    /* images in order: equal counts, so the mean of means, and the within-image
     * sums plus the spread of the image means (Chan et al.) */
    const double hw = (double)s->h * s->w;
    for (int c = 0; c < s->c; c++) {
        double mean = 0.0;
        for (int n = 0; n < images; n++) mean += gm[(size_t)n * s->c + c];
        mean /= images;
        double m2 = 0.0;
        for (int n = 0; n < images; n++) {
            const double d = gm[(size_t)n * s->c + c] - mean;
            m2 += gq[(size_t)n * s->c + c] + hw * d * d;
        }
        const float var = (float)(m2 / (hw * images));
        batch_mean[c] = (float)mean;
        batch_var[c] = var;
        a[c] = gamma[c] / sqrtf(var + eps);
        b[c] = beta[c] - a[c] * (float)mean;
    }
    if (impl->channels_last)
        bn_nhwc_affine(s, x, a, b, relu, y);
    else
        blocked_affine(s, x, a, b, relu, y);
}

static void blocked_forward_infer(cpu_impl *impl, const cbd_shape4 *s, float eps, const float *x,
                                  const float *gamma, const float *beta, const float *mean,
                                  const float *var, float *y, int relu) {
    float *a = cpu_scratch(impl, CPU_SCRATCH_BN_PARTIALS, 2 * (size_t)s->c * sizeof(float));
    float *b = a + s->c;
    for (int c = 0; c < s->c; c++) {
        a[c] = gamma[c] / sqrtf(var[c] + eps);
        b[c] = beta[c] - a[c] * mean[c];
    }
    if (impl->channels_last)
        bn_nhwc_affine(s, x, a, b, relu, y);
    else
        blocked_affine(s, x, a, b, relu, y);
}

/* One image's block of 16 channels, backward. `masked` (a ReLU was fused
 * into the forward: dy counts only where relu_y > 0) is a constant at each
 * call, so each variant compiles to its own vector loop. */
#define BN_INLINE static inline __attribute__((always_inline))

BN_INLINE void block_dx(const float *restrict xb, const float *restrict gb, const float *restrict mb,
                        const float *restrict a, const float *restrict b, const float *restrict k, int hw,
                        int masked, float *restrict db) {
    float ca[BN_LANES], cb[BN_LANES], ck[BN_LANES];
    memcpy(ca, a, sizeof ca);
    memcpy(cb, b, sizeof cb);
    memcpy(ck, k, sizeof ck);
    for (int p = 0; p < hw; p++) {
        const float *xp = xb + (size_t)p * BN_LANES, *gp = gb + (size_t)p * BN_LANES;
        const float *mp = masked ? mb + (size_t)p * BN_LANES : gp;
        float *dp = db + (size_t)p * BN_LANES;
#pragma omp simd
        for (int l = 0; l < BN_LANES; l++) {
            const float gv = gp[l]; /* loaded unconditionally: no branch, the loop vectorises */
            const float g = masked ? (mp[l] > 0.0f ? gv : 0.0f) : gv;
            dp[l] = ca[l] * g + cb[l] * xp[l] + ck[l];
        }
    }
}

CPU_HOT_LOOP
static void blocked_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                             const float *dy, const float *relu_y, const float *gamma, const float *batch_mean,
                             const float *batch_var, float *dx, float *dgamma, float *dbeta) {
    cpu_impl *impl = cpu_of(be);
    const int blocks = s->c / BN_LANES, hw = s->h * s->w;
    const size_t nc = (size_t)s->n * s->c, ranks = (size_t)cbd_batch_ranks(be), gnc = nc * ranks;
    float *img_dy = cpu_scratch(impl, CPU_SCRATCH_BN_PARTIALS,
                                (2 * nc + 2 * gnc + 3 * (size_t)s->c) * sizeof(float));
    float *img_dy_dev = img_dy + nc, *all_dy = img_dy_dev + nc, *all_dy_dev = all_dy + gnc,
          *a = all_dy_dev + gnc, *b = a + s->c, *k = b + s->c;
    if (impl->channels_last)
        bn_nhwc_dy_sums(s, x, dy, relu_y, batch_mean, img_dy, img_dy_dev);
    else {
#pragma omp parallel for collapse(2) schedule(static)
        for (int n = 0; n < s->n; n++)
            for (int cb = 0; cb < blocks; cb++) {
                const size_t off = ((size_t)n * blocks + cb) * hw * BN_LANES;
                const float *mean = batch_mean + cb * BN_LANES;
                float *sd = img_dy + (size_t)n * s->c + cb * BN_LANES;
                float *sdd = img_dy_dev + (size_t)n * s->c + cb * BN_LANES;
                if (relu_y)
                    bn_run_dy_sums(x + off, dy + off, relu_y + off, mean, BN_LANES, BN_LANES, hw, 1, sd, sdd);
                else
                    bn_run_dy_sums(x + off, dy + off, NULL, mean, BN_LANES, BN_LANES, hw, 0, sd, sdd);
            }
    }
    const float *gd = gather_images(be, img_dy, nc, all_dy), *gdd = gather_images(be, img_dy_dev, nc, all_dy_dev);
    const int images = s->n * (int)ranks;
    const double count = (double)images * hw;
    for (int c = 0; c < s->c; c++) {
        double sum_dy = 0.0, sum_dy_dev = 0.0;
        for (int n = 0; n < images; n++) {
            sum_dy += gd[(size_t)n * s->c + c];
            sum_dy_dev += gdd[(size_t)n * s->c + c];
        }
        const float inv_std = 1.0f / sqrtf(batch_var[c] + eps);
        dbeta[c] = (float)sum_dy;
        dgamma[c] = (float)(sum_dy_dev * inv_std);
        a[c] = gamma[c] * inv_std;
        b[c] = (float)(-(double)a[c] * inv_std * inv_std * sum_dy_dev / count);
        k[c] = (float)(-(double)a[c] * sum_dy / count) - b[c] * batch_mean[c];
    }
    if (impl->channels_last) {
        bn_nhwc_dx(s, x, dy, relu_y, a, b, k, dx);
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int cb = 0; cb < blocks; cb++) {
            const size_t off = ((size_t)n * blocks + cb) * hw * BN_LANES;
            const int c0 = cb * BN_LANES;
            if (relu_y)
                block_dx(x + off, dy + off, relu_y + off, a + c0, b + c0, k + c0, hw, 1, dx + off);
            else
                block_dx(x + off, dy + off, NULL, a + c0, b + c0, k + c0, hw, 0, dx + off);
        }
}

/* ---- the ops ------------------------------------------------------------------ */

void cpu_batchnorm_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                 const float *gamma, const float *beta, float *y,
                                 float *batch_mean, float *batch_var, int relu) {
    if (cpu_blocked(cpu_of(be), s->c)) {
        blocked_forward_train(be, s, eps, x, gamma, beta, y, batch_mean, batch_var, relu);
        return;
    }
    /* per image and channel: row sums, gathered across ranks, added in image order in double */
    const int hw = s->h * s->w, images = s->n * cbd_batch_ranks(be);
    const size_t nc = (size_t)s->n * s->c, gnc = (size_t)images * s->c;
    float *rows = cpu_scratch(cpu_of(be), CPU_SCRATCH_BN_PARTIALS, (2 * nc + 2 * gnc + (size_t)s->c) * sizeof(float));
    float *sq = rows + nc, *all_rows = sq + nc, *all_sq = all_rows + gnc, *mean = all_sq + gnc;
    const double count = (double)images * hw;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) rows[(size_t)n * s->c + c] = row_sum(x + ((size_t)n * s->c + c) * hw, hw);
    const float *g = gather_images(be, rows, nc, all_rows);
    for (int c = 0; c < s->c; c++) {
        double sum = 0.0;
        for (int n = 0; n < images; n++) sum += g[(size_t)n * s->c + c];
        mean[c] = (float)(sum / count);
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++)
            sq[(size_t)n * s->c + c] = row_sum_sq_dev(x + ((size_t)n * s->c + c) * hw, hw, mean[c]);
    const float *gs = gather_images(be, sq, nc, all_sq);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->c; c++) {
        double total = 0.0;
        for (int n = 0; n < images; n++) total += gs[(size_t)n * s->c + c];
        const float var = (float)(total / count);
        const float a = gamma[c] / sqrtf(var + eps);
        channel_affine(s, c, x, a, beta[c] - a * mean[c], relu, y);
        batch_mean[c] = mean[c];
        batch_var[c] = var;
    }
}

void cpu_batchnorm_forward_infer(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                 const float *gamma, const float *beta, const float *mean,
                                 const float *var, float *y, int relu) {
    if (cpu_blocked(cpu_of(be), s->c)) {
        blocked_forward_infer(cpu_of(be), s, eps, x, gamma, beta, mean, var, y, relu);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->c; c++) {
        const float a = gamma[c] / sqrtf(var[c] + eps);
        channel_affine(s, c, x, a, beta[c] - a * mean[c], relu, y);
    }
}

/* One image row of one channel, backward (NCHW); `masked` as in bn_run_dy_sums. */
BN_INLINE void row_dy_sums(const float *xr, const float *gr, const float *mr, float mean, int hw, int masked,
                           float *sum_dy, float *sum_dy_dev) {
    float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
    for (int i = 0; i < hw; i++) {
        const float gv = gr[i]; /* loaded unconditionally: no branch */
        const float g = masked ? (mr[i] > 0.0f ? gv : 0.0f) : gv;
        a += g;
        b += g * (xr[i] - mean);
    }
    *sum_dy = a;
    *sum_dy_dev = b;
}

BN_INLINE void row_dx(const float *xr, const float *gr, const float *mr, float a, float b, float k, int hw,
                      int masked, float *dr) {
#pragma omp simd
    for (int i = 0; i < hw; i++) {
        const float gv = gr[i]; /* loaded unconditionally: no branch */
        const float g = masked ? (mr[i] > 0.0f ? gv : 0.0f) : gv;
        dr[i] = a * g + b * xr[i] + k;
    }
}

/* With xhat = (x - mean) * inv_std and M = N * H * W:
 *   dbeta  = sum(dy)
 *   dgamma = sum(dy * xhat)
 *   dx     = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M)
 * written as dx = a * dy + b * x + k per channel. */
void cpu_batchnorm_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                            const float *dy, const float *relu_y, const float *gamma,
                            const float *batch_mean, const float *batch_var, float *dx, float *dgamma,
                            float *dbeta) {
    if (cpu_blocked(cpu_of(be), s->c)) {
        blocked_backward(be, s, eps, x, dy, relu_y, gamma, batch_mean, batch_var, dx, dgamma, dbeta);
        return;
    }
    /* per image and channel: sums of dy and dy * (x - mean), gathered, added in image order */
    const int hw = s->h * s->w, images = s->n * cbd_batch_ranks(be);
    const size_t nc = (size_t)s->n * s->c, gnc = (size_t)images * s->c;
    float *sd = cpu_scratch(cpu_of(be), CPU_SCRATCH_BN_PARTIALS, (2 * nc + 2 * gnc) * sizeof(float));
    float *sdd = sd + nc, *all_sd = sdd + nc, *all_sdd = all_sd + gnc;
    const double count = (double)images * hw;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c++) {
            const size_t off = ((size_t)n * s->c + c) * hw, at = (size_t)n * s->c + c;
            if (relu_y)
                row_dy_sums(x + off, dy + off, relu_y + off, batch_mean[c], hw, 1, &sd[at], &sdd[at]);
            else
                row_dy_sums(x + off, dy + off, NULL, batch_mean[c], hw, 0, &sd[at], &sdd[at]);
        }
    const float *gd = gather_images(be, sd, nc, all_sd), *gdd = gather_images(be, sdd, nc, all_sdd);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->c; c++) {
        const float mean = batch_mean[c];
        const float inv_std = 1.0f / sqrtf(batch_var[c] + eps);
        double sum_dy = 0.0, sum_dy_dev = 0.0;
        for (int n = 0; n < images; n++) {
            sum_dy += gd[(size_t)n * s->c + c];
            sum_dy_dev += gdd[(size_t)n * s->c + c];
        }
        const float g_dgamma = (float)(sum_dy_dev * inv_std);
        dbeta[c] = (float)sum_dy;
        dgamma[c] = g_dgamma;
        const float a = gamma[c] * inv_std;
        const float b = (float)(-(double)a * inv_std * inv_std * sum_dy_dev / count);
        const float k = (float)(-(double)a * sum_dy / count) - b * mean;
        for (int n = 0; n < s->n; n++) {
            const size_t off = ((size_t)n * s->c + c) * hw;
            if (relu_y)
                row_dx(x + off, dy + off, relu_y + off, a, b, k, hw, 1, dx + off);
            else
                row_dx(x + off, dy + off, NULL, a, b, k, hw, 0, dx + off);
        }
    }
}

void cpu_batchnorm_update_running(cbd_backend *be, int channels, size_t count, float momentum,
                                  const float *batch_mean, const float *batch_var,
                                  float *running_mean, float *running_var) {
    (void)be;
    const float unbias = count > 1 ? (float)count / (float)(count - 1) : 1.0f;
    for (int c = 0; c < channels; c++) {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * batch_mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbias * batch_var[c];
    }
}
