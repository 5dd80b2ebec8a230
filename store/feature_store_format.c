/* The feature store's format, shared by the writer, the reader, the verifier
 * and the row reader of tools (store/feature_store_format.h). */
#include "store/feature_store_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/digest.h"
#include "store/half.h"

#ifndef CBD_VERSION
#define CBD_VERSION "unknown"
#endif

/* ---- the datasets ------------------------------------------------------------------ */

const char *const fs_part_names[PART_COUNT] = {"features", "center", "logits", "center_logits"};

int fs_part_per_view(fs_part p) { return p == PART_FEATURES || p == PART_LOGITS; }
int fs_part_is_logits(fs_part p) { return p == PART_LOGITS || p == PART_CENTER_LOGITS; }
int fs_part_present(const cbd_feature_store_spec *s, fs_part p) { return !fs_part_is_logits(p) || s->has_logits; }
int fs_part_width(const cbd_feature_store_spec *s, fs_part p) { return fs_part_is_logits(p) ? s->classes : s->d; }
/* The dataset holding view v (0..S-1, or S for the center) of the features or the logits. */
fs_part fs_part_of_view(int logits, int64_t v, int views) {
    if (logits) return v == views ? PART_CENTER_LOGITS : PART_LOGITS;
    return v == views ? PART_CENTER : PART_FEATURES;
}

size_t fs_dtype_size(cbd_store_dtype t) { return t == CBD_STORE_FLOAT16 ? 2 : 4; }

const char *cbd_store_dtype_name(cbd_store_dtype dtype) {
    return dtype == CBD_STORE_FLOAT16 ? "float16" : "float32";
}

int cbd_store_dtype_parse(const char *name, cbd_store_dtype *out) {
    if (strcmp(name, "float16") == 0) *out = CBD_STORE_FLOAT16;
    else if (strcmp(name, "float32") == 0) *out = CBD_STORE_FLOAT32;
    else return -1;
    return 0;
}

/* Rows of one chunk: about CHUNK_TARGET_BYTES, at least 1, at most n. */
int64_t fs_chunk_rows(const cbd_feature_store_spec *s, fs_part p) {
    const int64_t row = (int64_t)fs_part_width(s, p) * (int64_t)fs_dtype_size(s->dtype);
    int64_t r = CHUNK_TARGET_BYTES / row;
    if (r < 1) r = 1;
    return r > s->n ? s->n : r;
}

/* Shape and chunk shape of a part; returns the rank. */
int fs_part_dims(const cbd_feature_store_spec *s, fs_part p, hsize_t *dims, hsize_t *chunk) {
    const hsize_t w = (hsize_t)fs_part_width(s, p), r = (hsize_t)fs_chunk_rows(s, p), n = (hsize_t)s->n;
    if (fs_part_per_view(p)) {
        dims[0] = (hsize_t)s->views, dims[1] = n, dims[2] = w;
        chunk[0] = 1, chunk[1] = r, chunk[2] = w;
        return 3;
    }
    dims[0] = n, dims[1] = w;
    chunk[0] = r, chunk[1] = w;
    return 2;
}

int64_t cbd_feature_store_float_bytes(const cbd_feature_store_spec *s) {
    int64_t total = 0;
    for (int p = 0; p < PART_COUNT; p++)
        if (fs_part_present(s, p))
            total += (fs_part_per_view(p) ? s->views : 1) * s->n * (int64_t)fs_part_width(s, p) * 4;
    return total;
}

/* IEEE binary16, little-endian: HDF5 1.10 has no predefined one. */
hid_t fs_half_type(cbd_h5_ctx *c) {
    hid_t t = -1;
    CBD_H5_CHECK(c, t = H5Tcopy(H5T_IEEE_F32LE), "cannot create the float16 type");
    CBD_H5_CHECK(c, H5Tset_fields(t, 15, 10, 5, 0, 10), "cannot set the fields of the float16 type");
    CBD_H5_CHECK(c, H5Tset_size(t, 2), "cannot set the size of the float16 type");
    CBD_H5_CHECK(c, H5Tset_ebias(t, 15), "cannot set the exponent bias of the float16 type");
    return t;
cleanup:
    cbd_h5_close(t);
    return -1;
}

/* The type values have on disk and, since conversion is ours, in memory. */
hid_t fs_value_type(cbd_store_dtype dtype, hid_t half) {
    return dtype == CBD_STORE_FLOAT16 ? half : H5T_IEEE_F32LE;
}

/* Selects rows [first, first + rows) of view v (ignored for a center part). */
int fs_select_rows(cbd_h5_ctx *c, hid_t space, fs_part p, int64_t v, int64_t first, int64_t rows,
                       int width) {
    hsize_t start[3], count[3];
    if (fs_part_per_view(p)) {
        start[0] = (hsize_t)v, start[1] = (hsize_t)first, start[2] = 0;
        count[0] = 1, count[1] = (hsize_t)rows, count[2] = (hsize_t)width;
    } else {
        start[0] = (hsize_t)first, start[1] = 0;
        count[0] = (hsize_t)rows, count[1] = (hsize_t)width;
    }
    CBD_H5_CHECK(c, H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select rows %" PRId64 "..%" PRId64 " of dataset '%s'", first, first + rows - 1,
                 fs_part_names[p]);
    return 0;
cleanup:
    return -1;
}

/* A memory dataspace of the selection's shape ([1, rows, width] or [rows,
 * width]): HDF5 then maps it onto chunks block by block, not element by
 * element (which made reads and writes of several rows ten times slower). */
hid_t fs_rows_space(cbd_h5_ctx *c, fs_part p, int64_t rows, int width) {
    const hsize_t block[3] = {1, (hsize_t)rows, (hsize_t)width};
    const int per_view = fs_part_per_view(p);
    hid_t space = H5Screate_simple(per_view ? 3 : 2, per_view ? block : block + 1, NULL);
    if (space < 0) cbd_h5_error(c, "cannot create a dataspace for rows of '%s'", fs_part_names[p]);
    return space;
}

/* Dataset access properties without a chunk cache. Every read and write of
 * the store goes straight to the bytes it needs: a row is one contiguous
 * piece of its chunk (no filters), so a row read costs one small read,
 * whereas a cached chunk costs a 1 MiB read on every miss, which is nearly
 * every random row of a store larger than memory (measured: 240k rows/s
 * direct, 9k through a cache of 4 chunks, on a 290 MB store). */
hid_t fs_access_props(cbd_h5_ctx *c, const char *name) {
    hid_t dapl = -1;
    CBD_H5_CHECK(c, dapl = H5Pcreate(H5P_DATASET_ACCESS), "cannot create access properties for '%s'", name);
    CBD_H5_CHECK(c, H5Pset_chunk_cache(dapl, 0, 0, 1.0), "cannot turn off the chunk cache of '%s'", name);
    return dapl;
cleanup:
    cbd_h5_close(dapl);
    return -1;
}

/* Opens a floating-point part, checking its type against the dtype. */
hid_t fs_open_part(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, fs_part p, hid_t half) {
    hsize_t dims[3], chunk[3];
    const int ndim = fs_part_dims(s, p, dims, chunk);
    hid_t dapl = fs_access_props(c, fs_part_names[p]), dset = -1, type = -1;
    if (dapl < 0) return -1;
    dset = cbd_h5_open_checked(c, file, fs_part_names[p], H5T_FLOAT, fs_dtype_size(s->dtype), ndim, dims, dapl);
    if (dset < 0) goto cleanup;
    htri_t same;
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", fs_part_names[p]);
    CBD_H5_CHECK(c, same = H5Tequal(type, fs_value_type(s->dtype, half)), "cannot compare the type of '%s'",
                 fs_part_names[p]);
    if (!same) {
        cbd_h5_fail(c, "dataset '%s' is not IEEE little-endian %s", fs_part_names[p], cbd_store_dtype_name(s->dtype));
        goto cleanup;
    }
    cbd_h5_close(type);
    cbd_h5_close(dapl);
    return dset;
cleanup:
    cbd_h5_close(type);
    cbd_h5_close(dset);
    cbd_h5_close(dapl);
    return -1;
}

/* ---- header -------------------------------------------------------------------------- */

static int read_ranged(cbd_h5_ctx *c, hid_t file, const char *name, int64_t lo, int64_t hi, int64_t *out) {
    if (cbd_h5_attr_read_int64(c, file, ".", name, out) != 0) return -1;
    if (*out < lo || *out > hi) {
        cbd_h5_fail(c, "attribute '%s' is %" PRId64 ", expected %" PRId64 "..%" PRId64, name, *out, lo, hi);
        return -1;
    }
    return 0;
}

static int read_int(cbd_h5_ctx *c, hid_t file, const char *name, int64_t lo, int64_t hi, int *out) {
    int64_t v;
    if (read_ranged(c, file, name, lo, hi, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

/* The format check, then every attribute. */
int fs_read_header(cbd_h5_ctx *c, hid_t file, fs_header *h) {
    cbd_feature_store_spec *s = &h->spec;
    char dtype[32];
    memset(h, 0, sizeof *h);
    if (cbd_h5_check_format(c, file, CBD_FEATURE_STORE_FORMAT, "feature store", CBD_FEATURE_STORE_FORMAT_VERSION,
                            "dump the features again") != 0)
        return -1;
    if (read_ranged(c, file, "n", 1, INT64_MAX / 4, &s->n) || read_int(c, file, "d", 1, MAX_WIDTH, &s->d) ||
        read_int(c, file, "classes", 1, MAX_WIDTH, &s->classes) ||
        read_int(c, file, "views", 1, MAX_VIEWS, &s->views) ||
        read_int(c, file, "has_logits", 0, 1, &s->has_logits) ||
        cbd_h5_attr_read_string(c, file, ".", "dtype", dtype, sizeof dtype) ||
        cbd_h5_attr_read_uint64(c, file, ".", "manifest_digest", &s->manifest_digest) ||
        cbd_h5_attr_read_string(c, file, ".", "teacher", s->teacher, sizeof s->teacher) ||
        cbd_h5_attr_read_uint64(c, file, ".", "teacher_checkpoint_digest", &s->teacher_checkpoint_digest) ||
        cbd_h5_attr_read_string(c, file, ".", "augmentation", s->augmentation, sizeof s->augmentation) ||
        cbd_h5_attr_read_uint64(c, file, ".", "experiment_seed", &s->experiment_seed) ||
        read_ranged(c, file, "center_done", 0, 1, &h->center_done) ||
        read_ranged(c, file, "complete", 0, 1, &h->complete))
        return -1;
    const int has_dump_digest = cbd_h5_attr_exists(c, file, ".", "dump_digest");
    if (has_dump_digest < 0 ||
        (has_dump_digest && cbd_h5_attr_read_uint64(c, file, ".", "dump_digest", &s->dump_digest) != 0))
        return -1;
    if (cbd_store_dtype_parse(dtype, &s->dtype) != 0) {
        cbd_h5_fail(c, "attribute 'dtype' is '%s', expected 'float16' or 'float32'", dtype);
        return -1;
    }
    return 0;
}

int fs_write_header(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s) {
    const char *root = ".";
    if (cbd_h5_attr_write_int64(c, file, root, "format_version", CBD_FEATURE_STORE_FORMAT_VERSION) ||
        cbd_h5_attr_write_string(c, file, root, "program_version", CBD_VERSION) ||
        cbd_h5_attr_write_int64(c, file, root, "n", s->n) || cbd_h5_attr_write_int64(c, file, root, "d", s->d) ||
        cbd_h5_attr_write_int64(c, file, root, "classes", s->classes) ||
        cbd_h5_attr_write_int64(c, file, root, "views", s->views) ||
        cbd_h5_attr_write_string(c, file, root, "dtype", cbd_store_dtype_name(s->dtype)) ||
        cbd_h5_attr_write_int64(c, file, root, "has_logits", s->has_logits) ||
        cbd_h5_attr_write_uint64(c, file, root, "manifest_digest", s->manifest_digest) ||
        cbd_h5_attr_write_string(c, file, root, "teacher", s->teacher) ||
        cbd_h5_attr_write_uint64(c, file, root, "teacher_checkpoint_digest", s->teacher_checkpoint_digest) ||
        cbd_h5_attr_write_string(c, file, root, "augmentation", s->augmentation) ||
        cbd_h5_attr_write_uint64(c, file, root, "experiment_seed", s->experiment_seed) ||
        cbd_h5_attr_write_uint64(c, file, root, "dump_digest", s->dump_digest) ||
        cbd_h5_attr_write_int64(c, file, root, "center_done", 0) ||
        cbd_h5_attr_write_int64(c, file, root, "complete", 0))
        return -1;
    return 0;
}

/* Overwrites the value of an existing int64 attribute of /. */
int fs_update_int64(cbd_h5_ctx *c, hid_t file, const char *name, int64_t value) {
    hid_t attr = -1;
    int rc = -1;
    CBD_H5_CHECK(c, attr = H5Aopen(file, name, H5P_DEFAULT), "cannot open attribute '%s'", name);
    CBD_H5_CHECK(c, H5Awrite(attr, H5T_NATIVE_INT64, &value), "cannot write attribute '%s'", name);
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, attr, rc, name);
}

/* Says which field of a store's spec differs from the expected one. */
int fs_spec_difference(const cbd_feature_store_spec *have, const cbd_feature_store_spec *want, char *out,
                           size_t out_len) {
    char a[17], b[17];
#define DIFF_INT(field, name)                                                                        \
    if (have->field != want->field) {                                                                \
        snprintf(out, out_len, "attribute '%s' is %" PRId64 " in the file, %" PRId64 " for this dump", name, \
                 (int64_t)have->field, (int64_t)want->field);                                        \
        return 1;                                                                                    \
    }
#define DIFF_DIGEST(field, name)                                                                     \
    if (have->field != want->field) {                                                                \
        cbd_digest_hex(have->field, a);                                                              \
        cbd_digest_hex(want->field, b);                                                              \
        snprintf(out, out_len, "attribute '%s' is %s in the file, %s for this dump", name, a, b);    \
        return 1;                                                                                    \
    }
#define DIFF_STRING(value_have, value_want, name)                                                    \
    if (strcmp(value_have, value_want) != 0) {                                                       \
        snprintf(out, out_len, "attribute '%s' is '%s' in the file, '%s' for this dump", name, value_have, \
                 value_want);                                                                        \
        return 1;                                                                                    \
    }
    DIFF_INT(n, "n")
    DIFF_INT(d, "d")
    DIFF_INT(classes, "classes")
    DIFF_INT(views, "views")
    DIFF_STRING(cbd_store_dtype_name(have->dtype), cbd_store_dtype_name(want->dtype), "dtype")
    DIFF_INT(has_logits, "has_logits")
    DIFF_DIGEST(manifest_digest, "manifest_digest")
    DIFF_STRING(have->teacher, want->teacher, "teacher")
    DIFF_DIGEST(teacher_checkpoint_digest, "teacher_checkpoint_digest")
    DIFF_STRING(have->augmentation, want->augmentation, "augmentation")
    DIFF_DIGEST(experiment_seed, "experiment_seed")
    DIFF_DIGEST(dump_digest, "dump_digest")
#undef DIFF_INT
#undef DIFF_DIGEST
#undef DIFF_STRING
    return 0;
}

/* The labels, checked against the attributes; NULL on failure. */
int32_t *fs_read_labels(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s) {
    const hsize_t n = (hsize_t)s->n;
    hid_t dset = cbd_h5_open_checked(c, file, "labels", H5T_INTEGER, 4, 1, &n, H5P_DEFAULT);
    int32_t *labels = NULL;
    int rc = -1;
    if (dset < 0) return NULL;
    labels = cbd_malloc((size_t)s->n * sizeof *labels);
    CBD_H5_CHECK(c, H5Dread(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels),
                 "cannot read dataset 'labels': truncated or corrupt");
    for (int64_t i = 0; i < s->n; i++)
        if (labels[i] < 0 || labels[i] >= s->classes) {
            cbd_h5_fail(c, "label %" PRId32 " of image %" PRId64 " is out of range (%d classes)", labels[i], i,
                        s->classes);
            goto cleanup;
        }
    rc = 0;
cleanup:
    if (cbd_h5_close_checked(c, dset, rc, "labels") == 0) return labels;
    free(labels);
    return NULL;
}

int fs_read_done(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, uint8_t *done) {
    const hsize_t views = (hsize_t)s->views;
    hid_t dset = cbd_h5_open_checked(c, file, "done", H5T_INTEGER, 1, 1, &views, H5P_DEFAULT);
    int rc = -1;
    if (dset < 0) return -1;
    CBD_H5_CHECK(c, H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done),
                 "cannot read dataset 'done': truncated or corrupt");
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, dset, rc, "done");
}

int fs_count_done(const uint8_t *done, int views) {
    int k = 0;
    for (int v = 0; v < views; v++) k += done[v] == 1;
    return k;
}

int fs_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}


/* ---- rows ---- */

/* Reads rows [first, first + rows) of view v of part p, as stored, into out. */
int fs_read_span(cbd_h5_ctx *c, fs_rows *fs, fs_part p, int64_t v, int64_t first, int64_t rows, void *out) {
    const int width = fs_part_width(&fs->spec, p);
    hid_t mem_space = -1;
    int rc = -1;
    if (fs_select_rows(c, fs->spaces[p], p, v, first, rows, width) != 0 ||
        (mem_space = fs_rows_space(c, p, rows, width)) < 0)
        return -1;
    if (H5Dread(fs->dsets[p], fs_value_type(fs->spec.dtype, fs->half), mem_space, fs->spaces[p], H5P_DEFAULT, out) < 0) {
        if (fs_part_per_view(p))
            cbd_h5_error(c, "cannot read rows %" PRId64 "..%" PRId64 " of view %" PRId64 " of dataset '%s': "
                            "truncated or corrupt",
                         first, first + rows - 1, v, fs_part_names[p]);
        else
            cbd_h5_error(c, "cannot read rows %" PRId64 "..%" PRId64 " of dataset '%s': truncated or corrupt",
                         first, first + rows - 1, fs_part_names[p]);
        goto cleanup;
    }
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, mem_space, rc, fs_part_names[p]);
}

/* Converts `count` stored values into float32. */
void fs_to_float(cbd_store_dtype dtype, const void *in, float *out, size_t count) {
    if (dtype == CBD_STORE_FLOAT16) cbd_half_decode(in, out, count);
    else memcpy(out, in, count * sizeof *out);
}

/* A NaN or Inf row is a damaged store: the student would train on it. */
int fs_finite_row(const float *x, int width) {
    for (int k = 0; k < width; k++)
        if (!isfinite(x[k])) return 0;
    return 1;
}

int fs_fail_not_finite(cbd_h5_ctx *c, fs_part p, int64_t v, int64_t row) {
    if (fs_part_per_view(p))
        cbd_h5_fail(c, "dataset '%s' view %" PRId64 " row %" PRId64 ": NaN or Inf values; the store is damaged "
                       "(h5inspect --verify lists every defect): dump the features again", fs_part_names[p], v, row);
    else
        cbd_h5_fail(c, "dataset '%s' row %" PRId64 ": NaN or Inf values; the store is damaged (h5inspect --verify "
                       "lists every defect): dump the features again", fs_part_names[p], row);
    return -1;
}

/* Rows per read while loading or scanning a view: whole chunks, about 8 MiB. */
int64_t fs_block_rows(const cbd_feature_store_spec *s, fs_part p) {
    const int64_t r = fs_chunk_rows(s, p);
    int64_t k = (8 << 20) / (r * fs_part_width(s, p) * 4);
    if (k < 1) k = 1;
    return k * r > s->n ? s->n : k * r;
}

/* The completeness checks: a .partial name, complete = 0, views not done. */
int fs_check_complete(cbd_h5_ctx *c, const fs_header *h, const uint8_t *done) {
    const int k = fs_count_done(done, h->spec.views);
    const char *center = h->center_done ? "center done" : "center not done";
    if (fs_ends_with(c->path, ".partial")) {
        cbd_h5_fail(c, "incomplete feature store: a .partial file, its dump is unfinished (%d of %d views done, %s); "
                       "rerun the dump to finish it", k, h->spec.views, center);
        return -1;
    }
    if (!h->complete || k < h->spec.views || !h->center_done) {
        cbd_h5_fail(c, "incomplete feature store (complete = %" PRId64 "): %d of %d views done, %s; rerun the dump",
                    h->complete, k, h->spec.views, center);
        return -1;
    }
    return 0;
}

void fs_grow_raw(fs_rows *fs, size_t bytes) {
    if (fs->raw_len >= bytes) return;
    free(fs->raw);
    fs->raw = cbd_malloc(bytes);
    fs->raw_len = bytes;
}

int fs_rows_open(cbd_h5_ctx *c, fs_rows *r) {
    for (int p = 0; p < PART_COUNT; p++) {
        if (!fs_part_present(&r->spec, p)) continue;
        if ((r->dsets[p] = fs_open_part(c, r->file, &r->spec, p, r->half)) < 0) return -1;
        CBD_H5_CHECK(c, r->spaces[p] = H5Dget_space(r->dsets[p]), "cannot get the dataspace of '%s'",
                     fs_part_names[p]);
    }
    return 0;
cleanup:
    return -1;
}

void fs_rows_init(fs_rows *r) {
    memset(r, 0, sizeof *r);
    r->file = r->half = -1;
    for (int p = 0; p < PART_COUNT; p++) r->dsets[p] = r->spaces[p] = -1;
}

void fs_rows_close_file(fs_rows *r) {
    for (int p = 0; p < PART_COUNT; p++) {
        cbd_h5_close(r->spaces[p]);
        cbd_h5_close(r->dsets[p]);
        r->spaces[p] = r->dsets[p] = -1;
    }
    cbd_h5_close(r->file);
    r->file = -1;
}

void fs_rows_free(fs_rows *r) {
    fs_rows_close_file(r);
    cbd_h5_close(r->half);
    r->half = -1;
    free(r->raw);
    r->raw = NULL;
    r->raw_len = 0;
}

int fs_read_rows(cbd_h5_ctx *c, fs_rows *r, fs_part p, int64_t v, int64_t first, int64_t rows, float *out) {
    const size_t values = (size_t)rows * (size_t)fs_part_width(&r->spec, p);
    fs_grow_raw(r, values * fs_dtype_size(r->spec.dtype));
    if (fs_read_span(c, r, p, v, first, rows, r->raw) != 0) return -1;
    fs_to_float(r->spec.dtype, r->raw, out, values);
    return 0;
}

/* ---- the public row reader ----------------------------------------------------------- */

struct cbd_feature_rows {
    char *path;
    fs_rows rows;
    uint8_t *done;
    int64_t center_done, complete;
    char err[1024];
};

cbd_feature_rows *cbd_feature_rows_open(const char *path, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    cbd_feature_rows *r = cbd_calloc(1, sizeof *r);
    r->path = cbd_strdup(path);
    fs_rows_init(&r->rows);
    fs_header h;
    if ((r->rows.half = fs_half_type(&c)) < 0 || (r->rows.file = cbd_h5_open_read(&c)) < 0 ||
        fs_read_header(&c, r->rows.file, &h) != 0)
        goto fail;
    r->rows.spec = h.spec;
    r->center_done = h.center_done;
    r->complete = h.complete;
    r->done = cbd_calloc((size_t)h.spec.views, 1);
    if (fs_read_done(&c, r->rows.file, &h.spec, r->done) != 0 || fs_rows_open(&c, &r->rows) != 0) goto fail;
    return r;
fail:
    cbd_feature_rows_close(r);
    return NULL;
}

const cbd_feature_store_spec *cbd_feature_rows_spec(const cbd_feature_rows *r) { return &r->rows.spec; }

int cbd_feature_rows_view_done(const cbd_feature_rows *r, int64_t view) {
    if (view == CBD_FEATURE_WRITER_CENTER) return r->center_done == 1;
    return view >= 0 && view < r->rows.spec.views && r->done[view] == 1;
}

int cbd_feature_rows_read(cbd_feature_rows *r, int logits, int64_t view, int64_t first, int64_t rows, float *out,
                          char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, r->path, err, err_len);
    const cbd_feature_store_spec *s = &r->rows.spec;
    const int center = view == CBD_FEATURE_WRITER_CENTER;
    if ((logits && !s->has_logits) || (!center && (view < 0 || view >= s->views)) || first < 0 || rows < 0 ||
        first + rows > s->n) {
        snprintf(err, err_len, "%s: no such rows: %s view %lld, rows %lld..%lld of %lld", r->path, logits ? "logits" : "features",
                 (long long)view, (long long)first, (long long)(first + rows - 1), (long long)s->n);
        return -1;
    }
    const fs_part p = fs_part_of_view(logits, center ? s->views : view, s->views);
    return fs_read_rows(&c, &r->rows, p, center ? 0 : view, first, rows, out);
}

void cbd_feature_rows_close(cbd_feature_rows *r) {
    if (!r) return;
    fs_rows_free(&r->rows);
    free(r->done);
    free(r->path);
    free(r);
}
