/* GPU collectives for MPI ranks: NCCL, its id handed out over MPI (rank 0
 * makes it, allgather brings it to all). Only in builds with MPI, CUDA and
 * NCCL (launch_nccl.c). */
#ifndef CBD_LAUNCH_NCCL_H
#define CBD_LAUNCH_NCCL_H

#include "nn/collective.h"

/* Gives c (R > 1 ranks over MPI) an allgather on device memory, unless the
 * environment says CBD_NCCL=off. NCCL starts at the first call, which every
 * rank makes at the same step: ranks that share a GPU (NCCL wants one GPU a
 * rank) then sum through host memory instead, said once by rank 0. */
void cbd_launch_nccl_attach(cbd_collective *c);
/* "NCCL x.y.z" for --help. */
const char *cbd_launch_nccl_support(void);

#endif
