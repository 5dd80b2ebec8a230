/* Ranks over MPI: MPI_COMM_WORLD, one thread calling MPI (the loader's
 * threads never do), and allgather as the one operation the engine needs. */
#include "parallel/launch.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "nn/log.h"
#include "parallel/launch_env.h"

static int started;

/* MPI counts are ints: pieces of at most 1 GiB a rank, each gathered into a
 * staging buffer and moved into place. */
#define PIECE_BYTES ((size_t)1 << 30)

static void mpi_allgather(const cbd_collective *c, const void *mine, size_t bytes, void *all) {
    if (bytes <= PIECE_BYTES) {
        MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
        return;
    }
    char *stage = cbd_malloc((size_t)c->size * PIECE_BYTES);
    for (size_t at = 0; at < bytes; at += PIECE_BYTES) {
        const size_t n = bytes - at < PIECE_BYTES ? bytes - at : PIECE_BYTES;
        MPI_Allgather((const char *)mine + at, (int)n, MPI_BYTE, stage, (int)n, MPI_BYTE, MPI_COMM_WORLD);
        for (int r = 0; r < c->size; r++) memcpy((char *)all + (size_t)r * bytes + at, stage + (size_t)r * n, n);
    }
    free(stage);
}

int cbd_launch_start(int *argc, char ***argv, cbd_collective *c, char *err, size_t err_len) {
    if (!cbd_launch_env_present()) {
        const int tasks = cbd_launch_env_srun_tasks();
        if (tasks > 1) {
            snprintf(err, err_len, "started by srun as one of %d tasks without MPI's process management: run "
                     "srun --mpi=pmix (or pmi2) so that the tasks form one job", tasks);
            return -1;
        }
        return 0;
    }
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(err, err_len, "MPI_Init_thread failed");
        return -1;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    c->allgather = mpi_allgather;
    c->impl = NULL;
    const int tasks = cbd_launch_env_srun_tasks();
    if (tasks > 1 && c->size != tasks) {
        snprintf(err, err_len, "srun started %d tasks but MPI sees %d ranks: run srun --mpi=pmix (or pmi2)",
                 tasks, c->size);
        return -1;
    }
    return 1;
}

void cbd_launch_finish(void) {
    if (started) MPI_Finalize();
    started = 0;
}

void cbd_launch_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (started) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

const char *cbd_launch_support(void) {
    static char text[MPI_MAX_LIBRARY_VERSION_STRING + 64];
    if (!text[0]) {
        char version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
        int len = 0;
        MPI_Get_library_version(version, &len);
        char *nl = strchr(version, '\n');
        if (nl) *nl = '\0';
        char *comma = strchr(version, ',');
        if (comma) *comma = '\0';
        snprintf(text, sizeof text, "MPI (%s): start R ranks with mpirun -np R or srun --mpi=pmix", version);
    }
    return text;
}
