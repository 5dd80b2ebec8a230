/* The supervised training loop of a stage: epochs of sampled, augmented
 * batches from the threaded loader, SGD with the cosine schedule, a metrics
 * CSV and a log, a resume checkpoint every few epochs (atomic), and the final
 * checkpoint written only when training is complete. A run resumed from its
 * last checkpoint ends with the same weights as an uninterrupted one: the
 * sample order, the augmented views and the learning rate are functions of
 * (seed, epoch, step), and the checkpoint holds weights, momentum and batch
 * norm statistics. */
#ifndef CBD_TRAINER_H
#define CBD_TRAINER_H

#include <stdint.h>

#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "views/augment.h"
#include "views/loader.h"
#include "views/sampler.h"
#include "experiment/run_layout.h"
#include "store/dataset.h"

/* Parts of one step's loss, for the metrics. */
typedef struct {
    double total, ce, distill;
    double cosine; /* mean cosine of the student's embedding to its target (NAN when none) */
} cbd_loss_parts;

/* How a stage changes the plain supervised loop (NULL members: the default). */
typedef struct {
    void *ctx;
    /* After the model exists and before training: set up (teachers, stores). */
    int (*begin)(void *ctx, cbd_model *m, char *err, size_t err_len);
    /* The view shown at each draw of an epoch; called for every epoch in
     * order, also for the epochs a resumed run skips (so state such as draw
     * counters is rebuilt). Default: view = epoch. */
    void (*assign_views)(void *ctx, int64_t epoch, const int64_t *indices, int64_t count, uint32_t *views);
    /* Rows the loader reads beside each batch's images, from the same draws
     * (cbd_batch.rows; the student's stored teacher features); called once
     * after begin. NULL, or returning NULL: none. */
    cbd_feature_prefetcher *(*batch_rows)(void *ctx);
    /* After the forward pass: write d(logits) (and d(embedding) extras) into
     * the model, fill parts. labels: backend memory. Returns 0 or -1 (err). */
    int (*loss)(void *ctx, cbd_model *m, const cbd_batch *b, const int *labels, cbd_loss_parts *parts, char *err,
                size_t err_len);
    void (*end)(void *ctx);
} cbd_train_hooks;

typedef struct {
    char label[96];           /* "teacher t1", for messages */
    cbd_model_config model;
    uint64_t seed;            /* initialisation and sample order */
    uint64_t view_seed;       /* the augmented views (a student's: the experiment seed of the stores) */
    const char *init_path;    /* NULL, or a checkpoint of the same model to start from (fine-tuning) */
    int epochs;
    int batch_size;
    float lr, lr_final;
    int warmup_epochs;
    cbd_sgd_config sgd;
    cbd_sampling_kind sampling;
    cbd_augment_config train_views;
    cbd_augment_config eval_views;
    int workers;
    cbd_bad_image_policy on_bad_image;
    int checkpoint_every;
    uint64_t config_digest;   /* recorded in checkpoints; a resume must match it */
    cbd_backend *backend;     /* the stage's, where the model runs (not destroyed here) */
    /* The job's ranks (NULL: one process). Each rank trains on its share of
     * every batch, batch_size / R images, and steps with the gradient of the
     * whole batch (nn/batch_sum.h); rank 0 alone writes the run's files. */
    const cbd_collective *ranks;
    int quiet;
    cbd_train_hooks hooks;
    cbd_run_files files;      /* the checkpoint, the resume checkpoint and their texts */
    const char *config_text;  /* the resolved configuration, kept with the run */
} cbd_train_job;

/* Trains; with `resume`, continues from job->files.resume (every rank
 * reads it). val (optional) is
 * evaluated after every epoch, test (optional) once at the end. Nothing is
 * written before every check has passed; the run's texts go to the files of
 * the run in progress and are published beside the final checkpoint when it
 * is written (training/run_files.h). Returns an exit code (CBD_EXIT_OK,
 * CBD_EXIT_FAILURE, CBD_EXIT_USAGE) and prints its own messages. */
int cbd_train_run(const cbd_train_job *job, const cbd_dataset *train, const cbd_dataset *val,
                  const cbd_dataset *test, int resume);

/* Top-1 accuracy of the model on every image of ds (center views, evaluation
 * mode), and the mean of per-class accuracies. */
int cbd_evaluate_accuracy(cbd_model *m, const cbd_dataset *ds, const cbd_augment_config *views,
                          int batch_size, int workers, cbd_bad_image_policy on_bad_image, double *top1,
                          double *mean_class, char *err, size_t err_len);

#endif
