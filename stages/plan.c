/* cbd-plan: prints the make rules that run an experiment's stages with real
 * file dependencies (the INI, the stage binaries, the data, upstream outputs),
 * so that `make` reruns exactly what is out of date and `make -j` trains
 * teachers in parallel. The root Makefile writes this to build/plans/NAME.mk
 * and runs it.
 *
 *   cbd-plan --config ini/tiny.ini [--set S.KEY=VALUE ...] > build/plans/tiny.mk */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "experiment/config.h"
#include "experiment/output_digest.h"
#include "experiment/run_layout.h"
#include "stages/plan_jobs.h"
#include "stages/plan_slurm.h"
#include "stages/stage_args.h"
#include "stages/stage_common.h"
#include "stages/stage_inputs.h"
#include "store/fsutil.h"
#include "store/text.h"

/* Lexically normalises `path` ("ini/../data/x" -> "data/x") and makes it
 * relative to the working directory when it lies below it, so that make
 * matches it against the targets of mk/data.mk. */
static void normalise(const char *path, char *out, size_t len) {
    char cwd[PATH_MAX];
    const char *p = path;
    if (path[0] == '/' && getcwd(cwd, sizeof cwd)) {
        size_t n = strlen(cwd);
        if (strncmp(path, cwd, n) == 0 && path[n] == '/') p = path + n + 1;
    }
    const int absolute = p[0] == '/';
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", p);
    const char *parts[512];
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0 && count > 0 && strcmp(parts[count - 1], "..") != 0) {
            count--;
            continue;
        }
        if (count < 512) parts[count++] = tok;
    }
    size_t at = 0;
    out[0] = '\0';
    if (absolute) at += (size_t)snprintf(out, len, "/");
    for (int i = 0; i < count && at < len; i++) at += (size_t)snprintf(out + at, len - at, "%s%s", i ? "/" : "", parts[i]);
    if (count == 0 && !absolute) snprintf(out, len, ".");
}

/* Make-escapes spaces (file names with spaces are not supported by make). */
static int has_space(const char *s) { return strpbrk(s, " \t") != NULL; }

/* Writes what an output reads (experiment/output_digest.h) to
 * <out_dir>/.stamps/NAME, touching the file only when it changed: make then
 * reruns exactly the stages whose settings (or inputs, or binaries) changed. */
static void write_stamp(const char *out_dir, const char *name, const char *content, char *path, size_t path_len) {
    char err[CBD_RUN_PATH_MAX + 512];
    cbd_layout_stamp(path, path_len, out_dir, name);
    cbd_stage_make_parent(path);
    size_t old_len = 0;
    char *old = cbd_read_file(path, &old_len, err, sizeof err);
    const int same = old && strcmp(old, content) == 0;
    free(old);
    if (!same && cbd_write_file_atomic(path, content, strlen(content), err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
}

static void stamp_output(const cbd_config *cfg, cbd_output_kind kind, const char *teacher,
                         const cbd_data_digests *data, const char *out_dir, const char *name, char *path,
                         size_t path_len) {
    char *text = NULL;
    cbd_output_digest_of(cfg, kind, teacher, data, &text);
    write_stamp(out_dir, name, text, path, path_len);
    free(text);
}

/* The content digests of the data that exists already (mk/data.mk may make
 * the rest: its stamps say "missing" until the next plan). */
static void data_digests(const cbd_config *cfg, cbd_data_digests *out) {
    memset(out, 0, sizeof *out);
    if (!cbd_file_exists(cfg->data.train)) return;
    cbd_dataset *train = cbd_stage_open_dataset(cfg, "train", cfg->data.train, cfg->data.classes);
    cbd_dataset *test = cfg->data.test[0] && cbd_file_exists(cfg->data.test)
                            ? cbd_stage_open_dataset(cfg, "test", cfg->data.test, cbd_dataset_classes(train))
                            : NULL;
    cbd_stage_data_digests(cfg, train, test, out);
    cbd_dataset_close(train);
    if (test) cbd_dataset_close(test);
}

/* The paths of the rules, below out_dir (experiment/run_layout.h), each in
 * one of a ring of buffers: a printf may take several. */
static char *ring_slot(void) {
    static char ring[16][CBD_RUN_PATH_MAX];
    static int next;
    return ring[next++ % 16];
}

static const char *teacher_ckpt(const char *out_dir, const char *teacher) {
    char *p = ring_slot();
    cbd_layout_teacher_checkpoint(p, CBD_RUN_PATH_MAX, out_dir, teacher);
    return p;
}

static const char *store_path(const char *out_dir, const char *teacher) {
    char *p = ring_slot();
    cbd_layout_store(p, CBD_RUN_PATH_MAX, out_dir, teacher);
    return p;
}

static const char *eval_json(const char *out_dir, const char *name) {
    char stem[CBD_RUN_PATH_MAX], *p = ring_slot();
    cbd_layout_eval(stem, sizeof stem, out_dir, name);
    cbd_layout_join(p, CBD_RUN_PATH_MAX, stem, ".json");
    return p;
}

static const char *teacher_eval(const char *out_dir, const char *teacher) {
    char name[CBD_NAME_MAX + 16];
    snprintf(name, sizeof name, "teacher-%s", teacher);
    return eval_json(out_dir, name);
}

static const char *model_ckpt(const char *out_dir, const cbd_config *model) {
    char stem[CBD_RUN_PATH_MAX], *p = ring_slot();
    cbd_layout_model(stem, sizeof stem, out_dir, model->student_name);
    cbd_layout_join(p, CBD_RUN_PATH_MAX, stem, ".ckpt.h5");
    return p;
}

/* The metrics CSV beside a checkpoint (STEM.ckpt.h5 -> STEM.metrics.csv). */
static const char *metrics_of(const char *ckpt) {
    char stem[CBD_RUN_PATH_MAX], *p = ring_slot();
    const size_t n = strlen(ckpt), suffix = strlen(".ckpt.h5");
    snprintf(stem, sizeof stem, "%.*s", (int)(n > suffix ? n - suffix : n), ckpt);
    cbd_layout_join(p, CBD_RUN_PATH_MAX, stem, ".metrics.csv");
    return p;
}

/* `make neighbours`: the paper's Figure 4 (cbd-contact-sheet) for the first
 * teacher, the model named cb (the class-balanced baseline) and [student]
 * (CBD), those of them the experiment has, each evaluated with
 * --neighbours 6 under the name nb-NAME. Not part of `all` (nor of the
 * Slurm jobs): asked for by name. */
static void write_neighbours_rule(FILE *out, const cbd_config *cfg, const cbd_config *models, int n_models,
                                  const char *ini, const char *sets, const char *out_dir) {
    char sheet[CBD_RUN_PATH_MAX];
    cbd_layout_join(sheet, sizeof sheet, out_dir, "/neighbours.png");
    cbd_text ckpts = {0}, cmd = {0}, rows = {0};
    int columns = 0;
    for (int pass = 0; pass < 3; pass++) {
        const char *name = NULL, *label = NULL, *ckpt = NULL;
        if (pass == 0 && cfg->teacher_count > 0) {
            name = cfg->teachers[0].name;
            label = cfg->teachers[0].label;
            ckpt = teacher_ckpt(out_dir, name);
        }
        for (int m = 0; pass > 0 && m < n_models; m++)
            if (strcmp(models[m].student_name, pass == 1 ? "cb" : "student") == 0) {
                name = models[m].student_name;
                label = models[m].student.label;
                ckpt = model_ckpt(out_dir, &models[m]);
            }
        if (!name) continue;
        char csv[CBD_RUN_PATH_MAX], stem[CBD_RUN_PATH_MAX], nb_name[CBD_RUN_PATH_MAX];
        snprintf(nb_name, sizeof nb_name, "nb-%s", name);
        cbd_layout_eval(stem, sizeof stem, out_dir, nb_name);
        cbd_layout_join(csv, sizeof csv, stem, ".neighbours.csv");
        cbd_text_printf(&ckpts, " %s", ckpt);
        cbd_text_printf(&cmd, "%s$(BIN)/cbd-evaluate --config %s --model %s --name %s --neighbours 6 --quiet%s >/dev/null",
                        columns ? " && " : "", ini, ckpt, nb_name, sets);
        cbd_text_printf(&rows, " '%s=%s'", label, csv);
        columns++;
    }
    fprintf(out, "\n.PHONY: neighbours\nneighbours: %s\n", sheet);
    if (columns)
        fprintf(out, "%s:%s $(BIN)/cbd-evaluate $(BIN)/cbd-contact-sheet\n\t%s && $(BIN)/cbd-contact-sheet --config %s%s "
                     "--out %s%s\n",
                sheet, cbd_text_str(&ckpts), cbd_text_str(&cmd), ini, sets, sheet, cbd_text_str(&rows));
    else
        fprintf(out, "%s:\n\t@echo 'neighbours: the experiment has no teacher, cb or [student] model' >&2; exit 2\n",
                sheet);
    cbd_text_free(&ckpts);
    cbd_text_free(&cmd);
    cbd_text_free(&rows);
}

static void usage(FILE *out) {
    fprintf(out, "usage: cbd-plan --config FILE [--set S.KEY=VALUE ...] [--slurm DIR [Slurm options]]\n"
                 "prints the make rules of the experiment's stages on standard output; with --slurm,\n"
                 "writes them as Slurm batch scripts and DIR/submit.sh, which submits them all with\n"
                 "their dependencies (teachers as a job array, each dump after its teacher, models\n"
                 "after their stores, evaluations after their models, the report last)\n");
    cbd_slurm_usage(out);
}

static void text_set(cbd_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_set(cbd_text *t, const char *fmt, ...) {
    cbd_text_clear(t);
    va_list ap;
    va_start(ap, fmt);
    cbd_text_vprintf(t, fmt, ap);
    va_end(ap);
}

static cbd_plan_jobs jobs;

/* A job of the plan: recorded, and printed as a make rule. */
static void rule(FILE *out, cbd_job_kind kind, const char *name, const char *target, const cbd_text *prereqs,
                 const cbd_text *command) {
    cbd_plan_add(&jobs, kind, name, target, cbd_text_str(prereqs), cbd_text_str(command));
    cbd_plan_print_rule(&jobs.jobs[jobs.count - 1], out);
}

/* The end of a plan: with --slurm the scripts, else nothing more. */
static int finish(FILE *out, const cbd_slurm_options *slurm, const char *ini) {
    int rc = CBD_EXIT_OK;
    if (slurm->dir) {
        char err[4400];
        if (cbd_plan_write_slurm(&jobs, slurm, ini, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
        }
        fclose(out);
    }
    cbd_plan_jobs_free(&jobs);
    return rc;
}

int main(int argc, char **argv) {
    cbd_slurm_options slurm;
    argc = cbd_slurm_take_options(argc, argv, &slurm);
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv, 0, 0, usage, &args);
    /* with --slurm the make rules go nowhere: the scripts are the output */
    FILE *out = slurm.dir ? fopen("/dev/null", "w") : stdout;
    if (!out) cbd_fail(CBD_EXIT_FAILURE, "cannot open /dev/null");
    cbd_text pre = {0}, cmd = {0};
    const char *config_path = args.config;
    const char *const *overrides = args.overrides;
    const int n_overrides = args.n_overrides;
    static cbd_config cfg;
    cbd_stage_load_config(&args, &cfg);

    char ini[PATH_MAX], out_dir[PATH_MAX], data[3][PATH_MAX];
    normalise(config_path, ini, sizeof ini);
    normalise(cfg.experiment.output_dir, out_dir, sizeof out_dir);
    const char *data_paths[3] = {cfg.data.train, cfg.data.val, cfg.data.test};
    for (int i = 0; i < 3; i++) {
        data[i][0] = '\0';
        if (data_paths[i][0]) normalise(data_paths[i], data[i], sizeof data[i]);
    }
    if (has_space(ini) || has_space(out_dir) || has_space(data[0]) || has_space(data[1]) || has_space(data[2]))
        cbd_fail(CBD_EXIT_USAGE, "make cannot handle paths with spaces; move the experiment or its data");

    char sets[4096] = "";
    for (int i = 0; i < n_overrides; i++) {
        strncat(sets, " --set '", sizeof sets - strlen(sets) - 1);
        strncat(sets, overrides[i], sizeof sets - strlen(sets) - 1);
        strncat(sets, "'", sizeof sets - strlen(sets) - 1);
    }

    /* what each output reads: the stamps its rule depends on */
    cbd_data_digests digests;
    data_digests(&cfg, &digests);
    static char teacher_stamps[CBD_MAX_TEACHERS][CBD_RUN_PATH_MAX], store_stamps[CBD_MAX_TEACHERS][CBD_RUN_PATH_MAX];
    for (int i = 0; i < cfg.teacher_count; i++) {
        char name[96];
        snprintf(name, sizeof name, "teacher-%s", cfg.teachers[i].name);
        stamp_output(&cfg, CBD_OUTPUT_TEACHER, cfg.teachers[i].name, &digests, out_dir, name, teacher_stamps[i],
                     sizeof teacher_stamps[i]);
        snprintf(name, sizeof name, "features-%s", cfg.teachers[i].name);
        stamp_output(&cfg, CBD_OUTPUT_STORE, cfg.teachers[i].name, &digests, out_dir, name, store_stamps[i],
                     sizeof store_stamps[i]);
    }
    char eval_stamp[CBD_RUN_PATH_MAX], report_stamp[CBD_RUN_PATH_MAX];
    stamp_output(&cfg, CBD_OUTPUT_EVAL, NULL, &digests, out_dir, "eval", eval_stamp, sizeof eval_stamp);

    /* every model [student] and [student.NAME] define, each loaded as the stage will load it */
    const int n_models = 1 + cfg.student_count;
    cbd_config *models = cbd_calloc((size_t)n_models, sizeof *models);
    static char model_stamps[1 + CBD_MAX_STUDENTS][CBD_RUN_PATH_MAX];
    char *report_text = NULL;
    size_t report_len = 0;
    FILE *report = open_memstream(&report_text, &report_len);
    if (!report) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    for (int m = 0; m < n_models; m++) {
        char err[4096];
        const char *name = m ? cfg.students[m - 1] : "student";
        if (cbd_config_load_model(&models[m], config_path, overrides, n_overrides, name, err, sizeof err) != 0)
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
        char stamp[96];
        snprintf(stamp, sizeof stamp, m ? "student-%s" : "%s", name);
        stamp_output(&models[m], CBD_OUTPUT_MODEL, NULL, &digests, out_dir, stamp, model_stamps[m],
                     sizeof model_stamps[m]);
        char *text = NULL;
        cbd_output_digest_of(&models[m], CBD_OUTPUT_REPORT, NULL, &digests, &text);
        fprintf(report, "# model %s\n%s", name, text);
        free(text);
    }
    if (fclose(report) != 0) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    write_stamp(out_dir, "report", report_text, report_stamp, sizeof report_stamp);
    free(report_text);

    fprintf(out, "# Generated by cbd-plan from %s: the experiment's stages as make rules. Each stage\n"
           "# depends on the stamp of what it reads (%s/.stamps/, experiment/output_digest.h).\n", ini, out_dir);
    fprintf(out, "BIN ?= build/bin\n-include mk/data.mk\n\n");
    fprintf(out, ".PHONY: all teachers features student eval report show\nall: %s\n\n",
           data[2][0] ? "report" : "student");
    fprintf(out, "TEACHERS :=");
    for (int i = 0; i < cfg.teacher_count; i++) fprintf(out, " %s", teacher_ckpt(out_dir, cfg.teachers[i].name));
    fprintf(out, "\nteachers: $(TEACHERS)\n\n");
    fprintf(out, "FEATURES :=");
    for (int i = 0; i < cfg.teacher_count; i++) fprintf(out, " %s", store_path(out_dir, cfg.teachers[i].name));
    fprintf(out, "\nfeatures: $(FEATURES)\n\n");
    for (int i = 0; i < cfg.teacher_count; i++) {
        const char *name = cfg.teachers[i].name;
        /* the teacher and the student also read val (each epoch's metrics) and test (the final line) */
        text_set(&pre, "%s $(BIN)/cbd-train-teacher %s %s %s", teacher_stamps[i], data[0], data[1], data[2]);
        text_set(&cmd, "$(BIN)/cbd-train-teacher --config %s --teacher %s --resume%s", ini, name, sets);
        rule(out, CBD_JOB_TEACHER, name, teacher_ckpt(out_dir, name), &pre, &cmd);
        text_set(&pre, "%s %s $(BIN)/cbd-dump-features %s", teacher_ckpt(out_dir, name), store_stamps[i], data[0]);
        text_set(&cmd, "$(BIN)/cbd-dump-features --config %s --teacher %s%s", ini, name, sets);
        rule(out, CBD_JOB_FEATURES, name, store_path(out_dir, name), &pre, &cmd);
    }

    /* the students and baselines: checkpoints (an ensemble has none) and their inputs */
    fprintf(out, "STUDENTS :=");
    for (int m = 0; m < n_models; m++)
        if (models[m].student.method != CBD_METHOD_ENSEMBLE) fprintf(out, " %s", model_ckpt(out_dir, &models[m]));
    fprintf(out, "\nstudent: $(STUDENTS)\n\n");
    for (int m = 0; m < n_models; m++) {
        const cbd_config *c = &models[m];
        const cbd_student_method method = c->student.method;
        if (method == CBD_METHOD_ENSEMBLE) continue;
        char select[160] = "";
        if (m) snprintf(select, sizeof select, " --student %s", c->student_name);
        text_set(&pre, "%s $(BIN)/cbd-train-student %s %s %s", model_stamps[m], data[0], data[1], data[2]);
        if (method == CBD_METHOD_TRAIN && c->student.distill != CBD_DISTILL_NONE)
            for (int i = 0; i < c->student.teachers_count; i++)
                cbd_text_printf(&pre, " %s", c->student.teacher_source == CBD_TEACHER_SOURCE_ONLINE
                                                 ? teacher_ckpt(out_dir, c->student.teachers[i])
                                                 : store_path(out_dir, c->student.teachers[i]));
        if (method != CBD_METHOD_TRAIN) cbd_text_printf(&pre, " %s", teacher_ckpt(out_dir, c->student.from));
        if (method == CBD_METHOD_CRT || method == CBD_METHOD_LWS)
            cbd_text_printf(&pre, " %s", store_path(out_dir, c->student.from));
        text_set(&cmd, "$(BIN)/cbd-train-student --config %s%s --resume%s", ini, select, sets);
        rule(out, CBD_JOB_MODEL, c->student_name, model_ckpt(out_dir, c), &pre, &cmd);
    }

    /* evaluation of every model on the test split (eval/NAME.{json,csv,md}), and the comparison */
    if (!data[2][0]) {
        fprintf(out, "eval report show:\n\t@echo \"%s sets no [data] test: nothing to evaluate\"\n", ini);
        free(models);
        cbd_text_free(&pre);
        cbd_text_free(&cmd);
        return finish(out, &slurm, ini);
    }
    cbd_text evals = {0};
    for (int i = 0; i < cfg.teacher_count; i++)
        cbd_text_printf(&evals, "%s%s", i ? " " : "", teacher_eval(out_dir, cfg.teachers[i].name));
    for (int m = 0; m < n_models; m++) cbd_text_printf(&evals, " %s", eval_json(out_dir, models[m].student_name));
    fprintf(out, "EVALS := %s\neval: $(EVALS)\n\n", cbd_text_str(&evals));
    for (int i = 0; i < cfg.teacher_count; i++) {
        const char *name = cfg.teachers[i].name;
        text_set(&pre, "%s %s $(BIN)/cbd-evaluate %s %s", teacher_ckpt(out_dir, name), eval_stamp, data[0], data[2]);
        text_set(&cmd, "$(BIN)/cbd-evaluate --config %s --model %s --name teacher-%s --ncm --quiet%s", ini,
                 teacher_ckpt(out_dir, name), name, sets);
        char eval_name[CBD_NAME_MAX + 16];
        snprintf(eval_name, sizeof eval_name, "teacher-%s", name);
        rule(out, CBD_JOB_EVAL, eval_name, teacher_eval(out_dir, name), &pre, &cmd);
    }
    for (int m = 0; m < n_models; m++) {
        const cbd_config *c = &models[m];
        const char *name = c->student_name;
        if (c->student.method == CBD_METHOD_ENSEMBLE) {
            text_set(&pre, "%s %s $(BIN)/cbd-evaluate %s %s", model_stamps[m], eval_stamp, data[0], data[2]);
            for (int i = 0; i < c->student.teachers_count; i++)
                cbd_text_printf(&pre, " %s", teacher_ckpt(out_dir, c->student.teachers[i]));
            text_set(&cmd, "$(BIN)/cbd-evaluate --config %s", ini);
            for (int i = 0; i < c->student.teachers_count; i++)
                cbd_text_printf(&cmd, " --model %s", teacher_ckpt(out_dir, c->student.teachers[i]));
            cbd_text_printf(&cmd, " --name %s --quiet%s", name, sets);
            rule(out, CBD_JOB_EVAL, name, eval_json(out_dir, name), &pre, &cmd);
            continue;
        }
        text_set(&pre, "%s %s $(BIN)/cbd-evaluate %s %s", model_ckpt(out_dir, c), eval_stamp, data[0], data[2]);
        text_set(&cmd, "$(BIN)/cbd-evaluate --config %s --model %s --name %s --ncm --quiet%s", ini,
                 model_ckpt(out_dir, c), name, sets);
        rule(out, CBD_JOB_EVAL, name, eval_json(out_dir, name), &pre, &cmd);
    }
    /* report.md: one row per label (models sharing a label are seeds of one model) */
    char report_stem[CBD_RUN_PATH_MAX], report_md[CBD_RUN_PATH_MAX];
    cbd_layout_report(report_stem, sizeof report_stem, out_dir);
    cbd_layout_join(report_md, sizeof report_md, report_stem, ".md");
    fprintf(out, "report: %s\n\n", report_md);
    text_set(&pre, "%s %s $(BIN)/cbd-report $(BIN)/cbd-curves", evals.p ? cbd_text_str(&evals) : "", report_stamp);
    text_set(&cmd, "$(BIN)/cbd-report --out %s --title '%s'", report_stem, cfg.experiment.name);
    for (int i = 0; i < cfg.teacher_count; i++)
        cbd_text_printf(&cmd, " '%s=%s'", cfg.teachers[i].label, teacher_eval(out_dir, cfg.teachers[i].name));
    for (int m = 0; m < n_models; m++)
        cbd_text_printf(&cmd, " '%s=%s'", models[m].student.label, eval_json(out_dir, models[m].student_name));
    cbd_text_printf(&cmd, " >/dev/null");
    /* the training curves of every run that trained (tau-norm and ensembles do not) */
    char curves[CBD_RUN_PATH_MAX];
    cbd_layout_join(curves, sizeof curves, out_dir, "/curves");
    cbd_text_printf(&cmd, " && $(BIN)/cbd-curves --out %s --title '%s'", curves, cfg.experiment.name);
    for (int i = 0; i < cfg.teacher_count; i++)
        cbd_text_printf(&cmd, " '%s=%s'", cfg.teachers[i].name, metrics_of(teacher_ckpt(out_dir, cfg.teachers[i].name)));
    for (int m = 0; m < n_models; m++) {
        const int method = models[m].student.method;
        if (method == CBD_METHOD_TAU_NORM || method == CBD_METHOD_ENSEMBLE) continue;
        cbd_text_printf(&cmd, " '%s=%s'", models[m].student_name, metrics_of(model_ckpt(out_dir, &models[m])));
    }
    rule(out, CBD_JOB_REPORT, "report", report_md, &pre, &cmd);
    fprintf(out, "show: %s\n\t@sed -n '/^| model/,/^$$/p' %s\n", report_md, report_md);
    write_neighbours_rule(out, &cfg, models, n_models, ini, sets, out_dir);
    free(models);
    cbd_text_free(&pre);
    cbd_text_free(&cmd);
    cbd_text_free(&evals);
    return finish(out, &slurm, ini);
}
