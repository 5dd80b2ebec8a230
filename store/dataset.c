#include "store/dataset.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/log.h"
#include "store/image_store.h"
#include "store/jpeg.h"
#include "store/digest.h"
#include "store/manifest.h"

struct cbd_dataset {
    char *path;
    int64_t count;
    int classes, channels, resize;
    uint64_t digest;
    uint64_t content_digest; /* 0 until first asked for */
    int32_t *labels;   /* [count] */
    char **names;      /* [classes]: from a names file, the store, or the index */
    /* a manifest: images decoded on each read */
    cbd_manifest manifest;
    char *root;        /* prefix of relative paths: "DIR/" or "" */
    /* a packed store: images in memory */
    uint8_t *pixels;   /* [count, height, width, channels] */
    int height, width;
    char **paths;      /* [count] or NULL */
};

static void free_strings(char **s, int64_t n) {
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void cbd_dataset_close(cbd_dataset *ds) {
    if (!ds) return;
    cbd_manifest_free(&ds->manifest);
    free_strings(ds->names, ds->classes);
    free_strings(ds->paths, ds->count);
    free(ds->labels);
    free(ds->pixels);
    free(ds->root);
    free(ds->path);
    free(ds);
}

/* Class names: the names file when given, else `stored` (may be NULL), else
 * the class index. */
static int load_names(cbd_dataset *ds, const cbd_dataset_source *src, char **stored, char *err,
                      size_t err_len) {
    if (src->class_names)
        return cbd_class_names_read(src->class_names, ds->classes, &ds->names, err, err_len) < 0 ? -1 : 0;
    ds->names = cbd_calloc((size_t)ds->classes, sizeof *ds->names);
    for (int c = 0; c < ds->classes; c++) {
        char index[16];
        snprintf(index, sizeof index, "%d", c);
        ds->names[c] = cbd_strdup(stored ? stored[c] : index);
    }
    return 0;
}

/* ---- a manifest ------------------------------------------------------------------ */

static char *image_root(const char *manifest_path, const char *given) {
    if (given) {
        size_t n = strlen(given);
        char *root = cbd_malloc(n + 2);
        sprintf(root, "%s%s", given, n > 0 && given[n - 1] != '/' ? "/" : "");
        return root;
    }
    const char *slash = strrchr(manifest_path, '/');
    size_t n = slash ? (size_t)(slash - manifest_path) + 1 : 0;
    char *root = cbd_malloc(n + 1);
    memcpy(root, manifest_path, n);
    root[n] = '\0';
    return root;
}

/* The file of entry i: absolute paths as they are, relative ones under the root. */
static int entry_file(const cbd_dataset *ds, int64_t i, char *out, size_t out_len) {
    const char *rel = ds->manifest.entries[i].path;
    int n = snprintf(out, out_len, "%s%s", rel[0] == '/' ? "" : ds->root, rel);
    return n >= 0 && (size_t)n < out_len ? 0 : -1;
}

/* A wrong image root shows at the first entry: say so before any decoding. */
static int check_first_image(const cbd_dataset *ds, char *err, size_t err_len) {
    char file[PATH_MAX];
    struct stat st;
    if (entry_file(ds, 0, file, sizeof file) == 0 && stat(file, &st) == 0) return 0;
    cbd_set_error(err, err_len,
              "%s:%d: image '%s' not found (relative paths start at '%s': is the image root right?)",
              ds->path, ds->manifest.entries[0].line, file, ds->root[0] ? ds->root : "./");
    return -1;
}

static int open_manifest(cbd_dataset *ds, const cbd_dataset_source *src, char *err, size_t err_len) {
    if (cbd_manifest_read(src->path, src->classes, &ds->manifest, err, err_len) != 0) return -1;
    ds->count = ds->manifest.count;
    ds->classes = ds->manifest.classes;
    ds->digest = ds->manifest.digest;
    ds->root = image_root(src->path, src->image_root);
    ds->labels = cbd_malloc((size_t)ds->count * sizeof *ds->labels);
    for (int64_t i = 0; i < ds->count; i++) ds->labels[i] = ds->manifest.entries[i].label;
    if (src->on_bad_image == CBD_BAD_IMAGE_FAIL && check_first_image(ds, err, err_len) != 0) return -1;
    return load_names(ds, src, NULL, err, err_len);
}

/* ---- a packed store ---------------------------------------------------------------- */

/* Converts the whole block of images at once: one tall image. */
static uint8_t *convert_pixels(uint8_t *pixels, const cbd_image_store_info *in, int channels) {
    cbd_image all = {pixels, in->width, (int)(in->count * in->height), in->channels, 0};
    cbd_image out = {0};
    cbd_image_convert(&all, &out, channels);
    free(pixels);
    return out.pixels;
}

static int load_store(cbd_dataset *ds, const cbd_dataset_source *src, cbd_image_store_reader *r, char *err,
                      size_t err_len) {
    const cbd_image_store_info *in = cbd_image_store_get_info(r);
    if (src->classes > 0 && src->classes != in->classes) {
        cbd_set_error(err, err_len, "%s: the store has %d classes, %d expected", src->path, in->classes,
                  src->classes);
        return -1;
    }
    if ((size_t)in->count * in->height > INT_MAX) {
        cbd_set_error(err, err_len, "%s: too many images to hold in memory (%" PRId64 ")", src->path, in->count);
        return -1;
    }
    ds->count = in->count;
    ds->classes = in->classes;
    ds->height = in->height;
    ds->width = in->width;
    ds->digest = in->manifest_digest;
    ds->pixels = cbd_malloc((size_t)in->count * in->height * in->width * in->channels);
    if (cbd_image_store_read_all(r, ds->pixels, err, err_len) != 0) return -1;
    if (in->channels != ds->channels) ds->pixels = convert_pixels(ds->pixels, in, ds->channels);
    ds->labels = cbd_malloc((size_t)ds->count * sizeof *ds->labels);
    memcpy(ds->labels, cbd_image_store_labels(r), (size_t)ds->count * sizeof *ds->labels);
    if (cbd_image_store_image_path(r, 0)) {
        ds->paths = cbd_calloc((size_t)ds->count, sizeof *ds->paths);
        for (int64_t i = 0; i < ds->count; i++) ds->paths[i] = cbd_strdup(cbd_image_store_image_path(r, i));
    }
    char **stored = NULL;
    if (cbd_image_store_class_name(r, 0)) {
        stored = cbd_calloc((size_t)ds->classes, sizeof *stored);
        for (int c = 0; c < ds->classes; c++) stored[c] = (char *)cbd_image_store_class_name(r, c);
    }
    int rc = load_names(ds, src, stored, err, err_len);
    free(stored);
    return rc;
}

static int open_store(cbd_dataset *ds, const cbd_dataset_source *src, char *err, size_t err_len) {
    cbd_image_store_reader *r = cbd_image_store_open(src->path, err, err_len);
    if (!r) return -1;
    int rc = load_store(ds, src, r, err, err_len);
    cbd_image_store_close(r);
    return rc;
}

/* ---- the interface ------------------------------------------------------------------- */

cbd_dataset *cbd_dataset_open(const cbd_dataset_source *src, char *err, size_t err_len) {
    if (src->channels != 1 && src->channels != 3) {
        cbd_set_error(err, err_len, "%s: images can be read with 1 or 3 channels, not %d", src->path,
                  src->channels);
        return NULL;
    }
    cbd_dataset *ds = cbd_calloc(1, sizeof *ds);
    ds->path = cbd_strdup(src->path);
    ds->channels = src->channels;
    ds->resize = src->resize > 0 ? src->resize : 0;
    int rc = cbd_image_store_path(src->path) ? open_store(ds, src, err, err_len)
                                             : open_manifest(ds, src, err, err_len);
    if (rc != 0) {
        cbd_dataset_close(ds);
        return NULL;
    }
    return ds;
}

int64_t cbd_dataset_count(const cbd_dataset *ds) { return ds->count; }
int cbd_dataset_classes(const cbd_dataset *ds) { return ds->classes; }
const int32_t *cbd_dataset_labels(const cbd_dataset *ds) { return ds->labels; }
int cbd_dataset_channels(const cbd_dataset *ds) { return ds->channels; }
uint64_t cbd_dataset_digest(const cbd_dataset *ds) { return ds->digest; }

static uint64_t manifest_content_digest(const cbd_dataset *ds) {
    uint64_t h = cbd_fnv1a64_update(CBD_FNV1A64_INIT, &ds->digest, sizeof ds->digest);
    char file[PATH_MAX];
    for (int64_t i = 0; i < ds->count; i++) {
        struct stat st;
        int64_t facts[2] = {-1, -1}; /* size, seconds: missing */
        if (entry_file(ds, i, file, sizeof file) == 0 && stat(file, &st) == 0) {
            facts[0] = (int64_t)st.st_size;
            facts[1] = (int64_t)st.st_mtime;
        }
        h = cbd_fnv1a64_update(h, facts, sizeof facts);
    }
    return h;
}

uint64_t cbd_dataset_content_digest(const cbd_dataset *ds) {
    if (ds->content_digest) return ds->content_digest;
    uint64_t h;
    if (ds->pixels) {
        h = cbd_fnv1a64_update(CBD_FNV1A64_INIT, &ds->digest, sizeof ds->digest);
        h = cbd_fnv1a64_update(h, ds->pixels, (size_t)ds->count * ds->height * ds->width * ds->channels);
    } else {
        h = manifest_content_digest(ds);
    }
    if (!h) h = 1; /* 0 means "not computed yet" */
    ((cbd_dataset *)ds)->content_digest = h;
    return h;
}

uint64_t cbd_dataset_names_digest(const cbd_dataset *ds) {
    uint64_t h = CBD_FNV1A64_INIT;
    for (int c = 0; c < ds->classes; c++) h = cbd_fnv1a64_update(h, ds->names[c], strlen(ds->names[c]) + 1);
    return h;
}

const char *cbd_dataset_class_name(const cbd_dataset *ds, int c) {
    CBD_ASSERT(c >= 0 && c < ds->classes, "class %d of %d", c, ds->classes);
    return ds->names[c];
}

void cbd_dataset_describe_image(const cbd_dataset *ds, int64_t i, char *out, size_t out_len) {
    if (i < 0 || i >= ds->count) snprintf(out, out_len, "%s[%" PRId64 "] (no such image)", ds->path, i);
    else if (!ds->pixels && entry_file(ds, i, out, out_len) == 0) return;
    else if (ds->paths) snprintf(out, out_len, "%s[%" PRId64 "] (%s)", ds->path, i, ds->paths[i]);
    else snprintf(out, out_len, "%s[%" PRId64 "]", ds->path, i);
}

static int decode_entry(const cbd_dataset *ds, int64_t i, cbd_image *img, char *err, size_t err_len) {
    char file[PATH_MAX];
    if (entry_file(ds, i, file, sizeof file) != 0) {
        cbd_set_error(err, err_len, "%s:%d: image path too long", ds->path, ds->manifest.entries[i].line);
        return -1;
    }
    cbd_jpeg_decoder *d = cbd_jpeg_decoder_create(err, err_len);
    if (!d) return -1;
    char why[1024];
    int rc = cbd_jpeg_decode_file(d, file, ds->channels, ds->resize, img, why, sizeof why);
    cbd_jpeg_decoder_free(d);
    if (rc != 0) cbd_set_error(err, err_len, "%s (listed at %s:%d)", why, ds->path, ds->manifest.entries[i].line);
    return rc;
}

int cbd_dataset_image(const cbd_dataset *ds, int64_t i, cbd_image *img, char *err, size_t err_len) {
    if (i < 0 || i >= ds->count) {
        cbd_set_error(err, err_len, "%s: no image %" PRId64 " (%" PRId64 " images)", ds->path, i, ds->count);
        return -1;
    }
    if (!ds->pixels) return decode_entry(ds, i, img, err, err_len);
    const size_t bytes = (size_t)ds->height * ds->width * ds->channels;
    cbd_image_reserve(img, ds->width, ds->height, ds->channels);
    memcpy(img->pixels, ds->pixels + (size_t)i * bytes, bytes);
    return 0;
}
