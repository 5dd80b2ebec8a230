/* Whether an MPI launcher started this process, from the variables each one
 * sets: Open MPI's mpirun, PMIx (srun --mpi=pmix, prterun), PMI-1/2
 * (MPICH's hydra, srun --mpi=pmi2). */
#include "parallel/launch_env.h"

#include <stdlib.h>

int cbd_launch_env_present(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return 1;
    }
    return 0;
}

int cbd_launch_env_srun_tasks(void) {
    const char *v = getenv("SLURM_STEP_NUM_TASKS");
    if (!v || !*v) return 0;
    return atoi(v);
}

int cbd_launch_env_local_rank(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID",
                                       "PMI_LOCAL_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}
