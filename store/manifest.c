#include "store/manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/digest.h"
#include "store/fsutil.h"

/* ---- messages ------------------------------------------------------------------ */

/* ---- lines ----------------------------------------------------------------------- */

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f' || ch == '\r'; }

static char *skip_blanks(char *s) {
    while (is_blank(*s)) s++;
    return s;
}

/* Cuts the next line out of *cursor (in place) and advances past it; drops a
 * trailing '\r'. NULL at the end of the text. */
static char *next_line(char **cursor) {
    char *line = *cursor;
    if (*line == '\0') return NULL;
    char *end = strchr(line, '\n');
    if (end) {
        *end = '\0';
        *cursor = end + 1;
    } else {
        *cursor = line + strlen(line);
    }
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r') line[n - 1] = '\0';
    return line;
}

/* Cuts the next blank-separated field out of *cursor; NULL when none is left. */
static char *next_field(char **cursor) {
    char *s = skip_blanks(*cursor);
    if (*s == '\0') return NULL;
    char *end = s;
    while (*end && !is_blank(*end)) end++;
    *cursor = *end ? end + 1 : end;
    *end = '\0';
    return s;
}

/* Reads a text file whole; refuses NUL bytes (a binary file), naming the line. */
static char *read_text(const char *path, char *err, size_t err_len) {
    size_t len = 0;
    char *text = cbd_read_file(path, &len, err, err_len);
    if (!text) return NULL;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++) line += *p == '\n';
        cbd_set_error(err, err_len, "%s:%d: NUL byte: not a text file", path, line);
        free(text);
        return NULL;
    }
    return text;
}

/* ---- reading a manifest -------------------------------------------------------------- */

typedef struct {
    const char *file;
    int classes;
    char *err;
    size_t err_len;
} parse_ctx;

static int parse_label(const parse_ctx *p, int line, const char *text, int32_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0') {
        cbd_set_error(p->err, p->err_len, "%s:%d: label '%s' is not an integer", p->file, line, text);
        return -1;
    }
    if (v < 0) {
        cbd_set_error(p->err, p->err_len, "%s:%d: label %s is negative", p->file, line, text);
        return -1;
    }
    /* below INT32_MAX: the class count, the largest label + 1, is an int too */
    if (errno == ERANGE || v >= INT32_MAX || (p->classes > 0 && v >= p->classes)) {
        if (p->classes > 0)
            cbd_set_error(p->err, p->err_len, "%s:%d: label %s is out of range: %d classes, labels 0..%d",
                      p->file, line, text, p->classes, p->classes - 1);
        else
            cbd_set_error(p->err, p->err_len, "%s:%d: label %s is too large", p->file, line, text);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* One line: 0 and *has_entry = 0 for a blank or comment line. */
static int parse_line(const parse_ctx *p, int line, char *text, cbd_manifest_entry *e, int *has_entry) {
    char *cursor = skip_blanks(text);
    *has_entry = 0;
    if (*cursor == '\0' || *cursor == '#') return 0;
    char *path = next_field(&cursor);
    char *label = next_field(&cursor);
    if (!label) {
        cbd_set_error(p->err, p->err_len, "%s:%d: missing label after '%s' (expected 'path label')", p->file,
                  line, path);
        return -1;
    }
    char *extra = next_field(&cursor);
    if (extra) {
        cbd_set_error(p->err, p->err_len,
                  "%s:%d: unexpected field '%s' after the label (expected 'path label'; paths may "
                  "not contain whitespace)",
                  p->file, line, extra);
        return -1;
    }
    if (parse_label(p, line, label, &e->label) != 0) return -1;
    if (strlen(path) >= PATH_MAX) {
        cbd_set_error(p->err, p->err_len, "%s:%d: a path of %zu characters: longer than any path can be (%d)",
                  p->file, line, strlen(path), PATH_MAX - 1);
        return -1;
    }
    e->path = path;
    e->line = line;
    *has_entry = 1;
    return 0;
}

static int parse_entries(const parse_ctx *p, char *text, cbd_manifest *m) {
    int64_t capacity = 0;
    char *cursor = text, *line_text;
    int line = 0;
    while ((line_text = next_line(&cursor)) != NULL) {
        cbd_manifest_entry e;
        int has_entry;
        line++;
        if (parse_line(p, line, line_text, &e, &has_entry) != 0) return -1;
        if (!has_entry) continue;
        if (m->count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            cbd_manifest_entry *grown = realloc(m->entries, (size_t)capacity * sizeof *grown);
            if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading %s", p->file);
            m->entries = grown;
        }
        m->entries[m->count++] = e;
    }
    if (m->count == 0) {
        cbd_set_error(p->err, p->err_len,
                  "%s: no entries (only blank or comment lines): expected 'path label' lines", p->file);
        return -1;
    }
    return 0;
}

/* Refuses a path listed twice, naming both lines: an open-addressing set of
 * entry indices keyed by the path's digest. */
static int check_duplicates(const parse_ctx *p, const cbd_manifest *m) {
    size_t size = 16;
    while (size < 2 * (size_t)m->count) size *= 2;
    int64_t *slots = cbd_malloc(size * sizeof *slots);
    for (size_t s = 0; s < size; s++) slots[s] = -1;
    int rc = 0;
    for (int64_t i = 0; i < m->count && rc == 0; i++) {
        size_t s = (size_t)cbd_fnv1a64_str(m->entries[i].path) & (size - 1);
        for (; slots[s] >= 0; s = (s + 1) & (size - 1)) {
            const cbd_manifest_entry *first = &m->entries[slots[s]];
            if (strcmp(first->path, m->entries[i].path) == 0) {
                cbd_set_error(p->err, p->err_len, "%s:%d: duplicate path '%s' (already listed at line %d)",
                          p->file, m->entries[i].line, first->path, first->line);
                rc = -1;
                break;
            }
        }
        slots[s] = i;
    }
    free(slots);
    return rc;
}

static int max_label_plus_one(const cbd_manifest *m) {
    int32_t top = 0;
    for (int64_t i = 0; i < m->count; i++)
        if (m->entries[i].label > top) top = m->entries[i].label;
    return top + 1;
}

int cbd_manifest_read(const char *path, int classes, cbd_manifest *m, char *err, size_t err_len) {
    const parse_ctx p = {path, classes, err, err_len};
    memset(m, 0, sizeof *m);
    m->text = read_text(path, err, err_len);
    if (!m->text) return -1;
    if (parse_entries(&p, m->text, m) != 0 || check_duplicates(&p, m) != 0) {
        cbd_manifest_free(m);
        return -1;
    }
    m->classes = classes > 0 ? classes : max_label_plus_one(m);
    m->digest = cbd_manifest_digest(m->entries, m->count);
    return 0;
}

void cbd_manifest_free(cbd_manifest *m) {
    free(m->entries);
    free(m->text);
    memset(m, 0, sizeof *m);
}

/* ---- digest ---------------------------------------------------------------------- */

uint64_t cbd_manifest_digest_add(uint64_t h, const char *path, int32_t label) {
    char tail[24];
    int n = snprintf(tail, sizeof tail, "\t%" PRId32 "\n", label);
    h = cbd_fnv1a64_update(h, path, strlen(path));
    return cbd_fnv1a64_update(h, tail, (size_t)n);
}

uint64_t cbd_manifest_digest(const cbd_manifest_entry *entries, int64_t count) {
    uint64_t h = CBD_FNV1A64_INIT;
    for (int64_t i = 0; i < count; i++) h = cbd_manifest_digest_add(h, entries[i].path, entries[i].label);
    return h;
}

/* ---- text written whole ------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
} text_buf;

static void text_append(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_append(text_buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        CBD_ASSERT(n >= 0, "formatting text");
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory formatting a text file");
        b->data = grown;
        b->cap = cap;
    }
}

static int text_save(text_buf *b, const char *path, char *err, size_t err_len) {
    int rc = cbd_write_file_atomic(path, b->data ? b->data : "", b->len, err, err_len);
    free(b->data);
    memset(b, 0, sizeof *b);
    return rc;
}

static void append_comment(text_buf *b, const char *comment) {
    const char *s = comment;
    while (*s) {
        const char *end = strchr(s, '\n');
        int n = end ? (int)(end - s) : (int)strlen(s);
        text_append(b, "# %.*s\n", n, s);
        s += n + (end != NULL);
    }
}

static int valid_path(const char *path) {
    if (!path[0]) return 0;
    for (const char *s = path; *s; s++)
        if (is_blank(*s) || *s == '\n') return 0;
    return 1;
}

int cbd_manifest_write(const char *path, const cbd_manifest_entry *entries, int64_t count,
                       const char *comment, char *err, size_t err_len) {
    text_buf b = {0};
    if (comment) append_comment(&b, comment);
    for (int64_t i = 0; i < count; i++) {
        if (!valid_path(entries[i].path) || entries[i].label < 0) {
            cbd_set_error(err, err_len, "%s: cannot write entry %" PRId64 " ('%s' %" PRId32 "): %s", path, i,
                      entries[i].path, entries[i].label,
                      entries[i].label < 0 ? "negative label" : "empty path or whitespace in the path");
            free(b.data);
            return -1;
        }
        text_append(&b, "%s %" PRId32 "\n", entries[i].path, entries[i].label);
    }
    return text_save(&b, path, err, err_len);
}

/* ---- class names ------------------------------------------------------------------- */

static char *trim(char *s) {
    s = skip_blanks(s);
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1])) s[--n] = '\0';
    return s;
}

int cbd_class_names_read(const char *path, int classes, char ***names_out, char *err, size_t err_len) {
    char *text = read_text(path, err, err_len);
    if (!text) return -1;
    char **names = NULL, *cursor = text, *line;
    int count = 0, capacity = 0, line_no = 0, rc = -1;
    while ((line = next_line(&cursor)) != NULL) {
        line_no++;
        char *name = trim(line);
        if (*name == '\0' || *name == '#') continue;
        if (classes > 0 && count >= classes) {
            cbd_set_error(err, err_len, "%s:%d: more class names than the %d classes", path, line_no, classes);
            goto cleanup;
        }
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(names, (size_t)capacity * sizeof *names);
            if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading %s", path);
            names = grown;
        }
        names[count++] = cbd_strdup(name);
    }
    if (count == 0 || (classes > 0 && count != classes)) {
        if (classes > 0)
            cbd_set_error(err, err_len, "%s: %d class names, expected one per class (%d)", path, count, classes);
        else
            cbd_set_error(err, err_len, "%s: no class names", path);
        goto cleanup;
    }
    *names_out = names;
    names = NULL;
    rc = count;
cleanup:
    cbd_class_names_free(names, count);
    free(text);
    return rc;
}

void cbd_class_names_free(char **names, int classes) {
    if (!names) return;
    for (int c = 0; c < classes; c++) free(names[c]);
    free(names);
}

int cbd_class_names_write(const char *path, const char *const *names, int classes, char *err,
                          size_t err_len) {
    text_buf b = {0};
    for (int c = 0; c < classes; c++) {
        if (names) text_append(&b, "%s\n", names[c]);
        else text_append(&b, "%d\n", c);
    }
    return text_save(&b, path, err, err_len);
}

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void append_csv_field(text_buf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        text_append(b, "%s", s);
        return;
    }
    text_append(b, "\"");
    for (; *s; s++) {
        if (*s == '"') text_append(b, "\"\"");
        else text_append(b, "%c", *s);
    }
    text_append(b, "\"");
}

int cbd_class_counts_write(const char *path, const char *const *names, const int64_t *counts,
                           int classes, char *err, size_t err_len) {
    text_buf b = {0};
    text_append(&b, "class,name,count\n");
    for (int c = 0; c < classes; c++) {
        text_append(&b, "%d,", c);
        if (names) append_csv_field(&b, names[c]);
        else text_append(&b, "%d", c);
        text_append(&b, ",%" PRId64 "\n", counts[c]);
    }
    return text_save(&b, path, err, err_len);
}
