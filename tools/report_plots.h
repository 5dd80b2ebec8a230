/* The plots of cbd-report, drawn on figures (tools/plot/figure.h) that the
 * report writes as SVG and PNG. */
#ifndef CBD_REPORT_PLOTS_H
#define CBD_REPORT_PLOTS_H

#include "tools/plot/figure.h"

/* One model's per-class top-1 accuracies (fractions, one per class). */
typedef struct {
    const char *label;
    const double *accuracy;
} report_series;

/* Per-class accuracy (0-100 %) against the class's training images (log10
 * axis): one coloured series per model, classes joined in order of count.
 * f: initialised by the call. */
void report_plot_per_class(plot_figure *f, const char *title, int classes, const char *const *class_names,
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
 * bars of +-1 sd where n >= 2. f: initialised by the call. */
void report_plot_sweep(plot_figure *f, const char *title, const char *x_name, const report_sweep_point *points,
                       int npoints);

#endif
