/* The threaded loader over an in-memory image source: batches in the given
 * order with their labels, indices and views; pixels equal to
 * cbd_augment_view / cbd_augment_center called directly, bit for bit, with
 * 0, 1 and 3 workers; the short last batch; bad images under fail (an error
 * naming the file) and under skip (counted); restarting an epoch midway; the
 * same through a real dataset (a manifest of JPEG files, one corrupt); and
 * the loading throughput of 32x32 RGB views. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/clock.h"

#include "views/loader.h"
#include "views/sampler.h"
#include "store/jpeg.h"
#include "tests/test_util.h"

/* ---- an in-memory image source ---- */

typedef struct {
    int64_t n;
    cbd_image *images;
    int32_t *labels;
    const uint8_t *bad; /* [n] 1 = the read fails, or NULL */
} memory_source;

static int memory_read(const void *ctx, int64_t i, cbd_image *img, char *err, size_t err_len) {
    const memory_source *m = ctx;
    if (m->bad && m->bad[i]) {
        snprintf(err, err_len, "data/img_%05lld.jpg: not a JPEG file", (long long)i);
        return -1;
    }
    const cbd_image *src = &m->images[i];
    cbd_image_reserve(img, src->width, src->height, src->channels);
    memcpy(img->pixels, src->pixels, (size_t)src->width * src->height * src->channels);
    return 0;
}

static void memory_init(memory_source *m, int64_t n, int odd_sizes) {
    m->n = n;
    m->images = calloc((size_t)n, sizeof *m->images);
    m->labels = malloc((size_t)n * sizeof *m->labels);
    m->bad = NULL;
    for (int64_t i = 0; i < n; i++) {
        const int w = odd_sizes && i % 5 == 0 ? 36 : 32, h = odd_sizes && i % 7 == 0 ? 29 : 32;
        cbd_image_reserve(&m->images[i], w, h, 3);
        uint8_t *p = m->images[i].pixels;
        for (int e = 0; e < w * h * 3; e += 4) {
            const cbd_philox_block b = cbd_rng_block((uint64_t)i, CBD_RNG_STREAM_TEST, (uint64_t)e, 2);
            for (int k = 0; k < 4 && e + k < w * h * 3; k++) p[e + k] = (uint8_t)b.v[k];
        }
        m->labels[i] = (int32_t)(i % 7);
    }
}

static void memory_free(memory_source *m) {
    for (int64_t i = 0; i < m->n; i++) cbd_image_free(&m->images[i]);
    free(m->images);
    free(m->labels);
}

static cbd_image_source source_of(const memory_source *m) {
    cbd_image_source s = {m, m->n, m->labels, memory_read};
    return s;
}

static cbd_augment_config views_config(void) {
    cbd_augment_config c;
    memset(&c, 0, sizeof c);
    c.out_size = 32;
    c.out_channels = 3;
    c.crop = CBD_CROP_PAD_RANDOM;
    c.pad = 4;
    c.flip = 1;
    c.color = 1;
    c.brightness = c.contrast = c.saturation = 0.4f;
    c.hue = 0.1f;
    c.jitter_p = 0.8f;
    c.grayscale_p = 0.2f;
    c.noise_sigma = 0.01f;
    const float mean[3] = {0.49f, 0.48f, 0.45f}, std[3] = {0.25f, 0.24f, 0.26f};
    memcpy(c.mean, mean, sizeof mean);
    memcpy(c.std, std, sizeof std);
    return c;
}

#define SEED 4242

/* Runs one epoch and checks every batch against direct calls. Returns the
 * number of images delivered. */
static int64_t check_epoch(cbd_loader *l, const memory_source *m, const cbd_augment_config *aug, int center,
                           const int64_t *order, const uint32_t *views, int64_t count, int B, const char *what) {
    cbd_loader_begin(l, order, views, count);
    const size_t floats = 3 * 32 * 32;
    float *want = malloc(floats * sizeof *want);
    cbd_augment_scratch sc = {0};
    int64_t pos = 0, delivered = 0, expect_batch = 0;
    int order_bad = 0, pixel_bad = 0, size_bad = 0;
    const cbd_batch *b;
    while ((b = cbd_loader_next(l)) != NULL) {
        const int64_t full = count - expect_batch * B < B ? count - expect_batch * B : B;
        size_bad += b->number != expect_batch || b->count != full;
        for (int j = 0; j < b->count; j++, pos++) {
            const int64_t idx = order[pos];
            const uint32_t v = center || !views ? 0 : views[pos];
            order_bad += b->indices[j] != idx || b->labels[j] != m->labels[idx] || b->views[j] != v;
            if (center)
                cbd_augment_center(aug, &m->images[idx], want, &sc);
            else
                cbd_augment_view(aug, &m->images[idx], SEED, idx, v, want, &sc);
            pixel_bad += memcmp(want, b->images + (size_t)j * floats, floats * sizeof *want) != 0;
        }
        delivered += b->count;
        expect_batch++;
    }
    CHECK(!cbd_loader_error(l), "%s: error %s", what, cbd_loader_error(l));
    CHECK(delivered == count, "%s: %lld of %lld images delivered", what, (long long)delivered, (long long)count);
    CHECK(size_bad == 0, "%s: %d batches with the wrong number or size", what, size_bad);
    CHECK(order_bad == 0, "%s: %d images with the wrong index, label or view", what, order_bad);
    CHECK(pixel_bad == 0, "%s: %d images differ from cbd_augment_%s", what, pixel_bad, center ? "center" : "view");
    CHECK(cbd_loader_next(l) == NULL, "%s: a batch after the end", what);
    cbd_augment_scratch_free(&sc);
    free(want);
    return delivered;
}

/* A manifest of JPEG files in a fresh folder, image 5 corrupt; the loader over
 * the opened dataset against direct cbd_dataset_image + cbd_augment_view. */
#define JPEGS 12
static void check_real_dataset(const cbd_augment_config *aug) {
    char dir[] = "/tmp/cbd_test_loader_XXXXXX", path[256], err[512];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    snprintf(path, sizeof path, "%s/train.txt", dir);
    FILE *mf = fopen(path, "w");
    CHECK(mf != NULL, "cannot write %s", path);
    if (!mf) return;
    cbd_image img = {0};
    for (int i = 0; i < JPEGS; i++) {
        char file[256];
        snprintf(file, sizeof file, "%s/img_%02d.jpg", dir, i);
        if (i == 5) {
            FILE *f = fopen(file, "w");
            if (f) {
                fputs("this is not a JPEG file\n", f);
                fclose(f);
            }
        } else {
            cbd_image_reserve(&img, 34 + i, 30 + i, 3);
            for (int y = 0; y < img.height; y++)
                for (int x = 0; x < img.width; x++)
                    for (int c = 0; c < 3; c++) cbd_image_row(&img, y)[x * 3 + c] = (uint8_t)(4 * x + 3 * y + 60 * c + 9 * i);
            CHECK(cbd_jpeg_encode_file(file, &img, 90, err, sizeof err) == 0, "encode: %s", err);
        }
        fprintf(mf, "img_%02d.jpg %d\n", i, i % 4);
    }
    fclose(mf);
    cbd_image_free(&img);

    int64_t order[JPEGS];
    uint32_t views[JPEGS];
    for (int j = 0; j < JPEGS; j++) {
        order[j] = (j * 7) % JPEGS;
        views[j] = (uint32_t)(j % 3);
    }
    const int bad_pos = 11; /* order[11] = 77 % 12 = 5 */
    for (int policy = 0; policy < 2; policy++) {
        cbd_dataset_source src = {.path = path, .channels = 3, .classes = 4,
                                  .on_bad_image = policy ? CBD_BAD_IMAGE_SKIP : CBD_BAD_IMAGE_FAIL};
        cbd_dataset *ds = cbd_dataset_open(&src, err, sizeof err);
        CHECK(ds != NULL, "open %s: %s", path, err);
        if (!ds) continue;
        for (int workers = 0; workers <= 2; workers += 2) {
            cbd_loader_config lc = {.dataset = ds, .on_bad_image = src.on_bad_image, .augment = aug, .seed = SEED,
                                    .batch_size = 4, .workers = workers};
            cbd_loader *l = cbd_loader_create(&lc, err, sizeof err);
            CHECK(l != NULL, "create: %s", err);
            if (!l) continue;
            cbd_loader_begin(l, order, views, JPEGS);
            cbd_image direct = {0};
            cbd_augment_scratch sc = {0};
            float want[3 * 32 * 32];
            int64_t pos = 0, delivered = 0;
            int wrong = 0;
            const cbd_batch *b;
            while ((b = cbd_loader_next(l)) != NULL) {
                for (int j = 0; j < b->count; j++, pos++) {
                    if (pos == bad_pos) pos++;
                    const int64_t idx = order[pos];
                    wrong += b->indices[j] != idx || b->views[j] != views[pos] || b->labels[j] != idx % 4;
                    if (cbd_dataset_image(ds, idx, &direct, err, sizeof err) != 0) {
                        wrong++;
                        continue;
                    }
                    cbd_augment_view(aug, &direct, SEED, idx, views[pos], want, &sc);
                    wrong += memcmp(want, b->images + (size_t)j * 3 * 32 * 32, sizeof want) != 0;
                }
                delivered += b->count;
            }
            const char *e = cbd_loader_error(l);
            if (policy == 0) {
                CHECK(e && strstr(e, "img_05.jpg"), "real dataset, %d workers, fail: error %s", workers,
                      e ? e : "(none)");
                CHECK(delivered == 8, "real dataset, %d workers, fail: %lld images before the bad batch", workers,
                      (long long)delivered);
            } else {
                CHECK(!e, "real dataset, skip: error %s", e);
                CHECK(delivered == JPEGS - 1 && cbd_loader_skipped(l) == 1,
                      "real dataset, %d workers, skip: %lld delivered, %lld skipped", workers, (long long)delivered,
                      (long long)cbd_loader_skipped(l));
            }
            CHECK(wrong == 0, "real dataset, %d workers, policy %d: %d images wrong", workers, policy, wrong);
            cbd_image_free(&direct);
            cbd_augment_scratch_free(&sc);
            cbd_loader_destroy(l);
        }
        cbd_dataset_close(ds);
    }
    for (int i = 0; i < JPEGS; i++) {
        char file[256];
        snprintf(file, sizeof file, "%s/img_%02d.jpg", dir, i);
        unlink(file);
    }
    unlink(path);
    rmdir(dir);
}

int main(void) {
    char err[512];
    memory_source m;
    const int64_t N = 103;
    memory_init(&m, N, 1);
    const cbd_augment_config aug = views_config();
    const int B = 16; /* 103 = 6 x 16 + 7 */

    /* an instance-sampled order and draw-counter views */
    cbd_sampler sampler;
    CHECK(cbd_sampler_init(&sampler, CBD_SAMPLING_INSTANCE, m.labels, N, 7, 9, err, sizeof err) == 0, "%s", err);
    int64_t order[2][103];
    uint32_t views[2][103], counters[103] = {0};
    for (int e = 0; e < 2; e++) {
        cbd_sampler_epoch(&sampler, e, order[e]);
        cbd_draw_counter_assign(counters, order[e], N, 3, views[e]);
    }
    cbd_sampler_free(&sampler);

    const int workers[3] = {0, 1, 3};
    for (int wi = 0; wi < 3; wi++) {
        char what[64];
        cbd_loader_config lc = {.source = source_of(&m), .augment = &aug, .seed = SEED, .batch_size = B,
                                .workers = workers[wi]};
        cbd_loader *l = cbd_loader_create_from_source(&lc, err, sizeof err);
        CHECK(l != NULL, "create: %s", err);
        if (!l) continue;
        for (int e = 0; e < 2; e++) {
            snprintf(what, sizeof what, "%d workers, epoch %d", workers[wi], e);
            check_epoch(l, &m, &aug, 0, order[e], views[e], N, B, what);
        }
        /* views NULL: all view 0 */
        snprintf(what, sizeof what, "%d workers, no views", workers[wi]);
        check_epoch(l, &m, &aug, 0, order[0], NULL, N, B, what);
        /* restart midway: two batches of an epoch, then a new epoch */
        cbd_loader_begin(l, order[1], views[1], N);
        CHECK(cbd_loader_next(l) && cbd_loader_next(l), "%d workers: first batches", workers[wi]);
        snprintf(what, sizeof what, "%d workers, restarted", workers[wi]);
        check_epoch(l, &m, &aug, 0, order[0], views[0], N, B, what);
        /* an empty epoch and a one-image epoch */
        cbd_loader_begin(l, order[0], views[0], 0);
        CHECK(cbd_loader_next(l) == NULL && !cbd_loader_error(l), "%d workers: empty epoch", workers[wi]);
        snprintf(what, sizeof what, "%d workers, one image", workers[wi]);
        check_epoch(l, &m, &aug, 0, order[0] + 5, views[0] + 5, 1, B, what);
        /* repeated images in one epoch (class-balanced draws) */
        int64_t rep[40];
        uint32_t rv[40];
        for (int j = 0; j < 40; j++) {
            rep[j] = j % 3;
            rv[j] = (uint32_t)(j / 3);
        }
        snprintf(what, sizeof what, "%d workers, repeated images", workers[wi]);
        check_epoch(l, &m, &aug, 0, rep, rv, 40, B, what);
        cbd_loader_stats st;
        cbd_loader_get_stats(l, &st);
        /* four full epochs, one image, 40 repeats, and the two batches before the restart (workers
         * may have made more of that epoch ahead) */
        const int64_t loaded = 4 * N + 1 + 40 + 2 * B;
        CHECK(workers[wi] ? st.images >= loaded : st.images == loaded, "%d workers: %lld images loaded, want %lld",
              workers[wi], (long long)st.images, (long long)loaded);
        CHECK(st.batches == 4 * 7 + 2 + 1 + 3, "%d workers: %lld batches", workers[wi], (long long)st.batches);
        CHECK(st.skipped == 0 && cbd_loader_skipped(l) == 0, "skipped %lld", (long long)st.skipped);
        cbd_loader_destroy(l);

        /* centre views */
        lc.center = 1;
        lc.batch_size = 10;
        l = cbd_loader_create_from_source(&lc, err, sizeof err);
        CHECK(l != NULL, "create: %s", err);
        if (!l) continue;
        snprintf(what, sizeof what, "%d workers, centre views", workers[wi]);
        check_epoch(l, &m, &aug, 1, order[0], views[0], N, 10, what);
        cbd_loader_destroy(l);
    }

    /* ---- bad images ---- */
    uint8_t bad[103] = {0};
    int64_t ident[103];
    for (int64_t i = 0; i < N; i++) ident[i] = i;
    bad[37] = 1; /* batch 2 */
    bad[90] = 1; /* batch 5 */
    m.bad = bad;
    for (int wi = 0; wi < 3; wi++) {
        cbd_loader_config lc = {.source = source_of(&m), .augment = &aug, .seed = SEED, .batch_size = B,
                                .workers = workers[wi], .on_bad_image = CBD_BAD_IMAGE_FAIL};
        cbd_loader *l = cbd_loader_create_from_source(&lc, err, sizeof err);
        if (!l) continue;
        cbd_loader_begin(l, ident, NULL, N);
        int batches = 0;
        while (cbd_loader_next(l)) batches++;
        CHECK(batches == 2, "%d workers, fail: %d batches before the bad image, want 2", workers[wi], batches);
        const char *e = cbd_loader_error(l);
        CHECK(e && strstr(e, "img_00037.jpg"), "%d workers, fail: error %s", workers[wi], e ? e : "(none)");
        CHECK(cbd_loader_next(l) == NULL, "%d workers: a batch after the error", workers[wi]);
        /* the next epoch starts clean */
        cbd_loader_begin(l, ident, NULL, 30);
        int64_t got = 0;
        const cbd_batch *b;
        while ((b = cbd_loader_next(l)) != NULL) got += b->count;
        CHECK(got == 30 && !cbd_loader_error(l), "%d workers: after an error, %lld of 30 images", workers[wi],
              (long long)got);
        cbd_loader_destroy(l);

        lc.on_bad_image = CBD_BAD_IMAGE_SKIP;
        l = cbd_loader_create_from_source(&lc, err, sizeof err);
        if (!l) continue;
        cbd_loader_begin(l, ident, NULL, N);
        int64_t delivered = 0, wrong = 0;
        int short_batches = 0;
        while ((b = cbd_loader_next(l)) != NULL) {
            delivered += b->count;
            if (b->skipped) {
                short_batches++;
                wrong += b->count != (b->number == 6 ? 7 : B) - 1;
                wrong += !(b->number == 2 || b->number == 5);
            }
            for (int j = 0; j < b->count; j++) wrong += b->indices[j] == 37 || b->indices[j] == 90;
            /* the images after the skipped one keep their own pixels */
            cbd_augment_scratch sc = {0};
            float want[3 * 32 * 32];
            for (int j = 0; j < b->count; j++) {
                cbd_augment_view(&aug, &m.images[b->indices[j]], SEED, b->indices[j], 0, want, &sc);
                wrong += memcmp(want, b->images + (size_t)j * 3 * 32 * 32, sizeof want) != 0;
            }
            cbd_augment_scratch_free(&sc);
        }
        CHECK(!cbd_loader_error(l), "skip: error %s", cbd_loader_error(l));
        CHECK(delivered == N - 2 && short_batches == 2 && wrong == 0,
              "%d workers, skip: %lld delivered, %d short batches, %lld wrong", workers[wi], (long long)delivered,
              short_batches, (long long)wrong);
        CHECK(cbd_loader_skipped(l) == 2, "%d workers: %lld skipped, want 2", workers[wi], (long long)cbd_loader_skipped(l));
        /* a batch of nothing but bad images is passed over */
        int64_t all_bad[12] = {0, 1, 2, 3, 37, 37, 90, 37, 4, 5, 6, 7};
        cbd_loader_config lc4 = lc;
        lc4.batch_size = 4;
        cbd_loader *l4 = cbd_loader_create_from_source(&lc4, err, sizeof err);
        cbd_loader_begin(l4, all_bad, NULL, 12);
        const cbd_batch *b0 = cbd_loader_next(l4);
        CHECK(b0 && b0->number == 0 && b0->count == 4, "all-bad batch: first batch");
        const cbd_batch *b2 = cbd_loader_next(l4);
        CHECK(b2 && b2->number == 2 && b2->count == 4 && b2->indices[0] == 4, "all-bad batch not passed over");
        CHECK(cbd_loader_next(l4) == NULL && cbd_loader_skipped(l4) == 4, "all-bad batch: %lld skipped",
              (long long)cbd_loader_skipped(l4));
        cbd_loader_destroy(l4);
        cbd_loader_destroy(l);
    }
    m.bad = NULL;

    /* ---- configuration errors ---- */
    {
        cbd_loader_config lc = {.source = source_of(&m), .augment = &aug, .batch_size = 0};
        CHECK(cbd_loader_create_from_source(&lc, err, sizeof err) == NULL && strstr(err, "batch"), "batch 0: %s", err);
        cbd_augment_config broken = aug;
        broken.std[2] = -1.0f;
        lc.batch_size = 4;
        lc.augment = &broken;
        CHECK(cbd_loader_create_from_source(&lc, err, sizeof err) == NULL && strstr(err, "std"), "std -1: %s", err);
        lc.augment = &aug;
        lc.prefetch = 1;
        CHECK(cbd_loader_create_from_source(&lc, err, sizeof err) == NULL, "prefetch 1 accepted");
    }
    memory_free(&m);

    check_real_dataset(&aug);

    /* ---- throughput: 32x32 RGB from memory, the standard views ---- */
    {
        memory_source big;
        const int64_t n = 20000;
        memory_init(&big, n, 0);
        cbd_augment_config std_views = aug;
        std_views.color = 0;
        int64_t *ord = malloc((size_t)n * sizeof *ord);
        for (int64_t i = 0; i < n; i++) ord[i] = (i * 7919) % n;
        for (int wi = 0; wi < 3; wi++) {
            for (int color = 0; color < 2; color++) {
                cbd_loader_config lc = {.source = source_of(&big), .augment = color ? &aug : &std_views, .seed = 1,
                                        .batch_size = 256, .workers = wi};
                cbd_loader *l = cbd_loader_create_from_source(&lc, err, sizeof err);
                if (!l) continue;
                const int64_t count = color ? n / 5 : n;
                cbd_loader_begin(l, ord, NULL, count);
                const double t0 = cbd_now();
                int64_t got = 0;
                const cbd_batch *b;
                while ((b = cbd_loader_next(l)) != NULL) got += b->count;
                const double dt = cbd_now() - t0;
                cbd_loader_stats st;
                cbd_loader_get_stats(l, &st);
                printf("throughput: %d workers, %s views: %.0f images/s (consumer waited %.3f s, read %.3f s, "
                       "augment %.3f s)\n",
                       wi, color ? "colour" : "standard", got / dt, st.wait_s, st.read_s, st.augment_s);
                CHECK(got == count, "throughput run delivered %lld of %lld", (long long)got, (long long)count);
                cbd_loader_destroy(l);
            }
        }
        free(ord);
        memory_free(&big);
    }
    return test_finish("loader");
}
