#include "views/augment.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/rng.h"

#define BLOCKS_PER_VIEW 64u
#define BLOCK_CHOICES 0u
#define BLOCK_FACTORS 1u
#define BLOCK_OFFSETS 2u
#define BLOCK_ATTEMPTS 3u
#define RRC_ATTEMPTS 10
#define NOISE_FLAG ((uint64_t)1 << 63)
#define MAX_IMAGE_INDEX ((int64_t)1 << 40)
#define MAX_NOISE_VIEW ((uint32_t)1 << 23)

/* PIL's fixed point for 8-bit resampling. */
#define PRECISION_BITS (32 - 8 - 2)

void cbd_augment_scratch_free(cbd_augment_scratch *s) {
    free(s->pixels);
    free(s->rows);
    free(s->coef);
    free(s->bounds);
    memset(s, 0, sizeof *s);
}

static void *grow(void *p, size_t *cap, size_t need) {
    if (need <= *cap) return p;
    void *q = realloc(p, need);
    if (!q) CBD_PANIC("out of memory (%zu bytes)", need);
    *cap = need;
    return q;
}

static const char *crop_name(cbd_crop_kind k) {
    switch (k) {
    case CBD_CROP_PAD_RANDOM: return "pad_random";
    case CBD_CROP_RANDOM_RESIZED: return "random_resized";
    case CBD_CROP_NONE: return "none";
    }
    return "unknown";
}

int cbd_augment_config_check(const cbd_augment_config *c, char *err, size_t err_len) {
#define BAD(...) do { snprintf(err, err_len, __VA_ARGS__); return -1; } while (0)
    if (c->out_size < 1 || c->out_size > 16384) BAD("view size %d: must be 1..16384", c->out_size);
    if (c->out_channels != 1 && c->out_channels != 3) BAD("view channels %d: must be 1 or 3", c->out_channels);
    if (c->crop != CBD_CROP_PAD_RANDOM && c->crop != CBD_CROP_RANDOM_RESIZED && c->crop != CBD_CROP_NONE)
        BAD("unknown crop kind %d", (int)c->crop);
    if (c->crop == CBD_CROP_PAD_RANDOM && (c->pad < 0 || c->pad > 4096)) BAD("pad %d: must be 0..4096", c->pad);
    if (c->crop == CBD_CROP_RANDOM_RESIZED) {
        if (!(c->scale_min > 0.0f && c->scale_min <= c->scale_max && c->scale_max <= 1.0f))
            BAD("scale %g..%g: need 0 < min <= max <= 1", c->scale_min, c->scale_max);
        if (!(c->ratio_min > 0.0f && c->ratio_min <= c->ratio_max && isfinite(c->ratio_max)))
            BAD("ratio %g..%g: need 0 < min <= max", c->ratio_min, c->ratio_max);
    }
    if (c->color) {
        if (!(c->brightness >= 0.0f && isfinite(c->brightness))) BAD("brightness %g: must be >= 0", c->brightness);
        if (!(c->contrast >= 0.0f && isfinite(c->contrast))) BAD("contrast %g: must be >= 0", c->contrast);
        if (!(c->saturation >= 0.0f && isfinite(c->saturation))) BAD("saturation %g: must be >= 0", c->saturation);
        if (!(c->hue >= 0.0f && c->hue <= 0.5f)) BAD("hue %g: must be in [0, 0.5]", c->hue);
        if (!(c->jitter_p >= 0.0f && c->jitter_p <= 1.0f)) BAD("jitter probability %g: must be in [0, 1]", c->jitter_p);
        if (!(c->grayscale_p >= 0.0f && c->grayscale_p <= 1.0f))
            BAD("grayscale probability %g: must be in [0, 1]", c->grayscale_p);
        if (!(c->noise_sigma >= 0.0f && isfinite(c->noise_sigma))) BAD("noise sigma %g: must be >= 0", c->noise_sigma);
    }
    for (int k = 0; k < c->out_channels; k++) {
        if (!isfinite(c->mean[k])) BAD("mean[%d] %g is not finite", k, c->mean[k]);
        if (!(c->std[k] > 0.0f && isfinite(c->std[k]))) BAD("std[%d] %g: must be > 0", k, c->std[k]);
    }
    return 0;
#undef BAD
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    const int m = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (m > 0) *len += (size_t)m;
}

int cbd_augment_config_describe(const cbd_augment_config *c, char *out, size_t out_len) {
    char buf[1024];
    size_t n = 0;
    append(buf, sizeof buf, &n, "size=%d channels=%d crop=%s", c->out_size, c->out_channels, crop_name(c->crop));
    if (c->crop == CBD_CROP_PAD_RANDOM) append(buf, sizeof buf, &n, " pad=%d", c->pad);
    if (c->crop == CBD_CROP_RANDOM_RESIZED)
        append(buf, sizeof buf, &n, " scale=%.9g,%.9g ratio=%.9g,%.9g", c->scale_min, c->scale_max, c->ratio_min,
               c->ratio_max);
    append(buf, sizeof buf, &n, " flip=%d color=%d", c->flip ? 1 : 0, c->color ? 1 : 0);
    if (c->color)
        append(buf, sizeof buf, &n,
               " brightness=%.9g contrast=%.9g saturation=%.9g hue=%.9g jitter_p=%.9g grayscale_p=%.9g noise=%.9g",
               c->brightness, c->contrast, c->saturation, c->hue, c->jitter_p, c->grayscale_p, c->noise_sigma);
    for (int k = 0; k < c->out_channels && k < 3; k++) append(buf, sizeof buf, &n, "%s%.9g", k ? "," : " mean=", c->mean[k]);
    for (int k = 0; k < c->out_channels && k < 3; k++) append(buf, sizeof buf, &n, "%s%.9g", k ? "," : " std=", c->std[k]);
    return snprintf(out, out_len, "%s", buf);
}

/* ---- random choices ----------------------------------------------------- */

static inline cbd_philox_block view_block(uint64_t seed, int64_t image, uint32_t view, uint32_t k) {
    return cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, (uint64_t)image, view * BLOCKS_PER_VIEW + k);
}

/* Uniform integer in [0, n), n <= 2^32, from one word. */
static inline int randint(uint32_t word, int64_t n) { return (int)(((uint64_t)word * (uint64_t)n) >> 32); }

static inline double unit(uint32_t word) { return (double)cbd_u32_to_unit(word); }

/* torchvision CenterCrop: the image is zero-padded to at least `out` (the
 * smaller margin first), then the window starts at round((size - out) / 2). */
static int center_offset(int size, int out) {
    if (size < out) return -((out - size) / 2);
    return (int)nearbyint((double)(size - out) / 2.0);
}

static void random_resized_box(const cbd_augment_config *cfg, int W, int H, uint64_t seed, int64_t image,
                               uint32_t view, cbd_augment_params *p) {
    const double area = (double)W * (double)H;
    const double smin = cfg->scale_min, smax = cfg->scale_max;
    const double lrmin = log((double)cfg->ratio_min), lrmax = log((double)cfg->ratio_max);
    const cbd_philox_block off = view_block(seed, image, view, BLOCK_OFFSETS);
    for (int t = 0; t < RRC_ATTEMPTS; t++) {
        const cbd_philox_block b = view_block(seed, image, view, BLOCK_ATTEMPTS + (uint32_t)t);
        const double target = area * (smin + (smax - smin) * unit(b.v[0]));
        const double aspect = exp(lrmin + (lrmax - lrmin) * unit(b.v[1]));
        const double wf = nearbyint(sqrt(target * aspect)), hf = nearbyint(sqrt(target / aspect));
        if (wf > 0.0 && wf <= W && hf > 0.0 && hf <= H) {
            p->w = (int)wf;
            p->h = (int)hf;
            p->y0 = randint(off.v[2], H - p->h + 1);
            p->x0 = randint(off.v[3], W - p->w + 1);
            return;
        }
    }
    const double in_ratio = (double)W / (double)H;
    int w = W, h = H;
    if (in_ratio < cfg->ratio_min)
        h = (int)nearbyint(w / (double)cfg->ratio_min);
    else if (in_ratio > cfg->ratio_max)
        w = (int)nearbyint(h * (double)cfg->ratio_max);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    if (w > W) w = W;
    if (h > H) h = H;
    p->w = w;
    p->h = h;
    p->y0 = (H - h) / 2;
    p->x0 = (W - w) / 2;
}

void cbd_augment_draw(const cbd_augment_config *cfg, int W, int H, uint64_t seed, int64_t image,
                      uint32_t view, cbd_augment_params *p) {
    CBD_ASSERT(image >= 0 && image < MAX_IMAGE_INDEX, "image index %lld", (long long)image);
    CBD_ASSERT(view < UINT32_MAX / BLOCKS_PER_VIEW, "view %u", view);
    memset(p, 0, sizeof *p);
    const int S = cfg->out_size;
    p->w = p->h = S;
    p->x0 = center_offset(W, S);
    p->y0 = center_offset(H, S);
    if (cfg->crop == CBD_CROP_PAD_RANDOM) {
        const cbd_philox_block off = view_block(seed, image, view, BLOCK_OFFSETS);
        const int xlo = -cfg->pad, xhi = W - S + cfg->pad, ylo = -cfg->pad, yhi = H - S + cfg->pad;
        if (xhi >= xlo) p->x0 = xlo + randint(off.v[0], (int64_t)xhi - xlo + 1);
        if (yhi >= ylo) p->y0 = ylo + randint(off.v[1], (int64_t)yhi - ylo + 1);
    } else if (cfg->crop == CBD_CROP_RANDOM_RESIZED) {
        random_resized_box(cfg, W, H, seed, image, view, p);
        p->resize = 1;
    }
    const cbd_philox_block c = view_block(seed, image, view, BLOCK_CHOICES);
    p->flip = cfg->flip && (c.v[0] >> 31);
    for (int k = 0; k < 4; k++) p->order[k] = k;
    if (!cfg->color) return;
    p->jitter = unit(c.v[1]) < (double)cfg->jitter_p;
    p->grayscale = cfg->out_channels == 3 && unit(c.v[2]) < (double)cfg->grayscale_p;
    /* the permutation of rank c.v[3] mod 24 (Lehmer code) */
    int rank = (int)(c.v[3] % 24u), pool[4] = {0, 1, 2, 3}, left = 4;
    for (int k = 0; k < 4; k++) {
        int f = 1;
        for (int m = 2; m < left; m++) f *= m;
        const int pick = rank / f;
        rank %= f;
        p->order[k] = pool[pick];
        for (int m = pick; m < left - 1; m++) pool[m] = pool[m + 1];
        left--;
    }
    const cbd_philox_block f = view_block(seed, image, view, BLOCK_FACTORS);
    const float fb = cfg->brightness, fc = cfg->contrast, fs = cfg->saturation;
    p->brightness = fmaxf(0.0f, 1.0f - fb) + (1.0f + fb - fmaxf(0.0f, 1.0f - fb)) * cbd_u32_to_unit(f.v[0]);
    p->contrast = fmaxf(0.0f, 1.0f - fc) + (1.0f + fc - fmaxf(0.0f, 1.0f - fc)) * cbd_u32_to_unit(f.v[1]);
    p->saturation = fmaxf(0.0f, 1.0f - fs) + (1.0f + fs - fmaxf(0.0f, 1.0f - fs)) * cbd_u32_to_unit(f.v[2]);
    p->hue = -cfg->hue + 2.0f * cfg->hue * cbd_u32_to_unit(f.v[3]);
}

/* ---- geometry: 8-bit, integer-exact -------------------------------------- */

/* Copies the S x S window at (x0, y0) of src into dst [S, S, C], zeros
 * outside the image; mirrored when flip. */
static void copy_window(const cbd_image *src, int x0, int y0, int S, int C, int flip, uint8_t *dst) {
    const int sc = src->channels;
    for (int y = 0; y < S; y++) {
        uint8_t *d = dst + (size_t)y * S * C;
        const int sy = y0 + y;
        if (sy < 0 || sy >= src->height) {
            memset(d, 0, (size_t)S * C);
            continue;
        }
        const uint8_t *row = cbd_image_row(src, sy);
        for (int x = 0; x < S; x++) {
            const int sx = x0 + (flip ? S - 1 - x : x);
            uint8_t *o = d + (size_t)x * C;
            if (sx < 0 || sx >= src->width) {
                for (int c = 0; c < C; c++) o[c] = 0;
            } else if (sc == C) {
                for (int c = 0; c < C; c++) o[c] = row[(size_t)sx * sc + c];
            } else {
                for (int c = 0; c < C; c++) o[c] = row[sx];
            }
        }
    }
}

static inline double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter:
 * in_size source pixels to out_size; bounds[2 * o] = first source pixel,
 * bounds[2 * o + 1] = taps; coef[o * ksize + k]. Returns ksize. */
static int resample_coefficients(int in_size, int out_size, int *bounds, int32_t *coef, int ksize_cap) {
    const double scale = (double)in_size / (double)out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 1.0 * filterscale;
    const int ksize = (int)ceil(support) * 2 + 1;
    CBD_ASSERT(ksize <= ksize_cap, "ksize %d > %d", ksize, ksize_cap);
    for (int xx = 0; xx < out_size; xx++) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) ww += bilinear_filter((x + xmin - center + 0.5) * ss);
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? bilinear_filter((x + xmin - center + 0.5) * ss) : 0.0;
            if (ww != 0.0) v /= ww;
            coef[(size_t)xx * ksize + x] =
                v < 0.0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    return ksize;
}

static inline uint8_t clip8(int32_t v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

static int ksize_for(int in_size, int out_size) {
    const double scale = (double)in_size / (double)out_size;
    return (int)ceil(scale < 1.0 ? 1.0 : scale) * 2 + 1;
}

/* Resizes the box (x0, y0, w, h), inside src, to dst [S, S, C]: a
 * horizontal pass over the box's rows, then a vertical pass, each rounded
 * to 8 bits, as PIL does. */
static void resize_box(const cbd_image *src, int x0, int y0, int w, int h, int S, int C, uint8_t *dst,
                       cbd_augment_scratch *sc) {
    const int kw = ksize_for(w, S), kh = ksize_for(h, S);
    sc->coef = grow(sc->coef, &sc->coef_cap, ((size_t)kw + kh) * S * sizeof(int32_t));
    sc->bounds = grow(sc->bounds, &sc->bounds_cap, (size_t)4 * S * sizeof(int));
    sc->rows = grow(sc->rows, &sc->rows_cap, (size_t)h * S * C);
    int32_t *cw = sc->coef, *ch = sc->coef + (size_t)kw * S;
    int *bw = sc->bounds, *bh = sc->bounds + 2 * S;
    const int srcc = src->channels;

    /* horizontal: rows [h, S, C] */
    if (w == S) {
        for (int y = 0; y < h; y++) {
            const uint8_t *row = cbd_image_row(src, y0 + y) + (size_t)x0 * srcc;
            uint8_t *o = sc->rows + (size_t)y * S * C;
            for (int x = 0; x < S; x++)
                for (int c = 0; c < C; c++) o[(size_t)x * C + c] = row[(size_t)x * srcc + (srcc == C ? c : 0)];
        }
    } else {
        resample_coefficients(w, S, bw, cw, kw);
        for (int y = 0; y < h; y++) {
            const uint8_t *row = cbd_image_row(src, y0 + y) + (size_t)x0 * srcc;
            uint8_t *o = sc->rows + (size_t)y * S * C;
            for (int x = 0; x < S; x++) {
                const int xmin = bw[2 * x], taps = bw[2 * x + 1];
                const int32_t *k = cw + (size_t)x * kw;
                for (int c = 0; c < C; c++) {
                    const int cs = srcc == C ? c : 0;
                    int32_t ss = 1 << (PRECISION_BITS - 1);
                    for (int t = 0; t < taps; t++) ss += row[(size_t)(xmin + t) * srcc + cs] * k[t];
                    o[(size_t)x * C + c] = clip8(ss);
                }
            }
        }
    }
    /* vertical: [S, S, C] */
    if (h == S) {
        memcpy(dst, sc->rows, (size_t)S * S * C);
        return;
    }
    resample_coefficients(h, S, bh, ch, kh);
    const size_t stride = (size_t)S * C;
    for (int y = 0; y < S; y++) {
        const int ymin = bh[2 * y], taps = bh[2 * y + 1];
        const int32_t *k = ch + (size_t)y * kh;
        uint8_t *o = dst + (size_t)y * stride;
        for (size_t e = 0; e < stride; e++) {
            int32_t ss = 1 << (PRECISION_BITS - 1);
            for (int t = 0; t < taps; t++) ss += sc->rows[(size_t)(ymin + t) * stride + e] * k[t];
            o[e] = clip8(ss);
        }
    }
}

static void flip_rows(uint8_t *pix, int S, int C) {
    for (int y = 0; y < S; y++) {
        uint8_t *row = pix + (size_t)y * S * C;
        for (int a = 0, b = S - 1; a < b; a++, b--)
            for (int c = 0; c < C; c++) {
                const uint8_t t = row[(size_t)a * C + c];
                row[(size_t)a * C + c] = row[(size_t)b * C + c];
                row[(size_t)b * C + c] = t;
            }
    }
}

/* ---- colour, on float [C, S, S] in [0, 1] ------------------------------- */

static inline float clamp01(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
static inline float gray_of(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

static void adjust_brightness(float *x, size_t count, float f) {
    for (size_t e = 0; e < count; e++) x[e] = clamp01(f * x[e]);
}

static void adjust_contrast(float *x, size_t plane, int C, float f) {
    double sum = 0.0;
    if (C == 3)
        for (size_t e = 0; e < plane; e++) sum += gray_of(x[e], x[plane + e], x[2 * plane + e]);
    else
        for (size_t e = 0; e < plane; e++) sum += x[e];
    const float mean = (float)(sum / (double)plane);
    const float base = (1.0f - f) * mean;
    for (size_t e = 0; e < plane * (size_t)C; e++) x[e] = clamp01(f * x[e] + base);
}

static void adjust_saturation(float *x, size_t plane, float f) {
    float *r = x, *g = x + plane, *b = x + 2 * plane;
    for (size_t e = 0; e < plane; e++) {
        const float l = (1.0f - f) * gray_of(r[e], g[e], b[e]);
        r[e] = clamp01(f * r[e] + l);
        g[e] = clamp01(f * g[e] + l);
        b[e] = clamp01(f * b[e] + l);
    }
}

/* torchvision's _rgb2hsv, hue shift modulo 1, _hsv2rgb. */
static void adjust_hue(float *x, size_t plane, float shift) {
    float *R = x, *G = x + plane, *B = x + 2 * plane;
    for (size_t e = 0; e < plane; e++) {
        const float r = R[e], g = G[e], b = B[e];
        const float mx = r > g ? r : g, mn = r < g ? r : g;
        const float maxc = mx > b ? mx : b, minc = mn < b ? mn : b;
        const int eqc = maxc == minc;
        const float cr = maxc - minc;
        const float s = cr / (eqc ? 1.0f : maxc);
        const float div = eqc ? 1.0f : cr;
        const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
        const float h_r = bc - gc, h_g = 2.0f + rc - bc, h_b = 4.0f + gc - rc;
        float h = maxc == r ? h_r : maxc == g ? h_g : h_b;
        /* x - floor(x) is exactly Python's x % 1.0 here (|x| < 2) */
        h = h / 6.0f + 1.0f;
        h = h - floorf(h);
        h = h + shift;
        h = h - floorf(h);
        const float i6 = floorf(h * 6.0f);
        const float f = h * 6.0f - i6;
        const int i = ((int)i6 % 6 + 6) % 6;
        /* a1..a3 of torchvision's _hsv2rgb, as indices into {v, q, p, t} */
        static const uint8_t pick[3][6] = {{0, 1, 2, 2, 3, 0}, {3, 0, 0, 1, 2, 2}, {2, 2, 3, 0, 0, 1}};
        const float vals[4] = {maxc, clamp01(maxc * (1.0f - s * f)), clamp01(maxc * (1.0f - s)),
                               clamp01(maxc * (1.0f - s * (1.0f - f)))};
        const float o0 = vals[pick[0][i]], o1 = vals[pick[1][i]], o2 = vals[pick[2][i]];
        R[e] = o0;
        G[e] = o1;
        B[e] = o2;
    }
}

static void to_grayscale(float *x, size_t plane) {
    for (size_t e = 0; e < plane; e++) {
        const float l = gray_of(x[e], x[plane + e], x[2 * plane + e]);
        x[e] = x[plane + e] = x[2 * plane + e] = l;
    }
}

static void add_noise(float *x, size_t count, float sigma, uint64_t seed, int64_t image, uint32_t view) {
    CBD_ASSERT(view < MAX_NOISE_VIEW, "view %u: noise supports views below 2^23", view);
    const uint64_t a = NOISE_FLAG | (uint64_t)view << 40 | (uint64_t)image;
    for (size_t j = 0; j * 4 < count; j++) {
        CBD_ASSERT(j <= UINT32_MAX, "view too large for the noise counter");
        const cbd_philox_block b = cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, a, (uint32_t)j);
        float n[4];
        for (int pair = 0; pair < 2; pair++) {
            /* Box-Muller on 24-bit uniforms, u1 in (0, 1] */
            const float u1 = ((float)(b.v[2 * pair] >> 8) + 1.0f) * (1.0f / 16777216.0f);
            const float u2 = (float)(b.v[2 * pair + 1] >> 8) * (1.0f / 16777216.0f);
            const float r = sqrtf(-2.0f * logf(u1)), th = 6.28318530717958647692f * u2;
            n[2 * pair] = r * cosf(th);
            n[2 * pair + 1] = r * sinf(th);
        }
        for (size_t m = 0; m < 4 && j * 4 + m < count; m++) x[j * 4 + m] += sigma * n[m];
    }
}

/* ---- assembling a view --------------------------------------------------- */

static void build_lut(const cbd_augment_config *cfg, cbd_augment_scratch *sc) {
    const int C = cfg->out_channels;
    if (sc->lut_channels == C && memcmp(sc->lut_mean, cfg->mean, (size_t)C * sizeof(float)) == 0 &&
        memcmp(sc->lut_std, cfg->std, (size_t)C * sizeof(float)) == 0)
        return;
    for (int c = 0; c < C; c++) {
        for (int v = 0; v < 256; v++) sc->lut[c][v] = ((float)v / 255.0f - cfg->mean[c]) / cfg->std[c];
        sc->lut_mean[c] = cfg->mean[c];
        sc->lut_std[c] = cfg->std[c];
    }
    sc->lut_channels = C;
}

/* 8-bit [S, S, C] to normalised float [C, S, S]. */
static void normalise_pixels(const cbd_augment_config *cfg, const uint8_t *pix, float *out, cbd_augment_scratch *sc) {
    build_lut(cfg, sc);
    const int C = cfg->out_channels;
    const size_t plane = (size_t)cfg->out_size * cfg->out_size;
    for (int c = 0; c < C; c++) {
        const float *lut = sc->lut[c];
        float *o = out + (size_t)c * plane;
        for (size_t e = 0; e < plane; e++) o[e] = lut[pix[e * C + c]];
    }
}

static void check_source(const cbd_augment_config *cfg, const cbd_image *src) {
    CBD_ASSERT(src->width > 0 && src->height > 0 && src->pixels, "empty image %dx%d", src->width, src->height);
    CBD_ASSERT(src->channels == cfg->out_channels || src->channels == 1,
               "image has %d channels, views have %d", src->channels, cfg->out_channels);
}

void cbd_augment_view(const cbd_augment_config *cfg, const cbd_image *src, uint64_t seed, int64_t image_index,
                      uint32_t view, float *out, cbd_augment_scratch *sc) {
    check_source(cfg, src);
    const int S = cfg->out_size, C = cfg->out_channels;
    cbd_augment_params p;
    cbd_augment_draw(cfg, src->width, src->height, seed, image_index, view, &p);
    sc->pixels = grow(sc->pixels, &sc->pixels_cap, (size_t)S * S * C);
    if (p.resize) {
        resize_box(src, p.x0, p.y0, p.w, p.h, S, C, sc->pixels, sc);
        if (p.flip) flip_rows(sc->pixels, S, C);
    } else {
        copy_window(src, p.x0, p.y0, S, C, p.flip, sc->pixels);
    }
    const int noise = cfg->color && cfg->noise_sigma > 0.0f;
    if (!p.jitter && !p.grayscale && !noise) {
        normalise_pixels(cfg, sc->pixels, out, sc);
        return;
    }
    const size_t plane = (size_t)S * S;
    for (int c = 0; c < C; c++)
        for (size_t e = 0; e < plane; e++) out[(size_t)c * plane + e] = (float)sc->pixels[e * C + c] / 255.0f;
    if (p.jitter) {
        for (int k = 0; k < 4; k++) {
            switch (p.order[k]) {
            case 0:
                if (cfg->brightness > 0.0f) adjust_brightness(out, plane * C, p.brightness);
                break;
            case 1:
                if (cfg->contrast > 0.0f) adjust_contrast(out, plane, C, p.contrast);
                break;
            case 2:
                if (cfg->saturation > 0.0f && C == 3) adjust_saturation(out, plane, p.saturation);
                break;
            default:
                if (cfg->hue > 0.0f && C == 3) adjust_hue(out, plane, p.hue);
                break;
            }
        }
    }
    if (p.grayscale) to_grayscale(out, plane);
    if (noise) add_noise(out, plane * C, cfg->noise_sigma, seed, image_index, view);
    for (int c = 0; c < C; c++) {
        const float m = cfg->mean[c], s = cfg->std[c];
        float *o = out + (size_t)c * plane;
        for (size_t e = 0; e < plane; e++) o[e] = (o[e] - m) / s;
    }
}

void cbd_augment_center(const cbd_augment_config *cfg, const cbd_image *src, float *out, cbd_augment_scratch *sc) {
    check_source(cfg, src);
    const int S = cfg->out_size, C = cfg->out_channels;
    sc->pixels = grow(sc->pixels, &sc->pixels_cap, (size_t)S * S * C);
    copy_window(src, center_offset(src->width, S), center_offset(src->height, S), S, C, 0, sc->pixels);
    normalise_pixels(cfg, sc->pixels, out, sc);
}
