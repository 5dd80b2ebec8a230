/* Background reader of teacher features.
 *
 * The student's sequence of (image, view) rows for an epoch is known before
 * the epoch starts (the sampler and the per-image draw counters). A thread
 * reads the rows of the coming batches from K feature stores into a ring of
 * batch buffers while the training step runs, so the step does not wait on
 * the disk (or on float16 conversion), whether the stores are in memory or
 * not.
 *
 *     p = cbd_feature_prefetcher_create(stores, k, batch, 4, 0, err, len);
 *     cbd_feature_prefetcher_begin(p, images, views, count);
 *     for (const cbd_feature_batch *b; (b = cbd_feature_prefetcher_next(p));)
 *         ... b->features[t] is [b->count, d_t] for store t ...
 *     if (cbd_feature_prefetcher_error(p)) ... the epoch stopped early ...
 *
 * While a prefetcher runs, its thread is the only one reading its stores. */
#ifndef CBD_FEATURE_PREFETCH_H
#define CBD_FEATURE_PREFETCH_H

#include <stdint.h>

#include "store/feature_store.h"

typedef struct {
    int count;         /* rows in this batch (batch_size, the last one may be short) */
    int64_t number;    /* batch number in the sequence, from 0 */
    int64_t first;     /* position of its first row in the sequence */
    float **features;  /* [k]: [count, d_t] for store t */
    float **logits;    /* [k]: [count, C_t] for store t; NULL without logits */
} cbd_feature_batch;

typedef struct cbd_feature_prefetcher cbd_feature_prefetcher;

/* k stores (which must outlive the prefetcher), batches of batch_size rows,
 * a ring of depth >= 2 batches (one held by the caller, the others filled
 * ahead); with_logits reads the stores' logits as well (each must have
 * them). Starts the reader thread. NULL with a message on failure. */
cbd_feature_prefetcher *cbd_feature_prefetcher_create(cbd_feature_store *const *stores, int k, int batch_size,
                                                      int depth, int with_logits, char *err, size_t err_len);
/* Starts a sequence of rows (copied): batches of batch_size in order, the
 * last may be short. A sequence still being read is dropped. */
void cbd_feature_prefetcher_begin(cbd_feature_prefetcher *p, const int64_t *images, const uint32_t *views,
                                  int64_t count);
/* The next batch, waiting for it if needed; it stays valid until the next
 * call (or begin). NULL at the end of the sequence or after a read error. */
const cbd_feature_batch *cbd_feature_prefetcher_next(cbd_feature_prefetcher *p);
/* Keeps only the rows j of the batch the caller holds with keep[j] != 0
 * (in order; count shrinks): the rows of images a loader left out. */
void cbd_feature_prefetcher_keep(cbd_feature_prefetcher *p, const uint8_t *keep);
/* The read error that ended the sequence, or NULL. */
const char *cbd_feature_prefetcher_error(const cbd_feature_prefetcher *p);
/* Totals since creation: seconds next() waited, seconds the thread spent
 * reading, rows read (counted once per store). Any pointer may be NULL. */
void cbd_feature_prefetcher_stats(const cbd_feature_prefetcher *p, double *wait_s, double *read_s, int64_t *rows);
/* Stops the thread and frees everything. */
void cbd_feature_prefetcher_destroy(cbd_feature_prefetcher *p);

#endif
