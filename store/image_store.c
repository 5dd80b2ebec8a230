#include "store/image_store.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "store/digest.h"
#include "store/h5util.h"
#include "store/manifest.h"

#ifndef CBD_VERSION
#define CBD_VERSION "unknown"
#endif

#define CHUNK_TARGET_BYTES (64 * 1024)
#define STRING_CHUNK 4096
#define LABEL_CHUNK 65536
#define MAX_SIDE 65535

int cbd_image_store_path(const char *path) {
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".h5") == 0;
}

/* ---- shared pieces ------------------------------------------------------------------ */

static hsize_t min_hsize(hsize_t a, hsize_t b) { return a < b ? a : b; }

/* Chunked layout, optional Fletcher32, no modification times (so the same
 * content gives the same bytes). */
static hid_t create_props(cbd_h5_ctx *c, int ndim, const hsize_t *chunk, int checksum, const char *name) {
    hid_t dcpl = -1;
    CBD_H5_CHECK(c, dcpl = H5Pcreate(H5P_DATASET_CREATE), "cannot create dataset properties for '%s'", name);
    CBD_H5_CHECK(c, H5Pset_chunk(dcpl, ndim, chunk), "cannot set the chunk shape of dataset '%s'", name);
    if (checksum)
        CBD_H5_CHECK(c, H5Pset_fletcher32(dcpl), "cannot add the Fletcher32 filter to dataset '%s'", name);
    CBD_H5_CHECK(c, H5Pset_obj_track_times(dcpl, 0), "cannot turn off times of dataset '%s'", name);
    return dcpl;
cleanup:
    cbd_h5_close(dcpl);
    return -1;
}

static hid_t string_type(cbd_h5_ctx *c, size_t size, const char *name) {
    hid_t type = -1;
    CBD_H5_CHECK(c, type = H5Tcopy(H5T_C_S1), "cannot create a string type for '%s'", name);
    CBD_H5_CHECK(c, H5Tset_size(type, size), "cannot size the string type for '%s'", name);
    CBD_H5_CHECK(c, H5Tset_strpad(type, H5T_STR_NULLTERM), "cannot set string padding for '%s'", name);
    CBD_H5_CHECK(c, H5Tset_cset(type, H5T_CSET_UTF8), "cannot set the character set for '%s'", name);
    return type;
cleanup:
    cbd_h5_close(type);
    return -1;
}

/* A one-dimensional dataset of n values, written whole. */
static int write_1d(cbd_h5_ctx *c, hid_t file, const char *name, hid_t file_type, hid_t mem_type,
                    hsize_t n, hsize_t chunk, int checksum, const void *data) {
    hid_t space = -1, dcpl = -1, dset = -1;
    int rc = -1;
    chunk = min_hsize(chunk, n);
    CBD_H5_CHECK(c, space = H5Screate_simple(1, &n, NULL), "cannot create the dataspace of '%s'", name);
    if ((dcpl = create_props(c, 1, &chunk, checksum, name)) < 0) goto cleanup;
    CBD_H5_CHECK(c, dset = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                 "cannot create dataset '%s'", name);
    CBD_H5_CHECK(c, H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 "cannot write dataset '%s'", name);
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, dset, rc, name);
    rc = cbd_h5_close_checked(c, dcpl, rc, name);
    return cbd_h5_close_checked(c, space, rc, name);
}

static int write_strings(cbd_h5_ctx *c, hid_t file, const char *name, const char *const *strings,
                         hsize_t n) {
    hid_t type = string_type(c, H5T_VARIABLE, name);
    if (type < 0) return -1;
    int rc = write_1d(c, file, name, type, type, n, STRING_CHUNK, 0, strings);
    return cbd_h5_close_checked(c, type, rc, name);
}

static void free_strings(char **strings, int64_t n) {
    if (!strings) return;
    for (int64_t i = 0; i < n; i++) free(strings[i]);
    free(strings);
}

/* ---- writing -------------------------------------------------------------------------- */

struct cbd_image_store_writer {
    char *path, *partial;
    int classes, channels, height, width;
    hid_t file, images;
    size_t image_bytes;
    int group;              /* images per chunk: written together */
    uint8_t *pending;       /* [group] images not written yet */
    int pending_count;
    int64_t flushed, count, capacity;
    int32_t *labels;        /* [count] */
    char **paths;           /* [count] */
    uint64_t digest;
};

static int write_header(cbd_h5_ctx *c, hid_t file, const cbd_image_store_spec *s) {
    const char *root = ".";
    if (cbd_h5_attr_write_string(c, file, root, "format", CBD_IMAGE_STORE_FORMAT) ||
        cbd_h5_attr_write_int64(c, file, root, "format_version", CBD_IMAGE_STORE_FORMAT_VERSION) ||
        cbd_h5_attr_write_string(c, file, root, "program_version", CBD_VERSION) ||
        cbd_h5_attr_write_int64(c, file, root, "classes", s->classes) ||
        cbd_h5_attr_write_int64(c, file, root, "channels", s->channels) ||
        cbd_h5_attr_write_int64(c, file, root, "height", s->height) ||
        cbd_h5_attr_write_int64(c, file, root, "width", s->width) ||
        cbd_h5_attr_write_string(c, file, root, "source", s->source ? s->source : "") ||
        cbd_h5_attr_write_int64(c, file, root, "complete", 0))
        return -1;
    if (s->class_names)
        return write_strings(c, file, "class_names", s->class_names, (hsize_t)s->classes);
    return 0;
}

/* /images [0, H, W, C], growing along the first axis. */
static hid_t create_images(cbd_h5_ctx *c, hid_t file, const cbd_image_store_writer *w) {
    hsize_t dims[4] = {0, (hsize_t)w->height, (hsize_t)w->width, (hsize_t)w->channels};
    hsize_t max[4] = {H5S_UNLIMITED, dims[1], dims[2], dims[3]};
    hsize_t chunk[4] = {(hsize_t)w->group, dims[1], dims[2], dims[3]};
    hid_t space = -1, dcpl = -1, dset = -1;
    CBD_H5_CHECK(c, space = H5Screate_simple(4, dims, max), "cannot create the dataspace of 'images'");
    if ((dcpl = create_props(c, 4, chunk, 1, "images")) < 0) goto cleanup;
    CBD_H5_CHECK(c, dset = H5Dcreate2(file, "images", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                 "cannot create dataset 'images'");
cleanup:
    cbd_h5_close(dcpl);
    cbd_h5_close(space);
    return dset;
}

static int valid_spec(cbd_h5_ctx *c, const cbd_image_store_spec *s) {
    if (s->classes < 1 || (s->channels != 1 && s->channels != 3) || s->height < 1 || s->width < 1 ||
        s->height > MAX_SIDE || s->width > MAX_SIDE) {
        cbd_h5_fail(c, "cannot store %d classes of %dx%dx%d images", s->classes, s->height, s->width,
                    s->channels);
        return 0;
    }
    return 1;
}

static void writer_free(cbd_image_store_writer *w) {
    free_strings(w->paths, w->count);
    free(w->labels);
    free(w->pending);
    free(w->path);
    free(w->partial);
    free(w);
}

cbd_image_store_writer *cbd_image_store_create(const char *path, const cbd_image_store_spec *spec,
                                               char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    if (!valid_spec(&c, spec)) return NULL;
    cbd_image_store_writer *w = cbd_calloc(1, sizeof *w);
    w->path = cbd_strdup(path);
    w->partial = cbd_malloc(strlen(path) + sizeof ".partial");
    sprintf(w->partial, "%s.partial", path);
    w->classes = spec->classes;
    w->channels = spec->channels;
    w->height = spec->height;
    w->width = spec->width;
    w->image_bytes = (size_t)spec->height * spec->width * spec->channels;
    w->group = w->image_bytes >= CHUNK_TARGET_BYTES ? 1 : (int)(CHUNK_TARGET_BYTES / w->image_bytes);
    w->pending = cbd_malloc(w->image_bytes * (size_t)w->group);
    w->digest = CBD_FNV1A64_INIT;
    w->images = -1;
    w->file = cbd_h5_create(&c, w->partial);
    if (w->file < 0 || write_header(&c, w->file, spec) != 0 ||
        (w->images = create_images(&c, w->file, w)) < 0) {
        cbd_image_store_abort(w);
        return NULL;
    }
    return w;
}

/* Writes the pending images after those already in the file. */
static int flush_pending(cbd_h5_ctx *c, cbd_image_store_writer *w) {
    if (w->pending_count == 0) return 0;
    hsize_t start[4] = {(hsize_t)w->flushed, 0, 0, 0};
    hsize_t count[4] = {(hsize_t)w->pending_count, (hsize_t)w->height, (hsize_t)w->width,
                        (hsize_t)w->channels};
    hsize_t extent[4] = {start[0] + count[0], count[1], count[2], count[3]};
    hid_t file_space = -1, mem_space = -1;
    int rc = -1;
    CBD_H5_CHECK(c, H5Dset_extent(w->images, extent), "cannot extend dataset 'images'");
    CBD_H5_CHECK(c, file_space = H5Dget_space(w->images), "cannot get the dataspace of 'images'");
    CBD_H5_CHECK(c, H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select images in 'images'");
    CBD_H5_CHECK(c, mem_space = H5Screate_simple(4, count, NULL), "cannot create a dataspace for images");
    CBD_H5_CHECK(c, H5Dwrite(w->images, H5T_NATIVE_UINT8, mem_space, file_space, H5P_DEFAULT, w->pending),
                 "cannot write images %" PRId64 "..%" PRId64 " to 'images'", w->flushed,
                 w->flushed + w->pending_count - 1);
    w->flushed += w->pending_count;
    w->pending_count = 0;
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(c, mem_space, rc, "images");
    return cbd_h5_close_checked(c, file_space, rc, "images");
}

static int valid_image_path(const char *s) {
    if (!s[0]) return 0;
    for (; *s; s++)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f') return 0;
    return 1;
}

int cbd_image_store_append(cbd_image_store_writer *w, const cbd_image *img, int32_t label,
                           const char *image_path, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, w->path, err, err_len);
    if (img->width != w->width || img->height != w->height || img->channels != w->channels) {
        cbd_h5_fail(&c, "image %s is %dx%dx%d (width x height x channels), the store holds %dx%dx%d",
                    image_path, img->width, img->height, img->channels, w->width, w->height, w->channels);
        return -1;
    }
    if (label < 0 || label >= w->classes || !valid_image_path(image_path)) {
        cbd_h5_fail(
            &c, "image '%s' with label %" PRId32 ": %s", image_path, label,
            label < 0 || label >= w->classes ? "label out of range" : "empty path or whitespace in it");
        return -1;
    }
    if (w->count == w->capacity) {
        w->capacity = w->capacity ? 2 * w->capacity : 1024;
        w->labels = realloc(w->labels, (size_t)w->capacity * sizeof *w->labels);
        w->paths = realloc(w->paths, (size_t)w->capacity * sizeof *w->paths);
        if (!w->labels || !w->paths) cbd_fail(CBD_EXIT_FAILURE, "out of memory writing %s", w->path);
    }
    memcpy(w->pending + (size_t)w->pending_count * w->image_bytes, img->pixels, w->image_bytes);
    w->pending_count++;
    w->labels[w->count] = label;
    w->paths[w->count] = cbd_strdup(image_path);
    w->count++;
    w->digest = cbd_manifest_digest_add(w->digest, image_path, label);
    return w->pending_count == w->group ? flush_pending(&c, w) : 0;
}

int64_t cbd_image_store_written(const cbd_image_store_writer *w) { return w->count; }

static int mark_complete(cbd_h5_ctx *c, hid_t file) {
    CBD_H5_CHECK(c, H5Adelete(file, "complete"), "cannot replace attribute 'complete'");
    return cbd_h5_attr_write_int64(c, file, ".", "complete", 1);
cleanup:
    return -1;
}

static int write_tail(cbd_h5_ctx *c, cbd_image_store_writer *w) {
    if (flush_pending(c, w) != 0) return -1;
    if (w->count == 0) {
        cbd_h5_fail(c, "no images to store");
        return -1;
    }
    if (write_1d(c, w->file, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, (hsize_t)w->count, LABEL_CHUNK, 1,
                 w->labels) != 0 ||
        write_strings(c, w->file, "paths", (const char *const *)w->paths, (hsize_t)w->count) != 0 ||
        cbd_h5_attr_write_uint64(c, w->file, ".", "manifest_digest", w->digest) != 0)
        return -1;
    return mark_complete(c, w->file);
}

/* Closes the file and makes its bytes durable. */
static int close_and_sync(cbd_h5_ctx *c, cbd_image_store_writer *w) {
    herr_t closed = H5Dclose(w->images);
    w->images = -1;
    CBD_H5_CHECK(c, closed, "cannot close dataset 'images'");
    CBD_H5_CHECK(c, H5Fflush(w->file, H5F_SCOPE_GLOBAL), "cannot flush '%s'", w->partial);
    closed = H5Fclose(w->file);
    w->file = -1;
    CBD_H5_CHECK(c, closed, "cannot close '%s'", w->partial);
    int fd = open(w->partial, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        cbd_h5_fail(c, "cannot sync '%s': %s", w->partial, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
cleanup:
    return -1;
}

int cbd_image_store_finish(cbd_image_store_writer *w, uint64_t *digest_out, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, w->path, err, err_len);
    if (write_tail(&c, w) != 0 || close_and_sync(&c, w) != 0) {
        cbd_image_store_abort(w);
        return -1;
    }
    if (rename(w->partial, w->path) != 0) {
        cbd_h5_fail(&c, "cannot rename '%s' to '%s': %s", w->partial, w->path, strerror(errno));
        cbd_image_store_abort(w);
        return -1;
    }
    if (digest_out) *digest_out = w->digest;
    writer_free(w);
    return 0;
}

void cbd_image_store_abort(cbd_image_store_writer *w) {
    if (!w) return;
    cbd_h5_close(w->images);
    cbd_h5_close(w->file);
    unlink(w->partial);
    writer_free(w);
}

/* ---- reading -------------------------------------------------------------------------- */

struct cbd_image_store_reader {
    char *path;
    hid_t file, images;
    cbd_image_store_info info;
    int32_t *labels;
    char **paths;        /* [count] or NULL */
    char **class_names;  /* [classes] or NULL */
};

static int check_format(cbd_h5_ctx *c, hid_t file) {
    int64_t complete;
    if (cbd_h5_check_format(c, file, CBD_IMAGE_STORE_FORMAT, "image store", CBD_IMAGE_STORE_FORMAT_VERSION,
                            NULL) != 0)
        return -1;
    if (cbd_h5_attr_read_int64(c, file, ".", "complete", &complete) != 0) return -1;
    if (complete != 1) {
        cbd_h5_fail(c, "incomplete image store (its writer did not finish): pack it again");
        return -1;
    }
    return 0;
}

static int read_int(cbd_h5_ctx *c, hid_t file, const char *name, int64_t lo, int64_t hi, int *out) {
    int64_t v;
    if (cbd_h5_attr_read_int64(c, file, ".", name, &v) != 0) return -1;
    if (v < lo || v > hi) {
        cbd_h5_fail(c, "attribute '%s' is %" PRId64 ", expected %" PRId64 "..%" PRId64, name, v, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int read_info(cbd_h5_ctx *c, hid_t file, cbd_image_store_info *info) {
    if (read_int(c, file, "classes", 1, INT32_MAX, &info->classes) ||
        read_int(c, file, "channels", 1, 3, &info->channels) ||
        read_int(c, file, "height", 1, MAX_SIDE, &info->height) ||
        read_int(c, file, "width", 1, MAX_SIDE, &info->width) ||
        cbd_h5_attr_read_uint64(c, file, ".", "manifest_digest", &info->manifest_digest))
        return -1;
    if (info->channels == 2) {
        cbd_h5_fail(c, "attribute 'channels' is 2, expected 1 or 3");
        return -1;
    }
    return 0;
}

static void read_failed(cbd_h5_ctx *c, const char *what) {
    cbd_h5_error(c, "cannot read %s: truncated or corrupt", what);
    if (strstr(c->detail, "Fletcher32") || strstr(c->detail, "checksum"))
        cbd_h5_fail(c, "data checksum failure reading %s: the file is corrupt", what);
}

static int open_images(cbd_h5_ctx *c, cbd_image_store_reader *r) {
    int ndim = 0;
    hsize_t dims[H5S_MAX_RANK];
    int found = cbd_h5_exists(c, r->file, "images");
    if (found <= 0) {
        if (found == 0) cbd_h5_fail(c, "missing dataset 'images'");
        return -1;
    }
    if (cbd_h5_dataset_shape(c, r->file, "images", H5S_MAX_RANK, &ndim, dims) != 0) return -1;
    if (ndim != 4 || dims[0] == 0) {
        cbd_h5_fail(c,
                    "dataset 'images' has %d dimensions%s, expected [N, height, width, channels] with N > 0",
                    ndim, ndim == 4 ? " and no images" : "");
        return -1;
    }
    const cbd_image_store_info *in = &r->info;
    const hsize_t want[4] = {dims[0], (hsize_t)in->height, (hsize_t)in->width, (hsize_t)in->channels};
    r->info.count = (int64_t)dims[0];
    r->images = cbd_h5_open_checked(c, r->file, "images", H5T_INTEGER, 1, 4, want, H5P_DEFAULT);
    if (r->images < 0) return -1;
    /* A corrupt count must not make readers allocate what the file cannot hold. */
    const hsize_t needed = dims[0] * want[1] * want[2] * want[3], stored = H5Dget_storage_size(r->images);
    if (stored < needed) {
        cbd_h5_fail(
            c, "dataset 'images' stores %llu bytes, %llu images of %dx%dx%d need %llu: truncated or corrupt",
            (unsigned long long)stored, (unsigned long long)dims[0], in->height, in->width, in->channels,
            (unsigned long long)needed);
        return -1;
    }
    return 0;
}

static int read_labels(cbd_h5_ctx *c, cbd_image_store_reader *r) {
    const hsize_t n = (hsize_t)r->info.count;
    hid_t dset = cbd_h5_open_checked(c, r->file, "labels", H5T_INTEGER, 0, 1, &n, H5P_DEFAULT);
    int rc = -1;
    if (dset < 0) return -1;
    r->labels = cbd_malloc((size_t)n * sizeof *r->labels);
    if (H5Dread(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->labels) < 0) {
        read_failed(c, "dataset 'labels'");
        goto cleanup;
    }
    for (int64_t i = 0; i < r->info.count; i++)
        if (r->labels[i] < 0 || r->labels[i] >= r->info.classes) {
            cbd_h5_fail(c, "label %" PRId32 " of image %" PRId64 " is out of range (%d classes)",
                        r->labels[i], i, r->info.classes);
            goto cleanup;
        }
    rc = 0;
cleanup:
    return cbd_h5_close_checked(c, dset, rc, "labels");
}

/* A memory type for reading strings of `file_type` (same character set):
 * variable-length, or fixed with room for a terminator. */
static hid_t memory_string_type(cbd_h5_ctx *c, hid_t file_type, size_t fixed_size, const char *name) {
    hid_t mem = -1;
    CBD_H5_CHECK(c, mem = H5Tcopy(file_type), "cannot copy the string type of '%s'", name);
    if (fixed_size) {
        CBD_H5_CHECK(c, H5Tset_size(mem, fixed_size + 1), "cannot size the string type for '%s'", name);
        CBD_H5_CHECK(c, H5Tset_strpad(mem, H5T_STR_NULLTERM), "cannot set string padding for '%s'", name);
    }
    return mem;
cleanup:
    cbd_h5_close(mem);
    return -1;
}

static int copy_variable_strings(cbd_h5_ctx *c, hid_t dset, hid_t file_type, const char *name, size_t n,
                                 char **out) {
    hid_t mem = memory_string_type(c, file_type, 0, name), space = -1;
    char **raw = cbd_calloc(n, sizeof *raw);
    int rc = -1;
    if (mem < 0) goto cleanup;
    CBD_H5_CHECK(c, space = H5Dget_space(dset), "cannot get the dataspace of '%s'", name);
    if (H5Dread(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        read_failed(c, name);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) out[i] = cbd_strdup(raw[i] ? raw[i] : "");
    CBD_H5_CHECK(c, H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw), "cannot free the strings of '%s'", name);
    rc = 0;
cleanup:
    free(raw);
    rc = cbd_h5_close_checked(c, space, rc, name);
    return cbd_h5_close_checked(c, mem, rc, name);
}

static int copy_fixed_strings(cbd_h5_ctx *c, hid_t dset, hid_t file_type, const char *name, size_t n,
                              char **out) {
    size_t size = H5Tget_size(file_type);
    if (size == 0) {
        cbd_h5_error(c, "cannot get the string size of '%s'", name);
        return -1;
    }
    hid_t mem = memory_string_type(c, file_type, size, name);
    char *raw = cbd_malloc(n * (size + 1));
    int rc = -1;
    if (mem < 0) goto cleanup;
    if (H5Dread(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        read_failed(c, name);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        raw[i * (size + 1) + size] = '\0';
        out[i] = cbd_strdup(raw + i * (size + 1));
    }
    rc = 0;
cleanup:
    free(raw);
    return cbd_h5_close_checked(c, mem, rc, name);
}

/* An optional [n] string dataset into *out (left NULL when absent). */
static int read_strings(cbd_h5_ctx *c, hid_t file, const char *name, int64_t n, char ***out) {
    int found = cbd_h5_exists(c, file, name);
    if (found <= 0) return found;
    const hsize_t dims = (hsize_t)n;
    hid_t dset = cbd_h5_open_checked(c, file, name, H5T_STRING, 0, 1, &dims, H5P_DEFAULT), type = -1;
    htri_t variable = -1;
    char **strings = cbd_calloc((size_t)n, sizeof *strings);
    int rc = -1;
    if (dset < 0) goto cleanup;
    CBD_H5_CHECK(c, type = H5Dget_type(dset), "cannot get the type of '%s'", name);
    CBD_H5_CHECK(c, variable = H5Tis_variable_str(type), "cannot inspect the type of '%s'", name);
    rc = variable ? copy_variable_strings(c, dset, type, name, (size_t)n, strings)
                  : copy_fixed_strings(c, dset, type, name, (size_t)n, strings);
cleanup:
    if (rc == 0) *out = strings;
    else free_strings(strings, n);
    rc = cbd_h5_close_checked(c, type, rc, name);
    return cbd_h5_close_checked(c, dset, rc, name);
}

static int check_digest(cbd_h5_ctx *c, const cbd_image_store_reader *r) {
    if (!r->paths) return 0;
    uint64_t h = CBD_FNV1A64_INIT;
    for (int64_t i = 0; i < r->info.count; i++) h = cbd_manifest_digest_add(h, r->paths[i], r->labels[i]);
    if (h == r->info.manifest_digest) return 0;
    char have[17], want[17];
    cbd_digest_hex(h, have);
    cbd_digest_hex(r->info.manifest_digest, want);
    cbd_h5_fail(c,
                "paths and labels have digest %s, attribute 'manifest_digest' says %s: the file is corrupt",
                have, want);
    return -1;
}

cbd_image_store_reader *cbd_image_store_open(const char *path, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, path, err, err_len);
    cbd_image_store_reader *r = cbd_calloc(1, sizeof *r);
    r->path = cbd_strdup(path);
    r->images = -1;
    if ((r->file = cbd_h5_open_read(&c)) < 0 || check_format(&c, r->file) != 0 ||
        read_info(&c, r->file, &r->info) != 0 || open_images(&c, r) != 0 || read_labels(&c, r) != 0 ||
        read_strings(&c, r->file, "paths", r->info.count, &r->paths) < 0 ||
        read_strings(&c, r->file, "class_names", r->info.classes, &r->class_names) < 0 ||
        check_digest(&c, r) != 0) {
        cbd_image_store_close(r);
        return NULL;
    }
    return r;
}

void cbd_image_store_close(cbd_image_store_reader *r) {
    if (!r) return;
    cbd_h5_close(r->images);
    cbd_h5_close(r->file);
    free_strings(r->paths, r->info.count);
    free_strings(r->class_names, r->info.classes);
    free(r->labels);
    free(r->path);
    free(r);
}

const cbd_image_store_info *cbd_image_store_get_info(const cbd_image_store_reader *r) { return &r->info; }
const int32_t *cbd_image_store_labels(const cbd_image_store_reader *r) { return r->labels; }

const char *cbd_image_store_image_path(const cbd_image_store_reader *r, int64_t i) {
    return r->paths && i >= 0 && i < r->info.count ? r->paths[i] : NULL;
}

const char *cbd_image_store_class_name(const cbd_image_store_reader *r, int c) {
    return r->class_names && c >= 0 && c < r->info.classes ? r->class_names[c] : NULL;
}

int cbd_image_store_read_image(cbd_image_store_reader *r, int64_t i, cbd_image *img, char *err,
                               size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, r->path, err, err_len);
    const cbd_image_store_info *in = &r->info;
    if (i < 0 || i >= in->count) {
        cbd_h5_fail(&c, "no image %" PRId64 " (the store holds %" PRId64 ")", i, in->count);
        return -1;
    }
    hsize_t start[4] = {(hsize_t)i, 0, 0, 0};
    hsize_t count[4] = {1, (hsize_t)in->height, (hsize_t)in->width, (hsize_t)in->channels};
    hid_t file_space = -1, mem_space = -1;
    int rc = -1;
    char what[64];
    snprintf(what, sizeof what, "image %" PRId64, i);
    cbd_image_reserve(img, in->width, in->height, in->channels);
    CBD_H5_CHECK(&c, file_space = H5Dget_space(r->images), "cannot get the dataspace of 'images'");
    CBD_H5_CHECK(&c, H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select %s", what);
    CBD_H5_CHECK(&c, mem_space = H5Screate_simple(4, count, NULL), "cannot create a dataspace for %s", what);
    if (H5Dread(r->images, H5T_NATIVE_UINT8, mem_space, file_space, H5P_DEFAULT, img->pixels) < 0) {
        read_failed(&c, what);
        goto cleanup;
    }
    rc = 0;
cleanup:
    rc = cbd_h5_close_checked(&c, mem_space, rc, "images");
    return cbd_h5_close_checked(&c, file_space, rc, "images");
}

int cbd_image_store_read_all(cbd_image_store_reader *r, uint8_t *pixels, char *err, size_t err_len) {
    cbd_h5_ctx c;
    cbd_h5_ctx_init(&c, r->path, err, err_len);
    if (H5Dread(r->images, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) < 0) {
        read_failed(&c, "dataset 'images'");
        return -1;
    }
    return 0;
}
