/* Nearest training images of the tail classes' test images (stages/eval_neighbours.h). */
#include "stages/eval_neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/fsutil.h"
#include "store/text.h"

void cbd_neighbours_init(cbd_neighbours *nb, int k, int d, int classes, const int64_t *train_counts) {
    memset(nb, 0, sizeof *nb);
    nb->k = k;
    nb->d = d;
    nb->classes = classes;
    /* the classes of fewest training images: repeated selection, ties by index */
    for (int t = 0; t < CBD_NEIGHBOURS_TAIL_CLASSES && t < classes; t++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int u = 0; u < t; u++) taken |= nb->tail[u] == c;
            if (!taken && (best < 0 || train_counts[c] < train_counts[best])) best = c;
        }
        nb->tail[nb->tail_count++] = best;
    }
    nb->query = cbd_malloc((size_t)CBD_NEIGHBOURS_TAIL_CLASSES * CBD_NEIGHBOURS_QUERIES_PER_CLASS * d * sizeof(float));
}

/* row / |row| into out (zeros stay zeros). */
static void unit(const float *row, int d, float *out) {
    double s = 0.0;
    for (int j = 0; j < d; j++) s += (double)row[j] * row[j];
    const double inv = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
    for (int j = 0; j < d; j++) out[j] = (float)(row[j] * inv);
}

void cbd_neighbours_add_train(cbd_neighbours *nb, const float *features, const int32_t *labels, int n) {
    if (nb->train_rows + n > nb->train_capacity) {
        int64_t cap = nb->train_capacity ? nb->train_capacity : 1024;
        while (cap < nb->train_rows + n) cap *= 2;
        float *rows = realloc(nb->train, (size_t)cap * nb->d * sizeof(float));
        int32_t *lab = realloc(nb->train_labels, (size_t)cap * sizeof(int32_t));
        if (!rows || !lab) cbd_fail(CBD_EXIT_FAILURE, "out of memory holding %lld training features for --neighbours",
                                    (long long)cap);
        nb->train = rows;
        nb->train_labels = lab;
        nb->train_capacity = cap;
    }
    for (int i = 0; i < n; i++) {
        unit(features + (size_t)i * nb->d, nb->d, nb->train + (size_t)nb->train_rows * nb->d);
        nb->train_labels[nb->train_rows++] = labels[i];
    }
}

void cbd_neighbours_add_split(cbd_neighbours *nb, const float *features, const int32_t *labels, int n) {
    for (int i = 0; i < n; i++, nb->split_rows++) {
        int tail = 0, have = 0;
        for (int t = 0; t < nb->tail_count; t++) tail |= nb->tail[t] == labels[i];
        for (int q = 0; q < nb->queries; q++) have += nb->query_label[q] == labels[i];
        if (!tail || have >= CBD_NEIGHBOURS_QUERIES_PER_CLASS) continue;
        unit(features + (size_t)i * nb->d, nb->d, nb->query + (size_t)nb->queries * nb->d);
        nb->query_index[nb->queries] = nb->split_rows;
        nb->query_label[nb->queries] = labels[i];
        nb->queries++;
    }
}

/* The k best (largest cosine, then smallest index) of the training rows. */
static int nearest(const cbd_neighbours *nb, const float *q, int64_t *best, double *cos) {
    int found = 0;
    for (int64_t r = 0; r < nb->train_rows; r++) {
        const float *t = nb->train + (size_t)r * nb->d;
        double s = 0.0;
        for (int j = 0; j < nb->d; j++) s += (double)q[j] * t[j];
        if (found == nb->k && s <= cos[found - 1]) continue;
        int at = found < nb->k ? found++ : found - 1;
        while (at > 0 && s > cos[at - 1]) {
            cos[at] = cos[at - 1];
            best[at] = best[at - 1];
            at--;
        }
        cos[at] = s;
        best[at] = r;
    }
    return found;
}

int cbd_neighbours_write(const cbd_neighbours *nb, const char *path, char *err, size_t err_len) {
    cbd_text t = {0};
    cbd_text_printf(&t, "query_index,query_class,rank,train_index,train_class,cosine\n");
    int64_t best[CBD_NEIGHBOURS_MAX];
    double cos[CBD_NEIGHBOURS_MAX];
    for (int q = 0; q < nb->queries; q++) {
        const int found = nearest(nb, nb->query + (size_t)q * nb->d, best, cos);
        for (int r = 0; r < found; r++)
            cbd_text_printf(&t, "%lld,%d,%d,%lld,%d,%.6f\n", (long long)nb->query_index[q], nb->query_label[q], r + 1,
                            (long long)best[r], nb->train_labels[best[r]], cos[r]);
    }
    const int rc = cbd_write_file_atomic(path, cbd_text_str(&t), strlen(cbd_text_str(&t)), err, err_len);
    cbd_text_free(&t);
    return rc;
}

void cbd_neighbours_free(cbd_neighbours *nb) {
    free(nb->train);
    free(nb->train_labels);
    free(nb->query);
    memset(nb, 0, sizeof *nb);
}
