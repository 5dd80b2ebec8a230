/* The per-epoch metrics CSV of a stage. Rows are kept in memory and the file
 * is rewritten atomically after each epoch, so it always matches the last
 * checkpoint; a resumed run keeps the rows of the epochs it resumes after. */
#ifndef CBD_METRICS_H
#define CBD_METRICS_H

#include <stddef.h>

typedef struct {
    char path[4200];
    char header[512];
    int columns;
    char **rows; /* without newline */
    int count, capacity;
} cbd_metrics;

/* header: comma-separated column names; the first column is the epoch. */
void cbd_metrics_init(cbd_metrics *m, const char *path, const char *header);
/* Keeps the rows of an existing file whose epoch is <= up_to_epoch (when the
 * file exists and has the same header). */
void cbd_metrics_resume(cbd_metrics *m, long up_to_epoch);
void cbd_metrics_add(cbd_metrics *m, const char *row);
int cbd_metrics_write(const cbd_metrics *m, char *err, size_t err_len);
/* The CSV as text (header and rows), malloc'd. */
char *cbd_metrics_text(const cbd_metrics *m, size_t *len);
void cbd_metrics_free(cbd_metrics *m);

#endif
