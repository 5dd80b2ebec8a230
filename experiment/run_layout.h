/* Where an experiment's outputs live, below [experiment] output_dir:
 *
 *   teachers/NAME.ckpt.h5          a finished teacher, and beside it the
 *   teachers/NAME.metrics.csv      files of the run that made it (the same
 *   teachers/NAME.log              texts are kept inside the checkpoint)
 *   teachers/NAME.config.ini
 *   teachers/NAME.resume.ckpt.h5   a run in progress: its last finished epoch
 *   teachers/NAME.resume.metrics.csv, .resume.log, .resume.config.ini
 *                                  its texts; they take the names above only
 *                                  when the final checkpoint is written
 *   features/NAME.h5               teacher NAME's feature store (.partial while dumped)
 *   student.*, students/NAME.*     the models, with the files of a teacher
 *   eval/NAME.json, .csv, .md, .confusion.csv   evaluations
 *   report.md, report.csv, report.per_class.svg the comparison
 *   .stamps/NAME                   what each output reads, for make (cbd-plan)
 *   sweeps/                        sweep INIs and results (tools/sweep)
 *
 * Every function writes a path into out, and stops the program (exit 2,
 * naming the path) when it does not fit. */
#ifndef CBD_RUN_LAYOUT_H
#define CBD_RUN_LAYOUT_H

#include <stddef.h>

#include "experiment/config_schema.h" /* CBD_PATH_MAX */

#define CBD_RUN_PATH_MAX (CBD_PATH_MAX + 96)

/* DIR/teachers/NAME: the stem of a teacher's files. */
void cbd_layout_teacher(char *out, size_t len, const char *dir, const char *teacher);
/* DIR/teachers/NAME.ckpt.h5 */
void cbd_layout_teacher_checkpoint(char *out, size_t len, const char *dir, const char *teacher);
/* DIR/features/NAME.h5 */
void cbd_layout_store(char *out, size_t len, const char *dir, const char *teacher);
/* DIR/student for the model "student" ([student]), DIR/students/NAME for [student.NAME]. */
void cbd_layout_model(char *out, size_t len, const char *dir, const char *model);
/* DIR/eval/NAME: the stem of an evaluation's files. */
void cbd_layout_eval(char *out, size_t len, const char *dir, const char *name);
/* DIR/.stamps/NAME */
void cbd_layout_stamp(char *out, size_t len, const char *dir, const char *name);
/* DIR/report: the stem of the comparison's files. */
void cbd_layout_report(char *out, size_t len, const char *dir);
/* DIR/sweeps: the INIs and results of tools/sweep. */
void cbd_layout_sweeps(char *out, size_t len, const char *dir);
/* STEM + suffix. */
void cbd_layout_join(char *out, size_t len, const char *stem, const char *suffix);

/* The files of a training output with stem STEM. */
typedef struct {
    char checkpoint[CBD_RUN_PATH_MAX]; /* STEM.ckpt.h5 */
    char metrics[CBD_RUN_PATH_MAX];    /* STEM.metrics.csv */
    char log[CBD_RUN_PATH_MAX];        /* STEM.log */
    char config[CBD_RUN_PATH_MAX];     /* STEM.config.ini */
    /* the run in progress */
    char resume[CBD_RUN_PATH_MAX];         /* STEM.resume.ckpt.h5 */
    char run_metrics[CBD_RUN_PATH_MAX];    /* STEM.resume.metrics.csv */
    char run_log[CBD_RUN_PATH_MAX];        /* STEM.resume.log */
    char run_config[CBD_RUN_PATH_MAX];     /* STEM.resume.config.ini */
} cbd_run_files;

void cbd_run_files_of(const char *stem, cbd_run_files *out);

#endif
