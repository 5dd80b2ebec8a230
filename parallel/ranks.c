/* The job's ranks (parallel/ranks.h): start and end through the launcher,
 * small agreements made of allgather. */
#include "parallel/ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/backend.h"
#include "parallel/launch.h"
#include "parallel/launch_env.h"
#ifdef CBD_HAVE_NCCL
#include "parallel/launch_nccl.h"
#endif
#include "store/digest.h"

static cbd_collective world = {.rank = 0, .size = 1};
static int launched;
static char prefix[32];

static void end_all_ranks(int code) { cbd_launch_abort(code); }

/* exit(0) anywhere (--help) ends MPI as a normal end does. */
static void finish_at_exit(void) { cbd_launch_finish(); }

int cbd_ranks_main(int argc, char **argv, int (*stage)(int argc, char **argv)) {
    char err[512];
    const int rc = cbd_launch_start(&argc, &argv, &world, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "cbd: error: %s\n", err);
        if (launched || world.size > 1) cbd_launch_abort(CBD_EXIT_USAGE);
        return CBD_EXIT_USAGE;
    }
    launched = rc == 1;
    if (launched) {
        atexit(finish_at_exit);
        cbd_log_skip_leak_check(); /* Open MPI's allocations live to the end */
        cbd_log_set_exit_hook(end_all_ranks);
        if (world.size > 1) {
            snprintf(prefix, sizeof prefix, "rank %d: ", world.rank);
            cbd_log_set_prefix(prefix);
            if (world.rank > 0) cbd_log_delay_errors(1);
#ifdef CBD_HAVE_NCCL
            cbd_launch_nccl_attach(&world);
#endif
        }
        cbd_backend_choose_gpu(cbd_launch_env_local_rank()); /* one rank a GPU */
    }
    const int code = stage(argc, argv);
    if (code != 0 && world.size > 1) cbd_launch_abort(code);
    return code;
}

int cbd_ranks_rank(void) { return world.rank; }
int cbd_ranks_size(void) { return world.size; }
const cbd_collective *cbd_ranks_collective(void) { return world.size > 1 ? &world : NULL; }
const char *cbd_ranks_support(void) {
#ifdef CBD_HAVE_NCCL
    static char text[512];
    if (!text[0])
        snprintf(text, sizeof text, "%s; GPU ranks (one a GPU) sum with %s", cbd_launch_support(),
                 cbd_launch_nccl_support());
    return text;
#else
    return cbd_launch_support();
#endif
}

/* The digest of this process's executable (0 when it cannot be read). */
static uint64_t executable_digest(void) {
    FILE *f = fopen("/proc/self/exe", "rb");
    if (!f) return 0;
    uint64_t h = CBD_FNV1A64_INIT;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = cbd_fnv1a64_update(h, buf, n);
    fclose(f);
    return h;
}

void cbd_ranks_agree(uint64_t config_digest, const char *what) {
    if (world.size == 1) return;
    uint64_t mine[2] = {config_digest, executable_digest()};
    uint64_t *all = cbd_malloc((size_t)world.size * sizeof mine);
    world.allgather(&world, mine, sizeof mine, all);
    for (int r = 1; r < world.size; r++) {
        const uint64_t *theirs = all + 2 * r;
        if (theirs[0] == all[0] && theirs[1] == all[1]) continue;
        if (world.rank == 0) {
            char a[17], b[17];
            const int config = theirs[0] != all[0];
            cbd_digest_hex(config ? all[0] : all[1], a);
            cbd_digest_hex(config ? theirs[0] : theirs[1], b);
            cbd_fail(CBD_EXIT_USAGE, "rank %d was started with a different %s than rank 0 (digest %s, rank 0's "
                     "%s): every rank must run the same executable on the same configuration", r,
                     config ? (what && *what ? what : "configuration") : "executable", b, a);
        }
        /* the others wait for rank 0's message to end the job */
        free(all);
        cbd_collective_broadcast_i64(&world, 0);
        cbd_fail(CBD_EXIT_USAGE, "ranks disagree on the configuration (see rank 0)");
    }
    free(all);
}
