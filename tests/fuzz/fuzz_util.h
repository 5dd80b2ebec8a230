/* What the harnesses share. The parsers under test take a path, not bytes,
 * so each input is written to one scratch file per process (its own name per
 * process, so that parallel fuzzers do not share it), removed at exit. */
#ifndef CBD_FUZZ_UTIL_H
#define CBD_FUZZ_UTIL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* up to two scratch files per harness: the input, and what it round-trips to */
static char fuzz_scratch_paths[2][96];

static void fuzz_remove_scratch(void) {
    for (int i = 0; i < 2; i++)
        if (fuzz_scratch_paths[i][0]) unlink(fuzz_scratch_paths[i]);
}

/* Names scratch file `which` (0 or 1) of this harness; call from LLVMFuzzerInitialize. */
static inline const char *fuzz_scratch(int which, const char *harness, const char *suffix) {
    if (!fuzz_scratch_paths[0][0] && !fuzz_scratch_paths[1][0]) atexit(fuzz_remove_scratch);
    const char *dir = getenv("TMPDIR");
    snprintf(fuzz_scratch_paths[which], sizeof fuzz_scratch_paths[which], "%s/cbd-fuzz-%s-%ld-%d%s",
             dir && dir[0] ? dir : "/tmp", harness, (long)getpid(), which, suffix);
    return fuzz_scratch_paths[which];
}

/* Replaces the file's content with the input. A failure here is the
 * machine's, not the code's: stop rather than fuzz nothing. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0) {
            perror(path);
            abort();
        }
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* A broken invariant: libFuzzer reports the abort and keeps the input. */
#define FUZZ_REQUIRE(cond, ...)                                                     \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: `%s` does not hold: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            abort();                                                                \
        }                                                                           \
    } while (0)

#endif
