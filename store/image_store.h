/* The packed image store: decoded images of one size in an HDF5 file, so
 * that epochs over small images do not decode JPEGs again.
 *
 *   /images       [N, H, W, C] uint8, chunked by groups of whole images
 *                 (about 64 KiB a chunk, at least one image), Fletcher32
 *   /labels       [N] int32, Fletcher32
 *   /paths        [N] strings: where each image came from (the manifest's
 *                 relative path, or "FILE#INDEX" for IDX imports)
 *   /class_names  [classes] strings (optional)
 *   attributes of /: format "cbd-image-store", format_version 1,
 *                 program_version, classes, channels, height, width,
 *                 manifest_digest (uint64), complete (0 while writing, 1 when
 *                 finished), source (what the images were packed from)
 *
 * manifest_digest is the manifest digest (store/manifest.h) of the entries
 * the store holds, (path, label) in order: the digest of the manifest packed,
 * when no image was skipped. Readers recompute it from /paths and /labels.
 *
 * A store is written as NAME.partial and renamed to NAME once complete; the
 * reader refuses files that are not HDF5, of another format or version,
 * incomplete, or whose shapes, labels or digest do not agree. Strings may be
 * variable- or fixed-length. */
#ifndef CBD_IMAGE_STORE_H
#define CBD_IMAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/image.h"

#define CBD_IMAGE_STORE_FORMAT "cbd-image-store"
#define CBD_IMAGE_STORE_FORMAT_VERSION 1

/* True when path names a packed store rather than a manifest (it ends in ".h5"). */
int cbd_image_store_path(const char *path);

typedef struct {
    int64_t count;
    int classes, channels, height, width;
    uint64_t manifest_digest;
} cbd_image_store_info;

/* ---- writing -------------------------------------------------------------------- */

typedef struct {
    int classes, channels, height, width;
    const char *const *class_names;  /* [classes], or NULL: no /class_names */
    const char *source;              /* recorded as attribute 'source'; NULL: "" */
} cbd_image_store_spec;

typedef struct cbd_image_store_writer cbd_image_store_writer;

/* Creates PATH.partial. Returns NULL with a message in err on failure. */
cbd_image_store_writer *cbd_image_store_create(const char *path, const cbd_image_store_spec *spec,
                                               char *err, size_t err_len);
/* Appends one image (its size must be the store's) with its label and the
 * path it came from (no whitespace; it enters the digest). Returns 0 or -1. */
int cbd_image_store_append(cbd_image_store_writer *w, const cbd_image *img, int32_t label,
                           const char *image_path, char *err, size_t err_len);
int64_t cbd_image_store_written(const cbd_image_store_writer *w);
/* Writes labels, paths and the digest, marks the store complete, syncs it and
 * renames it to PATH. Frees w whatever happens; on failure the partial file is
 * removed. A store needs at least one image. digest_out may be NULL. */
int cbd_image_store_finish(cbd_image_store_writer *w, uint64_t *digest_out, char *err, size_t err_len);
/* Gives up: closes and removes PATH.partial, frees w. */
void cbd_image_store_abort(cbd_image_store_writer *w);

/* ---- reading -------------------------------------------------------------------- */

typedef struct cbd_image_store_reader cbd_image_store_reader;

/* Opens and checks a store; labels, paths and class names are read at once,
 * pixels on request. Returns NULL with a message naming the file in err. */
cbd_image_store_reader *cbd_image_store_open(const char *path, char *err, size_t err_len);
void cbd_image_store_close(cbd_image_store_reader *r);

const cbd_image_store_info *cbd_image_store_get_info(const cbd_image_store_reader *r);
const int32_t *cbd_image_store_labels(const cbd_image_store_reader *r);            /* [count] */
const char *cbd_image_store_image_path(const cbd_image_store_reader *r, int64_t i);  /* NULL: no /paths */
const char *cbd_image_store_class_name(const cbd_image_store_reader *r, int c);     /* NULL: no names */

/* One image into img (its buffer reused). Returns 0 or -1 with err. */
int cbd_image_store_read_image(cbd_image_store_reader *r, int64_t i, cbd_image *img, char *err,
                               size_t err_len);
/* Every image into pixels: count * height * width * channels bytes. */
int cbd_image_store_read_all(cbd_image_store_reader *r, uint8_t *pixels, char *err, size_t err_len);

#endif
