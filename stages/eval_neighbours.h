/* The nearest training images of a few test images in a model's feature
 * space (the cosine of l2-normalised pooled features), as the paper's
 * Figure 4 shows them: cbd-evaluate --neighbours K writes them, the contact
 * sheet (tools/contact_sheet.c) draws them for several models side by side.
 *
 * The queries: the first QUERIES_PER_CLASS images of the split in each of
 * the TAIL_CLASSES classes with the fewest training images (ties by class
 * index), so every model is asked about the same images. */
#ifndef CBD_EVAL_NEIGHBOURS_H
#define CBD_EVAL_NEIGHBOURS_H

#include <stddef.h>
#include <stdint.h>

enum { CBD_NEIGHBOURS_TAIL_CLASSES = 5, CBD_NEIGHBOURS_QUERIES_PER_CLASS = 2, CBD_NEIGHBOURS_MAX = 64 };

typedef struct {
    int k, d, classes;
    int tail[CBD_NEIGHBOURS_TAIL_CLASSES];
    int tail_count;
    /* the training set, in order: unit rows */
    float *train;
    int32_t *train_labels;
    int64_t train_rows, train_capacity;
    /* the queries met so far in the split */
    int64_t query_index[CBD_NEIGHBOURS_TAIL_CLASSES * CBD_NEIGHBOURS_QUERIES_PER_CLASS];
    int32_t query_label[CBD_NEIGHBOURS_TAIL_CLASSES * CBD_NEIGHBOURS_QUERIES_PER_CLASS];
    float *query; /* unit rows */
    int queries;
    int64_t split_rows; /* rows of the split seen: the next row's index */
} cbd_neighbours;

/* train_counts: training images per class, which choose the tail classes. */
void cbd_neighbours_init(cbd_neighbours *nb, int k, int d, int classes, const int64_t *train_counts);
/* n training rows (features [n, d], in dataset order). */
void cbd_neighbours_add_train(cbd_neighbours *nb, const float *features, const int32_t *labels, int n);
/* n rows of the split (in order): the queries among them are kept. */
void cbd_neighbours_add_split(cbd_neighbours *nb, const float *features, const int32_t *labels, int n);
/* The CSV: query_index,query_class,rank,train_index,train_class,cosine, a
 * row per query and neighbour (rank 1 the nearest; ties by index), written
 * atomically. 0, or -1 with why in err. */
int cbd_neighbours_write(const cbd_neighbours *nb, const char *path, char *err, size_t err_len);
void cbd_neighbours_free(cbd_neighbours *nb);

#endif
