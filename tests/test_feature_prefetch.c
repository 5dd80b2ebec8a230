/* Background feature reader: batches arrive in order with the rows a direct
 * read gives, for stores in memory and on disk, with one and three stores,
 * a short last batch, a sequence restarted midway and a read error; then the
 * rows per second the reader sustains on a float16 store read from disk in
 * random (image, view) order, and from memory (printed, not asserted).
 * usage: test_feature_prefetch WORK_DIR (an empty folder) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/clock.h"
#include "nn/log.h"
#include "nn/rng.h"
#include "store/feature_prefetch.h"
#include "store/feature_store.h"
#include "test_util.h"



/* A cheap deterministic value for column k of row i of view v. */
static float value_of(int store, int logits, int64_t v, int64_t i, int k) {
    uint64_t h = (uint64_t)(((store * 2 + logits) * 70001 + v) * 1000003 + i) * 0x9e3779b97f4a7c15ull + (uint64_t)k;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (float)(int32_t)(h & 0xffff) / 4096.0f - 8.0f;
}

static int write_store(const char *path, int store, int64_t n, int d, int classes, int views, cbd_store_dtype dtype,
                       int has_logits) {
    cbd_feature_store_spec s;
    memset(&s, 0, sizeof s);
    s.n = n, s.d = d, s.classes = classes, s.views = views, s.dtype = dtype, s.has_logits = has_logits;
    s.manifest_digest = 42;
    snprintf(s.teacher, sizeof s.teacher, "t%d", store);
    int32_t *labels = cbd_malloc((size_t)n * sizeof *labels);
    for (int64_t i = 0; i < n; i++) labels[i] = (int32_t)(i % classes);
    char err[1024];
    int resumed;
    cbd_feature_writer *w = cbd_feature_writer_open(path, &s, labels, &resumed, err, sizeof err);
    free(labels);
    CHECK(w != NULL, "%s", err);
    if (!w) return -1;
    enum { BATCH = 1024 };
    float *f = cbd_malloc((size_t)BATCH * d * sizeof *f), *l = cbd_malloc((size_t)BATCH * classes * sizeof *l);
    int rc = 0;
    for (int view = CBD_FEATURE_WRITER_CENTER; view < views && rc == 0; view++) {
        const int64_t v = view < 0 ? views : view;
        for (int64_t first = 0; first < n && rc == 0; first += BATCH) {
            const int64_t rows = first + BATCH > n ? n - first : BATCH;
            for (int64_t r = 0; r < rows; r++) {
                for (int k = 0; k < d; k++) f[r * d + k] = value_of(store, 0, v, first + r, k);
                for (int k = 0; has_logits && k < classes; k++) l[r * classes + k] = value_of(store, 1, v, first + r, k);
            }
            rc = cbd_feature_writer_write(w, view, first, rows, f, has_logits ? l : NULL, err, sizeof err);
        }
        if (rc == 0) rc = cbd_feature_writer_mark_done(w, view, err, sizeof err);
    }
    if (rc == 0) rc = cbd_feature_writer_finish(w, err, sizeof err);
    else cbd_feature_writer_close(w);
    CHECK(rc == 0, "%s", err);
    free(f);
    free(l);
    return rc;
}

/* A random sequence of (image, view) rows, the center one time in eight. */
static void make_sequence(int64_t n, int views, int64_t count, uint64_t seed, int64_t *images, uint32_t *view_ids) {
    for (int64_t j = 0; j < count; j++) {
        const cbd_philox_block r = cbd_rng_block(seed, CBD_RNG_STREAM_TEST, (uint64_t)j, 3);
        images[j] = (int64_t)(r.v[0] % (uint32_t)n);
        view_ids[j] = r.v[1] % 8 == 0 ? CBD_FEATURE_CENTER : r.v[2] % (uint32_t)views;
    }
}

enum { N = 500, VIEWS = 3, K_MAX = 3 };

static const char *store_names[K_MAX] = {"a.h5", "b.h5", "c.h5"};

/* Runs a whole sequence through a prefetcher over `stores` and compares each
 * batch with direct reads through `direct` (other handles of the same files).
 * Stops after `stop_after` batches (-1: all). */
static int64_t run_sequence(cbd_feature_prefetcher *p, cbd_feature_store **direct, int k, int batch_size,
                            int with_logits, const int64_t *images, const uint32_t *views, int64_t count,
                            int64_t stop_after, const char *what) {
    char err[1024];
    float *f = cbd_malloc((size_t)batch_size * 64 * sizeof *f), *l = cbd_malloc((size_t)batch_size * 64 * sizeof *l);
    int64_t expected_batches = (count + batch_size - 1) / batch_size, got = 0, bad = 0;
    cbd_feature_prefetcher_begin(p, images, views, count);
    const cbd_feature_batch *b;
    while ((stop_after < 0 || got < stop_after) && (b = cbd_feature_prefetcher_next(p)) != NULL) {
        const int64_t first = got * batch_size;
        const int want_count = (int)(first + batch_size > count ? count - first : batch_size);
        if (b->number != got || b->first != first || b->count != want_count) {
            bad++;
            fprintf(stderr, "  %s: batch %lld: number %lld first %lld count %d, expected count %d\n", what,
                    (long long)got, (long long)b->number, (long long)b->first, b->count, want_count);
            break;
        }
        for (int t = 0; t < k; t++) {
            const cbd_feature_store_spec *s = cbd_feature_store_spec_of(direct[t]);
            CHECK(cbd_feature_store_read(direct[t], images + first, views + first, b->count, f, with_logits ? l : NULL,
                                         err, sizeof err) == 0,
                  "%s", err);
            if (memcmp(f, b->features[t], (size_t)b->count * s->d * sizeof *f) != 0) bad++;
            if (with_logits && memcmp(l, b->logits[t], (size_t)b->count * s->classes * sizeof *l) != 0) bad++;
            if (!with_logits && b->logits) bad++;
        }
        got++;
    }
    if (stop_after < 0) {
        CHECK(got == expected_batches, "%s: %lld batches, expected %lld (%s)", what, (long long)got,
              (long long)expected_batches, cbd_feature_prefetcher_error(p) ? cbd_feature_prefetcher_error(p) : "");
        CHECK(cbd_feature_prefetcher_next(p) == NULL, "%s: a batch after the end", what);
    }
    CHECK(bad == 0, "%s: %lld batches differ from direct reads", what, (long long)bad);
    free(f);
    free(l);
    return got;
}

static void test_order(int in_memory, int k, int depth) {
    char err[1024], what[96];
    snprintf(what, sizeof what, "%s, K = %d, depth %d", in_memory ? "in memory" : "on disk", k, depth);
    cbd_feature_store *stores[K_MAX] = {0}, *direct[K_MAX] = {0};
    const int64_t cap = in_memory ? INT64_MAX : 0;
    for (int t = 0; t < k; t++) {
        stores[t] = cbd_feature_store_open(test_path(store_names[t]), NULL, cap, err, sizeof err);
        direct[t] = cbd_feature_store_open(test_path(store_names[t]), NULL, cap, err, sizeof err);
        CHECK(stores[t] && direct[t], "%s", err);
        if (!stores[t] || !direct[t]) goto done;
        CHECK(cbd_feature_store_in_memory(stores[t]) == in_memory, "%s: wrong read path", what);
    }
    const int with_logits = k == 1 ? 1 : 0, batch = 64;
    cbd_feature_prefetcher *p = cbd_feature_prefetcher_create(stores, k, batch, depth, with_logits, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (!p) goto done;
    enum { COUNT = 1234 }; /* 19 full batches and one of 18 rows */
    int64_t images[COUNT];
    uint32_t views[COUNT];
    make_sequence(N, VIEWS, COUNT, 1, images, views);
    run_sequence(p, direct, k, batch, with_logits, images, views, COUNT, -1, what);
    /* Restarted midway: the rest of the first sequence is dropped. */
    make_sequence(N, VIEWS, COUNT, 2, images, views);
    run_sequence(p, direct, k, batch, with_logits, images, views, COUNT, 5, what);
    make_sequence(N, VIEWS, COUNT, 3, images, views);
    run_sequence(p, direct, k, batch, with_logits, images, views, 200, -1, what);
    /* An empty sequence. */
    cbd_feature_prefetcher_begin(p, images, views, 0);
    CHECK(cbd_feature_prefetcher_next(p) == NULL, "%s: a batch from an empty sequence", what);
    /* A bad row in batch 3: three batches, then the error. */
    images[3 * batch + 5] = N + 7;
    cbd_feature_prefetcher_begin(p, images, views, COUNT);
    int got = 0;
    while (cbd_feature_prefetcher_next(p)) got++;
    const char *e = cbd_feature_prefetcher_error(p);
    CHECK(got == 3 && e && strstr(e, "no image 507"), "%s: %d batches before the error, error '%s'", what, got,
          e ? e : "(none)");
    images[3 * batch + 5] = 0;
    run_sequence(p, direct, k, batch, with_logits, images, views, COUNT, -1, what);
    double wait_s, read_s;
    int64_t rows;
    cbd_feature_prefetcher_stats(p, &wait_s, &read_s, &rows);
    CHECK(rows > 0 && read_s > 0, "%s: stats %lld rows %.3f s", what, (long long)rows, read_s);
    cbd_feature_prefetcher_destroy(p);
done:
    for (int t = 0; t < k; t++) {
        cbd_feature_store_close(stores[t]);
        cbd_feature_store_close(direct[t]);
    }
}

static void test_refusals(void) {
    char err[1024];
    cbd_feature_store *fs = cbd_feature_store_open(test_path(store_names[1]), NULL, 0, err, sizeof err);
    CHECK(fs != NULL, "%s", err);
    if (!fs) return;
    CHECK(cbd_feature_prefetcher_create(&fs, 1, 8, 2, 1, err, sizeof err) == NULL && strstr(err, "no logits"),
          "logits from a store without: %s", err);
    CHECK(cbd_feature_prefetcher_create(&fs, 1, 8, 1, 0, err, sizeof err) == NULL, "depth 1 accepted");
    cbd_feature_prefetcher *p = cbd_feature_prefetcher_create(&fs, 1, 8, 2, 0, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    cbd_feature_prefetcher_destroy(p); /* never started */
    cbd_feature_store_close(fs);
}

/* Rows per second through the prefetcher, the caller taking each batch at once. */
static void bench(const char *path, int64_t cap, const char *what) {
    enum { BN = 20000, BVIEWS = 10, BATCH = 256, EPOCH = BN * BVIEWS };
    char err[1024];
    cbd_feature_store *fs = cbd_feature_store_open(path, NULL, cap, err, sizeof err);
    CHECK(fs != NULL, "%s", err);
    if (!fs) return;
    int64_t *images = cbd_malloc(EPOCH * sizeof *images);
    uint32_t *views = cbd_malloc(EPOCH * sizeof *views);
    /* Every (image, view) once, in random order. */
    for (int64_t j = 0; j < EPOCH; j++) images[j] = j;
    for (int64_t j = EPOCH - 1; j > 0; j--) {
        const int64_t r = (int64_t)(cbd_rng_block(9, CBD_RNG_STREAM_TEST, (uint64_t)j, 4).v[0] % (uint32_t)(j + 1));
        const int64_t t = images[j];
        images[j] = images[r];
        images[r] = t;
    }
    for (int64_t j = 0; j < EPOCH; j++) {
        views[j] = (uint32_t)(images[j] / BN);
        images[j] %= BN;
    }
    cbd_feature_prefetcher *p = cbd_feature_prefetcher_create(&fs, 1, BATCH, 4, 0, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (p) {
        const double t0 = cbd_now();
        cbd_feature_prefetcher_begin(p, images, views, EPOCH);
        int64_t rows = 0;
        double sum = 0;
        const cbd_feature_batch *b;
        while ((b = cbd_feature_prefetcher_next(p)) != NULL) {
            rows += b->count;
            sum += b->features[0][0];
        }
        const double seconds = cbd_now() - t0;
        double wait_s, read_s;
        int64_t read_rows;
        cbd_feature_prefetcher_stats(p, &wait_s, &read_s, &read_rows);
        CHECK(rows == EPOCH && !cbd_feature_prefetcher_error(p), "%s: %lld rows", what, (long long)rows);
        printf("BENCH feature prefetch %s (N = %d, d = 64, S = %d, float16, random order, batches of %d): "
               "%.0f rows/s (%lld rows in %.3f s; reader busy %.3f s, consumer waited %.3f s) [%g]\n",
               what, BN, BVIEWS, BATCH, (double)rows / seconds, (long long)rows, seconds, read_s, wait_s, sum);
        cbd_feature_prefetcher_destroy(p);
    }
    free(images);
    free(views);
    cbd_feature_store_close(fs);
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    if (write_store(test_path(store_names[0]), 0, N, 16, 5, VIEWS, CBD_STORE_FLOAT32, 1) != 0 ||
        write_store(test_path(store_names[1]), 1, N, 8, 5, VIEWS, CBD_STORE_FLOAT16, 0) != 0 ||
        write_store(test_path(store_names[2]), 2, N, 64, 5, VIEWS, CBD_STORE_FLOAT16, 1) != 0)
        return test_finish("feature_prefetch");
    test_refusals();
    for (int in_memory = 0; in_memory <= 1; in_memory++) {
        test_order(in_memory, 1, 2);
        test_order(in_memory, 3, 4);
    }
    const char *big = test_path("bench.h5");
    if (write_store(big, 3, 20000, 64, 10, 10, CBD_STORE_FLOAT16, 0) == 0) {
        bench(big, 0, "from disk");
        bench(big, INT64_MAX, "in memory");
    }
    return test_finish("feature_prefetch");
}
