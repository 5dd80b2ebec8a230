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
#include "parallel/ranks.h"
#include "nn/threads.h"
#include "experiment/config.h"
#include "stages/batch_rounds.h"
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
    cbd_feature_writer *writer; /* rank 0's: the one process that writes the store */
    const cbd_augment_config *views;
    int batch_size;
    float *x;                   /* backend memory [batch, C, S, S] */
    int has_logits, d, classes;
    const cbd_collective *ranks; /* NULL: one process */
    int rank;
    double forward_seconds;
    int64_t images_done, images_total;
    cbd_progress *bar;
} dump_state;

/* A slot of the pass (stages/batch_rounds.h): the batch's image count, then
 * count x d features, then (with logits) count x classes logits. */
static size_t slot_bytes(const dump_state *st) {
    return sizeof(int64_t) + (size_t)st->batch_size * ((size_t)st->d + (st->has_logits ? (size_t)st->classes : 0)) *
                                 sizeof(float);
}
static int64_t *slot_count(unsigned char *slot) { return (int64_t *)slot; }
static float *slot_features(unsigned char *slot) { return (float *)(slot + sizeof(int64_t)); }
static float *slot_logits(const dump_state *st, unsigned char *slot) {
    return slot_features(slot) + (size_t)st->batch_size * st->d;
}

/* The teacher's rows of the loader's next batch into the slot; -1 when the
 * loader has none (its error). */
static int run_batch(dump_state *st, unsigned char *slot) {
    const cbd_batch *b = cbd_loader_next(st->loader);
    if (!b) return -1;
    cbd_backend *be = st->model->be;
    const cbd_augment_config *v = st->views;
    const size_t image_floats = (size_t)v->out_channels * v->out_size * v->out_size;
    be->ops.upload(be, st->x, b->images, (size_t)b->count * image_floats * sizeof(float));
    cbd_tensor x = {st->x, b->count, v->out_channels, v->out_size, v->out_size};
    const double t0 = cbd_now();
    cbd_model_forward(st->model, &x, 0);
    be->ops.download(be, slot_features(slot), cbd_model_feature(st->model), (size_t)b->count * st->d * sizeof(float));
    if (st->has_logits)
        be->ops.download(be, slot_logits(st, slot), st->model->logits, (size_t)b->count * st->classes * sizeof(float));
    st->forward_seconds += cbd_now() - t0;
    *slot_count(slot) = b->count;
    return 0;
}

/* Rank 0: the rows of a gathered round into the store. */
static int write_round(dump_state *st, const cbd_batch_rounds *pass, int64_t round, unsigned char *slots, int view) {
    char err[1024];
    for (int k = 0; k < cbd_batch_rounds_in(pass, round); k++) {
        unsigned char *slot = slots + (size_t)k * pass->slot_bytes;
        const int64_t count = *slot_count(slot);
        if (cbd_feature_writer_write(st->writer, view, cbd_batch_rounds_first(pass, round, k), count,
                                     slot_features(slot), st->has_logits ? slot_logits(st, slot) : NULL, err,
                                     sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            return CBD_EXIT_FAILURE;
        }
        st->images_done += count;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "%.0f img/s", st->images_done / (cbd_now() - st->bar->started));
    cbd_progress_update(st->bar, st->images_done, extra);
    return CBD_EXIT_OK;
}

/* Runs the teacher over every image for one view (view < 0: the center) and
 * writes the rows; of several ranks, each runs its batches and rank 0
 * writes them all (stages/batch_rounds.h). Returns CBD_EXIT_OK, or an exit
 * code (message printed): an image that cannot be read is bad input. */
static int dump_view(dump_state *st, int64_t n, int view, int64_t *order, uint32_t *view_ids) {
    cbd_batch_rounds pass;
    cbd_batch_rounds_init(&pass, st->ranks, n, st->batch_size, slot_bytes(st));
    const int64_t mine = cbd_batch_rounds_my_images(&pass, order);
    for (int64_t i = 0; i < mine; i++) view_ids[i] = view < 0 ? 0 : (uint32_t)view;
    cbd_loader_begin(st->loader, order, view_ids, mine);
    int rc = CBD_EXIT_OK;
    for (int64_t round = 0; round < cbd_batch_rounds_count(&pass) && rc == CBD_EXIT_OK; round++) {
        unsigned char *slot = cbd_batch_rounds_slot(&pass);
        *slot_count(slot) = 0;
        if (cbd_batch_rounds_mine_in(&pass, round) && run_batch(st, slot) != 0) break; /* the loader's error, below */
        unsigned char *slots = cbd_batch_rounds_gather(&pass);
        if (st->rank == 0) rc = write_round(st, &pass, round, slots, view);
    }
    cbd_batch_rounds_free(&pass);
    if (rc != CBD_EXIT_OK) return rc;
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
    char err[1024];
    if (st->rank == 0 && cbd_feature_writer_mark_done(st->writer, view, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_FAILURE;
    }
    return CBD_EXIT_OK;
}

/* The store's writer: resuming a partial store of this run, or new. */
static cbd_feature_writer *open_writer(const char *store_path, const cbd_feature_store_spec *spec,
                                       const int32_t *labels, int force) {
    char partial[4300], err[2048];
    snprintf(partial, sizeof partial, "%s.partial", store_path);
    if (force) unlink(partial);
    int resumed = 0;
    cbd_feature_writer *writer = cbd_feature_writer_open(store_path, spec, labels, &resumed, err, sizeof err);
    if (!writer && cbd_file_exists(partial)) {
        cbd_warn("%s; starting the dump over", err);
        unlink(partial);
        writer = cbd_feature_writer_open(store_path, spec, labels, &resumed, err, sizeof err);
    }
    if (!writer) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    return writer;
}

static int stage_main(int argc, char **argv) {
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
    spec.has_logits = cbd_config_stores_logits(&cfg, classes);
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

    const cbd_collective *ranks = cbd_ranks_collective();
    const int rank = cbd_ranks_rank();
    /* rank 0 holds the lock, decides, and writes; the others run their batches */
    int up_to_date = 0;
    cbd_feature_writer *writer = NULL;
    if (rank == 0) {
        cbd_stage_lock_output(store_path);
        up_to_date = !force && store_up_to_date(store_path, &spec, cbd_dataset_labels(train));
    }
    if (cbd_collective_broadcast_i64(ranks, up_to_date)) {
        if (!quiet) cbd_log("features of teacher %s are up to date: %s", t->name, store_path);
        if (rank == 0) utime(store_path, NULL); /* newer than its inputs again, so make does not ask twice */
        cbd_model_free(&model);
        cbd_backend_destroy(be);
        cbd_dataset_close(train);
        return CBD_EXIT_OK;
    }
    if (rank == 0) writer = open_writer(store_path, &spec, cbd_dataset_labels(train), force);
    /* which views are done (a resumed dump), as rank 0's writer knows them: [0] the center, [1 + s] view s */
    int *done = cbd_calloc((size_t)spec.views + 1, sizeof *done);
    for (int s = -1; s < spec.views; s++)
        done[s + 1] = (int)cbd_collective_broadcast_i64(ranks, writer ? cbd_feature_writer_view_done(writer, s) : 0);

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
    dump_state st = {.model = &model, .writer = writer, .batch_size = batch, .has_logits = spec.has_logits,
                     .d = spec.d, .classes = classes, .ranks = ranks, .rank = rank};
    st.x = be->ops.alloc(be, (size_t)batch * views.out_channels * views.out_size * views.out_size * sizeof(float));
    int remaining = 0;
    for (int s = -1; s < spec.views; s++) remaining += !done[s + 1];
    st.images_total = (int64_t)remaining * n;
    cbd_progress bar;
    char label[96];
    snprintf(label, sizeof label, "features %s", t->name);
    cbd_progress_begin(&bar, stderr, quiet, label, st.images_total);
    st.bar = &bar;
    if (!quiet)
        cbd_log("features %s: %lld images x (%d views + center), d = %d, %s%s, %s%s%s", t->name, (long long)n,
                spec.views, spec.d, spec.dtype == CBD_STORE_FLOAT16 ? "float16" : "float32",
                spec.has_logits ? " with logits" : "", store_path,
                remaining < spec.views + 1 ? " (resuming)" : "", ranks ? ", every rank a share of each view" : "");
    const double started = cbd_now();
    int rc = CBD_EXIT_OK;
    for (int s = 0; s < spec.views && rc == CBD_EXIT_OK; s++) {
        if (done[s + 1]) continue;
        int finished = 0;
        for (int v = 0; v < spec.views; v++) finished += done[v + 1];
        cbd_interrupt_say("features of teacher %s in view %d of %d (%d done); run cbd-dump-features again to "
                          "continue from the views done", t->name, s + 1, spec.views, finished);
        st.loader = loader;
        st.views = &views;
        rc = dump_view(&st, n, s, order, view_ids);
    }
    if (rc == CBD_EXIT_OK && !done[0]) {
        st.loader = center_loader;
        st.views = &center;
        rc = dump_view(&st, n, -1, order, view_ids);
    }
    cbd_progress_end(&bar);
    const double seconds = cbd_now() - started;
    /* the forward passes of every rank, as if they ran side by side */
    const double forward = cbd_collective_sum_double(ranks, st.forward_seconds) / cbd_ranks_size();
    if (rc == CBD_EXIT_OK && writer) {
        if (cbd_feature_writer_finish(writer, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            cbd_feature_writer_close(writer);
            rc = CBD_EXIT_FAILURE;
        } else if (!quiet && st.images_done > 0) {
            cbd_log("features %s: wrote %s: %lld images in %.1f s, %.0f img/s; the teacher's inference alone "
                    "%.0f img/s (dump / inference %.2f)",
                    t->name, store_path, (long long)st.images_done, seconds, st.images_done / seconds,
                    st.images_done / forward, forward / seconds);
        }
    } else if (writer) {
        cbd_feature_writer_close(writer);
    }
    cbd_loader_destroy(loader);
    cbd_loader_destroy(center_loader);
    be->ops.release(be, st.x);
    free(done);
    free(order);
    free(view_ids);
    cbd_model_free(&model);
    cbd_backend_destroy(be);
    cbd_dataset_close(train);
    return rc;
}

int main(int argc, char **argv) { return cbd_ranks_main(argc, argv, stage_main); }
