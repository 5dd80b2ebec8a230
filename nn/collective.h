/* The ranks of a data-parallel run, as the engine sees them: how many, which
 * one this process is, and one operation, allgather, from which every sum
 * across ranks is made in a fixed order (so the result does not depend on
 * how the network delivers). The engine knows no MPI or NCCL: the
 * implementation is the caller's (parallel/). NULL everywhere means one
 * process. */
#ifndef CBD_COLLECTIVE_H
#define CBD_COLLECTIVE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cbd_collective cbd_collective;
struct cbd_collective {
    int rank, size;
    /* Every rank's `bytes` of host memory `mine`, in rank order, into `all`
     * (size * bytes); a call every rank makes, in the same order. A failure
     * ends the whole job (it does not return). */
    void (*allgather)(const cbd_collective *c, const void *mine, size_t bytes, void *all);
    /* The same on GPU memory, queued on `stream` (a cudaStream_t) and made
     * of NCCL; NULL where the job has none (no NCCL in the build, ranks
     * sharing a GPU, CBD_NCCL=off): GPU sums then go through host memory
     * and allgather. */
    void (*allgather_device)(const cbd_collective *c, const void *mine, size_t bytes, void *all, void *stream);
    void *impl;
};

/* Small agreements made of allgather (c NULL: one process, the value itself). */
/* rank 0's value, on every rank. */
int64_t cbd_collective_broadcast_i64(const cbd_collective *c, int64_t value);
/* The sum over ranks, added in rank order (the same bits on every rank). */
double cbd_collective_sum_double(const cbd_collective *c, double value);
int64_t cbd_collective_sum_i64(const cbd_collective *c, int64_t value);
/* Sums of n doubles element by element, each in rank order, in place. */
void cbd_collective_sum_doubles(const cbd_collective *c, double *values, size_t n);
/* Every rank's value in rank order into all[c->size] (all[0] without c). */
void cbd_collective_gather_u64(const cbd_collective *c, uint64_t value, uint64_t *all);

#endif
