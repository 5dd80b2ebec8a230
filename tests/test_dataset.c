/* Datasets over both sources: a manifest of JPEG files and a packed store
 * holding the same decoded images agree (labels, digest, pixels); channel
 * conversion both ways; resizing on decode; class names from a file or the
 * store; refusals (labels against classes, class counts, channels, a wrong
 * image root); a bad image under both policies; reads from several threads.
 * usage: test_dataset WORK_DIR (an empty folder) */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/dataset.h"
#include "store/image_store.h"
#include "store/jpeg.h"
#include "store/manifest.h"
#include "test_util.h"

enum { IMAGES = 6, CLASSES = 3, WIDTH = 24, HEIGHT = 20 };


static void path_in(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", test_dir, name); }

static void write_string(const char *name, const char *text) {
    char path[1024];
    path_in(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) exit(1);
}

static void make_picture(cbd_image *img, int seed) {
    cbd_image_reserve(img, WIDTH, HEIGHT, 3);
    for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++)
            for (int k = 0; k < 3; k++)
                cbd_image_row(img, y)[3 * x + k] = (uint8_t)(30 + 6 * x + 4 * y * (k + 1) + 20 * seed);
}

/* JPEG files img/aN.jpg, manifest data.txt, and data.h5 (3 channels) and
 * gray.h5 (1 channel) holding the decoded files. */
static void make_sources(void) {
    char err[1024], path[1024], rel[64], manifest[1024] = "# test images\n", line[96];
    cbd_image img = {0}, decoded = {0}, gray = {0};
    const char *const names[] = {"cat", "dog", "eel"};
    cbd_image_store_spec spec = {CLASSES, 3, HEIGHT, WIDTH, names, "data.txt"};
    cbd_image_store_spec gray_spec = {CLASSES, 1, HEIGHT, WIDTH, NULL, "data.txt"};
    path_in(path, sizeof path, "img");
    mkdir(path, 0755);
    path_in(path, sizeof path, "data.h5");
    cbd_image_store_writer *w = cbd_image_store_create(path, &spec, err, sizeof err);
    path_in(path, sizeof path, "gray.h5");
    cbd_image_store_writer *g = cbd_image_store_create(path, &gray_spec, err, sizeof err);
    cbd_jpeg_decoder *d = cbd_jpeg_decoder_create(err, sizeof err);
    if (!w || !g || !d) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    for (int i = 0; i < IMAGES; i++) {
        snprintf(rel, sizeof rel, "img/a%d.jpg", i);
        path_in(path, sizeof path, rel);
        make_picture(&img, i);
        CHECK(cbd_jpeg_encode_file(path, &img, 95, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_jpeg_decode_file(d, path, 3, 0, &decoded, err, sizeof err) == 0, "%s", err);
        cbd_image_convert(&decoded, &gray, 1);
        CHECK(cbd_image_store_append(w, &decoded, i % CLASSES, rel, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_image_store_append(g, &gray, i % CLASSES, rel, err, sizeof err) == 0, "%s", err);
        snprintf(line, sizeof line, "%s %d\r\n", rel, i % CLASSES);
        strcat(manifest, line);
    }
    CHECK(cbd_image_store_finish(w, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_image_store_finish(g, NULL, err, sizeof err) == 0, "%s", err);
    write_string("data.txt", manifest);
    write_string("names.txt", "Cat\nDog\nEel\n");
    cbd_jpeg_decoder_free(d);
    cbd_image_free(&img);
    cbd_image_free(&decoded);
    cbd_image_free(&gray);
}

static cbd_dataset *open_source(const char *name, int channels, int resize, int classes, const char *names,
                                cbd_bad_image_policy policy, char *err, size_t err_len) {
    char path[1024], names_path[1024];
    path_in(path, sizeof path, name);
    if (names) path_in(names_path, sizeof names_path, names);
    cbd_dataset_source src = {path, NULL, names ? names_path : NULL, channels, resize, classes, policy};
    return cbd_dataset_open(&src, err, err_len);
}

static cbd_dataset *must_open(const char *name, int channels, int resize, const char *names) {
    char err[1024];
    cbd_dataset *ds = open_source(name, channels, resize, 0, names, CBD_BAD_IMAGE_FAIL, err, sizeof err);
    if (!ds) {
        fprintf(stderr, "cannot open %s: %s\n", name, err);
        exit(1);
    }
    return ds;
}

static int max_difference(const cbd_image *a, const cbd_image *b) {
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) return 999;
    int worst = 0;
    for (size_t i = 0; i < (size_t)a->width * a->height * a->channels; i++) {
        int e = abs(a->pixels[i] - b->pixels[i]);
        if (e > worst) worst = e;
    }
    return worst;
}

static void test_sources_agree(void) {
    char err[1024];
    cbd_image a = {0}, b = {0};
    cbd_dataset *files = must_open("data.txt", 3, 0, NULL), *packed = must_open("data.h5", 3, 0, NULL);
    CHECK(cbd_dataset_count(files) == IMAGES && cbd_dataset_count(packed) == IMAGES, "counts");
    CHECK(cbd_dataset_classes(files) == CLASSES && cbd_dataset_classes(packed) == CLASSES, "classes");
    CHECK(cbd_dataset_channels(files) == 3 && cbd_dataset_channels(packed) == 3, "channels");
    CHECK(cbd_dataset_digest(files) == cbd_dataset_digest(packed), "digests differ");
    CHECK(memcmp(cbd_dataset_labels(files), cbd_dataset_labels(packed), IMAGES * sizeof(int32_t)) == 0,
          "labels");
    for (int i = 0; i < IMAGES; i++) {
        CHECK(cbd_dataset_image(files, i, &a, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_dataset_image(packed, i, &b, err, sizeof err) == 0, "%s", err);
        CHECK(max_difference(&a, &b) == 0, "image %d differs between the sources", i);
    }
    CHECK(strcmp(cbd_dataset_class_name(files, 2), "2") == 0, "default name '%s'",
          cbd_dataset_class_name(files, 2));
    CHECK(strcmp(cbd_dataset_class_name(packed, 1), "dog") == 0, "stored name '%s'",
          cbd_dataset_class_name(packed, 1));
    char where[1200], expected[1200];
    cbd_dataset_describe_image(files, 4, where, sizeof where);
    path_in(expected, sizeof expected, "img/a4.jpg");
    CHECK(strcmp(where, expected) == 0, "describe: '%s'", where);
    cbd_dataset_describe_image(packed, 4, where, sizeof where);
    CHECK(strstr(where, "data.h5[4] (img/a4.jpg)") != NULL, "describe: '%s'", where);
    CHECK(cbd_dataset_image(packed, IMAGES, &a, err, sizeof err) == -1, "image past the end");
    CHECK(cbd_dataset_image(files, -1, &a, err, sizeof err) == -1, "image -1");
    cbd_dataset_close(files);
    cbd_dataset_close(packed);
    cbd_image_free(&a);
    cbd_image_free(&b);
}

static void test_channels_and_size(void) {
    char err[1024];
    cbd_image a = {0}, b = {0}, c = {0};
    cbd_dataset *files = must_open("data.txt", 1, 0, "names.txt"),
                *packed = must_open("data.h5", 1, 0, "names.txt");
    cbd_dataset *gray = must_open("gray.h5", 3, 0, NULL), *packed3 = must_open("data.h5", 3, 0, NULL);
    cbd_dataset *resized = must_open("data.txt", 3, 10, NULL),
                *store_resize = must_open("data.h5", 3, 10, NULL);
    for (int i = 0; i < IMAGES; i++) {
        CHECK(cbd_dataset_image(files, i, &a, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_dataset_image(packed, i, &b, err, sizeof err) == 0, "%s", err);
        /* Gray decoding reads the stored luminance; converting recomputes it
         * from the decoded (rounded, clamped) RGB. */
        CHECK(a.channels == 1 && max_difference(&a, &b) <= 8, "gray %d: decoded vs converted differ by %d", i,
              max_difference(&a, &b));
        CHECK(cbd_dataset_image(gray, i, &c, err, sizeof err) == 0, "%s", err);
        int replicated = c.channels == 3;
        for (int p = 0; replicated && p < WIDTH * HEIGHT; p++)
            replicated = c.pixels[3 * p] == b.pixels[p] && c.pixels[3 * p + 1] == b.pixels[p] &&
                         c.pixels[3 * p + 2] == b.pixels[p];
        CHECK(replicated, "1 -> 3 channels did not replicate image %d", i);
    }
    CHECK(strcmp(cbd_dataset_class_name(files, 1), "Dog") == 0, "names file: '%s'",
          cbd_dataset_class_name(files, 1));
    CHECK(strcmp(cbd_dataset_class_name(packed, 1), "Dog") == 0, "names file over the store's: '%s'",
          cbd_dataset_class_name(packed, 1));
    CHECK(cbd_dataset_image(resized, 0, &a, err, sizeof err) == 0 && a.width == 12 && a.height == 10,
          "resize 10 of 24x20 gave %dx%d", a.width, a.height);
    CHECK(cbd_dataset_image(store_resize, 0, &a, err, sizeof err) == 0 && a.width == WIDTH &&
              a.height == HEIGHT,
          "a store keeps its size: %dx%d", a.width, a.height);
    CHECK(cbd_dataset_image(packed3, 0, &b, err, sizeof err) == 0 && max_difference(&a, &b) == 0,
          "resize is ignored for stores");
    cbd_dataset_close(files);
    cbd_dataset_close(packed);
    cbd_dataset_close(gray);
    cbd_dataset_close(packed3);
    cbd_dataset_close(resized);
    cbd_dataset_close(store_resize);
    cbd_image_free(&a);
    cbd_image_free(&b);
    cbd_image_free(&c);
}

static void expect_refused(const char *name, int channels, int classes, const char *names,
                           cbd_bad_image_policy policy, const char *expected) {
    char err[1024] = "";
    cbd_dataset *ds = open_source(name, channels, 0, classes, names, policy, err, sizeof err);
    CHECK(ds == NULL, "%s was opened", name);
    cbd_dataset_close(ds);
    CHECK(strstr(err, expected) != NULL, "message '%s' lacks '%s'", err, expected);
}

static void test_refusals(void) {
    expect_refused("data.txt", 3, 2, NULL, CBD_BAD_IMAGE_FAIL,
                   "data.txt:4: label 2 is out of range: 2 classes");
    expect_refused("data.h5", 3, 4, NULL, CBD_BAD_IMAGE_FAIL, "data.h5: the store has 3 classes, 4 expected");
    expect_refused("data.txt", 2, 0, NULL, CBD_BAD_IMAGE_FAIL, "1 or 3 channels, not 2");
    write_string("two_names.txt", "a\nb\n");
    expect_refused("data.txt", 3, 0, "two_names.txt", CBD_BAD_IMAGE_FAIL,
                   "2 class names, expected one per class (3)");
    expect_refused("data.h5", 3, 0, "two_names.txt", CBD_BAD_IMAGE_FAIL,
                   "2 class names, expected one per class (3)");
    expect_refused("missing.txt", 3, 0, NULL, CBD_BAD_IMAGE_FAIL, "missing.txt");
    expect_refused("missing.h5", 3, 0, NULL, CBD_BAD_IMAGE_FAIL, "missing.h5");
    write_string("elsewhere.txt", "a0.jpg 0\na1.jpg 1\n");
    expect_refused("elsewhere.txt", 3, 0, NULL, CBD_BAD_IMAGE_FAIL, "elsewhere.txt:1: image '");
    /* ... found with the right image root. */
    char path[1024], root[1024], err[1024];
    path_in(path, sizeof path, "elsewhere.txt");
    path_in(root, sizeof root, "img");
    cbd_dataset_source src = {path, root, NULL, 3, 0, 0, CBD_BAD_IMAGE_FAIL};
    cbd_dataset *ds = cbd_dataset_open(&src, err, sizeof err);
    cbd_image img = {0};
    CHECK(ds && cbd_dataset_image(ds, 1, &img, err, sizeof err) == 0, "with the image root: %s", err);
    cbd_dataset_close(ds);
    cbd_image_free(&img);
}

static void test_bad_image(void) {
    char err[1024] = "", path[1024];
    cbd_image img = {0};
    path_in(path, sizeof path, "img/broken.jpg");
    FILE *f = fopen(path, "wb");
    fputs("\xff\xd8\xff\xe0 this is not really a JPEG", f);
    fclose(f);
    write_string("bad.txt", "img/a0.jpg 0\nimg/broken.jpg 1\nimg/a2.jpg 2\n");
    write_string("bad_first.txt", "img/nothing.jpg 0\nimg/a1.jpg 1\n");
    for (int policy = CBD_BAD_IMAGE_FAIL; policy <= CBD_BAD_IMAGE_SKIP; policy++) {
        cbd_dataset *ds = open_source("bad.txt", 3, 0, 0, NULL, policy, err, sizeof err);
        CHECK(ds != NULL, "%s", err);
        if (!ds) continue;
        CHECK(cbd_dataset_image(ds, 1, &img, err, sizeof err) == -1, "broken image decoded");
        CHECK(strstr(err, path) == err, "message '%s' does not start with the file", err);
        CHECK(cbd_dataset_image(ds, 2, &img, err, sizeof err) == 0, "after a bad image: %s", err);
        cbd_dataset_close(ds);
    }
    expect_refused("bad_first.txt", 3, 0, NULL, CBD_BAD_IMAGE_FAIL, "bad_first.txt:1: image '");
    cbd_dataset *ds = open_source("bad_first.txt", 3, 0, 0, NULL, CBD_BAD_IMAGE_SKIP, err, sizeof err);
    CHECK(ds != NULL, "skip policy refused a missing first image: %s", err);
    CHECK(ds && cbd_dataset_image(ds, 0, &img, err, sizeof err) == -1 &&
              strstr(err, "nothing.jpg: cannot open"),
          "missing image: '%s'", err);
    CHECK(ds && cbd_dataset_image(ds, 1, &img, err, sizeof err) == 0, "%s", err);
    cbd_dataset_close(ds);
    cbd_image_free(&img);
}

/* Every thread decodes every image (in different orders); all agree with a
 * sequential pass. */
static void test_threads(void) {
    enum { ROUNDS = 8 };
    cbd_dataset *ds = must_open("data.txt", 3, 10, NULL);
    cbd_image reference[IMAGES] = {{0}};
    char err[1024];
    for (int i = 0; i < IMAGES; i++)
        CHECK(cbd_dataset_image(ds, i, &reference[i], err, sizeof err) == 0, "%s", err);
    int mismatches = 0;
#pragma omp parallel num_threads(4) reduction(+ : mismatches)
    {
        cbd_image img = {0};
        char thread_err[1024];
        for (int r = 0; r < ROUNDS; r++)
            for (int k = 0; k < IMAGES; k++) {
                int i = (k * 5 + r + omp_get_thread_num()) % IMAGES;
                if (cbd_dataset_image(ds, i, &img, thread_err, sizeof thread_err) != 0 ||
                    max_difference(&img, &reference[i]) != 0)
                    mismatches++;
            }
        cbd_image_free(&img);
    }
    CHECK(mismatches == 0, "%d reads from threads differed", mismatches);
    for (int i = 0; i < IMAGES; i++) cbd_image_free(&reference[i]);
    cbd_dataset_close(ds);
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    make_sources();
    test_sources_agree();
    test_channels_and_size();
    test_refusals();
    test_bad_image();
    test_threads();
    return test_finish("dataset");
}
