/* A plan's jobs as Slurm batch scripts (cbd-plan --slurm DIR): one script a
 * job, the teachers as one job array, and DIR/submit.sh, which submits them
 * with --dependency=afterok on the jobs whose outputs each reads. Stages run
 * as MPI tasks under srun (parallel/ranks.h); the report as one task. */
#ifndef CBD_PLAN_SLURM_H
#define CBD_PLAN_SLURM_H

#include <stddef.h>
#include <stdio.h>

#include "stages/plan_jobs.h"

typedef struct {
    const char *dir;       /* NULL: no scripts (make rules) */
    int ranks;             /* tasks of each stage job (default 1) */
    int nodes;             /* nodes of each stage job (0: Slurm's choice) */
    int cpus;              /* CPUs (threads) of each task (default 1) */
    int gpu;               /* one GPU a task, [experiment] device = cuda */
    const char *partition, *time, *account;
    const char *mpi;       /* srun --mpi= (default pmix) */
    const char *bin;       /* the executables' folder (default: cbd-plan's own) */
} cbd_slurm_options;

void cbd_slurm_usage(FILE *out);
/* Takes --slurm DIR and the options above out of argv (what is left for
 * cbd_stage_parse_args); returns the new argc. Exits 2 on a bad value. */
int cbd_slurm_take_options(int argc, char **argv, cbd_slurm_options *o);
/* Writes the scripts and submit.sh into o->dir (created). ini: the
 * experiment, named in the scripts. Returns 0, or -1 with why in err. */
int cbd_plan_write_slurm(const cbd_plan_jobs *p, const cbd_slurm_options *o, const char *ini, char *err,
                         size_t err_len);

#endif
