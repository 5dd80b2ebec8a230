#include "tools/report_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/log.h"

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    int line; /* of p->pos, kept by skip_space (strings hold no raw newline) */
    const char *const *skip;
    char *err;
    size_t err_len;
    int failed;
} parser;

/* Records the first error at byte `at`, with its line and column. */
__attribute__((format(printf, 3, 4))) static void fail_at(parser *p, size_t at, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    size_t line = 1, column = 1;
    for (size_t k = 0; k < at && k < p->len; k++) {
        if (p->text[k] == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    int used = snprintf(p->err, p->err_len, "line %zu, column %zu (byte %zu): ", line, column, at);
    if (used < 0 || (size_t)used >= p->err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + used, p->err_len - (size_t)used, fmt, ap);
    va_end(ap);
}

/* What stands at byte `at`, for messages: 'x', byte 0x01, or the end of the file. */
static const char *describe_at(const parser *p, size_t at, char *buf, size_t buf_len) {
    if (at >= p->len) return "the end of the file";
    unsigned char c = (unsigned char)p->text[at];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, buf_len, "'%c'", c);
    else snprintf(buf, buf_len, "byte 0x%02x", c);
    return buf;
}

static void fail_expected(parser *p, const char *what) {
    char buf[32];
    fail_at(p, p->pos, "expected %s, found %s", what, describe_at(p, p->pos, buf, sizeof buf));
}

static void skip_space(parser *p) {
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        if (c == '\n' && p->line < INT32_MAX) p->line++;
        p->pos++;
    }
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1; }

/* ---- strings -------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} bytes;

static void bytes_push(bytes *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading JSON (%zu bytes)", cap);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void push_utf8(bytes *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    bytes_push(b, u, n);
}

/* Four hex digits at p->pos; -1 (error recorded) otherwise. */
static long read_hex4(parser *p) {
    if (p->len - p->pos < 4) {
        fail_at(p, p->pos, "\\u needs four hex digits");
        return -1;
    }
    long v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->text[p->pos + (size_t)k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            fail_at(p, p->pos + (size_t)k, "\\u needs four hex digits");
            return -1;
        }
        v = v * 16 + d;
    }
    p->pos += 4;
    return v;
}

/* One escape after the backslash at p->pos - 1. */
static int read_escape(parser *p, bytes *b) {
    size_t start = p->pos - 1;
    int c = peek(p);
    if (c < 0) {
        fail_at(p, start, "string not closed before the end of the file");
        return -1;
    }
    p->pos++;
    switch (c) {
    case '"': bytes_push(b, "\"", 1); return 0;
    case '\\': bytes_push(b, "\\", 1); return 0;
    case '/': bytes_push(b, "/", 1); return 0;
    case 'b': bytes_push(b, "\b", 1); return 0;
    case 'f': bytes_push(b, "\f", 1); return 0;
    case 'n': bytes_push(b, "\n", 1); return 0;
    case 'r': bytes_push(b, "\r", 1); return 0;
    case 't': bytes_push(b, "\t", 1); return 0;
    case 'u': break;
    default: {
        char buf[32];
        fail_at(p, start, "unknown escape: backslash then %s", describe_at(p, start + 1, buf, sizeof buf));
        return -1;
    }
    }
    long cp = read_hex4(p);
    if (cp < 0) return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff) {
        fail_at(p, start, "\\u%04lx is a lone low surrogate", cp);
        return -1;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
            fail_at(p, start, "\\u%04lx is a high surrogate without its low half", cp);
            return -1;
        }
        p->pos += 2;
        long low = read_hex4(p);
        if (low < 0) return -1;
        if (low < 0xdc00 || low > 0xdfff) {
            fail_at(p, start, "\\u%04lx is a high surrogate followed by \\u%04lx, not a low one", cp, low);
            return -1;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (cp == 0) {
        fail_at(p, start, "\\u0000 (a NUL character) is not accepted in strings");
        return -1;
    }
    push_utf8(b, (uint32_t)cp);
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p->pos (lead byte >= 0x80), or 0. */
static size_t utf8_length(const parser *p) {
    const unsigned char *s = (const unsigned char *)p->text + p->pos;
    size_t left = p->len - p->pos;
    size_t n;
    uint32_t min, cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) { n = 2; min = 0x80; cp = s[0] & 0x1f; }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) { n = 3; min = 0x800; cp = s[0] & 0x0f; }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) { n = 4; min = 0x10000; cp = s[0] & 0x07; }
    else return 0;
    if (left < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* The string at p->pos (at its opening quote), decoded into a malloc'd buffer. */
static char *read_string(parser *p) {
    size_t start = p->pos;
    bytes b = {0};
    bytes_push(&b, "", 0);
    p->pos++;
    for (;;) {
        if (p->pos >= p->len) {
            fail_at(p, start, "string not closed before the end of the file");
            break;
        }
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            return b.data;
        }
        if (c == '\\') {
            p->pos++;
            if (read_escape(p, &b) != 0) break;
        } else if (c < 0x20) {
            fail_at(p, p->pos, "control character 0x%02x inside a string (write it as an escape)", c);
            break;
        } else if (c < 0x80) {
            bytes_push(&b, p->text + p->pos, 1);
            p->pos++;
        } else {
            size_t n = utf8_length(p);
            if (n == 0) {
                fail_at(p, p->pos, "invalid UTF-8 inside a string (byte 0x%02x)", c);
                break;
            }
            bytes_push(&b, p->text + p->pos, n);
            p->pos += n;
        }
    }
    free(b.data);
    return NULL;
}

/* ---- numbers -------------------------------------------------------------- */

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int read_number(parser *p, double *out) {
    size_t start = p->pos;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') {
        p->pos++;
        if (is_digit(peek(p))) {
            fail_at(p, start, "numbers do not start with 0 (except 0 itself and 0.x)");
            return -1;
        }
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p))) p->pos++;
    } else {
        fail_expected(p, "a digit");
        return -1;
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) {
            fail_expected(p, "a digit after the decimal point");
            return -1;
        }
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) {
            fail_expected(p, "a digit in the exponent");
            return -1;
        }
        while (is_digit(peek(p))) p->pos++;
    }
    /* strtod reads a copy: the text need not be NUL-terminated */
    char digits[512];
    size_t n = p->pos - start;
    if (n >= sizeof digits) {
        fail_at(p, start, "number longer than %zu characters", sizeof digits - 1);
        return -1;
    }
    memcpy(digits, p->text + start, n);
    digits[n] = '\0';
    char *end = NULL;
    double v = strtod(digits, &end);
    if (end != digits + n) {
        fail_at(p, start, "cannot read this number");
        return -1;
    }
    if (!isfinite(v)) {
        fail_at(p, start, "number out of range");
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- values --------------------------------------------------------------- */

typedef struct {
    json_value *items;
    char **keys;
    size_t *key_at; /* byte offset of each key, for the duplicate message */
    size_t count, cap;
} members;

static void *grow(void *p, size_t count, size_t size) {
    void *q = realloc(p, count * size);
    if (!q) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading JSON (%zu members)", count);
    return q;
}

static void members_push(members *m, char *key, size_t key_at, const json_value *v) {
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->items = grow(m->items, m->cap, sizeof *m->items);
        m->keys = grow(m->keys, m->cap, sizeof *m->keys);
        m->key_at = grow(m->key_at, m->cap, sizeof *m->key_at);
    }
    m->items[m->count] = *v;
    m->keys[m->count] = key;
    m->key_at[m->count] = key_at;
    m->count++;
}

typedef struct {
    const char *key;
    size_t at;
} key_ref;

static int by_key_then_place(const void *a, const void *b) {
    const key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Refuses an object with a repeated key, naming the first repeat in the
 * text; sorting keeps this O(n log n) for objects of any size. */
static int check_duplicates(parser *p, const members *m) {
    if (m->count < 2) return 0;
    key_ref *refs = cbd_malloc(m->count * sizeof *refs);
    for (size_t k = 0; k < m->count; k++) refs[k] = (key_ref){m->keys[k], m->key_at[k]};
    qsort(refs, m->count, sizeof *refs, by_key_then_place);
    const key_ref *first = NULL;
    for (size_t k = 1; k < m->count; k++)
        if (strcmp(refs[k].key, refs[k - 1].key) == 0 && (!first || refs[k].at < first->at)) first = &refs[k];
    if (first) fail_at(p, first->at, "duplicate member \"%s\"", first->key);
    free(refs);
    return p->failed ? -1 : 0;
}

static void free_contents(json_value *v);

static void members_free(members *m) {
    for (size_t k = 0; k < m->count; k++) {
        free_contents(&m->items[k]);
        free(m->keys[k]);
    }
    free(m->items);
    free(m->keys);
    free(m->key_at);
}

static int read_value(parser *p, json_value *out, int depth, int keep);

static int is_skipped(const parser *p, int depth, const char *key) {
    if (depth != 0 || !p->skip) return 0;
    for (const char *const *s = p->skip; *s; s++)
        if (strcmp(*s, key) == 0) return 1;
    return 0;
}

/* An array or object at p->pos (at its opening bracket); depth counts the
 * containers around it. When !keep its content is checked and dropped: an
 * array comes back empty, an object with its keys (for the duplicate check)
 * and null values. */
static int read_container(parser *p, json_value *out, int depth, int keep) {
    const int object = peek(p) == '{';
    const char close = object ? '}' : ']';
    members m = {0};
    p->pos++;
    skip_space(p);
    if (peek(p) == close) {
        p->pos++;
        out->type = object ? JSON_OBJECT : JSON_ARRAY;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        size_t key_at = p->pos;
        if (object) {
            if (peek(p) != '"') {
                fail_expected(p, m.count ? "a member name (a string) after ','" : "a member name (a string) or '}'");
                break;
            }
            key = read_string(p);
            if (!key) break;
            skip_space(p);
            if (peek(p) != ':') {
                fail_expected(p, "':' after the member name");
                free(key);
                break;
            }
            p->pos++;
            skip_space(p);
        }
        const int keep_member = keep && !(object && is_skipped(p, depth, key));
        json_value v;
        if (read_value(p, &v, depth + 1, keep_member) != 0) {
            free(key);
            break;
        }
        if (!keep_member) {
            free_contents(&v);
            int line = v.line;
            memset(&v, 0, sizeof v);
            v.type = JSON_NULL;
            v.line = line;
        }
        if (object || keep) members_push(&m, key, key_at, &v);
        skip_space(p);
        if (peek(p) == ',') {
            p->pos++;
            skip_space(p);
            if (peek(p) == close) {
                fail_at(p, p->pos, "trailing ',' before '%c'", close);
                break;
            }
            continue;
        }
        if (peek(p) == close) {
            p->pos++;
            if (object && check_duplicates(p, &m) != 0) break;
            free(m.key_at);
            out->type = object ? JSON_OBJECT : JSON_ARRAY;
            out->items = m.items;
            out->keys = object ? m.keys : NULL;
            out->count = m.count;
            if (!object) free(m.keys);
            return 0;
        }
        fail_expected(p, object ? "',' or '}' after an object member" : "',' or ']' after an array element");
        break;
    }
    members_free(&m);
    return -1;
}

static int read_literal(parser *p, const char *word, json_type type, json_value *out) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        fail_expected(p, "a JSON value");
        return -1;
    }
    p->pos += n;
    out->type = type;
    return 0;
}

/* depth: how many containers enclose this value; keep: see read_container. */
static int read_value(parser *p, json_value *out, int depth, int keep) {
    memset(out, 0, sizeof *out);
    skip_space(p);
    out->line = p->line;
    int c = peek(p);
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH) {
            fail_at(p, p->pos, "nested deeper than %d arrays and objects", JSON_MAX_DEPTH);
            return -1;
        }
        return read_container(p, out, depth, keep);
    }
    if (c == '"') {
        out->string = read_string(p);
        if (!out->string) return -1;
        out->type = JSON_STRING;
        return 0;
    }
    if (c == '-' || is_digit(c)) {
        out->type = JSON_NUMBER;
        return read_number(p, &out->number);
    }
    if (c == 't') return read_literal(p, "true", JSON_TRUE, out);
    if (c == 'f') return read_literal(p, "false", JSON_FALSE, out);
    if (c == 'n') return read_literal(p, "null", JSON_NULL, out);
    fail_expected(p, "a JSON value");
    return -1;
}

/* ---- public --------------------------------------------------------------- */

json_value *json_parse(const char *text, size_t len, const char *const *skip, char *err, size_t err_len) {
    parser p = {.text = text, .len = len, .line = 1, .skip = skip, .err = err, .err_len = err_len};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        fail_at(&p, 0, "starts with a byte-order mark, which JSON does not allow");
        return NULL;
    }
    json_value *root = cbd_calloc(1, sizeof *root);
    if (read_value(&p, root, 0, 1) == 0) {
        skip_space(&p);
        if (p.pos == p.len) return root;
        char buf[32];
        fail_at(&p, p.pos, "unexpected %s after the end of the JSON value", describe_at(&p, p.pos, buf, sizeof buf));
        free_contents(root);
    }
    free(root);
    return NULL;
}

json_value *json_parse_file(const char *path, size_t max_bytes, const char *const *skip, char *err,
                            size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uintmax_t)st.st_size > max_bytes) {
        snprintf(err, err_len, "%s: %jd bytes is more than the %zu this reader accepts", path,
                 (intmax_t)st.st_size, max_bytes);
        fclose(f);
        return NULL;
    }
    /* Read at most max_bytes + 1, whatever stat said: the file may grow. */
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = cbd_malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap > max_bytes) break;
            size_t grown_cap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            char *grown = realloc(buf, grown_cap + 1);
            if (!grown) cbd_fail(CBD_EXIT_FAILURE, "%s: out of memory for %zu bytes", path, grown_cap);
            buf = grown;
            cap = grown_cap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, err_len, "%s: read error", path);
        free(buf);
        return NULL;
    }
    if (len > max_bytes) {
        snprintf(err, err_len, "%s: more than the %zu bytes this reader accepts", path, max_bytes);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    char why[512];
    json_value *root = len == 0 ? NULL : json_parse(buf, len, skip, why, sizeof why);
    if (len == 0) snprintf(err, err_len, "%s: empty file, expected JSON", path);
    else if (!root) snprintf(err, err_len, "%s: malformed JSON: %s", path, why);
    free(buf);
    return root;
}

static void free_contents(json_value *v) {
    if (v->type == JSON_STRING) free(v->string);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t k = 0; k < v->count; k++) {
            free_contents(&v->items[k]);
            if (v->keys) free(v->keys[k]);
        }
        free(v->items);
        free(v->keys);
    }
}

void json_free(json_value *v) {
    if (!v) return;
    free_contents(v);
    free(v);
}

const json_value *json_get(const json_value *v, const char *key) {
    if (!v || v->type != JSON_OBJECT) return NULL;
    for (size_t k = 0; k < v->count; k++)
        if (strcmp(v->keys[k], key) == 0) return &v->items[k];
    return NULL;
}

const char *json_type_name(json_type type) {
    switch (type) {
    case JSON_NULL: return "null";
    case JSON_FALSE:
    case JSON_TRUE: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "?";
}
