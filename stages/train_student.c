/* cbd-train-student: trains the student from scratch with (by default)
 * class-balanced sampling and Class-Balanced Distillation:
 *   (1 - alpha) CE(z, y) + alpha beta (1 - cos(v, t))                 K = 1 (Eq. 2)
 *   (1 - alpha) CE(z, y) + alpha beta (1 - cos(h(v), [t_1 .. t_K]))   K > 1 (Eq. 4)
 * where t_k is teacher k's feature of the same view (each l2-normalised
 * before concatenation), h a learned linear map (with ReLU) and the cosine
 * classifier sits on h(v). [student] distill = logit adds (or uses instead)
 * T^2 CE(softmax(z/T), softmax(zhat/T)) against the teachers' mean logits
 * (Eq. 3); loss = logit_adjusted uses CE(z + tau log prior).
 *
 * The k-th time image i is drawn it is shown view k mod S ([features] views)
 * and distilled against row (k mod S, i) of each teacher's feature store
 * (teacher_source = store), or against the teachers run on the same batch
 * (teacher_source = online, the reference).
 *
 * [student] method selects a baseline instead: finetune (the trainer, started
 * from a teacher's checkpoint) or crt, lws and tau_norm (stages/
 * classifier_retrain.c).
 *
 *   cbd-train-student --config ini/tiny.ini [--student NAME] [--resume] [--force] [--set S.KEY=VALUE]
 *
 * Writes <output_dir>/student.ckpt.h5, or students/NAME.ckpt.h5 for
 * [student.NAME] (+ .metrics.csv, .log, .config.ini). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/log.h"
#include "parallel/ranks.h"
#include "nn/losses/losses.h"
#include "nn/threads.h"
#include "stages/classifier_retrain.h"
#include "experiment/config.h"
#include "stages/stage_args.h"
#include "stages/stage_common.h"
#include "training/trainer.h"
#include "experiment/output_digest.h"
#include "experiment/run_layout.h"
#include "stages/stage_inputs.h"
#include "store/checkpoint.h"
#include "store/feature_prefetch.h"
#include "store/feature_store.h"

typedef struct {
    const cbd_config *cfg;
    const cbd_dataset *train;
    int k;
    char teacher_paths[CBD_MAX_TEACHERS][CBD_RUN_PATH_MAX]; /* checkpoints (online) */
    int dims[CBD_MAX_TEACHERS];
    int target_dim, normalise_parts, online, need_logits, classes;
    uint32_t views;
    cbd_feature_store *stores[CBD_MAX_TEACHERS];
    cbd_feature_prefetcher *prefetcher;
    cbd_model teachers[CBD_MAX_TEACHERS];
    int teachers_ready;
    uint32_t *counters;
    cbd_backend *be;
    float *host_target, *host_logits; /* [B, target_dim], [B, C] */
    float *target, *teacher_logits, *kd_grad, *x; /* backend */
    float *part, *part_norms; /* backend: one teacher's normalised rows, their norms (online) */
    int batch_size; /* rows of a step on this rank */
    cbd_logit_adjusted_ce la;
    int use_la;
} student_ctx;

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-train-student --config FILE [options]\n"
            "  --config FILE      experiment INI (see ini/README.md, section [student])\n"
            "  --student NAME     train the model of [student.NAME] (default: [student] itself)\n"
            "  --resume           continue from student.resume.ckpt.h5 (the last finished epoch)\n"
            "  --force            retrain even if the student is up to date; discard a resume checkpoint\n"
            "  --set S.KEY=VALUE  override a config value (repeatable), e.g. --set student.alpha=0.2\n"
            "  --quiet            no progress output (the log file is still written)\n"
            "  --help             this text\n"
            "exit status: 0 done or up to date, 1 training failed, 2 bad usage, configuration or input\n");
}

/* ---- hooks ------------------------------------------------------------------ */

static int student_begin(void *ctx_, cbd_model *m, char *err, size_t err_len) {
    student_ctx *c = ctx_;
    c->be = m->be;
    const size_t b = (size_t)c->batch_size;
    c->host_target = cbd_malloc(b * c->target_dim * sizeof(float));
    c->host_logits = cbd_calloc(b * c->classes, sizeof(float));
    c->target = c->be->ops.alloc(c->be, b * c->target_dim * sizeof(float));
    c->teacher_logits = c->be->ops.alloc(c->be, b * c->classes * sizeof(float));
    c->kd_grad = c->be->ops.alloc(c->be, b * c->classes * sizeof(float));
    const cbd_config *cfg = c->cfg;
    if (c->use_la) {
        const int32_t *labels = cbd_dataset_labels(c->train);
        int64_t *counts = cbd_calloc((size_t)c->classes, sizeof *counts);
        for (int64_t i = 0; i < cbd_dataset_count(c->train); i++) counts[labels[i]]++;
        for (int k = 0; k < c->classes; k++)
            if (counts[k] == 0) {
                snprintf(err, err_len, "[student] loss = logit_adjusted needs every class in the training data; "
                                       "class %d has no image", k);
                free(counts);
                return -1;
            }
        cbd_logit_adjusted_create(&c->la, c->be, counts, c->classes, cfg->student.tau, c->batch_size);
        free(counts);
    }
    if (c->k == 0) return 0;
    if (c->online) {
        int widest = 1;
        for (int k = 0; k < c->k; k++) widest = c->dims[k] > widest ? c->dims[k] : widest;
        const size_t pix = (size_t)cfg->data.channels * cfg->data.image_size * cfg->data.image_size;
        c->x = c->be->ops.alloc(c->be, b * pix * sizeof(float));
        c->part = c->be->ops.alloc(c->be, b * (size_t)widest * sizeof(float));
        c->part_norms = c->be->ops.alloc(c->be, b * sizeof(float));
        for (int k = 0; k < c->k; k++) {
            cbd_checkpoint_meta meta;
            cbd_model_config mc;
            if (cbd_checkpoint_read_meta(c->teacher_paths[k], &meta, err, err_len) != 0) return -1;
            cbd_checkpoint_meta_to_config(&meta, &mc);
            if (cbd_model_create(&c->teachers[k], c->be, &mc, err, err_len) != 0) return -1;
            c->teachers_ready = k + 1;
            if (cbd_checkpoint_load(c->teacher_paths[k], &mc, &c->teachers[k].params, NULL, err, err_len) != 0)
                return -1;
        }
        return 0;
    }
    c->prefetcher = cbd_feature_prefetcher_create(c->stores, c->k, c->batch_size, 4, c->need_logits, err, err_len);
    return c->prefetcher ? 0 : -1;
}

static void student_assign_views(void *ctx_, int64_t epoch, const int64_t *indices, int64_t count,
                                 uint32_t *views) {
    student_ctx *c = ctx_;
    (void)epoch;
    cbd_draw_counter_assign(c->counters, indices, count, c->views, views);
}

static cbd_feature_prefetcher *student_batch_rows(void *ctx_) { return ((student_ctx *)ctx_)->prefetcher; }

/* Appends teacher k's rows (l2-normalised when several are concatenated). */
static void place_rows(student_ctx *c, int k, const float *rows, int count) {
    int offset = 0;
    for (int j = 0; j < k; j++) offset += c->dims[j];
    const int d = c->dims[k];
    for (int r = 0; r < count; r++) {
        const float *src = rows + (size_t)r * d;
        float *dst = c->host_target + (size_t)r * c->target_dim + offset;
        double norm = 1.0;
        if (c->normalise_parts) {
            double ss = 0.0;
            for (int i = 0; i < d; i++) ss += (double)src[i] * src[i];
            norm = fmax(sqrt(ss), 1e-12);
        }
        for (int i = 0; i < d; i++) dst[i] = (float)(src[i] / norm);
    }
}

static void add_logits(student_ctx *c, const float *logits, int count) {
    for (size_t i = 0; i < (size_t)count * c->classes; i++) c->host_logits[i] += logits[i] / (float)c->k;
}

/* Online: the teachers run on the very pixels the student saw, and their
 * features are normalised and placed into the target on the device (no
 * round trip through the host). */
static void online_targets(student_ctx *c, const cbd_batch *b) {
    cbd_backend *be = c->be;
    const int ch = c->cfg->data.channels, size = c->cfg->data.image_size;
    const size_t pix = (size_t)ch * size * size;
    be->ops.upload(be, c->x, b->images, (size_t)b->count * pix * sizeof(float));
    cbd_tensor x = {c->x, b->count, ch, size, size};
    if (c->need_logits) be->ops.fill(be, c->teacher_logits, (size_t)b->count * c->classes, 0.0f);
    int offset = 0;
    for (int k = 0; k < c->k; k++) {
        cbd_model *t = &c->teachers[k];
        cbd_model_forward(t, &x, 0);
        const int d = c->dims[k];
        const float *rows = cbd_model_feature(t);
        if (c->normalise_parts) {
            be->ops.l2norm_rows_forward(be, b->count, d, rows, c->part, c->part_norms);
            rows = c->part;
        }
        be->ops.copy_2d(be, (size_t)b->count, (size_t)d * sizeof(float), rows, (size_t)d * sizeof(float),
                        c->target + offset, (size_t)c->target_dim * sizeof(float));
        offset += d;
        if (c->need_logits)
            be->ops.axpy(be, (size_t)b->count * c->classes, 1.0f / (float)c->k, t->logits, c->teacher_logits);
    }
}

/* Stored: the rows the loader read beside the batch's images (b->rows),
 * placed on the host and uploaded. */
static int stored_targets(student_ctx *c, const cbd_batch *b, char *err, size_t err_len) {
    const cbd_feature_batch *fb = b->rows;
    if (!fb || fb->count != b->count) {
        snprintf(err, err_len, "batch %lld has %d teacher rows for %d images", (long long)b->number,
                 fb ? fb->count : 0, b->count);
        return -1;
    }
    memset(c->host_logits, 0, (size_t)b->count * c->classes * sizeof(float));
    for (int k = 0; k < c->k; k++) {
        place_rows(c, k, fb->features[k], b->count);
        if (c->need_logits) add_logits(c, fb->logits[k], b->count);
    }
    c->be->ops.upload(c->be, c->target, c->host_target, (size_t)b->count * c->target_dim * sizeof(float));
    if (c->need_logits)
        c->be->ops.upload(c->be, c->teacher_logits, c->host_logits, (size_t)b->count * c->classes * sizeof(float));
    return 0;
}

/* Teachers' targets for the batch, into c->target / c->teacher_logits. */
static int gather_targets(student_ctx *c, const cbd_batch *b, char *err, size_t err_len) {
    if (c->online) {
        online_targets(c, b);
        return 0;
    }
    return stored_targets(c, b, err, err_len);
}

static int student_loss(void *ctx_, cbd_model *m, const cbd_batch *b, const int *labels, cbd_loss_parts *parts,
                        char *err, size_t err_len) {
    student_ctx *c = ctx_;
    const cbd_config *cfg = c->cfg;
    const cbd_distill_kind distill = c->k ? cfg->student.distill : CBD_DISTILL_NONE;
    const float alpha = distill == CBD_DISTILL_NONE ? 0.0f : cfg->student.alpha;
    if (c->k && gather_targets(c, b, err, err_len) != 0) return -1;
    parts->ce = c->use_la ? cbd_logit_adjusted_cross_entropy(c->be, &c->la, m->logits, labels, b->count,
                                                             1.0f - alpha, m->d_logits)
                          : cbd_cross_entropy(c->be, m->logits, labels, b->count, c->classes, 1.0f - alpha,
                                              m->d_logits);
    parts->distill = 0.0;
    parts->cosine = NAN;
    if (distill == CBD_DISTILL_FEATURE || distill == CBD_DISTILL_HYBRID) {
        const double f = cbd_feature_distill(c->be, m->embedding, c->target, b->count, m->embedding_dim,
                                             cfg->student.beta, alpha, m->d_embedding_extra);
        m->use_embedding_extra = 1;
        parts->distill += f;
        /* mean cosine, from beta (1 - cos) */
        if (cfg->student.beta > 0) parts->cosine = 1.0 - f / cfg->student.beta;
    }
    if (distill == CBD_DISTILL_LOGIT || distill == CBD_DISTILL_HYBRID) {
        parts->distill += cbd_kd_loss(c->be, m->logits, c->teacher_logits, b->count, c->classes,
                                      cfg->student.temperature, alpha, c->kd_grad);
        c->be->ops.axpy(c->be, (size_t)b->count * c->classes, 1.0f, c->kd_grad, m->d_logits);
    }
    parts->total = (1.0 - alpha) * parts->ce + alpha * parts->distill;
    return 0;
}

static void student_end(void *ctx_) {
    student_ctx *c = ctx_;
    if (c->prefetcher) cbd_feature_prefetcher_destroy(c->prefetcher);
    for (int k = 0; k < c->teachers_ready; k++) cbd_model_free(&c->teachers[k]);
    if (c->use_la && c->be) cbd_logit_adjusted_free(&c->la, c->be);
    if (c->be) {
        c->be->ops.release(c->be, c->target);
        c->be->ops.release(c->be, c->teacher_logits);
        c->be->ops.release(c->be, c->kd_grad);
        if (c->x) c->be->ops.release(c->be, c->x);
        if (c->part) c->be->ops.release(c->be, c->part);
        if (c->part_norms) c->be->ops.release(c->be, c->part_norms);
    }
    free(c->host_target);
    free(c->host_logits);
}

/* ---- setup ------------------------------------------------------------------ */

static void student_close(student_ctx *ctx, cbd_dataset *train, cbd_dataset *val, cbd_dataset *test) {
    for (int k = 0; k < ctx->k; k++)
        if (ctx->stores[k]) cbd_feature_store_close(ctx->stores[k]);
    free(ctx->counters);
    cbd_dataset_close(train);
    if (val) cbd_dataset_close(val);
    if (test) cbd_dataset_close(test);
}

/* The teachers distilled from, each an input of the digest: its store (what
 * decided it) or, online, its weights. */
static void open_teachers(student_ctx *ctx, const cbd_config *cfg, const cbd_dataset *train,
                          const cbd_data_digests *data, cbd_output_digest *digest) {
    const int64_t cap = (int64_t)cfg->features.memory_cap_mb * 1024 * 1024 / (ctx->k ? ctx->k : 1);
    for (int k = 0; k < ctx->k; k++) {
        const char *name = cfg->student.teachers[k];
        cbd_stage_teacher t;
        cbd_stage_read_teacher(cfg, name, data, ctx->classes, &t);
        char what[96];
        if (ctx->online) {
            snprintf(ctx->teacher_paths[k], sizeof ctx->teacher_paths[k], "%s", t.path);
            ctx->dims[k] = cbd_resnet_arch_feature_dim(cbd_resnet_arch_find(t.meta.arch));
            snprintf(what, sizeof what, "teacher %s weights", name);
            cbd_output_digest_add(digest, what, t.weights);
        } else {
            ctx->stores[k] = cbd_stage_open_store(cfg, name, train, data, t.weights, cap, ctx->need_logits);
            const cbd_feature_store_spec *spec = cbd_feature_store_spec_of(ctx->stores[k]);
            ctx->dims[k] = spec->d;
            snprintf(what, sizeof what, "store %s", name);
            cbd_output_digest_add(digest, what, spec->dump_digest);
        }
        ctx->target_dim += ctx->dims[k];
    }
}

static int stage_main(int argc, char **argv) {
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv, CBD_ARG_RESUME | CBD_ARG_FORCE | CBD_ARG_QUIET | CBD_ARG_STUDENT, 0, usage,
                         &args);
    int resume = args.resume;
    const int force = args.force, quiet = args.quiet;
    static cbd_config cfg;
    cbd_stage_load_config(&args, &cfg);
    cbd_threads_set(cfg.experiment.threads);
    const cbd_student_method method = cfg.student.method;
    if (method == CBD_METHOD_ENSEMBLE)
        cbd_fail(CBD_EXIT_USAGE, "[student.%s] method = ensemble trains nothing: evaluate it with cbd-evaluate "
                                 "--model A.ckpt.h5 --model B.ckpt.h5 ... (make eval does)", cfg.student_name);

    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int classes = cbd_dataset_classes(train);
    cbd_data_digests data;
    cbd_stage_data_digests(&cfg, train, NULL, &data);
    char stem[CBD_RUN_PATH_MAX];
    cbd_layout_model(stem, sizeof stem, cfg.experiment.output_dir, cfg.student_name);
    cbd_stage_make_parent(stem);
    if (method == CBD_METHOD_CRT || method == CBD_METHOD_LWS || method == CBD_METHOD_TAU_NORM) {
        cbd_classifier_job cj;
        memset(&cj, 0, sizeof cj);
        cj.cfg = &cfg;
        cj.train = train;
        cj.data = &data;
        cbd_run_files_of(stem, &cj.files);
        cj.force = force;
        cj.quiet = quiet;
        const int rc = cbd_classifier_run(&cj);
        cbd_dataset_close(train);
        return rc;
    }
    cbd_stage_report_empty_classes(train, "train");
    cbd_dataset *val = cbd_stage_open_dataset(&cfg, "val", cfg.data.val, classes);
    cbd_dataset *test = cbd_stage_open_dataset(&cfg, "test", cfg.data.test, classes);

    static student_ctx ctx;
    ctx.cfg = &cfg;
    ctx.train = train;
    ctx.classes = classes;
    ctx.batch_size = cfg.train.batch_size / cbd_ranks_size(); /* this rank's share (the trainer checks it divides) */
    ctx.views = (uint32_t)cfg.student.views;
    ctx.online = cfg.student.teacher_source == CBD_TEACHER_SOURCE_ONLINE;
    ctx.use_la = cfg.student.loss == CBD_LOSS_LOGIT_ADJUSTED;
    ctx.need_logits = cfg.student.distill == CBD_DISTILL_LOGIT || cfg.student.distill == CBD_DISTILL_HYBRID;
    ctx.k = method != CBD_METHOD_TRAIN || cfg.student.distill == CBD_DISTILL_NONE ? 0 : cfg.student.teachers_count;
    ctx.counters = cbd_calloc((size_t)cbd_dataset_count(train), sizeof *ctx.counters);

    cbd_output_digest digest;
    cbd_output_digest_begin(&digest, &cfg, CBD_OUTPUT_MODEL, NULL, &data);
    open_teachers(&ctx, &cfg, train, &data, &digest);

    cbd_train_job job;
    memset(&job, 0, sizeof job);
    cbd_stage_model_config(&cfg, cfg.student.arch, classes, &job.model);
    cbd_stage_teacher from;
    if (method == CBD_METHOD_FINETUNE) {
        /* the stage-1 model as it is: its architecture and head */
        cbd_stage_read_teacher(&cfg, cfg.student.from, &data, classes, &from);
        cbd_checkpoint_meta_to_config(&from.meta, &job.model);
        job.init_path = from.path;
        cbd_output_digest_add(&digest, "from weights", from.weights);
    }
    const int student_dim = cbd_resnet_arch_feature_dim(cbd_resnet_arch_find(job.model.arch));
    if (ctx.k > 1 || (ctx.k == 1 && ctx.dims[0] != student_dim)) {
        job.model.projection_dim = ctx.target_dim;
        job.model.projection_relu = cfg.student.projection_relu;
        ctx.normalise_parts = 1;
    }
    if (ctx.k == 0) ctx.target_dim = 1;

    cbd_run_files_of(stem, &job.files);
    job.config_digest = cbd_output_digest_end(&digest);
    cbd_output_digest_free(&digest);
    int rc = cbd_stage_check_outputs(&job.files, job.config_digest, cfg.student.epochs, force, &resume, quiet,
                                     cfg.student_name);
    if (rc >= 0) {
        student_close(&ctx, train, val, test);
        return rc;
    }
    char *config_text = cbd_stage_config_text(&cfg);
    job.config_text = config_text;

    snprintf(job.label, sizeof job.label, "%s", cfg.student_name);
    job.seed = cfg.student.seed;
    job.view_seed = cfg.experiment.seed; /* the views the feature stores hold */
    job.epochs = cfg.student.epochs;
    job.lr = cfg.student.lr;
    job.sampling = cfg.student.sampling;
    cbd_stage_store_views(&cfg, &job.train_views);
    cbd_stage_train_job_settings(&cfg, quiet, &job);
    job.hooks = (cbd_train_hooks){.ctx = &ctx, .begin = student_begin, .assign_views = student_assign_views,
                                  .batch_rows = student_batch_rows, .loss = student_loss, .end = student_end};
    if (!quiet) {
        char what[256] = "no distillation";
        if (method == CBD_METHOD_FINETUNE)
            snprintf(what, sizeof what, "fine-tuning teacher %s at lr %g", cfg.student.from, cfg.student.lr);
        else if (ctx.k)
            snprintf(what, sizeof what, "%s distillation from %d teacher%s (%s, d = %d%s), alpha %g, beta %g",
                     cbd_distill_kind_names[cfg.student.distill], ctx.k, ctx.k > 1 ? "s" : "",
                     ctx.online ? "online" : "stored features", ctx.target_dim,
                     job.model.projection_dim ? " through h" : "", cfg.student.alpha, cfg.student.beta);
        cbd_log("%s: %s sampling, %s, seed %llu", cfg.student_name, cbd_sampling_kind_names[cfg.student.sampling],
                what, (unsigned long long)cfg.student.seed);
    }
    rc = cbd_train_run(&job, train, val, test, resume);
    cbd_backend_destroy(job.backend);
    free(config_text);
    student_close(&ctx, train, val, test);
    return rc;
}

int main(int argc, char **argv) { return cbd_ranks_main(argc, argv, stage_main); }
