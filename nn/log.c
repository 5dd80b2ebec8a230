#include "nn/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *mirror;
static const char *line_prefix = "";
static void (*exit_hook)(int code);
static unsigned error_delay_s;

void cbd_log_mirror(FILE *f) { mirror = f; }
void cbd_log_set_prefix(const char *prefix) { line_prefix = prefix ? prefix : ""; }
void cbd_log_set_exit_hook(void (*hook)(int code)) { exit_hook = hook; }
void cbd_log_delay_errors(unsigned seconds) { error_delay_s = seconds; }

/* line prefix + prefix + message + newline on stderr, in one write (the
 * ranks of a job share the terminal: a line must not be cut by another
 * rank's), and prefix + message on the mirror. */
static void emit(const char *prefix, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    char line[4096];
    int n = snprintf(line, sizeof line, "%s%s", line_prefix, prefix);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof line - 1) vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
    if (error_delay_s && strstr(line + strlen(line_prefix), "cbd: error:") == line + strlen(line_prefix))
        sleep(error_delay_s); /* let rank 0 speak first for an error every rank meets */
    fprintf(stderr, "%s\n", line);
    if (mirror) {
        fputs(prefix, mirror);
        vfprintf(mirror, fmt, copy);
        fputc('\n', mirror);
        fflush(mirror);
    }
    va_end(copy);
}

void cbd_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}

void cbd_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("cbd: warning: ", fmt, ap);
    va_end(ap);
}

/* Sanitizer builds (make test-asan) check for leaks when a program ends
 * normally. A program that stops on an error with cbd_fail or cbd_exit ends
 * where it stands, with its allocations live in the frames it leaves: those
 * are not leaks, and the check is skipped (LSAN's own check at exit is off
 * there: leak_check_at_exit=0). */
#if defined(__SANITIZE_ADDRESS__)
#define CBD_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CBD_LEAK_CHECK 1
#endif
#endif
#ifdef CBD_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
static volatile int exiting_on_error;
static void leak_check_unless_failing(void) {
    if (!exiting_on_error) __lsan_do_leak_check();
}
__attribute__((constructor)) static void install_leak_check(void) { atexit(leak_check_unless_failing); }
#endif

void cbd_log_skip_leak_check(void) {
#ifdef CBD_LEAK_CHECK
    exiting_on_error = 1;
#endif
}

void cbd_exit(int code) {
#ifdef CBD_LEAK_CHECK
    if (code != 0) exiting_on_error = 1;
#endif
    if (code != 0 && exit_hook) exit_hook(code);
    exit(code);
}

void cbd_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit("cbd: error: ", fmt, ap);
    va_end(ap);
    cbd_exit(code);
}

void cbd_panic_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%scbd: internal error at %s:%d: ", line_prefix, file, line);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void cbd_set_error(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
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
