/* Samplers: class frequencies of each kind against their expected
 * distribution on a long-tailed label set (chi-square), within-class
 * uniformity, permutations, determinism in (seed, epoch), and the per-image
 * draw counters of the student's view contract. */
#include <string.h>

#include "views/sampler.h"
#include "tests/test_util.h"

#define CLASSES 11 /* class 10 has no images */

/* Pearson's chi-square of counts[k] against probabilities p[k] (cells with
 * p = 0 must be empty; a draw there makes the statistic infinite). */
static double chi_square(const int64_t *counts, const double *p, int k, int64_t total) {
    double x = 0.0;
    for (int c = 0; c < k; c++) {
        if (p[c] == 0.0) {
            if (counts[c]) return INFINITY;
            continue;
        }
        const double e = p[c] * (double)total;
        x += (counts[c] - e) * (counts[c] - e) / e;
    }
    return x;
}

/* Upper 0.1% point of chi-square with df degrees of freedom (Wilson-Hilferty). */
static double chi_square_limit(int df) {
    const double z = 3.09, a = 2.0 / (9.0 * df);
    const double t = 1.0 - a + z * sqrt(a);
    return df * t * t * t;
}

/* Class frequencies of `epochs` epochs. */
static int64_t class_counts(const cbd_sampler *s, const int32_t *labels, int epochs, int64_t first_epoch,
                            int64_t *counts, int64_t *image_counts) {
    const int64_t len = cbd_sampler_epoch_length(s);
    int64_t *order = malloc((size_t)len * sizeof *order);
    memset(counts, 0, CLASSES * sizeof *counts);
    if (image_counts) memset(image_counts, 0, (size_t)s->n * sizeof *image_counts);
    for (int e = 0; e < epochs; e++) {
        cbd_sampler_epoch(s, first_epoch + e, order);
        for (int64_t j = 0; j < len; j++) {
            counts[labels[order[j]]]++;
            if (image_counts) image_counts[order[j]]++;
        }
    }
    free(order);
    return len * epochs;
}

static void expected(cbd_sampling_kind kind, const int64_t *n_c, double *p) {
    double total = 0.0;
    for (int c = 0; c < CLASSES; c++)
        total += kind == CBD_SAMPLING_INSTANCE ? (double)n_c[c]
                 : kind == CBD_SAMPLING_SQRT   ? sqrt((double)n_c[c])
                                               : (n_c[c] ? 1.0 : 0.0);
    for (int c = 0; c < CLASSES; c++)
        p[c] = (kind == CBD_SAMPLING_INSTANCE ? (double)n_c[c]
                : kind == CBD_SAMPLING_SQRT   ? sqrt((double)n_c[c])
                                              : (n_c[c] ? 1.0 : 0.0)) / total;
}

int main(void) {
    /* long tail: 1000 .. 10 images over classes 0..9 (n_c = 1000 * 0.01^(c/9)),
     * none in class 10; labels interleaved in a scrambled order */
    int64_t n_c[CLASSES] = {0};
    int64_t n = 0;
    for (int c = 0; c < 10; c++) {
        n_c[c] = (int64_t)llround(1000.0 * pow(0.01, c / 9.0));
        n += n_c[c];
    }
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    {
        int64_t k = 0;
        for (int c = 0; c < 10; c++)
            for (int64_t j = 0; j < n_c[c]; j++) labels[k++] = c;
        for (int64_t j = n - 1; j > 0; j--) { /* scramble with the test stream */
            const int64_t r = (int64_t)(cbd_rng_block(5, CBD_RNG_STREAM_TEST, (uint64_t)j, 0).v[0] % (uint32_t)(j + 1));
            const int32_t t = labels[j];
            labels[j] = labels[r];
            labels[r] = t;
        }
    }
    char err[256];
    double p[CLASSES];
    int64_t *image_counts = malloc((size_t)n * sizeof *image_counts);

    /* ---- instance: every epoch a permutation; positions carry n_c / N ---- */
    cbd_sampler inst;
    CHECK(cbd_sampler_init(&inst, CBD_SAMPLING_INSTANCE, labels, n, CLASSES, 11, err, sizeof err) == 0, "%s", err);
    CHECK(cbd_sampler_epoch_length(&inst) == n, "instance epoch length %lld", (long long)cbd_sampler_epoch_length(&inst));
    CHECK(cbd_sampler_set_epoch_length(&inst, 10) != 0, "instance epoch length is always N");
    {
        int64_t *order = malloc((size_t)n * sizeof *order), *prev = malloc((size_t)n * sizeof *prev);
        int64_t pos_counts[CLASSES] = {0}, pos_total = 0, fixed = 0;
        for (int e = 0; e < 200; e++) {
            cbd_sampler_epoch(&inst, e, order);
            memset(image_counts, 0, (size_t)n * sizeof *image_counts);
            for (int64_t j = 0; j < n; j++) image_counts[order[j]]++;
            int64_t bad = 0;
            for (int64_t i = 0; i < n; i++) bad += image_counts[i] != 1;
            CHECK(bad == 0, "epoch %d is not a permutation (%lld images not drawn exactly once)", e, (long long)bad);
            if (e > 0) CHECK(memcmp(order, prev, (size_t)n * sizeof *order) != 0, "epochs %d and %d are equal", e - 1, e);
            for (int64_t j = 0; j < 20; j++, pos_total++) pos_counts[labels[order[j]]]++; /* the first positions */
            for (int64_t j = 0; j < n; j++) fixed += order[j] == j;
            memcpy(prev, order, (size_t)n * sizeof *order);
        }
        expected(CBD_SAMPLING_INSTANCE, n_c, p);
        const double x = chi_square(pos_counts, p, CLASSES, pos_total);
        CHECK(x < chi_square_limit(9), "instance: classes at the first positions, chi-square %.1f (limit %.1f)", x,
              chi_square_limit(9));
        /* a random permutation has one fixed point on average */
        CHECK(fixed > 200 * 0.5 && fixed < 200 * 1.6, "instance: %lld fixed points in 200 epochs", (long long)fixed);
        free(order);
        free(prev);
    }

    /* ---- class-balanced and sqrt: chi-square over 40 epochs ---- */
    const cbd_sampling_kind kinds[3] = {CBD_SAMPLING_INSTANCE, CBD_SAMPLING_CLASS_BALANCED, CBD_SAMPLING_SQRT};
    cbd_sampler s[3];
    for (int k = 0; k < 3; k++)
        CHECK(cbd_sampler_init(&s[k], kinds[k], labels, n, CLASSES, 1234, err, sizeof err) == 0, "%s", err);
    int64_t draws[3][CLASSES];
    for (int k = 0; k < 3; k++) {
        const int64_t total = class_counts(&s[k], labels, 40, 3, draws[k], image_counts);
        for (int want = 0; want < 3; want++) {
            expected(kinds[want], n_c, p);
            const double x = chi_square(draws[k], p, CLASSES, total);
            if (want == k) {
                CHECK(x < chi_square_limit(9), "%s: class frequencies, chi-square %.1f (limit %.1f)",
                      cbd_sampling_kind_name(kinds[k]), x, chi_square_limit(9));
            } else {
                /* the test has the power to tell the kinds apart */
                CHECK(x > 100.0 * chi_square_limit(9), "%s draws pass as %s (chi-square %.1f)",
                      cbd_sampling_kind_name(kinds[k]), cbd_sampling_kind_name(kinds[want]), x);
            }
        }
        CHECK(draws[k][10] == 0, "%s drew the empty class", cbd_sampling_kind_name(kinds[k]));
        expected(kinds[k], n_c, p);
        for (int c = 0; c < CLASSES; c++)
            CHECK(fabs(cbd_sampler_class_probability(&s[k], c) - p[c]) < 1e-12,
                  "%s: class %d probability %g", cbd_sampling_kind_name(kinds[k]), c,
                  cbd_sampler_class_probability(&s[k], c));
        /* within a class every image is equally likely: the smallest class
         * (10 images) and the largest (1000) */
        for (int c = 0; c < 10; c += 9) {
            int64_t cell[1000], m = 0, tot = 0;
            for (int64_t i = 0; i < n; i++)
                if (labels[i] == c) {
                    cell[m++] = image_counts[i];
                    tot += image_counts[i];
                }
            double q[1000], x;
            for (int64_t j = 0; j < m; j++) q[j] = 1.0 / (double)m;
            x = chi_square(cell, q, (int)m, tot);
            CHECK(x < chi_square_limit((int)m - 1), "%s: images of class %d, chi-square %.1f (limit %.1f)",
                  cbd_sampling_kind_name(kinds[k]), c, x, chi_square_limit((int)m - 1));
        }
    }
    /* the tail class (10 of 2380 images) is drawn ~24x as often under class-balanced sampling */
    CHECK(draws[1][9] > 20 * draws[0][9], "class-balanced drew the tail class %lld times, instance %lld",
          (long long)draws[1][9], (long long)draws[0][9]);

    /* ---- determinism: a pure function of (seed, epoch) ---- */
    for (int k = 0; k < 3; k++) {
        const int64_t len = cbd_sampler_epoch_length(&s[k]);
        int64_t *a = malloc((size_t)len * sizeof *a), *b = malloc((size_t)len * sizeof *b);
        cbd_sampler again, other;
        CHECK(cbd_sampler_init(&again, kinds[k], labels, n, CLASSES, 1234, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_sampler_init(&other, kinds[k], labels, n, CLASSES, 1235, err, sizeof err) == 0, "%s", err);
        cbd_sampler_epoch(&s[k], 7, a);
        cbd_sampler_epoch(&s[k], 8, b); /* another epoch in between */
        cbd_sampler_epoch(&again, 7, b); /* a fresh sampler, as after a resume */
        CHECK(memcmp(a, b, (size_t)len * sizeof *a) == 0, "%s: epoch 7 differs between samplers of one seed",
              cbd_sampling_kind_name(kinds[k]));
        cbd_sampler_epoch(&other, 7, b);
        CHECK(memcmp(a, b, (size_t)len * sizeof *a) != 0, "%s: seeds 1234 and 1235 give the same epoch",
              cbd_sampling_kind_name(kinds[k]));
        cbd_sampler_epoch(&s[k], 6, b);
        CHECK(memcmp(a, b, (size_t)len * sizeof *a) != 0, "%s: epochs 6 and 7 are equal", cbd_sampling_kind_name(kinds[k]));
        int64_t out_of_range = 0;
        for (int64_t j = 0; j < len; j++) out_of_range += a[j] < 0 || a[j] >= n;
        CHECK(out_of_range == 0, "%s: %lld indices out of range", cbd_sampling_kind_name(kinds[k]), (long long)out_of_range);
        cbd_sampler_free(&again);
        cbd_sampler_free(&other);
        free(a);
        free(b);
    }

    /* ---- epoch length of the class-balanced sampler ---- */
    {
        CHECK(cbd_sampler_set_epoch_length(&s[1], 500) == 0, "set epoch length");
        CHECK(cbd_sampler_epoch_length(&s[1]) == 500, "epoch length %lld", (long long)cbd_sampler_epoch_length(&s[1]));
        int64_t a[500], full[4000];
        cbd_sampler_epoch(&s[1], 2, a);
        CHECK(cbd_sampler_set_epoch_length(&s[1], 4000) == 0, "set epoch length");
        cbd_sampler_epoch(&s[1], 2, full);
        CHECK(memcmp(a, full, sizeof a) == 0, "a shorter epoch is not a prefix of the longer one");
        CHECK(cbd_sampler_set_epoch_length(&s[1], 0) != 0, "epoch length 0 accepted");
    }
    for (int k = 0; k < 3; k++) cbd_sampler_free(&s[k]);
    cbd_sampler_free(&inst);

    /* ---- bad input ---- */
    {
        cbd_sampler bad;
        int32_t l3[3] = {0, 4, 1};
        CHECK(cbd_sampler_init(&bad, CBD_SAMPLING_CLASS_BALANCED, l3, 3, 4, 1, err, sizeof err) != 0 &&
                  strstr(err, "image 1") && strstr(err, "label 4"),
              "label out of range not reported: %s", err);
        CHECK(cbd_sampler_init(&bad, CBD_SAMPLING_INSTANCE, l3, 0, 4, 1, err, sizeof err) != 0, "no images accepted");
        CHECK(cbd_sampler_init(&bad, (cbd_sampling_kind)7, l3, 3, 5, 1, err, sizeof err) != 0, "unknown kind accepted");
        /* a single image, a single class */
        int32_t one = 0;
        int64_t out[4];
        CHECK(cbd_sampler_init(&bad, CBD_SAMPLING_SQRT, &one, 1, 1, 1, err, sizeof err) == 0, "%s", err);
        cbd_sampler_epoch(&bad, 0, out);
        CHECK(out[0] == 0, "single image: drew %lld", (long long)out[0]);
        cbd_sampler_free(&bad);
    }

    /* ---- draw counters: the k-th draw of image i is view k mod S ---- */
    {
        uint32_t counters[4] = {0};
        const int64_t idx1[6] = {0, 1, 0, 0, 2, 0};
        const int64_t idx2[5] = {1, 0, 3, 1, 1};
        uint32_t v1[6], v2[5];
        cbd_draw_counter_assign(counters, idx1, 6, 3, v1);
        cbd_draw_counter_assign(counters, idx2, 5, 3, v2); /* the next epoch continues the counts */
        const uint32_t w1[6] = {0, 0, 1, 2, 0, 0}, w2[5] = {1, 1, 0, 2, 0};
        CHECK(memcmp(v1, w1, sizeof v1) == 0, "views %u %u %u %u %u %u", v1[0], v1[1], v1[2], v1[3], v1[4], v1[5]);
        CHECK(memcmp(v2, w2, sizeof v2) == 0, "views %u %u %u %u %u", v2[0], v2[1], v2[2], v2[3], v2[4]);
        CHECK(counters[0] == 5 && counters[1] == 4 && counters[2] == 1 && counters[3] == 1, "counters %u %u %u %u",
              counters[0], counters[1], counters[2], counters[3]);
        /* with the class-balanced sampler: tail images cycle through all S views */
        cbd_sampler cb;
        CHECK(cbd_sampler_init(&cb, CBD_SAMPLING_CLASS_BALANCED, labels, n, CLASSES, 3, err, sizeof err) == 0, "%s", err);
        uint32_t *cnt = calloc((size_t)n, sizeof *cnt), *views = malloc((size_t)n * sizeof *views);
        int64_t *order = malloc((size_t)n * sizeof *order);
        int64_t (*seen)[4] = calloc((size_t)n, sizeof *seen);
        for (int e = 0; e < 3; e++) {
            cbd_sampler_epoch(&cb, e, order);
            cbd_draw_counter_assign(cnt, order, n, 4, views);
            for (int64_t j = 0; j < n; j++) seen[order[j]][views[j]]++;
        }
        int64_t uneven = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t lo = seen[i][0], hi = seen[i][0];
            for (int v = 1; v < 4; v++) {
                if (seen[i][v] < lo) lo = seen[i][v];
                if (seen[i][v] > hi) hi = seen[i][v];
            }
            uneven += hi - lo > 1 || (int64_t)cnt[i] != seen[i][0] + seen[i][1] + seen[i][2] + seen[i][3];
        }
        CHECK(uneven == 0, "%lld images whose views are not used in turn", (long long)uneven);
        free(cnt);
        free(views);
        free(order);
        free(seen);
        cbd_sampler_free(&cb);
    }
    CHECK(strcmp(cbd_sampling_kind_name(CBD_SAMPLING_CLASS_BALANCED), "class_balanced") == 0, "kind name");

    free(labels);
    free(image_counts);
    return test_finish("sampler");
}
