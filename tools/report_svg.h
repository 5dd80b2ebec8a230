/* The plots of cbd-report, written as SVG text (no external tools). */
#ifndef CBD_REPORT_SVG_H
#define CBD_REPORT_SVG_H

#include "tools/report_text.h"

/* One model's per-class top-1 accuracies (fractions, one per class). */
typedef struct {
    const char *label;
    const double *accuracy;
} report_series;

/* Per-class accuracy (0-100 %) against the class's training images (log10
 * axis): one coloured series per model, classes joined in order of count. */
void report_svg_per_class(report_text *t, const char *title, int classes, const char *const *class_names,
                          const long long *train_count, const report_series *series, int nseries);

enum { REPORT_SWEEP_ALL, REPORT_SWEEP_MANY, REPORT_SWEEP_MID, REPORT_SWEEP_FEW, REPORT_SWEEP_SERIES };

/* One sweep point: the mean and sample sd (fractions) over n seeds. */
typedef struct {
    const char *label;
    double x;
    int n;
    double mean[REPORT_SWEEP_SERIES];
    double sd[REPORT_SWEEP_SERIES];
} report_sweep_point;

/* all, many, mid and few accuracy (0-100 %) against x (linear), with error
 * bars of +-1 sd where n >= 2. */
void report_svg_sweep(report_text *t, const char *title, const char *x_name, const report_sweep_point *points,
                      int npoints);

#endif
