#include "stages/classifier_retrain.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/layers/cosine_classifier.h"
#include "nn/layers/linear.h"
#include "nn/clock.h"
#include "nn/batch_sum.h"
#include "nn/log.h"
#include "parallel/ranks.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/sgd.h"
#include "training/metrics.h"
#include "views/sampler.h"
#include "stages/stage_common.h"
#include "stages/stage_inputs.h"
#include "store/checkpoint.h"
#include "store/feature_store.h"
#include "store/fsutil.h"
#include "training/interrupt.h"
#include "training/run_files.h"

#define METRICS_HEADER "epoch,step,lr,loss,train_acc,rows_per_s,seconds"

/* The head being trained: a fresh classifier (crt) or per-class scales (lws). */
typedef struct {
    cbd_params params;
    cbd_cosine_classifier cosine;
    cbd_linear linear;
    int scale; /* lws: entry of the scales */
    cbd_arena cache_memory;
    cbd_cosine_cache cache;
} head_state;

/* A line on the terminal (unless quiet) and in the log. */
static void say(FILE *log, int quiet, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(FILE *log, int quiet, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!quiet) fprintf(stderr, "%s\n", line);
    if (log) {
        fprintf(log, "%s\n", line);
        fflush(log);
    }
}

/* tau-normalisation: w_c / |w_c|^p, bias dropped. */
static void tau_normalise(cbd_model *m, float power) {
    const cbd_linear *fc = &m->linear;
    float *w = cbd_param_value(&m->params, fc->weight);
    for (int c = 0; c < fc->out; c++) {
        double ss = 0.0;
        for (int i = 0; i < fc->in; i++) ss += (double)w[(size_t)c * fc->in + i] * w[(size_t)c * fc->in + i];
        const double f = pow(fmax(sqrt(ss), 1e-12), (double)power);
        for (int i = 0; i < fc->in; i++) w[(size_t)c * fc->in + i] = (float)(w[(size_t)c * fc->in + i] / f);
    }
    if (fc->bias >= 0) memset(cbd_param_value(&m->params, fc->bias), 0, (size_t)fc->out * sizeof(float));
}

/* Copies the trained head into the teacher's model (crt), or folds the
 * scales into its classifier rows (lws). */
static void install_head(cbd_model *m, const head_state *h, cbd_student_method method) {
    if (method == CBD_METHOD_LWS) {
        const cbd_linear *fc = &m->linear;
        const float *s = cbd_param_value(&h->params, h->scale);
        float *w = cbd_param_value(&m->params, fc->weight);
        for (int c = 0; c < fc->out; c++)
            for (int i = 0; i < fc->in; i++) w[(size_t)c * fc->in + i] *= s[c];
        if (fc->bias >= 0) {
            float *b = cbd_param_value(&m->params, fc->bias);
            for (int c = 0; c < fc->out; c++) b[c] *= s[c];
        }
        return;
    }
    for (int i = 0; i < h->params.count; i++) {
        const cbd_param_entry *e = &h->params.entries[i];
        const int j = cbd_params_find(&m->params, e->name);
        CBD_ASSERT(j >= 0 && m->params.entries[j].count == e->count, "head entry %s", e->name);
        memcpy(cbd_param_value(&m->params, j), cbd_param_value(&h->params, i), e->count * sizeof(float));
    }
}

/* Trains the head on stored features. Returns the steps taken, or -1. */
static int64_t train_head(const cbd_classifier_job *job, cbd_backend *be, cbd_model *teacher, head_state *h,
                          cbd_feature_store *store, FILE *log, cbd_metrics *metrics, char *err, size_t err_len) {
    const cbd_config *cfg = job->cfg;
    const cbd_student_method method = cfg->student.method;
    const int classes = teacher->cfg.classes, d = cbd_model_feature_dim(teacher), global_bs = cfg->train.batch_size;
    const int64_t n = cbd_dataset_count(job->train);
    /* of R ranks, each takes rows [rank bs, (rank + 1) bs) of every batch, bs = batch_size / R (the
     * split, nn/batch_sum.h, is set on be before anything is written) */
    const cbd_collective *ranks = cbd_ranks_collective();
    const int bs = global_bs / cbd_ranks_size(), first_row = cbd_ranks_rank() * bs;
    const int32_t *labels = cbd_dataset_labels(job->train);

    cbd_params_init(&h->params);
    if (method == CBD_METHOD_CRT) {
        if (teacher->cfg.head == CBD_HEAD_COSINE)
            cbd_cosine_classifier_create(&h->cosine, &h->params, "classifier", d, classes, teacher->cfg.cosine_scale);
        else
            cbd_linear_create(&h->linear, &h->params, "classifier", d, classes, 1, CBD_INIT_UNIFORM_FAN_IN);
    } else {
        const int shape[1] = {classes};
        h->scale = cbd_params_add(&h->params, "classifier/scale", CBD_PARAM_BIAS, CBD_INIT_ONES, 1, shape, classes,
                                  classes);
    }
    cbd_params_allocate(&h->params, be);
    cbd_params_initialize(&h->params, cfg->student.seed);
    const int cosine = method == CBD_METHOD_CRT && teacher->cfg.head == CBD_HEAD_COSINE;
    if (cosine) {
        cbd_arena_init(&h->cache_memory, be, cbd_cosine_cache_floats(&h->cosine, bs));
        cbd_cosine_cache_carve(&h->cosine, bs, &h->cache_memory, &h->cache);
    }

    cbd_sampler sampler;
    if (cbd_sampler_init(&sampler, cfg->student.sampling, labels, n, classes, cfg->student.seed, err, err_len) != 0)
        return -1;
    const int64_t len = cbd_sampler_epoch_length(&sampler), steps_per_epoch = len / global_bs;
    if (steps_per_epoch < 1) {
        snprintf(err, err_len, "an epoch of %lld draws is shorter than one batch of %d", (long long)len, global_bs);
        cbd_sampler_free(&sampler);
        return -1;
    }
    const cbd_lr_schedule lr = {.base_lr = cfg->student.lr, .final_lr = cfg->train.lr_final,
                                .total_steps = steps_per_epoch * cfg->student.epochs,
                                .warmup_steps = steps_per_epoch * cfg->train.warmup_epochs};
    const cbd_sgd_config sgd = {.momentum = cfg->train.momentum, .weight_decay = cfg->train.weight_decay,
                                .nesterov = cfg->train.nesterov, .decay_norm_and_bias = cfg->train.decay_norm_and_bias};
    int64_t *order = cbd_malloc((size_t)len * sizeof *order);
    uint32_t *views = cbd_malloc((size_t)len * sizeof *views), *counters = cbd_calloc((size_t)n, sizeof *counters);
    float *v = cbd_malloc((size_t)bs * d * sizeof(float)), *z = cbd_malloc((size_t)bs * classes * sizeof(float)),
          *dz = cbd_malloc((size_t)bs * classes * sizeof(float)),
          *base = cbd_malloc((size_t)bs * classes * sizeof(float)),
          *product = cbd_malloc((size_t)bs * classes * sizeof(float));
    int *y = cbd_malloc((size_t)bs * sizeof(int));
    int64_t step = 0;
    int failed = 0;
    for (int epoch = 0; epoch < cfg->student.epochs && !failed; epoch++) {
        const double start = cbd_now();
        cbd_sampler_epoch(&sampler, epoch, order);
        cbd_draw_counter_assign(counters, order, len, (uint32_t)cfg->student.views, views);
        double loss_sum = 0.0;
        int64_t correct = 0;
        float rate = 0.0f;
        for (int64_t s = 0; s < steps_per_epoch; s++, step++) {
            const int64_t *idx = order + s * global_bs + first_row;
            if (cbd_feature_store_read(store, idx, views + s * global_bs + first_row, bs, v, NULL, err, err_len) != 0) {
                failed = 1;
                break;
            }
            for (int r = 0; r < bs; r++) y[r] = labels[idx[r]];
            if (method == CBD_METHOD_CRT) {
                if (cosine)
                    cbd_cosine_classifier_forward(be, &h->cosine, &h->params, v, bs, z, &h->cache);
                else
                    cbd_linear_forward(be, &h->linear, &h->params, v, bs, z);
            } else {
                cbd_linear_forward(be, &teacher->linear, &teacher->params, v, bs, base);
                const float *scale = cbd_param_value(&h->params, h->scale);
                for (int r = 0; r < bs; r++)
                    for (int c = 0; c < classes; c++) z[(size_t)r * classes + c] = scale[c] * base[(size_t)r * classes + c];
            }
            loss_sum += cbd_cross_entropy(be, z, y, bs, classes, 1.0f, dz) * bs / global_bs;
            for (int r = 0; r < bs; r++) {
                int best = 0;
                for (int c = 1; c < classes; c++)
                    if (z[(size_t)r * classes + c] > z[(size_t)r * classes + best]) best = c;
                correct += best == y[r];
            }
            cbd_params_zero_grads(&h->params);
            if (method == CBD_METHOD_CRT) {
                if (cosine)
                    cbd_cosine_classifier_backward(be, &h->cosine, &h->params, dz, bs, &h->cache, NULL);
                else
                    cbd_linear_backward(be, &h->linear, &h->params, v, dz, bs, NULL);
            } else {
                /* d scale_c = sum over the batch of dz * base, by chunks and ranks */
                for (size_t i = 0; i < (size_t)bs * classes; i++) product[i] = dz[i] * base[i];
                cbd_batch_sum_rows(be, bs, classes, product, cbd_param_grad(&h->params, h->scale));
            }
            rate = cbd_lr_at(&lr, (long)step);
            cbd_sgd_step(be, &h->params, &sgd, rate);
        }
        if (failed) break;
        loss_sum = cbd_collective_sum_double(ranks, loss_sum);
        correct = cbd_collective_sum_i64(ranks, correct);
        const double seconds = cbd_now() - start, rows = (double)steps_per_epoch * global_bs;
        say(log, job->quiet, "%s epoch %d/%d  loss %.4f  train %.1f%%  lr %.4g  %.0f rows/s", job->cfg->student_name,
            epoch + 1, cfg->student.epochs, loss_sum / steps_per_epoch, 100.0 * correct / rows, rate,
            rows / fmax(seconds, 1e-9));
        char row[512];
        snprintf(row, sizeof row, "%d,%lld,%.6g,%.6f,%.6f,%.1f,%.3f", epoch + 1, (long long)step, rate,
                 loss_sum / steps_per_epoch, correct / rows, rows / fmax(seconds, 1e-9), seconds);
        cbd_metrics_add(metrics, row);
        if (cbd_ranks_rank() == 0 && cbd_metrics_write(metrics, err, err_len) != 0) failed = 1;
    }
    free(order);
    free(views);
    free(counters);
    free(v);
    free(z);
    free(dz);
    free(base);
    free(product);
    free(y);
    cbd_sampler_free(&sampler);
    return failed ? -1 : step;
}

int cbd_classifier_run(const cbd_classifier_job *job) {
    const cbd_config *cfg = job->cfg;
    const cbd_student_method method = cfg->student.method;
    CBD_ASSERT(method == CBD_METHOD_CRT || method == CBD_METHOD_LWS || method == CBD_METHOD_TAU_NORM, "method %d",
               (int)method);
    char err[8400];
    const int classes = cbd_dataset_classes(job->train);
    cbd_stage_teacher from;
    cbd_stage_read_teacher(cfg, cfg->student.from, job->data, classes, &from);
    cbd_model_config mc;
    cbd_checkpoint_meta_to_config(&from.meta, &mc);
    if (method != CBD_METHOD_CRT && mc.head != CBD_HEAD_LINEAR)
        cbd_fail(CBD_EXIT_USAGE, "%s: %s rescales linear classifier rows, and this model's head is %s", from.path,
                 cbd_student_method_names[method], cbd_head_kind_names[mc.head]);
    if (mc.projection_dim)
        cbd_fail(CBD_EXIT_USAGE, "%s has a projection h: %s needs a plain stage-1 model", from.path,
                 cbd_student_method_names[method]);

    cbd_output_digest digest;
    cbd_output_digest_begin(&digest, cfg, CBD_OUTPUT_MODEL, NULL, job->data);
    cbd_output_digest_add(&digest, "from weights", from.weights);
    cbd_feature_store *store = NULL;
    if (method != CBD_METHOD_TAU_NORM) {
        store = cbd_stage_open_store(cfg, cfg->student.from, job->train, job->data, from.weights,
                                     (int64_t)cfg->features.memory_cap_mb << 20, 0);
        cbd_output_digest_add(&digest, "store from", cbd_feature_store_spec_of(store)->dump_digest);
    }
    const uint64_t config_digest = cbd_output_digest_end(&digest);
    cbd_output_digest_free(&digest);
    const int epochs = method == CBD_METHOD_TAU_NORM ? 0 : cfg->student.epochs;
    int resume = 0;
    if (cbd_stage_check_outputs(&job->files, config_digest, epochs, job->force, &resume, job->quiet,
                                cfg->student_name) >= 0) {
        if (store) cbd_feature_store_close(store);
        return CBD_EXIT_OK;
    }

    /* The cpu whatever [experiment] device says: a head on stored features is
     * one small GEMM per step, and this file reads and writes the parameter
     * tables and its batches in host memory (tau_normalise, install_head,
     * the LWS scales, the momentum reset), which only the cpu backend's
     * memory allows. A cuda version would upload and download each of these. */
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    if (cbd_batch_split_set(be, cbd_ranks_collective(), cfg->train.batch_size, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "[train] batch_size = %d: %s", cfg->train.batch_size, err);
    cbd_model teacher;
    if (cbd_model_create(&teacher, be, &mc, err, sizeof err) != 0 ||
        cbd_checkpoint_load(from.path, &mc, &teacher.params, NULL, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (store && cbd_feature_store_spec_of(store)->d != cbd_model_feature_dim(&teacher))
        cbd_fail(CBD_EXIT_USAGE, "%s holds %d-dimensional features, %s's backbone gives %d",
                 cbd_feature_store_path(store), cbd_feature_store_spec_of(store)->d, from.path,
                 cbd_model_feature_dim(&teacher));

    /* the run's texts, beside the files of the finished model until it is written */
    char *config_text = cbd_stage_config_text(cfg);
    const int writes = cbd_ranks_rank() == 0; /* of several ranks, rank 0 keeps the run's files */
    if (writes &&
        cbd_write_file_atomic(job->files.run_config, config_text, strlen(config_text), err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    FILE *log = writes ? fopen(job->files.run_log, "w") : NULL;
    if (writes && !log) cbd_warn("cannot open log %s; logging to the terminal only", job->files.run_log);
    cbd_log_mirror(log);
    cbd_metrics metrics;
    cbd_metrics_init(&metrics, job->files.run_metrics, METRICS_HEADER);
    cbd_interrupt_say("%s while training its classifier; running it again starts over", cfg->student_name);
    say(log, job->quiet, "%s: %s on teacher %s (%s head, %s)", cfg->student_name, cbd_student_method_names[method],
        cfg->student.from, cbd_head_kind_names[mc.head],
        method == CBD_METHOD_TAU_NORM ? "no training" : "stored features");

    int64_t steps = 0;
    int rc = CBD_EXIT_OK;
    head_state head;
    memset(&head, 0, sizeof head);
    if (method == CBD_METHOD_TAU_NORM) {
        tau_normalise(&teacher, cfg->student.norm_power);
    } else {
        steps = train_head(job, be, &teacher, &head, store, log, &metrics, err, sizeof err);
        if (steps < 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
        } else {
            install_head(&teacher, &head, method);
        }
        cbd_arena_release(&head.cache_memory);
        cbd_params_free(&head.params);
    }
    if (rc == CBD_EXIT_OK && writes) {
        /* the momentum of the stage-1 run means nothing for this model */
        memset(teacher.params.momentum, 0, teacher.params.total * sizeof(float));
        cbd_checkpoint_meta meta;
        cbd_checkpoint_meta_init(&meta, &mc);
        meta.epoch = epochs;
        meta.step = steps;
        meta.seed = cfg->student.seed;
        meta.config_digest = config_digest;
        meta.input_size = from.meta.input_size;
        memcpy(meta.input_mean, from.meta.input_mean, sizeof meta.input_mean);
        memcpy(meta.input_std, from.meta.input_std, sizeof meta.input_std);
        if (log) fflush(log);
        char *log_text = cbd_read_file(job->files.run_log, NULL, err, sizeof err);
        char *metrics_text = cbd_metrics_text(&metrics, NULL);
        meta.run_config = config_text;
        meta.run_metrics = metrics_text;
        meta.run_log = log_text ? log_text : "";
        const int saved = cbd_checkpoint_save(job->files.checkpoint, &teacher.params, &meta, err, sizeof err);
        free(log_text);
        free(metrics_text);
        cbd_log_mirror(NULL);
        if (log) fclose(log);
        log = NULL;
        if (saved != 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
        } else if (cbd_run_files_publish(&job->files, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s wrote %s, then: %s (a rerun writes them)", cfg->student_name,
                    job->files.checkpoint, err);
            rc = CBD_EXIT_FAILURE;
        } else {
            log = fopen(job->files.log, "a");
            say(log, job->quiet, "%s: wrote %s", cfg->student_name, job->files.checkpoint);
        }
    }
    cbd_log_mirror(NULL);
    cbd_metrics_free(&metrics);
    free(config_text);
    cbd_model_free(&teacher);
    cbd_backend_destroy(be);
    if (store) cbd_feature_store_close(store);
    if (log) fclose(log);
    return rc;
}
