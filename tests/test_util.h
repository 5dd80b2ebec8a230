/* Minimal test harness: CHECK records a failure with file and line and the
 * test goes on; test_finish() prints a summary and returns the exit code. */
#ifndef CBD_TEST_UTIL_H
#define CBD_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "nn/backend.h"
#include "nn/rng.h"

static int test_failures = 0;
static int test_checks = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        test_checks++;                                                      \
        if (!(cond)) {                                                      \
            test_failures++;                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

/* The one argument of a test that works in a folder: an existing folder
 * (not an option such as --help); anything else prints the usage and
 * exits 2. */
static inline const char *test_work_dir(int argc, char **argv) {
    struct stat st;
    if (argc != 2 || argv[1][0] == '-' || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "usage: %s WORK_DIR (an existing, empty folder)\n", argv[0]);
        exit(2);
    }
    return argv[1];
}

/* The folder of a test that works in one (set from test_work_dir), and
 * paths in it: a ring of 8, so that a call may take several. */
static const char *test_dir;
static inline const char *test_path(const char *name) {
    static char path[8][1024];
    static int next = 0;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", test_dir, name);
    return p;
}

static inline int test_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

static inline cbd_backend *test_cpu_backend(void) {
    char err[256];
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) {
        fprintf(stderr, "cannot create cpu backend: %s\n", err);
        exit(1);
    }
    return be;
}

/* Deterministic fixture values in [lo, hi). */
static inline void test_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * cbd_rng_uniform(seed, CBD_RNG_STREAM_TEST, i, 0);
}

static inline void test_fill_normal(float *x, size_t n, float stddev, uint64_t seed) {
    for (size_t i = 0; i < n; i++) x[i] = stddev * cbd_rng_normal(seed, CBD_RNG_STREAM_TEST, i, 1);
}

#endif
