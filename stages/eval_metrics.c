#include "stages/eval_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

const char *const cbd_shot_group_names[CBD_SHOT_GROUPS] = {"many", "mid", "few"};

cbd_shot_group cbd_shot_group_of(int64_t train_count, int many_threshold, int few_threshold) {
    if (train_count > many_threshold) return CBD_SHOT_MANY;
    if (train_count < few_threshold) return CBD_SHOT_FEW;
    return CBD_SHOT_MID;
}

/* a ranks strictly above b: a larger number, or a number against NaN. */
static int ranks_above(float a, float b) {
    if (isnan(a)) return 0;
    if (isnan(b)) return 1;
    return a > b;
}

int cbd_argmax(const float *z, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (ranks_above(z[c], z[best])) best = c;
    return best;
}

void cbd_top_k(const float *z, int classes, int k, int *out) {
    CBD_ASSERT(k >= 1 && k <= classes, "k = %d, classes = %d", k, classes);
    int filled = 0;
    for (int c = 0; c < classes; c++) {
        /* c goes before the first kept class it ranks strictly above, so a
         * class scoring the same as a kept (lower) class stays behind it */
        int at = filled;
        while (at > 0 && ranks_above(z[c], z[out[at - 1]])) at--;
        if (at >= k) continue;
        const int last = filled < k ? filled : k - 1;
        for (int j = last; j > at; j--) out[j] = out[j - 1];
        out[at] = c;
        if (filled < k) filled++;
    }
}

void cbd_eval_tally_init(cbd_eval_tally *t, int classes, int k) {
    CBD_ASSERT(classes >= 1, "classes = %d", classes);
    memset(t, 0, sizeof *t);
    t->classes = classes;
    t->k = k < 1 ? 1 : k > classes ? classes : k;
    t->test_count = cbd_calloc((size_t)classes, sizeof *t->test_count);
    t->hits = cbd_calloc((size_t)classes, sizeof *t->hits);
    t->hits_k = cbd_calloc((size_t)classes, sizeof *t->hits_k);
    if (classes <= CBD_CONFUSION_DENSE_MAX)
        t->confusion = cbd_calloc((size_t)classes * (size_t)classes, sizeof *t->confusion);
}

static void add_pair(cbd_eval_tally *t, int y, int top) {
    if (t->pair_count == t->pair_capacity) {
        t->pair_capacity = t->pair_capacity ? 2 * t->pair_capacity : 4096;
        int32_t *grown = realloc(t->pairs, (size_t)t->pair_capacity * 2 * sizeof *grown);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory for the confusion matrix");
        t->pairs = grown;
    }
    t->pairs[2 * t->pair_count] = y;
    t->pairs[2 * t->pair_count + 1] = top;
    t->pair_count++;
}

static int by_cell(const void *a, const void *b) {
    const int32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

int64_t cbd_eval_tally_cells(const cbd_eval_tally *t, cbd_confusion_cell **cells) {
    int64_t n = 0;
    if (t->confusion) {
        const size_t all = (size_t)t->classes * (size_t)t->classes;
        for (size_t i = 0; i < all; i++) n += t->confusion[i] != 0;
        *cells = cbd_malloc((size_t)(n ? n : 1) * sizeof **cells);
        n = 0;
        for (size_t i = 0; i < all; i++)
            if (t->confusion[i])
                (*cells)[n++] = (cbd_confusion_cell){(int32_t)(i / (size_t)t->classes),
                                                     (int32_t)(i % (size_t)t->classes), t->confusion[i]};
        return n;
    }
    int32_t *sorted = cbd_malloc((size_t)(t->pair_count ? t->pair_count : 1) * 2 * sizeof *sorted);
    memcpy(sorted, t->pairs, (size_t)t->pair_count * 2 * sizeof *sorted);
    qsort(sorted, (size_t)t->pair_count, 2 * sizeof *sorted, by_cell);
    *cells = cbd_malloc((size_t)(t->pair_count ? t->pair_count : 1) * sizeof **cells);
    for (int64_t i = 0; i < t->pair_count; i++) {
        const int32_t y = sorted[2 * i], p = sorted[2 * i + 1];
        if (n > 0 && (*cells)[n - 1].truth == y && (*cells)[n - 1].predicted == p) (*cells)[n - 1].count++;
        else (*cells)[n++] = (cbd_confusion_cell){y, p, 1};
    }
    free(sorted);
    return n;
}

void cbd_eval_tally_free(cbd_eval_tally *t) {
    free(t->test_count);
    free(t->hits);
    free(t->hits_k);
    free(t->confusion);
    free(t->pairs);
    memset(t, 0, sizeof *t);
}

void cbd_eval_tally_add_ranked(cbd_eval_tally *t, const int *topk, int k_given, const int32_t *labels,
                               int64_t n) {
    CBD_ASSERT(k_given >= t->k, "%d guesses per row, the tally needs %d", k_given, t->k);
    const int classes = t->classes;
    for (int64_t i = 0; i < n; i++) {
        const int y = labels[i];
        if (y < 0 || y >= classes) {
            t->out_of_range++;
            continue;
        }
        const int *guess = topk + (size_t)i * (size_t)k_given;
        const int top = guess[0];
        int in_k = 0;
        for (int j = 0; j < t->k; j++) in_k |= guess[j] == y;
        t->images++;
        t->test_count[y]++;
        if (top == y) {
            t->correct++;
            t->hits[y]++;
        }
        if (in_k) {
            t->correct_k++;
            t->hits_k[y]++;
        }
        if (top < 0 || top >= classes) continue;
        if (t->confusion) t->confusion[(size_t)y * (size_t)classes + (size_t)top]++;
        else add_pair(t, y, top);
    }
}

void cbd_eval_tally_add_logits(cbd_eval_tally *t, const float *logits, const int32_t *labels, int64_t n) {
    int *ranked = cbd_malloc((size_t)t->k * sizeof *ranked);
    for (int64_t i = 0; i < n; i++) {
        cbd_top_k(logits + (size_t)i * (size_t)t->classes, t->classes, t->k, ranked);
        cbd_eval_tally_add_ranked(t, ranked, t->k, labels + i, 1);
    }
    free(ranked);
}

void cbd_eval_summarize(const cbd_eval_tally *t, const int64_t *train_counts, int many_threshold,
                        int few_threshold, cbd_eval_summary *s, double *class_accuracy,
                        cbd_shot_group *class_group) {
    memset(s, 0, sizeof *s);
    s->top1 = t->images ? (double)t->correct / (double)t->images : NAN;
    s->top_k = t->images ? (double)t->correct_k / (double)t->images : NAN;
    double group_sum[CBD_SHOT_GROUPS] = {0}, sum = 0.0;
    for (int c = 0; c < t->classes; c++) {
        const cbd_shot_group g = cbd_shot_group_of(train_counts[c], many_threshold, few_threshold);
        if (class_group) class_group[c] = g;
        s->group_classes[g]++;
        double acc = NAN;
        if (t->test_count[c] > 0) {
            acc = (double)t->hits[c] / (double)t->test_count[c];
            s->group_evaluated[g]++;
            group_sum[g] += acc;
            s->evaluated_classes++;
            sum += acc;
        }
        if (class_accuracy) class_accuracy[c] = acc;
    }
    for (int g = 0; g < CBD_SHOT_GROUPS; g++)
        s->group[g] = s->group_evaluated[g] ? group_sum[g] / s->group_evaluated[g] : NAN;
    s->mean_class = s->evaluated_classes ? sum / s->evaluated_classes : NAN;
}

void cbd_class_counts(const int32_t *labels, int64_t n, int classes, int64_t *counts) {
    memset(counts, 0, (size_t)classes * sizeof *counts);
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < classes) counts[labels[i]]++;
}

/* ---- NCM ---- */

void cbd_ncm_init(cbd_ncm *m, int classes, int d) {
    CBD_ASSERT(classes >= 1 && d >= 1, "classes = %d, d = %d", classes, d);
    memset(m, 0, sizeof *m);
    m->classes = classes;
    m->d = d;
    m->sums = cbd_calloc((size_t)classes * (size_t)d, sizeof *m->sums);
    m->counts = cbd_calloc((size_t)classes, sizeof *m->counts);
    m->means = cbd_calloc((size_t)classes * (size_t)d, sizeof *m->means);
}

void cbd_ncm_free(cbd_ncm *m) {
    free(m->sums);
    free(m->counts);
    free(m->means);
    memset(m, 0, sizeof *m);
}

/* Euclidean norm of x[0..d) in double, or 0 when a value is not finite. */
static double row_norm(const float *x, int d, int *finite) {
    double s = 0.0;
    *finite = 1;
    for (int k = 0; k < d; k++) {
        if (!isfinite(x[k])) {
            *finite = 0;
            return 0.0;
        }
        s += (double)x[k] * (double)x[k];
    }
    return sqrt(s);
}

void cbd_ncm_add(cbd_ncm *m, const float *features, const int32_t *labels, int64_t n) {
    CBD_ASSERT(!m->finished, "cbd_ncm_add after cbd_ncm_finish");
    const int d = m->d;
    for (int64_t i = 0; i < n; i++) {
        const float *x = features + (size_t)i * (size_t)d;
        const int y = labels[i];
        int finite;
        const double norm = row_norm(x, d, &finite);
        if (y < 0 || y >= m->classes || !finite || norm == 0.0) {
            m->dropped++;
            continue;
        }
        double *sum = m->sums + (size_t)y * (size_t)d;
        for (int k = 0; k < d; k++) sum[k] += (double)x[k] / norm;
        m->counts[y]++;
    }
}

void cbd_ncm_finish(cbd_ncm *m) {
    const int d = m->d;
    for (int c = 0; c < m->classes; c++) {
        const double *sum = m->sums + (size_t)c * (size_t)d;
        float *mean = m->means + (size_t)c * (size_t)d;
        double norm = 0.0;
        for (int k = 0; k < d; k++) norm += sum[k] * sum[k];
        norm = sqrt(norm);
        if (norm == 0.0) { /* no rows, or rows that cancel out: no direction to compare with */
            memset(mean, 0, (size_t)d * sizeof *mean);
            m->dropped += m->counts[c];
            m->counts[c] = 0;
            continue;
        }
        for (int k = 0; k < d; k++) mean[k] = (float)(sum[k] / norm);
    }
    m->finished = 1;
}

int cbd_ncm_class_count(const cbd_ncm *m) {
    int n = 0;
    for (int c = 0; c < m->classes; c++) n += m->counts[c] > 0;
    return n;
}

void cbd_ncm_predict(const cbd_ncm *m, const float *features, int64_t n, int *pred) {
    CBD_ASSERT(m->finished, "cbd_ncm_predict before cbd_ncm_finish");
    const int d = m->d, classes = m->classes;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *x = features + (size_t)i * (size_t)d;
        int finite;
        const double norm = row_norm(x, d, &finite);
        int best = -1;
        double best_cos = 0.0;
        if (finite && norm > 0.0) {
            for (int c = 0; c < classes; c++) {
                if (m->counts[c] == 0) continue;
                const float *mean = m->means + (size_t)c * (size_t)d;
                double dot = 0.0;
                for (int k = 0; k < d; k++) dot += (double)x[k] * (double)mean[k];
                const double cos = dot / norm;
                if (best < 0 || cos > best_cos) {
                    best = c;
                    best_cos = cos;
                }
            }
        }
        pred[i] = best;
    }
}
