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
#include "nn/threads.h"
#include "experiment/config.h"
#include "stages/stage_args.h"
#include "stages/stage_common.h"
#include "training/trainer.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/fsutil.h"

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

/* Digest of everything that decides the teacher's weights (not threads,
 * workers or device: results do not depend on them). */
static uint64_t teacher_digest(const cbd_config *cfg, const cbd_teacher_config *t, uint64_t data_digest) {
    char text[4096];
    const int color = t->kind == CBD_TEACHER_AUGMENT;
    int n = snprintf(text, sizeof text,
                     "data %016llx ch %d resize %d size %d crop %d pad %d flip %d scale %g %g ratio %g %g "
                     "mean %g %g %g std %g %g %g\n"
                     "model %s head %d scale %g\n"
                     "train bs %d lr %g final %g warmup %d mom %g wd %g nest %d dnb %d sampling %d\n"
                     "teacher %s kind %d seed %llu epochs %d\n",
                     (unsigned long long)data_digest, cfg->data.channels, cfg->data.resize,
                     cfg->data.image_size, (int)cfg->data.crop, cfg->data.pad, cfg->data.flip,
                     cfg->data.scale_min, cfg->data.scale_max, cfg->data.ratio_min, cfg->data.ratio_max,
                     cfg->data.mean[0], cfg->data.mean_count > 1 ? cfg->data.mean[1] : 0.0,
                     cfg->data.mean_count > 2 ? cfg->data.mean[2] : 0.0, cfg->data.std[0],
                     cfg->data.std_count > 1 ? cfg->data.std[1] : 0.0,
                     cfg->data.std_count > 2 ? cfg->data.std[2] : 0.0, t->arch, (int)t->head,
                     cfg->model.cosine_scale, cfg->train.batch_size, t->lr, cfg->train.lr_final,
                     cfg->train.warmup_epochs, cfg->train.momentum, cfg->train.weight_decay,
                     cfg->train.nesterov, cfg->train.decay_norm_and_bias, (int)cfg->train.sampling, t->name,
                     (int)t->kind, (unsigned long long)t->seed, t->epochs);
    if (color && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n, "augment %g %g %g %g %g %g %g\n", cfg->augment.brightness,
                 cfg->augment.contrast, cfg->augment.saturation, cfg->augment.hue, cfg->augment.jitter_p,
                 cfg->augment.grayscale_p, cfg->augment.noise_sigma);
    return cbd_fnv1a64(text, strlen(text));
}

int main(int argc, char **argv) {
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv, CBD_ARG_TEACHER | CBD_ARG_RESUME | CBD_ARG_FORCE | CBD_ARG_QUIET, CBD_ARG_TEACHER, usage, &args);
    const char *config_path = args.config, *teacher_name = args.teacher;
    int resume = args.resume;
    const int force = args.force, quiet = args.quiet;
    static cbd_config cfg;
    char err[2048];
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

    char folder[4200];
    cbd_stage_path(folder, sizeof folder, cfg.experiment.output_dir, "teachers");
    if (cbd_mkdir_p(folder, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cbd_train_job job;
    memset(&job, 0, sizeof job);
    char name[160];
    snprintf(name, sizeof name, "%s.ckpt.h5", t->name);
    cbd_stage_path(job.final_path, sizeof job.final_path, folder, name);
    snprintf(name, sizeof name, "%s.resume.ckpt.h5", t->name);
    cbd_stage_path(job.resume_path, sizeof job.resume_path, folder, name);
    snprintf(name, sizeof name, "%s.metrics.csv", t->name);
    cbd_stage_path(job.metrics_path, sizeof job.metrics_path, folder, name);
    snprintf(name, sizeof name, "%s.log", t->name);
    cbd_stage_path(job.log_path, sizeof job.log_path, folder, name);

    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int classes = cbd_dataset_classes(train);
    cbd_dataset *val = cbd_stage_open_dataset(&cfg, "val", cfg.data.val, classes);
    cbd_dataset *test = cbd_stage_open_dataset(&cfg, "test", cfg.data.test, classes);
    job.config_digest = cbd_stage_digest_with_precision(&cfg, teacher_digest(&cfg, t, cbd_dataset_digest(train)));

    char what[96];
    snprintf(what, sizeof what, "teacher %s", t->name);
    int rc = cbd_stage_check_outputs(job.final_path, job.resume_path, job.config_digest, t->epochs, force, &resume,
                                     quiet, what);
    if (rc >= 0) {
        cbd_dataset_close(train);
        if (val) cbd_dataset_close(val);
        if (test) cbd_dataset_close(test);
        return rc;
    }
    snprintf(name, sizeof name, "%s.config.ini", t->name);
    char config_copy[4200];
    cbd_stage_path(config_copy, sizeof config_copy, folder, name);
    cbd_stage_write_config(&cfg, config_copy);

    snprintf(job.label, sizeof job.label, "teacher %s", t->name);
    cbd_stage_model_config(&cfg, t->arch, classes, &job.model);
    job.model.head = t->head;
    job.seed = t->seed;
    job.view_seed = t->seed;
    job.epochs = t->epochs;
    job.batch_size = cfg.train.batch_size;
    job.lr = t->lr;
    job.lr_final = cfg.train.lr_final;
    job.warmup_epochs = cfg.train.warmup_epochs;
    job.sgd = (cbd_sgd_config){.momentum = cfg.train.momentum, .weight_decay = cfg.train.weight_decay,
                               .nesterov = cfg.train.nesterov,
                               .decay_norm_and_bias = cfg.train.decay_norm_and_bias};
    job.sampling = cfg.train.sampling;
    cbd_stage_train_views(&cfg, t->kind == CBD_TEACHER_AUGMENT, &job.train_views);
    cbd_stage_eval_views(&cfg, &job.eval_views);
    job.workers = cfg.data.workers;
    job.on_bad_image = cfg.data.on_bad_image;
    job.checkpoint_every = cfg.train.checkpoint_every;
    job.backend = cbd_stage_create_backend(&cfg);
    job.quiet = quiet;

    rc = cbd_train_run(&job, train, val, test, resume);
    cbd_backend_destroy(job.backend);
    cbd_dataset_close(train);
    if (val) cbd_dataset_close(val);
    if (test) cbd_dataset_close(test);
    return rc;
}
