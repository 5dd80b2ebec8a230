/* Messages and fatal errors. Every check names the file and line it failed at. */
#ifndef CBD_LOG_H
#define CBD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes shared by every executable. */
enum { CBD_EXIT_OK = 0, CBD_EXIT_FAILURE = 1, CBD_EXIT_USAGE = 2 };

/* Lines on stderr. cbd_log, cbd_warn and cbd_fail also go to the mirror
 * file when one is set (a run's log), so that its errors are in it too. */
void cbd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cbd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets (NULL: clears) the file that messages are copied to. */
void cbd_log_mirror(FILE *f);
/* Text put before every line on stderr (a job's "rank 1: "); NULL: none. */
void cbd_log_set_prefix(const char *prefix);
/* Error lines ("cbd: error: ...") wait `seconds` before they are written: the
 * ranks after rank 0 of a job, so that an error every rank meets (a bad
 * configuration, a missing input) is said once, by rank 0, whose failure
 * ends the job first; an error of one rank alone still comes out. */
void cbd_log_delay_errors(unsigned seconds);
/* Called by cbd_exit with a non-zero code in place of exit (it must not
 * return): a job of several ranks ends all of them. */
void cbd_log_set_exit_hook(void (*hook)(int code));
/* Sanitizer builds (make test-asan): no leak check when this process ends.
 * For a rank of an MPI job, whose library keeps allocations to the end
 * (memory errors are still caught; the same code runs leak-checked as one
 * process). */
void cbd_log_skip_leak_check(void);
/* Prints "cbd: error: ..." and exits with `code`. */
_Noreturn void cbd_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* exit(code); a non-zero code marks the exit as a failure (see log.c: leak checks). */
_Noreturn void cbd_exit(int code);
/* An internal invariant broke: file, line, message, abort. */
_Noreturn void cbd_panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CBD_PANIC(...) cbd_panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define CBD_ASSERT(cond, ...) \
    do { if (!(cond)) cbd_panic_at(__FILE__, __LINE__, "assertion `" #cond "` failed: " __VA_ARGS__); } while (0)

/* printf into an error buffer (err NULL or err_len 0: nothing). */
void cbd_set_error(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Allocation that never returns NULL. */
void *cbd_malloc(size_t bytes);
void *cbd_calloc(size_t count, size_t size);
char *cbd_strdup(const char *s);

#endif
