#include "tools/report_svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

/* Canvas and plot area, in pixels; the legend sits right of the plot. */
enum { WIDTH = 720, HEIGHT = 480, PLOT_LEFT = 70, PLOT_RIGHT = 545, PLOT_TOP = 50, PLOT_BOTTOM = 415 };
enum { LEGEND_X = 560, LEGEND_ROWS = 20, LEGEND_CHARS = 20 };

static const char *const palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

typedef struct {
    double lo, hi; /* data range mapped onto the plot's width */
} x_axis;

static double px_x(const x_axis *a, double x) {
    return PLOT_LEFT + (x - a->lo) / (a->hi - a->lo) * (PLOT_RIGHT - PLOT_LEFT);
}

/* y: a percentage in [0, 100] (clamped). */
static double px_y(double percent) {
    if (percent < 0.0) percent = 0.0;
    if (percent > 100.0) percent = 100.0;
    return PLOT_BOTTOM - percent / 100.0 * (PLOT_BOTTOM - PLOT_TOP);
}

static void svg_open(report_text *t, const char *title) {
    report_text_printf(t,
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                       "font-family=\"sans-serif\" font-size=\"12\">\n",
                       WIDTH, HEIGHT, WIDTH, HEIGHT);
    report_text_put(t, "<title>");
    report_text_xml(t, title);
    report_text_put(t, "</title>\n");
    report_text_printf(t, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT);
    report_text_printf(t, "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">",
                       (PLOT_LEFT + PLOT_RIGHT) / 2);
    report_text_xml(t, title);
    report_text_put(t, "</text>\n");
}

/* The frame, the y axis (0-100 %, grid every 20) and both axis titles. */
static void svg_frame(report_text *t, const char *x_title, const char *y_title) {
    for (int p = 0; p <= 100; p += 20) {
        double y = px_y(p);
        report_text_printf(t,
                           "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#dddddd\"/>\n"
                           "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%d</text>\n",
                           PLOT_LEFT, y, PLOT_RIGHT, y, PLOT_LEFT - 6, y + 4, p);
    }
    report_text_printf(t,
                       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n",
                       PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP);
    report_text_printf(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (PLOT_LEFT + PLOT_RIGHT) / 2,
                       HEIGHT - 22);
    report_text_xml(t, x_title);
    report_text_put(t, "</text>\n");
    report_text_printf(t, "<text x=\"20\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 20 %d)\">",
                       (PLOT_TOP + PLOT_BOTTOM) / 2, (PLOT_TOP + PLOT_BOTTOM) / 2);
    report_text_xml(t, y_title);
    report_text_put(t, "</text>\n");
}

/* A vertical tick with its label under the axis; faint grid line when grid. */
static void x_tick(report_text *t, double x, const char *label, int grid) {
    if (grid)
        report_text_printf(t, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#dddddd\"/>\n", x,
                           PLOT_TOP, x, PLOT_BOTTOM);
    report_text_printf(t,
                       "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/>\n"
                       "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">",
                       x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5, x, PLOT_BOTTOM + 18);
    report_text_xml(t, label);
    report_text_put(t, "</text>\n");
}

/* A marker: circle, square or diamond (shape 0, 1, 2). */
static void marker(report_text *t, int shape, double x, double y, const char *colour) {
    if (shape == 1)
        report_text_printf(t, "<rect x=\"%.2f\" y=\"%.2f\" width=\"7\" height=\"7\" fill=\"%s\"", x - 3.5, y - 3.5,
                           colour);
    else if (shape == 2)
        report_text_printf(t, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"%s\"", x, y - 4.5,
                           x + 4.5, y, x, y + 4.5, x - 4.5, y, colour);
    else
        report_text_printf(t, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"", x, y, colour);
}

/* Legend row `row`: a line and marker in the colour, then the label (cut to
 * LEGEND_CHARS characters, whole UTF-8 sequences). */
static void legend_row(report_text *t, int row, int shape, const char *colour, const char *label) {
    double y = PLOT_TOP + 8 + row * 18;
    report_text_printf(t, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                       LEGEND_X, y, LEGEND_X + 24, y, colour);
    marker(t, shape, LEGEND_X + 12, y, colour);
    report_text_put(t, "/>\n");
    size_t cut = 0, chars = 0;
    while (label[cut] && chars < LEGEND_CHARS) {
        cut++;
        while (((unsigned char)label[cut] & 0xc0) == 0x80) cut++;
        chars++;
    }
    char *shown = cbd_malloc(cut + 1);
    memcpy(shown, label, cut);
    shown[cut] = '\0';
    report_text_printf(t, "<text x=\"%d\" y=\"%.2f\">", LEGEND_X + 30, y + 4);
    report_text_xml(t, shown);
    report_text_put(t, label[cut] ? "\xe2\x80\xa6</text>\n" : "</text>\n");
    free(shown);
}

static void legend_more(report_text *t, int hidden) {
    report_text_printf(t, "<text x=\"%d\" y=\"%.2f\">and %d more</text>\n", LEGEND_X,
                       PLOT_TOP + 12.0 + LEGEND_ROWS * 18, hidden);
}

/* ---- per class ------------------------------------------------------------- */

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

void report_svg_per_class(report_text *t, const char *title, int classes, const char *const *class_names,
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
    double pad = 0.04 * (hi - lo);
    x_axis ax = {lo - pad, hi + pad};

    svg_open(t, title);
    svg_frame(t, "training images of the class (log scale)", "top-1 accuracy (%)");
    double min_x = px_x(&ax, log_count(min_count)), max_x = px_x(&ax, log_count(max_count));
    char label[32];
    for (int k = (int)ceil(lo); k <= (int)floor(hi); k++) {
        double x = px_x(&ax, k);
        int crowded = fabs(x - min_x) < 30 || fabs(x - max_x) < 30;
        count_label(label, sizeof label, pow(10.0, k));
        x_tick(t, x, crowded ? "" : label, 1);
    }
    count_label(label, sizeof label, (double)min_count);
    x_tick(t, min_x, label, 0);
    if (max_count != min_count) {
        count_label(label, sizeof label, (double)max_count);
        x_tick(t, max_x, label, 0);
    }

    for (int s = 0; s < nseries; s++) {
        const char *colour = palette[s % 10];
        const int shape = (s / 10) % 3;
        report_text_printf(t, "<g>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-opacity=\"0.8\" points=\"",
                           colour);
        for (int k = 0; k < classes; k++) {
            int c = order[k];
            report_text_printf(t, "%s%.2f,%.2f", k ? " " : "", px_x(&ax, log_count(train_count[c])),
                               px_y(100.0 * series[s].accuracy[c]));
        }
        report_text_put(t, "\"/>\n");
        for (int k = 0; k < classes; k++) {
            int c = order[k];
            marker(t, shape, px_x(&ax, log_count(train_count[c])), px_y(100.0 * series[s].accuracy[c]), colour);
            report_text_put(t, "><title>");
            report_text_xml(t, series[s].label);
            report_text_put(t, ": ");
            report_text_xml(t, class_names[c]);
            report_text_printf(t, " (%lld): %.1f%%</title></%s>\n", train_count[c], 100.0 * series[s].accuracy[c],
                               shape == 1 ? "rect" : shape == 2 ? "polygon" : "circle");
        }
        report_text_put(t, "</g>\n");
        if (s < LEGEND_ROWS) legend_row(t, s, shape, colour, series[s].label);
    }
    if (nseries > LEGEND_ROWS) legend_more(t, nseries - LEGEND_ROWS);
    report_text_put(t, "</svg>\n");
    free(order);
}

/* ---- sweep ---------------------------------------------------------------- */

/* A step of 1, 2 or 5 times a power of ten near span / 6. */
static double nice_step(double span) {
    double raw = span / 6.0, base = pow(10.0, floor(log10(raw)));
    double f = raw / base;
    return base * (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0);
}

void report_svg_sweep(report_text *t, const char *title, const char *x_name, const report_sweep_point *points,
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
    x_axis ax = {lo - 0.06 * span, hi + 0.06 * span};
    if (hi == lo) ax = (x_axis){lo - span / 2, hi + span / 2};

    svg_open(t, title);
    svg_frame(t, x_name, "top-1 accuracy (%)");
    double step = nice_step(ax.hi - ax.lo);
    double first = ceil(ax.lo / step) * step;
    for (int k = 0; k < 50 && first + k * step <= ax.hi + 1e-9 * step; k++) {
        double v = first + k * step;
        char label[32];
        snprintf(label, sizeof label, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        x_tick(t, px_x(&ax, v), label, 1);
    }

    for (int s = 0; s < REPORT_SWEEP_SERIES; s++) {
        report_text_printf(t, "<g>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                           colours[s]);
        int drawn = 0; /* a group with no class at a point (NAN) has no point there */
        for (int k = 0; k < npoints; k++)
            if (!isnan(points[k].mean[s]))
                report_text_printf(t, "%s%.2f,%.2f", drawn++ ? " " : "", px_x(&ax, points[k].x),
                                   px_y(100.0 * points[k].mean[s]));
        report_text_put(t, "\"/>\n");
        for (int k = 0; k < npoints; k++) {
            const report_sweep_point *p = &points[k];
            if (isnan(p->mean[s])) continue;
            double x = px_x(&ax, p->x), y = px_y(100.0 * p->mean[s]);
            if (p->n >= 2 && p->sd[s] > 0.0) {
                double top = px_y(100.0 * (p->mean[s] + p->sd[s])), bottom = px_y(100.0 * (p->mean[s] - p->sd[s]));
                report_text_printf(t,
                                   "<path d=\"M%.2f,%.2f V%.2f M%.2f,%.2f H%.2f M%.2f,%.2f H%.2f\" stroke=\"%s\" "
                                   "fill=\"none\"/>\n",
                                   x, top, bottom, x - 4, top, x + 4, x - 4, bottom, x + 4, colours[s]);
            }
            marker(t, 0, x, y, colours[s]);
            report_text_put(t, "><title>");
            report_text_xml(t, p->label);
            report_text_put(t, " (");
            report_text_xml(t, x_name);
            report_text_printf(t, " = %g): %s %.1f%%", p->x, names[s], 100.0 * p->mean[s]);
            if (p->n >= 2) report_text_printf(t, " \xc2\xb1 %.1f (%d seeds)", 100.0 * p->sd[s], p->n);
            report_text_put(t, "</title></circle>\n");
        }
        report_text_put(t, "</g>\n");
        legend_row(t, s, 0, colours[s], names[s]);
    }
    report_text_printf(t, "<text x=\"%d\" y=\"%d\" font-size=\"11\">bars: \xc2\xb1" "1 sd over seeds</text>\n",
                       LEGEND_X, PLOT_TOP + 8 + REPORT_SWEEP_SERIES * 18 + 10);
    report_text_put(t, "</svg>\n");
}
