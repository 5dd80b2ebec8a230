/* The MPI side of parallel/ranks.c: the only file that includes mpi.h is
 * launch_mpi.c; launch_single.c stands in for builds without MPI. */
#ifndef CBD_LAUNCH_H
#define CBD_LAUNCH_H

#include <stddef.h>

#include "nn/collective.h"

/* A launcher started this process (mpirun, srun with PMI/PMIx): starts MPI
 * and fills c (rank, size, allgather); returns 1. No launcher: returns 0
 * and touches nothing. -1 with why in err: launched, but this build cannot
 * take part, or the launch is not one MPI job. */
int cbd_launch_start(int *argc, char ***argv, cbd_collective *c, char *err, size_t err_len);
/* Ends MPI normally (every rank calls it). */
void cbd_launch_finish(void);
/* Ends every rank of the job with exit status `code`. */
_Noreturn void cbd_launch_abort(int code);
/* "MPI (library version)" or "no MPI in this build". */
const char *cbd_launch_support(void);

#endif
