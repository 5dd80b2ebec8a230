/* A decoded image in host memory: 8-bit pixels, rows of interleaved channels
 * (H x W x C), C = 1 (gray) or 3 (RGB). */
#ifndef CBD_IMAGE_H
#define CBD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *pixels;  /* [height, width, channels] */
    int width, height, channels;
    size_t capacity;  /* bytes allocated at pixels (buffers are reused) */
} cbd_image;

/* Makes room for width x height x channels pixels (reallocating when needed)
 * and sets the dimensions. */
void cbd_image_reserve(cbd_image *img, int width, int height, int channels);
void cbd_image_free(cbd_image *img);

/* Size of an image whose shorter side is resized to `shorter`: the longer side
 * scales in proportion, truncated (torchvision's Resize(int)), at least 1. */
void cbd_image_resized_size(int width, int height, int shorter, int *out_width, int *out_height);

/* Resamples src into dst at width x height (same channels): bilinear with
 * pixel centres aligned (OpenCV / PIL convention) where an axis shrinks by at
 * most 2x or grows; area averaging where it shrinks by more. src != dst. */
void cbd_image_resize(const cbd_image *src, cbd_image *dst, int width, int height);

/* Copies the centred width x height window of src into dst (offsets rounded
 * down, as torchvision's CenterCrop). Returns -1 when src is smaller. */
int cbd_image_center_crop(const cbd_image *src, cbd_image *dst, int width, int height);

/* Copies src into dst with `channels` channels: 3 -> 1 is the luminance a
 * JPEG encoder stores, Y = 0.299 R + 0.587 G + 0.114 B in libjpeg's fixed
 * point (what decoding a colour JPEG to gray gives back); 1 -> 3 replicates.
 * src != dst. */
void cbd_image_convert(const cbd_image *src, cbd_image *dst, int channels);

static inline uint8_t *cbd_image_row(const cbd_image *img, int y) {
    return img->pixels + (size_t)y * img->width * img->channels;
}

#endif
