/* Agreements made of allgather (nn/collective.h). */
#include "nn/collective.h"

#include <stdlib.h>

#include "nn/log.h"

static int ranks_of(const cbd_collective *c) { return c && c->size > 1 ? c->size : 1; }

void cbd_collective_gather_u64(const cbd_collective *c, uint64_t value, uint64_t *all) {
    if (ranks_of(c) == 1) {
        all[0] = value;
        return;
    }
    c->allgather(c, &value, sizeof value, all);
}

int64_t cbd_collective_broadcast_i64(const cbd_collective *c, int64_t value) {
    if (ranks_of(c) == 1) return value;
    uint64_t *all = cbd_malloc((size_t)c->size * sizeof *all);
    cbd_collective_gather_u64(c, (uint64_t)value, all);
    const int64_t first = (int64_t)all[0];
    free(all);
    return first;
}

void cbd_collective_sum_doubles(const cbd_collective *c, double *values, size_t n) {
    const int r = ranks_of(c);
    if (r == 1 || n == 0) return;
    double *all = cbd_malloc((size_t)r * n * sizeof *all);
    c->allgather(c, values, n * sizeof *values, all);
    for (size_t i = 0; i < n; i++) {
        double sum = all[i];
        for (int k = 1; k < r; k++) sum += all[(size_t)k * n + i];
        values[i] = sum;
    }
    free(all);
}

double cbd_collective_sum_double(const cbd_collective *c, double value) {
    cbd_collective_sum_doubles(c, &value, 1);
    return value;
}

int64_t cbd_collective_sum_i64(const cbd_collective *c, int64_t value) {
    if (ranks_of(c) == 1) return value;
    uint64_t *all = cbd_malloc((size_t)c->size * sizeof *all);
    cbd_collective_gather_u64(c, (uint64_t)value, all);
    int64_t sum = 0;
    for (int k = 0; k < c->size; k++) sum += (int64_t)all[k];
    free(all);
    return sum;
}
