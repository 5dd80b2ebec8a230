/* --row I [--seed S]: the feature vector (and logits) of one image in one
 * view (default: the center) with its label, read with the library's row
 * reader. */
#include "tools/h5inspect/h5inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

static long long parse_index(const inspector *in, const char *option, const char *text) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0)
        die_file(in, "%s: expected a non-negative integer, got '%s'", option, text);
    return v;
}

static void print_values_text(const char *label, const float *x, int n) {
    char num[40];
    printf("%-16s", label);
    for (int k = 0; k < n; k++) {
        format_float(num, x[k]);
        printf(" %s", num);
    }
    printf("\n");
}

int cmd_row(inspector *in, const char *row_text, const char *seed_text, json_out *w) {
    feature_rows f;
    feature_rows_open(in, "--row", &f);
    const cbd_feature_store_spec *spec = f.spec;
    const long long row = parse_index(in, "--row", row_text);
    if (row >= spec->n)
        die_file(in, "--row %lld is outside 0..%lld (the store holds %lld images)", row, (long long)spec->n - 1,
                 (long long)spec->n);
    long long view = -1;
    if (seed_text && strcmp(seed_text, "center") != 0) {
        view = parse_index(in, "--seed", seed_text);
        if (view >= spec->views)
            die_file(in, "--seed %lld is outside 0..%d (the store holds %d views)", view, spec->views - 1,
                     spec->views);
    }
    const int64_t which = view < 0 ? CBD_FEATURE_WRITER_CENTER : view;
    const int logits = spec->has_logits, written = cbd_feature_rows_view_done(f.rows, which);
    float *x = cbd_calloc((size_t)spec->d, sizeof *x), *z = cbd_calloc((size_t)spec->classes, sizeof *z);
    feature_rows_read(&f, 0, which, row, 1, x);
    if (logits) feature_rows_read(&f, 1, which, row, 1, z);
    const int64_t label = f.labels[row];
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_i64(w, "row", row);
        if (view < 0) jw_null(w, "view");
        else jw_i64(w, "view", view);
        jw_str(w, "dataset", view < 0 ? "/center" : "/features");
        jw_i64(w, "label", label);
        jw_bool(w, "written", written);
        jw_flat_array(w, "features");
        for (int k = 0; k < spec->d; k++) jw_f32(w, NULL, x[k]);
        jw_end_array(w);
        if (logits) {
            jw_flat_array(w, "logits");
            for (int k = 0; k < spec->classes; k++) jw_f32(w, NULL, z[k]);
            jw_end_array(w);
        } else {
            jw_null(w, "logits");
        }
        jw_end_object(w);
    } else {
        char where[64], label_text[64];
        if (view < 0) snprintf(where, sizeof where, "center view");
        else snprintf(where, sizeof where, "view %lld", view);
        printf("image %lld, %s, label %" PRId64 "\n", row, where, label);
        if (!written) printf("note: %s is not done: these values were never written\n", where);
        snprintf(label_text, sizeof label_text, "features [%d]", spec->d);
        print_values_text(label_text, x, spec->d);
        if (logits) {
            snprintf(label_text, sizeof label_text, "logits [%d]", spec->classes);
            print_values_text(label_text, z, spec->classes);
        }
    }
    free(x);
    free(z);
    feature_rows_close(&f);
    return CBD_EXIT_OK;
}
