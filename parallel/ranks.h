/* The ranks of a job: one process, or R processes started by an MPI
 * launcher (mpirun, srun). A process not started by a launcher is one rank
 * and never touches MPI, so a plain run behaves as it always has.
 *
 * Every stage executable starts through cbd_ranks_main, which starts MPI when
 * a launcher is present and ends the job by its exit code: 0 finishes MPI
 * normally; anything else (or cbd_fail and cbd_exit anywhere) aborts every
 * rank, so one failing rank stops the job instead of leaving the others
 * waiting in a collective. Under R > 1 every message line starts with
 * "rank r: " (nn/log.h). */
#ifndef CBD_RANKS_H
#define CBD_RANKS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/collective.h"

/* Starts the ranks (MPI when launched by mpirun or srun), runs stage(argc,
 * argv) and ends the job with its exit code. */
int cbd_ranks_main(int argc, char **argv, int (*stage)(int argc, char **argv));

int cbd_ranks_rank(void);
int cbd_ranks_size(void);
/* The job's collective, NULL for one rank (nn/collective.h: broadcast, sums). */
const cbd_collective *cbd_ranks_collective(void);
/* How this build runs ranks, for --help: "MPI (...)" or why not. */
const char *cbd_ranks_support(void);

/* Refuses (exit 2, on every rank) unless every rank has the same digest of
 * its resolved configuration and the same executable: ranks started with
 * different INI files, overrides or binaries would train different things
 * and wait on each other forever. `what` names the configuration. */
void cbd_ranks_agree(uint64_t config_digest, const char *what);

#endif
