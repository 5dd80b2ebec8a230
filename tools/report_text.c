#include "tools/report_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

static void reserve(report_text *t, size_t extra) {
    if (t->data && t->len + extra < t->cap) return;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap <= t->len + extra) {
        if (cap > ((size_t)-1) / 2) cbd_fail(CBD_EXIT_FAILURE, "report output too large");
        cap *= 2;
    }
    char *grown = realloc(t->data, cap);
    if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory for %zu bytes of report output", cap);
    t->data = grown;
    t->cap = cap;
    t->data[t->len] = '\0';
}

void report_text_printf(report_text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) cbd_fail(CBD_EXIT_FAILURE, "cannot format report output ('%s')", fmt);
    reserve(t, (size_t)need + 1);
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

void report_text_put(report_text *t, const char *s) {
    size_t n = strlen(s);
    reserve(t, n + 1);
    memcpy(t->data + t->len, s, n + 1);
    t->len += n;
}

void report_text_xml(report_text *t, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': report_text_put(t, "&amp;"); break;
        case '<': report_text_put(t, "&lt;"); break;
        case '>': report_text_put(t, "&gt;"); break;
        case '"': report_text_put(t, "&quot;"); break;
        case '\'': report_text_put(t, "&apos;"); break;
        default: {
            char c[2] = {(unsigned char)*s < 0x20 ? ' ' : *s, '\0'};
            report_text_put(t, c);
        }
        }
    }
}

void report_text_md(report_text *t, const char *s) {
    for (; *s; s++) {
        if (*s == '|') {
            report_text_put(t, "\\|");
        } else {
            char c[2] = {(unsigned char)*s < 0x20 ? ' ' : *s, '\0'};
            report_text_put(t, c);
        }
    }
}

void report_text_free(report_text *t) {
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}
