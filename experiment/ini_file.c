/* The INI dialect of the project read through inih, lines counted here
 * (experiment/ini_file.h). */
#include "experiment/ini_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "nn/log.h"

#define MAX_FILE_BYTES ((size_t)16 << 20)

typedef struct {
    const char *path;
    const cbd_ini_handlers *h;
    char *buf;
    size_t len, pos, line_end;
    int lineno, at_line_start, limit;
    char *err;
    size_t err_len;
    int failed;
} reader;

static void fail(reader *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(reader *R, const char *fmt, ...) {
    if (R->failed) return;
    R->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->err, R->err_len, fmt, ap);
    va_end(ap);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int read_whole(reader *R) {
    FILE *f = fopen(R->path, "rb");
    if (!f) {
        fail(R, "cannot open %s: %s", R->path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = cbd_malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                fclose(f);
                free(buf);
                fail(R, "%s: larger than 16 MiB: not an INI file of this project", R->path);
                return -1;
            }
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) CBD_PANIC("out of memory reading %s", R->path);
            buf = grown;
        }
        const size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    const int bad = ferror(f), saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        fail(R, "cannot read %s: %s", R->path, strerror(saved));
        return -1;
    }
    R->buf = buf;
    R->len = len;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) R->pos = 3; /* UTF-8 byte order mark */
    R->at_line_start = 1;
    return 0;
}

/* A [section] header: its syntax, then the caller's handler. */
static void header(reader *R, const char *line, size_t content) {
    const char *close = memchr(line, ']', content);
    if (!close) {
        fail(R, "%s:%d: %.*s: missing ']'", R->path, R->lineno, (int)content, line);
        return;
    }
    for (const char *p = close + 1; p < line + content; p++) {
        if (*p == ';' || *p == '#') break;
        if (*p != ' ' && *p != '\t') {
            fail(R, "%s:%d: unexpected text after the section header: %.*s", R->path, R->lineno,
                 (int)(line + content - (close + 1)), close + 1);
            return;
        }
    }
    char name[256];
    const size_t n = (size_t)(close - line - 1);
    if (n >= sizeof name) {
        fail(R, "%s:%d: [%.*s]: section name too long", R->path, R->lineno, (int)n, line + 1);
        return;
    }
    memcpy(name, line + 1, n);
    name[n] = '\0';
    if (R->h->section(R->h->ctx, trim(name), R->lineno) != 0) R->failed = 1;
}

/* The start of each line: counts it, strips leading blanks, checks its
 * length and syntax, and follows section headers. */
static int begin_line(reader *R) {
    R->lineno++;
    while (R->pos < R->len && (R->buf[R->pos] == ' ' || R->buf[R->pos] == '\t')) R->pos++;
    const char *nl = memchr(R->buf + R->pos, '\n', R->len - R->pos);
    R->line_end = nl ? (size_t)(nl - R->buf) + 1 : R->len;
    size_t content = (nl ? (size_t)(nl - R->buf) : R->len) - R->pos;
    const char *line = R->buf + R->pos;
    if (content && line[content - 1] == '\r') content--;
    if (memchr(line, '\0', content)) {
        fail(R, "%s:%d: NUL byte in the line (not a text file?)", R->path, R->lineno);
        return -1;
    }
    if (content > (size_t)R->limit) {
        fail(R, "%s:%d: line longer than %d characters", R->path, R->lineno, R->limit);
        return -1;
    }
    if (!content || line[0] == ';' || line[0] == '#') return 0;
    if (line[0] == '[') {
        header(R, line, content);
        return R->failed ? -1 : 0;
    }
    /* a key line needs '=' or ':' before any inline comment (inih's rule) */
    for (size_t i = 0; i < content; i++) {
        if (line[i] == '=' || line[i] == ':') return 0;
        if (line[i] == ';' && i && (line[i - 1] == ' ' || line[i - 1] == '\t')) break;
    }
    fail(R, "%s:%d: %.*s: expected `key = value`, a [section] header or a comment", R->path, R->lineno,
         (int)(content > 80 ? 80 : content), line);
    return -1;
}

/* inih's reader: hands over the current line with fgets semantics. */
static char *next_line(char *str, int num, void *stream) {
    reader *R = stream;
    if (R->failed || R->pos >= R->len) return NULL;
    if (R->at_line_start) {
        if (begin_line(R) != 0) return NULL;
        R->at_line_start = 0;
    }
    size_t n = 0;
    while (n + 1 < (size_t)num && R->pos < R->line_end) str[n++] = R->buf[R->pos++];
    str[n] = '\0';
    if (R->pos >= R->line_end) R->at_line_start = 1;
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    (void)section; /* followed here, line by line */
    reader *R = user;
    if (!R->failed && R->h->key(R->h->ctx, name, value, R->lineno) != 0) R->failed = 1;
    return 1;
}

int cbd_ini_read(const char *path, int max_line, const cbd_ini_handlers *h, char *err, size_t err_len) {
    reader R = {.path = path, .h = h, .err = err, .err_len = err_len};
    if (err_len) err[0] = '\0';
    if (read_whole(&R) != 0) return -1;
#if CBD_INIH_RUNTIME_OPTIONS
    /* This inih takes its options at run time: fix the dialect documented
     * above and let the line buffer grow to max_line. */
    static char start_prefixes[] = ";#", inline_prefixes[] = ";";
    const bool multiline = ini_allow_multiline, bom = ini_allow_bom, inline_comments = ini_allow_inline_comments,
               stack = ini_use_stack, grow = ini_allow_realloc, stop = ini_stop_on_first_error,
               no_value = ini_allow_no_value;
    char *const starts = ini_start_comment_prefixes, *const inlines = ini_inline_comment_prefixes;
    const int saved_max = ini_max_line;
    ini_allow_multiline = false;
    ini_allow_bom = true;
    ini_allow_inline_comments = true;
    ini_start_comment_prefixes = start_prefixes;
    ini_inline_comment_prefixes = inline_prefixes;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = max_line + 3;
    ini_stop_on_first_error = false;
    ini_allow_no_value = false;
    R.limit = max_line;
#else
    R.limit = INI_MAX_LINE - 3; /* inih's fixed buffer */
    (void)max_line;
#endif
    const int rc = ini_parse_stream(next_line, &R, on_key, &R);
#if CBD_INIH_RUNTIME_OPTIONS
    ini_allow_multiline = multiline;
    ini_allow_bom = bom;
    ini_allow_inline_comments = inline_comments;
    ini_start_comment_prefixes = starts;
    ini_inline_comment_prefixes = inlines;
    ini_use_stack = stack;
    ini_allow_realloc = grow;
    ini_max_line = saved_max;
    ini_stop_on_first_error = stop;
    ini_allow_no_value = no_value;
#endif
    free(R.buf);
    if (!R.failed && rc > 0)
        fail(&R, "%s:%d: expected `key = value`, a [section] header or a comment", path, rc);
    else if (!R.failed && rc < 0)
        fail(&R, "%s: inih could not parse the file (code %d)", path, rc);
    return R.failed ? -1 : 0;
}
