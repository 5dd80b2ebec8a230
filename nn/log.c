#include "nn/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cbd_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cbd_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cbd: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cbd_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cbd: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

void cbd_panic_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cbd: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *cbd_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *cbd_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

char *cbd_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = cbd_malloc(n);
    memcpy(p, s, n);
    return p;
}
