/* JPEG files through TurboJPEG (libjpeg-turbo 2.1 API).
 *
 * Decoding converts to the channels asked for (1: gray, 3: RGB) whatever the
 * file holds, and can resize the shorter side: TurboJPEG's scaled decoding
 * first goes down to the smallest of the factors 1/2, 1/4, 1/8 that keeps the
 * shorter side at or above the target (when one does), then cbd_image_resize
 * (store/image.h) gives the exact size. A corrupt or truncated file (including data
 * that libjpeg only warns about, such as a premature end) is an error naming
 * the file; nothing is ever half-decoded into the caller's image silently.
 *
 * A decoder is not shared between threads: create one per thread (it costs
 * well under a microsecond). */
#ifndef CBD_JPEG_H
#define CBD_JPEG_H

#include <stddef.h>

#include "store/image.h"

/* Larger images are refused (a guard against corrupt headers). */
#define CBD_JPEG_MAX_PIXELS ((size_t)1 << 28)

typedef struct cbd_jpeg_decoder cbd_jpeg_decoder;

/* Returns NULL with a message in err when TurboJPEG cannot start. */
cbd_jpeg_decoder *cbd_jpeg_decoder_create(char *err, size_t err_len);
void cbd_jpeg_decoder_free(cbd_jpeg_decoder *d);

/* Decodes JPEG data held in memory; `name` is used in messages. channels: 1
 * or 3; resize > 0: the shorter side becomes `resize` (cbd_image_resized_size),
 * 0: decoded at full size. Returns 0, or -1 with "NAME: what is wrong" in err. */
int cbd_jpeg_decode_memory(cbd_jpeg_decoder *d, const unsigned char *data, size_t len,
                           const char *name, int channels, int resize, cbd_image *img, char *err,
                           size_t err_len);

/* Reads the file at path whole and decodes it as above. */
int cbd_jpeg_decode_file(cbd_jpeg_decoder *d, const char *path, int channels, int resize,
                         cbd_image *img, char *err, size_t err_len);

/* Encodes img (1 channel: a grayscale JPEG; 3: RGB, no chroma subsampling) at
 * quality 1..100 and writes it to path atomically (path.tmp.PID, then rename;
 * no fsync: sets of many files record their completeness elsewhere). Returns 0
 * or -1 with err. */
int cbd_jpeg_encode_file(const char *path, const cbd_image *img, int quality, char *err,
                         size_t err_len);

#endif
