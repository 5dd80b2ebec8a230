/* cbd-dump-features: runs a trained teacher once over every training image
 * and every view the student will see, and stores the pooled features (and
 * logits) in a feature store.
 *
 *   cbd-dump-features --config ini/tiny.ini --teacher t1 [--force] [--set S.KEY=VALUE]
 *
 * Reads <output_dir>/teachers/NAME.ckpt.h5, writes <output_dir>/features/NAME.h5
 * (under NAME.h5.partial until every view is done; a killed dump resumes from
 * the views it finished). View s of image i is
 * augment(image_i, rng(experiment seed, i, s)) with the student's (standard)
 * augmentation: the k-th time the student draws image i it shows view k mod S
 * and reads row (k mod S, i). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include "nn/log.h"
#include "nn/threads.h"
#include "experiment/config.h"
#include "stages/stage_args.h"
#include "views/loader.h"
#include "training/progress.h"
#include "stages/stage_common.h"
#include "experiment/run_layout.h"
#include "stages/stage_inputs.h"
#include "store/checkpoint.h"
#include "store/feature_store.h"
#include "store/fsutil.h"
#include "training/interrupt.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-dump-features --config FILE --teacher NAME [options]\n"
            "  --config FILE      experiment INI (see ini/README.md)\n"
            "  --teacher NAME     whose features to store (its checkpoint must exist)\n"
            "  --force            dump again even if the store is up to date; discard a partial one\n"
            "  --set S.KEY=VALUE  override a config value (repeatable)\n"
            "  --quiet            no progress output\n"
            "  --help             this text\n"
            "exit status: 0 done or up to date, 1 failure, 2 bad usage, configuration or input file\n");
}

/* The store at `path` holds exactly what this run would write: the same
 * dump digest (every setting and input that decides the content) and shape. */
static int store_up_to_date(const char *path, const cbd_feature_store_spec *want, const int32_t *labels) {
    if (!cbd_file_exists(path)) return 0;
    cbd_feature_store_expect expect = {.n = want->n, .d = want->d, .classes = want->classes,
                                       .views = want->views, .labels = labels,
                                       .manifest_digest = want->manifest_digest};
    char err[1024];
    cbd_feature_store *fs = cbd_feature_store_open(path, &expect, 0, err, sizeof err);
    if (!fs) return 0;
    const cbd_feature_store_spec *have = cbd_feature_store_spec_of(fs);
    int same = have->dump_digest == want->dump_digest && have->dtype == want->dtype &&
               have->has_logits == want->has_logits &&
               have->teacher_checkpoint_digest == want->teacher_checkpoint_digest &&
               have->experiment_seed == want->experiment_seed &&
               strcmp(have->augmentation, want->augmentation) == 0 && strcmp(have->teacher, want->teacher) == 0;
    cbd_feature_store_close(fs);
    return same;
}

typedef struct {
    cbd_model *model;
    cbd_loader *loader;
    cbd_feature_writer *writer;
    const cbd_augment_config *views;
    int batch_size;
    float *x, *features, *logits; /* x: backend memory; features, logits: host */
    int has_logits;
    double forward_seconds;
    int64_t images_done, images_total;
    cbd_progress *bar;
} dump_state;

/* Runs the teacher over every image for one view (view < 0: the center) and
 * writes the rows. Returns CBD_EXIT_OK, or an exit code (message printed): an
 * image that cannot be read is bad input. */
static int dump_view(dump_state *st, int64_t n, int view, const int64_t *order, uint32_t *view_ids) {
    cbd_backend *be = st->model->be;
    const int d = cbd_model_feature_dim(st->model), classes = st->model->cfg.classes;
    const cbd_augment_config *v = st->views;
    const size_t image_floats = (size_t)v->out_channels * v->out_size * v->out_size;
    for (int64_t i = 0; i < n; i++) view_ids[i] = view < 0 ? 0 : (uint32_t)view;
    cbd_loader_begin(st->loader, order, view_ids, n);
    const cbd_batch *b;
    char err[1024];
    while ((b = cbd_loader_next(st->loader)) != NULL) {
        be->ops.upload(be, st->x, b->images, (size_t)b->count * image_floats * sizeof(float));
        cbd_tensor x = {st->x, b->count, v->out_channels, v->out_size, v->out_size};
        const double t0 = cbd_now();
        cbd_model_forward(st->model, &x, 0);
        be->ops.download(be, st->features, cbd_model_feature(st->model), (size_t)b->count * d * sizeof(float));
        if (st->has_logits)
            be->ops.download(be, st->logits, st->model->logits, (size_t)b->count * classes * sizeof(float));
        st->forward_seconds += cbd_now() - t0;
        if (cbd_feature_writer_write(st->writer, view, b->indices[0], b->count, st->features,
                                     st->has_logits ? st->logits : NULL, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            return CBD_EXIT_FAILURE;
        }
        st->images_done += b->count;
        char extra[64];
        snprintf(extra, sizeof extra, "%.0f img/s",
                 st->images_done / (cbd_now() - st->bar->started));
        cbd_progress_update(st->bar, st->images_done, extra);
    }
    if (cbd_loader_error(st->loader)) {
        cbd_log("cbd: error: %s", cbd_loader_error(st->loader));
        return CBD_EXIT_USAGE;
    }
    if (cbd_loader_skipped(st->loader) > 0) {
        cbd_log("cbd: error: %lld images could not be read: a feature store needs every image "
                "([data] on_bad_image = skip does not apply to dumps)",
                (long long)cbd_loader_skipped(st->loader));
        return CBD_EXIT_FAILURE;
    }
    if (cbd_feature_writer_mark_done(st->writer, view, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_FAILURE;
    }
    return CBD_EXIT_OK;
}

int main(int argc, char **argv) {
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv, CBD_ARG_TEACHER | CBD_ARG_FORCE | CBD_ARG_QUIET, CBD_ARG_TEACHER, usage, &args);
    const char *config_path = args.config, *teacher_name = args.teacher;
    const int force = args.force, quiet = args.quiet;
    static cbd_config cfg;
    char err[2048];
    cbd_stage_load_config(&args, &cfg);
    const cbd_teacher_config *t = cbd_config_teacher(&cfg, teacher_name);
    if (!t) cbd_fail(CBD_EXIT_USAGE, "%s has no [teacher.%s]", config_path, teacher_name);
    cbd_threads_set(cfg.experiment.threads);

    char store_path[CBD_RUN_PATH_MAX];
    cbd_layout_store(store_path, sizeof store_path, cfg.experiment.output_dir, t->name);
    cbd_stage_make_parent(store_path);

    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int64_t n = cbd_dataset_count(train);
    const int classes = cbd_dataset_classes(train);
    cbd_data_digests data;
    cbd_stage_data_digests(&cfg, train, NULL, &data);
    cbd_stage_teacher teacher;
    cbd_stage_read_teacher(&cfg, t->name, &data, classes, &teacher);
    const cbd_checkpoint_meta meta = teacher.meta;
    const char *ckpt_path = teacher.path;
    cbd_model_config model_cfg;
    cbd_checkpoint_meta_to_config(&meta, &model_cfg);
    cbd_augment_config views, center;
    cbd_stage_store_views(&cfg, &views);
    cbd_stage_eval_views(&cfg, &center);

    cbd_feature_store_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n = n;
    spec.classes = classes;
    spec.views = cfg.features.views;
    spec.dtype = cfg.features.dtype == CBD_FEATURE_FLOAT16 ? CBD_STORE_FLOAT16 : CBD_STORE_FLOAT32;
    spec.has_logits = cfg.features.logits;
    spec.manifest_digest = cbd_dataset_digest(train);
    spec.experiment_seed = cfg.experiment.seed;
    snprintf(spec.teacher, sizeof spec.teacher, "%s", t->name);
    cbd_augment_config_describe(&views, spec.augmentation, sizeof spec.augmentation);

    cbd_backend *be = cbd_stage_create_backend(&cfg);
    cbd_model model;
    if (cbd_model_create(&model, be, &model_cfg, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (cbd_checkpoint_load(ckpt_path, &model_cfg, &model.params, NULL, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    spec.d = cbd_model_feature_dim(&model);
    spec.teacher_checkpoint_digest = teacher.weights;
    spec.dump_digest = cbd_stage_store_digest(&cfg, t->name, &data, teacher.weights);

    cbd_stage_lock_output(store_path);
    if (!force && store_up_to_date(store_path, &spec, cbd_dataset_labels(train))) {
        if (!quiet) cbd_log("features of teacher %s are up to date: %s", t->name, store_path);
        utime(store_path, NULL); /* newer than its inputs again, so make does not ask twice */
        cbd_model_free(&model);
        cbd_backend_destroy(be);
        cbd_dataset_close(train);
        return CBD_EXIT_OK;
    }
    char partial[4300];
    snprintf(partial, sizeof partial, "%s.partial", store_path);
    if (force) unlink(partial);
    int resumed = 0;
    cbd_feature_writer *writer = cbd_feature_writer_open(store_path, &spec, cbd_dataset_labels(train), &resumed,
                                                         err, sizeof err);
    if (!writer && cbd_file_exists(partial)) {
        cbd_warn("%s; starting the dump over", err);
        unlink(partial);
        writer = cbd_feature_writer_open(store_path, &spec, cbd_dataset_labels(train), &resumed, err, sizeof err);
    }
    if (!writer) cbd_fail(CBD_EXIT_FAILURE, "%s", err);

    const int batch = cfg.features.batch_size;
    cbd_loader_config lc = {.dataset = train, .augment = &views, .batch_size = batch,
                            .workers = cfg.data.workers, .seed = cfg.experiment.seed, .center = 0,
                            .on_bad_image = CBD_BAD_IMAGE_FAIL};
    cbd_loader *loader = cbd_loader_create(&lc, err, sizeof err);
    cbd_loader_config cc = lc;
    cc.augment = &center;
    cc.center = 1;
    cbd_loader *center_loader = loader ? cbd_loader_create(&cc, err, sizeof err) : NULL;
    if (!loader || !center_loader) cbd_fail(CBD_EXIT_USAGE, "%s", err);

    int64_t *order = cbd_malloc((size_t)n * sizeof *order);
    uint32_t *view_ids = cbd_malloc((size_t)n * sizeof *view_ids);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    dump_state st = {.model = &model, .writer = writer, .batch_size = batch, .has_logits = spec.has_logits};
    st.x = be->ops.alloc(be, (size_t)batch * views.out_channels * views.out_size * views.out_size * sizeof(float));
    st.features = cbd_malloc((size_t)batch * spec.d * sizeof(float));
    st.logits = cbd_malloc((size_t)batch * classes * sizeof(float));
    int remaining = 0;
    for (int s = -1; s < spec.views; s++) remaining += !cbd_feature_writer_view_done(writer, s);
    st.images_total = (int64_t)remaining * n;
    cbd_progress bar;
    char label[96];
    snprintf(label, sizeof label, "features %s", t->name);
    cbd_progress_begin(&bar, stderr, quiet, label, st.images_total);
    st.bar = &bar;
    if (!quiet)
        cbd_log("features %s: %lld images x (%d views + center), d = %d, %s%s, %s%s", t->name, (long long)n,
                spec.views, spec.d, spec.dtype == CBD_STORE_FLOAT16 ? "float16" : "float32",
                spec.has_logits ? " with logits" : "", store_path,
                remaining < spec.views + 1 ? " (resuming)" : "");
    const double started = cbd_now();
    int rc = CBD_EXIT_OK;
    for (int s = 0; s < spec.views && rc == CBD_EXIT_OK; s++) {
        if (cbd_feature_writer_view_done(writer, s)) continue;
        int done = 0;
        for (int v = 0; v < spec.views; v++) done += cbd_feature_writer_view_done(writer, v);
        cbd_interrupt_say("features of teacher %s in view %d of %d (%d done); run cbd-dump-features again to "
                          "continue from the views done", t->name, s + 1, spec.views, done);
        st.loader = loader;
        st.views = &views;
        rc = dump_view(&st, n, s, order, view_ids);
    }
    if (rc == CBD_EXIT_OK && !cbd_feature_writer_view_done(writer, -1)) {
        st.loader = center_loader;
        st.views = &center;
        rc = dump_view(&st, n, -1, order, view_ids);
    }
    cbd_progress_end(&bar);
    const double seconds = cbd_now() - started;
    if (rc == CBD_EXIT_OK) {
        if (cbd_feature_writer_finish(writer, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            cbd_feature_writer_close(writer);
            rc = CBD_EXIT_FAILURE;
        } else if (!quiet && st.images_done > 0) {
            cbd_log("features %s: wrote %s: %lld images in %.1f s, %.0f img/s; the teacher's inference alone "
                    "%.0f img/s (dump / inference %.2f)",
                    t->name, store_path, (long long)st.images_done, seconds, st.images_done / seconds,
                    st.images_done / st.forward_seconds, st.forward_seconds / seconds);
        }
    } else {
        cbd_feature_writer_close(writer);
    }
    cbd_loader_destroy(loader);
    cbd_loader_destroy(center_loader);
    be->ops.release(be, st.x);
    free(st.features);
    free(st.logits);
    free(order);
    free(view_ids);
    cbd_model_free(&model);
    cbd_backend_destroy(be);
    cbd_dataset_close(train);
    return rc;
}
