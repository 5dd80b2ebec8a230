/* The determinism contract of the feature store, end to end: the k-th time
 * the student draws image i it is shown view k mod S, and that view's pixels
 * equal, bit for bit, the pixels cbd-dump-features fed the teacher for row
 * (k mod S, i); the stored row is the teacher's feature of those pixels,
 * and it is the row the loader hands out beside those pixels (cbd_batch.rows,
 * read by the same producer), also when bad images are left out.
 * usage: test_view_contract INI TEACHER (after cbd-train-teacher and
 * cbd-dump-features ran on INI with a float32 store). */
#include <string.h>

#include "nn/threads.h"
#include "experiment/config.h"
#include "views/loader.h"
#include "views/sampler.h"
#include "stages/stage_common.h"
#include "store/checkpoint.h"
#include "store/feature_prefetch.h"
#include "store/feature_store.h"
#include "tests/test_util.h"

#define EPOCHS 12

/* The dataset's images, with every image i = 3 (mod 7) unreadable. */
static int read_some(const void *ctx, int64_t i, cbd_image *img, char *err, size_t err_len) {
    if (i % 7 == 3) {
        snprintf(err, err_len, "image %lld: made unreadable by the test", (long long)i);
        return -1;
    }
    return cbd_dataset_image(ctx, i, img, err, err_len);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_view_contract INI TEACHER\n");
        return 2;
    }
    static cbd_config cfg;
    char err[2048];
    if (cbd_config_load(&cfg, argv[1], NULL, 0, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cbd_threads_set(2);
    cbd_dataset *ds = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int64_t n = cbd_dataset_count(ds);
    const uint32_t views = (uint32_t)cfg.features.views;
    cbd_augment_config v;
    cbd_stage_store_views(&cfg, &v);
    const size_t pix = (size_t)v.out_channels * v.out_size * v.out_size;

    /* dump side: every image in order, one view at a time, as cbd-dump-features reads them */
    float *dumped = malloc((size_t)views * n * pix * sizeof(float));
    int64_t *order = malloc((size_t)n * sizeof *order);
    uint32_t *same = malloc((size_t)n * sizeof *same);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    cbd_loader_config dump_cfg = {.dataset = ds, .augment = &v, .batch_size = cfg.features.batch_size,
                                  .workers = 1, .seed = cfg.experiment.seed};
    cbd_loader *dump_loader = cbd_loader_create(&dump_cfg, err, sizeof err);
    CHECK(dump_loader != NULL, "%s", err);
    for (uint32_t s = 0; s < views && dump_loader; s++) {
        for (int64_t i = 0; i < n; i++) same[i] = s;
        cbd_loader_begin(dump_loader, order, same, n);
        const cbd_batch *b;
        while ((b = cbd_loader_next(dump_loader)) != NULL)
            for (int j = 0; j < b->count; j++)
                memcpy(dumped + ((size_t)s * n + b->indices[j]) * pix, b->images + (size_t)j * pix, pix * sizeof(float));
    }

    /* student side: class-balanced draws, view = k mod S from the draw counters */
    cbd_sampler sampler;
    CHECK(cbd_sampler_init(&sampler, CBD_SAMPLING_CLASS_BALANCED, cbd_dataset_labels(ds), n,
                           cbd_dataset_classes(ds), 99, err, sizeof err) == 0, "%s", err);
    const int64_t len = cbd_sampler_epoch_length(&sampler);
    int64_t *draws = malloc((size_t)len * sizeof *draws);
    uint32_t *draw_views = malloc((size_t)len * sizeof *draw_views);
    uint32_t *counters = calloc((size_t)n, sizeof *counters);
    cbd_loader_config student_cfg = dump_cfg;
    student_cfg.batch_size = 16;
    student_cfg.workers = 2;
    cbd_loader *student = cbd_loader_create(&student_cfg, err, sizeof err);

    /* the teacher and its store */
    char path[4300];
    snprintf(path, sizeof path, "%s/teachers/%s.ckpt.h5", cfg.experiment.output_dir, argv[2]);
    cbd_checkpoint_meta meta;
    CHECK(cbd_checkpoint_read_meta(path, &meta, err, sizeof err) == 0, "%s", err);
    cbd_model_config mc;
    cbd_checkpoint_meta_to_config(&meta, &mc);
    cbd_backend *be = test_cpu_backend();
    cbd_model model;
    CHECK(cbd_model_create(&model, be, &mc, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_checkpoint_load(path, &mc, &model.params, NULL, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/features/%s.h5", cfg.experiment.output_dir, argv[2]);
    cbd_feature_store_expect expect = {.n = n, .views = (int)views, .labels = cbd_dataset_labels(ds)};
    cbd_feature_store *fs = cbd_feature_store_open(path, &expect, 1 << 30, err, sizeof err);
    CHECK(fs != NULL, "%s", err);
    if (!fs || !student) return test_finish("view_contract");
    const int d = cbd_model_feature_dim(&model);
    float *rows = malloc((size_t)student_cfg.batch_size * d * sizeof(float));
    /* the student's loader reads the rows beside the pixels */
    cbd_loader_destroy(student);
    cbd_feature_prefetcher *prefetch = cbd_feature_prefetcher_create(&fs, 1, student_cfg.batch_size, 4, 0, err, sizeof err);
    CHECK(prefetch != NULL, "%s", err);
    student_cfg.rows = prefetch;
    student = cbd_loader_create(&student_cfg, err, sizeof err);
    int64_t row_mismatch = 0;

    int64_t pixel_mismatch = 0, repeats = 0, checked = 0;
    double worst = 0.0;
    for (int e = 0; e < EPOCHS; e++) {
        cbd_sampler_epoch(&sampler, e, draws);
        cbd_draw_counter_assign(counters, draws, len, views, draw_views);
        cbd_loader_begin(student, draws, draw_views, len);
        const cbd_batch *b;
        while ((b = cbd_loader_next(student)) != NULL) {
            for (int j = 0; j < b->count; j++) {
                const float *want = dumped + ((size_t)b->views[j] * n + b->indices[j]) * pix;
                pixel_mismatch += memcmp(want, b->images + (size_t)j * pix, pix * sizeof(float)) != 0;
                repeats += counters[b->indices[j]] > views;
            }
            cbd_tensor x = {b->images, b->count, v.out_channels, v.out_size, v.out_size};
            cbd_model_forward(&model, &x, 0);
            CHECK(cbd_feature_store_read(fs, b->indices, b->views, b->count, rows, NULL, err, sizeof err) == 0, "%s", err);
            row_mismatch += !b->rows || b->rows->count != b->count ||
                            memcmp(b->rows->features[0], rows, (size_t)b->count * d * sizeof(float)) != 0;
            const float *f = cbd_model_feature(&model);
            for (int k = 0; k < b->count * d; k++) {
                double rel = fabs((double)f[k] - rows[k]) / fmax(fabs((double)rows[k]), 1e-3);
                if (rel > worst) worst = rel;
            }
            checked += b->count;
        }
    }
    CHECK(pixel_mismatch == 0, "%lld of %lld student views differ from the dumped views", (long long)pixel_mismatch,
          (long long)checked);
    CHECK(repeats > 0, "no image was drawn more than S times: the k mod S wrap was not exercised");
    CHECK(row_mismatch == 0, "%lld batches carry other rows than the store's rows of their images", (long long)row_mismatch);

    /* bad images left out: the rows of the images kept, in their order */
    cbd_loader_destroy(student);
    student_cfg.dataset = NULL;
    student_cfg.source = (cbd_image_source){ds, n, cbd_dataset_labels(ds), read_some};
    student_cfg.on_bad_image = CBD_BAD_IMAGE_SKIP;
    student = cbd_loader_create_from_source(&student_cfg, err, sizeof err);
    int64_t kept = 0, skipped_mismatch = 0;
    cbd_sampler_epoch(&sampler, 0, draws);
    cbd_loader_begin(student, draws, draw_views, len);
    for (const cbd_batch *b; (b = cbd_loader_next(student)) != NULL;) {
        CHECK(cbd_feature_store_read(fs, b->indices, b->views, b->count, rows, NULL, err, sizeof err) == 0, "%s", err);
        skipped_mismatch += !b->rows || b->rows->count != b->count ||
                            memcmp(b->rows->features[0], rows, (size_t)b->count * d * sizeof(float)) != 0;
        for (int j = 0; j < b->count; j++) skipped_mismatch += b->indices[j] % 7 == 3;
        kept += b->count;
    }
    CHECK(kept > 0 && kept < len, "%lld of %lld draws kept", (long long)kept, (long long)len);
    CHECK(skipped_mismatch == 0, "with images left out, %lld batches carry rows of other images", (long long)skipped_mismatch);
    CHECK(worst < 1e-4, "stored features differ from the teacher's features of the student's views (rel %g)", worst);
    printf("  %lld student draws over %d epochs (%lld past the S = %u stored views): pixels identical, "
           "features within %.2g relative\n", (long long)checked, EPOCHS, (long long)repeats, views, worst);
    cbd_loader_destroy(student);
    student = NULL;
    cbd_feature_prefetcher_destroy(prefetch);
    cbd_feature_store_close(fs);
    free(rows);
    free(dumped);
    free(order);
    free(same);
    free(draws);
    free(draw_views);
    free(counters);
    cbd_loader_destroy(student);
    cbd_loader_destroy(dump_loader);
    cbd_sampler_free(&sampler);
    cbd_model_free(&model);
    cbd_backend_destroy(be);
    cbd_dataset_close(ds);
    return test_finish("view_contract");
}
