/* cbd-curves: training curves from runs' metrics CSVs, as SVG and PNG.
 * One figure per run (loss with its CE and distillation parts, accuracy,
 * learning rate, per epoch) and one comparing the runs (loss, and
 * validation accuracy when the runs measured it). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/fsutil.h"
#include "tools/cli.h"
#include "tools/curves_csv.h"
#include "tools/plot/chart.h"

static const char usage_text[] =
    "usage: cbd-curves --out DIR [--title TEXT] NAME=METRICS.csv [NAME=METRICS.csv ...]\n"
    "\n"
    "Draws the training curves of runs from their metrics CSVs (NAME.metrics.csv\n"
    "beside each checkpoint): DIR/NAME.{svg,png} per run (loss and its CE and\n"
    "distillation parts, train and validation accuracy, learning rate, per epoch)\n"
    "and DIR/all.{svg,png} comparing the runs (loss; validation accuracy, or\n"
    "train accuracy when no run measured one). NAME: letters, digits, '_', '-',\n"
    "'.'. Exit status: 0 written; 1 a file cannot be read or written; 2 bad usage\n";

typedef struct {
    const char *name, *path;
    curves_csv csv;
} run;

static void check_name(const char *arg, const char *name, size_t len) {
    if (len == 0) cbd_usage_error("'%s': the NAME before '=' is empty", arg);
    for (size_t k = 0; k < len; k++)
        if (!isalnum((unsigned char)name[k]) && !strchr("_-.", name[k]))
            cbd_usage_error("'%s': NAME may hold letters, digits, '_', '-' and '.' (it names the files)", arg);
    if (len == 3 && strncmp(name, "all", 3) == 0) cbd_usage_error("'%s': 'all' names the comparison", arg);
}

/* The largest finite value of a column over runs (0 when none). */
static double column_max(const run *runs, int nruns, const char *column) {
    double hi = 0.0;
    for (int r = 0; r < nruns; r++) {
        const int k = curves_csv_column(&runs[r].csv, column);
        for (int i = 0; k >= 0 && i < runs[r].csv.rows; i++) {
            const double v = curves_csv_at(&runs[r].csv, i, k);
            if (isfinite(v) && v > hi) hi = v;
        }
    }
    return hi;
}

static int column_measured(const run *runs, int nruns, const char *column) {
    for (int r = 0; r < nruns; r++) {
        const int k = curves_csv_column(&runs[r].csv, column);
        for (int i = 0; k >= 0 && i < runs[r].csv.rows; i++)
            if (isfinite(curves_csv_at(&runs[r].csv, i, k))) return 1;
    }
    return 0;
}

/* A chart's epoch range over the runs. */
static void epoch_range(const run *runs, int nruns, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int r = 0; r < nruns; r++) {
        const int k = curves_csv_column(&runs[r].csv, "epoch");
        for (int i = 0; i < runs[r].csv.rows; i++) {
            const double e = curves_csv_at(&runs[r].csv, i, k);
            *lo = fmin(*lo, e);
            *hi = fmax(*hi, e);
        }
    }
    const double pad = *hi > *lo ? 0.03 * (*hi - *lo) : 0.5;
    *lo -= pad;
    *hi += pad;
}

/* One column of a run against its epochs, times scale, in colour. */
static void series(plot_chart *c, const run *r, const char *column, double scale, const char *colour,
                   const char *label) {
    const int e = curves_csv_column(&r->csv, "epoch"), k = curves_csv_column(&r->csv, column);
    if (k < 0) return;
    double *xy = cbd_malloc((size_t)(r->csv.rows ? r->csv.rows : 1) * 2 * sizeof *xy);
    for (int i = 0; i < r->csv.rows; i++) {
        const double v = curves_csv_at(&r->csv, i, k);
        xy[2 * i] = plot_chart_x(c, curves_csv_at(&r->csv, i, e));
        xy[2 * i + 1] = isfinite(v) ? plot_chart_y(c, v * scale) : NAN;
    }
    plot_polyline(c->fig, xy, r->csv.rows, colour, 1.8, 1.0);
    if (r->csv.rows <= 60)
        for (int i = 0; i < r->csv.rows; i++) {
            if (isnan(xy[2 * i + 1])) continue;
            char tip[256];
            snprintf(tip, sizeof tip, "%s, epoch %g: %s %.4g", r->name, curves_csv_at(&r->csv, i, e), column,
                     curves_csv_at(&r->csv, i, k) * scale);
            plot_marker(c->fig, PLOT_CIRCLE, xy[2 * i], xy[2 * i + 1], colour, tip);
        }
    free(xy);
    if (label) plot_chart_legend(c, PLOT_CIRCLE, colour, label);
}

/* A y range [0, hi] with a round step. */
static void zero_to(double hi, double *top, double *step) {
    if (!(hi > 0.0)) hi = 1.0;
    *step = plot_nice_step(hi * 1.05);
    *top = ceil(hi * 1.05 / *step) * *step;
}

enum { PANEL = 300 }; /* px a stacked chart takes, margins included */

static void run_figure(plot_figure *f, const run *r, const char *title) {
    char heading[512];
    snprintf(heading, sizeof heading, "%s: %s", title, r->name);
    plot_figure_init(f, PLOT_WIDTH, 3 * PANEL, heading);
    double lo, hi, top, step;
    epoch_range(r, 1, &lo, &hi);
    plot_chart c;

    zero_to(fmax(column_max(r, 1, "loss"), fmax(column_max(r, 1, "ce"), column_max(r, 1, "distill"))), &top, &step);
    plot_chart_begin_at(&c, f, 50, PANEL - 65, heading, "epoch", "training loss", lo, hi, 0, top, step);
    plot_chart_x_ticks(&c);
    series(&c, r, "loss", 1.0, "#222222", "loss (the weighted sum)");
    if (column_max(r, 1, "distill") > 0.0) {
        series(&c, r, "ce", 1.0, plot_palette[0], "cross-entropy term");
        series(&c, r, "distill", 1.0, plot_palette[1], "distillation term");
    }

    plot_chart_begin_at(&c, f, PANEL + 50, 2 * PANEL - 65, "accuracy", "epoch", "top-1 accuracy (%)", lo, hi, 0, 100,
                        20);
    plot_chart_x_ticks(&c);
    series(&c, r, "train_acc", 100.0, plot_palette[0], "train (augmented batches)");
    if (column_measured(r, 1, "val_acc")) series(&c, r, "val_acc", 100.0, plot_palette[3], "validation");

    zero_to(column_max(r, 1, "lr"), &top, &step);
    plot_chart_begin_at(&c, f, 2 * PANEL + 50, 3 * PANEL - 65, "learning rate", "epoch", "learning rate", lo, hi, 0,
                        top, step);
    plot_chart_x_ticks(&c);
    series(&c, r, "lr", 1.0, plot_palette[2], NULL);
}

static void compare_figure(plot_figure *f, const run *runs, int nruns, const char *title) {
    plot_figure_init(f, PLOT_WIDTH, 2 * PANEL, title);
    double lo, hi, top, step;
    epoch_range(runs, nruns, &lo, &hi);
    plot_chart c;
    zero_to(column_max(runs, nruns, "loss"), &top, &step);
    plot_chart_begin_at(&c, f, 50, PANEL - 65, title, "epoch", "training loss", lo, hi, 0, top, step);
    plot_chart_x_ticks(&c);
    for (int r = 0; r < nruns; r++)
        series(&c, &runs[r], "loss", 1.0, plot_palette[r % 10], plot_chart_legend_full(&c) ? NULL : runs[r].name);
    const int val = column_measured(runs, nruns, "val_acc");
    plot_chart_begin_at(&c, f, PANEL + 50, 2 * PANEL - 65, val ? "validation accuracy" : "train accuracy", "epoch",
                        "top-1 accuracy (%)", lo, hi, 0, 100, 20);
    plot_chart_x_ticks(&c);
    for (int r = 0; r < nruns; r++)
        series(&c, &runs[r], val ? "val_acc" : "train_acc", 100.0, plot_palette[r % 10],
               plot_chart_legend_full(&c) ? NULL : runs[r].name);
}

static void write_figure(const char *dir, const char *name, const plot_figure *f) {
    char path[4096], err[1024];
    report_text svg = {0};
    plot_figure_svg(f, &svg);
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    if (cbd_write_file_atomic(path, svg.data, svg.len, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    report_text_free(&svg);
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    if (plot_figure_png(f, path, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    const char *out = NULL, *title = "training curves";
    run *runs = cbd_calloc((size_t)argc, sizeof *runs);
    int nruns = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            free(runs);
            return CBD_EXIT_OK;
        }
        if (strcmp(a, "--out") == 0 || strcmp(a, "--title") == 0) {
            if (i + 1 >= argc) cbd_usage_error("%s needs a value", a);
            *(a[2] == 'o' ? &out : &title) = argv[++i];
        } else if (strncmp(a, "--", 2) == 0) {
            cbd_usage_error("unknown option '%s'", a);
        } else {
            const char *eq = strchr(a, '=');
            if (!eq || !eq[1]) cbd_usage_error("'%s': a run is NAME=METRICS.csv", a);
            check_name(a, a, (size_t)(eq - a));
            runs[nruns].name = cbd_strdup(a);
            ((char *)runs[nruns].name)[eq - a] = '\0';
            runs[nruns].path = eq + 1;
            nruns++;
        }
    }
    if (!out || !*out) cbd_usage_error("--out DIR is required");
    if (nruns == 0) cbd_usage_error("no run given (NAME=METRICS.csv)");
    for (int r = 0; r < nruns; r++) {
        char err[1024];
        if (curves_csv_read(runs[r].path, &runs[r].csv, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
        if (curves_csv_column(&runs[r].csv, "epoch") < 0 || curves_csv_column(&runs[r].csv, "loss") < 0)
            cbd_fail(CBD_EXIT_FAILURE, "%s: no 'epoch' and 'loss' columns: not a cbd metrics file", runs[r].path);
        if (runs[r].csv.rows == 0) cbd_fail(CBD_EXIT_FAILURE, "%s: no epoch finished yet (only the header)", runs[r].path);
    }
    char err[1024];
    if (cbd_mkdir_p(out, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "--out %s: %s", out, err);
    for (int r = 0; r < nruns; r++) {
        plot_figure f;
        run_figure(&f, &runs[r], title);
        write_figure(out, runs[r].name, &f);
        plot_figure_free(&f);
    }
    plot_figure f;
    compare_figure(&f, runs, nruns, title);
    write_figure(out, "all", &f);
    plot_figure_free(&f);
    for (int r = 0; r < nruns; r++) {
        curves_csv_free(&runs[r].csv);
        free((char *)runs[r].name);
    }
    free(runs);
    return CBD_EXIT_OK;
}
