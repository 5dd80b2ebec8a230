/* The ranks of a data-parallel run, as the engine sees them: how many, which
 * one this process is, and one operation, allgather, from which every sum
 * across ranks is made in a fixed order (so the result does not depend on
 * how the network delivers). The engine knows no MPI or NCCL: the
 * implementation is the caller's (parallel/). NULL everywhere means one
 * process. */
#ifndef CBD_COLLECTIVE_H
#define CBD_COLLECTIVE_H

#include <stddef.h>

typedef struct cbd_collective cbd_collective;
struct cbd_collective {
    int rank, size;
    /* Every rank's `bytes` of host memory `mine`, in rank order, into `all`
     * (size * bytes); a call every rank makes, in the same order. A failure
     * ends the whole job (it does not return). */
    void (*allgather)(const cbd_collective *c, const void *mine, size_t bytes, void *all);
    void *impl;
};

#endif
