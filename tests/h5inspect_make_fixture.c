/* Writes tiny feature stores (format "cbd-feature-store", version 1) with
 * known values for the h5inspect tests, using plain HDF5 calls.
 *
 * usage: h5inspect_make_fixture OUT_DIR
 *
 * Every store holds N = 6 images, d = 4, S = 2 views, C = 3 classes:
 *
 *   labels          0 0 0 1 1 2
 *   /center         [2 0 0 0] [2 0 0 0] [0 0 0 3] [0 1 0 0] [0 1 0 0] [0 0 0 4]
 *   /features[0]    the same as /center
 *   /features[1]    [3 4 0 2^-24] [4 3 0 0] [0 0 0 5] [0 0 0.25 0] [0 -1.5 0 0] [0 0 3 4]
 *   /logits[s][i][c]     2 + s for c == label, -0.5 (c + 1) otherwise
 *   /center_logits[i][c] 4 for c == label, -1 otherwise
 *
 * so that (all values are exact in float16; 2^-24 is its smallest subnormal):
 *   center / view 0 norms   2 2 3 1 1 4          mean 13/6 = 2.166667, min 1, max 4
 *   view 1 norms            5 5 5 0.25 1.5 5     mean 3.625, min 0.25, max 5
 *   cosine view 0 ~ view 1  0.6 0.8 1 0 -1 0.8   mean 2.2/6 = 0.366667
 *   class centroids of the normalised center features: m0 = [2/3 0 0 1/3],
 *   m1 = [0 1 0 0], m2 = [0 0 0 1]; mean cosine to the own centroid: class 0
 *   |m0| = sqrt(5)/3 = 0.745356, classes 1 and 2: 1
 *   NCM: image 2 (class 0, along axis 3) is nearest to m2: 5 of 6 = 0.833333
 *
 * Files written:
 *   fs_f32.h5         float32, logits, complete
 *   fs_f16.h5         float16 (custom IEEE half type), logits, complete
 *   fs_nan.h5         float32, complete, NaN at /features[1][3][2], +Inf at /center[4][1]
 *   fs_incomplete.h5  float16, no logits, view 1 never written: done = [1 0], complete = 0
 *   fs_badlabels.h5   float32, label 7 at row 4 (classes = 3)
 *   fs_badshape.h5    float32, attribute d = 5 while the datasets hold d = 4
 *   fs_labels64.h5    float32, /labels stored as 8-byte integers (int64)
 *   generic.h5        no 'format': nested and empty groups, a big-endian float64
 *                     matrix, a deflated int16 vector, a scalar, variable-length
 *                     strings, a compound, a named datatype, soft and external
 *                     links; attributes of many kinds (a 100-value array, a 2-D
 *                     array, an enum, fixed-length strings, float16, float64, a
 *                     string with a quote and a newline, a null dataspace)
 *   images.h5         an image store (format "cbd-image-store"): 3 images of
 *                     2 x 2 x 1, 2 classes, complete
 *   images_partial.h5 the same with complete = 0
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/h5util.h"

enum { N = 6, D = 4, S = 2, C = 3 };

static const float center_values[N][D] = {
    {2, 0, 0, 0}, {2, 0, 0, 0}, {0, 0, 0, 3}, {0, 1, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 4},
};
static const float view1_values[N][D] = {
    {3, 4, 0, 0x1p-24f}, {4, 3, 0, 0}, {0, 0, 0, 5}, {0, 0, 0.25f, 0}, {0, -1.5f, 0, 0}, {0, 0, 3, 4},
};
static const int32_t fixture_labels[N] = {0, 0, 0, 1, 1, 2};

typedef struct {
    const char *name;
    int half;
    int logits;
    int nan;        /* NaN in view 1 row 3, +Inf in center row 4 */
    int incomplete; /* view 1 not written */
    int bad_label;  /* label 7 at row 4 */
    int bad_shape;  /* attribute d = 5 */
    int labels64;   /* /labels as int64 */
} variant;

static const variant variants[] = {
    {"fs_f32.h5", 0, 1, 0, 0, 0, 0, 0},
    {"fs_f16.h5", 1, 1, 0, 0, 0, 0, 0},
    {"fs_nan.h5", 0, 1, 1, 0, 0, 0, 0},
    {"fs_incomplete.h5", 1, 0, 0, 1, 0, 0, 0},
    {"fs_badlabels.h5", 0, 1, 0, 0, 1, 0, 0},
    {"fs_badshape.h5", 0, 1, 0, 0, 0, 1, 0},
    {"fs_labels64.h5", 0, 1, 0, 0, 0, 0, 1},
};

/* float -> IEEE half for values that half holds exactly; exits otherwise. */
static uint16_t half_exact(float f) {
    if (isnan(f)) return 0x7e00;
    const uint16_t sign = signbit(f) ? 0x8000 : 0;
    const float a = fabsf(f);
    if (isinf(a)) return sign | 0x7c00;
    if (a == 0.0f) return sign;
    int e = 0;
    const float m = frexpf(a, &e); /* a = m 2^e, m in [0.5, 1) */
    const int biased = e + 14;     /* a = (1 + f) 2^(biased - 15) */
    float q;
    uint16_t bits;
    if (biased >= 1) {
        q = (2.0f * m - 1.0f) * 1024.0f;
        bits = (uint16_t)((unsigned)biased << 10 | (unsigned)q);
    } else {
        q = ldexpf(a, 24);
        bits = (uint16_t)q;
    }
    if (biased > 30 || q != floorf(q)) {
        fprintf(stderr, "h5inspect_make_fixture: %g is not exact in float16\n", (double)f);
        exit(1);
    }
    return sign | bits;
}

/* The half type h5py reads as float16. */
static hid_t half_type(cbd_h5_ctx *c) {
    hid_t t = -1;
    CBD_H5_CHECK(c, t = H5Tcopy(H5T_IEEE_F32LE), "cannot copy the float type");
    CBD_H5_CHECK(c, H5Tset_fields(t, 15, 10, 5, 0, 10), "cannot set the half fields");
    CBD_H5_CHECK(c, H5Tset_size(t, 2), "cannot set the half size");
    CBD_H5_CHECK(c, H5Tset_ebias(t, 15), "cannot set the half exponent bias");
    return t;
cleanup:
    cbd_h5_close(t);
    return -1;
}

typedef struct {
    const hsize_t *chunk; /* NULL: contiguous */
    int shuffle, deflate, fletcher32;
} storage;

/* Creates dataset `name` and writes `data` (mem_type) into the hyperslab of
 * the first `rows` entries of dimension 0, or the whole dataset when rows is
 * dims[0]. */
static int write_dataset(cbd_h5_ctx *c, hid_t file, const char *name, hid_t file_type, hid_t mem_type,
                         int ndim, const hsize_t *dims, const storage *st, hsize_t rows, const void *data) {
    hid_t space = -1, mspace = -1, dcpl = -1, dset = -1;
    hsize_t start[8] = {0}, count[8];
    int rc = -1;
    for (int k = 0; k < ndim; k++) count[k] = dims[k];
    count[0] = rows;
    CBD_H5_CHECK(c, space = H5Screate_simple(ndim, dims, NULL), "cannot create the dataspace of '%s'", name);
    CBD_H5_CHECK(c, mspace = H5Screate_simple(ndim, count, NULL), "cannot create the memory space of '%s'",
                 name);
    CBD_H5_CHECK(c, dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot create properties of '%s'", name);
    CBD_H5_CHECK(c, H5Pset_obj_track_times(dcpl, 0), "cannot turn off times of '%s'", name);
    if (st->chunk) {
        CBD_H5_CHECK(c, H5Pset_chunk(dcpl, ndim, st->chunk), "cannot chunk '%s'", name);
        if (st->shuffle) CBD_H5_CHECK(c, H5Pset_shuffle(dcpl), "cannot add shuffle to '%s'", name);
        if (st->deflate) CBD_H5_CHECK(c, H5Pset_deflate(dcpl, (unsigned)st->deflate), "cannot add deflate to '%s'",
                                      name);
        if (st->fletcher32) CBD_H5_CHECK(c, H5Pset_fletcher32(dcpl), "cannot add fletcher32 to '%s'", name);
    }
    CBD_H5_CHECK(c, dset = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                 "cannot create dataset '%s'", name);
    CBD_H5_CHECK(c, H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select rows of '%s'", name);
    CBD_H5_CHECK(c, H5Dwrite(dset, mem_type, mspace, space, H5P_DEFAULT, data), "cannot write '%s'", name);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, dset, rc, name);
    rc = cbd_h5_close_checked(c, dcpl, rc, name);
    rc = cbd_h5_close_checked(c, mspace, rc, name);
    return cbd_h5_close_checked(c, space, rc, name);
}

/* A float dataset in the store's dtype. */
static int write_floats(cbd_h5_ctx *c, hid_t file, const variant *v, hid_t half, const char *name, int ndim,
                        const hsize_t *dims, const storage *st, hsize_t rows, const float *data) {
    size_t n = 1;
    for (int k = 0; k < ndim; k++) n *= dims[k];
    if (!v->half) return write_dataset(c, file, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ndim, dims, st, rows, data);
    uint16_t *h = malloc(n * sizeof *h);
    if (!h) return -1;
    for (size_t k = 0; k < n; k++) h[k] = half_exact(data[k]);
    int rc = write_dataset(c, file, name, half, half, ndim, dims, st, rows, h);
    free(h);
    return rc;
}

static int write_attributes(cbd_h5_ctx *c, hid_t file, const variant *v, const uint8_t *done) {
    const char *r = ".";
    int views_done = 0;
    for (int s = 0; s < S; s++) views_done += done[s];
    if (cbd_h5_attr_write_string(c, file, r, "format", "cbd-feature-store") ||
        cbd_h5_attr_write_int64(c, file, r, "format_version", 1) ||
        cbd_h5_attr_write_string(c, file, r, "program_version", "test-fixture") ||
        cbd_h5_attr_write_int64(c, file, r, "n", N) ||
        cbd_h5_attr_write_int64(c, file, r, "d", v->bad_shape ? D + 1 : D) ||
        cbd_h5_attr_write_int64(c, file, r, "classes", C) ||
        cbd_h5_attr_write_int64(c, file, r, "views", S) ||
        cbd_h5_attr_write_string(c, file, r, "dtype", v->half ? "float16" : "float32") ||
        cbd_h5_attr_write_int64(c, file, r, "has_logits", v->logits) ||
        cbd_h5_attr_write_uint64(c, file, r, "manifest_digest", UINT64_C(0x0123456789abcdef)) ||
        cbd_h5_attr_write_string(c, file, r, "teacher", "resnet20-t0") ||
        cbd_h5_attr_write_uint64(c, file, r, "teacher_checkpoint_digest", UINT64_C(0xfedcba9876543210)) ||
        cbd_h5_attr_write_string(c, file, r, "augmentation", "crop 4, flip") ||
        cbd_h5_attr_write_uint64(c, file, r, "experiment_seed", 7) ||
        cbd_h5_attr_write_int64(c, file, r, "center_done", 1) ||
        cbd_h5_attr_write_int64(c, file, r, "complete", views_done == S))
        return -1;
    return 0;
}

static int write_store(const char *dir, const variant *v) {
    char path[4096], err[1024];
    cbd_h5_ctx ctx, *c = &ctx;
    snprintf(path, sizeof path, "%s/%s", dir, v->name);
    cbd_h5_ctx_init(c, path, err, sizeof err);

    float features[S][N][D], center[N][D], logits[S][N][C], center_logits[N][C];
    int32_t labels[N];
    uint8_t done[S];
    for (int i = 0; i < N; i++) {
        labels[i] = fixture_labels[i];
        for (int k = 0; k < D; k++) {
            center[i][k] = features[0][i][k] = center_values[i][k];
            features[1][i][k] = view1_values[i][k];
        }
        for (int k = 0; k < C; k++) {
            center_logits[i][k] = k == labels[i] ? 4.0f : -1.0f;
            for (int s = 0; s < S; s++) logits[s][i][k] = k == labels[i] ? 2.0f + (float)s : -0.5f * (float)(k + 1);
        }
    }
    for (int s = 0; s < S; s++) done[s] = 1;
    if (v->nan) {
        features[1][3][2] = NAN;
        center[4][1] = INFINITY;
    }
    if (v->bad_label) labels[4] = 7;
    if (v->incomplete) done[1] = 0;

    hid_t file = -1, half = -1;
    int rc = -1;
    if ((half = half_type(c)) < 0) goto cleanup;
    if ((file = cbd_h5_create(c, path)) < 0) goto cleanup;

    const hsize_t fdims[3] = {S, N, D}, fchunk[3] = {1, N, D};
    const hsize_t cdims[2] = {N, D};
    const hsize_t ldims[3] = {S, N, C}, lchunk[3] = {1, N, C};
    const hsize_t cldims[2] = {N, C};
    const hsize_t ndims[1] = {N}, sdims[1] = {S};
    const storage features_st = {fchunk, 1, 4, 1}, center_st = {cdims, 0, 0, 1};
    const storage logits_st = {lchunk, 0, 0, 0}, contiguous = {NULL, 0, 0, 0};

    if (write_floats(c, file, v, half, "features", 3, fdims, &features_st, v->incomplete ? 1 : S, &features[0][0][0]) ||
        write_floats(c, file, v, half, "center", 2, cdims, &center_st, N, &center[0][0]) ||
        write_dataset(c, file, "labels", v->labels64 ? H5T_STD_I64LE : H5T_STD_I32LE, H5T_NATIVE_INT32, 1, ndims,
                      &contiguous, N, labels) ||
        write_dataset(c, file, "done", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, sdims, &contiguous, S, done))
        goto cleanup;
    if (v->logits &&
        (write_floats(c, file, v, half, "logits", 3, ldims, &logits_st, S, &logits[0][0][0]) ||
         write_floats(c, file, v, half, "center_logits", 2, cldims, &contiguous, N, &center_logits[0][0])))
        goto cleanup;
    if (write_attributes(c, file, v, done) != 0) goto cleanup;
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, file, rc, path);
    rc = cbd_h5_close_checked(c, half, rc, "half type");
    if (rc != 0) fprintf(stderr, "h5inspect_make_fixture: %s\n", err);
    return rc;
}

/* ---- a file that is not a store ------------------------------------------------------ */

/* Attribute `name` of obj: type, shape (ndim 0: scalar, -1: null), values. */
static int attr(cbd_h5_ctx *c, hid_t obj, const char *name, hid_t type, int ndim, const hsize_t *dims,
                const void *values) {
    hid_t space = -1, a = -1;
    int rc = -1;
    if (ndim < 0) CBD_H5_CHECK(c, space = H5Screate(H5S_NULL), "cannot create a null dataspace");
    else if (ndim == 0) CBD_H5_CHECK(c, space = H5Screate(H5S_SCALAR), "cannot create a scalar dataspace");
    else CBD_H5_CHECK(c, space = H5Screate_simple(ndim, dims, NULL), "cannot create a dataspace");
    CBD_H5_CHECK(c, a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "cannot create attribute '%s'",
                 name);
    if (values) CBD_H5_CHECK(c, H5Awrite(a, type, values), "cannot write attribute '%s'", name);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, a, rc, name);
    return cbd_h5_close_checked(c, space, rc, name);
}

static hid_t string_type(cbd_h5_ctx *c, size_t size) {
    hid_t t = -1;
    CBD_H5_CHECK(c, t = H5Tcopy(H5T_C_S1), "cannot copy the string type");
    CBD_H5_CHECK(c, H5Tset_size(t, size), "cannot size a string type");
    return t;
cleanup:
    cbd_h5_close(t);
    return -1;
}

static int write_generic(const char *dir) {
    char path[4096], err[1024];
    cbd_h5_ctx ctx, *c = &ctx;
    snprintf(path, sizeof path, "%s/generic.h5", dir);
    cbd_h5_ctx_init(c, path, err, sizeof err);
    hid_t file = -1, g = -1, half = -1, str2 = -1, vstr = -1, boolean = -1, pair = -1;
    int rc = -1;
    const storage contiguous = {NULL, 0, 0, 0};
    if ((file = cbd_h5_create(c, path)) < 0 || (half = half_type(c)) < 0 || (str2 = string_type(c, 2)) < 0 ||
        (vstr = string_type(c, H5T_VARIABLE)) < 0)
        goto cleanup;

    /* groups and datasets */
    CBD_H5_CHECK(c, g = H5Gcreate2(file, "a", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "cannot create group 'a'");
    CBD_H5_CHECK(c, H5Gclose(g), "cannot close group 'a'");
    g = -1;
    CBD_H5_CHECK(c, g = H5Gcreate2(file, "a/b", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "cannot create group 'a/b'");
    CBD_H5_CHECK(c, H5Gclose(g), "cannot close group 'a/b'");
    g = -1;
    CBD_H5_CHECK(c, g = H5Gcreate2(file, "empty", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "cannot create group 'empty'");
    CBD_H5_CHECK(c, H5Gclose(g), "cannot close group 'empty'");
    g = -1;
    const double matrix[3][2] = {{1, 2}, {3, 4}, {5, 6.5}};
    const hsize_t mdims[2] = {3, 2}, idims[1] = {5}, ichunk[1] = {2}, sdims[1] = {2};
    const int16_t ints[5] = {-3, -1, 0, 1, 300};
    const storage deflated = {ichunk, 0, 1, 0};
    const char *names[2] = {"alpha", "beta gamma"};
    if (write_dataset(c, file, "a/b/matrix", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 2, mdims, &contiguous, 3, matrix) ||
        write_dataset(c, file, "a/ints", H5T_STD_I16LE, H5T_NATIVE_INT16, 1, idims, &deflated, 5, ints) ||
        write_dataset(c, file, "names", vstr, vstr, 1, sdims, &contiguous, 2, names))
        goto cleanup;
    {
        hid_t space = -1, d = -1;
        const int64_t answer = 42;
        CBD_H5_CHECK(c, space = H5Screate(H5S_SCALAR), "cannot create a scalar dataspace");
        CBD_H5_CHECK(c, d = H5Dcreate2(file, "scalar", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create dataset 'scalar'");
        CBD_H5_CHECK(c, H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &answer), "cannot write 'scalar'");
        CBD_H5_CHECK(c, H5Dclose(d), "cannot close 'scalar'");
        CBD_H5_CHECK(c, H5Sclose(space), "cannot close a dataspace");
    }
    struct {
        int32_t id;
        float w;
    } pairs[2] = {{1, 0.5f}, {2, 0.25f}};
    CBD_H5_CHECK(c, pair = H5Tcreate(H5T_COMPOUND, sizeof pairs[0]), "cannot create a compound type");
    CBD_H5_CHECK(c, H5Tinsert(pair, "id", 0, H5T_NATIVE_INT32), "cannot add member 'id'");
    CBD_H5_CHECK(c, H5Tinsert(pair, "w", sizeof(int32_t), H5T_NATIVE_FLOAT), "cannot add member 'w'");
    if (write_dataset(c, file, "pairs", pair, pair, 1, sdims, &contiguous, 2, pairs)) goto cleanup;
    {
        hid_t t = -1;
        CBD_H5_CHECK(c, t = H5Tcopy(half), "cannot copy the half type");
        CBD_H5_CHECK(c, H5Tcommit2(file, "half_type", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "cannot commit the half type");
        CBD_H5_CHECK(c, H5Tclose(t), "cannot close a type");
    }
    CBD_H5_CHECK(c, H5Lcreate_soft("/a/b/matrix", file, "link", H5P_DEFAULT, H5P_DEFAULT), "cannot create a soft link");
    CBD_H5_CHECK(c, H5Lcreate_external("other.h5", "/x", file, "ext", H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create an external link");

    /* attributes */
    int32_t counting[100];
    for (int k = 0; k < 100; k++) counting[k] = k;
    const uint8_t grid[2][3] = {{1, 2, 3}, {4, 5, 6}};
    const hsize_t long_dims[1] = {100}, grid_dims[2] = {2, 3}, two[1] = {2};
    const double pi = 3.141592653589793;
    const uint16_t half_value = 0x3800; /* 0.5 */
    const char labels[2][2] = {{'x', '\0'}, {'y', 'y'}};
    const char *note = "say \"hi\"\nbye";
    const int8_t yes = 1;
    int8_t value = 0;
    CBD_H5_CHECK(c, boolean = H5Tenum_create(H5T_NATIVE_INT8), "cannot create an enum type");
    CBD_H5_CHECK(c, H5Tenum_insert(boolean, "FALSE", &value), "cannot add FALSE");
    value = 1;
    CBD_H5_CHECK(c, H5Tenum_insert(boolean, "TRUE", &value), "cannot add TRUE");
    if (attr(c, file, "counting", H5T_NATIVE_INT32, 1, long_dims, counting) ||
        attr(c, file, "grid", H5T_NATIVE_UINT8, 2, grid_dims, grid) ||
        attr(c, file, "pi", H5T_NATIVE_DOUBLE, 0, NULL, &pi) ||
        attr(c, file, "half", half, 0, NULL, &half_value) ||
        attr(c, file, "labels", str2, 1, two, labels) ||
        attr(c, file, "note", vstr, 0, NULL, &note) ||
        attr(c, file, "flag", boolean, 0, NULL, &yes) ||
        attr(c, file, "nothing", H5T_NATIVE_INT32, -1, NULL, NULL))
        goto cleanup;
    CBD_H5_CHECK(c, g = H5Oopen(file, "a/b/matrix", H5P_DEFAULT), "cannot open 'a/b/matrix'");
    const float scale = 0.1f;
    if (cbd_h5_attr_write_string(c, file, "a/b/matrix", "units", "m") ||
        attr(c, g, "scale", H5T_NATIVE_FLOAT, 0, NULL, &scale))
        goto cleanup;
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, g, rc, "a group");
    rc = cbd_h5_close_checked(c, pair, rc, "compound type");
    rc = cbd_h5_close_checked(c, boolean, rc, "enum type");
    rc = cbd_h5_close_checked(c, vstr, rc, "string type");
    rc = cbd_h5_close_checked(c, str2, rc, "string type");
    rc = cbd_h5_close_checked(c, half, rc, "half type");
    rc = cbd_h5_close_checked(c, file, rc, path);
    if (rc != 0) fprintf(stderr, "h5inspect_make_fixture: %s\n", err);
    return rc;
}

/* ---- image stores (store/image_store.h) ------------------------------------------------ */

static int write_image_store(const char *dir, const char *name, int complete) {
    char path[4096], err[1024];
    cbd_h5_ctx ctx, *c = &ctx;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cbd_h5_ctx_init(c, path, err, sizeof err);
    hid_t file = -1, vstr = -1;
    int rc = -1;
    const uint8_t pixels[3][2][2][1] = {{{{0}, {64}}, {{128}, {255}}}, {{{1}, {2}}, {{3}, {4}}}, {{{9}, {9}}, {{9}, {9}}}};
    const int32_t labels[3] = {0, 1, 1};
    const char *paths[3] = {"a/0.jpg", "b/1.jpg", "b/2.jpg"};
    const hsize_t idims[4] = {3, 2, 2, 1}, ichunk[4] = {3, 2, 2, 1}, ndims[1] = {3};
    const storage images_st = {ichunk, 0, 0, 1}, contiguous = {NULL, 0, 0, 0};
    const char *r = ".";
    if ((file = cbd_h5_create(c, path)) < 0 || (vstr = string_type(c, H5T_VARIABLE)) < 0) goto cleanup;
    if (write_dataset(c, file, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, idims, &images_st, 3, pixels) ||
        write_dataset(c, file, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, ndims, &contiguous, 3, labels) ||
        write_dataset(c, file, "paths", vstr, vstr, 1, ndims, &contiguous, 3, paths))
        goto cleanup;
    if (cbd_h5_attr_write_string(c, file, r, "format", "cbd-image-store") ||
        cbd_h5_attr_write_int64(c, file, r, "format_version", 1) ||
        cbd_h5_attr_write_string(c, file, r, "program_version", "test-fixture") ||
        cbd_h5_attr_write_int64(c, file, r, "classes", 2) || cbd_h5_attr_write_int64(c, file, r, "channels", 1) ||
        cbd_h5_attr_write_int64(c, file, r, "height", 2) || cbd_h5_attr_write_int64(c, file, r, "width", 2) ||
        cbd_h5_attr_write_uint64(c, file, r, "manifest_digest", UINT64_C(0x00000000000000ff)) ||
        cbd_h5_attr_write_string(c, file, r, "source", "fixture.txt") ||
        cbd_h5_attr_write_int64(c, file, r, "complete", complete))
        goto cleanup;
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, vstr, rc, "string type");
    rc = cbd_h5_close_checked(c, file, rc, path);
    if (rc != 0) fprintf(stderr, "h5inspect_make_fixture: %s\n", err);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: h5inspect_make_fixture OUT_DIR\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++)
        if (write_store(argv[1], &variants[k]) != 0) return 1;
    if (write_image_store(argv[1], "images.h5", 1) != 0 || write_image_store(argv[1], "images_partial.h5", 0) != 0)
        return 1;
    return write_generic(argv[1]) != 0;
}
