/* Metrics CSVs for the training curves (tools/curves_csv.h). */
#include "tools/curves_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

/* Splits line at commas in place (the newline removed); returns the fields. */
static int split(char *line, char **fields, int max) {
    line[strcspn(line, "\r\n")] = '\0';
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max) fields[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    return n;
}

int curves_csv_read(const char *path, curves_csv *csv, char *err, size_t err_len) {
    memset(csv, 0, sizeof *csv);
    FILE *f = fopen(path, "r");
    if (!f) {
        cbd_set_error(err, err_len, "%s: cannot open the metrics file", path);
        return -1;
    }
    char line[4096];
    char *fields[CURVES_MAX_COLUMNS + 1];
    int rc = 0, cap = 0;
    if (!fgets(line, sizeof line, f)) {
        cbd_set_error(err, err_len, "%s: empty (no header line)", path);
        rc = -1;
    } else {
        csv->columns = split(line, fields, CURVES_MAX_COLUMNS + 1);
        if (csv->columns > CURVES_MAX_COLUMNS) {
            cbd_set_error(err, err_len, "%s:1: %d columns, at most %d", path, csv->columns, CURVES_MAX_COLUMNS);
            csv->columns = 0;
            rc = -1;
        }
        for (int k = 0; k < csv->columns; k++) csv->names[k] = cbd_strdup(fields[k]);
    }
    for (int lineno = 2; rc == 0 && fgets(line, sizeof line, f); lineno++) {
        if (line[0] == '\n' || line[0] == '\0') continue;
        const int n = split(line, fields, CURVES_MAX_COLUMNS + 1);
        if (n != csv->columns) {
            cbd_set_error(err, err_len, "%s:%d: %d fields, the header has %d", path, lineno, n, csv->columns);
            rc = -1;
            break;
        }
        if (csv->rows == cap) {
            cap = cap ? 2 * cap : 64;
            double *grown = realloc(csv->values, (size_t)cap * csv->columns * sizeof *grown);
            if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading %s", path);
            csv->values = grown;
        }
        for (int k = 0; k < n; k++) {
            char *end = NULL;
            double v = strtod(fields[k], &end);
            if (fields[k][0] == '\0') v = NAN; /* empty */
            else if (end == fields[k] || *end != '\0') {
                cbd_set_error(err, err_len, "%s:%d: column %s: '%s' is not a number", path, lineno, csv->names[k],
                              fields[k]);
                rc = -1;
                break;
            }
            csv->values[(size_t)csv->rows * csv->columns + k] = v;
        }
        if (rc == 0) csv->rows++;
    }
    fclose(f);
    if (rc != 0) curves_csv_free(csv);
    return rc;
}

int curves_csv_column(const curves_csv *csv, const char *name) {
    for (int k = 0; k < csv->columns; k++)
        if (strcmp(csv->names[k], name) == 0) return k;
    return -1;
}

void curves_csv_free(curves_csv *csv) {
    for (int k = 0; k < csv->columns; k++) free(csv->names[k]);
    free(csv->values);
    memset(csv, 0, sizeof *csv);
}
