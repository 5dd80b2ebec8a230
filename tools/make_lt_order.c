/* make-lt's class order: the class at each rank, rank 0 getting the largest
 * count (n_max) and rank C-1 the smallest (n_max / IF).
 *
 *   (no --class-order)  label order: class c at rank c.
 *   LIST                every class label 0 .. C-1 exactly once, comma-
 *                       separated: the k-th listed class is at rank k.
 *   random:SEED         a seeded permutation, Fisher-Yates from the top:
 *                         order = 0, 1, ..., C-1;
 *                         for i = C-1 down to 1:
 *                           b = cbd_rng_block(SEED, stream 0x4c540003, i, 0),
 *                           x = (b.v[0] << 32) | b.v[1]   (64 bits),
 *                           j = x mod (i + 1),
 *                           swap order[i] and order[j];
 *                       then order[k] is the class at rank k. SEED is an
 *                       integer 0 .. 2^63-1, independent of --seed (which
 *                       picks the images).
 *
 * The order only moves counts between classes: which images a class keeps
 * depends on its count, never on its rank (tools/make_lt.c). */
#include "tools/make_lt_order.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/rng.h"

#define STREAM_ORDER ((cbd_rng_stream)0x4c540003u)
#define HINT "give every class label once, largest count first (e.g. 2,0,1), or random:SEED"

static int fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* The whole of [s, s+n) as a decimal integer (an optional '-', then digits);
 * values beyond long long saturate (they are out of range anyway). */
static int parse_item(const char *s, size_t n, long long *v) {
    char buf[32];
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == n) return -1;
    for (size_t k = i; k < n; k++)
        if (!isdigit((unsigned char)s[k])) return -1;
    if (n >= sizeof buf) {
        *v = s[0] == '-' ? -1 : INT64_MAX;
        return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtoll(buf, NULL, 10);
    return 0;
}

static int parse_random(const char *text, lt_order_spec *spec, char *err, size_t err_len) {
    const char *s = text + strlen("random:");
    char *end = NULL;
    errno = 0;
    unsigned long long v = isdigit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
    if (!isdigit((unsigned char)s[0]) || errno != 0 || *end != '\0' || v > INT64_MAX)
        return fail(err, err_len, "--class-order: random:SEED needs an integer seed 0..%lld, got '%s'",
                    (long long)INT64_MAX, text);
    spec->kind = LT_ORDER_RANDOM;
    spec->seed = v;
    return 0;
}

int lt_order_parse(const char *text, lt_order_spec *spec, char *err, size_t err_len) {
    *spec = (lt_order_spec){.kind = LT_ORDER_LABEL};
    if (!text) return 0;
    if (strncmp(text, "random:", strlen("random:")) == 0) return parse_random(text, spec, err, err_len);
    if (text[strspn(text, " \t")] == '\0') return fail(err, err_len, "--class-order: empty list; " HINT);
    int count = 1;
    for (const char *p = text; *p; p++) count += *p == ',';
    spec->kind = LT_ORDER_LIST;
    spec->items = cbd_malloc((size_t)count * sizeof *spec->items);
    spec->count = count;
    const char *p = text;
    for (int k = 0; k < count; k++) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *s = p, *e = end;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (s == e) {
            lt_order_free(spec);
            return fail(err, err_len, "--class-order: item %d of '%s' is empty; " HINT, k + 1, text);
        }
        if (parse_item(s, (size_t)(e - s), &spec->items[k]) != 0) {
            const int n = (int)(e - s) > 40 ? 40 : (int)(e - s);
            lt_order_free(spec);
            return fail(err, err_len, "--class-order: item %d ('%.*s') is not an integer class label; " HINT,
                        k + 1, n, s);
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int resolve_list(const lt_order_spec *spec, int classes, int *class_at_rank, char *err,
                        size_t err_len) {
    int *item_of = cbd_calloc((size_t)classes, sizeof *item_of); /* 1-based item, 0: not yet */
    int rc = 0;
    for (int k = 0; k < spec->count && rc == 0; k++) {
        const long long v = spec->items[k];
        if (v < 0 || v >= classes)
            rc = fail(err, err_len,
                      "--class-order: label %lld (item %d) is out of range: the input has %d classes, "
                      "labels 0..%d",
                      v, k + 1, classes, classes - 1);
        else if (item_of[v])
            rc = fail(err, err_len, "--class-order: label %lld is listed twice (items %d and %d)", v,
                      item_of[v], k + 1);
        else {
            item_of[v] = k + 1;
            class_at_rank[k] = (int)v; /* k < classes: a longer list repeats a label first */
        }
    }
    if (rc == 0 && spec->count < classes) {
        char missing[256] = "";
        size_t len = 0;
        int shown = 0;
        for (int c = 0; c < classes; c++) {
            if (item_of[c]) continue;
            if (shown++ == 10) {
                snprintf(missing + len, sizeof missing - len, ", ...");
                break;
            }
            int n = snprintf(missing + len, sizeof missing - len, "%s%d", len ? ", " : "", c);
            len += (size_t)n;
        }
        rc = fail(err, err_len, "--class-order: lists %d of the %d classes (each must appear once); missing: %s",
                  spec->count, classes, missing);
    }
    free(item_of);
    return rc;
}

int lt_order_resolve(const lt_order_spec *spec, int classes, int *class_at_rank, char *err,
                     size_t err_len) {
    if (spec->kind == LT_ORDER_LIST) return resolve_list(spec, classes, class_at_rank, err, err_len);
    for (int k = 0; k < classes; k++) class_at_rank[k] = k;
    if (spec->kind == LT_ORDER_RANDOM)
        for (int i = classes - 1; i >= 1; i--) {
            const cbd_philox_block b = cbd_rng_block(spec->seed, STREAM_ORDER, (uint64_t)i, 0);
            const uint64_t x = ((uint64_t)b.v[0] << 32) | b.v[1];
            const int j = (int)(x % (uint64_t)(i + 1));
            const int t = class_at_rank[i];
            class_at_rank[i] = class_at_rank[j];
            class_at_rank[j] = t;
        }
    return 0;
}

void lt_order_free(lt_order_spec *spec) {
    free(spec->items);
    spec->items = NULL;
    spec->count = 0;
}

char *lt_order_format(const int *class_at_rank, int classes) {
    const size_t cap = (size_t)classes * 12 + 1;
    char *s = cbd_malloc(cap);
    size_t len = 0;
    s[0] = '\0';
    for (int k = 0; k < classes; k++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", k ? "," : "", class_at_rank[k]);
    return s;
}
