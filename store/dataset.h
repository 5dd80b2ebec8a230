/* A labelled image set, read from either a manifest of image files or a
 * packed image store (HDF5). Stages read images by index; how they are kept
 * (decoded once and held in memory, or decoded from JPEG on each read) is the
 * dataset's business.
 *
 * A packed store is read whole into memory at open (converted to the channels
 * asked for); a manifest keeps its paths and decodes the JPEG file on each
 * cbd_dataset_image call.
 *
 * Thread safety: cbd_dataset_image may be called from several threads at once
 * as long as each passes its own cbd_image (a dataset holds no mutable state
 * after open). */
#ifndef CBD_DATASET_H
#define CBD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "store/image.h"

typedef enum { CBD_BAD_IMAGE_FAIL, CBD_BAD_IMAGE_SKIP } cbd_bad_image_policy;

typedef struct {
    const char *path;        /* a manifest (text) or a packed store (.h5) */
    const char *image_root;  /* manifests: folder the relative paths start from;
                                NULL = the manifest's folder */
    const char *class_names; /* optional file, one name per line; NULL = none */
    int channels;            /* 1 or 3: images are converted to this */
    int resize;              /* > 0: shorter side resized to this on decode (files only;
                                a packed store holds images at their packed size) */
    int classes;             /* > 0: labels must be below this; 0 = max label + 1 */
    cbd_bad_image_policy on_bad_image;
} cbd_dataset_source;

typedef struct cbd_dataset cbd_dataset;

/* Opens the source. Returns NULL with a message in err that names the file
 * (and the line, for manifests) on any problem. */
cbd_dataset *cbd_dataset_open(const cbd_dataset_source *src, char *err, size_t err_len);
void cbd_dataset_close(cbd_dataset *ds);

int64_t cbd_dataset_count(const cbd_dataset *ds);
int cbd_dataset_classes(const cbd_dataset *ds);
const int32_t *cbd_dataset_labels(const cbd_dataset *ds); /* [count] */
int cbd_dataset_channels(const cbd_dataset *ds);
/* Digest of the image list and labels (manifest content or the packed store's
 * recorded manifest digest): which image each row of a feature store is.
 * Stores built from this data record it. */
uint64_t cbd_dataset_digest(const cbd_dataset *ds);
/* Digest of what the images are: the image list and labels, and for a
 * manifest each file's size and modification time (whole seconds, so a copy
 * made with cp -p, rsync -t or tar keeps it; a file that cannot be read
 * counts as missing), for a packed store every pixel. Images replaced under
 * the same names change it. Computed at the first call (a manifest stats
 * every file): not from several threads at once. */
uint64_t cbd_dataset_content_digest(const cbd_dataset *ds);
/* Digest of the class names (the names file, the store's or the numbers). */
uint64_t cbd_dataset_names_digest(const cbd_dataset *ds);
/* Class name of class c ("3" when no names file was given). */
const char *cbd_dataset_class_name(const cbd_dataset *ds, int c);
/* Path (or store path and index) of image i, for messages. */
void cbd_dataset_describe_image(const cbd_dataset *ds, int64_t i, char *out, size_t out_len);

/* Reads image i into img (reusing its buffer). Returns 0; or, for an image
 * that cannot be decoded, -1 with a message naming the file in err. Under
 * CBD_BAD_IMAGE_SKIP the caller counts and skips it. */
int cbd_dataset_image(const cbd_dataset *ds, int64_t i, cbd_image *img, char *err, size_t err_len);

#endif
