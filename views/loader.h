/* Batches of views, made ahead of the training step by worker threads.
 *
 * The caller gives the order of an epoch (image indices and the view of each
 * draw); pthread workers (not OpenMP: the compute runs on the OpenMP pool)
 * read each image and make its view into a small ring of batch buffers, and
 * cbd_loader_next hands the batches out strictly in that order. Batch b
 * holds positions [b * B, (b + 1) * B) of the order; the last one may be
 * short. Each view is cbd_augment_view (or cbd_augment_center) of the image,
 * so the pixels are the same bit for bit whatever the number of workers.
 *
 * Bad images: under CBD_BAD_IMAGE_FAIL the first bad image (in order) ends
 * the epoch: cbd_loader_next returns NULL and cbd_loader_error gives the
 * source's message, which names the file. Under CBD_BAD_IMAGE_SKIP the image
 * is left out of its batch (the batch is that much shorter; a batch left
 * empty is passed over), counted, and named in a warning (the first few).
 *
 * Rows read beside the images: with cfg->rows (a feature prefetcher over
 * the teachers' stores), begin starts it on the same draws and every batch
 * carries the rows of exactly its images (cbd_batch.rows): one producer,
 * whose images and rows cannot drift apart (a skipped image's rows are
 * left out with it).
 *
 * One consumer thread calls begin / next / destroy. */
#ifndef CBD_LOADER_H
#define CBD_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "views/augment.h"
#include "store/dataset.h"
#include "store/feature_prefetch.h"
#include "store/image.h"

/* Where images come from. read is called from several threads at once, each
 * with its own img; it returns 0, or -1 with a message naming the image. */
typedef struct {
    const void *ctx;
    int64_t count;
    const int32_t *labels; /* [count] */
    int (*read)(const void *ctx, int64_t index, cbd_image *img, char *err, size_t err_len);
} cbd_image_source;

typedef struct {
    const cbd_dataset *dataset;        /* the images and labels; NULL: use `source` */
    cbd_image_source source;
    cbd_bad_image_policy on_bad_image; /* pass the dataset's own policy (default: fail) */
    const cbd_augment_config *augment; /* copied */
    int center;                        /* 1: centre views (evaluation, feature centres); views ignored */
    uint64_t seed;                     /* the experiment seed the views are keyed on */
    int batch_size;
    int workers;                       /* 0: batches are made in the caller, inside cbd_loader_next */
    int prefetch;                      /* batches in the ring with workers (>= 2); 0 = 3 */
    cbd_feature_prefetcher *rows;      /* NULL, or rows to read beside the images (not owned) */
} cbd_loader_config;

typedef struct {
    float *images;     /* [count, C, S, S], host memory */
    int32_t *labels;   /* [count] */
    int64_t *indices;  /* [count] image indices */
    uint32_t *views;   /* [count] views as given to begin (0 for centre views) */
    int count;
    int64_t number;    /* batch number in the epoch: positions [number * B, number * B + B) */
    int skipped;       /* images of those positions left out (skip policy) */
    const cbd_feature_batch *rows; /* with cfg->rows: the rows of these images, in the same order */
} cbd_batch;

typedef struct {
    double wait_s;     /* consumer time blocked in cbd_loader_next (with workers = 0: all the loading) */
    double read_s;     /* time spent reading / decoding, summed over workers */
    double augment_s;  /* time spent making views, summed over workers */
    int64_t images;    /* images loaded */
    int64_t skipped;   /* images skipped as bad */
    int64_t batches;   /* batches handed out */
} cbd_loader_stats;

typedef struct cbd_loader cbd_loader;

/* Creates the loader and starts its workers. Returns NULL with a message on
 * a bad configuration. */
cbd_loader *cbd_loader_create_from_source(const cbd_loader_config *cfg, char *err, size_t err_len);

static inline int cbd_loader_read_dataset_(const void *ctx, int64_t index, cbd_image *img, char *err,
                                           size_t err_len) {
    return cbd_dataset_image((const cbd_dataset *)ctx, index, img, err, err_len);
}

/* The image source of a dataset. */
static inline cbd_image_source cbd_image_source_of_dataset(const cbd_dataset *ds) {
    cbd_image_source s = {ds, cbd_dataset_count(ds), cbd_dataset_labels(ds), cbd_loader_read_dataset_};
    return s;
}

/* cbd_loader_create_from_source, with cfg->dataset as the source when set. */
static inline cbd_loader *cbd_loader_create(const cbd_loader_config *cfg, char *err, size_t err_len) {
    cbd_loader_config c = *cfg;
    if (c.dataset) c.source = cbd_image_source_of_dataset(c.dataset);
    c.dataset = NULL;
    return cbd_loader_create_from_source(&c, err, err_len);
}

/* Starts an epoch over indices[0..count) shown as views[0..count) (NULL: all
 * view 0); both are copied. Work of an unfinished previous epoch is dropped,
 * and the error state is cleared. */
void cbd_loader_begin(cbd_loader *l, const int64_t *indices, const uint32_t *views, int64_t count);

/* The next batch in order, blocking until it is ready; NULL at the end of the
 * epoch or on an error (see cbd_loader_error). The batch stays valid until
 * the next call of next, begin or destroy. */
const cbd_batch *cbd_loader_next(cbd_loader *l);

/* The message of the error that ended the epoch, or NULL. */
const char *cbd_loader_error(const cbd_loader *l);
/* Images skipped as bad since the loader was created. */
int64_t cbd_loader_skipped(const cbd_loader *l);
/* Seconds the consumer has waited for data since the loader was created. */
double cbd_loader_wait_seconds(const cbd_loader *l);
void cbd_loader_get_stats(const cbd_loader *l, cbd_loader_stats *out);

void cbd_loader_destroy(cbd_loader *l);

#endif
