#include "stages/stage_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#include <utime.h>

#include "nn/log.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/file_lock.h"
#include "store/fsutil.h"

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

uint64_t cbd_stage_digest_with_precision(const cbd_config *cfg, uint64_t digest) {
    if (cfg->experiment.precision == CBD_PRECISION_FP32) return digest;
    char text[96];
    snprintf(text, sizeof text, "%016llx precision %s", (unsigned long long)digest, cbd_config_precision_name(cfg));
    return cbd_fnv1a64(text, strlen(text));
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

uint64_t cbd_stage_params_digest(const cbd_model *m) {
    const cbd_params *p = &m->params;
    float *host = cbd_malloc(p->total * sizeof(float));
    p->be->ops.download(p->be, host, p->values, p->total * sizeof(float));
    uint64_t h = CBD_FNV1A64_INIT;
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        h = cbd_fnv1a64_update(h, e->name, strlen(e->name));
        h = cbd_fnv1a64_update(h, host + e->offset, e->count * sizeof(float));
    }
    free(host);
    return h;
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

/* The files a training stage writes beside STEM.ckpt.h5: their temporaries
 * from a killed run go once the lock is held. */
static void remove_stale_stage_temporaries(const char *final_path) {
    static const char *const siblings[] = {".resume.ckpt.h5", ".metrics.csv", ".config.ini"};
    const char *suffix = ".ckpt.h5";
    const size_t len = strlen(final_path), suffix_len = strlen(suffix);
    if (len <= suffix_len || strcmp(final_path + len - suffix_len, suffix) != 0) return;
    for (size_t i = 0; i < sizeof siblings / sizeof siblings[0]; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%.*s%s", (int)(len - suffix_len), final_path, siblings[i]);
        cbd_remove_stale_temporaries(path);
    }
}

int cbd_stage_check_outputs(const char *final_path, const char *resume_path, uint64_t digest, int epochs,
                            int force, int *resume, int quiet, const char *what) {
    cbd_stage_lock_output(final_path);
    remove_stale_stage_temporaries(final_path);
    if (!force && cbd_file_exists(final_path)) {
        cbd_checkpoint_meta meta;
        char err[1024];
        if (cbd_checkpoint_read_meta(final_path, &meta, err, sizeof err) == 0 && meta.config_digest == digest &&
            meta.epoch == epochs) {
            if (!quiet) cbd_log("%s is up to date: %s", what, final_path);
            /* a kill between writing the final checkpoint and removing the
             * resume one leaves the latter: the finished run supersedes it */
            if (cbd_file_exists(resume_path)) unlink(resume_path);
            utime(final_path, NULL); /* newer than its inputs again, so make does not ask twice */
            return CBD_EXIT_OK;
        }
    }
    const int have_resume = cbd_file_exists(resume_path);
    if (force && have_resume) unlink(resume_path);
    if (!force && have_resume && !*resume)
        cbd_fail(CBD_EXIT_USAGE, "%s exists (an unfinished run): pass --resume to continue it or --force to "
                                 "start over", resume_path);
    if (*resume && !have_resume) *resume = 0; /* nothing to continue: a fresh start */
    return -1;
}

void cbd_stage_write_config(const cbd_config *cfg, const char *path) {
    char *text = NULL, err[4400];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        cbd_warn("cannot write %s: out of memory", path);
        return;
    }
    cbd_config_write(cfg, f);
    if (fclose(f) != 0 || cbd_write_file_atomic(path, text, len, err, sizeof err) != 0)
        cbd_warn("%s", text ? err : "cannot write the resolved configuration");
    free(text);
}
