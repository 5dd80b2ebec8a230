/* Augmented views of an image: view(i, s) = augment(image_i, rng(seed, i, s)).
 *
 * The output is a pure function of (config, source pixels, seed, image
 * index, view): every random number is a Philox block at a fixed position,
 * no state is shared between calls, and the float work is done by the same
 * operations in the same order whatever thread or order the views are made
 * in. This is what lets a feature store hold the teacher features of view s
 * and the student be shown exactly that view later.
 *
 * Pipeline of a view (torchvision semantics unless said otherwise):
 *   1. geometry, on 8-bit pixels, integer-exact:
 *      pad_random      zero-pad by `pad`, then a random out_size window
 *                      (top-left offset uniform in [-pad, W - out_size + pad];
 *                      when the padded image is still smaller than out_size
 *                      the window is centred);
 *      random_resized  RandomResizedCrop: area fraction in [scale_min,
 *                      scale_max], log-uniform aspect ratio in [ratio_min,
 *                      ratio_max], 10 attempts, then the centre-crop fallback;
 *                      the box is resized to out_size x out_size by PIL's
 *                      bilinear filter (antialiased when shrinking) in 8-bit
 *                      fixed point, as torchvision does on PIL images;
 *      none            the centre view (below);
 *   2. horizontal flip with probability 1/2 when `flip`;
 *   3. when `color` (the data-augmentation teachers): with probability
 *      jitter_p, brightness, contrast, saturation and hue jitter in a random
 *      order (ColorJitter on float tensors; saturation and hue do nothing to
 *      1-channel images); then grayscale with probability grayscale_p (RGB
 *      only, 3 channels out); then Gaussian noise of standard deviation
 *      noise_sigma added to the [0, 1] pixels (not clamped);
 *   4. normalisation (p / 255 - mean_c) / std_c into float [C, S, S].
 *
 * The centre view (cbd_augment_center, and crop = none) is torchvision's
 * CenterCrop(out_size): the middle out_size x out_size window, zero-padded
 * where the image is smaller; no randomness, no resampling. Resizing the
 * shorter side first (Resize(256) + CenterCrop(224)) is the dataset's
 * `resize` setting.
 *
 * Random positions: draw block k of view s of image i is
 * cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, i, s * 64 + k):
 *   block 0   words: flip, jitter applied, grayscale applied, jitter order
 *   block 1   words: brightness, contrast, saturation, hue factors
 *   block 2   words: pad_random x offset, y offset; random_resized top, left
 *   block 3+t words 0, 1: random_resized attempt t (area, log aspect), t < 10
 * Noise: block j (4 normals, Box-Muller on word pairs) at
 * cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, 2^63 | s << 40 | i, j); normal
 * m goes to element m of the [C, S, S] output. Limits: i < 2^40, s < 2^23. */
#ifndef CBD_AUGMENT_H
#define CBD_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "store/image.h"

#ifndef CBD_CROP_KIND_DEFINED
#define CBD_CROP_KIND_DEFINED
typedef enum {
    CBD_CROP_PAD_RANDOM = 0,
    CBD_CROP_RANDOM_RESIZED = 1,
    CBD_CROP_NONE = 2
} cbd_crop_kind;
#endif

typedef struct {
    int out_size;                /* S: views are S x S */
    int out_channels;            /* 1 or 3; a 1-channel image is repeated into 3 */
    cbd_crop_kind crop;
    int pad;                     /* pad_random: zero border */
    int flip;                    /* horizontal flip with p = 1/2 */
    float scale_min, scale_max;  /* random_resized: area fraction, 0 < min <= max <= 1 */
    float ratio_min, ratio_max;  /* random_resized: aspect ratio w/h, 0 < min <= max */
    int color;                   /* colour jitter, grayscale and noise (data-augmentation teachers) */
    float brightness, contrast, saturation; /* factor uniform in [max(0, 1 - x), 1 + x]; 0 = off */
    float hue;                   /* hue shift uniform in [-hue, hue], hue <= 0.5; 0 = off */
    float jitter_p;              /* probability of the colour jitter */
    float grayscale_p;           /* probability of grayscale */
    float noise_sigma;           /* Gaussian noise on [0, 1] pixels; 0 = off */
    float mean[3], std[3];       /* normalisation per output channel */
} cbd_augment_config;

/* Per-thread working memory; zero-initialise, reuse across calls, free with
 * cbd_augment_scratch_free. */
typedef struct {
    uint8_t *pixels;      /* [S, S, C] geometry output */
    uint8_t *rows;        /* resize: horizontal pass [rows, S, C] */
    size_t pixels_cap, rows_cap;
    int32_t *coef;        /* resize: fixed-point filter coefficients */
    int *bounds;          /* resize: first source pixel and tap count per output pixel */
    size_t coef_cap, bounds_cap;
    float lut[3][256];    /* normalisation table for lut_mean / lut_std */
    float lut_mean[3], lut_std[3];
    int lut_channels;     /* 0 = table not built */
} cbd_augment_scratch;

void cbd_augment_scratch_free(cbd_augment_scratch *s);

/* Checks ranges (sizes, probabilities, factors, std > 0). Returns 0, or -1
 * with a message naming the field. */
int cbd_augment_config_check(const cbd_augment_config *cfg, char *err, size_t err_len);

/* A canonical one-line description of everything that changes a view, for
 * store attributes and logs ("crop=pad_random size=32 ..."). Returns the
 * length snprintf would have written. */
int cbd_augment_config_describe(const cbd_augment_config *cfg, char *out, size_t out_len);

/* The random choices of one view, for tests and for logs. */
typedef struct {
    int x0, y0, w, h;       /* source box; x0, y0 may be negative (zero padding) */
    int resize;             /* the box is resized to S x S (else copied) */
    int flip;
    int jitter;             /* colour jitter applied */
    int order[4];           /* 0 brightness, 1 contrast, 2 saturation, 3 hue */
    float brightness, contrast, saturation, hue;
    int grayscale;
} cbd_augment_params;

/* The choices view `view` of image `image_index` (width x height pixels)
 * makes under cfg. */
void cbd_augment_draw(const cbd_augment_config *cfg, int width, int height, uint64_t seed,
                      int64_t image_index, uint32_t view, cbd_augment_params *p);

/* Writes view `view` of image `image_index` to out[C, S, S].
 * src->channels must be cfg->out_channels, or 1. */
void cbd_augment_view(const cbd_augment_config *cfg, const cbd_image *src, uint64_t seed,
                      int64_t image_index, uint32_t view, float *out, cbd_augment_scratch *scratch);

/* The un-augmented view (centre crop, normalised) to out[C, S, S]. */
void cbd_augment_center(const cbd_augment_config *cfg, const cbd_image *src, float *out,
                        cbd_augment_scratch *scratch);

#endif
