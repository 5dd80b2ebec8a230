/* Writing a feature store (store/feature_store.h): PATH.partial with every
 * dataset allocated at creation, rows written view by view, a view counted
 * once flushed and flagged, the file renamed to PATH when every view and the
 * center are done; a killed dump resumes from the views it finished. */
#include "store/feature_store_format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/half.h"

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
    if ((dapl = fs_access_props(c, name)) < 0) return -1;
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
    if ((w->file = cbd_h5_create(c, w->partial)) < 0 || fs_write_header(c, w->file, s) != 0) goto cleanup;
    for (int p = 0; p < PART_COUNT; p++) {
        if (!fs_part_present(s, p)) continue;
        hsize_t dims[3], chunk[3];
        const int ndim = fs_part_dims(s, p, dims, chunk);
        w->dsets[p] = create_dataset(c, w->file, fs_part_names[p], fs_value_type(s->dtype, w->half), ndim, dims, chunk);
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
    fs_header h;
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
    if (fs_read_header(c, w->file, &h) != 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", c->err ? c->err : "");
        cbd_h5_fail(c, "cannot resume from '%s' (%s); delete it to start over", w->partial, why);
        goto cleanup;
    }
    if (fs_spec_difference(&h.spec, &w->spec, diff, sizeof diff)) {
        *code = CBD_FEATURE_PARTIAL_MISMATCH;
        cbd_h5_fail(c, "'%s' belongs to another dump: %s; delete it to start over", w->partial, diff);
        goto cleanup;
    }
    if (!(have = fs_read_labels(c, w->file, &w->spec)) || fs_read_done(c, w->file, &w->spec, w->done) != 0)
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
        if (fs_part_present(&w->spec, p) && (w->dsets[p] = fs_open_part(c, w->file, &w->spec, p, w->half)) < 0)
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
    if ((w->half = fs_half_type(&c)) < 0) goto fail;
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
    if (resumed) *resumed = fs_count_done(w->done, spec->views) + w->center_done;
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

static int write_part(cbd_h5_ctx *c, cbd_feature_writer *w, fs_part p, int view, int64_t first, int64_t rows,
                      const float *data) {
    const int width = fs_part_width(&w->spec, p);
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
    CBD_H5_CHECK(c, file_space = H5Dget_space(w->dsets[p]), "cannot get the dataspace of '%s'", fs_part_names[p]);
    if (fs_select_rows(c, file_space, p, view, first, rows, width) != 0 ||
        (mem_space = fs_rows_space(c, p, rows, width)) < 0)
        goto cleanup;
    CBD_H5_CHECK(c, H5Dwrite(w->dsets[p], fs_value_type(w->spec.dtype, w->half), mem_space, file_space, H5P_DEFAULT,
                             buffer),
                 "cannot write rows %" PRId64 "..%" PRId64 " of dataset '%s'", first, first + rows - 1,
                 fs_part_names[p]);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, mem_space, rc, fs_part_names[p]);
    return cbd_h5_close_checked(c, file_space, rc, fs_part_names[p]);
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
        if (fs_update_int64(&c, w->file, "center_done", 1) != 0) return -1;
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
    const int done = fs_count_done(w->done, w->spec.views);
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
    if (fs_update_int64(&c, w->file, "complete", 1) != 0) return -1;
    for (int p = 0; p < PART_COUNT; p++) {
        herr_t closed = cbd_h5_close(w->dsets[p]);
        w->dsets[p] = -1;
        CBD_H5_CHECK(&c, closed, "cannot close dataset '%s'", fs_part_names[p]);
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

