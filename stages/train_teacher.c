/* cbd-train-teacher: trains one teacher of an experiment with (by default)
 * instance sampling and cross-entropy.
 *
 *   cbd-train-teacher --config ini/tiny.ini --teacher t1 [--resume] [--force] [--set train.epochs=3]
 *
 * Writes <output_dir>/teachers/NAME.ckpt.h5 when training is complete, and
 * beside it NAME.metrics.csv, NAME.log, NAME.config.ini (the resolved
 * configuration) and, while training, NAME.resume.ckpt.h5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "parallel/ranks.h"
#include "nn/threads.h"
#include "experiment/config.h"
#include "stages/stage_args.h"
#include "stages/stage_common.h"
#include "training/trainer.h"
#include "experiment/run_layout.h"
#include "stages/stage_inputs.h"
#include "store/checkpoint.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-train-teacher --config FILE --teacher NAME [options]\n"
            "  --config FILE      experiment INI (see ini/README.md)\n"
            "  --teacher NAME     which [teacher.NAME] section to train\n"
            "  --resume           continue from NAME.resume.ckpt.h5 (the last finished epoch)\n"
            "  --force            retrain even if the teacher is up to date; discard a resume checkpoint\n"
            "  --set S.KEY=VALUE  override a config value (repeatable), e.g. --set train.epochs=3\n"
            "  --quiet            no progress output (the log file is still written)\n"
            "  --help             this text\n"
            "exit status: 0 done or up to date, 1 training failed, 2 bad usage or configuration\n");
}

static int stage_main(int argc, char **argv) {
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv, CBD_ARG_TEACHER | CBD_ARG_RESUME | CBD_ARG_FORCE | CBD_ARG_QUIET, CBD_ARG_TEACHER, usage, &args);
    const char *config_path = args.config, *teacher_name = args.teacher;
    int resume = args.resume;
    const int force = args.force, quiet = args.quiet;
    static cbd_config cfg;
    cbd_stage_load_config(&args, &cfg);
    const cbd_teacher_config *t = cbd_config_teacher(&cfg, teacher_name);
    if (!t) {
        char names[1024] = "";
        for (int i = 0; i < cfg.teacher_count; i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, cfg.teachers[i].name, sizeof names - strlen(names) - 1);
        }
        cbd_fail(CBD_EXIT_USAGE, "%s has no [teacher.%s] (its teachers: %s)", config_path, teacher_name,
                 cfg.teacher_count ? names : "none");
    }
    cbd_threads_set(cfg.experiment.threads);

    cbd_train_job job;
    memset(&job, 0, sizeof job);
    char stem[CBD_RUN_PATH_MAX];
    cbd_layout_teacher(stem, sizeof stem, cfg.experiment.output_dir, t->name);
    cbd_run_files_of(stem, &job.files);
    cbd_stage_make_parent(stem);

    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int classes = cbd_dataset_classes(train);
    cbd_stage_report_empty_classes(train, "train");
    cbd_dataset *val = cbd_stage_open_dataset(&cfg, "val", cfg.data.val, classes);
    cbd_dataset *test = cbd_stage_open_dataset(&cfg, "test", cfg.data.test, classes);
    cbd_data_digests data;
    cbd_stage_data_digests(&cfg, train, NULL, &data);
    job.config_digest = cbd_stage_teacher_digest(&cfg, t->name, &data);

    char what[96];
    snprintf(what, sizeof what, "teacher %s", t->name);
    int rc = cbd_stage_check_outputs(&job.files, job.config_digest, t->epochs, force, &resume, quiet, what);
    if (rc >= 0) {
        cbd_dataset_close(train);
        if (val) cbd_dataset_close(val);
        if (test) cbd_dataset_close(test);
        return rc;
    }
    char *config_text = cbd_stage_config_text(&cfg);
    job.config_text = config_text;

    snprintf(job.label, sizeof job.label, "teacher %s", t->name);
    cbd_stage_model_config(&cfg, t->arch, classes, &job.model);
    job.model.head = t->head;
    job.seed = t->seed;
    job.view_seed = t->seed;
    job.epochs = t->epochs;
    job.lr = t->lr;
    job.sampling = cfg.train.sampling;
    cbd_stage_train_views(&cfg, t->kind == CBD_TEACHER_AUGMENT, &job.train_views);
    cbd_stage_train_job_settings(&cfg, quiet, &job);

    rc = cbd_train_run(&job, train, val, test, resume);
    cbd_backend_destroy(job.backend);
    free(config_text);
    cbd_dataset_close(train);
    if (val) cbd_dataset_close(val);
    if (test) cbd_dataset_close(test);
    return rc;
}

int main(int argc, char **argv) { return cbd_ranks_main(argc, argv, stage_main); }
