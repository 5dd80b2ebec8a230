/* Text built in memory (store/text.h). */
#include "store/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

/* Room for `more` bytes and the NUL after them. */
static void reserve(cbd_text *t, size_t more) {
    if (t->p && t->len + more < t->cap) return;
    size_t cap = t->cap ? t->cap : 256;
    while (cap <= t->len + more) cap *= 2;
    char *grown = realloc(t->p, cap);
    if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory for %zu bytes of text", cap);
    t->p = grown;
    t->cap = cap;
}

void cbd_text_vprintf(cbd_text *t, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) CBD_PANIC("vsnprintf failed for \"%s\"", fmt);
    reserve(t, (size_t)n);
    vsnprintf(t->p + t->len, t->cap - t->len, fmt, again);
    va_end(again);
    t->len += (size_t)n;
}

void cbd_text_printf(cbd_text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cbd_text_vprintf(t, fmt, ap);
    va_end(ap);
}

const char *cbd_text_str(const cbd_text *t) { return t->p ? t->p : ""; }

void cbd_text_clear(cbd_text *t) {
    t->len = 0;
    if (t->p) t->p[0] = '\0';
}

void cbd_text_free(cbd_text *t) {
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

/* Length of a valid UTF-8 sequence of two or more bytes at p, or 0. */
static int utf8_length(const unsigned char *p) {
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    int n;
    uint32_t cp;
    if ((p[0] & 0xe0) == 0xc0) n = 2, cp = p[0] & 0x1fu;
    else if ((p[0] & 0xf0) == 0xe0) n = 3, cp = p[0] & 0x0fu;
    else if ((p[0] & 0xf8) == 0xf0) n = 4, cp = p[0] & 0x07u;
    else return 0;
    for (int k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

void cbd_text_json_string(cbd_text *t, const char *s) {
    cbd_text_printf(t, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') {
            cbd_text_printf(t, "\\%c", *p++);
        } else if (*p == '\n') {
            cbd_text_printf(t, "\\n");
            p++;
        } else if (*p == '\t') {
            cbd_text_printf(t, "\\t");
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            cbd_text_printf(t, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            cbd_text_printf(t, "%c", *p++);
        } else {
            const int n = utf8_length(p);
            if (n) {
                cbd_text_printf(t, "%.*s", n, (const char *)p);
                p += n;
            } else {
                cbd_text_printf(t, "\\ufffd");
                p++;
            }
        }
    }
    cbd_text_printf(t, "\"");
}

void cbd_text_json_number(cbd_text *t, double x) {
    if (isfinite(x)) cbd_text_printf(t, "%.10g", x);
    else cbd_text_printf(t, "null");
}
