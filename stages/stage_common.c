#include "stages/stage_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#include <utime.h>

#include "nn/log.h"
#include "parallel/ranks.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/file_lock.h"
#include "store/fsutil.h"
#include "training/run_files.h"

cbd_dataset *cbd_stage_open_dataset(const cbd_config *cfg, const char *which, const char *path,
                                    int classes) {
    if (!path || !*path) return NULL;
    cbd_dataset_source src = {
        .path = path,
        .image_root = cfg->data.image_root[0] ? cfg->data.image_root : NULL,
        .class_names = cfg->data.class_names[0] ? cfg->data.class_names : NULL,
        .channels = cfg->data.channels,
        .resize = cfg->data.resize,
        .classes = classes,
        .on_bad_image = cfg->data.on_bad_image,
    };
    char err[1024];
    cbd_dataset *ds = cbd_dataset_open(&src, err, sizeof err);
    if (!ds) cbd_fail(CBD_EXIT_USAGE, "[data] %s: %s", which, err);
    return ds;
}

cbd_backend *cbd_stage_backend(const char *device, const char *precision, char *err, size_t err_len) {
    char why[512];
    cbd_backend *be = cbd_backend_create(device, why, sizeof why);
    if (!be) {
        snprintf(err, err_len, "[experiment] device = %s: %s", device, why);
        return NULL;
    }
    if (cbd_backend_set_precision(be, precision, why, sizeof why) != 0) {
        cbd_backend_destroy(be);
        snprintf(err, err_len, "[experiment] precision = %s: %s", precision, why);
        return NULL;
    }
    return be;
}

cbd_backend *cbd_stage_create_backend(const cbd_config *cfg) {
    char err[640];
    cbd_backend *be = cbd_stage_backend(cbd_config_device_name(cfg), cbd_config_precision_name(cfg), err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    return be;
}

void cbd_stage_model_config(const cbd_config *cfg, const char *arch, int classes, cbd_model_config *out) {
    cbd_model_config_default(out);
    snprintf(out->arch, sizeof out->arch, "%s", arch && *arch ? arch : cfg->model.arch);
    out->in_channels = cfg->data.channels;
    out->classes = classes;
    out->head = cfg->model.head;
    out->cosine_scale = cfg->model.cosine_scale;
}

static void common_views(const cbd_config *cfg, cbd_augment_config *v) {
    memset(v, 0, sizeof *v);
    v->out_size = cfg->data.image_size;
    v->out_channels = cfg->data.channels;
    for (int c = 0; c < 3; c++) {
        int k = cfg->data.mean_count == 1 ? 0 : c;
        v->mean[c] = cfg->data.mean[k < cfg->data.mean_count ? k : 0];
        k = cfg->data.std_count == 1 ? 0 : c;
        v->std[c] = cfg->data.std[k < cfg->data.std_count ? k : 0];
    }
}

void cbd_stage_train_views(const cbd_config *cfg, int color, cbd_augment_config *v) {
    common_views(cfg, v);
    v->crop = cfg->data.crop;
    v->pad = cfg->data.pad;
    v->flip = cfg->data.flip;
    v->scale_min = cfg->data.scale_min;
    v->scale_max = cfg->data.scale_max;
    v->ratio_min = cfg->data.ratio_min;
    v->ratio_max = cfg->data.ratio_max;
    v->color = color;
    v->brightness = cfg->augment.brightness;
    v->contrast = cfg->augment.contrast;
    v->saturation = cfg->augment.saturation;
    v->hue = cfg->augment.hue;
    v->jitter_p = cfg->augment.jitter_p;
    v->grayscale_p = cfg->augment.grayscale_p;
    v->noise_sigma = cfg->augment.noise_sigma;
}

void cbd_stage_store_views(const cbd_config *cfg, cbd_augment_config *out) {
    cbd_stage_train_views(cfg, 0, out);
}

void cbd_stage_eval_views(const cbd_config *cfg, cbd_augment_config *v) {
    common_views(cfg, v);
    v->crop = CBD_CROP_NONE;
}

void cbd_stage_make_parent(const char *path) {
    char folder[4200], err[1024];
    if (strlen(path) >= sizeof folder) cbd_fail(CBD_EXIT_USAGE, "path too long: %s", path);
    strcpy(folder, path);
    char *slash = strrchr(folder, '/');
    if (!slash) return;
    *slash = '\0';
    if (folder[0] && cbd_mkdir_p(folder, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
}

void cbd_stage_path(char *out, size_t len, const char *folder, const char *name) {
    int n = snprintf(out, len, "%s/%s", folder, name);
    if (n < 0 || (size_t)n >= len) cbd_fail(CBD_EXIT_USAGE, "path too long: %s/%s", folder, name);
}

void cbd_stage_lock_output(const char *path) {
    char err[8400];
    cbd_stage_make_parent(path);
    const int rc = cbd_lock_output(path, err, sizeof err);
    if (rc == 1) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cbd_remove_stale_temporaries(path);
}

/* The decision of cbd_stage_check_outputs, made by the process that writes. */
static int check_outputs_here(const cbd_run_files *files, uint64_t digest, int epochs, int force, int *resume,
                              int quiet, const char *what) {
    cbd_stage_lock_output(files->checkpoint);
    cbd_run_files_remove_temporaries(files);
    if (!force && cbd_file_exists(files->checkpoint)) {
        cbd_checkpoint_meta meta;
        char err[8400];
        if (cbd_checkpoint_read_meta(files->checkpoint, &meta, err, sizeof err) == 0 && meta.config_digest == digest &&
            meta.epoch == epochs) {
            if (!quiet) cbd_log("%s is up to date: %s", what, files->checkpoint);
            /* a kill between writing the final checkpoint and the files
             * beside it: the finished run supersedes an unfinished one */
            if (cbd_run_files_publish(files, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
            utime(files->checkpoint, NULL); /* newer than its inputs again, so make does not ask twice */
            return CBD_EXIT_OK;
        }
    }
    const int have_resume = cbd_file_exists(files->resume);
    if (force && have_resume) cbd_run_files_discard(files);
    if (!force && have_resume && !*resume)
        cbd_fail(CBD_EXIT_USAGE, "%s exists (an unfinished run): pass --resume to continue it or --force to "
                                 "start over", files->resume);
    if (*resume && !have_resume) {
        if (!quiet) cbd_log("%s: nothing to resume (no %s): starting from the beginning", what, files->resume);
        *resume = 0;
    }
    return -1;
}

int cbd_stage_check_outputs(const cbd_run_files *files, uint64_t digest, int epochs, int force, int *resume,
                            int quiet, const char *what) {
    int rc = -1;
    if (cbd_ranks_rank() == 0) rc = check_outputs_here(files, digest, epochs, force, resume, quiet, what);
    /* rank 0 holds the lock and decides for the job (its failures end every rank) */
    const cbd_collective *ranks = cbd_ranks_collective();
    rc = (int)cbd_collective_broadcast_i64(ranks, rc);
    *resume = (int)cbd_collective_broadcast_i64(ranks, *resume);
    return rc;
}

void cbd_stage_train_job_settings(const cbd_config *cfg, int quiet, cbd_train_job *job) {
    job->batch_size = cfg->train.batch_size;
    job->lr_final = cfg->train.lr_final;
    job->warmup_epochs = cfg->train.warmup_epochs;
    job->sgd = (cbd_sgd_config){.momentum = cfg->train.momentum, .weight_decay = cfg->train.weight_decay,
                                .nesterov = cfg->train.nesterov, .decay_norm_and_bias = cfg->train.decay_norm_and_bias};
    cbd_stage_eval_views(cfg, &job->eval_views);
    job->workers = cfg->data.workers;
    job->on_bad_image = cfg->data.on_bad_image;
    job->checkpoint_every = cfg->train.checkpoint_every;
    job->backend = cbd_stage_create_backend(cfg);
    job->ranks = cbd_ranks_collective();
    job->quiet = quiet;
}

char *cbd_stage_config_text(const cbd_config *cfg) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    cbd_config_write(cfg, f);
    if (fclose(f) != 0) cbd_fail(CBD_EXIT_FAILURE, "out of memory");
    return text;
}

void cbd_stage_report_empty_classes(const cbd_dataset *ds, const char *which) {
    const int classes = cbd_dataset_classes(ds);
    int64_t *counts = cbd_calloc((size_t)classes, sizeof *counts);
    const int32_t *labels = cbd_dataset_labels(ds);
    for (int64_t i = 0; i < cbd_dataset_count(ds); i++) counts[labels[i]]++;
    int empty = 0;
    char list[512] = "";
    for (int c = 0; c < classes; c++) {
        if (counts[c]) continue;
        if (empty++ < 12) {
            size_t at = strlen(list);
            snprintf(list + at, sizeof list - at, "%s%s", at ? ", " : "", cbd_dataset_class_name(ds, c));
        }
    }
    if (empty)
        cbd_warn("[data] %s: %d of %d classes have no image (%s%s): nothing can be learned for them, and their "
                 "test accuracy will be 0", which, empty, classes, list, empty > 12 ? ", ..." : "");
    free(counts);
}
