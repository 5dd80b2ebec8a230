/* The paths of experiment/run_layout.h. */
#include "experiment/run_layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn/log.h"

static void path_printf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_printf(char *out, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) cbd_fail(CBD_EXIT_USAGE, "path too long: %.200s...", out);
}

void cbd_layout_teacher(char *out, size_t len, const char *dir, const char *teacher) {
    path_printf(out, len, "%s/teachers/%s", dir, teacher);
}

void cbd_layout_teacher_checkpoint(char *out, size_t len, const char *dir, const char *teacher) {
    path_printf(out, len, "%s/teachers/%s.ckpt.h5", dir, teacher);
}

void cbd_layout_store(char *out, size_t len, const char *dir, const char *teacher) {
    path_printf(out, len, "%s/features/%s.h5", dir, teacher);
}

void cbd_layout_model(char *out, size_t len, const char *dir, const char *model) {
    if (strcmp(model, "student") == 0)
        path_printf(out, len, "%s/student", dir);
    else
        path_printf(out, len, "%s/students/%s", dir, model);
}

void cbd_layout_eval(char *out, size_t len, const char *dir, const char *name) {
    path_printf(out, len, "%s/eval/%s", dir, name);
}

void cbd_layout_stamp(char *out, size_t len, const char *dir, const char *name) {
    path_printf(out, len, "%s/.stamps/%s", dir, name);
}

void cbd_layout_report(char *out, size_t len, const char *dir) { path_printf(out, len, "%s/report", dir); }

void cbd_layout_sweeps(char *out, size_t len, const char *dir) { path_printf(out, len, "%s/sweeps", dir); }

void cbd_layout_join(char *out, size_t len, const char *stem, const char *suffix) {
    path_printf(out, len, "%s%s", stem, suffix);
}

void cbd_run_files_of(const char *stem, cbd_run_files *f) {
    cbd_layout_join(f->checkpoint, sizeof f->checkpoint, stem, ".ckpt.h5");
    cbd_layout_join(f->metrics, sizeof f->metrics, stem, ".metrics.csv");
    cbd_layout_join(f->log, sizeof f->log, stem, ".log");
    cbd_layout_join(f->config, sizeof f->config, stem, ".config.ini");
    cbd_layout_join(f->resume, sizeof f->resume, stem, ".resume.ckpt.h5");
    cbd_layout_join(f->run_metrics, sizeof f->run_metrics, stem, ".resume.metrics.csv");
    cbd_layout_join(f->run_log, sizeof f->run_log, stem, ".resume.log");
    cbd_layout_join(f->run_config, sizeof f->run_config, stem, ".resume.config.ini");
}
