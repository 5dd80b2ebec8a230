/* A build without MPI: every process is one rank; one started by a launcher
 * as one of several is refused, since it cannot take its part. */
#include "parallel/launch.h"

#include <stdio.h>
#include <stdlib.h>

#include "parallel/launch_env.h"

int cbd_launch_start(int *argc, char ***argv, cbd_collective *c, char *err, size_t err_len) {
    (void)argc;
    (void)argv;
    (void)c;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size) size = getenv("PMI_SIZE");
    const int tasks = cbd_launch_env_srun_tasks();
    if ((size && atoi(size) > 1) || tasks > 1) {
        snprintf(err, err_len, "started as one of %d ranks, but this build has no MPI (install libopenmpi-dev "
                 "and rebuild: tools/install-deps; make)", size ? atoi(size) : tasks);
        return -1;
    }
    return 0;
}

void cbd_launch_finish(void) {}

void cbd_launch_abort(int code) { exit(code); }

const char *cbd_launch_support(void) { return "no MPI in this build: one rank only"; }
