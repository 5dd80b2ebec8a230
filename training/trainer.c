#include "training/trainer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/batch_sum.h"
#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/optim/lr_schedule.h"
#include "views/loader.h"
#include "training/metrics.h"
#include "training/interrupt.h"
#include "training/progress.h"
#include "training/run_files.h"
#include "store/checkpoint.h"
#include "store/fsutil.h"

#define METRICS_HEADER \
    "epoch,step,lr,loss,ce,distill,cos_to_target,train_acc,val_acc,val_mean_class_acc,images_per_s,load_wait_s,seconds"

/* Everything one run holds. */
typedef struct {
    const cbd_train_job *job;
    cbd_backend *be;
    cbd_model model;
    int model_ready;
    cbd_sampler sampler;
    int sampler_ready;
    cbd_loader *loader;
    float *x;       /* backend memory [B, C, S, S] */
    int *labels;    /* backend memory [B] */
    float *logits;  /* host [B, classes] */
    int64_t *order; /* host [epoch length]: the draws of the whole job */
    uint32_t *views;
    int ranks, rank;      /* the job's (1 and 0 for one process) */
    int local_batch;      /* this rank's rows of every batch: batch_size / ranks */
    int64_t *my_order;    /* this rank's draws of the epoch, batch by batch (order itself for one rank) */
    uint32_t *my_views;
    FILE *log;
    cbd_metrics metrics;
    int hooks_begun;
} run_state;

static void run_log(run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_log(run_state *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!r->job->quiet) fprintf(stderr, "%s\n", line);
    if (r->log) {
        fprintf(r->log, "%s\n", line);
        fflush(r->log);
    }
}

static void run_free(run_state *r) {
    if (r->hooks_begun && r->job->hooks.end) r->job->hooks.end(r->job->hooks.ctx);
    if (r->loader) cbd_loader_destroy(r->loader);
    if (r->sampler_ready) cbd_sampler_free(&r->sampler);
    if (r->be) {
        if (r->x) r->be->ops.release(r->be, r->x);
        if (r->labels) r->be->ops.release(r->be, r->labels);
    }
    if (r->model_ready) cbd_model_free(&r->model);
    free(r->logits);
    if (r->my_order != r->order) free(r->my_order);
    if (r->my_views != r->views) free(r->my_views);
    free(r->order);
    free(r->views);
    cbd_log_mirror(NULL);
    if (r->log) fclose(r->log);
    cbd_metrics_free(&r->metrics);
}

static int argmax(const float *z, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

/* The input the model is trained for, recorded in its checkpoints. */
static void record_input(cbd_checkpoint_meta *meta, const cbd_augment_config *views) {
    meta->input_size = views->out_size;
    for (int c = 0; c < 3; c++) {
        meta->input_mean[c] = views->mean[c];
        meta->input_std[c] = views->std[c];
    }
}

/* A checkpoint (rank 0's to write); the final one (run_log given) keeps the run's texts. */
static int save_checkpoint(run_state *r, const char *path, int64_t epoch, int64_t step, const char *run_log) {
    if (r->rank != 0) return 0;
    cbd_checkpoint_meta meta;
    cbd_checkpoint_meta_init(&meta, &r->model.cfg);
    meta.epoch = epoch;
    meta.step = step;
    meta.seed = r->job->seed;
    meta.config_digest = r->job->config_digest;
    record_input(&meta, &r->job->eval_views);
    char *metrics = NULL;
    if (run_log) {
        metrics = cbd_metrics_text(&r->metrics, NULL);
        meta.run_config = r->job->config_text;
        meta.run_metrics = metrics;
        meta.run_log = run_log;
    }
    char err[1024];
    const int rc = cbd_checkpoint_save(path, &r->model.params, &meta, err, sizeof err);
    free(metrics);
    if (rc != 0) {
        cbd_log("cbd: error: %s: after epoch %lld: %s; the last good checkpoint is kept", r->job->label,
                (long long)epoch, err);
        return -1;
    }
    return 0;
}

/* Loads the resume checkpoint; returns the epoch to start at, or -1. */
static int64_t load_resume(run_state *r) {
    const cbd_train_job *job = r->job;
    char err[1024];
    cbd_checkpoint_meta meta;
    if (cbd_checkpoint_load(job->files.resume, &job->model, &r->model.params, &meta, err, sizeof err) != 0) {
        cbd_log("cbd: error: cannot resume: %s", err);
        return -1;
    }
    if (meta.config_digest != job->config_digest || meta.seed != job->seed) {
        cbd_log("cbd: error: %s was written by a run with another configuration (digest %016llx, "
                "this run %016llx); remove it or run with --force to start over",
                job->files.resume, (unsigned long long)meta.config_digest,
                (unsigned long long)job->config_digest);
        return -1;
    }
    if (meta.epoch < 0 || meta.epoch > job->epochs) {
        cbd_log("cbd: error: %s: epoch %lld is outside 0..%d", job->files.resume, (long long)meta.epoch,
                job->epochs);
        return -1;
    }
    return meta.epoch;
}

int cbd_evaluate_accuracy(cbd_model *m, const cbd_dataset *ds, const cbd_augment_config *views,
                          int batch_size, int workers, cbd_bad_image_policy on_bad_image, double *top1,
                          double *mean_class, char *err, size_t err_len) {
    cbd_backend *be = m->be;
    const int64_t n = cbd_dataset_count(ds);
    const int classes = m->cfg.classes;
    cbd_loader_config lc = {.dataset = ds, .augment = views, .batch_size = batch_size,
                            .workers = workers, .seed = 0, .center = 1, .on_bad_image = on_bad_image};
    cbd_loader *loader = cbd_loader_create(&lc, err, err_len);
    if (!loader) return -1;
    int64_t *order = cbd_malloc((size_t)n * sizeof *order);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    cbd_loader_begin(loader, order, NULL, n);
    const int c = views->out_channels, s = views->out_size;
    float *x = be->ops.alloc(be, (size_t)batch_size * c * s * s * sizeof(float));
    float *logits = cbd_malloc((size_t)batch_size * classes * sizeof(float));
    int64_t *right = cbd_calloc((size_t)classes, sizeof *right), *seen = cbd_calloc((size_t)classes, sizeof *seen);
    int64_t total = 0, correct = 0;
    const cbd_batch *b;
    while ((b = cbd_loader_next(loader)) != NULL) {
        be->ops.upload(be, x, b->images, (size_t)b->count * c * s * s * sizeof(float));
        cbd_tensor t = {x, b->count, c, s, s};
        cbd_model_forward(m, &t, 0);
        be->ops.download(be, logits, m->logits, (size_t)b->count * classes * sizeof(float));
        for (int i = 0; i < b->count; i++) {
            const int y = b->labels[i];
            const int hit = argmax(logits + (size_t)i * classes, classes) == y;
            correct += hit;
            total++;
            if (y >= 0 && y < classes) {
                seen[y]++;
                right[y] += hit;
            }
        }
    }
    int rc = 0;
    if (cbd_loader_error(loader)) {
        snprintf(err, err_len, "%s", cbd_loader_error(loader));
        rc = -1;
    }
    double sum = 0.0;
    int present = 0;
    for (int k = 0; k < classes; k++)
        if (seen[k]) {
            sum += (double)right[k] / (double)seen[k];
            present++;
        }
    *top1 = total ? (double)correct / (double)total : 0.0;
    *mean_class = present ? sum / present : 0.0;
    be->ops.release(be, x);
    free(logits);
    free(right);
    free(seen);
    free(order);
    cbd_loader_destroy(loader);
    return rc;
}

static int setup(run_state *r, const cbd_dataset *train, int resume, int64_t *start_epoch) {
    const cbd_train_job *job = r->job;
    char err[1024];
    r->be = job->backend;
    r->ranks = job->ranks ? job->ranks->size : 1;
    r->rank = job->ranks ? job->ranks->rank : 0;
    if (cbd_batch_split_set(r->be, job->ranks, job->batch_size, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s: [train] batch_size = %d: %s", job->label, job->batch_size, err);
        return CBD_EXIT_USAGE;
    }
    r->local_batch = job->batch_size / r->ranks;
    if (r->ranks > 1 && job->on_bad_image == CBD_BAD_IMAGE_SKIP) {
        cbd_log("cbd: error: %s: [data] on_bad_image = skip cannot train on %d ranks (a skipped image would "
                "leave the ranks with batches of different sizes): use fail, or one rank", job->label, r->ranks);
        return CBD_EXIT_USAGE;
    }
    if (cbd_model_create(&r->model, r->be, &job->model, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_USAGE;
    }
    r->model_ready = 1;
    cbd_model_initialize(&r->model, job->seed);
    if (job->init_path &&
        cbd_checkpoint_load(job->init_path, &job->model, &r->model.params, NULL, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s (the model %s starts from)", err, job->label);
        return CBD_EXIT_USAGE;
    }
    if (job->init_path) { /* start with zero momentum, whatever the stage-1 run ended with */
        cbd_params *p = &r->model.params;
        float *zeros = cbd_calloc(p->total, sizeof(float));
        r->be->ops.upload(r->be, p->momentum, zeros, p->total * sizeof(float));
        free(zeros);
    }
    *start_epoch = 0;
    if (resume) {
        *start_epoch = load_resume(r);
        if (*start_epoch < 0) return CBD_EXIT_USAGE; /* a resume checkpoint that does not fit this run */
    }
    if (job->hooks.begin) {
        if (job->hooks.begin(job->hooks.ctx, &r->model, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            return CBD_EXIT_USAGE;
        }
        r->hooks_begun = 1;
    }
    if (cbd_sampler_init(&r->sampler, job->sampling, cbd_dataset_labels(train), cbd_dataset_count(train),
                         job->model.classes, job->seed, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_USAGE;
    }
    r->sampler_ready = 1;
    cbd_loader_config lc = {.dataset = train, .augment = &job->train_views, .batch_size = r->local_batch,
                            .workers = job->workers, .seed = job->view_seed, .center = 0,
                            .on_bad_image = job->on_bad_image,
                            .rows = job->hooks.batch_rows ? job->hooks.batch_rows(job->hooks.ctx) : NULL};
    r->loader = cbd_loader_create(&lc, err, sizeof err);
    if (!r->loader) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_USAGE;
    }
    const size_t image_floats = (size_t)job->train_views.out_channels * job->train_views.out_size *
                                job->train_views.out_size;
    r->x = r->be->ops.alloc(r->be, (size_t)r->local_batch * image_floats * sizeof(float));
    r->labels = r->be->ops.alloc(r->be, (size_t)r->local_batch * sizeof(int));
    r->logits = cbd_malloc((size_t)r->local_batch * job->model.classes * sizeof(float));
    const int64_t len = cbd_sampler_epoch_length(&r->sampler);
    r->order = cbd_malloc((size_t)len * sizeof *r->order);
    r->views = cbd_malloc((size_t)len * sizeof *r->views);
    r->my_order = r->ranks > 1 ? cbd_malloc((size_t)(len / r->ranks + 1) * sizeof *r->my_order) : r->order;
    r->my_views = r->ranks > 1 ? cbd_malloc((size_t)(len / r->ranks + 1) * sizeof *r->my_views) : r->views;
    return CBD_EXIT_OK;
}

/* Once every check has passed: the texts of the run in progress (its
 * configuration, its log, its metrics so far). */
static int open_run_files(run_state *r, int64_t start_epoch) {
    const cbd_train_job *job = r->job;
    char err[8400];
    if (r->rank != 0) return CBD_EXIT_OK; /* rank 0 keeps the run's files */
    if (cbd_write_file_atomic(job->files.run_config, job->config_text, strlen(job->config_text), err,
                              sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        return CBD_EXIT_FAILURE;
    }
    r->log = fopen(job->files.run_log, start_epoch > 0 ? "a" : "w");
    if (!r->log) cbd_warn("cannot open log %s; logging to the terminal only", job->files.run_log);
    cbd_log_mirror(r->log);
    cbd_metrics_init(&r->metrics, job->files.run_metrics, METRICS_HEADER);
    if (start_epoch > 0) cbd_metrics_resume(&r->metrics, (long)start_epoch);
    return CBD_EXIT_OK;
}

/* The last epoch is done: the final checkpoint with the run's texts, then
 * the files beside it; later lines of the log go to the published log. */
static int finish_run(run_state *r, int64_t epoch, int64_t step) {
    const cbd_train_job *job = r->job;
    char err[8400];
    if (r->rank != 0) return CBD_EXIT_OK;
    if (r->log) fflush(r->log);
    char *log_text = cbd_read_file(job->files.run_log, NULL, err, sizeof err);
    const int rc = save_checkpoint(r, job->files.checkpoint, epoch, step, log_text ? log_text : "");
    free(log_text);
    if (rc != 0) return CBD_EXIT_FAILURE;
    cbd_log_mirror(NULL);
    if (r->log) fclose(r->log);
    r->log = NULL;
    if (cbd_run_files_publish(&job->files, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s wrote %s, then: %s (a rerun writes them)", job->label, job->files.checkpoint,
                err);
        return CBD_EXIT_FAILURE;
    }
    r->log = fopen(job->files.log, "a");
    cbd_log_mirror(r->log);
    return CBD_EXIT_OK;
}

typedef struct {
    double loss_sum, ce_sum, distill_sum, cosine_sum;
    int64_t seen, correct, cosine_seen;
    double seconds, wait;
} epoch_totals;

/* The views of an epoch's draws (default: every draw shows view `epoch`). */
static void assign_views(run_state *r, int64_t epoch, int64_t draws) {
    const cbd_train_hooks *h = &r->job->hooks;
    if (h->assign_views) {
        h->assign_views(h->ctx, epoch, r->order, draws, r->views);
        return;
    }
    for (int64_t i = 0; i < draws; i++) r->views[i] = (uint32_t)epoch;
}

/* This rank's share of the epoch's draws: rows [rank b, (rank + 1) b) of
 * every batch, b = batch_size / ranks (all of them for one rank). */
static void take_my_draws(run_state *r, int64_t steps) {
    if (r->ranks == 1) return;
    const int64_t b = r->local_batch, batch = r->job->batch_size;
    for (int64_t s = 0; s < steps; s++) {
        const int64_t from = s * batch + r->rank * b;
        memcpy(r->my_order + s * b, r->order + from, (size_t)b * sizeof *r->order);
        memcpy(r->my_views + s * b, r->views + from, (size_t)b * sizeof *r->views);
    }
}

/* The epoch's totals over every rank (each added in rank order). */
static void sum_over_ranks(run_state *r, epoch_totals *tot) {
    if (r->ranks == 1) return;
    double v[7] = {tot->loss_sum, tot->ce_sum, tot->distill_sum, tot->cosine_sum, (double)tot->seen,
                   (double)tot->correct, (double)tot->cosine_seen};
    cbd_collective_sum_doubles(r->job->ranks, v, 7);
    tot->loss_sum = v[0];
    tot->ce_sum = v[1];
    tot->distill_sum = v[2];
    tot->cosine_sum = v[3];
    tot->seen = (int64_t)v[4];
    tot->correct = (int64_t)v[5];
    tot->cosine_seen = (int64_t)v[6];
}

/* One epoch; returns 0, or an exit code. */
static int train_epoch(run_state *r, int64_t epoch, int64_t steps_per_epoch, const cbd_lr_schedule *lr,
                       epoch_totals *tot) {
    const cbd_train_job *job = r->job;
    cbd_backend *be = r->be;
    const int classes = job->model.classes;
    const cbd_augment_config *v = &job->train_views;
    const size_t image_floats = (size_t)v->out_channels * v->out_size * v->out_size;
    const int64_t draws = steps_per_epoch * job->batch_size;
    cbd_sampler_epoch(&r->sampler, epoch, r->order);
    assign_views(r, epoch, draws);
    take_my_draws(r, steps_per_epoch);
    cbd_loader_begin(r->loader, r->my_order, r->my_views, steps_per_epoch * r->local_batch);
    memset(tot, 0, sizeof *tot);
    const double t0 = cbd_now();
    const double wait0 = cbd_loader_wait_seconds(r->loader);
    char label[128];
    snprintf(label, sizeof label, "%s epoch %lld/%d", job->label, (long long)epoch + 1, job->epochs);
    cbd_progress bar;
    cbd_progress_begin(&bar, stderr, job->quiet, label, steps_per_epoch);
    const cbd_batch *b;
    int64_t step_in_epoch = 0;
    while ((b = cbd_loader_next(r->loader)) != NULL) {
        const int64_t step = epoch * steps_per_epoch + step_in_epoch;
        be->ops.upload(be, r->x, b->images, (size_t)b->count * image_floats * sizeof(float));
        be->ops.upload(be, r->labels, b->labels, (size_t)b->count * sizeof(int));
        cbd_tensor x = {r->x, b->count, v->out_channels, v->out_size, v->out_size};
        cbd_model_forward(&r->model, &x, 1);
        cbd_loss_parts parts = {0.0, 0.0, 0.0, NAN};
        if (job->hooks.loss) {
            char err[1024];
            if (job->hooks.loss(job->hooks.ctx, &r->model, b, r->labels, &parts, err, sizeof err) != 0) {
                cbd_progress_end(&bar);
                cbd_log("cbd: error: %s: %s", job->label, err);
                return CBD_EXIT_FAILURE;
            }
        } else {
            parts.ce = parts.total = cbd_cross_entropy(be, r->model.logits, r->labels, b->count, classes, 1.0f,
                                                       r->model.d_logits);
        }
        const double loss = parts.total;
        if (!isfinite(loss)) {
            cbd_progress_end(&bar);
            cbd_log("cbd: error: %s: loss is %g at epoch %lld, step %lld (cross-entropy part %g, distillation "
                    "part %g); the last good checkpoint is kept", job->label, loss, (long long)epoch + 1,
                    (long long)step, parts.ce, parts.distill);
            return CBD_EXIT_FAILURE;
        }
        be->ops.download(be, r->logits, r->model.logits, (size_t)b->count * classes * sizeof(float));
        cbd_model_backward(&r->model);
        cbd_sgd_step(be, &r->model.params, &job->sgd, cbd_lr_at(lr, step));
        for (int i = 0; i < b->count; i++)
            tot->correct += argmax(r->logits + (size_t)i * classes, classes) == b->labels[i];
        tot->loss_sum += loss * b->count;
        tot->ce_sum += parts.ce * b->count;
        tot->distill_sum += parts.distill * b->count;
        if (!isnan(parts.cosine)) {
            tot->cosine_sum += parts.cosine * b->count;
            tot->cosine_seen += b->count;
        }
        tot->seen += b->count;
        step_in_epoch++;
        char extra[96];
        snprintf(extra, sizeof extra, "loss %.4f acc %.1f%% %.0f img/s", tot->loss_sum / tot->seen,
                 100.0 * tot->correct / tot->seen, tot->seen / (cbd_now() - t0));
        cbd_progress_update(&bar, step_in_epoch, extra);
    }
    cbd_progress_end(&bar);
    if (cbd_loader_error(r->loader)) { /* an image that cannot be read: bad input ([data] on_bad_image = fail) */
        cbd_log("cbd: error: %s", cbd_loader_error(r->loader));
        return CBD_EXIT_USAGE;
    }
    sum_over_ranks(r, tot);
    tot->seconds = cbd_now() - t0;
    tot->wait = cbd_loader_wait_seconds(r->loader) - wait0;
    return CBD_EXIT_OK;
}

int cbd_train_run(const cbd_train_job *job, const cbd_dataset *train, const cbd_dataset *val,
                  const cbd_dataset *test, int resume) {
    run_state r;
    memset(&r, 0, sizeof r);
    r.job = job;
    int64_t start = 0;
    int rc = setup(&r, train, resume, &start);
    if (rc != CBD_EXIT_OK) {
        run_free(&r);
        return rc;
    }
    const int64_t len = cbd_sampler_epoch_length(&r.sampler);
    int64_t steps_per_epoch = len / job->batch_size; /* the last partial batch is dropped */
    if (steps_per_epoch < 1) {
        cbd_log("cbd: error: %s: %lld training images make no batch of %d; lower [train] batch_size",
                job->label, (long long)len, job->batch_size);
        run_free(&r);
        return CBD_EXIT_USAGE;
    }
    rc = open_run_files(&r, start);
    if (rc != CBD_EXIT_OK) {
        run_free(&r);
        return rc;
    }
    cbd_lr_schedule lr = {.base_lr = job->lr, .final_lr = job->lr_final,
                          .total_steps = steps_per_epoch * job->epochs,
                          .warmup_steps = steps_per_epoch * job->warmup_epochs, .warmup_start_factor = 0.0f};
    run_log(&r, "%s: %s, %zu parameters, %lld images, %d classes, %d epochs x %lld steps of %d, "
                "device %s%s",
            job->label, job->model.arch, cbd_params_trainable_count(&r.model.params),
            (long long)cbd_dataset_count(train), job->model.classes, job->epochs,
            (long long)steps_per_epoch, job->batch_size, r.be->name, r.be->conv_bf16 ? " (bf16 convolutions)" : "");
    if (start > 0) {
        run_log(&r, "%s: resuming after epoch %lld from %s", job->label, (long long)start, job->files.resume);
        /* rebuild per-draw state (the student's draw counters) exactly as the first run left it */
        for (int64_t e = 0; e < start; e++) {
            cbd_sampler_epoch(&r.sampler, e, r.order);
            assign_views(&r, e, steps_per_epoch * job->batch_size);
        }
    }

    for (int64_t epoch = start; epoch < job->epochs; epoch++) {
        const int64_t kept = epoch - epoch % job->checkpoint_every;
        if (kept > 0)
            cbd_interrupt_say("%s in epoch %lld of %d; run it again with --resume to continue after epoch %lld",
                              job->label, (long long)epoch + 1, job->epochs, (long long)kept);
        else
            cbd_interrupt_say("%s in epoch %lld of %d, before its first resume checkpoint; running it again "
                              "starts over", job->label, (long long)epoch + 1, job->epochs);
        epoch_totals tot;
        rc = train_epoch(&r, epoch, steps_per_epoch, &lr, &tot);
        if (rc != CBD_EXIT_OK) break;
        double val_top1 = NAN, val_mean = NAN;
        char err[1024];
        if (val && r.rank == 0 && cbd_evaluate_accuracy(&r.model, val, &job->eval_views, job->batch_size, job->workers,
                                         job->on_bad_image, &val_top1, &val_mean, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
            break;
        }
        const int64_t step = (epoch + 1) * steps_per_epoch;
        const float lr_now = cbd_lr_at(&lr, step - 1);
        char row[512];
        const double cosine = tot.cosine_seen ? tot.cosine_sum / tot.cosine_seen : NAN;
        snprintf(row, sizeof row, "%lld,%lld,%.6g,%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%.4f,%.1f,%.3f,%.2f",
                 (long long)epoch + 1, (long long)step, lr_now, tot.loss_sum / tot.seen, tot.ce_sum / tot.seen,
                 tot.distill_sum / tot.seen, cosine, (double)tot.correct / tot.seen, val_top1, val_mean,
                 tot.seen / tot.seconds, tot.wait, tot.seconds);
        cbd_metrics_add(&r.metrics, row);
        char val_text[96] = "";
        if (!isnan(cosine)) snprintf(val_text, sizeof val_text, "  cos %.3f", cosine);
        if (val)
            snprintf(val_text + strlen(val_text), sizeof val_text - strlen(val_text), "  val %.1f%%",
                     100.0 * val_top1);
        run_log(&r, "%s epoch %lld/%d  loss %.4f  train %.1f%%%s  lr %.4g  %.0f img/s  %.1f s (waited %.2f s for data)",
                job->label, (long long)epoch + 1, job->epochs, tot.loss_sum / tot.seen,
                100.0 * tot.correct / tot.seen, val_text, lr_now, tot.seen / tot.seconds, tot.seconds, tot.wait);
        const int last = epoch + 1 == job->epochs;
        /* The metrics row goes to disk before the resume checkpoint: a kill between the two
         * then leaves a row the resumed run drops and recomputes, never a missing row. */
        if (r.rank == 0 && cbd_metrics_write(&r.metrics, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
            break;
        }
        if (!last && (epoch + 1) % job->checkpoint_every == 0 &&
            save_checkpoint(&r, job->files.resume, epoch + 1, step, NULL) != 0) {
            rc = CBD_EXIT_FAILURE;
            break;
        }
        if (last) {
            rc = finish_run(&r, epoch + 1, step);
            if (rc != CBD_EXIT_OK) break;
            run_log(&r, "%s: wrote %s", job->label, job->files.checkpoint);
            double top1, mean_class;
            if (test && r.rank == 0 && cbd_evaluate_accuracy(&r.model, test, &job->eval_views, job->batch_size, job->workers,
                                              job->on_bad_image, &top1, &mean_class, err, sizeof err) != 0) {
                cbd_log("cbd: error: %s", err);
                rc = CBD_EXIT_FAILURE;
                break;
            }
            if (test && r.rank == 0)
                run_log(&r, "%s: test top-1 %.2f%%, mean per-class accuracy %.2f%% (%lld images)", job->label,
                        100.0 * top1, 100.0 * mean_class, (long long)cbd_dataset_count(test));
        }
    }
    run_free(&r);
    return rc;
}
