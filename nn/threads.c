#include "nn/threads.h"

#include <omp.h>
#include <stdlib.h>

#include "nn/log.h"

static int env_threads(const char *name) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > 4096) {
        cbd_warn("ignoring %s=%s (expected a positive thread count)", name, s);
        return 0;
    }
    return (int)v;
}

int cbd_threads_set(int n) {
    if (n <= 0) n = env_threads("CBD_THREADS");
    if (n <= 0) n = env_threads("OMP_NUM_THREADS");
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    return n;
}

int cbd_threads_get(void) { return omp_get_max_threads(); }
