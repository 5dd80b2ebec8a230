/* JPEG files and image operations: encode -> decode round trips (gray and
 * RGB) within JPEG tolerance, conversions between channel counts, resizing of
 * the shorter side (scaled decoding plus the exact resize), the resampling
 * and crop arithmetic, and corrupt, truncated, empty, missing and garbage
 * files refused with the file's name.
 * usage: test_jpeg WORK_DIR (an empty folder) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/image.h"
#include "store/jpeg.h"
#include "test_util.h"



/* A smooth test picture with some structure: gradients and a soft disc. */
static void make_picture(cbd_image *img, int width, int height, int channels) {
    cbd_image_reserve(img, width, height, channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            float dx = x - width * 0.5f, dy = y - height * 0.4f;
            float disc = dx * dx + dy * dy < width * height * 0.04f ? 60.0f : 0.0f;
            for (int k = 0; k < channels; k++) {
                float v = 40.0f + 120.0f * x / width + 50.0f * y / height * (k + 1) / 3.0f + disc;
                cbd_image_row(img, y)[x * channels + k] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
}

typedef struct {
    double mean, max;
} difference;

static difference compare(const cbd_image *a, const cbd_image *b) {
    difference d = {0.0, 0.0};
    size_t n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a->pixels[i] - b->pixels[i]);
        d.mean += e;
        if (e > d.max) d.max = e;
    }
    d.mean /= (double)n;
    return d;
}

static int same_shape(const cbd_image *img, int w, int h, int c) {
    return img->width == w && img->height == h && img->channels == c;
}

static void test_round_trip(cbd_jpeg_decoder *d) {
    char err[1024];
    cbd_image original = {0}, decoded = {0}, gray = {0}, converted = {0};
    for (int channels = 1; channels <= 3; channels += 2) {
        const char *file = test_path(channels == 1 ? "gray.jpg" : "rgb.jpg");
        make_picture(&original, 40, 30, channels);
        CHECK(cbd_jpeg_encode_file(file, &original, 95, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_jpeg_decode_file(d, file, channels, 0, &decoded, err, sizeof err) == 0, "%s", err);
        CHECK(same_shape(&decoded, 40, 30, channels), "decoded %dx%dx%d", decoded.width, decoded.height,
              decoded.channels);
        difference e = compare(&original, &decoded);
        CHECK(e.mean < 1.5 && e.max <= 16, "%d channels: mean error %.2f, max %.0f", channels, e.mean, e.max);
    }
    /* A colour file read as gray is its luminance; a gray file read as RGB
     * repeats the value. */
    make_picture(&original, 40, 30, 3);
    CHECK(cbd_jpeg_decode_file(d, test_path("rgb.jpg"), 1, 0, &gray, err, sizeof err) == 0, "%s", err);
    cbd_image_convert(&original, &converted, 1);
    difference e = compare(&converted, &gray);
    CHECK(same_shape(&gray, 40, 30, 1) && e.mean < 1.5 && e.max <= 16, "gray of RGB: mean %.2f max %.0f",
          e.mean, e.max);
    CHECK(cbd_jpeg_decode_file(d, test_path("gray.jpg"), 3, 0, &decoded, err, sizeof err) == 0, "%s", err);
    int replicated = same_shape(&decoded, 40, 30, 3);
    for (int i = 0; replicated && i < 40 * 30; i++)
        replicated = decoded.pixels[3 * i] == decoded.pixels[3 * i + 1] &&
                     decoded.pixels[3 * i] == decoded.pixels[3 * i + 2];
    CHECK(replicated, "gray JPEG decoded to RGB does not repeat the value");
    cbd_image_free(&original);
    cbd_image_free(&decoded);
    cbd_image_free(&gray);
    cbd_image_free(&converted);
}

static void test_resize_on_decode(cbd_jpeg_decoder *d) {
    char err[1024];
    cbd_image original = {0}, decoded = {0}, reference = {0}, flat = {0};
    make_picture(&original, 64, 48, 3);
    CHECK(cbd_jpeg_encode_file(test_path("wide.jpg"), &original, 95, err, sizeof err) == 0, "%s", err);
    const struct {
        int resize, w, h;
    } cases[] = {{24, 32, 24}, {10, 13, 10}, {48, 64, 48}, {96, 128, 96}, {7, 9, 7}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK(
            cbd_jpeg_decode_file(d, test_path("wide.jpg"), 3, cases[k].resize, &decoded, err, sizeof err) == 0,
            "%s", err);
        CHECK(same_shape(&decoded, cases[k].w, cases[k].h, 3), "resize %d gave %dx%d, expected %dx%d",
              cases[k].resize, decoded.width, decoded.height, cases[k].w, cases[k].h);
        /* Close to resizing the original directly. */
        cbd_image_resize(&original, &reference, cases[k].w, cases[k].h);
        difference e = compare(&reference, &decoded);
        CHECK(e.mean < 4.0, "resize %d: mean difference %.2f from a direct resize", cases[k].resize, e.mean);
    }
    /* Tall images resize their width. */
    make_picture(&original, 30, 50, 1);
    CHECK(cbd_jpeg_encode_file(test_path("tall.jpg"), &original, 90, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_jpeg_decode_file(d, test_path("tall.jpg"), 1, 12, &decoded, err, sizeof err) == 0, "%s", err);
    CHECK(same_shape(&decoded, 12, 20, 1), "tall: %dx%d", decoded.width, decoded.height);
    /* A flat image stays flat whatever the filter. */
    cbd_image_reserve(&flat, 50, 40, 3);
    memset(flat.pixels, 77, 50 * 40 * 3);
    CHECK(cbd_jpeg_encode_file(test_path("flat.jpg"), &flat, 90, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_jpeg_decode_file(d, test_path("flat.jpg"), 3, 5, &decoded, err, sizeof err) == 0, "%s", err);
    int flat_ok = same_shape(&decoded, 6, 5, 3);
    for (int i = 0; flat_ok && i < 6 * 5 * 3; i++) flat_ok = abs(decoded.pixels[i] - 77) <= 1;
    CHECK(flat_ok, "a flat image did not stay flat");
    cbd_image_free(&original);
    cbd_image_free(&decoded);
    cbd_image_free(&reference);
    cbd_image_free(&flat);
}

static void test_image_operations(void) {
    cbd_image src = {0}, dst = {0};
    /* Bilinear with aligned centres: [0, 255] -> [0, 64, 191, 255]. */
    cbd_image_reserve(&src, 2, 1, 1);
    src.pixels[0] = 0;
    src.pixels[1] = 255;
    cbd_image_resize(&src, &dst, 4, 1);
    CHECK(same_shape(&dst, 4, 1, 1) && dst.pixels[0] == 0 && dst.pixels[1] == 64 && dst.pixels[2] == 191 &&
              dst.pixels[3] == 255,
          "bilinear: %d %d %d %d", dst.pixels[0], dst.pixels[1], dst.pixels[2], dst.pixels[3]);
    /* Area averaging: an 8x8 checkerboard of 0/200 shrunk 4x is 100 throughout,
     * where sampling would alias. */
    cbd_image_reserve(&src, 8, 8, 1);
    for (int i = 0; i < 64; i++) src.pixels[i] = ((i / 8 + i % 8) % 2) ? 200 : 0;
    cbd_image_resize(&src, &dst, 2, 2);
    CHECK(dst.pixels[0] == 100 && dst.pixels[1] == 100 && dst.pixels[2] == 100 && dst.pixels[3] == 100,
          "area: %d %d %d %d", dst.pixels[0], dst.pixels[1], dst.pixels[2], dst.pixels[3]);
    /* Non-integer area factor (7 -> 2) keeps a flat image flat. */
    cbd_image_reserve(&src, 7, 7, 3);
    memset(src.pixels, 131, 7 * 7 * 3);
    cbd_image_resize(&src, &dst, 2, 3);
    int flat = same_shape(&dst, 2, 3, 3);
    for (int i = 0; flat && i < 18; i++) flat = dst.pixels[i] == 131;
    CHECK(flat, "fractional area resize changed a flat image");
    int w = 0, h = 0;
    cbd_image_resized_size(500, 375, 256, &w, &h);
    CHECK(w == 341 && h == 256, "500x375 -> %dx%d (torchvision: 341x256)", w, h);
    cbd_image_resized_size(375, 500, 256, &w, &h);
    CHECK(w == 256 && h == 341, "375x500 -> %dx%d", w, h);
    /* Centre crop: offsets rounded down. */
    cbd_image_reserve(&src, 5, 4, 1);
    for (int i = 0; i < 20; i++) src.pixels[i] = (uint8_t)i;
    CHECK(cbd_image_center_crop(&src, &dst, 2, 2) == 0, "crop refused");
    CHECK(dst.pixels[0] == 6 && dst.pixels[1] == 7 && dst.pixels[2] == 11 && dst.pixels[3] == 12,
          "crop: %d %d %d %d", dst.pixels[0], dst.pixels[1], dst.pixels[2], dst.pixels[3]);
    CHECK(cbd_image_center_crop(&src, &dst, 6, 2) == -1, "a crop larger than the image was accepted");
    /* Channel conversion. */
    cbd_image_reserve(&src, 3, 1, 3);
    const uint8_t rgb[9] = {255, 0, 0, 0, 255, 0, 10, 20, 30};
    memcpy(src.pixels, rgb, 9);
    cbd_image_convert(&src, &dst, 1);
    CHECK(same_shape(&dst, 3, 1, 1) && dst.pixels[0] == 76 && dst.pixels[1] == 150 && dst.pixels[2] == 18,
          "luminance: %d %d %d", dst.pixels[0], dst.pixels[1], dst.pixels[2]);
    cbd_image_convert(&dst, &src, 3);
    CHECK(same_shape(&src, 3, 1, 3) && src.pixels[3] == 150 && src.pixels[4] == 150 && src.pixels[5] == 150,
          "replicate: %d %d %d", src.pixels[3], src.pixels[4], src.pixels[5]);
    /* reserve keeps a large enough buffer. */
    size_t capacity = src.capacity;
    uint8_t *buffer = src.pixels;
    cbd_image_reserve(&src, 1, 1, 1);
    CHECK(src.pixels == buffer && src.capacity == capacity, "reserve reallocated a large enough buffer");
    cbd_image_free(&src);
    cbd_image_free(&dst);
    CHECK(src.pixels == NULL && src.capacity == 0, "free left a buffer");
}

static unsigned char *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(1 << 20);
    *len = f ? fread(data, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    return data;
}

static void write_bytes(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* Decoding `file` must fail with a message that names it. */
static void expect_refused(cbd_jpeg_decoder *d, const char *file, int resize, const char *what) {
    char err[1024] = "";
    cbd_image img = {0};
    CHECK(cbd_jpeg_decode_file(d, file, 3, resize, &img, err, sizeof err) == -1, "%s was decoded", what);
    CHECK(strncmp(err, file, strlen(file)) == 0, "%s: message '%s' does not start with the file", what, err);
    cbd_image_free(&img);
}

static void test_bad_files(cbd_jpeg_decoder *d) {
    char err[1024];
    cbd_image img = {0};
    size_t len = 0;
    make_picture(&img, 64, 64, 3);
    CHECK(cbd_jpeg_encode_file(test_path("good.jpg"), &img, 90, err, sizeof err) == 0, "%s", err);
    unsigned char *data = read_bytes(test_path("good.jpg"), &len);
    write_bytes(test_path("half.jpg"), data, len / 2);
    expect_refused(d, test_path("half.jpg"), 0, "a file cut in half");
    expect_refused(d, test_path("half.jpg"), 16, "a file cut in half (scaled)");
    write_bytes(test_path("no_end.jpg"), data, len - 2);
    expect_refused(d, test_path("no_end.jpg"), 0, "a file without its end marker");
    write_bytes(test_path("header_only.jpg"), data, 200);
    expect_refused(d, test_path("header_only.jpg"), 0, "a file cut after 200 bytes");
    for (size_t i = 0; i < len; i++)
        data[i] =
            (unsigned char)cbd_philox4x32_10((uint32_t[4]){(uint32_t)i, 0, 0, 0}, (uint32_t[2]){7, 7}).v[0];
    write_bytes(test_path("garbage.jpg"), data, len);
    expect_refused(d, test_path("garbage.jpg"), 0, "random bytes");
    data[0] = 0xFF;
    data[1] = 0xD8;
    write_bytes(test_path("garbage_soi.jpg"), data, len);
    expect_refused(d, test_path("garbage_soi.jpg"), 0, "a JPEG start marker followed by garbage");
    write_bytes(test_path("empty.jpg"), data, 0);
    expect_refused(d, test_path("empty.jpg"), 0, "an empty file");
    expect_refused(d, test_path("missing.jpg"), 0, "a missing file");
    expect_refused(d, test_dir, 0, "a folder");
    CHECK(cbd_jpeg_decode_memory(d, data, 0, "memory", 1, 0, &img, err, sizeof err) == -1,
          "empty memory decoded");
    CHECK(strstr(err, "memory") == err, "message '%s'", err);
    /* The decoder still works after failures. */
    CHECK(cbd_jpeg_decode_file(d, test_path("good.jpg"), 3, 0, &img, err, sizeof err) == 0,
          "after failures: %s", err);
    CHECK(cbd_jpeg_encode_file("/nonexistent-folder/x.jpg", &img, 90, err, sizeof err) == -1,
          "encoding into a missing folder succeeded");
    CHECK(strstr(err, "/nonexistent-folder/x.jpg") != NULL, "message '%s'", err);
    free(data);
    cbd_image_free(&img);
}

static void test_no_temporary_left(void) {
    DIR *d = opendir(test_dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL) found |= strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    CHECK(!found, "a temporary file was left in %s", test_dir);
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    char err[1024];
    cbd_jpeg_decoder *d = cbd_jpeg_decoder_create(err, sizeof err);
    if (!d) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_image_operations();
    test_round_trip(d);
    test_resize_on_decode(d);
    test_bad_files(d);
    test_no_temporary_left();
    cbd_jpeg_decoder_free(d);
    return test_finish("jpeg");
}
