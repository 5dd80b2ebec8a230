/* A feature store's rows for --stats and --row, read with the library's row
 * reader (cbd_feature_rows in store/feature_store.h, which converts float16
 * with store/half.h), and its labels as stored: each one kept, so that
 * --stats can count those out of range. */
#include "tools/h5inspect/h5inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

/* /labels [n] of any integer type, as int64; ends the program otherwise. */
static int64_t *read_labels(inspector *in, int64_t n) {
    const hsize_t dims[1] = {(hsize_t)n};
    int64_t *labels = cbd_calloc(n > 0 ? (size_t)n : 1, sizeof *labels);
    int rc = -1;
    hid_t dset = cbd_h5_open_checked(&in->h5, in->file, "labels", H5T_INTEGER, 0, 1, dims, H5P_DEFAULT);
    if (dset < 0) die_h5(in);
    CBD_H5_CHECK(&in->h5, H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels),
                 "cannot read dataset 'labels': truncated or corrupt");
    rc = 0;
cleanup:
    if (cbd_h5_close_checked(&in->h5, dset, rc, "labels") != 0) die_h5(in);
    return labels;
}

void feature_rows_open(inspector *in, const char *option, feature_rows *f) {
    char format[1024], err[2048];
    file_format(in, format, sizeof format);
    if (strcmp(format, CBD_FEATURE_STORE_FORMAT) != 0)
        die_file(in, "%s works on feature stores; this file's format is %s%s%s", option, format[0] ? "'" : "",
                 format[0] ? format : "not set (no root attribute 'format')", format[0] ? "'" : "");
    memset(f, 0, sizeof *f);
    if (!(f->rows = cbd_feature_rows_open(in->path, err, sizeof err)))
        cbd_fail(CBD_EXIT_USAGE, "%s (h5inspect --verify lists every defect)", err);
    f->spec = cbd_feature_rows_spec(f->rows);
    f->labels = read_labels(in, f->spec->n);
}

void feature_rows_close(feature_rows *f) {
    cbd_feature_rows_close(f->rows);
    free(f->labels);
    memset(f, 0, sizeof *f);
}

void feature_rows_read(feature_rows *f, int logits, int64_t view, int64_t first, int64_t rows, float *out) {
    char err[2048];
    if (cbd_feature_rows_read(f->rows, logits, view, first, rows, out, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
}

void scan_rows(feature_rows *f, int logits, int64_t view, row_stats *st, row_fn fn, void *arg) {
    const int64_t n = f->spec->n;
    const int cols = logits ? f->spec->classes : f->spec->d;
    int64_t block = ((int64_t)1 << 22) / cols; /* about 4M values a block */
    if (block < 1) block = 1;
    if (block > n) block = n > 0 ? n : 1;
    float *values = cbd_malloc((size_t)block * (size_t)cols * sizeof *values);
    for (int64_t r0 = 0; r0 < n; r0 += block) {
        const int64_t rows = n - r0 < block ? n - r0 : block;
        feature_rows_read(f, logits, view, r0, rows, values);
        for (int64_t r = 0; r < rows; r++) {
            const float *x = values + (size_t)r * (size_t)cols;
            uint64_t nan = 0, inf = 0;
            double sq = 0.0;
            for (int k = 0; k < cols; k++) {
                if (isnan(x[k])) nan++;
                else if (isinf(x[k])) inf++;
                else sq += (double)x[k] * x[k];
            }
            const int finite = nan == 0 && inf == 0;
            const double norm = sqrt(sq);
            st->nan += nan;
            st->inf += inf;
            if (finite) {
                if (st->rows == 0 || norm < st->min) st->min = norm;
                if (st->rows == 0 || norm > st->max) st->max = norm;
                st->sum += norm;
                st->rows++;
            }
            if (fn) fn(arg, r0 + r, x, cols, finite, norm);
        }
    }
    free(values);
}
