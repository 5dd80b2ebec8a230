/* cbd-sweep: trains and evaluates a grid of student models over an existing
 * experiment, reusing its teachers and feature stores, through cbd-plan's
 * make rules, and compares them with cbd-report (table, CSV, plots).
 *
 *   cbd-sweep [--jobs N] [--dry-run] ini/sweeps/alpha.ini
 *
 * The sweep file's format is in ini/README.md ("Sweeps"); tools/sweep_spec.c
 * reads it and tools/sweep_models.c makes the models' INI. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/log.h"
#include "experiment/config.h"
#include "experiment/run_layout.h"
#include "store/fsutil.h"
#include "tools/cli.h"
#include "tools/sweep_models.h"
#include "tools/sweep_select.h"
#include "tools/sweep_spec.h"

static const char usage_text[] =
    "usage: cbd-sweep [--jobs N] [--dry-run] SWEEP.ini\n"
    "\n"
    "Trains and evaluates one student model per grid point (and seed) of a sweep\n"
    "file over its base experiment, reusing the base's teachers and feature stores,\n"
    "and compares them. The sweep file (format: ini/README.md, \"Sweeps\"):\n"
    "\n"
    "  [sweep]\n"
    "  base = ../fmnist_lt.ini     ; the experiment, relative to the sweep file\n"
    "  name = alpha                ; optional; default: the file's name without .ini\n"
    "  seeds = 1, 2                ; optional; default: one run with the base's seed\n"
    "  [grid]\n"
    "  student.alpha = 0, 0.2, 0.4 ; values of a [student] key, comma-separated\n"
    "  student.teachers = std1 | std1, aug1   ; list-valued keys: '|' between alternatives\n"
    "\n"
    "Steps: writes OUTPUT_DIR/sweeps/NAME.ini (the resolved base and one\n"
    "[student.NAME-i] per grid point and seed), the make rules of cbd-plan to\n"
    "build/plans/sweep-NAME.mk (under the current folder), runs make for the\n"
    "models' evaluations (only what is out of date), then cbd-report, which writes\n"
    "OUTPUT_DIR/sweeps/NAME.{md,csv,per_class.{svg,png},sweep.{svg,png}} and prints the table.\n"
    "OUTPUT_DIR is the base's [experiment] output_dir (from the current folder).\n"
    "\n"
    "options:\n"
    "  --jobs N     make -jN: N models trained at once (default 1)\n"
    "  --dry-run    write the INI and the plan, print the make command, run nothing\n"
    "  --help       print this help\n"
    "\n"
    "exit status: 0 ok; 1 a run or the report failed; 2 bad usage or a bad sweep file\n";

typedef struct {
    const char *sweep;
    int jobs;
    int dry_run;
} options;

static void parse_options(int argc, char **argv, options *o) {
    *o = (options){NULL, 1, 0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        } else if (!strcmp(arg, "--dry-run")) {
            o->dry_run = 1;
        } else if (!strcmp(arg, "--jobs") || !strncmp(arg, "--jobs=", 7)) {
            const char *value = arg[6] == '=' ? arg + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) cbd_usage_error("--jobs needs a value");
            o->jobs = (int)cbd_parse_integer("--jobs", value, 1, 256);
        } else if (arg[0] == '-' && arg[1]) {
            cbd_usage_error("unknown option '%s'", arg);
        } else if (o->sweep) {
            cbd_usage_error("one sweep file at a time (got %s and %s)", o->sweep, arg);
        } else {
            o->sweep = arg;
        }
    }
    if (!o->sweep) cbd_usage_error("no sweep file given");
}

/* ---- processes ----------------------------------------------------------------- */

/* The folder of this executable: the stages and tools are built beside it. */
static void bin_dir(const char *argv0, char *out, size_t len) {
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
    } else if (!realpath(argv0, self)) {
        cbd_fail(CBD_EXIT_FAILURE, "cannot find the folder of %s: %s", argv0, strerror(errno));
    }
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(out, len, "%s", self);
}

/* path below the current folder is shown relative to it */
static const char *shown(const char *path) {
    static char cwd[PATH_MAX];
    if (!cwd[0] && !getcwd(cwd, sizeof cwd)) return path;
    const size_t n = strlen(cwd);
    return !strncmp(path, cwd, n) && path[n] == '/' ? path + n + 1 : path;
}

static void print_command(char *const argv[]) {
    for (int i = 0; argv[i]; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=@+:,", *p)) plain = 0;
        if (plain) {
            printf("%s%s", i ? " " : "", a);
            continue;
        }
        printf("%s'", i ? " " : "");
        for (const char *p = a; *p; p++) *p == '\'' ? fputs("'\\''", stdout) : putchar(*p);
        putchar('\'');
    }
    putchar('\n');
}

/* Runs argv[0] (a path, or a program looked up in PATH) with stdout sent to
 * out_path when given. Returns its exit status (128 + N when killed by
 * signal N); exits 1 when it cannot be started. */
static int run(char *const argv[], const char *out_path) {
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) cbd_fail(CBD_EXIT_FAILURE, "cannot start %s: %s", argv[0], strerror(errno));
    if (pid == 0) {
        if (out_path) {
            const int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
                fprintf(stderr, "cbd: error: cannot write %s: %s\n", out_path, strerror(errno));
                _exit(127);
            }
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cbd: error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) cbd_fail(CBD_EXIT_FAILURE, "waiting for %s: %s", argv[0], strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- steps ----------------------------------------------------------------------- */

/* Step 2: the models' INI, written whole or not at all, then each model loaded. */
static void write_models_ini(const sweep_spec *s, const cbd_config *base, const sweep_models *m, const char *path) {
    char err[8192];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    sweep_models_write_ini(s, base, m, f);
    if (fclose(f) != 0) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    char folder[CBD_RUN_PATH_MAX];
    cbd_layout_sweeps(folder, sizeof folder, base->experiment.output_dir);
    if (cbd_mkdir_p(folder, err, sizeof err) != 0 || cbd_write_file_atomic(path, text, len, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    free(text);
    if (sweep_models_check(s, m, path, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
}

/* Step 3a: cbd-plan's rules for the models' INI; returns the eval targets of
 * the sweep's models as the plan names them (its EVALS list). */
static char **write_plan(const char *bin, const char *ini, const char *plan, const sweep_models *m) {
    char err[4096], exe[PATH_MAX + 16], tmp[PATH_MAX + 32];
    if (cbd_mkdir_p("build/plans", err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    snprintf(exe, sizeof exe, "%s/cbd-plan", bin);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", plan, (long)getpid());
    char *argv[] = {exe, "--config", (char *)ini, NULL};
    const int rc = run(argv, tmp);
    if (rc != 0) {
        unlink(tmp);
        cbd_fail(CBD_EXIT_FAILURE, "cbd-plan --config %s failed (exit %d)", ini, rc);
    }
    if (rename(tmp, plan) != 0) cbd_fail(CBD_EXIT_FAILURE, "cannot rename %s to %s: %s", tmp, plan, strerror(errno));

    char *text = cbd_read_file(plan, NULL, err, sizeof err);
    if (!text) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    char *line = strstr(text, "\nEVALS :=");
    if (!line) cbd_fail(CBD_EXIT_FAILURE, "%s: no EVALS line: does %s set [data] test?", plan, ini);
    line += strlen("\nEVALS :=");
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    char **targets = cbd_calloc((size_t)m->n + 1, sizeof *targets);
    for (int i = 0; i < m->n; i++) {
        char stem[CBD_RUN_PATH_MAX], suffix[CBD_RUN_PATH_MAX];
        cbd_layout_eval(stem, sizeof stem, "", m->models[i].name); /* "/eval/NAME" */
        cbd_layout_join(suffix, sizeof suffix, stem, ".json");
        const size_t n = strlen(suffix);
        char *save = NULL;
        char *copy = cbd_strdup(line);
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
            if (strlen(tok) > n && !strcmp(tok + strlen(tok) - n, suffix)) targets[i] = cbd_strdup(tok);
        free(copy);
        if (!targets[i]) cbd_fail(CBD_EXIT_FAILURE, "%s: no evaluation of model %s", plan, m->models[i].name);
    }
    free(text);
    return targets;
}

static void free_strings(char **list, int n) {
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    parse_options(argc, argv, &o);

    /* 1. the sweep file, and its values against the base */
    static sweep_spec s;
    char err[8192];
    if (sweep_spec_load(&s, o.sweep, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_config *base = cbd_calloc(1, sizeof *base);
    if (cbd_config_load(base, s.base, NULL, 0, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s:%d: [sweep] base: %s", s.path, s.base_line, err);
    if (!base->data.test[0])
        cbd_fail(CBD_EXIT_USAGE, "%s:%d: [sweep] base: %s sets no [data] test: a sweep compares test accuracy",
                 s.path, s.base_line, s.base);
    if (sweep_check_values(&s, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    static sweep_models m;
    if (sweep_models_make(&s, base, &m, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);

    /* 2. the models' INI beside the base's outputs */
    char ini[CBD_RUN_PATH_MAX + 128], prefix[CBD_RUN_PATH_MAX + 128], plan[PATH_MAX], bin[PATH_MAX], sweeps[CBD_RUN_PATH_MAX];
    cbd_layout_sweeps(sweeps, sizeof sweeps, shown(base->experiment.output_dir));
    char slash_name[CBD_NAME_MAX + 2];
    snprintf(slash_name, sizeof slash_name, "/%s", s.name);
    cbd_layout_join(prefix, sizeof prefix, sweeps, slash_name); /* DIR/sweeps/NAME */
    cbd_layout_join(ini, sizeof ini, prefix, ".ini");
    write_models_ini(&s, base, &m, ini);
    printf("sweep %s of %s: %d grid point%s x %d seed%s = %d model%s, in %s\n", s.name, base->experiment.name,
           s.points, s.points == 1 ? "" : "s", s.n_seeds ? s.n_seeds : 1, s.n_seeds > 1 ? "s" : "", m.n,
           m.n == 1 ? "" : "s", ini);
    for (int i = 0; i < m.n; i++) {
        printf("  %-12s  %s", m.models[i].name, m.models[i].label);
        if (m.models[i].has_seed) printf(" (seed %llu)", (unsigned long long)m.models[i].seed);
        putchar('\n');
    }

    /* 3. make: the plan of the models' INI, for the models' evaluations only */
    bin_dir(argv[0], bin, sizeof bin);
    snprintf(plan, sizeof plan, "build/plans/sweep-%s.mk", s.name);
    char **targets = write_plan(bin, ini, plan, &m);
    char bin_arg[PATH_MAX + 8], jobs_arg[32];
    snprintf(bin_arg, sizeof bin_arg, "BIN=%s", bin);
    snprintf(jobs_arg, sizeof jobs_arg, "-j%d", o.jobs);
    char **make = cbd_calloc((size_t)m.n + 8, sizeof *make);
    int k = 0;
    make[k++] = "make";
    make[k++] = "--no-print-directory";
    make[k++] = "-f";
    make[k++] = plan;
    make[k++] = bin_arg;
    make[k++] = jobs_arg;
    for (int i = 0; i < m.n; i++) make[k++] = targets[i];
    if (o.dry_run) {
        printf("plan: %s\ndry run: would run\n", plan);
        print_command(make);
        free_strings(targets, m.n);
        free(make);
        free(base);
        return CBD_EXIT_OK;
    }
    printf("+ ");
    print_command(make);
    const int rc = run(make, NULL);
    if (rc != 0)
        cbd_fail(CBD_EXIT_FAILURE, "make failed (exit %d): some models of sweep %s are not trained or evaluated; "
                                   "run the sweep again to go on where it stopped", rc, s.name);

    /* 4. the comparison */
    char exe[PATH_MAX + 16], title[256];
    snprintf(exe, sizeof exe, "%s/cbd-report", bin);
    snprintf(title, sizeof title, "sweep %s of %s", s.name, base->experiment.name);
    char **report = cbd_calloc((size_t)m.n + 10, sizeof *report);
    k = 0;
    report[k++] = exe;
    report[k++] = "--out";
    report[k++] = prefix;
    report[k++] = "--title";
    report[k++] = title;
    report[k++] = "--x-name";
    report[k++] = m.x_name;
    for (int i = 0; i < m.n; i++) {
        const size_t n = strlen(m.models[i].label) + strlen(m.x[m.models[i].point]) + strlen(targets[i]) + 3;
        report[k] = cbd_malloc(n);
        snprintf(report[k++], n, "%s@%s=%s", m.models[i].label, m.x[m.models[i].point], targets[i]);
    }
    printf("+ ");
    print_command(report);
    const int report_rc = run(report, NULL);
    if (report_rc != 0) cbd_fail(CBD_EXIT_FAILURE, "cbd-report failed (exit %d)", report_rc);
    printf("wrote %s.md, %s.csv, %s.per_class.svg, %s.sweep.svg\n", prefix, prefix, prefix, prefix);

    /* 5. with [data] val: the point chosen on validation, reported on test */
    if (base->data.val[0]) sweep_select_on_val(bin, ini, base, &m, prefix, title, run);
    for (int i = 0; i < m.n; i++) free(report[7 + i]);
    free(report);
    free_strings(targets, m.n);
    free(make);
    free(base);
    return CBD_EXIT_OK;
}
