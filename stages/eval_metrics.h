/* The numbers of an evaluation, computed from labels and predictions (no
 * I/O): top-1 and top-k accuracy over images, accuracy per class, the
 * many/mid/few-shot group accuracies as the mean of the per-class accuracies
 * of each group (Kang et al.'s shot_acc), the confusion matrix, and the
 * nearest-class-mean (NCM) classifier on l2-normalised features.
 *
 * Groups follow the training image count n_c of a class: many-shot when
 * n_c > many_threshold, few-shot when n_c < few_threshold, mid-shot otherwise
 * (the paper's thresholds 100 and 20: many n > 100, mid 20 <= n <= 100, few
 * n < 20). A class without test images has no accuracy: it is reported with
 * 0 images and left out of every mean (its group's, and the mean over
 * classes), but still counted among its group's classes.
 *
 * Ties are broken toward the lower class index everywhere: in top-1, in the
 * order of top-k, and in NCM. */
#ifndef CBD_EVAL_METRICS_H
#define CBD_EVAL_METRICS_H

#include <stdint.h>

typedef enum { CBD_SHOT_MANY = 0, CBD_SHOT_MID = 1, CBD_SHOT_FEW = 2, CBD_SHOT_GROUPS = 3 } cbd_shot_group;

/* "many", "mid", "few", indexed by cbd_shot_group. */
extern const char *const cbd_shot_group_names[CBD_SHOT_GROUPS];

cbd_shot_group cbd_shot_group_of(int64_t train_count, int many_threshold, int few_threshold);

/* The k highest scores of z[0..classes) as class indices, highest first,
 * into out[0..k); equal scores keep the lower index first, NaN ranks below
 * every number. k must be in 1..classes. */
void cbd_top_k(const float *z, int classes, int k, int *out);
/* The top-1 of z (the same tie rule). */
int cbd_argmax(const float *z, int classes);

/* Counts of an evaluation, filled batch by batch. */
typedef struct {
    int classes;
    int k;               /* of the top-k accuracy, <= classes */
    int64_t images;      /* rows tallied with a label in 0..classes-1 */
    int64_t out_of_range;/* rows whose label is outside 0..classes-1 (not tallied) */
    int64_t correct;     /* top-1 hits */
    int64_t correct_k;   /* top-k hits */
    int64_t *test_count; /* [classes] images of each class */
    int64_t *hits;       /* [classes] top-1 hits of each class */
    int64_t *hits_k;     /* [classes] top-k hits of each class */
    int64_t *confusion;  /* [classes * classes]: row = true class, column = predicted; NULL above
                          * CBD_CONFUSION_DENSE_MAX classes, where `pairs` holds it */
    /* Above CBD_CONFUSION_DENSE_MAX classes (8,142 for iNaturalist: a dense
     * matrix would be 530 MB) the matrix is its nonzero cells: one (true,
     * predicted) pair per tallied row until cbd_eval_tally_cells sorts and
     * counts them. */
    int32_t *pairs;      /* [2 * pair_count] */
    int64_t pair_count, pair_capacity;
} cbd_eval_tally;

/* The largest class count whose confusion matrix is kept dense (and written
 * whole, as a CSV matrix and a JSON array); above it, as nonzero cells. */
#define CBD_CONFUSION_DENSE_MAX 1000

/* A nonzero cell of a confusion matrix. */
typedef struct {
    int32_t truth, predicted;
    int64_t count;
} cbd_confusion_cell;

/* The nonzero cells, by true class then predicted class, into *cells (freed
 * by the caller); returns how many. Works for dense and sparse tallies. */
int64_t cbd_eval_tally_cells(const cbd_eval_tally *t, cbd_confusion_cell **cells);

/* k is clamped to 1..classes. */
void cbd_eval_tally_init(cbd_eval_tally *t, int classes, int k);
void cbd_eval_tally_free(cbd_eval_tally *t);
/* Rows from their ranked predictions: topk[i * k_given + j] is the j-th
 * guess for row i (j = 0 the top-1), k_given >= t->k; a guess outside
 * 0..classes-1 (e.g. -1, "no prediction") is a miss and is not in the
 * confusion matrix. */
void cbd_eval_tally_add_ranked(cbd_eval_tally *t, const int *topk, int k_given, const int32_t *labels,
                               int64_t n);
/* Rows from their scores: logits [n, classes]. */
void cbd_eval_tally_add_logits(cbd_eval_tally *t, const float *logits, const int32_t *labels, int64_t n);

/* What a tally means, given each class's training image count. */
typedef struct {
    double top1, top_k;           /* over images; NaN when no image was tallied */
    double mean_class;            /* mean of per-class top-1 accuracies of classes with test images */
    double group[CBD_SHOT_GROUPS];/* mean of per-class accuracies in the group; NaN when none has test images */
    int group_classes[CBD_SHOT_GROUPS];   /* classes in the group */
    int group_evaluated[CBD_SHOT_GROUPS]; /* of those, with test images */
    int evaluated_classes;        /* classes with test images */
} cbd_eval_summary;

/* class_accuracy (optional, [classes]) receives hits / test_count, or NaN for
 * a class without test images; class_group (optional, [classes]) each
 * class's group. */
void cbd_eval_summarize(const cbd_eval_tally *t, const int64_t *train_counts, int many_threshold,
                        int few_threshold, cbd_eval_summary *s, double *class_accuracy,
                        cbd_shot_group *class_group);

/* Training image count of every class from the training labels (labels
 * outside 0..classes-1 are ignored). */
void cbd_class_counts(const int32_t *labels, int64_t n, int classes, int64_t *counts);

/* Nearest class mean on l2-normalised features: class means of the unit
 * training features, a test feature goes to the class whose mean has the
 * highest cosine with it. Rows that are zero or not finite are left out of
 * the means (counted in `dropped`); a class with no training row is never
 * predicted. Sums are kept in double precision and dot products summed in a
 * fixed order, so predictions do not depend on the thread count. */
typedef struct {
    int classes, d;
    double *sums;      /* [classes, d] sums of the unit training features */
    int64_t *counts;   /* [classes] rows in each sum */
    float *means;      /* [classes, d] unit class means (after cbd_ncm_finish) */
    int64_t dropped;   /* training rows left out (zero, NaN/Inf, label out of range, or
                          of a class whose unit rows sum to zero) */
    int finished;
} cbd_ncm;

void cbd_ncm_init(cbd_ncm *m, int classes, int d);
void cbd_ncm_free(cbd_ncm *m);
/* Adds training rows features [n, d] of classes labels [n]. */
void cbd_ncm_add(cbd_ncm *m, const float *features, const int32_t *labels, int64_t n);
/* Makes the unit means; no more rows may be added. */
void cbd_ncm_finish(cbd_ncm *m);
/* Classes with at least one training row. */
int cbd_ncm_class_count(const cbd_ncm *m);
/* Predicts rows features [n, d] into pred [n]: the class of the most similar
 * mean, or -1 for a zero or non-finite row (or when no class has a mean). */
void cbd_ncm_predict(const cbd_ncm *m, const float *features, int64_t n, int *pred);

#endif
