#include "store/feature_store.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/digest.h"
#include "store/h5util.h"
#include "store/half.h"

#ifndef CBD_VERSION
#define CBD_VERSION "unknown"
#endif

#define CHUNK_TARGET_BYTES (1 << 20)
#define MAX_VIEWS 65536
#define MAX_WIDTH (1 << 24)
/* Rows read on request: neighbours this close are read in one piece. */
#define MERGE_GAP_BYTES 4096
/* verify: rows with NaN/Inf listed one by one per dataset and view. */
#define VERIFY_LINES_PER_VIEW 8

/* ---- the datasets ------------------------------------------------------------------ */

typedef enum { PART_FEATURES, PART_CENTER, PART_LOGITS, PART_CENTER_LOGITS, PART_COUNT } part_id;

static const char *const part_names[PART_COUNT] = {"features", "center", "logits", "center_logits"};

static int part_per_view(part_id p) { return p == PART_FEATURES || p == PART_LOGITS; }
static int part_is_logits(part_id p) { return p == PART_LOGITS || p == PART_CENTER_LOGITS; }
static int part_present(const cbd_feature_store_spec *s, part_id p) { return !part_is_logits(p) || s->has_logits; }
static int part_width(const cbd_feature_store_spec *s, part_id p) { return part_is_logits(p) ? s->classes : s->d; }
/* The dataset holding view v (0..S-1, or S for the center) of the features or the logits. */
static part_id part_of_view(int logits, int64_t v, int views) {
    if (logits) return v == views ? PART_CENTER_LOGITS : PART_LOGITS;
    return v == views ? PART_CENTER : PART_FEATURES;
}

static size_t dtype_size(cbd_store_dtype t) { return t == CBD_STORE_FLOAT16 ? 2 : 4; }

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
static int64_t chunk_rows(const cbd_feature_store_spec *s, part_id p) {
    const int64_t row = (int64_t)part_width(s, p) * (int64_t)dtype_size(s->dtype);
    int64_t r = CHUNK_TARGET_BYTES / row;
    if (r < 1) r = 1;
    return r > s->n ? s->n : r;
}

/* Shape and chunk shape of a part; returns the rank. */
static int part_dims(const cbd_feature_store_spec *s, part_id p, hsize_t *dims, hsize_t *chunk) {
    const hsize_t w = (hsize_t)part_width(s, p), r = (hsize_t)chunk_rows(s, p), n = (hsize_t)s->n;
    if (part_per_view(p)) {
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
        if (part_present(s, p))
            total += (part_per_view(p) ? s->views : 1) * s->n * (int64_t)part_width(s, p) * 4;
    return total;
}

/* IEEE binary16, little-endian: HDF5 1.10 has no predefined one. */
static hid_t half_type(cbd_h5_ctx *c) {
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
static hid_t value_type(cbd_store_dtype dtype, hid_t half) {
    return dtype == CBD_STORE_FLOAT16 ? half : H5T_IEEE_F32LE;
}

/* Selects rows [first, first + rows) of view v (ignored for a center part). */
static int select_rows(cbd_h5_ctx *c, hid_t space, part_id p, int64_t v, int64_t first, int64_t rows,
                       int width) {
    hsize_t start[3], count[3];
    if (part_per_view(p)) {
        start[0] = (hsize_t)v, start[1] = (hsize_t)first, start[2] = 0;
        count[0] = 1, count[1] = (hsize_t)rows, count[2] = (hsize_t)width;
    } else {
        start[0] = (hsize_t)first, start[1] = 0;
        count[0] = (hsize_t)rows, count[1] = (hsize_t)width;
    }
    CBD_H5_CHECK(c, H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select rows %" PRId64 "..%" PRId64 " of dataset '%s'", first, first + rows - 1,
                 part_names[p]);
    return 0;
cleanup:
    return -1;
}

/* A memory dataspace of the selection's shape ([1, rows, width] or [rows,
 * width]): HDF5 then maps it onto chunks block by block, not element by
 * element (which made reads and writes of several rows ten times slower). */
static hid_t rows_space(cbd_h5_ctx *c, part_id p, int64_t rows, int width) {
    const hsize_t block[3] = {1, (hsize_t)rows, (hsize_t)width};
    const int per_view = part_per_view(p);
    hid_t space = H5Screate_simple(per_view ? 3 : 2, per_view ? block : block + 1, NULL);
    if (space < 0) cbd_h5_error(c, "cannot create a dataspace for rows of '%s'", part_names[p]);
    return space;
}

/* Dataset access properties without a chunk cache. Every read and write of
 * the store goes straight to the bytes it needs: a row is one contiguous
 * piece of its chunk (no filters), so a row read costs one small read,
 * whereas a cached chunk costs a 1 MiB read on every miss, which is nearly
 * every random row of a store larger than memory (measured: 240k rows/s
 * direct, 9k through a cache of 4 chunks, on a 290 MB store). */
static hid_t access_props(cbd_h5_ctx *c, const char *name) {
    hid_t dapl = -1;
    CBD_H5_CHECK(c, dapl = H5Pcreate(H5P_DATASET_ACCESS), "cannot create access properties for '%s'", name);
    CBD_H5_CHECK(c, H5Pset_chunk_cache(dapl, 0, 0, 1.0), "cannot turn off the chunk cache of '%s'", name);
    return dapl;
cleanup:
    cbd_h5_close(dapl);
    return -1;
}

/* Opens a floating-point part, checking its type against the dtype. */
static hid_t open_part(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, part_id p, hid_t half) {
    hsize_t dims[3], chunk[3];
    const int ndim = part_dims(s, p, dims, chunk);
    hid_t dapl = access_props(c, part_names[p]), dset = -1, type = -1;
    if (dapl < 0) return -1;
    dset = cbd_h5_open_checked(c, file, part_names[p], H5T_FLOAT, dtype_size(s->dtype), ndim, dims, dapl);
    if (dset < 0) goto cleanup;
    htri_t same;
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of dataset '%s'", part_names[p]);
    CBD_H5_CHECK(c, same = H5Tequal(type, value_type(s->dtype, half)), "cannot compare the type of '%s'",
                 part_names[p]);
    if (!same) {
        cbd_h5_fail(c, "dataset '%s' is not IEEE little-endian %s", part_names[p], cbd_store_dtype_name(s->dtype));
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

typedef struct {
    cbd_feature_store_spec spec;
    int64_t center_done, complete;
} header;

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
static int read_header(cbd_h5_ctx *c, hid_t file, header *h) {
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

static int write_header(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s) {
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
static int update_int64(cbd_h5_ctx *c, hid_t file, const char *name, int64_t value) {
    hid_t attr = -1;
    int rc = -1;
    CBD_H5_CHECK(c, attr = H5Aopen(file, name, H5P_DEFAULT), "cannot open attribute '%s'", name);
    CBD_H5_CHECK(c, H5Awrite(attr, H5T_NATIVE_INT64, &value), "cannot write attribute '%s'", name);
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, attr, rc, name);
}

/* Says which field of a store's spec differs from the expected one. */
static int spec_difference(const cbd_feature_store_spec *have, const cbd_feature_store_spec *want, char *out,
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
static int32_t *read_labels(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s) {
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

static int read_done(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, uint8_t *done) {
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

static int count_done(const uint8_t *done, int views) {
    int k = 0;
    for (int v = 0; v < views; v++) k += done[v] == 1;
    return k;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- writing --------------------------------------------------------------------------- */

struct cbd_feature_writer {
    char *path, *partial;
    cbd_feature_store_spec spec;
    hid_t file, half, done_dset, dsets[PART_COUNT];
    int fd;           /* PATH.partial, for fsync */
    uint8_t *done;    /* [views] */
    int center_done;
    uint16_t *scratch; /* float16 conversion buffer */
    size_t scratch_len;
};

static int valid_spec(cbd_h5_ctx *c, const cbd_feature_store_spec *s, const int32_t *labels) {
    if (s->n < 1 || s->n > INT64_MAX / 4 || s->d < 1 || s->d > MAX_WIDTH || s->classes < 1 ||
        s->classes > MAX_WIDTH || s->views < 1 || s->views > MAX_VIEWS ||
        (s->dtype != CBD_STORE_FLOAT16 && s->dtype != CBD_STORE_FLOAT32) || (s->has_logits != 0 && s->has_logits != 1)) {
        cbd_h5_fail(c, "cannot store %" PRId64 " images x %d views of %d features (%d classes, has_logits %d)", s->n,
                    s->views, s->d, s->classes, s->has_logits);
        return 0;
    }
    if (!memchr(s->teacher, '\0', sizeof s->teacher) || !memchr(s->augmentation, '\0', sizeof s->augmentation)) {
        cbd_h5_fail(c, "teacher name or augmentation text is not terminated");
        return 0;
    }
    if (!labels) {
        cbd_h5_fail(c, "no labels given");
        return 0;
    }
    for (int64_t i = 0; i < s->n; i++)
        if (labels[i] < 0 || labels[i] >= s->classes) {
            cbd_h5_fail(c, "label %" PRId32 " of image %" PRId64 " is out of range (%d classes)", labels[i], i,
                        s->classes);
            return 0;
        }
    return 1;
}

/* Allocated when created, never filled: later writes touch raw data only. */
static hid_t create_dataset(cbd_h5_ctx *c, hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                            const hsize_t *chunk) {
    hid_t space = -1, dcpl = -1, dapl = -1, dset = -1;
    if ((dapl = access_props(c, name)) < 0) return -1;
    CBD_H5_CHECK(c, space = H5Screate_simple(ndim, dims, NULL), "cannot create the dataspace of '%s'", name);
    CBD_H5_CHECK(c, dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot create dataset properties for '%s'", name);
    if (chunk) CBD_H5_CHECK(c, H5Pset_chunk(dcpl, ndim, chunk), "cannot set the chunk shape of '%s'", name);
    CBD_H5_CHECK(c, H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "cannot set the allocation time of '%s'", name);
    CBD_H5_CHECK(c, H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "cannot set the fill time of '%s'", name);
    CBD_H5_CHECK(c, H5Pset_obj_track_times(dcpl, 0), "cannot turn off times of '%s'", name);
    CBD_H5_CHECK(c, dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, dapl),
                 "cannot create dataset '%s'", name);
cleanup:
    cbd_h5_close(dapl);
    cbd_h5_close(dcpl);
    cbd_h5_close(space);
    return dset;
}

static int write_whole(cbd_h5_ctx *c, hid_t dset, hid_t mem_type, const void *data, const char *name) {
    CBD_H5_CHECK(c, H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write dataset '%s'",
                 name);
    return 0;
cleanup:
    return -1;
}

static int flush(cbd_h5_ctx *c, const cbd_feature_writer *w) {
    CBD_H5_CHECK(c, H5Fflush(w->file, H5F_SCOPE_GLOBAL), "cannot flush '%s'", w->partial);
    return 0;
cleanup:
    return -1;
}

/* Creates every dataset, writes labels and attributes; 'format' comes last,
 * after a flush, so that a file without it was never fully created. */
static int create_file(cbd_h5_ctx *c, cbd_feature_writer *w, const int32_t *labels) {
    const cbd_feature_store_spec *s = &w->spec;
    const hsize_t n = (hsize_t)s->n, views = (hsize_t)s->views;
    hid_t labels_dset = -1;
    int rc = -1;
    if ((w->file = cbd_h5_create(c, w->partial)) < 0 || write_header(c, w->file, s) != 0) goto cleanup;
    for (int p = 0; p < PART_COUNT; p++) {
        if (!part_present(s, p)) continue;
        hsize_t dims[3], chunk[3];
        const int ndim = part_dims(s, p, dims, chunk);
        w->dsets[p] = create_dataset(c, w->file, part_names[p], value_type(s->dtype, w->half), ndim, dims, chunk);
        if (w->dsets[p] < 0) goto cleanup;
    }
    if ((labels_dset = create_dataset(c, w->file, "labels", H5T_STD_I32LE, 1, &n, NULL)) < 0 ||
        write_whole(c, labels_dset, H5T_NATIVE_INT32, labels, "labels") != 0 ||
        (w->done_dset = create_dataset(c, w->file, "done", H5T_STD_U8LE, 1, &views, NULL)) < 0 ||
        write_whole(c, w->done_dset, H5T_NATIVE_UINT8, w->done, "done") != 0 || flush(c, w) != 0 ||
        cbd_h5_attr_write_string(c, w->file, ".", "format", CBD_FEATURE_STORE_FORMAT) != 0 || flush(c, w) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, labels_dset, rc, "labels");
}

/* Reopens PATH.partial: *code says whether a failure means another dump or
 * a damaged file. */
static int reopen_file(cbd_h5_ctx *c, cbd_feature_writer *w, const int32_t *labels, int *code) {
    hid_t fapl = -1;
    header h;
    char diff[1536];
    int32_t *have = NULL;
    int rc = -1;
    *code = CBD_FEATURE_PARTIAL_DAMAGED;
    htri_t is_hdf5 = H5Fis_hdf5(w->partial);
    if (is_hdf5 <= 0) {
        cbd_h5_error(c, "cannot resume from '%s': not a readable HDF5 file; delete it to start over", w->partial);
        if (strstr(c->detail, "unable to lock")) {
            *code = CBD_FEATURE_OPEN_FAILED;
            cbd_h5_fail(c, "cannot lock '%s' (%s): another process may be writing it", w->partial, c->detail);
        }
        return -1;
    }
    CBD_H5_CHECK(c, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties");
    CBD_H5_CHECK(c, H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI), "cannot set the file close degree");
    w->file = H5Fopen(w->partial, H5F_ACC_RDWR, fapl);
    if (w->file < 0) {
        cbd_h5_error(c, "cannot resume from '%s': damaged HDF5 file; delete it to start over", w->partial);
        if (strstr(c->detail, "unable to lock")) {
            *code = CBD_FEATURE_OPEN_FAILED;
            cbd_h5_fail(c, "cannot lock '%s' (%s): another process may be writing it", w->partial, c->detail);
        }
        goto cleanup;
    }
    if (read_header(c, w->file, &h) != 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", c->err ? c->err : "");
        cbd_h5_fail(c, "cannot resume from '%s' (%s); delete it to start over", w->partial, why);
        goto cleanup;
    }
    if (spec_difference(&h.spec, &w->spec, diff, sizeof diff)) {
        *code = CBD_FEATURE_PARTIAL_MISMATCH;
        cbd_h5_fail(c, "'%s' belongs to another dump: %s; delete it to start over", w->partial, diff);
        goto cleanup;
    }
    if (!(have = read_labels(c, w->file, &w->spec)) || read_done(c, w->file, &w->spec, w->done) != 0)
        goto cleanup;
    for (int64_t i = 0; i < w->spec.n; i++)
        if (have[i] != labels[i]) {
            *code = CBD_FEATURE_PARTIAL_MISMATCH;
            cbd_h5_fail(c,
                        "'%s' belongs to another dump: the label of image %" PRId64 " is %" PRId32
                        " in the file, %" PRId32 " for this dump; delete it to start over",
                        w->partial, i, have[i], labels[i]);
            goto cleanup;
        }
    for (int p = 0; p < PART_COUNT; p++)
        if (part_present(&w->spec, p) && (w->dsets[p] = open_part(c, w->file, &w->spec, p, w->half)) < 0)
            goto cleanup;
    CBD_H5_CHECK(c, w->done_dset = H5Dopen2(w->file, "done", H5P_DEFAULT), "cannot open dataset 'done'");
    for (int v = 0; v < w->spec.views; v++) w->done[v] = w->done[v] == 1;
    w->center_done = (int)h.center_done;
    rc = 0;
cleanup:
    free(have);
    cbd_h5_close(fapl);
    return rc;
}

static void writer_free(cbd_feature_writer *w) {
    for (int p = 0; p < PART_COUNT; p++) cbd_h5_close(w->dsets[p]);
    cbd_h5_close(w->done_dset);
    cbd_h5_close(w->file);
    cbd_h5_close(w->half);
    if (w->fd >= 0) close(w->fd);
    free(w->scratch);
    free(w->done);
    free(w->path);
    free(w->partial);
    free(w);
}

cbd_feature_writer *cbd_feature_writer_open(const char *path, const cbd_feature_store_spec *spec,
                                            const int32_t *labels, int *resumed, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    int code = CBD_FEATURE_OPEN_FAILED;
    if (resumed) *resumed = CBD_FEATURE_OPEN_FAILED;
    if (!valid_spec(&c, spec, labels)) return NULL;
    cbd_feature_writer *w = cbd_calloc(1, sizeof *w);
    w->path = cbd_strdup(path);
    w->partial = cbd_malloc(strlen(path) + sizeof ".partial");
    sprintf(w->partial, "%s.partial", path);
    w->spec = *spec;
    w->file = w->done_dset = -1;
    for (int p = 0; p < PART_COUNT; p++) w->dsets[p] = -1;
    w->fd = -1;
    w->done = cbd_calloc((size_t)spec->views, 1);
    if ((w->half = half_type(&c)) < 0) goto fail;
    if (access(w->partial, F_OK) == 0) {
        if (reopen_file(&c, w, labels, &code) != 0) goto fail;
    } else {
        if (create_file(&c, w, labels) != 0) {
            unlink(w->partial);
            writer_free(w);
            if (resumed) *resumed = CBD_FEATURE_OPEN_FAILED;
            return NULL;
        }
    }
    code = CBD_FEATURE_OPEN_FAILED;
    w->fd = open(w->partial, O_RDONLY | O_CLOEXEC);
    if (w->fd < 0) {
        cbd_h5_fail(&c, "cannot open '%s' to sync it: %s", w->partial, strerror(errno));
        goto fail;
    }
    if (resumed) *resumed = count_done(w->done, spec->views) + w->center_done;
    return w;
fail:
    if (resumed) *resumed = code;
    writer_free(w);
    return NULL;
}

const cbd_feature_store_spec *cbd_feature_writer_spec(const cbd_feature_writer *w) { return &w->spec; }

static int valid_view(const cbd_feature_writer *w, int view) {
    return view == CBD_FEATURE_WRITER_CENTER || (view >= 0 && view < w->spec.views);
}

int cbd_feature_writer_view_done(const cbd_feature_writer *w, int view) {
    if (!valid_view(w, view)) return 0;
    return view == CBD_FEATURE_WRITER_CENTER ? w->center_done : w->done[view];
}

static void view_label(char *out, size_t out_len, int view) {
    if (view == CBD_FEATURE_WRITER_CENTER) snprintf(out, out_len, "the center view");
    else snprintf(out, out_len, "view %d", view);
}

static int write_part(cbd_h5_ctx *c, cbd_feature_writer *w, part_id p, int view, int64_t first, int64_t rows,
                      const float *data) {
    const int width = part_width(&w->spec, p);
    const hsize_t count = (hsize_t)rows * (hsize_t)width;
    hid_t file_space = -1, mem_space = -1;
    const void *buffer = data;
    int rc = -1;
    if (w->spec.dtype == CBD_STORE_FLOAT16) {
        if (w->scratch_len < count) {
            free(w->scratch);
            w->scratch = cbd_malloc(count * sizeof *w->scratch);
            w->scratch_len = count;
        }
        cbd_half_encode(data, w->scratch, count);
        buffer = w->scratch;
    }
    CBD_H5_CHECK(c, file_space = H5Dget_space(w->dsets[p]), "cannot get the dataspace of '%s'", part_names[p]);
    if (select_rows(c, file_space, p, view, first, rows, width) != 0 ||
        (mem_space = rows_space(c, p, rows, width)) < 0)
        goto cleanup;
    CBD_H5_CHECK(c, H5Dwrite(w->dsets[p], value_type(w->spec.dtype, w->half), mem_space, file_space, H5P_DEFAULT,
                             buffer),
                 "cannot write rows %" PRId64 "..%" PRId64 " of dataset '%s'", first, first + rows - 1,
                 part_names[p]);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, mem_space, rc, part_names[p]);
    return cbd_h5_close_checked(c, file_space, rc, part_names[p]);
}

int cbd_feature_writer_write(cbd_feature_writer *w, int view, int64_t first_row, int64_t rows, const float *features,
                             const float *logits, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, w->partial, err, err_len);
    char what[32];
    if (!valid_view(w, view)) {
        cbd_h5_fail(&c, "no view %d (the store has %d views, and the center %d)", view, w->spec.views,
                    CBD_FEATURE_WRITER_CENTER);
        return -1;
    }
    view_label(what, sizeof what, view);
    if (cbd_feature_writer_view_done(w, view)) {
        cbd_h5_fail(&c, "%s is already done", what);
        return -1;
    }
    if (first_row < 0 || rows < 0 || first_row > w->spec.n - rows) {
        cbd_h5_fail(&c, "rows %" PRId64 "..%" PRId64 " of %s are outside the store's %" PRId64 " images", first_row,
                    first_row + rows - 1, what, w->spec.n);
        return -1;
    }
    if (!features || (w->spec.has_logits && !logits) || (!w->spec.has_logits && logits)) {
        cbd_h5_fail(&c, "writing %s: %s", what,
                    !features ? "no features given"
                    : logits  ? "logits given, but the store has none"
                              : "the store has logits, none given");
        return -1;
    }
    if (rows == 0) return 0;
    const int center = view == CBD_FEATURE_WRITER_CENTER;
    if (write_part(&c, w, center ? PART_CENTER : PART_FEATURES, view, first_row, rows, features) != 0) return -1;
    if (logits && write_part(&c, w, center ? PART_CENTER_LOGITS : PART_LOGITS, view, first_row, rows, logits) != 0)
        return -1;
    return 0;
}

static int sync_file(cbd_h5_ctx *c, const cbd_feature_writer *w) {
    if (fsync(w->fd) != 0) {
        cbd_h5_fail(c, "cannot sync '%s': %s", w->partial, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_done_flag(cbd_h5_ctx *c, cbd_feature_writer *w, int view) {
    const hsize_t start = (hsize_t)view, one = 1;
    const uint8_t value = 1;
    hid_t file_space = -1, mem_space = -1;
    int rc = -1;
    CBD_H5_CHECK(c, file_space = H5Dget_space(w->done_dset), "cannot get the dataspace of 'done'");
    CBD_H5_CHECK(c, H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, NULL, &one, NULL),
                 "cannot select view %d in 'done'", view);
    CBD_H5_CHECK(c, mem_space = H5Screate_simple(1, &one, NULL), "cannot create a dataspace for 'done'");
    CBD_H5_CHECK(c, H5Dwrite(w->done_dset, H5T_NATIVE_UINT8, mem_space, file_space, H5P_DEFAULT, &value),
                 "cannot write view %d of dataset 'done'", view);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, mem_space, rc, "done");
    return cbd_h5_close_checked(c, file_space, rc, "done");
}

int cbd_feature_writer_mark_done(cbd_feature_writer *w, int view, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, w->partial, err, err_len);
    if (!valid_view(w, view)) {
        cbd_h5_fail(&c, "no view %d to mark done (the store has %d views)", view, w->spec.views);
        return -1;
    }
    if (cbd_feature_writer_view_done(w, view)) return 0;
    if (flush(&c, w) != 0 || sync_file(&c, w) != 0) return -1;
    if (view == CBD_FEATURE_WRITER_CENTER) {
        if (update_int64(&c, w->file, "center_done", 1) != 0) return -1;
    } else if (set_done_flag(&c, w, view) != 0) {
        return -1;
    }
    if (flush(&c, w) != 0) return -1;
    if (view == CBD_FEATURE_WRITER_CENTER) w->center_done = 1;
    else w->done[view] = 1;
    return 0;
}

/* Makes a rename in the folder of `path` durable. */
static int sync_folder_of(cbd_h5_ctx *c, const char *path) {
    char *dir = cbd_strdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, strlen(path) + 1, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int rc = -1, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) cbd_h5_fail(c, "cannot open folder '%s' to sync it: %s", dir, strerror(errno));
    else if (fsync(fd) != 0 && errno != EINVAL) cbd_h5_fail(c, "cannot sync folder '%s': %s", dir, strerror(errno));
    else rc = 0;
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

int cbd_feature_writer_finish(cbd_feature_writer *w, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, w->partial, err, err_len);
    const int done = count_done(w->done, w->spec.views);
    if (done < w->spec.views || !w->center_done) {
        int missing = -1;
        for (int v = 0; v < w->spec.views && missing < 0; v++)
            if (!w->done[v]) missing = v;
        char first[48] = "";
        if (missing >= 0) snprintf(first, sizeof first, " (view %d is not)", missing);
        cbd_h5_fail(&c, "cannot finish: %d of %d views done%s, center %s", done, w->spec.views, first,
                    w->center_done ? "done" : "not done");
        return -1;
    }
    if (update_int64(&c, w->file, "complete", 1) != 0) return -1;
    for (int p = 0; p < PART_COUNT; p++) {
        herr_t closed = cbd_h5_close(w->dsets[p]);
        w->dsets[p] = -1;
        CBD_H5_CHECK(&c, closed, "cannot close dataset '%s'", part_names[p]);
    }
    herr_t closed = cbd_h5_close(w->done_dset);
    w->done_dset = -1;
    CBD_H5_CHECK(&c, closed, "cannot close dataset 'done'");
    if (flush(&c, w) != 0) return -1;
    closed = H5Fclose(w->file);
    w->file = -1;
    CBD_H5_CHECK(&c, closed, "cannot close '%s'", w->partial);
    if (sync_file(&c, w) != 0) return -1;
    if (rename(w->partial, w->path) != 0) {
        cbd_h5_fail(&c, "cannot rename '%s' to '%s': %s", w->partial, w->path, strerror(errno));
        return -1;
    }
    if (sync_folder_of(&c, w->path) != 0) return -1;
    writer_free(w);
    return 0;
cleanup:
    return -1;
}

void cbd_feature_writer_close(cbd_feature_writer *w) {
    if (w) writer_free(w);
}

/* ---- reading ----------------------------------------------------------------------------- */

struct cbd_feature_store {
    char *path;
    cbd_feature_store_spec spec;
    int32_t *labels;
    int in_memory;
    float *mem[PART_COUNT];         /* in memory: [views,] n, width */
    hid_t file, half, dsets[PART_COUNT], spaces[PART_COUNT];
    /* on-disk reads */
    int64_t *order;                 /* [2 * count]: (row key, request) pairs */
    size_t order_len;
    unsigned char *raw;             /* one span of rows as stored */
    size_t raw_len;
};

static void store_close_file(cbd_feature_store *fs) {
    for (int p = 0; p < PART_COUNT; p++) {
        cbd_h5_close(fs->spaces[p]);
        cbd_h5_close(fs->dsets[p]);
        fs->spaces[p] = fs->dsets[p] = -1;
    }
    cbd_h5_close(fs->file);
    fs->file = -1;
}

void cbd_feature_store_close(cbd_feature_store *fs) {
    if (!fs) return;
    store_close_file(fs);
    cbd_h5_close(fs->half);
    for (int p = 0; p < PART_COUNT; p++) free(fs->mem[p]);
    free(fs->order);
    free(fs->raw);
    free(fs->labels);
    free(fs->path);
    free(fs);
}

static void grow_raw(cbd_feature_store *fs, size_t bytes) {
    if (fs->raw_len >= bytes) return;
    free(fs->raw);
    fs->raw = cbd_malloc(bytes);
    fs->raw_len = bytes;
}

/* Reads rows [first, first + rows) of view v of part p, as stored, into out. */
static int read_span(cbd_h5_ctx *c, cbd_feature_store *fs, part_id p, int64_t v, int64_t first, int64_t rows,
                     void *out) {
    const int width = part_width(&fs->spec, p);
    hid_t mem_space = -1;
    int rc = -1;
    if (select_rows(c, fs->spaces[p], p, v, first, rows, width) != 0 ||
        (mem_space = rows_space(c, p, rows, width)) < 0)
        return -1;
    if (H5Dread(fs->dsets[p], value_type(fs->spec.dtype, fs->half), mem_space, fs->spaces[p], H5P_DEFAULT, out) < 0) {
        if (part_per_view(p))
            cbd_h5_error(c, "cannot read rows %" PRId64 "..%" PRId64 " of view %" PRId64 " of dataset '%s': "
                            "truncated or corrupt",
                         first, first + rows - 1, v, part_names[p]);
        else
            cbd_h5_error(c, "cannot read rows %" PRId64 "..%" PRId64 " of dataset '%s': truncated or corrupt",
                         first, first + rows - 1, part_names[p]);
        goto cleanup;
    }
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, mem_space, rc, part_names[p]);
}

/* Converts `count` stored values into float32. */
static void to_float(const cbd_feature_store *fs, const void *in, float *out, size_t count) {
    if (fs->spec.dtype == CBD_STORE_FLOAT16) cbd_half_decode(in, out, count);
    else memcpy(out, in, count * sizeof *out);
}

/* A NaN or Inf row is a damaged store: the student would train on it. */
static int finite_row(const float *x, int width) {
    for (int k = 0; k < width; k++)
        if (!isfinite(x[k])) return 0;
    return 1;
}

static int fail_not_finite(cbd_h5_ctx *c, part_id p, int64_t v, int64_t row) {
    if (part_per_view(p))
        cbd_h5_fail(c, "dataset '%s' view %" PRId64 " row %" PRId64 ": NaN or Inf values; the store is damaged "
                       "(h5inspect --verify lists every defect): dump the features again", part_names[p], v, row);
    else
        cbd_h5_fail(c, "dataset '%s' row %" PRId64 ": NaN or Inf values; the store is damaged (h5inspect --verify "
                       "lists every defect): dump the features again", part_names[p], row);
    return -1;
}

/* Rows per read while loading or scanning a view: whole chunks, about 8 MiB. */
static int64_t block_rows(const cbd_feature_store_spec *s, part_id p) {
    const int64_t r = chunk_rows(s, p);
    int64_t k = (8 << 20) / (r * part_width(s, p) * 4);
    if (k < 1) k = 1;
    return k * r > s->n ? s->n : k * r;
}

static int load_part(cbd_h5_ctx *c, cbd_feature_store *fs, part_id p) {
    const cbd_feature_store_spec *s = &fs->spec;
    const int width = part_width(s, p);
    const int64_t views = part_per_view(p) ? s->views : 1, block = block_rows(s, p);
    fs->mem[p] = cbd_malloc((size_t)(views * s->n) * (size_t)width * sizeof(float));
    grow_raw(fs, (size_t)block * (size_t)width * dtype_size(s->dtype));
    for (int64_t v = 0; v < views; v++)
        for (int64_t first = 0; first < s->n; first += block) {
            const int64_t rows = first + block > s->n ? s->n - first : block;
            float *out = fs->mem[p] + ((size_t)(v * s->n + first)) * (size_t)width;
            if (read_span(c, fs, p, v, first, rows, fs->raw) != 0) return -1;
            to_float(fs, fs->raw, out, (size_t)rows * (size_t)width);
            for (int64_t r = 0; r < rows; r++)
                if (!finite_row(out + (size_t)r * (size_t)width, width)) return fail_not_finite(c, p, v, first + r);
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

/* The completeness checks: a .partial name, complete = 0, views not done. */
static int check_complete(cbd_h5_ctx *c, const header *h, const uint8_t *done) {
    const int k = count_done(done, h->spec.views);
    const char *center = h->center_done ? "center done" : "center not done";
    if (ends_with(c->path, ".partial")) {
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

static int open_parts(cbd_h5_ctx *c, cbd_feature_store *fs) {
    for (int p = 0; p < PART_COUNT; p++) {
        if (!part_present(&fs->spec, p)) continue;
        if ((fs->dsets[p] = open_part(c, fs->file, &fs->spec, p, fs->half)) < 0) return -1;
        CBD_H5_CHECK(c, fs->spaces[p] = H5Dget_space(fs->dsets[p]), "cannot get the dataspace of '%s'",
                     part_names[p]);
    }
    return 0;
cleanup:
    return -1;
}

static cbd_feature_store *store_new(const char *path) {
    cbd_feature_store *fs = cbd_calloc(1, sizeof *fs);
    fs->path = cbd_strdup(path);
    fs->file = fs->half = -1;
    for (int p = 0; p < PART_COUNT; p++) fs->dsets[p] = fs->spaces[p] = -1;
    return fs;
}

cbd_feature_store *cbd_feature_store_open(const char *path, const cbd_feature_store_expect *expect,
                                          int64_t memory_cap_bytes, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    cbd_feature_store *fs = store_new(path);
    header h;
    uint8_t *done = NULL;
    if ((fs->half = half_type(&c)) < 0 || (fs->file = cbd_h5_open_read(&c)) < 0 ||
        read_header(&c, fs->file, &h) != 0)
        goto fail;
    fs->spec = h.spec;
    done = cbd_calloc((size_t)h.spec.views, 1);
    if (read_done(&c, fs->file, &h.spec, done) != 0 || check_complete(&c, &h, done) != 0 ||
        !(fs->labels = read_labels(&c, fs->file, &h.spec)) ||
        check_expectations(&c, &h.spec, fs->labels, expect) != 0)
        goto fail;
    fs->in_memory = cbd_feature_store_float_bytes(&fs->spec) <= memory_cap_bytes;
    if (open_parts(&c, fs) != 0) goto fail;
    if (fs->in_memory) {
        for (int p = 0; p < PART_COUNT; p++)
            if (part_present(&fs->spec, p) && load_part(&c, fs, p) != 0) goto fail;
        store_close_file(fs);
        free(fs->raw);
        fs->raw = NULL;
        fs->raw_len = 0;
    }
    free(done);
    return fs;
fail:
    free(done);
    cbd_feature_store_close(fs);
    return NULL;
}

const cbd_feature_store_spec *cbd_feature_store_spec_of(const cbd_feature_store *fs) { return &fs->spec; }
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
    const cbd_feature_store_spec *s = &fs->spec;
    const int width = logits ? s->classes : s->d;
    const size_t row_bytes = (size_t)width * dtype_size(s->dtype);
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
        grow_raw(fs, (size_t)rows * row_bytes);
        if (read_span(c, fs, part_of_view(logits, view, s->views), view, first, rows, fs->raw) != 0) return -1;
        for (int64_t k = a; k < b; k++) {
            const int64_t row = pairs[2 * k] % s->n - first, j = pairs[2 * k + 1];
            to_float(fs, fs->raw + (size_t)row * row_bytes, out + (size_t)j * (size_t)width, (size_t)width);
            if (!finite_row(out + (size_t)j * (size_t)width, width))
                return fail_not_finite(c, part_of_view(logits, view, s->views), view, first + row);
        }
        a = b;
    }
    return 0;
}

static void copy_from_memory(const cbd_feature_store *fs, int logits, const int64_t *images, const uint32_t *views,
                             int64_t count, float *out) {
    const cbd_feature_store_spec *s = &fs->spec;
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
    const cbd_feature_store_spec *s = &fs->spec;
    if (logits && !s->has_logits) {
        cbd_h5_fail(&c, "logits requested, but the store has none (dump it with logits)");
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

/* ---- verify --------------------------------------------------------------------------------- */

typedef struct {
    cbd_h5_ctx *c;
    FILE *report;
    int64_t defects;
} verifier;

static void defect(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void defect(verifier *v, const char *fmt, ...) {
    v->defects++;
    if (!v->report) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(v->report, "%s: ", v->c->path);
    vfprintf(v->report, fmt, ap);
    fputc('\n', v->report);
    va_end(ap);
}

/* The last message of the context as a defect (it starts with the path). */
static void defect_from_error(verifier *v) {
    v->defects++;
    if (v->report) fprintf(v->report, "%s\n", v->c->err);
}

static void scan_view(verifier *v, cbd_feature_store *fs, part_id p, int64_t view, float *values) {
    const cbd_feature_store_spec *s = &fs->spec;
    const int width = part_width(s, p);
    const int64_t block = block_rows(s, p);
    int64_t bad_rows = 0;
    char where[48] = "";
    if (part_per_view(p)) snprintf(where, sizeof where, " view %" PRId64, view);
    for (int64_t first = 0; first < s->n; first += block) {
        const int64_t rows = first + block > s->n ? s->n - first : block;
        if (read_span(v->c, fs, p, view, first, rows, fs->raw) != 0) {
            defect_from_error(v);
            return;
        }
        to_float(fs, fs->raw, values, (size_t)rows * (size_t)width);
        for (int64_t r = 0; r < rows; r++) {
            const float *row = values + (size_t)r * (size_t)width;
            int nans = 0, infs = 0, column = -1;
            for (int k = 0; k < width; k++) {
                if (isnan(row[k])) nans++;
                else if (isinf(row[k])) infs++;
                else continue;
                if (column < 0) column = k;
            }
            if (!nans && !infs) continue;
            if (++bad_rows <= VERIFY_LINES_PER_VIEW)
                defect(v, "dataset '%s'%s row %" PRId64 ": %d NaN and %d Inf values (first in column %d)",
                       part_names[p], where, first + r, nans, infs, column);
            else
                v->defects++;
        }
    }
    if (bad_rows > VERIFY_LINES_PER_VIEW && v->report)
        fprintf(v->report, "%s: dataset '%s'%s: %" PRId64 " more rows with NaN or Inf values\n", v->c->path,
                part_names[p], where, bad_rows - VERIFY_LINES_PER_VIEW);
}

int cbd_feature_store_verify(const char *path, FILE *report) {
    char err[1024];
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, sizeof err);
    verifier v = {&c, report, 0};
    cbd_feature_store *fs = store_new(path);
    header h;
    uint8_t *done = NULL;
    float *values = NULL;
    if ((fs->half = half_type(&c)) < 0 || (fs->file = cbd_h5_open_read(&c)) < 0 ||
        read_header(&c, fs->file, &h) != 0) {
        defect_from_error(&v);
        goto done;
    }
    fs->spec = h.spec;
    done = cbd_calloc((size_t)h.spec.views, 1);
    if (read_done(&c, fs->file, &h.spec, done) != 0) {
        defect_from_error(&v);
        memset(done, 0, (size_t)h.spec.views);
    } else if (check_complete(&c, &h, done) != 0) {
        defect_from_error(&v);
    }
    if (!(fs->labels = read_labels(&c, fs->file, &h.spec))) defect_from_error(&v);
    for (int p = 0; p < PART_COUNT; p++) {
        if (!part_present(&fs->spec, p)) continue;
        if ((fs->dsets[p] = open_part(&c, fs->file, &fs->spec, p, fs->half)) < 0 ||
            (fs->spaces[p] = H5Dget_space(fs->dsets[p])) < 0) {
            if (fs->dsets[p] >= 0) cbd_h5_error(&c, "cannot get the dataspace of '%s'", part_names[p]);
            defect_from_error(&v);
            continue;
        }
        const int64_t block = block_rows(&fs->spec, p);
        grow_raw(fs, (size_t)block * (size_t)part_width(&fs->spec, p) * dtype_size(fs->spec.dtype));
        free(values);
        values = cbd_malloc((size_t)block * (size_t)part_width(&fs->spec, p) * sizeof *values);
        if (part_per_view(p)) {
            for (int64_t view = 0; view < fs->spec.views; view++)
                if (done[view]) scan_view(&v, fs, p, view, values);
        } else if (h.center_done) {
            scan_view(&v, fs, p, 0, values);
        }
    }
done:
    free(values);
    free(done);
    cbd_feature_store_close(fs);
    return v.defects > INT_MAX ? INT_MAX : (int)v.defects;
}
