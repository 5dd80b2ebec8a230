/* cbd-report's plots (tools/report_plots.h) on the shared chart frame. */
#include "tools/report_plots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "tools/plot/chart.h"

/* ---- per class ------------------------------------------------------------- */

/* Classes drawn one point each; above, PER_CLASS_BINS bins of training count. */
enum { PER_CLASS_POINTS = 200, PER_CLASS_BINS = 30 };

static const long long *sort_counts;

static int by_count(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_counts[i] != sort_counts[j]) return sort_counts[i] < sort_counts[j] ? -1 : 1;
    return i - j;
}

static double log_count(long long count) { return log10(count < 1 ? 1.0 : (double)count); }

static void count_label(char *buf, size_t len, double count) {
    if (count >= 1e6) snprintf(buf, len, "%.3g", count);
    else snprintf(buf, len, "%.0f", count);
}

void report_plot_per_class(plot_figure *f, const char *title, int classes, const char *const *class_names,
                           const long long *train_count, const report_series *series, int nseries) {
    int *order = cbd_malloc((size_t)classes * sizeof *order);
    for (int c = 0; c < classes; c++) order[c] = c;
    sort_counts = train_count;
    qsort(order, (size_t)classes, sizeof *order, by_count);
    long long min_count = train_count[order[0]], max_count = train_count[order[classes - 1]];
    double lo = log_count(min_count), hi = log_count(max_count);
    if (hi - lo < 1e-9) {
        lo -= 0.5;
        hi += 0.5;
    }
    const double pad = 0.04 * (hi - lo);

    plot_figure_init(f, PLOT_WIDTH, PLOT_HEIGHT, title);
    plot_chart c;
    plot_chart_begin(&c, f, title, "training images of the class (log scale)", "top-1 accuracy (%)", lo - pad,
                     hi + pad, 0, 100, 20);
    const double min_x = plot_chart_x(&c, log_count(min_count)), max_x = plot_chart_x(&c, log_count(max_count));
    char label[32];
    for (int k = (int)ceil(lo); k <= (int)floor(hi); k++) {
        const double x = plot_chart_x(&c, k);
        const int crowded = fabs(x - min_x) < 30 || fabs(x - max_x) < 30;
        count_label(label, sizeof label, pow(10.0, k));
        plot_chart_x_tick(&c, k, crowded ? "" : label, 1);
    }
    count_label(label, sizeof label, (double)min_count);
    plot_chart_x_tick(&c, log_count(min_count), label, 0);
    if (max_count != min_count) {
        count_label(label, sizeof label, (double)max_count);
        plot_chart_x_tick(&c, log_count(max_count), label, 0);
    }

    /* Up to PER_CLASS_POINTS classes a point each; beyond (iNaturalist's 8,142)
     * a point per bin of training count: the mean accuracy of its classes. */
    const int binned = classes > PER_CLASS_POINTS;
    int *bin_of = cbd_malloc((size_t)classes * sizeof *bin_of);
    int points = classes;
    if (binned) {
        points = 0;
        int last = -1;
        for (int k = 0; k < classes; k++) {
            const double f = (log_count(train_count[order[k]]) - lo) / (hi - lo);
            int b = (int)(f * PER_CLASS_BINS);
            if (b >= PER_CLASS_BINS) b = PER_CLASS_BINS - 1;
            if (b != last) points++;
            last = b;
            bin_of[k] = points - 1; /* the k-th class (by count) lies in point bin_of[k] */
        }
    } else {
        for (int k = 0; k < classes; k++) bin_of[k] = k;
    }
    double *xy = cbd_malloc((size_t)points * 2 * sizeof *xy);
    double *sum = cbd_malloc((size_t)points * sizeof *sum), *logs = cbd_malloc((size_t)points * sizeof *logs);
    int *n = cbd_malloc((size_t)points * sizeof *n), *members = cbd_malloc((size_t)points * sizeof *members);
    long long *min_c = cbd_malloc((size_t)points * sizeof *min_c), *max_c = cbd_malloc((size_t)points * sizeof *max_c);
    int shown = 0;
    for (int s = 0; s < nseries; s++) {
        const char *colour = plot_palette[s % 10];
        const plot_shape shape = (plot_shape)((s / 10) % 3);
        for (int q = 0; q < points; q++) {
            sum[q] = logs[q] = 0.0;
            n[q] = members[q] = 0;
            min_c[q] = -1;
            max_c[q] = 0;
        }
        for (int k = 0; k < classes; k++) {
            const int q = bin_of[k], cl = order[k];
            const double a = series[s].accuracy[cl];
            logs[q] += log_count(train_count[cl]);
            members[q]++;
            if (min_c[q] < 0 || train_count[cl] < min_c[q]) min_c[q] = train_count[cl];
            if (train_count[cl] > max_c[q]) max_c[q] = train_count[cl];
            if (isnan(a)) continue;
            sum[q] += a;
            n[q]++;
        }
        for (int q = 0; q < points; q++) {
            xy[2 * q] = plot_chart_x(&c, logs[q] / members[q]);
            xy[2 * q + 1] = n[q] ? plot_chart_y(&c, 100.0 * sum[q] / n[q]) : NAN;
        }
        plot_polyline(f, xy, points, colour, 1.5, 0.8);
        for (int q = 0; q < points; q++) {
            if (isnan(xy[2 * q + 1])) continue;
            char tip[1024];
            if (binned)
                snprintf(tip, sizeof tip, "%s: %d classes of %lld to %lld training images: mean %.1f%%",
                         series[s].label, members[q], min_c[q], max_c[q], 100.0 * sum[q] / n[q]);
            else
                snprintf(tip, sizeof tip, "%s: %s (%lld): %.1f%%", series[s].label, class_names[order[q]],
                         train_count[order[q]], 100.0 * series[s].accuracy[order[q]]);
            plot_marker(f, shape, xy[2 * q], xy[2 * q + 1], colour, tip);
        }
        if (!plot_chart_legend_full(&c)) {
            plot_chart_legend(&c, shape, colour, series[s].label);
            shown++;
        }
    }
    if (binned) {
        char note[96];
        snprintf(note, sizeof note, "%d classes: each point the", classes);
        plot_chart_legend_note(&c, note);
        plot_chart_legend_note(&c, "mean of a bin of classes");
        plot_chart_legend_note(&c, "by training images");
    }
    free(sum);
    free(logs);
    free(n);
    free(members);
    free(min_c);
    free(max_c);
    free(bin_of);
    if (shown < nseries) {
        snprintf(label, sizeof label, "and %d more", nseries - shown);
        plot_chart_legend_note(&c, label);
    }
    free(xy);
    free(order);
}

/* ---- sweep ---------------------------------------------------------------- */

void report_plot_sweep(plot_figure *f, const char *title, const char *x_name, const report_sweep_point *points,
                       int npoints) {
    static const char *const names[REPORT_SWEEP_SERIES] = {"all", "many", "mid", "few"};
    static const char *const colours[REPORT_SWEEP_SERIES] = {"#222222", "#1f77b4", "#2ca02c", "#d62728"};
    double lo = points[0].x, hi = points[0].x;
    for (int k = 1; k < npoints; k++) {
        lo = fmin(lo, points[k].x);
        hi = fmax(hi, points[k].x);
    }
    double span = hi - lo;
    if (span <= 0.0) span = lo != 0.0 ? fabs(lo) : 1.0;
    double x_lo = lo - 0.06 * span, x_hi = hi + 0.06 * span;
    if (hi == lo) {
        x_lo = lo - span / 2;
        x_hi = hi + span / 2;
    }

    plot_figure_init(f, PLOT_WIDTH, PLOT_HEIGHT, title);
    plot_chart c;
    plot_chart_begin(&c, f, title, x_name, "top-1 accuracy (%)", x_lo, x_hi, 0, 100, 20);
    plot_chart_x_ticks(&c);

    double *xy = cbd_malloc((size_t)npoints * 2 * sizeof *xy);
    for (int s = 0; s < REPORT_SWEEP_SERIES; s++) {
        /* a group with no class at a point (NAN) has no point there */
        for (int k = 0; k < npoints; k++) {
            xy[2 * k] = plot_chart_x(&c, points[k].x);
            xy[2 * k + 1] = isnan(points[k].mean[s]) ? NAN : plot_chart_y(&c, 100.0 * points[k].mean[s]);
        }
        plot_polyline(f, xy, npoints, colours[s], 1.5, 1.0);
        for (int k = 0; k < npoints; k++) {
            const report_sweep_point *p = &points[k];
            if (isnan(p->mean[s])) continue;
            const double x = xy[2 * k], y = xy[2 * k + 1];
            if (p->n >= 2 && p->sd[s] > 0.0) {
                const double top = plot_chart_y(&c, 100.0 * (p->mean[s] + p->sd[s]));
                const double bottom = plot_chart_y(&c, 100.0 * (p->mean[s] - p->sd[s]));
                plot_line(f, x, top, x, bottom, colours[s], 1.0);
                plot_line(f, x - 4, top, x + 4, top, colours[s], 1.0);
                plot_line(f, x - 4, bottom, x + 4, bottom, colours[s], 1.0);
            }
            char tip[512];
            int at = snprintf(tip, sizeof tip, "%s (%s = %g): %s %.1f%%", p->label, x_name, p->x, names[s],
                              100.0 * p->mean[s]);
            if (p->n >= 2 && at > 0 && (size_t)at < sizeof tip)
                snprintf(tip + at, sizeof tip - (size_t)at, " \xc2\xb1 %.1f (%d seeds)", 100.0 * p->sd[s], p->n);
            plot_marker(f, PLOT_CIRCLE, x, y, colours[s], tip);
        }
        plot_chart_legend(&c, PLOT_CIRCLE, colours[s], names[s]);
    }
    plot_chart_legend_note(&c, "bars: \xc2\xb1" "1 sd over seeds");
    free(xy);
}
