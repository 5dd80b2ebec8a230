/* A sweep's point chosen on validation, reported on test (tools/sweep_select.h). */
#include "tools/sweep_select.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/run_layout.h"
#include "nn/log.h"
#include "store/fsutil.h"

/* The cbd-report CSV's columns: model,seeds,x,many_mean,many_sd,mid_mean,mid_sd,few_mean,few_sd,all_mean,... */
enum { COL_MODEL = 0, COL_X = 2, COL_MANY = 3, COL_MID = 5, COL_FEW = 7, COL_ALL = 9, MIN_COLUMNS = 11 };

typedef struct {
    char label[CBD_NAME_MAX], x[64];
    double many, mid, few, all;
} report_row;

static double cell(const char *s) { return *s ? strtod(s, NULL) : NAN; }

/* The rows of a cbd-report CSV (labels hold no comma: cbd-report refuses them). */
static int read_rows(const char *path, report_row *rows, int max) {
    char err[2048];
    char *text = cbd_read_file(path, NULL, err, sizeof err);
    if (!text) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    int n = 0;
    char *save = NULL;
    strtok_r(text, "\n", &save); /* the header */
    for (char *line = strtok_r(NULL, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        char *fields[MIN_COLUMNS];
        int k = 0;
        for (char *p = line; k < MIN_COLUMNS;) {
            fields[k++] = p;
            p = strchr(p, ',');
            if (!p) break;
            *p++ = '\0';
        }
        if (k < MIN_COLUMNS) cbd_fail(CBD_EXIT_FAILURE, "%s: a row of %d fields, not a cbd-report CSV", path, k);
        report_row *r = &rows[n++];
        snprintf(r->label, sizeof r->label, "%s", fields[COL_MODEL]);
        snprintf(r->x, sizeof r->x, "%s", fields[COL_X]);
        r->many = cell(fields[COL_MANY]);
        r->mid = cell(fields[COL_MID]);
        r->few = cell(fields[COL_FEW]);
        r->all = cell(fields[COL_ALL]);
    }
    free(text);
    return n;
}

static void percent(FILE *f, double v) {
    if (isnan(v)) fputs(" – |", f);
    else fprintf(f, " %.1f |", 100.0 * v);
}

void sweep_select_on_val(const char *bin, const char *ini, const cbd_config *base, const sweep_models *m,
                         const char *prefix, const char *title, sweep_runner run) {
    char exe[PATH_MAX + 32], err[2048];
    /* every model on the validation split */
    snprintf(exe, sizeof exe, "%s/cbd-evaluate", bin);
    char **val_json = cbd_calloc((size_t)m->n, sizeof *val_json);
    for (int i = 0; i < m->n; i++) {
        char ckpt[CBD_RUN_PATH_MAX], stem[CBD_RUN_PATH_MAX], name[CBD_NAME_MAX + 8];
        cbd_layout_model(stem, sizeof stem, base->experiment.output_dir, m->models[i].name);
        cbd_layout_join(ckpt, sizeof ckpt, stem, ".ckpt.h5");
        snprintf(name, sizeof name, "val-%s", m->models[i].name);
        cbd_layout_eval(stem, sizeof stem, base->experiment.output_dir, name);
        val_json[i] = cbd_malloc(CBD_RUN_PATH_MAX);
        cbd_layout_join(val_json[i], CBD_RUN_PATH_MAX, stem, ".json");
        char *argv[] = {exe, "--config", (char *)ini, "--model", ckpt, "--name", name, "--split", "val", "--quiet", NULL};
        const int rc = run(argv, "/dev/null");
        if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "cbd-evaluate --split val of %s failed (exit %d)", ckpt, rc);
    }
    /* their comparison, as the test one */
    char val_prefix[CBD_RUN_PATH_MAX + 8], val_title[512];
    snprintf(val_prefix, sizeof val_prefix, "%s.val", prefix);
    snprintf(val_title, sizeof val_title, "%s, validation split", title);
    snprintf(exe, sizeof exe, "%s/cbd-report", bin);
    char **report = cbd_calloc((size_t)m->n + 10, sizeof *report);
    int k = 0;
    report[k++] = exe;
    report[k++] = "--out";
    report[k++] = val_prefix;
    report[k++] = "--title";
    report[k++] = val_title;
    report[k++] = "--x-name";
    report[k++] = (char *)m->x_name;
    for (int i = 0; i < m->n; i++) {
        const size_t n = strlen(m->models[i].label) + strlen(m->x[m->models[i].point]) + strlen(val_json[i]) + 3;
        report[k] = cbd_malloc(n);
        snprintf(report[k++], n, "%s@%s=%s", m->models[i].label, m->x[m->models[i].point], val_json[i]);
    }
    const int rc = run(report, "/dev/null");
    if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "cbd-report of the validation split failed (exit %d)", rc);
    for (int i = 7; i < k; i++) free(report[i]);
    free(report);
    for (int i = 0; i < m->n; i++) free(val_json[i]);
    free(val_json);

    /* the point of the best validation top-1, and its test numbers */
    static report_row val[CBD_MAX_STUDENTS], test[CBD_MAX_STUDENTS];
    char path[CBD_RUN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s.csv", val_prefix);
    const int nval = read_rows(path, val, CBD_MAX_STUDENTS);
    snprintf(path, sizeof path, "%s.csv", prefix);
    const int ntest = read_rows(path, test, CBD_MAX_STUDENTS);
    int best = -1;
    for (int i = 0; i < nval; i++)
        if (!isnan(val[i].all) && (best < 0 || val[i].all > val[best].all)) best = i;
    if (best < 0) cbd_fail(CBD_EXIT_FAILURE, "%s.csv: no model has a validation top-1", val_prefix);
    const report_row *chosen_test = NULL;
    for (int i = 0; i < ntest; i++)
        if (strcmp(test[i].label, val[best].label) == 0) chosen_test = &test[i];
    if (!chosen_test) cbd_fail(CBD_EXIT_FAILURE, "%s.csv has no row %s", prefix, val[best].label);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    fprintf(f, "# %s: chosen on validation, reported on test\n\n", title);
    fprintf(f, "The validation split ([data] val = %s) chose %s = %s (%s), the best validation top-1 of %d grid "
               "points (mean over seeds); the test split ([data] test = %s) reports it. Every point's numbers: "
               "%s.md (validation), %s.md (test).\n\n",
            base->data.val, m->x_name, val[best].x, val[best].label, nval, base->data.test, val_prefix, prefix);
    fprintf(f, "| split | chose or reports | many | mid | few | all |\n|---|---|---:|---:|---:|---:|\n");
    fprintf(f, "| validation | chose %s = %s |", m->x_name, val[best].x);
    percent(f, val[best].many);
    percent(f, val[best].mid);
    percent(f, val[best].few);
    percent(f, val[best].all);
    fprintf(f, "\n| test | reports %s |", val[best].label);
    percent(f, chosen_test->many);
    percent(f, chosen_test->mid);
    percent(f, chosen_test->few);
    percent(f, chosen_test->all);
    fprintf(f, "\n");
    if (fclose(f) != 0) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    snprintf(path, sizeof path, "%s.selection.md", prefix);
    if (cbd_write_file_atomic(path, text, len, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    fputs(text, stdout);
    printf("wrote %s and %s.{md,csv,per_class.{svg,png},sweep.{svg,png}} (validation)\n", path, val_prefix);
    free(text);
}
