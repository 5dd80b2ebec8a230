#include "store/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

void cbd_image_reserve(cbd_image *img, int width, int height, int channels) {
    CBD_ASSERT(width > 0 && height > 0 && (channels == 1 || channels == 3), "image %dx%dx%d", width,
               height, channels);
    size_t need = (size_t)width * (size_t)height * (size_t)channels;
    if (need > img->capacity) {
        uint8_t *grown = realloc(img->pixels, need);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating a %dx%dx%d image", width, height,
                             channels);
        img->pixels = grown;
        img->capacity = need;
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
}

void cbd_image_free(cbd_image *img) {
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

void cbd_image_resized_size(int width, int height, int shorter, int *out_width, int *out_height) {
    if (width <= height) {
        *out_width = shorter;
        *out_height = (int)((int64_t)shorter * height / width);
    } else {
        *out_height = shorter;
        *out_width = (int)((int64_t)shorter * width / height);
    }
    if (*out_width < 1) *out_width = 1;
    if (*out_height < 1) *out_height = 1;
}

/* ---- resampling -------------------------------------------------------------- */

/* How each output position along one axis mixes source positions: `taps`
 * (index, weight) pairs per output, weights summing to 1. */
typedef struct {
    int taps;
    int *index;     /* [out * taps] */
    float *weight;  /* [out * taps] */
} axis_filter;

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void bilinear_taps(axis_filter *f, int in, int out, double scale) {
    for (int o = 0; o < out; o++) {
        double centre = (o + 0.5) * scale - 0.5;
        double lower = floor(centre);
        float t = (float)(centre - lower);
        int i0 = (int)lower;
        f->index[2 * o] = clamp_int(i0, 0, in - 1);
        f->index[2 * o + 1] = clamp_int(i0 + 1, 0, in - 1);
        f->weight[2 * o] = 1.0f - t;
        f->weight[2 * o + 1] = t;
    }
}

/* Each output covers [o * scale, (o + 1) * scale) of the source; sources
 * weigh by how much of them it covers. */
static void area_taps(axis_filter *f, int in, int out, double scale) {
    for (int o = 0; o < out; o++) {
        double a = o * scale, b = (o + 1) * scale;
        int first = (int)floor(a);
        for (int t = 0; t < f->taps; t++) {
            int j = first + t;
            double lo = a > j ? a : j, hi = b < j + 1 ? b : j + 1;
            double covered = j < in && hi > lo ? hi - lo : 0.0;
            f->index[o * f->taps + t] = clamp_int(j, 0, in - 1);
            f->weight[o * f->taps + t] = (float)(covered / scale);
        }
    }
}

static void axis_filter_make(axis_filter *f, int in, int out) {
    double scale = (double)in / out;
    int area = scale > 2.0;
    f->taps = area ? (int)ceil(scale) + 1 : 2;
    f->index = cbd_malloc((size_t)out * f->taps * sizeof *f->index);
    f->weight = cbd_malloc((size_t)out * f->taps * sizeof *f->weight);
    if (area) area_taps(f, in, out, scale);
    else bilinear_taps(f, in, out, scale);
}

static void axis_filter_free(axis_filter *f) {
    free(f->index);
    free(f->weight);
}

static uint8_t to_u8(float v) {
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

void cbd_image_resize(const cbd_image *src, cbd_image *dst, int width, int height) {
    CBD_ASSERT(src != dst, "resize in place");
    const int c = src->channels;
    axis_filter fx, fy;
    axis_filter_make(&fx, src->width, width);
    axis_filter_make(&fy, src->height, height);
    /* Rows first: [src height, width, c] floats, then columns. */
    float *rows = cbd_malloc((size_t)src->height * width * c * sizeof(float));
    for (int y = 0; y < src->height; y++) {
        const uint8_t *in = cbd_image_row(src, y);
        float *out = rows + (size_t)y * width * c;
        for (int x = 0; x < width; x++)
            for (int k = 0; k < c; k++) {
                float s = 0.0f;
                for (int t = 0; t < fx.taps; t++)
                    s += fx.weight[x * fx.taps + t] * in[fx.index[x * fx.taps + t] * c + k];
                out[x * c + k] = s;
            }
    }
    cbd_image_reserve(dst, width, height, c);
    const size_t row_len = (size_t)width * c;
    for (int y = 0; y < height; y++) {
        uint8_t *out = cbd_image_row(dst, y);
        for (size_t i = 0; i < row_len; i++) {
            float s = 0.0f;
            for (int t = 0; t < fy.taps; t++)
                s += fy.weight[y * fy.taps + t] * rows[fy.index[y * fy.taps + t] * row_len + i];
            out[i] = to_u8(s);
        }
    }
    free(rows);
    axis_filter_free(&fx);
    axis_filter_free(&fy);
}

int cbd_image_center_crop(const cbd_image *src, cbd_image *dst, int width, int height) {
    CBD_ASSERT(src != dst, "crop in place");
    if (src->width < width || src->height < height) return -1;
    const int x0 = (src->width - width) / 2, y0 = (src->height - height) / 2;
    const size_t row_bytes = (size_t)width * src->channels;
    cbd_image_reserve(dst, width, height, src->channels);
    for (int y = 0; y < height; y++)
        memcpy(cbd_image_row(dst, y), cbd_image_row(src, y0 + y) + (size_t)x0 * src->channels, row_bytes);
    return 0;
}

/* libjpeg's RGB -> Y: FIX(0.299), FIX(0.587), FIX(0.114) with 16 fraction bits. */
static uint8_t luminance(const uint8_t *rgb) {
    return (uint8_t)((19595u * rgb[0] + 38470u * rgb[1] + 7471u * rgb[2] + 32768u) >> 16);
}

void cbd_image_convert(const cbd_image *src, cbd_image *dst, int channels) {
    CBD_ASSERT(src != dst, "convert in place");
    const size_t n = (size_t)src->width * src->height;
    cbd_image_reserve(dst, src->width, src->height, channels);
    if (src->channels == channels) {
        memcpy(dst->pixels, src->pixels, n * channels);
    } else if (channels == 1) {
        for (size_t i = 0; i < n; i++) dst->pixels[i] = luminance(src->pixels + 3 * i);
    } else {
        for (size_t i = 0; i < n; i++) memset(dst->pixels + 3 * i, src->pixels[i], 3);
    }
}
