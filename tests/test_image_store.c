/* Packed image store: write and read back identical (pixels, labels, paths,
 * class names, digest), byte-identical files for the same content, the
 * .partial discipline, and refusals: not HDF5, missing, truncated, other
 * format or version, incomplete, shapes that disagree with the attributes,
 * labels out of range, a digest that does not match; fixed-length strings
 * read as well as variable-length ones.
 * usage: test_image_store WORK_DIR (an empty folder) */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/digest.h"
#include "store/image_store.h"
#include "store/manifest.h"
#include "test_util.h"



static int exists(const char *path) { return access(path, F_OK) == 0; }

typedef struct {
    int count, classes, width, height, channels;
} shape;

static uint8_t pixel_value(int i, size_t k) { return (uint8_t)(i * 37 + k * 11 + (k >> 8)); }

static void fill_image(cbd_image *img, const shape *s, int i) {
    cbd_image_reserve(img, s->width, s->height, s->channels);
    size_t n = (size_t)s->width * s->height * s->channels;
    for (size_t k = 0; k < n; k++) img->pixels[k] = pixel_value(i, k);
}

static int32_t label_of(const shape *s, int i) { return (int32_t)((i * 7) % s->classes); }

static void image_path(int i, char *out, size_t out_len) { snprintf(out, out_len, "class/%03d.jpg", i); }

static const char *const class_names[] = {"zero", "one", "two", "three", "four"};

/* Writes a store of s->count images; returns the digest it reports. */
static uint64_t write_store(const char *path, const shape *s, int with_names) {
    char err[1024], rel[64];
    cbd_image img = {0};
    cbd_image_store_spec spec = {
        s->classes, s->channels, s->height, s->width, with_names ? class_names : NULL, "test"};
    cbd_image_store_writer *w = cbd_image_store_create(path, &spec, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return 0;
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", path);
    for (int i = 0; i < s->count; i++) {
        fill_image(&img, s, i);
        image_path(i, rel, sizeof rel);
        CHECK(cbd_image_store_append(w, &img, label_of(s, i), rel, err, sizeof err) == 0, "%s", err);
    }
    CHECK(cbd_image_store_written(w) == s->count, "written %lld", (long long)cbd_image_store_written(w));
    CHECK(exists(partial) && !exists(path), "while writing: the partial file only");
    uint64_t digest = 0;
    CHECK(cbd_image_store_finish(w, &digest, err, sizeof err) == 0, "%s", err);
    CHECK(!exists(partial) && exists(path), "after finishing: the final file only");
    cbd_image_free(&img);
    return digest;
}

static void check_contents(const char *path, const shape *s, uint64_t digest, int with_names) {
    char err[1024], rel[64];
    cbd_image_store_reader *r = cbd_image_store_open(path, err, sizeof err);
    CHECK(r != NULL, "%s", err);
    if (!r) return;
    const cbd_image_store_info *info = cbd_image_store_get_info(r);
    CHECK(info->count == s->count && info->classes == s->classes && info->width == s->width &&
              info->height == s->height && info->channels == s->channels,
          "info %lld %d %dx%dx%d", (long long)info->count, info->classes, info->width, info->height,
          info->channels);
    CHECK(info->manifest_digest == digest, "digest differs from the writer's");
    uint64_t h = CBD_FNV1A64_INIT;
    cbd_image img = {0}, expected = {0};
    int labels_ok = 1, paths_ok = 1, images_ok = 1;
    for (int i = 0; i < s->count; i++) {
        image_path(i, rel, sizeof rel);
        h = cbd_manifest_digest_add(h, rel, label_of(s, i));
        labels_ok &= cbd_image_store_labels(r)[i] == label_of(s, i);
        paths_ok &= cbd_image_store_image_path(r, i) && strcmp(cbd_image_store_image_path(r, i), rel) == 0;
        fill_image(&expected, s, i);
        CHECK(cbd_image_store_read_image(r, i, &img, err, sizeof err) == 0, "%s", err);
        images_ok &= img.width == s->width && img.height == s->height && img.channels == s->channels &&
                     memcmp(img.pixels, expected.pixels, (size_t)s->width * s->height * s->channels) == 0;
    }
    CHECK(labels_ok && paths_ok && images_ok, "labels %d paths %d images %d", labels_ok, paths_ok, images_ok);
    CHECK(h == digest, "digest is not the manifest digest of (path, label)");
    size_t bytes = (size_t)s->width * s->height * s->channels;
    uint8_t *all = malloc(bytes * s->count);
    CHECK(cbd_image_store_read_all(r, all, err, sizeof err) == 0, "%s", err);
    int all_ok = 1;
    for (int i = 0; i < s->count; i++) {
        fill_image(&expected, s, i);
        all_ok &= memcmp(all + i * bytes, expected.pixels, bytes) == 0;
    }
    CHECK(all_ok, "read_all differs");
    CHECK(cbd_image_store_read_image(r, s->count, &img, err, sizeof err) == -1,
          "image past the end was read");
    if (with_names)
        CHECK(cbd_image_store_class_name(r, 2) && strcmp(cbd_image_store_class_name(r, 2), "two") == 0,
              "class name 2");
    else
        CHECK(cbd_image_store_class_name(r, 2) == NULL, "class names without /class_names");
    free(all);
    cbd_image_free(&img);
    cbd_image_free(&expected);
    cbd_image_store_close(r);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*len ? *len : 1);
    if (fread(data, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return data;
}

static void test_round_trip(void) {
    /* Small images share chunks; large ones take a chunk each (several flushes). */
    const shape small = {70, 5, 5, 4, 3}, large = {7, 3, 150, 100, 1};
    uint64_t d1 = write_store(test_path("small.h5"), &small, 1);
    check_contents(test_path("small.h5"), &small, d1, 1);
    uint64_t d2 = write_store(test_path("large.h5"), &large, 0);
    check_contents(test_path("large.h5"), &large, d2, 0);
    uint64_t d3 = write_store(test_path("small_again.h5"), &small, 1);
    size_t n1 = 0, n3 = 0;
    unsigned char *a = slurp(test_path("small.h5"), &n1), *b = slurp(test_path("small_again.h5"), &n3);
    CHECK(d1 == d3 && a && b && n1 == n3 && memcmp(a, b, n1) == 0, "the same content gave different bytes");
    free(a);
    free(b);
}

static void test_writer_refusals(void) {
    char err[1024];
    const shape s = {1, 3, 4, 4, 1};
    cbd_image img = {0}, wrong = {0};
    cbd_image_store_spec spec = {3, 1, 4, 4, NULL, NULL};
    cbd_image_store_writer *w = cbd_image_store_create(test_path("refuse.h5"), &spec, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    fill_image(&img, &s, 0);
    cbd_image_reserve(&wrong, 4, 5, 1);
    CHECK(cbd_image_store_append(w, &wrong, 0, "a.jpg", err, sizeof err) == -1, "wrong size appended");
    CHECK(strstr(err, "a.jpg is 4x5x1") != NULL, "message '%s'", err);
    CHECK(cbd_image_store_append(w, &img, 3, "b.jpg", err, sizeof err) == -1,
          "label 3 of 3 classes appended");
    CHECK(cbd_image_store_append(w, &img, 0, "c d.jpg", err, sizeof err) == -1, "path with a space appended");
    CHECK(cbd_image_store_finish(w, NULL, err, sizeof err) == -1, "a store without images was finished");
    CHECK(strstr(err, "no images") != NULL, "message '%s'", err);
    CHECK(!exists(test_path("refuse.h5")) && !exists(test_path("refuse.h5.partial")),
          "files left by a failed finish");

    w = cbd_image_store_create(test_path("aborted.h5"), &spec, err, sizeof err);
    CHECK(w && cbd_image_store_append(w, &img, 1, "x.jpg", err, sizeof err) == 0, "%s", err);
    cbd_image_store_abort(w);
    CHECK(!exists(test_path("aborted.h5")) && !exists(test_path("aborted.h5.partial")), "abort left files");

    spec.channels = 2;
    CHECK(cbd_image_store_create(test_path("two.h5"), &spec, err, sizeof err) == NULL, "2 channels accepted");
    spec.channels = 1;
    CHECK(cbd_image_store_create("/nonexistent-folder/s.h5", &spec, err, sizeof err) == NULL,
          "store created in a missing folder");
    CHECK(strstr(err, "/nonexistent-folder/s.h5") != NULL, "message '%s'", err);
    cbd_image_free(&img);
    cbd_image_free(&wrong);
}

/* ---- damaged files ------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to, size_t keep) {
    size_t len = 0;
    unsigned char *data = slurp(from, &len);
    FILE *f = fopen(to, "wb");
    if (!data || !f) exit(1);
    fwrite(data, 1, keep && keep < len ? keep : len, f);
    fclose(f);
    free(data);
}

static void expect_refused(const char *path, const char *expected) {
    char err[1024] = "";
    cbd_image_store_reader *r = cbd_image_store_open(path, err, sizeof err);
    CHECK(r == NULL, "%s was opened", path);
    cbd_image_store_close(r);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, expected) != NULL, "message '%s' lacks '%s'",
          err, expected);
}

static void set_int_attribute(const char *path, const char *name, int64_t value) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &value);
    H5Aclose(a);
    H5Sclose(space);
    H5Fclose(f);
}

static void set_string_attribute(const char *path, const char *name, const char *value) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, value);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(f);
}

static void write_first_label(const char *path, int32_t label) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT);
    hid_t space = H5Dget_space(d);
    hsize_t start = 0, count = 1;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &count, NULL);
    hid_t mem = H5Screate_simple(1, &count, NULL);
    H5Dwrite(d, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, &label);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
}

/* Replaces /class_names by fixed-length strings. */
static void make_names_fixed(const char *path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "class_names", H5P_DEFAULT);
    char fixed[5][6] = {"zero", "one", "two", "three", "four"};
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 6);
    hsize_t n = 5;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "class_names", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed);
    H5Dclose(d);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(f);
}

/* Claims more images than the file stores. */
static void grow_images(const char *path, hsize_t count) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "images", H5P_DEFAULT);
    hsize_t dims[4] = {count, 4, 5, 3};
    H5Dset_extent(d, dims);
    H5Dclose(d);
    H5Fclose(f);
}

static void test_reader_refusals(void) {
    char good[1024], err[1024];
    snprintf(good, sizeof good, "%s", test_path("small.h5"));
    expect_refused(test_path("absent.h5"), "cannot open");
    FILE *f = fopen(test_path("text.h5"), "w");
    fputs("not an HDF5 file at all\n", f);
    fclose(f);
    expect_refused(test_path("text.h5"), "not an HDF5 file");
    copy_file(good, test_path("truncated.h5"), 3000);
    expect_refused(test_path("truncated.h5"), "truncated or corrupt");

    copy_file(good, test_path("incomplete.h5"), 0);
    set_int_attribute(test_path("incomplete.h5"), "complete", 0);
    expect_refused(test_path("incomplete.h5"), "incomplete image store");
    copy_file(good, test_path("other.h5"), 0);
    set_string_attribute(test_path("other.h5"), "format", "cbd-checkpoint");
    expect_refused(test_path("other.h5"), "not a cbd image store (format is 'cbd-checkpoint'");
    copy_file(good, test_path("version.h5"), 0);
    set_int_attribute(test_path("version.h5"), "format_version", 2);
    expect_refused(test_path("version.h5"), "format version 2 is not supported");
    copy_file(good, test_path("height.h5"), 0);
    set_int_attribute(test_path("height.h5"), "height", 5);
    expect_refused(test_path("height.h5"),
                   "dataset 'images' has shape [70, 4, 5, 3], the store's attributes say [70, 5, 5, 3]");
    copy_file(good, test_path("grown.h5"), 0);
    grow_images(test_path("grown.h5"), 100000);
    expect_refused(test_path("grown.h5"), "100000 images of 4x5x3 need 6000000: truncated or corrupt");
    copy_file(good, test_path("label.h5"), 0);
    write_first_label(test_path("label.h5"), 9);
    expect_refused(test_path("label.h5"), "label 9 of image 0 is out of range (5 classes)");
    copy_file(good, test_path("relabel.h5"), 0);
    write_first_label(test_path("relabel.h5"), 1);
    expect_refused(test_path("relabel.h5"), "attribute 'manifest_digest' says");

    /* A checkpoint-like HDF5 file without our attributes. */
    hid_t file = H5Fcreate(test_path("bare.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(file);
    expect_refused(test_path("bare.h5"), "not a cbd image store (no 'format' attribute)");

    copy_file(good, test_path("fixed.h5"), 0);
    make_names_fixed(test_path("fixed.h5"));
    cbd_image_store_reader *r = cbd_image_store_open(test_path("fixed.h5"), err, sizeof err);
    CHECK(r != NULL, "fixed-length names: %s", err);
    if (r) CHECK(strcmp(cbd_image_store_class_name(r, 3), "three") == 0, "fixed name 3 '%s'",
                 cbd_image_store_class_name(r, 3));
    cbd_image_store_close(r);
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    CHECK(cbd_image_store_path("a/b.h5") && !cbd_image_store_path("a/b.txt") && !cbd_image_store_path("h5"),
          "store names");
    test_round_trip();
    test_writer_refusals();
    test_reader_refusals();
    return test_finish("image_store");
}
