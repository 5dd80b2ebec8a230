/* Reading a complete feature store (store/feature_store.h): every check at
 * opening, the store loaded into memory when it fits the cap, else rows read
 * from the file on request, sorted and merged with their neighbours. */
#include "store/feature_store_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/digest.h"

struct cbd_feature_store {
    char *path;
    fs_rows rows;                   /* the file (closed once loaded into memory) */
    int32_t *labels;
    int in_memory;
    int features_only;              /* logits not served (expect->features_only) */
    float *mem[PART_COUNT];         /* in memory: [views,] n, width */
    int64_t *order;                 /* on-disk reads: [2 * count] (row key, request) pairs */
    size_t order_len;
};

void cbd_feature_store_close(cbd_feature_store *fs) {
    if (!fs) return;
    fs_rows_free(&fs->rows);
    for (int p = 0; p < PART_COUNT; p++) free(fs->mem[p]);
    free(fs->order);
    free(fs->labels);
    free(fs->path);
    free(fs);
}

static int load_part(cbd_h5_ctx *c, cbd_feature_store *fs, fs_part p) {
    const cbd_feature_store_spec *s = &fs->rows.spec;
    const int width = fs_part_width(s, p);
    const int64_t views = fs_part_per_view(p) ? s->views : 1, block = fs_block_rows(s, p);
    fs->mem[p] = cbd_malloc((size_t)(views * s->n) * (size_t)width * sizeof(float));
    fs_grow_raw(&fs->rows, (size_t)block * (size_t)width * fs_dtype_size(s->dtype));
    for (int64_t v = 0; v < views; v++)
        for (int64_t first = 0; first < s->n; first += block) {
            const int64_t rows = first + block > s->n ? s->n - first : block;
            float *out = fs->mem[p] + ((size_t)(v * s->n + first)) * (size_t)width;
            if (fs_read_span(c, &fs->rows, p, v, first, rows, fs->rows.raw) != 0) return -1;
            fs_to_float(fs->rows.spec.dtype, fs->rows.raw, out, (size_t)rows * (size_t)width);
            for (int64_t r = 0; r < rows; r++)
                if (!fs_finite_row(out + (size_t)r * (size_t)width, width)) return fs_fail_not_finite(c, p, v, first + r);
        }
    return 0;
}

static int check_expectations(cbd_h5_ctx *c, const cbd_feature_store_spec *s, const int32_t *labels,
                              const cbd_feature_store_expect *e) {
    if (!e) return 0;
    if (e->manifest_digest && e->manifest_digest != s->manifest_digest) {
        char have[17], want[17];
        cbd_digest_hex(s->manifest_digest, have);
        cbd_digest_hex(e->manifest_digest, want);
        cbd_h5_fail(c, "manifest digest mismatch: the store was dumped for dataset %s, this run uses %s; "
                       "dump the features again for this dataset", have, want);
        return -1;
    }
    if (e->n && e->n != s->n) {
        cbd_h5_fail(c, "the store holds %" PRId64 " images, expected %" PRId64, s->n, e->n);
        return -1;
    }
    if (e->labels)
        for (int64_t i = 0; i < s->n; i++)
            if (labels[i] != e->labels[i]) {
                cbd_h5_fail(c, "labels differ: image %" PRId64 " has label %" PRId32 " in the store, %" PRId32
                               " in the dataset",
                            i, labels[i], e->labels[i]);
                return -1;
            }
    if (e->d && e->d != s->d) {
        cbd_h5_fail(c, "the store holds features of width d = %d, expected %d", s->d, e->d);
        return -1;
    }
    if (e->views && e->views != s->views) {
        cbd_h5_fail(c, "the store holds %d views per image, expected %d", s->views, e->views);
        return -1;
    }
    if (e->classes && e->classes != s->classes) {
        cbd_h5_fail(c, "the store has %d classes, expected %d", s->classes, e->classes);
        return -1;
    }
    return 0;
}

static cbd_feature_store *store_new(const char *path) {
    cbd_feature_store *fs = cbd_calloc(1, sizeof *fs);
    fs->path = cbd_strdup(path);
    fs_rows_init(&fs->rows);
    return fs;
}

cbd_feature_store *cbd_feature_store_open(const char *path, const cbd_feature_store_expect *expect,
                                          int64_t memory_cap_bytes, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    cbd_feature_store *fs = store_new(path);
    fs_header h;
    uint8_t *done = NULL;
    if ((fs->rows.half = fs_half_type(&c)) < 0 || (fs->rows.file = cbd_h5_open_read(&c)) < 0 ||
        fs_read_header(&c, fs->rows.file, &h) != 0)
        goto fail;
    fs->rows.spec = h.spec;
    done = cbd_calloc((size_t)h.spec.views, 1);
    if (fs_read_done(&c, fs->rows.file, &h.spec, done) != 0 || fs_check_complete(&c, &h, done) != 0 ||
        !(fs->labels = fs_read_labels(&c, fs->rows.file, &h.spec)) ||
        check_expectations(&c, &h.spec, fs->labels, expect) != 0)
        goto fail;
    fs->features_only = expect && expect->features_only;
    cbd_feature_store_spec served = h.spec;
    if (fs->features_only) served.has_logits = 0;
    fs->in_memory = cbd_feature_store_float_bytes(&served) <= memory_cap_bytes;
    if (fs_rows_open(&c, &fs->rows) != 0) goto fail;
    if (fs->in_memory) {
        for (int p = 0; p < PART_COUNT; p++)
            if (fs_part_present(&served, p) && load_part(&c, fs, p) != 0) goto fail;
        fs_rows_free(&fs->rows); /* the file and its buffers: rows now come from memory */
    }
    free(done);
    return fs;
fail:
    free(done);
    cbd_feature_store_close(fs);
    return NULL;
}

const cbd_feature_store_spec *cbd_feature_store_spec_of(const cbd_feature_store *fs) { return &fs->rows.spec; }
const int32_t *cbd_feature_store_labels(const cbd_feature_store *fs) { return fs->labels; }
const char *cbd_feature_store_path(const cbd_feature_store *fs) { return fs->path; }
int cbd_feature_store_in_memory(const cbd_feature_store *fs) { return fs->in_memory; }

static int compare_pairs(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* On disk: requests sorted by (view, image), neighbours read in one piece,
 * each row converted straight into its place. */
static int read_from_disk(cbd_h5_ctx *c, cbd_feature_store *fs, int logits, int64_t count, float *out) {
    const cbd_feature_store_spec *s = &fs->rows.spec;
    const int width = logits ? s->classes : s->d;
    const size_t row_bytes = (size_t)width * fs_dtype_size(s->dtype);
    const int64_t gap = (int64_t)(MERGE_GAP_BYTES / row_bytes);
    const int64_t *pairs = fs->order;
    for (int64_t a = 0; a < count;) {
        const int64_t view = pairs[2 * a] / s->n, first = pairs[2 * a] % s->n;
        int64_t b = a + 1, last = first;
        while (b < count && pairs[2 * b] / s->n == view && pairs[2 * b] % s->n - last <= gap + 1) {
            last = pairs[2 * b] % s->n;
            b++;
        }
        const int64_t rows = last - first + 1;
        fs_grow_raw(&fs->rows, (size_t)rows * row_bytes);
        if (fs_read_span(c, &fs->rows, fs_part_of_view(logits, view, s->views), view, first, rows, fs->rows.raw) != 0) return -1;
        for (int64_t k = a; k < b; k++) {
            const int64_t row = pairs[2 * k] % s->n - first, j = pairs[2 * k + 1];
            fs_to_float(fs->rows.spec.dtype, fs->rows.raw + (size_t)row * row_bytes, out + (size_t)j * (size_t)width, (size_t)width);
            if (!fs_finite_row(out + (size_t)j * (size_t)width, width))
                return fs_fail_not_finite(c, fs_part_of_view(logits, view, s->views), view, first + row);
        }
        a = b;
    }
    return 0;
}

static void copy_from_memory(const cbd_feature_store *fs, int logits, const int64_t *images, const uint32_t *views,
                             int64_t count, float *out) {
    const cbd_feature_store_spec *s = &fs->rows.spec;
    const size_t width = (size_t)(logits ? s->classes : s->d);
    const float *all = fs->mem[logits ? PART_LOGITS : PART_FEATURES];
    const float *center = fs->mem[logits ? PART_CENTER_LOGITS : PART_CENTER];
    for (int64_t j = 0; j < count; j++) {
        const float *src = views[j] == CBD_FEATURE_CENTER ? center + (size_t)images[j] * width
                                                          : all + ((size_t)views[j] * (size_t)s->n + (size_t)images[j]) * width;
        memcpy(out + (size_t)j * width, src, width * sizeof *out);
    }
}

int cbd_feature_store_read(cbd_feature_store *fs, const int64_t *images, const uint32_t *views, int64_t count,
                           float *features, float *logits, char *err, size_t err_len) {
    static _Thread_local int quiet = 0;
    if (!quiet) { /* HDF5 keeps one error stack per thread: silence this one */
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        quiet = 1;
    }
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, fs->path, err, err_len);
    const cbd_feature_store_spec *s = &fs->rows.spec;
    if (logits && !s->has_logits) {
        cbd_h5_fail(&c, "logits requested, but the store has none (dump it with logits)");
        return -1;
    }
    if (logits && fs->features_only) {
        cbd_h5_fail(&c, "logits requested, but the store was opened for its features only");
        return -1;
    }
    for (int64_t j = 0; j < count; j++) {
        if (images[j] < 0 || images[j] >= s->n) {
            cbd_h5_fail(&c, "request %" PRId64 ": no image %" PRId64 " (the store holds %" PRId64 ")", j, images[j],
                        s->n);
            return -1;
        }
        if (views[j] != CBD_FEATURE_CENTER && views[j] >= (uint32_t)s->views) {
            cbd_h5_fail(&c, "request %" PRId64 ": no view %" PRIu32 " (the store holds %d)", j, views[j], s->views);
            return -1;
        }
    }
    if (fs->in_memory) {
        copy_from_memory(fs, 0, images, views, count, features);
        if (logits) copy_from_memory(fs, 1, images, views, count, logits);
        return 0;
    }
    if (fs->order_len < (size_t)count) {
        free(fs->order);
        fs->order = cbd_malloc((size_t)count * 2 * sizeof *fs->order);
        fs->order_len = (size_t)count;
    }
    for (int64_t j = 0; j < count; j++) {
        const int64_t v = views[j] == CBD_FEATURE_CENTER ? s->views : (int64_t)views[j];
        fs->order[2 * j] = v * s->n + images[j];
        fs->order[2 * j + 1] = j;
    }
    qsort(fs->order, (size_t)count, 2 * sizeof *fs->order, compare_pairs);
    if (read_from_disk(&c, fs, 0, count, features) != 0) return -1;
    if (logits && read_from_disk(&c, fs, 1, count, logits) != 0) return -1;
    return 0;
}

