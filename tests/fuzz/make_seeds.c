/* Writes the binary seeds of the fuzz corpora with the project's own writers,
 * so that they are exactly what the stages produce:
 *
 *   CORPUS/fuzz_checkpoint/small.ckpt.h5     small_table.h, seeded values
 *   CORPUS/fuzz_feature_store/f32_logits.h5  n 5, d 3, C 2, S 2, float32, logits
 *   CORPUS/fuzz_feature_store/f16.h5         n 4, d 2, C 3, S 1, float16, no logits
 *   CORPUS/fuzz_jpeg/NAME.jpg                gray 8x8, RGB 12x20, RGB 33x9, each
 *                                            behind the harness's selector byte
 *
 * usage: fuzz_make_seeds CORPUS_DIR (the folders must exist) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/checkpoint.h"
#include "store/feature_store.h"
#include "store/fsutil.h"
#include "store/jpeg.h"
#include "tests/fuzz/small_table.h"

static void die(const char *what, const char *err) {
    fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, err);
    exit(1);
}

static void checkpoint_seed(const char *dir) {
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/fuzz_checkpoint/small.ckpt.h5", dir);
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) die("cpu backend", err);
    cbd_params p;
    fuzz_small_table(&p, be);
    cbd_params_initialize(&p, 7);
    cbd_model_config cfg;
    fuzz_small_model_config(&cfg);
    cbd_checkpoint_meta meta;
    cbd_checkpoint_meta_init(&meta, &cfg);
    meta.epoch = 2;
    meta.step = 10;
    meta.seed = 7;
    if (cbd_checkpoint_save(path, &p, &meta, err, sizeof err) != 0) die(path, err);
    cbd_params_free(&p);
    cbd_backend_destroy(be);
}

static void feature_store_seed(const char *dir, const char *name, int64_t n, int d, int classes, int views,
                               cbd_store_dtype dtype, int has_logits) {
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/fuzz_feature_store/%s", dir, name);
    cbd_feature_store_spec spec = {.n = n, .d = d, .classes = classes, .views = views, .dtype = dtype,
                                   .has_logits = has_logits, .manifest_digest = 0x1234, .experiment_seed = 7};
    snprintf(spec.teacher, sizeof spec.teacher, "t1");
    snprintf(spec.augmentation, sizeof spec.augmentation, "pad_random 4, flip");
    int32_t labels[16];
    for (int64_t i = 0; i < n; i++) labels[i] = (int32_t)(i % classes);
    int resumed = 0;
    cbd_feature_writer *w = cbd_feature_writer_open(path, &spec, labels, &resumed, err, sizeof err);
    if (!w) die(path, err);
    float features[16 * 8], logits[16 * 8];
    for (int v = -1; v < views; v++) {
        for (int64_t i = 0; i < n * d; i++) features[i] = (float)(v + 2) * 0.25f * (float)(i % 7) - 0.5f;
        for (int64_t i = 0; i < n * classes; i++) logits[i] = (float)(i % 5) - 2.0f;
        if (cbd_feature_writer_write(w, v, 0, n, features, has_logits ? logits : NULL, err, sizeof err) != 0 ||
            cbd_feature_writer_mark_done(w, v, err, sizeof err) != 0)
            die(path, err);
    }
    if (cbd_feature_writer_finish(w, err, sizeof err) != 0) die(path, err);
}

/* A small picture (gradients, so the encoder has something to code), then
 * the selector byte and the file. */
static void jpeg_seed(const char *dir, const char *name, uint8_t selector, int width, int height, int channels) {
    char path[4096], tmp[4096], err[1024];
    snprintf(path, sizeof path, "%s/fuzz_jpeg/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.plain", path);
    cbd_image img = {0};
    cbd_image_reserve(&img, width, height, channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width * channels; x++) cbd_image_row(&img, y)[x] = (uint8_t)(x * 13 + y * 29);
    if (cbd_jpeg_encode_file(tmp, &img, 85, err, sizeof err) != 0) die(tmp, err);
    cbd_image_free(&img);
    size_t len = 0;
    char *bytes = cbd_read_file(tmp, &len, err, sizeof err);
    if (!bytes) die(tmp, err);
    remove(tmp);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(selector, f) == EOF || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) die(path, "cannot write");
    free(bytes);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
        return 2;
    }
    checkpoint_seed(argv[1]);
    feature_store_seed(argv[1], "f32_logits.h5", 5, 3, 2, 2, CBD_STORE_FLOAT32, 1);
    feature_store_seed(argv[1], "f16.h5", 4, 2, 3, 1, CBD_STORE_FLOAT16, 0);
    jpeg_seed(argv[1], "gray_8x8.jpg", 0x00, 8, 8, 1);      /* gray, full size */
    jpeg_seed(argv[1], "rgb_12x20.jpg", 0x03, 12, 20, 3);   /* RGB, resize 28 (grows) */
    jpeg_seed(argv[1], "rgb_33x9.jpg", 0x07, 33, 9, 3);     /* RGB, resize 7 (shrinks, exact resize) */
    return 0;
}
