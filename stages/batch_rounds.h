/* An in-order pass over n images (a dump's view, an evaluation) shared by
 * the job's ranks. The pass keeps the batches a single process makes, b =
 * 0 .. ceil(n / batch) - 1 in image order; batch b is rank (b mod R)'s, so
 * each batch has the bounds, and its rows the bits, of a single process.
 * Round j holds batches jR .. jR + R - 1: every rank fills its slot with
 * its batch's rows (an empty one when it has none), the slots are gathered,
 * and rank 0 takes them in batch order. With one rank a round is one batch
 * and nothing is exchanged. */
#ifndef CBD_BATCH_ROUNDS_H
#define CBD_BATCH_ROUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/collective.h"

typedef struct {
    const cbd_collective *ranks; /* NULL: one process */
    int rank, size, batch;
    int64_t n, batches;
    size_t slot_bytes;
    unsigned char *mine, *all;
} cbd_batch_rounds;

void cbd_batch_rounds_init(cbd_batch_rounds *r, const cbd_collective *ranks, int64_t n, int batch, size_t slot_bytes);
void cbd_batch_rounds_free(cbd_batch_rounds *r);
/* The images of this rank's batches, in order, into order (n entries at
 * most); returns how many. A loader given them with the pass's batch size
 * makes exactly this rank's batches. */
int64_t cbd_batch_rounds_my_images(const cbd_batch_rounds *r, int64_t *order);
int64_t cbd_batch_rounds_count(const cbd_batch_rounds *r);
/* Whether this rank has a batch in round j. */
int cbd_batch_rounds_mine_in(const cbd_batch_rounds *r, int64_t round);
/* The batches of round j (R, or fewer in the last round). */
int cbd_batch_rounds_in(const cbd_batch_rounds *r, int64_t round);
/* This rank's slot, to fill before cbd_batch_rounds_gather. */
unsigned char *cbd_batch_rounds_slot(cbd_batch_rounds *r);
/* Every rank's slot of the round, in rank order (a call every rank makes):
 * slot k is batch jR + k. */
unsigned char *cbd_batch_rounds_gather(cbd_batch_rounds *r);
/* The first image of batch k of round j. */
int64_t cbd_batch_rounds_first(const cbd_batch_rounds *r, int64_t round, int k);

#endif
