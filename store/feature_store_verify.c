/* Checking a feature store as it is, going on after each defect
 * (cbd_feature_store_verify in store/feature_store.h). Attributes are read
 * one by one, so a missing one is one defect and not the end; the datasets'
 * shapes and types are compared with each other and with the attributes
 * before any value is read; the values of the views done are then scanned
 * with the same row reader the stages use. */
#include "store/feature_store_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

#define MAX_RANK 8

typedef struct {
    cbd_h5_ctx *c;
    hid_t file, half;
    cbd_feature_defect_fn fn;
    void *arg;
    int defects;
} verifier;

static void defect(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void defect(verifier *v, const char *fmt, ...) {
    v->defects++;
    if (!v->fn) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    v->fn(v->arg, line);
}

/* The context's last message without the path it starts with. */
static const char *last_error(const verifier *v) {
    const size_t n = strlen(v->c->path);
    const char *e = v->c->err;
    return strncmp(e, v->c->path, n) == 0 && e[n] == ':' ? e + n + 2 : e;
}

/* ---- attributes, each on its own ------------------------------------------------------------ */

typedef struct {
    int state; /* 0 missing, 1 read, -1 unreadable */
    int64_t v;
} attr_i64;

static int attr_present(verifier *v, const char *name) {
    const int found = cbd_h5_attr_exists(v->c, v->file, ".", name);
    if (found < 0) {
        defect(v, "attribute '%s': %s", name, last_error(v));
        return -1;
    }
    if (!found) defect(v, "missing attribute '%s'", name);
    return found;
}

static void read_i64(verifier *v, const char *name, attr_i64 *a) {
    a->state = attr_present(v, name);
    if (a->state == 1 && cbd_h5_attr_read_int64(v->c, v->file, ".", name, &a->v) != 0) {
        a->state = -1;
        defect(v, "attribute '%s' is not a readable integer: %s", name, last_error(v));
    }
}

static void read_u64(verifier *v, const char *name) {
    uint64_t value;
    if (attr_present(v, name) == 1 && cbd_h5_attr_read_uint64(v->c, v->file, ".", name, &value) != 0)
        defect(v, "attribute '%s' is not a readable integer: %s", name, last_error(v));
}

static int read_str(verifier *v, const char *name, char *out, size_t len) {
    out[0] = '\0';
    if (attr_present(v, name) != 1) return 0;
    if (cbd_h5_attr_read_string(v->c, v->file, ".", name, out, len) != 0) {
        defect(v, "attribute '%s' is not a readable string: %s", name, last_error(v));
        return 0;
    }
    return 1;
}

/* ---- datasets, described before they are read ---------------------------------------------- */

typedef struct {
    int exists, is_dataset, ndim;
    hsize_t dims[MAX_RANK];
    H5T_class_t cls;
    size_t size;
    char type[48]; /* "float16", "float32", "8-byte integer", ... */
} dataset;

static void describe(verifier *v, const char *name, dataset *d) {
    memset(d, 0, sizeof *d);
    hid_t dset = -1, type = -1, space = -1;
    const int found = cbd_h5_exists(v->c, v->file, name);
    if (found <= 0) return;
    d->exists = 1;
    H5O_info_t info;
    if (H5Oget_info_by_name2(v->file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
        info.type != H5O_TYPE_DATASET)
        return;
    if ((dset = H5Dopen2(v->file, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0 ||
        (type = H5Dget_type(dset)) < 0)
        goto done;
    d->ndim = H5Sget_simple_extent_ndims(space);
    if (d->ndim < 0 || d->ndim > MAX_RANK || H5Sget_simple_extent_dims(space, d->dims, NULL) < 0) goto done;
    d->is_dataset = 1;
    d->cls = H5Tget_class(type);
    d->size = H5Tget_size(type);
    if (d->cls == H5T_FLOAT && H5Tequal(type, v->half) > 0) snprintf(d->type, sizeof d->type, "float16");
    else if (d->cls == H5T_FLOAT && H5Tequal(type, H5T_IEEE_F32LE) > 0) snprintf(d->type, sizeof d->type, "float32");
    else if (d->cls == H5T_FLOAT) snprintf(d->type, sizeof d->type, "another %zu-byte float", d->size);
    else if (d->cls == H5T_INTEGER) snprintf(d->type, sizeof d->type, "%zu-byte integers", d->size);
    else snprintf(d->type, sizeof d->type, "neither floats nor integers");
done:
    cbd_h5_close(type);
    cbd_h5_close(space);
    cbd_h5_close(dset);
}

static int has_shape(const dataset *d, int ndim, const hsize_t *dims) {
    if (!d->is_dataset || d->ndim != ndim) return 0;
    for (int k = 0; k < ndim; k++)
        if (d->dims[k] != dims[k]) return 0;
    return 1;
}

static const char *shape_text(const dataset *d, char *out, size_t len) {
    if (!d->exists) snprintf(out, len, "missing");
    else if (!d->is_dataset) snprintf(out, len, "not a dataset");
    else cbd_h5_format_shape(out, len, d->ndim, d->dims);
    return out;
}

/* ---- the store ---------------------------------------------------------------------------- */

typedef struct {
    attr_i64 format_version, n, d, classes, views, has_logits, center_done, complete;
    char format[128], dtype[32];
    dataset parts[PART_COUNT], labels, done;
    hsize_t S, N, D, C; /* from the datasets */
} store;

static void read_attributes(verifier *v, store *s) {
    char text[1024];
    read_str(v, "format", s->format, sizeof s->format);
    read_i64(v, "format_version", &s->format_version);
    read_str(v, "program_version", text, sizeof text);
    read_i64(v, "n", &s->n);
    read_i64(v, "d", &s->d);
    read_i64(v, "classes", &s->classes);
    read_i64(v, "views", &s->views);
    read_str(v, "dtype", s->dtype, sizeof s->dtype);
    read_i64(v, "has_logits", &s->has_logits);
    read_u64(v, "manifest_digest");
    read_str(v, "teacher", text, sizeof text);
    read_u64(v, "teacher_checkpoint_digest");
    read_str(v, "augmentation", text, sizeof text);
    read_u64(v, "experiment_seed");
    read_i64(v, "center_done", &s->center_done);
    read_i64(v, "complete", &s->complete);
    if (s->format[0] && strcmp(s->format, CBD_FEATURE_STORE_FORMAT) != 0)
        defect(v, "attribute format = \"%s\": not a feature store", s->format);
    if (s->format_version.state == 1 && s->format_version.v != CBD_FEATURE_STORE_FORMAT_VERSION)
        defect(v, "format_version is %" PRId64 ", this program reads version %d", s->format_version.v,
               CBD_FEATURE_STORE_FORMAT_VERSION);
}

/* The datasets against each other; 0 when their shapes cannot be trusted. */
static int check_layout(verifier *v, store *s) {
    char have[128];
    for (int p = 0; p < PART_COUNT; p++) describe(v, fs_part_names[p], &s->parts[p]);
    describe(v, "labels", &s->labels);
    describe(v, "done", &s->done);
    const dataset *f = &s->parts[PART_FEATURES], *center = &s->parts[PART_CENTER];
    const dataset *logits = &s->parts[PART_LOGITS], *center_logits = &s->parts[PART_CENTER_LOGITS];
    if (!f->is_dataset || f->ndim != 3 || f->cls != H5T_FLOAT) {
        defect(v, "shape: /features must be a float dataset [views, n, d], it is %s", shape_text(f, have, sizeof have));
        return 0;
    }
    s->S = f->dims[0], s->N = f->dims[1], s->D = f->dims[2];
    s->C = logits->is_dataset && logits->ndim == 3 ? logits->dims[2]
           : s->classes.state == 1 && s->classes.v > 0 ? (hsize_t)s->classes.v
                                                       : 0;
    const unsigned long long S = s->S, N = s->N, D = s->D;
    const hsize_t cdims[2] = {s->N, s->D}, ndims[1] = {s->N}, sdims[1] = {s->S};
    int ok = 1;
    if (!has_shape(center, 2, cdims) || center->cls != H5T_FLOAT) {
        defect(v, "shape: /center is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu]",
               shape_text(center, have, sizeof have), S, N, D, N, D);
        ok = 0;
    }
    if (!has_shape(&s->labels, 1, ndims) || s->labels.cls != H5T_INTEGER) {
        defect(v, "shape: /labels is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               shape_text(&s->labels, have, sizeof have), S, N, D, N);
        ok = 0;
    } else if (s->labels.size != 4) {
        defect(v, "type: /labels holds %s; a feature store's labels are 4-byte integers (int32)", s->labels.type);
    }
    if (!has_shape(&s->done, 1, sdims) || s->done.cls != H5T_INTEGER) {
        defect(v, "shape: /done is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               shape_text(&s->done, have, sizeof have), S, N, D, S);
        ok = 0;
    }
    if (logits->exists != center_logits->exists) {
        defect(v, "shape: /logits is %s but /center_logits is %s", logits->exists ? "present" : "missing",
               center_logits->exists ? "present" : "missing");
        ok = 0;
    }
    if (logits->exists) {
        const hsize_t ldims[3] = {s->S, s->N, s->C}, cldims[2] = {s->N, s->C};
        if (!has_shape(logits, 3, ldims) || logits->cls != H5T_FLOAT) {
            defect(v, "shape: /logits is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu, classes]",
                   shape_text(logits, have, sizeof have), S, N, D, S, N);
            ok = 0;
        } else if (center_logits->exists && (!has_shape(center_logits, 2, cldims) || center_logits->cls != H5T_FLOAT)) {
            defect(v, "shape: /center_logits is %s, /logits needs a float [%llu, %llu]",
                   shape_text(center_logits, have, sizeof have), N, (unsigned long long)s->C);
            ok = 0;
        }
    }
    return ok;
}

/* Attributes that disagree with the datasets; 0 when the values cannot be
 * read (no usable dtype: the rows are read by the shapes of the datasets). */
static int check_attributes(verifier *v, const store *s) {
    int ok = 1;
    const struct {
        const char *name;
        const attr_i64 *a;
        hsize_t have;
        const char *where;
    } sizes[] = {{"n", &s->n, s->N, "/features dimension 1"},
                 {"d", &s->d, s->D, "/features dimension 2"},
                 {"views", &s->views, s->S, "/features dimension 0"},
                 {"classes", &s->classes, s->C, "/logits dimension 2"}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        if (sizes[k].a->state != 1) continue;
        if (k == 3 && !s->parts[PART_LOGITS].is_dataset) {
            if (sizes[k].a->v <= 0) defect(v, "shape: attribute classes = %" PRId64 " is not positive", sizes[k].a->v);
            continue;
        }
        if (sizes[k].a->v < 0 || (hsize_t)sizes[k].a->v != sizes[k].have)
            defect(v, "shape: attribute %s = %" PRId64 " but %s is %llu", sizes[k].name, sizes[k].a->v,
                   sizes[k].where, (unsigned long long)sizes[k].have);
    }
    if (s->has_logits.state == 1 && (s->has_logits.v != 0) != (s->parts[PART_LOGITS].exists != 0))
        defect(v, "shape: attribute has_logits = %" PRId64 " but /logits is %s", s->has_logits.v,
               s->parts[PART_LOGITS].exists ? "present" : "missing");
    const char *words = s->parts[PART_FEATURES].type;
    if (s->dtype[0] && strcmp(s->dtype, "float16") != 0 && strcmp(s->dtype, "float32") != 0) {
        defect(v, "attribute dtype = \"%s\", expected \"float16\" or \"float32\"", s->dtype);
        ok = 0;
    } else if (s->dtype[0] && strcmp(s->dtype, words) != 0) {
        defect(v, "dtype: attribute dtype = \"%s\" but /features holds %s", s->dtype, words);
        ok = 0;
    }
    for (int p = PART_CENTER; p < PART_COUNT; p++)
        if (s->parts[p].is_dataset && strcmp(s->parts[p].type, words) != 0) {
            defect(v, "dtype: /%s holds %s, /features holds %s", fs_part_names[p], s->parts[p].type, words);
            ok = 0;
        }
    return ok && s->dtype[0];
}

static void check_labels(verifier *v, const store *s) {
    if (!s->labels.is_dataset || s->labels.cls != H5T_INTEGER || !has_shape(&s->labels, 1, &s->N)) return;
    int64_t *labels = cbd_calloc(s->N ? s->N : 1, sizeof *labels);
    hid_t dset = H5Dopen2(v->file, "labels", H5P_DEFAULT);
    if (dset < 0 || (s->N && H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) < 0)) {
        cbd_h5_error(v->c, "cannot read dataset 'labels'");
        defect(v, "cannot read /labels: %s", last_error(v));
    } else {
        hsize_t bad = 0, first = 0;
        const int64_t C = s->C ? (int64_t)s->C : INT64_MAX;
        for (hsize_t i = 0; i < s->N; i++)
            if ((labels[i] < 0 || labels[i] >= C) && bad++ == 0) first = i;
        if (bad)
            defect(v, "labels out of range: %llu label%s outside 0..%lld, first at row %llu (%" PRId64 ")",
                   (unsigned long long)bad, bad == 1 ? "" : "s", (long long)C - 1, (unsigned long long)first,
                   labels[first]);
    }
    cbd_h5_close(dset);
    free(labels);
}

/* complete, center_done and /done; fills done[S] (0 where unreadable). */
static void check_complete(verifier *v, const store *s, uint8_t *done) {
    if (s->complete.state == 1 && s->complete.v != 1) defect(v, "incomplete: complete = %" PRId64, s->complete.v);
    if (s->center_done.state == 1 && s->center_done.v != 1)
        defect(v, "incomplete: center features not done (center_done = %" PRId64 ")", s->center_done.v);
    if (fs_ends_with(v->c->path, ".partial")) defect(v, "incomplete: a .partial file (its dump is unfinished)");
    if (!has_shape(&s->done, 1, &s->S)) return;
    hid_t dset = H5Dopen2(v->file, "done", H5P_DEFAULT);
    if (dset < 0 || (s->S && H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done) < 0)) {
        cbd_h5_error(v->c, "cannot read dataset 'done'");
        defect(v, "cannot read /done: %s", last_error(v));
        memset(done, 0, s->S);
    } else {
        char missing[256] = "";
        hsize_t k = 0, listed = 0;
        for (hsize_t i = 0; i < s->S; i++) {
            if (done[i] == 1) {
                k++;
                continue;
            }
            size_t at = strlen(missing);
            if (listed++ < 20) snprintf(missing + at, sizeof missing - at, "%s%llu", at ? ", " : "", (unsigned long long)i);
            else if (listed == 21) snprintf(missing + at, sizeof missing - at, ", ...");
        }
        if (k < s->S)
            defect(v, "incomplete: views not done: %s (%llu of %llu views done)", missing, (unsigned long long)k,
                   (unsigned long long)s->S);
    }
    cbd_h5_close(dset);
}

/* NaN and Inf in one view of a part (or the whole of a center part). */
static void scan(verifier *v, fs_rows *r, fs_part p, int64_t view) {
    const cbd_feature_store_spec *spec = &r->spec;
    const int width = fs_part_width(spec, p);
    const int64_t block = fs_block_rows(spec, p);
    float *values = cbd_malloc((size_t)block * (size_t)width * sizeof *values);
    uint64_t nan = 0, inf = 0, nan_rows = 0, inf_rows = 0, first_nan = 0, first_inf = 0;
    char where[96];
    if (fs_part_per_view(p)) snprintf(where, sizeof where, "/%s view %" PRId64, fs_part_names[p], view);
    else snprintf(where, sizeof where, "/%s", fs_part_names[p]);
    for (int64_t first = 0; first < spec->n; first += block) {
        const int64_t rows = first + block > spec->n ? spec->n - first : block;
        if (fs_read_rows(v->c, r, p, view, first, rows, values) != 0) {
            const char *why = strstr(v->c->detail, "Fletcher32") || strstr(v->c->detail, "checksum")
                                  ? "data checksum failure"
                                  : "truncated or corrupt";
            defect(v, "cannot read %s: %s in '%s': the file is corrupt", where, why, fs_part_names[p]);
            free(values);
            return;
        }
        for (int64_t i = 0; i < rows; i++) {
            uint64_t row_nan = 0, row_inf = 0;
            for (int k = 0; k < width; k++) {
                const float x = values[(size_t)i * (size_t)width + (size_t)k];
                row_nan += isnan(x) != 0;
                row_inf += isinf(x) != 0;
            }
            if (row_nan && nan_rows++ == 0) first_nan = (uint64_t)(first + i);
            if (row_inf && inf_rows++ == 0) first_inf = (uint64_t)(first + i);
            nan += row_nan;
            inf += row_inf;
        }
    }
    free(values);
    if (nan)
        defect(v, "NaN in %s: %llu value%s in %llu row%s, first at row %llu", where, (unsigned long long)nan,
               nan == 1 ? "" : "s", (unsigned long long)nan_rows, nan_rows == 1 ? "" : "s",
               (unsigned long long)first_nan);
    if (inf)
        defect(v, "Inf in %s: %llu value%s in %llu row%s, first at row %llu", where, (unsigned long long)inf,
               inf == 1 ? "" : "s", (unsigned long long)inf_rows, inf_rows == 1 ? "" : "s",
               (unsigned long long)first_inf);
}

static void scan_values(verifier *v, store *s, const uint8_t *done) {
    fs_rows r;
    fs_rows_init(&r);
    r.file = v->file;
    r.half = v->half;
    r.spec.n = (int64_t)s->N;
    r.spec.d = (int)s->D;
    r.spec.views = (int)s->S;
    r.spec.classes = (int)(s->C ? s->C : 1);
    r.spec.has_logits = s->parts[PART_LOGITS].exists;
    r.spec.dtype = strcmp(s->dtype, "float16") == 0 ? CBD_STORE_FLOAT16 : CBD_STORE_FLOAT32;
    if (fs_rows_open(v->c, &r) != 0) {
        defect(v, "%s", last_error(v));
    } else {
        const int center = s->center_done.state != 1 || s->center_done.v != 0;
        for (int p = 0; p < PART_COUNT; p++) {
            if (!fs_part_present(&r.spec, p)) continue;
            if (!fs_part_per_view(p)) {
                if (center) scan(v, &r, p, 0);
                continue;
            }
            for (int64_t view = 0; view < r.spec.views; view++)
                if (done[view]) scan(v, &r, p, view);
        }
    }
    r.file = r.half = -1; /* the verifier's */
    fs_rows_free(&r);
}

int cbd_feature_store_verify(const char *path, cbd_feature_defect_fn fn, void *arg, char *summary,
                             size_t summary_len) {
    char err[2048];
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, sizeof err);
    verifier v = {&c, -1, -1, fn, arg, 0};
    if (summary_len) summary[0] = '\0';
    if ((v.half = fs_half_type(&c)) < 0 || (v.file = cbd_h5_open_read(&c)) < 0) {
        defect(&v, "%s", last_error(&v));
        cbd_h5_close(v.half);
        return v.defects;
    }
    static store s;
    memset(&s, 0, sizeof s);
    read_attributes(&v, &s);
    const int layout = check_layout(&v, &s);
    const int readable = layout && check_attributes(&v, &s);
    uint8_t *done = cbd_calloc(s.S ? s.S : 1, 1);
    check_complete(&v, &s, done);
    check_labels(&v, &s);
    if (readable)
        scan_values(&v, &s, done);
    else if (!layout)
        defect(&v, "data not scanned for NaN/Inf: datasets are missing or their shapes disagree");
    else
        defect(&v, "data not scanned for NaN/Inf: the dtype of the values is not known");
    free(done);
    if (!v.defects && summary_len)
        snprintf(summary, summary_len,
                 "complete feature store, %llu images x %llu views, d = %llu, %s%s; labels in range, no NaN or Inf",
                 (unsigned long long)s.N, (unsigned long long)s.S, (unsigned long long)s.D, s.dtype,
                 s.parts[PART_LOGITS].exists ? ", logits" : "");
    cbd_h5_close(v.file);
    cbd_h5_close(v.half);
    return v.defects;
}
