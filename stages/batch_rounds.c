/* An in-order pass shared by ranks (stages/batch_rounds.h). */
#include "stages/batch_rounds.h"

#include <stdlib.h>

#include "nn/log.h"

void cbd_batch_rounds_init(cbd_batch_rounds *r, const cbd_collective *ranks, int64_t n, int batch, size_t slot_bytes) {
    r->ranks = ranks && ranks->size > 1 ? ranks : NULL;
    r->rank = r->ranks ? ranks->rank : 0;
    r->size = r->ranks ? ranks->size : 1;
    r->batch = batch;
    r->n = n;
    r->batches = (n + batch - 1) / batch;
    r->slot_bytes = slot_bytes;
    r->mine = cbd_malloc(slot_bytes);
    r->all = r->ranks ? cbd_malloc(slot_bytes * (size_t)r->size) : NULL;
}

void cbd_batch_rounds_free(cbd_batch_rounds *r) {
    free(r->mine);
    free(r->all);
    r->mine = r->all = NULL;
}

int64_t cbd_batch_rounds_my_images(const cbd_batch_rounds *r, int64_t *order) {
    int64_t count = 0;
    for (int64_t first = (int64_t)r->rank * r->batch; first < r->n; first += (int64_t)r->size * r->batch)
        for (int64_t i = first; i < r->n && i < first + r->batch; i++) order[count++] = i;
    return count;
}

int64_t cbd_batch_rounds_count(const cbd_batch_rounds *r) { return (r->batches + r->size - 1) / r->size; }

int cbd_batch_rounds_mine_in(const cbd_batch_rounds *r, int64_t round) {
    return round * r->size + r->rank < r->batches;
}

int cbd_batch_rounds_in(const cbd_batch_rounds *r, int64_t round) {
    const int64_t left = r->batches - round * r->size;
    return left < r->size ? (int)left : r->size;
}

unsigned char *cbd_batch_rounds_slot(cbd_batch_rounds *r) { return r->mine; }

unsigned char *cbd_batch_rounds_gather(cbd_batch_rounds *r) {
    if (!r->ranks) return r->mine;
    r->ranks->allgather(r->ranks, r->mine, r->slot_bytes, r->all);
    return r->all;
}

int64_t cbd_batch_rounds_first(const cbd_batch_rounds *r, int64_t round, int k) {
    return (round * r->size + k) * r->batch;
}
