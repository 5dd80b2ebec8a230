/* The streaming JSON writer of --json: objects and arrays indented two
 * spaces a level (flat ones on one line), strings escaped by store/text.h,
 * floats with the fewest digits that read back the same. */
#include "tools/h5inspect/h5inspect.h"

#include <inttypes.h>
#include <math.h>

#include "nn/log.h"
#include "store/digest.h"

static void write_string(json_out *w, const char *s) {
    cbd_text_clear(&w->scratch);
    cbd_text_json_string(&w->scratch, s);
    fputs(cbd_text_str(&w->scratch), w->f);
}

/* The separator, the indentation and the key before an item. */
static void item(json_out *w, const char *key) {
    if (w->depth > 0) {
        int first = w->count[w->depth]++ == 0;
        if (!first) fputc(',', w->f);
        if (w->flat[w->depth]) {
            if (!first) fputc(' ', w->f);
        } else {
            fputc('\n', w->f);
            for (int k = 0; k < w->depth; k++) fputs("  ", w->f);
        }
    }
    if (key) {
        write_string(w, key);
        fputs(": ", w->f);
    }
}

void jw_open(json_out *w, const char *key, int bracket, int flat) {
    item(w, key);
    fputc(bracket, w->f);
    w->depth++;
    CBD_ASSERT(w->depth < 32, "JSON nested too deep");
    w->count[w->depth] = 0;
    w->flat[w->depth] = flat || w->flat[w->depth - 1];
}

static void close_bracket(json_out *w, int bracket) {
    int had = w->count[w->depth], flat = w->flat[w->depth];
    w->depth--;
    if (had && !flat) {
        fputc('\n', w->f);
        for (int k = 0; k < w->depth; k++) fputs("  ", w->f);
    }
    fputc(bracket, w->f);
    if (w->depth == 0) fputc('\n', w->f);
}

void jw_object(json_out *w, const char *key) { jw_open(w, key, '{', 0); }
void jw_end_object(json_out *w) { close_bracket(w, '}'); }
void jw_array(json_out *w, const char *key) { jw_open(w, key, '[', 0); }
void jw_flat_array(json_out *w, const char *key) { jw_open(w, key, '[', 1); }
void jw_end_array(json_out *w) { close_bracket(w, ']'); }

void jw_str(json_out *w, const char *key, const char *v) {
    item(w, key);
    if (v) write_string(w, v);
    else fputs("null", w->f);
}

void jw_null(json_out *w, const char *key) {
    item(w, key);
    fputs("null", w->f);
}

void jw_bool(json_out *w, const char *key, int v) {
    item(w, key);
    fputs(v ? "true" : "false", w->f);
}

void jw_i64(json_out *w, const char *key, int64_t v) {
    item(w, key);
    fprintf(w->f, "%" PRId64, v);
}

void jw_u64(json_out *w, const char *key, uint64_t v) {
    item(w, key);
    fprintf(w->f, "%" PRIu64, v);
}

static void number_text(json_out *w, const char *key, const char *text, double v) {
    item(w, key);
    if (isnan(v)) fputs("\"NaN\"", w->f);
    else if (isinf(v)) fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", w->f);
    else fputs(text, w->f);
}

void jw_f64(json_out *w, const char *key, double v) {
    char text[40];
    format_double(text, v);
    number_text(w, key, text, v);
}

void jw_f32(json_out *w, const char *key, float v) {
    char text[40];
    format_float(text, v);
    number_text(w, key, text, v);
}

void jw_shape(json_out *w, const char *key, int ndim, const hsize_t *dims) {
    jw_flat_array(w, key);
    for (int k = 0; k < ndim; k++) jw_u64(w, NULL, dims[k]);
    jw_end_array(w);
}

void jw_hex(json_out *w, const char *key, uint64_t v) {
    char hex[17];
    cbd_digest_hex(v, hex);
    jw_str(w, key, hex);
}

void jw_free(json_out *w) { cbd_text_free(&w->scratch); }
