/* Evaluation numbers on hand-computed cases: shot groups at their
 * boundaries, group accuracy as the mean of per-class accuracies (not of
 * images), top-k order and ties, the confusion matrix, a class without test
 * images, and nearest class mean on a toy feature set. */
#include <math.h>
#include <string.h>

#include "nn/log.h"
#include "stages/eval_metrics.h"
#include "tests/test_util.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

static void test_groups(void) {
    /* the paper's thresholds: many n > 100, mid 20 <= n <= 100, few n < 20 */
    CHECK(cbd_shot_group_of(101, 100, 20) == CBD_SHOT_MANY, "101 is many-shot");
    CHECK(cbd_shot_group_of(100, 100, 20) == CBD_SHOT_MID, "100 is mid-shot");
    CHECK(cbd_shot_group_of(20, 100, 20) == CBD_SHOT_MID, "20 is mid-shot");
    CHECK(cbd_shot_group_of(19, 100, 20) == CBD_SHOT_FEW, "19 is few-shot");
    CHECK(cbd_shot_group_of(0, 100, 20) == CBD_SHOT_FEW, "0 is few-shot");
    CHECK(cbd_shot_group_of(1280, 100, 20) == CBD_SHOT_MANY, "1280 is many-shot");
    /* other thresholds */
    CHECK(cbd_shot_group_of(21, 20, 5) == CBD_SHOT_MANY, "21 > 20");
    CHECK(cbd_shot_group_of(20, 20, 5) == CBD_SHOT_MID, "20 = many threshold");
    CHECK(cbd_shot_group_of(5, 20, 5) == CBD_SHOT_MID, "5 = few threshold");
    CHECK(cbd_shot_group_of(4, 20, 5) == CBD_SHOT_FEW, "4 < 5");
    /* equal thresholds: mid is exactly n = t */
    CHECK(cbd_shot_group_of(10, 10, 10) == CBD_SHOT_MID, "n = t");
    CHECK(cbd_shot_group_of(11, 10, 10) == CBD_SHOT_MANY, "n > t");
    CHECK(cbd_shot_group_of(9, 10, 10) == CBD_SHOT_FEW, "n < t");
    CHECK(strcmp(cbd_shot_group_names[CBD_SHOT_MANY], "many") == 0 &&
              strcmp(cbd_shot_group_names[CBD_SHOT_MID], "mid") == 0 &&
              strcmp(cbd_shot_group_names[CBD_SHOT_FEW], "few") == 0,
          "group names");

    const int32_t labels[] = {0, 0, 2, 1, 0, 2, -1, 7};
    int64_t counts[3];
    cbd_class_counts(labels, 8, 3, counts);
    CHECK(counts[0] == 3 && counts[1] == 1 && counts[2] == 2, "class counts %lld %lld %lld",
          (long long)counts[0], (long long)counts[1], (long long)counts[2]);
}

static int same(const int *a, const int *b, int n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

static void test_top_k(void) {
    int out[6];
    const float z[5] = {1, 3, 3, 2, 3};
    cbd_top_k(z, 5, 3, out);
    CHECK(same(out, (int[]){1, 2, 4}, 3), "ties: lowest index first: %d %d %d", out[0], out[1], out[2]);
    cbd_top_k(z, 5, 5, out);
    CHECK(same(out, (int[]){1, 2, 4, 3, 0}, 5), "full order %d %d %d %d %d", out[0], out[1], out[2], out[3],
          out[4]);
    cbd_top_k(z, 5, 1, out);
    CHECK(out[0] == 1 && cbd_argmax(z, 5) == 1, "top-1 of a tie is the lowest index");

    const float flat[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    cbd_top_k(flat, 6, 5, out);
    CHECK(same(out, (int[]){0, 1, 2, 3, 4}, 5), "all equal: classes 0..4");

    const float with_nan[4] = {NAN, 1, NAN, 0};
    cbd_top_k(with_nan, 4, 4, out);
    CHECK(same(out, (int[]){1, 3, 0, 2}, 4), "NaN ranks last: %d %d %d %d", out[0], out[1], out[2], out[3]);
    CHECK(cbd_argmax(with_nan, 4) == 1, "argmax skips NaN");

    const float descending[6] = {6, 5, 4, 3, 2, 1}, ascending[6] = {1, 2, 3, 4, 5, 6};
    cbd_top_k(descending, 6, 5, out);
    CHECK(same(out, (int[]){0, 1, 2, 3, 4}, 5), "descending");
    cbd_top_k(ascending, 6, 5, out);
    CHECK(same(out, (int[]){5, 4, 3, 2, 1}, 5), "ascending");
    const float negative[3] = {-INFINITY, -1, -2};
    cbd_top_k(negative, 3, 2, out);
    CHECK(same(out, (int[]){1, 2}, 2), "negative and -inf");
}

/* 4 classes; training counts 150, 50, 50, 10 (many, mid, mid, few with the
 * paper's thresholds). Class 0: 10 images, all right; class 1: 1 image,
 * right; class 2: 9 images, all wrong (predicted 1); class 3: 2 images, one
 * right, one predicted 0. */
static void test_group_accuracy(void) {
    enum { C = 4 };
    const int64_t train[C] = {150, 50, 50, 10};
    int32_t labels[22];
    int pred[22];
    int n = 0;
    for (int i = 0; i < 10; i++) labels[n] = 0, pred[n++] = 0;
    labels[n] = 1, pred[n++] = 1;
    for (int i = 0; i < 9; i++) labels[n] = 2, pred[n++] = 1;
    labels[n] = 3, pred[n++] = 3;
    labels[n] = 3, pred[n++] = 0;
    cbd_eval_tally t;
    cbd_eval_tally_init(&t, C, 1);
    cbd_eval_tally_add_ranked(&t, pred, 1, labels, n);
    cbd_eval_summary s;
    double acc[C];
    cbd_shot_group group[C];
    cbd_eval_summarize(&t, train, 100, 20, &s, acc, group);
    CHECK(t.images == 22 && t.correct == 12, "images %lld correct %lld", (long long)t.images, (long long)t.correct);
    CHECK(NEAR(s.top1, 12.0 / 22.0), "top-1 over images %g", s.top1);
    CHECK(NEAR(acc[0], 1.0) && NEAR(acc[1], 1.0) && NEAR(acc[2], 0.0) && NEAR(acc[3], 0.5),
          "per class %g %g %g %g", acc[0], acc[1], acc[2], acc[3]);
    CHECK(group[0] == CBD_SHOT_MANY && group[1] == CBD_SHOT_MID && group[2] == CBD_SHOT_MID &&
              group[3] == CBD_SHOT_FEW,
          "groups");
    CHECK(NEAR(s.group[CBD_SHOT_MANY], 1.0), "many %g", s.group[CBD_SHOT_MANY]);
    /* mean of per-class accuracies (1 + 0) / 2, not of images 1 / 10 */
    CHECK(NEAR(s.group[CBD_SHOT_MID], 0.5), "mid %g (expected 0.5, the image mean would be 0.1)",
          s.group[CBD_SHOT_MID]);
    CHECK(NEAR(s.group[CBD_SHOT_FEW], 0.5), "few %g", s.group[CBD_SHOT_FEW]);
    CHECK(NEAR(s.mean_class, 2.5 / 4.0), "mean class %g", s.mean_class);
    CHECK(s.group_classes[CBD_SHOT_MANY] == 1 && s.group_classes[CBD_SHOT_MID] == 2 &&
              s.group_classes[CBD_SHOT_FEW] == 1 && s.evaluated_classes == 4,
          "group class counts");

    /* confusion: rows sum to the test counts, the diagonal to the hits, the
     * whole to the images */
    int64_t total = 0, diagonal = 0;
    for (int y = 0; y < C; y++) {
        int64_t row = 0;
        for (int c = 0; c < C; c++) row += t.confusion[y * C + c];
        CHECK(row == t.test_count[y], "row %d sums to %lld, %lld images", y, (long long)row,
              (long long)t.test_count[y]);
        CHECK(t.confusion[y * C + y] == t.hits[y], "diagonal %d", y);
        total += row;
        diagonal += t.confusion[y * C + y];
    }
    CHECK(total == 22 && diagonal == 12, "confusion total %lld diagonal %lld", (long long)total,
          (long long)diagonal);
    CHECK(t.confusion[2 * C + 1] == 9 && t.confusion[3 * C + 0] == 1, "off-diagonal cells");
    cbd_eval_tally_free(&t);
}

/* Class 4 (mid-shot by its training count) has no test image: reported with
 * 0 images and no accuracy, counted in its group, left out of the means. */
static void test_absent_class(void) {
    enum { C = 5 };
    const int64_t train[C] = {30, 17, 9, 3, 12};
    const int32_t labels[] = {0, 0, 1, 1, 2, 2, 3, 3, 9};
    const int pred[] = {0, 1, 1, 1, 0, 0, 3, 4, 0};
    cbd_eval_tally t;
    cbd_eval_tally_init(&t, C, 1);
    cbd_eval_tally_add_ranked(&t, pred, 1, labels, 9);
    CHECK(t.out_of_range == 1 && t.images == 8, "label 9 is out of range: %lld tallied", (long long)t.images);
    cbd_eval_summary s;
    double acc[C];
    cbd_eval_summarize(&t, train, 20, 5, &s, acc, NULL);
    CHECK(t.test_count[4] == 0 && isnan(acc[4]), "absent class: 0 images, no accuracy (%g)", acc[4]);
    CHECK(s.group_classes[CBD_SHOT_MID] == 3 && s.group_evaluated[CBD_SHOT_MID] == 2, "mid: 3 classes, 2 evaluated");
    /* mid = classes 1 (1.0) and 2 (0.0) */
    CHECK(NEAR(s.group[CBD_SHOT_MID], 0.5), "mid %g", s.group[CBD_SHOT_MID]);
    CHECK(NEAR(s.group[CBD_SHOT_MANY], 0.5) && NEAR(s.group[CBD_SHOT_FEW], 0.5), "many %g few %g",
          s.group[CBD_SHOT_MANY], s.group[CBD_SHOT_FEW]);
    CHECK(NEAR(s.mean_class, 2.0 / 4.0) && s.evaluated_classes == 4, "mean over the 4 classes with images: %g",
          s.mean_class);
    CHECK(t.confusion[3 * C + 4] == 1, "a prediction of the absent class is in the confusion matrix");

    /* a group with no class evaluated has no accuracy */
    const int64_t all_few[C] = {1, 1, 1, 1, 1};
    cbd_eval_summarize(&t, all_few, 20, 5, &s, NULL, NULL);
    CHECK(isnan(s.group[CBD_SHOT_MANY]) && isnan(s.group[CBD_SHOT_MID]) && s.group_classes[CBD_SHOT_FEW] == 5,
          "empty groups are NaN");
    cbd_eval_tally_free(&t);
}

/* Top-5 from logits, with ties decided toward the lower class. */
static void test_top5_logits(void) {
    enum { C = 7, N = 4 };
    const float logits[N * C] = {
        0, 0, 0, 0, 0, 0, 0,       /* all tied: top-5 is 0..4 */
        0, 0, 0, 0, 0, 0, 0,       /* same, label 5: a top-5 miss */
        1, 9, 8, 7, 6, 5, 4,       /* top-5 is 1..5; label 0 misses */
        3, 3, 1, 3, 3, 2, 3,       /* top-5 0 1 3 4 6; label 6 is 5th */
    };
    const int32_t labels[N] = {4, 5, 0, 6};
    cbd_eval_tally t;
    cbd_eval_tally_init(&t, C, 5);
    cbd_eval_tally_add_logits(&t, logits, labels, N);
    CHECK(t.k == 5 && t.images == N, "k %d images %lld", t.k, (long long)t.images);
    CHECK(t.correct == 0, "no top-1 hit: %lld", (long long)t.correct);
    CHECK(t.correct_k == 2, "two top-5 hits: %lld", (long long)t.correct_k);
    CHECK(t.hits_k[4] == 1 && t.hits_k[5] == 0 && t.hits_k[0] == 0 && t.hits_k[6] == 1, "top-5 hits per class");
    CHECK(t.confusion[4 * C + 0] == 1 && t.confusion[5 * C + 0] == 1 && t.confusion[0 * C + 1] == 1 &&
              t.confusion[6 * C + 0] == 1,
          "top-1 predictions 0, 0, 1, 0");
    cbd_eval_summary s;
    const int64_t train[C] = {1, 1, 1, 1, 1, 1, 1};
    cbd_eval_summarize(&t, train, 100, 20, &s, NULL, NULL);
    CHECK(NEAR(s.top_k, 0.5) && NEAR(s.top1, 0.0), "top-5 %g top-1 %g", s.top_k, s.top1);
    cbd_eval_tally_free(&t);

    /* k above the class count is clamped */
    cbd_eval_tally_init(&t, 3, 5);
    CHECK(t.k == 3, "k clamped to 3: %d", t.k);
    cbd_eval_tally_free(&t);
}

/* Toy features, d = 2. Class 0: (100, 0) and (0, 1): the mean of the unit
 * rows is along (1, 1) (the raw mean would point along x). Class 1: (0, -2),
 * (0, -5). Class 2: (-1, 0), (-3, 0). Class 3: no row. Dropped: a zero row, a
 * NaN row, a label out of range. */
static void test_ncm(void) {
    enum { C = 4, D = 2 };
    const float train[] = {100, 0, 0, 1, 0, -2, 0, -5, -1, 0, -3, 0, 0, 0, NAN, 1, 1, 1};
    const int32_t labels[] = {0, 0, 1, 1, 2, 2, 1, 2, 7};
    cbd_ncm m;
    cbd_ncm_init(&m, C, D);
    cbd_ncm_add(&m, train, labels, 4);
    cbd_ncm_add(&m, train + 4 * D, labels + 4, 5);
    cbd_ncm_finish(&m);
    CHECK(m.dropped == 3, "dropped %lld", (long long)m.dropped);
    CHECK(m.counts[0] == 2 && m.counts[1] == 2 && m.counts[2] == 2 && m.counts[3] == 0, "counts");
    CHECK(cbd_ncm_class_count(&m) == 3, "3 classes with a mean");
    const float r = (float)(1.0 / sqrt(2.0));
    CHECK(fabsf(m.means[0] - r) < 1e-6f && fabsf(m.means[1] - r) < 1e-6f, "class 0 mean (%g, %g), expected (%g, %g)",
          m.means[0], m.means[1], r, r);
    CHECK(m.means[2] == 0.0f && m.means[3] == -1.0f, "class 1 mean (%g, %g)", m.means[2], m.means[3]);

    const float test[] = {
        5, 0.2f,    /* cos to class 0 ~0.74, class 1 ~-0.04, class 2 ~-1: class 0 */
        0.1f, -4,   /* class 1 */
        -2, -1.9f,  /* cos to class 1 0.69, class 2 0.72: class 2 */
        -1, -1,     /* class 1 and 2 tie at 1/sqrt 2: the lower, 1 */
        1, -1,      /* class 0 cos 0, class 1 0.71: class 1 */
        0, 0,       /* no direction: -1 */
        INFINITY, 1 /* not finite: -1 */
    };
    int pred[7];
    cbd_ncm_predict(&m, test, 7, pred);
    const int want[7] = {0, 1, 2, 1, 1, -1, -1};
    for (int i = 0; i < 7; i++) CHECK(pred[i] == want[i], "NCM row %d: %d, expected %d", i, pred[i], want[i]);

    /* NCM predictions in a tally: -1 is a miss outside the confusion matrix */
    const int32_t test_labels[7] = {0, 1, 2, 2, 3, 0, 1};
    cbd_eval_tally t;
    cbd_eval_tally_init(&t, C, 1);
    cbd_eval_tally_add_ranked(&t, pred, 1, test_labels, 7);
    CHECK(t.images == 7 && t.correct == 3, "NCM hits %lld of %lld", (long long)t.correct, (long long)t.images);
    int64_t total = 0;
    for (int i = 0; i < C * C; i++) total += t.confusion[i];
    CHECK(total == 5, "confusion holds the 5 rows with a prediction: %lld", (long long)total);
    cbd_eval_tally_free(&t);
    cbd_ncm_free(&m);

    /* rows that cancel out leave a class without a mean */
    const float opposite[] = {1, 0, -1, 0, 0, 1};
    const int32_t opposite_labels[] = {0, 0, 1};
    cbd_ncm_init(&m, 2, 2);
    cbd_ncm_add(&m, opposite, opposite_labels, 3);
    cbd_ncm_finish(&m);
    CHECK(cbd_ncm_class_count(&m) == 1 && m.dropped == 2, "cancelling rows: %d classes, %lld dropped",
          cbd_ncm_class_count(&m), (long long)m.dropped);
    const float q[] = {1, 0};
    cbd_ncm_predict(&m, q, 1, pred);
    CHECK(pred[0] == 1, "only class 1 can be predicted: %d", pred[0]);
    cbd_ncm_free(&m);
}

/* Batch after batch gives the same tally as all at once. */
static void test_batches(void) {
    enum { C = 9, N = 200 };
    float logits[N * C];
    int32_t labels[N];
    test_fill_uniform(logits, N * C, -1.0f, 1.0f, 11);
    for (int i = 0; i < N; i++) labels[i] = (int32_t)((i * 7) % C);
    for (int i = 0; i < N * C; i += 13) logits[i] = 0.25f; /* some ties */
    cbd_eval_tally a, b;
    cbd_eval_tally_init(&a, C, 5);
    cbd_eval_tally_init(&b, C, 5);
    cbd_eval_tally_add_logits(&a, logits, labels, N);
    for (int i = 0; i < N; i += 37) {
        const int n = i + 37 <= N ? 37 : N - i;
        cbd_eval_tally_add_logits(&b, logits + (size_t)i * C, labels + i, n);
    }
    CHECK(a.correct == b.correct && a.correct_k == b.correct_k && a.images == b.images &&
              memcmp(a.confusion, b.confusion, C * C * sizeof *a.confusion) == 0,
          "batched tally equals the whole");
    int64_t k_hits = 0;
    for (int i = 0; i < N; i++) {
        int top[5];
        cbd_top_k(logits + (size_t)i * C, C, 5, top);
        for (int j = 0; j < 5; j++) k_hits += top[j] == labels[i];
        CHECK(top[0] == cbd_argmax(logits + (size_t)i * C, C), "top-k starts with the argmax");
    }
    CHECK(k_hits == a.correct_k && a.correct_k >= a.correct, "top-5 hits %lld", (long long)a.correct_k);
    cbd_eval_tally_free(&a);
    cbd_eval_tally_free(&b);
}

/* Above CBD_CONFUSION_DENSE_MAX classes the matrix is kept as its nonzero
 * cells: no C x C allocation, and the cells equal what a dense tally of the
 * same rows counts. */
static void test_sparse_confusion(void) {
    enum { C = CBD_CONFUSION_DENSE_MAX + 500, N = 3000, SMALL = 40 };
    int *guess = cbd_malloc(N * sizeof *guess);
    int32_t *labels = cbd_malloc(N * sizeof *labels);
    for (int i = 0; i < N; i++) {
        labels[i] = (int32_t)((i * 37) % C);
        guess[i] = i % 3 == 0 ? labels[i] : (int)((i * 11) % C);
        if (i % 97 == 0) guess[i] = -1; /* no prediction: a miss, no cell */
    }
    cbd_eval_tally big;
    cbd_eval_tally_init(&big, C, 1);
    CHECK(big.confusion == NULL, "a dense matrix of %d x %d classes was allocated", C, C);
    cbd_eval_tally_add_ranked(&big, guess, 1, labels, N / 2);
    cbd_eval_tally_add_ranked(&big, guess + N / 2, 1, labels + N / 2, N - N / 2);
    cbd_confusion_cell *cells = NULL;
    const int64_t n = cbd_eval_tally_cells(&big, &cells);
    int64_t total = 0, diagonal = 0, expected = 0, expected_hits = 0;
    for (int i = 0; i < N; i++) {
        expected += guess[i] >= 0;
        expected_hits += guess[i] == labels[i];
    }
    int ordered = 1;
    for (int64_t i = 0; i < n; i++) {
        total += cells[i].count;
        if (cells[i].truth == cells[i].predicted) diagonal += cells[i].count;
        if (i && (cells[i - 1].truth > cells[i].truth ||
                  (cells[i - 1].truth == cells[i].truth && cells[i - 1].predicted >= cells[i].predicted)))
            ordered = 0;
    }
    CHECK(total == expected && diagonal == expected_hits && diagonal == big.correct,
          "sparse cells: total %lld (want %lld), diagonal %lld (want %lld)", (long long)total, (long long)expected,
          (long long)diagonal, (long long)expected_hits);
    CHECK(ordered, "cells are by true class, then predicted, each once");
    /* the same cells from a dense tally of rows folded into SMALL classes */
    cbd_eval_tally dense, sparse;
    cbd_eval_tally_init(&dense, SMALL, 1);
    for (int i = 0; i < N; i++) {
        labels[i] %= SMALL;
        if (guess[i] >= 0) guess[i] %= SMALL;
    }
    cbd_eval_tally_add_ranked(&dense, guess, 1, labels, N);
    cbd_eval_tally_init(&sparse, C, 1);
    cbd_eval_tally_add_ranked(&sparse, guess, 1, labels, N);
    cbd_confusion_cell *a = NULL, *b = NULL;
    const int64_t na = cbd_eval_tally_cells(&dense, &a), nb = cbd_eval_tally_cells(&sparse, &b);
    CHECK(na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0, "dense and sparse cells differ (%lld, %lld)",
          (long long)na, (long long)nb);
    free(a);
    free(b);
    free(cells);
    free(guess);
    free(labels);
    cbd_eval_tally_free(&big);
    cbd_eval_tally_free(&dense);
    cbd_eval_tally_free(&sparse);
}

int main(void) {
    test_sparse_confusion();
    test_groups();
    test_top_k();
    test_group_accuracy();
    test_absent_class();
    test_top5_logits();
    test_ncm();
    test_batches();
    return test_finish("test_eval_metrics");
}
