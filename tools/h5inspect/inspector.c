/* The file being inspected: fatal errors that name it, checked closes, and
 * the defect lists of --verify. */
#include "tools/h5inspect/h5inspect.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/log.h"

_Noreturn void die_h5(const inspector *in) { cbd_fail(CBD_EXIT_USAGE, "%s", in->err); }

_Noreturn void die_file(const inspector *in, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cbd: error: %s: ", in->path);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cbd_exit(CBD_EXIT_USAGE);
}

void close_id(inspector *in, hid_t id, const char *what) {
    if (cbd_h5_close(id) < 0) {
        cbd_h5_error(&in->h5, "cannot close %s", what);
        die_h5(in);
    }
}

const char *err_text(const inspector *in) {
    size_t n = strlen(in->path);
    if (strncmp(in->err, in->path, n) == 0 && in->err[n] == ':' && in->err[n + 1] == ' ') return in->err + n + 2;
    return in->err;
}

void *grow(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu bytes", bytes);
    return q;
}

long long file_size(const inspector *in) {
    struct stat st;
    if (stat(in->path, &st) != 0) die_file(in, "cannot stat: %s", strerror(errno));
    return (long long)st.st_size;
}

void defect(defect_list *l, const char *fmt, ...) {
    cbd_text line = {0};
    va_list ap;
    va_start(ap, fmt);
    cbd_text_vprintf(&line, fmt, ap);
    va_end(ap);
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = grow(l->items, (size_t)l->cap * sizeof *l->items);
    }
    l->items[l->count++] = cbd_strdup(cbd_text_str(&line));
    cbd_text_free(&line);
}

void defects_free(defect_list *l) {
    for (int k = 0; k < l->count; k++) free(l->items[k]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}
