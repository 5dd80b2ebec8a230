/* A run's metrics CSV (training/metrics.c writes it: a header line, then a
 * row per epoch), read by column name for the training curves. */
#ifndef CBD_CURVES_CSV_H
#define CBD_CURVES_CSV_H

#include <stddef.h>

enum { CURVES_MAX_COLUMNS = 32 };

typedef struct {
    int columns, rows;
    char *names[CURVES_MAX_COLUMNS];
    double *values; /* rows x columns; "nan" or an empty cell: NAN */
} curves_csv;

/* 0, or -1 with why (naming the file and line) in err. */
int curves_csv_read(const char *path, curves_csv *csv, char *err, size_t err_len);
/* The column named name, or -1. */
int curves_csv_column(const curves_csv *csv, const char *name);
static inline double curves_csv_at(const curves_csv *csv, int row, int column) {
    return csv->values[(size_t)row * csv->columns + column];
}
void curves_csv_free(curves_csv *csv);

#endif
