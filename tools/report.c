/* cbd-report: compare models from the JSON files cbd-evaluate writes. Rows of
 * one label are seeds of one model (mean and sample sd); rows may carry a
 * sweep value. Writes a Markdown report, a CSV and SVG plots, each whole or
 * not at all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/fsutil.h"
#include "tools/cli.h"
#include "tools/report_eval.h"
#include "tools/report_plots.h"
#include "tools/report_text.h"

static const char usage_text[] =
    "usage: cbd-report --out PREFIX [--title TEXT] [--x-name NAME] [--class NAME ...] ROW [ROW ...]\n"
    "\n"
    "Compares models evaluated by cbd-evaluate (its NAME.json files).\n"
    "\n"
    "ROW:\n"
    "  LABEL=FILE.json     a model; several rows with the same LABEL are seeds of one\n"
    "                      model, shown as mean \xc2\xb1 sample sd (n - 1)\n"
    "  LABEL@X=FILE.json   the same with a number X (a sweep point); when one row has\n"
    "                      @X every row must, and all rows of a LABEL the same X\n"
    "  LABEL: letters, digits, spaces and _ - . + ( ) /; models appear in the order\n"
    "  of their labels' first rows.\n"
    "\n"
    "options:\n"
    "  --out PREFIX    write PREFIX.md, PREFIX.csv, PREFIX.per_class.{svg,png} and,\n"
    "                  with @X rows, PREFIX.sweep.{svg,png} (the folder is created\n"
    "                  if missing)\n"
    "  --title TEXT    title of the report and plots (default \"Comparison\")\n"
    "  --x-name NAME   name of X, on the sweep plot's axis (default \"x\")\n"
    "  --class NAME    add the class's top-1 (mean and sd over seeds) as a column of\n"
    "                  the model table and the CSV; repeatable (e.g. the few-shot classes)\n"
    "  --help          print this help\n"
    "\n"
    "The model table is also printed on stdout. Every file must use the same\n"
    "many/few thresholds and the same classes (names, training counts).\n"
    "\n"
    "exit status: 0 ok; 1 an input file is missing, malformed or inconsistent, or an\n"
    "output cannot be written; 2 bad usage\n";

typedef struct {
    const char *label_start;
    size_t label_len;
    int has_x;
    double x;
    const char *path;
} row;

typedef struct {
    char *label;
    int has_x;
    double x;
    int *files; /* indices into the evaluations, in row order */
    int n;
} model;

#define MAX_CLASS_COLUMNS 16

typedef struct {
    const char *out, *title, *x_name;
    row *rows;
    int nrows;
    const char *class_names[MAX_CLASS_COLUMNS]; /* --class */
    int nclass_names;
    int class_index[MAX_CLASS_COLUMNS];         /* resolved against the evaluations */
} args;

/* ---- command line ------------------------------------------------------------ */

static int label_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_-.+()/ ", c);
}

static void parse_row(const char *arg, row *r) {
    const char *eq = strchr(arg, '=');
    if (!eq) cbd_usage_error("'%s' has no '=': a ROW is LABEL=FILE.json or LABEL@X=FILE.json", arg);
    const char *at = memchr(arg, '@', (size_t)(eq - arg));
    r->label_start = arg;
    r->label_len = (size_t)((at ? at : eq) - arg);
    r->path = eq + 1;
    if (r->label_len == 0) cbd_usage_error("'%s': the LABEL before '%c' is empty", arg, at ? '@' : '=');
    for (size_t k = 0; k < r->label_len; k++)
        if (!label_char_ok(arg[k]))
            cbd_usage_error("'%s': LABEL may hold letters, digits, spaces and _ - . + ( ) /, not '%c'", arg, arg[k]);
    if (arg[0] == ' ' || arg[r->label_len - 1] == ' ')
        cbd_usage_error("'%s': LABEL starts or ends with a space", arg);
    if (*r->path == '\0') cbd_usage_error("'%s': no FILE after '='", arg);
    r->has_x = at != NULL;
    if (at) {
        char option[64], text[128];
        size_t n = (size_t)(eq - at - 1);
        if (n >= sizeof text) cbd_usage_error("'%s': X is too long", arg);
        memcpy(text, at + 1, n);
        text[n] = '\0';
        snprintf(option, sizeof option, "ROW %.*s@X", (int)(r->label_len > 40 ? 40 : r->label_len), arg);
        r->x = cbd_parse_real(option, text, -1e15, 1e15);
    }
}

/* The value of option argv[*i] ("--out V" or "--out=V"); moves *i past it. */
static const char *option_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (*i + 1 >= argc) cbd_usage_error("%s needs a value", name);
    *i += 1;
    return argv[*i];
}

static int is_option(const char *arg, const char *name) {
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static void parse_args(int argc, char **argv, args *a) {
    a->out = NULL;
    a->title = "Comparison";
    a->x_name = "x";
    a->rows = cbd_calloc((size_t)argc, sizeof *a->rows);
    a->nrows = 0;
    a->nclass_names = 0;
    int rows_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!rows_only && strcmp(arg, "--") == 0) rows_only = 1;
        else if (!rows_only && is_option(arg, "--out")) a->out = option_value(argc, argv, &i, "--out");
        else if (!rows_only && is_option(arg, "--title")) a->title = option_value(argc, argv, &i, "--title");
        else if (!rows_only && is_option(arg, "--x-name")) a->x_name = option_value(argc, argv, &i, "--x-name");
        else if (!rows_only && is_option(arg, "--class")) {
            if (a->nclass_names == MAX_CLASS_COLUMNS) cbd_usage_error("--class: at most %d classes", MAX_CLASS_COLUMNS);
            a->class_names[a->nclass_names++] = option_value(argc, argv, &i, "--class");
        }
        else if (!rows_only && strncmp(arg, "--", 2) == 0) cbd_usage_error("unknown option '%s'", arg);
        else parse_row(arg, &a->rows[a->nrows++]);
    }
    if (!a->out || a->out[0] == '\0') cbd_usage_error("--out PREFIX is required");
    size_t out_len = strlen(a->out);
    if (a->out[out_len - 1] == '/')
        cbd_usage_error("--out %s names a folder; give a prefix such as %sreport", a->out, a->out);
    if (a->nrows == 0) cbd_usage_error("no ROW given (LABEL=FILE.json)");
    for (int k = 1; k < a->nrows; k++)
        if (a->rows[k].has_x != a->rows[0].has_x) {
            const row *with = a->rows[k].has_x ? &a->rows[k] : &a->rows[0];
            const row *without = a->rows[k].has_x ? &a->rows[0] : &a->rows[k];
            cbd_usage_error("the row of %s has @X and that of %s does not: give X on every row or on none",
                            with->path, without->path);
        }
}

/* Groups rows into models by label, in the order of first appearance. */
static model *group_rows(const args *a, int *nmodels) {
    model *m = cbd_calloc((size_t)a->nrows, sizeof *m);
    int n = 0;
    for (int k = 0; k < a->nrows; k++) {
        const row *r = &a->rows[k];
        int j = 0;
        while (j < n && !(strlen(m[j].label) == r->label_len && memcmp(m[j].label, r->label_start, r->label_len) == 0))
            j++;
        if (j == n) {
            m[j].label = cbd_malloc(r->label_len + 1);
            memcpy(m[j].label, r->label_start, r->label_len);
            m[j].label[r->label_len] = '\0';
            m[j].has_x = r->has_x;
            m[j].x = r->x;
            m[j].files = cbd_calloc((size_t)a->nrows, sizeof *m[j].files);
            n++;
        } else if (r->has_x && r->x != m[j].x) {
            cbd_usage_error("rows of '%s' have X %g and %g: the seeds of one model share one X", m[j].label, m[j].x,
                            r->x);
        }
        for (int i = 0; i < m[j].n; i++)
            if (strcmp(a->rows[m[j].files[i]].path, r->path) == 0)
                cbd_warn("%s is given twice for '%s': counted as two seeds", r->path, m[j].label);
        m[j].files[m[j].n++] = k;
    }
    *nmodels = n;
    return m;
}

/* ---- inputs ---------------------------------------------------------------- */

/* Every file must describe the same groups and classes as the first. */
static void check_consistent(const report_eval *first, const report_eval *e) {
    if (e->threshold_many != first->threshold_many || e->threshold_few != first->threshold_few)
        cbd_fail(CBD_EXIT_FAILURE, "%s: thresholds many %lld, few %lld differ from those of %s (many %lld, few %lld)",
                 e->path, e->threshold_many, e->threshold_few, first->path, first->threshold_many,
                 first->threshold_few);
    if (e->classes != first->classes)
        cbd_fail(CBD_EXIT_FAILURE, "%s: per_class has %d classes, %s has %d", e->path, e->classes, first->path,
                 first->classes);
    for (int c = 0; c < e->classes; c++) {
        const report_class *a = &first->per_class[c], *b = &e->per_class[c];
        if (strcmp(a->name, b->name) != 0 || a->train_count != b->train_count)
            cbd_fail(CBD_EXIT_FAILURE, "%s: class %d is \"%s\" with %lld training images; in %s it is \"%s\" with %lld",
                     e->path, c, b->name, b->train_count, first->path, a->name, a->train_count);
    }
}

/* ---- statistics ------------------------------------------------------------- */

typedef struct {
    int n;
    double mean, sd; /* sd: sample (n - 1), 0 when n < 2 */
} stat;

enum { COL_MANY, COL_MID, COL_FEW, COL_ALL, COL_TOP5, COL_NCM, COLUMNS };

static stat stat_of(const double *v, int n) {
    stat s = {n, 0.0, 0.0};
    if (n == 0) return s;
    for (int k = 0; k < n; k++) s.mean += v[k];
    s.mean /= n;
    if (n >= 2) {
        double ss = 0.0;
        for (int k = 0; k < n; k++) ss += (v[k] - s.mean) * (v[k] - s.mean);
        s.sd = sqrt(ss / (n - 1));
    }
    return s;
}

/* The statistic of column col over the seeds of m (NCM: those that have it). */
static stat column_stat(const model *m, const report_eval *evals, int col) {
    double *v = cbd_malloc((size_t)m->n * sizeof *v);
    int n = 0;
    for (int k = 0; k < m->n; k++) {
        const report_eval *e = &evals[m->files[k]];
        switch (col) {
        /* a group with no class (NAN) is not measured for that seed */
        case COL_MANY: if (!isnan(e->many)) v[n++] = e->many; break;
        case COL_MID: if (!isnan(e->mid)) v[n++] = e->mid; break;
        case COL_FEW: if (!isnan(e->few)) v[n++] = e->few; break;
        case COL_ALL: v[n++] = e->top1; break;
        case COL_TOP5: v[n++] = e->top5; break;
        default: if (e->has_ncm) v[n++] = e->ncm_top1; break;
        }
    }
    stat s = stat_of(v, n);
    free(v);
    return s;
}

/* Top-1 of class c over the seeds of m that measured it. */
static stat class_stat(const model *m, const report_eval *evals, int c) {
    double *v = cbd_malloc((size_t)m->n * sizeof *v);
    int n = 0;
    for (int k = 0; k < m->n; k++)
        if (!isnan(evals[m->files[k]].per_class[c].accuracy)) v[n++] = evals[m->files[k]].per_class[c].accuracy;
    stat s = stat_of(v, n);
    free(v);
    return s;
}

/* --class names to class indices; an unknown name is a usage error that
 * lists the names the files have. */
static void resolve_classes(args *a, const report_eval *first) {
    for (int i = 0; i < a->nclass_names; i++) {
        a->class_index[i] = -1;
        for (int c = 0; c < first->classes; c++)
            if (strcmp(first->per_class[c].name, a->class_names[i]) == 0) a->class_index[i] = c;
        if (a->class_index[i] < 0) {
            char names[2048] = "";
            size_t used = 0;
            for (int c = 0; c < first->classes && used < sizeof names - 64; c++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? ", " : "",
                                         first->per_class[c].name);
            cbd_usage_error("--class %s: %s has no such class (its classes: %s)", a->class_names[i], first->path,
                            names);
        }
    }
}

/* ---- outputs ---------------------------------------------------------------- */

static void md_cell(report_text *t, stat s, int seeds) {
    if (s.n == 0) report_text_put(t, " \xe2\x80\x93 |"); /* en dash: not measured */
    else if (s.n == 1) report_text_printf(t, " %.1f", 100.0 * s.mean);
    else report_text_printf(t, " %.1f \xc2\xb1 %.1f", 100.0 * s.mean, 100.0 * s.sd);
    if (s.n > 0 && s.n < seeds) report_text_printf(t, " (%d of %d seeds)", s.n, seeds);
    if (s.n > 0) report_text_put(t, " |");
}

static void model_table(report_text *t, const model *m, int nmodels, const report_eval *evals, const args *a) {
    const int sweep = m[0].has_x;
    report_text_put(t, "| model |");
    if (sweep) {
        report_text_put(t, " ");
        report_text_md(t, a->x_name);
        report_text_put(t, " |");
    }
    report_text_put(t, " seeds | many | mid | few | all | top-5 | NCM |");
    for (int i = 0; i < a->nclass_names; i++) {
        const report_class *c = &evals[0].per_class[a->class_index[i]];
        report_text_put(t, " ");
        report_text_md(t, c->name);
        report_text_printf(t, " (%lld) |", c->train_count);
    }
    report_text_put(t, "\n|---|");
    if (sweep) report_text_put(t, "---:|");
    report_text_put(t, "---:|---:|---:|---:|---:|---:|---:|");
    for (int i = 0; i < a->nclass_names; i++) report_text_put(t, "---:|");
    report_text_put(t, "\n");
    for (int j = 0; j < nmodels; j++) {
        report_text_put(t, "| ");
        report_text_md(t, m[j].label);
        report_text_put(t, " |");
        if (sweep) report_text_printf(t, " %g |", m[j].x);
        report_text_printf(t, " %d |", m[j].n);
        for (int col = 0; col < COLUMNS; col++) md_cell(t, column_stat(&m[j], evals, col), m[j].n);
        for (int i = 0; i < a->nclass_names; i++) md_cell(t, class_stat(&m[j], evals, a->class_index[i]), m[j].n);
        report_text_put(t, "\n");
    }
}

/* NAN when no seed measured the class (no image of it in the split). */
static double class_mean(const model *m, const report_eval *evals, int c) {
    const stat s = class_stat(m, evals, c);
    return s.n ? s.mean : NAN;
}

static void write_md(report_text *t, const args *a, const model *m, int nmodels, const report_eval *evals,
                     const report_text *table) {
    const report_eval *first = &evals[0];
    report_text_put(t, "# ");
    report_text_md(t, a->title);
    report_text_printf(t,
                       "\n\nTop-1 accuracy in %% over %d classes. Groups by training images (thresholds of %s): "
                       "many-shot more than %lld (%lld class%s), mid-shot %lld to %lld (%lld), few-shot fewer than "
                       "%lld (%lld); many, mid and few are means of the per-class accuracies of the group, all is "
                       "over images. Several seeds: mean \xc2\xb1 sample sd (n \xe2\x88\x92 1). NCM: nearest class "
                       "mean top-1 (\xe2\x80\x93 when not evaluated).\n\n",
                       first->classes, first->path, first->threshold_many, first->group_classes[0],
                       first->group_classes[0] == 1 ? "" : "es",
                       first->threshold_few, first->threshold_many, first->group_classes[1], first->threshold_few,
                       first->group_classes[2]);
    report_text_put(t, table->data);
    report_text_put(t, "\n## Per class (top-1 %, mean over seeds)\n\n| class (train images) |");
    for (int j = 0; j < nmodels; j++) {
        report_text_put(t, " ");
        report_text_md(t, m[j].label);
        report_text_put(t, " |");
    }
    report_text_put(t, "\n|---|");
    for (int j = 0; j < nmodels; j++) report_text_put(t, "---:|");
    report_text_put(t, "\n");
    for (int c = 0; c < first->classes; c++) {
        report_text_put(t, "| ");
        report_text_md(t, first->per_class[c].name);
        report_text_printf(t, " (%lld) |", first->per_class[c].train_count);
        for (int j = 0; j < nmodels; j++) {
            const double mean = class_mean(&m[j], evals, c);
            if (isnan(mean)) report_text_put(t, " \xe2\x80\x93 |");
            else report_text_printf(t, " %.1f |", 100.0 * mean);
        }
        report_text_put(t, "\n");
    }
    report_text_put(t, "\n## Inputs\n\n");
    for (int j = 0; j < nmodels; j++) {
        report_text_put(t, "- ");
        report_text_md(t, m[j].label);
        report_text_put(t, ":");
        for (int k = 0; k < m[j].n; k++) {
            report_text_put(t, k ? ", `" : " `");
            report_text_md(t, a->rows[m[j].files[k]].path);
            report_text_put(t, "`");
        }
        report_text_put(t, "\n");
    }
}

static void csv_cell(report_text *t, stat s) {
    if (s.n == 0) report_text_put(t, ",,");
    else if (s.n == 1) report_text_printf(t, ",%.6f,", s.mean);
    else report_text_printf(t, ",%.6f,%.6f", s.mean, s.sd);
}

static void write_csv(report_text *t, const model *m, int nmodels, const report_eval *evals, const args *a) {
    report_text_put(t, "model,seeds,x,many_mean,many_sd,mid_mean,mid_sd,few_mean,few_sd,all_mean,all_sd,"
                       "top5_mean,top5_sd,ncm_mean,ncm_sd");
    /* class columns by index: class names may hold commas */
    for (int i = 0; i < a->nclass_names; i++)
        report_text_printf(t, ",class%d_mean,class%d_sd", a->class_index[i], a->class_index[i]);
    report_text_put(t, "\n");
    for (int j = 0; j < nmodels; j++) {
        /* labels hold no comma or quote (parse_row), so need no quoting */
        report_text_printf(t, "%s,%d,", m[j].label, m[j].n);
        if (m[j].has_x) report_text_printf(t, "%.10g", m[j].x);
        for (int col = 0; col < COLUMNS; col++) csv_cell(t, column_stat(&m[j], evals, col));
        for (int i = 0; i < a->nclass_names; i++) csv_cell(t, class_stat(&m[j], evals, a->class_index[i]));
        report_text_put(t, "\n");
    }
}

static void plot_per_class(plot_figure *f, const args *a, const model *m, int nmodels, const report_eval *evals) {
    const report_eval *first = &evals[0];
    const char **names = cbd_malloc((size_t)first->classes * sizeof *names);
    long long *counts = cbd_malloc((size_t)first->classes * sizeof *counts);
    for (int c = 0; c < first->classes; c++) {
        names[c] = first->per_class[c].name;
        counts[c] = first->per_class[c].train_count;
    }
    double *acc = cbd_malloc((size_t)nmodels * (size_t)first->classes * sizeof *acc);
    report_series *series = cbd_malloc((size_t)nmodels * sizeof *series);
    for (int j = 0; j < nmodels; j++) {
        double *row = acc + (size_t)j * (size_t)first->classes;
        for (int c = 0; c < first->classes; c++) row[c] = class_mean(&m[j], evals, c);
        series[j] = (report_series){m[j].label, row};
    }
    report_plot_per_class(f, a->title, first->classes, names, counts, series, nmodels);
    free(series);
    free(acc);
    free(counts);
    free(names);
}

static void plot_sweep(plot_figure *f, const args *a, const model *m, int nmodels, const report_eval *evals) {
    static const int cols[REPORT_SWEEP_SERIES] = {COL_ALL, COL_MANY, COL_MID, COL_FEW};
    report_sweep_point *points = cbd_calloc((size_t)nmodels, sizeof *points);
    for (int j = 0; j < nmodels; j++) {
        points[j].label = m[j].label;
        points[j].x = m[j].x;
        points[j].n = m[j].n;
        for (int s = 0; s < REPORT_SWEEP_SERIES; s++) {
            stat st = column_stat(&m[j], evals, cols[s]);
            points[j].mean[s] = st.n ? st.mean : NAN; /* a group with no class: no point */
            points[j].sd[s] = st.sd;
        }
    }
    /* by X; models of equal X stay in row order (insertion sort: stable) */
    for (int j = 1; j < nmodels; j++) {
        report_sweep_point p = points[j];
        int i = j;
        for (; i > 0 && points[i - 1].x > p.x; i--) points[i] = points[i - 1];
        points[i] = p;
    }
    report_plot_sweep(f, a->title, a->x_name, points, nmodels);
    free(points);
}

static char *output_path(const char *prefix, const char *suffix) {
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *path = cbd_malloc(n);
    snprintf(path, n, "%s%s", prefix, suffix);
    return path;
}

static void write_output(const char *prefix, const char *suffix, const report_text *t) {
    char err[1024];
    char *path = output_path(prefix, suffix);
    if (cbd_write_file_atomic(path, t->data, t->len, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err); /* err names the file */
    free(path);
}

/* PREFIX<name>.svg and PREFIX<name>.png of one figure. */
static void write_figure(const char *prefix, const char *name, const plot_figure *f) {
    report_text svg = {0};
    plot_figure_svg(f, &svg);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "%s.svg", name);
    write_output(prefix, suffix, &svg);
    report_text_free(&svg);
    snprintf(suffix, sizeof suffix, "%s.png", name);
    char err[1024];
    char *path = output_path(prefix, suffix);
    if (plot_figure_png(f, path, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    free(path);
}

static void make_parent(const char *prefix) {
    char err[1024];
    char *parent = cbd_strdup(prefix);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (cbd_mkdir_p(parent, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "--out %s: %s", prefix, err);
    }
    free(parent);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return CBD_EXIT_OK;
        }
    args a;
    parse_args(argc, argv, &a);
    int nmodels = 0;
    model *m = group_rows(&a, &nmodels);

    report_eval *evals = cbd_calloc((size_t)a.nrows, sizeof *evals);
    for (int k = 0; k < a.nrows; k++) {
        char err[2048];
        if (report_eval_load(a.rows[k].path, &evals[k], err, sizeof err) != 0)
            cbd_fail(CBD_EXIT_FAILURE, "%s", err);
        check_consistent(&evals[0], &evals[k]);
    }
    resolve_classes(&a, &evals[0]);

    report_text table = {0}, md = {0}, csv = {0};
    plot_figure per_class = {0}, sweep = {0};
    model_table(&table, m, nmodels, evals, &a);
    write_md(&md, &a, m, nmodels, evals, &table);
    write_csv(&csv, m, nmodels, evals, &a);
    plot_per_class(&per_class, &a, m, nmodels, evals);
    if (m[0].has_x) plot_sweep(&sweep, &a, m, nmodels, evals);

    make_parent(a.out);
    write_output(a.out, ".md", &md);
    write_output(a.out, ".csv", &csv);
    write_figure(a.out, ".per_class", &per_class);
    if (m[0].has_x) write_figure(a.out, ".sweep", &sweep);
    fputs(table.data, stdout);

    report_text_free(&table);
    report_text_free(&md);
    report_text_free(&csv);
    plot_figure_free(&per_class);
    plot_figure_free(&sweep);
    for (int k = 0; k < a.nrows; k++) report_eval_free(&evals[k]);
    for (int j = 0; j < nmodels; j++) {
        free(m[j].label);
        free(m[j].files);
    }
    free(evals);
    free(m);
    free(a.rows);
    return CBD_EXIT_OK;
}
