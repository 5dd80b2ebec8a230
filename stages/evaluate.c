/* cbd-evaluate: runs a trained model (teacher or student checkpoint) over the
 * test (or validation) split with center views and reports top-1 and top-k
 * accuracy, the many/mid/few-shot group accuracies (means of per-class
 * accuracies), per-class accuracy and the confusion matrix; with --ncm also
 * the nearest-class-mean accuracy of the model's pooled features.
 *
 *   cbd-evaluate --config ini/tiny.ini --model runs/tiny/student.ckpt.h5 [--name NAME]
 *                [--split test|val] [--ncm] [--set S.KEY=VALUE ...] [--quiet]
 *
 * Writes <output_dir>/eval/NAME.json, NAME.csv (per class), NAME.md (summary
 * and per-class tables) and NAME.confusion.csv, each atomically, NAME.json
 * last; prints the Markdown summary table on standard output. */
#define _XOPEN_SOURCE 700 /* realpath */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "parallel/ranks.h"
#include "nn/threads.h"
#include "experiment/config.h"
#include "stages/batch_rounds.h"
#include "stages/stage_args.h"
#include "stages/eval_metrics.h"
#include "stages/eval_neighbours.h"
#include "views/loader.h"
#include "training/progress.h"
#include "stages/stage_common.h"
#include "experiment/output_digest.h"
#include "experiment/run_layout.h"
#include "stages/stage_inputs.h"
#include "store/checkpoint.h"
#include "store/fsutil.h"
#include "store/text.h"

#include <utime.h>

#define NAME_MAX_LEN 127
#define EVAL_FORMAT "cbd-eval"
#define EVAL_FORMAT_VERSION 1

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-evaluate --config FILE --model CKPT [options]\n"
            "  --config FILE      experiment INI (see ini/README.md)\n"
            "  --model CKPT       checkpoint to evaluate (*.ckpt.h5 of a teacher or a student); given\n"
            "                     several times: their ensemble (the mean of their softmax outputs)\n"
            "  --name NAME        name of the outputs (default: the checkpoint's file name without\n"
            "                     .ckpt.h5); letters, digits, '_', '-' and '.'\n"
            "  --split test|val   which split of [data] to evaluate (default test)\n"
            "  --ncm              also the nearest-class-mean accuracy of the pooled features\n"
            "                     (class means of the training set's center views, cosine)\n"
            "  --neighbours K     also NAME.neighbours.csv: for the first 2 images of the split in each\n"
            "                     of the 5 classes with the fewest training images, their K (1-64)\n"
            "                     nearest training images by the cosine of the pooled features (the\n"
            "                     paper's Figure 4; drawn by cbd-contact-sheet)\n"
            "  --set S.KEY=VALUE  override a config value (repeatable), e.g. --set eval.batch_size=64\n"
            "  --force            evaluate again even if the outputs are up to date\n"
            "  --quiet            no progress output (the summary table is still printed)\n"
            "  --help             this text\n"
            "writes <output_dir>/eval/NAME.json, NAME.csv, NAME.md and NAME.confusion.csv and prints\n"
            "the summary table (top-1 in %%; many/mid/few are means of per-class accuracies; groups\n"
            "by training images: many > [eval] many_threshold, few < [eval] few_threshold); above 1000\n"
            "classes the confusion matrix is written as its nonzero cells (CSV true,predicted,count;\n"
            "JSON \"confusion_cells\"), not C x C\n"
            "exit status: 0 done, 1 evaluation or writing failed, 2 bad usage, configuration or input file\n");
}

/* ---- CSV and Markdown pieces (the text buffer and its JSON: store/text.h) ---- */

static void tx_csv_field(cbd_text *t, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        cbd_text_printf(t, "%s", s);
        return;
    }
    cbd_text_printf(t, "\"");
    for (const char *c = s; *c; c++) cbd_text_printf(t, *c == '"' ? "\"\"" : "%c", *c);
    cbd_text_printf(t, "\"");
}

static void tx_md_cell(cbd_text *t, const char *s) {
    for (const char *c = s; *c; c++) {
        if (*c == '|') cbd_text_printf(t, "\\|");
        else if (*c == '\n' || *c == '\r') cbd_text_printf(t, " ");
        else cbd_text_printf(t, "%c", *c);
    }
}

/* A percentage with one decimal, or "-". */
static void tx_md_percent(cbd_text *t, double x) {
    if (isfinite(x)) cbd_text_printf(t, "%.1f", 100.0 * x);
    else cbd_text_printf(t, "-");
}

/* ---- running the model over a dataset ---- */

typedef struct {
    cbd_model *model;   /* models[0] */
    cbd_model *models;  /* several: an ensemble, whose logits are log of the mean softmax */
    int n_models;
    const cbd_augment_config *views;
    int batch_size, workers;
    cbd_bad_image_policy on_bad_image;
    int quiet;
} runner;

/* Called with each batch: labels [n], logits [n, classes], features [n, d] (host). */
typedef void (*batch_fn)(void *ctx, const int32_t *labels, int n, const float *logits, const float *features);

/* A slot of the pass (stages/batch_rounds.h): counts, then the batch's
 * labels, logits and features. */
typedef struct {
    int64_t count, skipped;
} slot_head;

typedef struct {
    const runner *r;
    int classes, d;
    size_t image_floats;
    float *x;       /* backend memory */
    double *mean_p; /* an ensemble's mean softmax */
} pass_state;

static size_t slot_bytes(const pass_state *p) {
    const size_t b = (size_t)p->r->batch_size;
    return sizeof(slot_head) + b * sizeof(int32_t) + b * ((size_t)p->classes + (size_t)p->d) * sizeof(float);
}
static slot_head *slot_of(unsigned char *slot) { return (slot_head *)slot; }
static int32_t *slot_labels(unsigned char *slot) { return (int32_t *)(slot + sizeof(slot_head)); }
static float *slot_logits(const pass_state *p, unsigned char *slot) {
    return (float *)(slot_labels(slot) + p->r->batch_size);
}
static float *slot_features(const pass_state *p, unsigned char *slot) {
    return slot_logits(p, slot) + (size_t)p->r->batch_size * p->classes;
}

/* The model's (or the ensemble's) rows of one batch into the slot. */
static void run_batch(pass_state *p, const cbd_batch *b, unsigned char *slot) {
    const runner *r = p->r;
    cbd_model *m = r->model;
    cbd_backend *be = m->be;
    const int classes = p->classes;
    float *logits = slot_logits(p, slot);
    be->ops.upload(be, p->x, b->images, (size_t)b->count * p->image_floats * sizeof(float));
    cbd_tensor t = {p->x, b->count, r->views->out_channels, r->views->out_size, r->views->out_size};
    if (r->n_models > 1) {
        /* the ensemble: mean of the members' softmax outputs, handed on as log-probabilities */
        memset(p->mean_p, 0, (size_t)b->count * classes * sizeof(double));
        for (int k = 0; k < r->n_models; k++) {
            cbd_model_forward(&r->models[k], &t, 0);
            be->ops.download(be, logits, r->models[k].logits, (size_t)b->count * classes * sizeof(float));
            for (int i = 0; i < b->count; i++) {
                const float *z = logits + (size_t)i * classes;
                double top = z[0], sum = 0.0;
                for (int c = 1; c < classes; c++) top = z[c] > top ? z[c] : top;
                for (int c = 0; c < classes; c++) sum += exp((double)z[c] - top);
                for (int c = 0; c < classes; c++)
                    p->mean_p[(size_t)i * classes + c] += exp((double)z[c] - top) / sum / r->n_models;
            }
        }
        for (size_t i = 0; i < (size_t)b->count * classes; i++) logits[i] = (float)log(fmax(p->mean_p[i], 1e-300));
    } else {
        cbd_model_forward(m, &t, 0);
        be->ops.download(be, logits, m->logits, (size_t)b->count * classes * sizeof(float));
    }
    be->ops.download(be, slot_features(p, slot), cbd_model_feature(m), (size_t)b->count * p->d * sizeof(float));
    memcpy(slot_labels(slot), b->labels, (size_t)b->count * sizeof(int32_t));
    slot_of(slot)->count = b->count;
    slot_of(slot)->skipped = b->skipped;
}

/* Runs the model (evaluation mode) over every image of ds with center
 * views; fn sees every batch in order, on rank 0 (of several ranks each
 * runs its batches: stages/batch_rounds.h). Returns 0, or -1 with a
 * message in err. */
static int run_over(const runner *r, const cbd_dataset *ds, const char *label, batch_fn fn, void *ctx,
                    int64_t *skipped, char *err, size_t err_len) {
    cbd_backend *be = r->model->be;
    const int64_t n = cbd_dataset_count(ds);
    cbd_loader_config lc = {.dataset = ds, .augment = r->views, .batch_size = r->batch_size,
                            .workers = r->workers, .seed = 0, .center = 1, .on_bad_image = r->on_bad_image};
    cbd_loader *loader = cbd_loader_create(&lc, err, err_len);
    if (!loader) return -1;
    pass_state p = {.r = r, .classes = r->model->cfg.classes, .d = cbd_model_feature_dim(r->model),
                    .image_floats = (size_t)r->views->out_channels * r->views->out_size * r->views->out_size};
    p.x = be->ops.alloc(be, (size_t)r->batch_size * p.image_floats * sizeof(float));
    p.mean_p = cbd_malloc((size_t)r->batch_size * p.classes * sizeof(double));
    cbd_batch_rounds pass;
    cbd_batch_rounds_init(&pass, cbd_ranks_collective(), n, r->batch_size, slot_bytes(&p));
    int64_t *order = cbd_malloc((size_t)n * sizeof *order);
    cbd_loader_begin(loader, order, NULL, cbd_batch_rounds_my_images(&pass, order));
    cbd_progress bar;
    cbd_progress_begin(&bar, stderr, r->quiet, label, n);
    int64_t done = 0;
    *skipped = 0;
    const cbd_batch *b = NULL; /* the loader's next batch, once asked for */
    int ended = 0;
    for (int64_t round = 0; round < cbd_batch_rounds_count(&pass); round++) {
        unsigned char *slot = cbd_batch_rounds_slot(&pass);
        memset(slot_of(slot), 0, sizeof(slot_head));
        if (cbd_batch_rounds_mine_in(&pass, round)) {
            if (!b && !ended) {
                b = cbd_loader_next(loader);
                ended = b == NULL;
                if (ended && cbd_loader_error(loader)) break; /* the message, below */
            }
            /* this rank's batch `round` (the loader numbers them); one whose images were all
             * skipped never comes, and goes in as skipped */
            if (b && b->number == round) {
                run_batch(&p, b, slot);
                b = NULL;
            } else {
                const int64_t first = cbd_batch_rounds_first(&pass, round, pass.rank);
                slot_of(slot)->skipped = n - first < r->batch_size ? n - first : r->batch_size;
            }
        }
        unsigned char *slots = cbd_batch_rounds_gather(&pass);
        if (pass.rank != 0) continue;
        for (int k = 0; k < cbd_batch_rounds_in(&pass, round); k++) {
            unsigned char *s = slots + (size_t)k * pass.slot_bytes;
            const slot_head *h = slot_of(s);
            fn(ctx, slot_labels(s), (int)h->count, slot_logits(&p, s), slot_features(&p, s));
            done += h->count + h->skipped;
            *skipped += h->skipped;
        }
        char extra[64];
        snprintf(extra, sizeof extra, "%.0f img/s", done / (cbd_now() - bar.started));
        cbd_progress_update(&bar, done, extra);
    }
    cbd_progress_end(&bar);
    int rc = 0;
    if (cbd_loader_error(loader)) {
        snprintf(err, err_len, "%s", cbd_loader_error(loader));
        rc = -1;
    }
    be->ops.release(be, p.x);
    free(p.mean_p);
    free(order);
    cbd_batch_rounds_free(&pass);
    cbd_loader_destroy(loader);
    return rc;
}

/* The training pass: class means (NCM) and the rows the neighbours are sought in. */
typedef struct {
    cbd_ncm *ncm;
    cbd_neighbours *neighbours;
} train_pass;

static void add_train_rows(void *ctx, const int32_t *labels, int n, const float *logits, const float *features) {
    (void)logits;
    train_pass *p = ctx;
    if (p->ncm) cbd_ncm_add(p->ncm, features, labels, n);
    if (p->neighbours) cbd_neighbours_add_train(p->neighbours, features, labels, n);
}

typedef struct {
    cbd_eval_tally *tally, *ncm_tally;
    const cbd_ncm *ncm;
    cbd_neighbours *neighbours;
    int *pred; /* [batch] */
} split_pass;

static void add_split_rows(void *ctx, const int32_t *labels, int n, const float *logits, const float *features) {
    split_pass *p = ctx;
    cbd_eval_tally_add_logits(p->tally, logits, labels, n);
    if (p->neighbours) cbd_neighbours_add_split(p->neighbours, features, labels, n);
    if (p->ncm) {
        cbd_ncm_predict(p->ncm, features, n, p->pred);
        cbd_eval_tally_add_ranked(p->ncm_tally, p->pred, 1, labels, n);
    }
}

/* ---- outputs ---- */

typedef struct {
    const char *name, *model_path, *config_path, *experiment, *split, *split_path;
    const cbd_checkpoint_meta *meta;
    uint64_t eval_digest; /* what decided this evaluation (experiment/output_digest.h) */
    const cbd_dataset *train;
    const int64_t *train_counts;
    int many_threshold, few_threshold;
    int64_t skipped;
    const cbd_eval_tally *tally;
    const cbd_eval_summary *summary;
    const double *class_accuracy;
    const cbd_shot_group *class_group;
    /* NCM; ncm_tally NULL when not computed */
    const cbd_eval_tally *ncm_tally;
    const cbd_eval_summary *ncm_summary;
    int64_t ncm_train_rows, ncm_dropped;
} report;

static void summary_table(cbd_text *t, const report *r) {
    const cbd_eval_summary *s = r->summary;
    const int ncm = r->ncm_tally != NULL;
    cbd_text_printf(t, "| model | many | mid | few | all | top-%d |%s\n", r->tally->k, ncm ? " NCM |" : "");
    cbd_text_printf(t, "|---|---:|---:|---:|---:|---:|%s\n", ncm ? "---:|" : "");
    cbd_text_printf(t, "| ");
    tx_md_cell(t, r->name);
    for (int g = 0; g < CBD_SHOT_GROUPS; g++) {
        cbd_text_printf(t, " | ");
        tx_md_percent(t, s->group[g]);
    }
    cbd_text_printf(t, " | ");
    tx_md_percent(t, s->top1);
    cbd_text_printf(t, " | ");
    tx_md_percent(t, s->top_k);
    if (ncm) {
        cbd_text_printf(t, " | ");
        tx_md_percent(t, r->ncm_summary->top1);
    }
    cbd_text_printf(t, " |\n");
}

static void write_markdown(cbd_text *t, const report *r) {
    const cbd_eval_summary *s = r->summary;
    const cbd_eval_tally *ty = r->tally;
    cbd_text_printf(t, "# ");
    tx_md_cell(t, r->name);
    cbd_text_printf(t, " on %s\n\n", r->split);
    cbd_text_printf(t, "Model `%s` (%s, epoch %lld); %lld %s images of %d classes", r->model_path, r->meta->arch,
                    (long long)r->meta->epoch, (long long)ty->images, r->split, ty->classes);
    if (r->skipped) cbd_text_printf(t, " (%lld unreadable images skipped)", (long long)r->skipped);
    cbd_text_printf(t, ".\nGroups by training images: many-shot more than %d (%d %s), mid-shot %d to %d (%d), "
                       "few-shot fewer than %d (%d).\n",
                    r->many_threshold, s->group_classes[CBD_SHOT_MANY],
                    s->group_classes[CBD_SHOT_MANY] == 1 ? "class" : "classes", r->few_threshold, r->many_threshold,
                    s->group_classes[CBD_SHOT_MID], r->few_threshold, s->group_classes[CBD_SHOT_FEW]);
    cbd_text_printf(t, "Top-1 accuracy in %%; many, mid and few are means of the per-class accuracies of the group, "
                       "all is over images.");
    if (r->ncm_tally) cbd_text_printf(t, " NCM: nearest class mean of the l2-normalised pooled features (cosine).");
    cbd_text_printf(t, "\n\n");
    summary_table(t, r);
    if (r->ncm_tally) {
        cbd_text_printf(t, "\nNCM by group: many ");
        tx_md_percent(t, r->ncm_summary->group[CBD_SHOT_MANY]);
        cbd_text_printf(t, ", mid ");
        tx_md_percent(t, r->ncm_summary->group[CBD_SHOT_MID]);
        cbd_text_printf(t, ", few ");
        tx_md_percent(t, r->ncm_summary->group[CBD_SHOT_FEW]);
        cbd_text_printf(t, ".\n");
    }
    cbd_text_printf(t, "\n## Per class\n\n| class | name | train | group | test | correct | top-1 |\n"
                       "|---:|---|---:|---|---:|---:|---:|\n");
    for (int c = 0; c < ty->classes; c++) {
        cbd_text_printf(t, "| %d | ", c);
        tx_md_cell(t, cbd_dataset_class_name(r->train, c));
        cbd_text_printf(t, " | %lld | %s | %lld | %lld | ", (long long)r->train_counts[c],
                        cbd_shot_group_names[r->class_group[c]], (long long)ty->test_count[c], (long long)ty->hits[c]);
        tx_md_percent(t, r->class_accuracy[c]);
        cbd_text_printf(t, " |\n");
    }
}

static void write_class_csv(cbd_text *t, const report *r) {
    const cbd_eval_tally *ty = r->tally;
    cbd_text_printf(t, "class,name,train_count,group,test_count,correct,accuracy\n");
    for (int c = 0; c < ty->classes; c++) {
        cbd_text_printf(t, "%d,", c);
        tx_csv_field(t, cbd_dataset_class_name(r->train, c));
        cbd_text_printf(t, ",%lld,%s,%lld,%lld,", (long long)r->train_counts[c],
                        cbd_shot_group_names[r->class_group[c]],
                        (long long)ty->test_count[c], (long long)ty->hits[c]);
        if (isfinite(r->class_accuracy[c])) cbd_text_printf(t, "%.6f", r->class_accuracy[c]);
        cbd_text_printf(t, "\n");
    }
}

static void write_confusion_csv(cbd_text *t, const report *r) {
    const cbd_eval_tally *ty = r->tally;
    if (!ty->confusion) {
        /* above CBD_CONFUSION_DENSE_MAX classes: the nonzero cells only */
        cbd_confusion_cell *cells = NULL;
        const int64_t n = cbd_eval_tally_cells(ty, &cells);
        cbd_text_printf(t, "true,predicted,count\n");
        for (int64_t i = 0; i < n; i++)
            cbd_text_printf(t, "%d,%d,%lld\n", cells[i].truth, cells[i].predicted, (long long)cells[i].count);
        free(cells);
        return;
    }
    cbd_text_printf(t, "true");
    for (int c = 0; c < ty->classes; c++) cbd_text_printf(t, ",%d", c);
    cbd_text_printf(t, "\n");
    for (int y = 0; y < ty->classes; y++) {
        cbd_text_printf(t, "%d", y);
        for (int c = 0; c < ty->classes; c++)
            cbd_text_printf(t, ",%lld", (long long)ty->confusion[(size_t)y * ty->classes + c]);
        cbd_text_printf(t, "\n");
    }
}

static void json_groups(cbd_text *t, const char *key, const int *counts) {
    cbd_text_printf(t, "  \"%s\": {\"many\": %d, \"mid\": %d, \"few\": %d},\n", key, counts[CBD_SHOT_MANY],
                    counts[CBD_SHOT_MID], counts[CBD_SHOT_FEW]);
}

static void write_json(cbd_text *t, const report *r) {
    const cbd_eval_summary *s = r->summary;
    const cbd_eval_tally *ty = r->tally;
    cbd_text_printf(t, "{\n  \"format\": \"%s\",\n  \"format_version\": %d,\n  \"name\": ", EVAL_FORMAT,
                    EVAL_FORMAT_VERSION);
    cbd_text_json_string(t, r->name);
    cbd_text_printf(t, ",\n  \"model\": ");
    cbd_text_json_string(t, r->model_path);
    cbd_text_printf(t, ",\n  \"checkpoint\": {\"arch\": ");
    cbd_text_json_string(t, r->meta->arch);
    cbd_text_printf(t, ", \"classes\": %d, \"in_channels\": %d, \"head\": \"%s\", \"epoch\": %lld, \"step\": %lld, "
                       "\"seed\": %llu, \"config_digest\": \"%016llx\"},\n",
                    r->meta->classes, r->meta->in_channels, cbd_head_kind_names[r->meta->head],
                    (long long)r->meta->epoch, (long long)r->meta->step, (unsigned long long)r->meta->seed,
                    (unsigned long long)r->meta->config_digest);
    cbd_text_printf(t, "  \"eval_digest\": \"%016llx\",\n  \"config\": ", (unsigned long long)r->eval_digest);
    cbd_text_json_string(t, r->config_path);
    cbd_text_printf(t, ",\n  \"experiment\": ");
    cbd_text_json_string(t, r->experiment);
    cbd_text_printf(t, ",\n  \"split\": \"%s\",\n  \"data\": ", r->split);
    cbd_text_json_string(t, r->split_path);
    cbd_text_printf(t, ",\n  \"images\": %lld,\n  \"skipped\": %lld,\n  \"classes\": %d,\n", (long long)ty->images,
                    (long long)r->skipped, ty->classes);
    cbd_text_printf(t, "  \"thresholds\": {\"many\": %d, \"few\": %d},\n", r->many_threshold, r->few_threshold);
    json_groups(t, "group_classes", s->group_classes);
    json_groups(t, "group_classes_evaluated", s->group_evaluated);
    cbd_text_printf(t, "  \"top_k\": %d,\n  \"top1\": ", ty->k);
    cbd_text_json_number(t, s->top1);
    cbd_text_printf(t, ",\n  \"top%d\": ", ty->k);
    cbd_text_json_number(t, s->top_k);
    for (int g = 0; g < CBD_SHOT_GROUPS; g++) {
        cbd_text_printf(t, ",\n  \"%s\": ", cbd_shot_group_names[g]);
        cbd_text_json_number(t, s->group[g]);
    }
    cbd_text_printf(t, ",\n  \"mean_class_accuracy\": ");
    cbd_text_json_number(t, s->mean_class);
    cbd_text_printf(t, ",\n  \"ncm\": ");
    if (r->ncm_tally) {
        const cbd_eval_summary *n = r->ncm_summary;
        cbd_text_printf(t, "{\"top1\": ");
        cbd_text_json_number(t, n->top1);
        for (int g = 0; g < CBD_SHOT_GROUPS; g++) {
            cbd_text_printf(t, ", \"%s\": ", cbd_shot_group_names[g]);
            cbd_text_json_number(t, n->group[g]);
        }
        cbd_text_printf(t, ", \"mean_class_accuracy\": ");
        cbd_text_json_number(t, n->mean_class);
        cbd_text_printf(t, ", \"train_images\": %lld, \"train_images_dropped\": %lld}", (long long)r->ncm_train_rows,
                        (long long)r->ncm_dropped);
    } else {
        cbd_text_printf(t, "null");
    }
    cbd_text_printf(t, ",\n  \"per_class\": [\n");
    for (int c = 0; c < ty->classes; c++) {
        cbd_text_printf(t, "    {\"class\": %d, \"name\": ", c);
        cbd_text_json_string(t, cbd_dataset_class_name(r->train, c));
        cbd_text_printf(t, ", \"train_count\": %lld, \"group\": \"%s\", \"test_count\": %lld, \"correct\": %lld, "
                           "\"accuracy\": ",
                        (long long)r->train_counts[c], cbd_shot_group_names[r->class_group[c]],
                        (long long)ty->test_count[c], (long long)ty->hits[c]);
        cbd_text_json_number(t, r->class_accuracy[c]);
        cbd_text_printf(t, ", \"top%d_correct\": %lld", ty->k, (long long)ty->hits_k[c]);
        if (r->ncm_tally) cbd_text_printf(t, ", \"ncm_correct\": %lld", (long long)r->ncm_tally->hits[c]);
        cbd_text_printf(t, "}%s\n", c + 1 < ty->classes ? "," : "");
    }
    if (!ty->confusion) {
        /* above CBD_CONFUSION_DENSE_MAX classes: no C x C array, the nonzero cells [true, predicted, count] */
        cbd_confusion_cell *cells = NULL;
        const int64_t n = cbd_eval_tally_cells(ty, &cells);
        cbd_text_printf(t, "  ],\n  \"confusion\": null,\n  \"confusion_cells\": [");
        for (int64_t i = 0; i < n; i++)
            cbd_text_printf(t, "%s[%d, %d, %lld]", i ? ", " : "", cells[i].truth, cells[i].predicted,
                            (long long)cells[i].count);
        cbd_text_printf(t, "]\n}\n");
        free(cells);
        return;
    }
    cbd_text_printf(t, "  ],\n  \"confusion\": [\n");
    for (int y = 0; y < ty->classes; y++) {
        cbd_text_printf(t, "    [");
        for (int c = 0; c < ty->classes; c++)
            cbd_text_printf(t, "%s%lld", c ? ", " : "", (long long)ty->confusion[(size_t)y * ty->classes + c]);
        cbd_text_printf(t, "]%s\n", y + 1 < ty->classes ? "," : "");
    }
    cbd_text_printf(t, "  ]\n}\n");
}

static int write_text(const char *stem, const char *suffix, cbd_text *t) {
    char path[CBD_RUN_PATH_MAX], err[CBD_RUN_PATH_MAX + 512];
    cbd_layout_join(path, sizeof path, stem, suffix);
    const int rc = cbd_write_file_atomic(path, cbd_text_str(t), t->len, err, sizeof err);
    if (rc != 0) cbd_log("cbd: error: %s", err);
    cbd_text_free(t);
    return rc;
}

/* ---- main ---- */

static int valid_name(const char *s) {
    if (!*s || strlen(s) > NAME_MAX_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-' || *c == '.'))
            return 0;
    return 1;
}

/* The digest a finished evaluation recorded in STEM.json, or 0. */
static uint64_t recorded_digest(const char *json_path) {
    char err[256];
    char *text = cbd_read_file(json_path, NULL, err, sizeof err);
    if (!text) return 0;
    const char *key = "\"eval_digest\": \"";
    const char *at = strstr(text, key);
    uint64_t digest = 0;
    if (at) digest = strtoull(at + strlen(key), NULL, 16);
    free(text);
    return digest;
}

/* The summary table of STEM.md (its first table), for an evaluation that is up to date. */
static void print_recorded_summary(const char *md_path) {
    char err[256];
    char *text = cbd_read_file(md_path, NULL, err, sizeof err);
    if (!text) return;
    const char *at = strstr(text, "| model |");
    if (at) {
        const char *end = strstr(at, "\n\n");
        fwrite(at, 1, end ? (size_t)(end - at) + 1 : strlen(at), stdout);
        fflush(stdout);
    }
    free(text);
}

/* A model trained on other inputs than this evaluation makes is refused. */
static void check_input(const char *path, const cbd_checkpoint_meta *m, const cbd_augment_config *views) {
    if (m->input_size <= 0) return; /* not recorded (an earlier version wrote the file) */
    int same = m->input_size == views->out_size;
    for (int c = 0; c < m->in_channels && c < 3; c++)
        same = same && m->input_mean[c] == views->mean[c] && m->input_std[c] == views->std[c];
    if (same) return;
    cbd_fail(CBD_EXIT_USAGE,
             "%s was trained on %dx%d inputs with mean %g and std %g (first channel); this evaluation makes "
             "%dx%d inputs with mean %g and std %g: evaluate with the [data] image_size, mean and std it was "
             "trained with",
             path, m->input_size, m->input_size, (double)m->input_mean[0], (double)m->input_std[0], views->out_size,
             views->out_size, (double)views->mean[0], (double)views->std[0]);
}

/* "runs/x/teachers/t1.ckpt.h5" -> "t1". */
static void default_name(const char *model_path, char *out, size_t len) {
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    snprintf(out, len, "%s", base);
    const char *suffixes[] = {".ckpt.h5", ".h5"};
    for (int i = 0; i < 2; i++) {
        const size_t n = strlen(out), k = strlen(suffixes[i]);
        if (n > k && strcmp(out + n - k, suffixes[i]) == 0) {
            out[n - k] = '\0';
            return;
        }
    }
}

/* --neighbours K: a whole number in [1, CBD_NEIGHBOURS_MAX]. */
static int parse_neighbours(const char *text) {
    char *end = NULL;
    const long k = strtol(text, &end, 10);
    if (end == text || *end != '\0' || k < 1 || k > CBD_NEIGHBOURS_MAX)
        cbd_fail(CBD_EXIT_USAGE, "--neighbours %s: expected a whole number from 1 to %d", text, CBD_NEIGHBOURS_MAX);
    return (int)k;
}

static int stage_main(int argc, char **argv) {
    cbd_stage_args args;
    cbd_stage_parse_args(argc, argv,
                         CBD_ARG_MODEL | CBD_ARG_NAME | CBD_ARG_SPLIT | CBD_ARG_NCM | CBD_ARG_NEIGHBOURS | CBD_ARG_QUIET |
                             CBD_ARG_FORCE,
                         CBD_ARG_MODEL, usage, &args);
    const char *config_path = args.config, *model_arg = args.model, *name_arg = args.name;
    const char *split = args.split ? args.split : "test";
    const int use_ncm = args.ncm, quiet = args.quiet;
    const int neighbours_k =
        args.neighbours ? parse_neighbours(args.neighbours) : 0;
    if (strcmp(split, "test") != 0 && strcmp(split, "val") != 0)
        cbd_fail(CBD_EXIT_USAGE, "--split %s: expected test or val", split);
    char name[NAME_MAX_LEN + 160];
    if (name_arg) {
        if (!valid_name(name_arg))
            cbd_fail(CBD_EXIT_USAGE, "--name %s: use 1 to %d letters, digits, '_', '-' and '.'", name_arg,
                     NAME_MAX_LEN);
        snprintf(name, sizeof name, "%s", name_arg);
    } else {
        default_name(model_arg, name, sizeof name);
        if (!valid_name(name))
            cbd_fail(CBD_EXIT_USAGE, "cannot name the outputs after %s ('%s'): pass --name NAME", model_arg, name);
    }

    static cbd_config cfg;
    char err[4400];
    cbd_stage_load_config(&args, &cfg);
    const char *split_path = strcmp(split, "test") == 0 ? cfg.data.test : cfg.data.val;
    if (!split_path[0])
        cbd_fail(CBD_EXIT_USAGE, "%s: [data] %s is not set: there is no %s split to evaluate (set [data] %s, "
                                 "or --set data.%s=PATH)",
                 config_path, split, split, split, split);
    const int n_models = args.n_models;
    if (n_models > 1 && use_ncm)
        cbd_fail(CBD_EXIT_USAGE, "--ncm needs one model: an ensemble of %d has no single feature space", n_models);
    if (n_models > 1 && neighbours_k)
        cbd_fail(CBD_EXIT_USAGE, "--neighbours needs one model: an ensemble of %d has no single feature space",
                 n_models);
    /* the model's description in the outputs: its absolute path, or the members joined by " + " */
    char model_path[CBD_STAGE_MAX_MODELS * 4200];
    model_path[0] = '\0';
    for (int k = 0; k < n_models; k++) {
        if (!cbd_file_exists(args.models[k]))
            cbd_fail(CBD_EXIT_USAGE, "%s does not exist: train the model first, or pass the path of a checkpoint "
                                     "(*.ckpt.h5)", args.models[k]);
        char *real = realpath(args.models[k], NULL);
        const size_t at = strlen(model_path);
        snprintf(model_path + at, sizeof model_path - at, "%s%s", k ? " + " : "", real ? real : args.models[k]);
        free(real);
    }
    cbd_threads_set(cfg.experiment.threads);

    cbd_dataset *train = cbd_stage_open_dataset(&cfg, "train", cfg.data.train, cfg.data.classes);
    const int classes = cbd_dataset_classes(train);
    cbd_dataset *data = cbd_stage_open_dataset(&cfg, split, split_path, classes);

    cbd_augment_config views;
    cbd_stage_eval_views(&cfg, &views);
    cbd_checkpoint_meta meta; /* the first model's */
    cbd_data_digests digests;
    cbd_stage_data_digests(&cfg, train, data, &digests);
    cbd_output_digest decided;
    cbd_output_digest_begin(&decided, &cfg, CBD_OUTPUT_EVAL, NULL, &digests);
    cbd_output_digest_line(&decided, "option split = %s", split);
    cbd_output_digest_line(&decided, "option ncm = %d", use_ncm);
    if (neighbours_k) cbd_output_digest_line(&decided, "option neighbours = %d", neighbours_k);
    for (int k = 0; k < n_models; k++) {
        cbd_checkpoint_meta mk;
        if (cbd_checkpoint_read_meta(args.models[k], &mk, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
        if (mk.classes != classes || mk.in_channels != cfg.data.channels)
            cbd_fail(CBD_EXIT_USAGE, "%s has %d classes and %d input channels; the data of %s has %d and %d",
                     args.models[k], mk.classes, mk.in_channels, config_path, classes, cfg.data.channels);
        check_input(args.models[k], &mk, &views);
        if (k == 0) meta = mk;
        uint64_t weights;
        if (cbd_checkpoint_weights_digest(args.models[k], &weights, err, sizeof err) != 0)
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
        cbd_output_digest_add(&decided, "model weights", weights);
    }
    const uint64_t eval_digest = cbd_output_digest_end(&decided);
    cbd_output_digest_free(&decided);

    char stem[CBD_RUN_PATH_MAX], json_path[CBD_RUN_PATH_MAX], md_path[CBD_RUN_PATH_MAX];
    cbd_layout_eval(stem, sizeof stem, cfg.experiment.output_dir, name);
    cbd_layout_join(json_path, sizeof json_path, stem, ".json");
    cbd_layout_join(md_path, sizeof md_path, stem, ".md");
    /* rank 0 holds the lock, decides and writes; of several ranks each runs its share of the batches */
    const int rank = cbd_ranks_rank();
    int up_to_date = 0;
    if (rank == 0) {
        cbd_stage_lock_output(json_path);
        up_to_date = !args.force && recorded_digest(json_path) == eval_digest;
    }
    if (cbd_collective_broadcast_i64(cbd_ranks_collective(), up_to_date)) {
        if (rank == 0) {
            if (!quiet) cbd_log("eval %s is up to date: %s", name, json_path);
            print_recorded_summary(md_path);
            utime(json_path, NULL); /* newer than its inputs again, so make does not ask twice */
        }
        cbd_dataset_close(train);
        cbd_dataset_close(data);
        return CBD_EXIT_OK;
    }

    cbd_backend *be = cbd_stage_create_backend(&cfg);
    cbd_model *models = cbd_calloc((size_t)n_models, sizeof *models);
    for (int k = 0; k < n_models; k++) {
        cbd_model_config model_cfg;
        cbd_checkpoint_meta mk;
        if (cbd_checkpoint_read_meta(args.models[k], &mk, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
        cbd_checkpoint_meta_to_config(&mk, &model_cfg);
        if (cbd_model_create(&models[k], be, &model_cfg, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
        if (cbd_checkpoint_load(args.models[k], &model_cfg, &models[k].params, NULL, err, sizeof err) != 0)
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
    }
    cbd_model *const first = &models[0];
    const runner run = {.model = first, .models = models, .n_models = n_models, .views = &views, .batch_size = cfg.eval.batch_size,
                        .workers = cfg.data.workers, .on_bad_image = cfg.data.on_bad_image, .quiet = quiet};
    if (!quiet)
        cbd_log("eval %s: %s (%s, epoch %lld) on %s: %lld images, %d classes, device %s%s", name, model_path,
                meta.arch, (long long)meta.epoch, split, (long long)cbd_dataset_count(data), classes, be->name,
                use_ncm ? ", with NCM" : "");
    const double started = cbd_now();
    int rc = CBD_EXIT_OK;
    char label[96];

    cbd_ncm ncm;
    cbd_neighbours neighbours;
    int64_t ncm_train_skipped = 0;
    const int d = cbd_model_feature_dim(first);
    if (neighbours_k) {
        int64_t *counts = cbd_malloc((size_t)classes * sizeof *counts);
        cbd_class_counts(cbd_dataset_labels(train), cbd_dataset_count(train), classes, counts);
        cbd_neighbours_init(&neighbours, neighbours_k, d, classes, counts);
        free(counts);
    }
    if (use_ncm) cbd_ncm_init(&ncm, classes, d);
    if (use_ncm || neighbours_k) {
        train_pass tp = {.ncm = use_ncm ? &ncm : NULL, .neighbours = neighbours_k ? &neighbours : NULL};
        snprintf(label, sizeof label, "eval %s: train features", name);
        if (run_over(&run, train, label, add_train_rows, &tp, &ncm_train_skipped, err, sizeof err) != 0) {
            cbd_log("cbd: error: %s", err);
            rc = CBD_EXIT_FAILURE;
        }
    }
    if (use_ncm) {
        cbd_ncm_finish(&ncm);
        if (rc == CBD_EXIT_OK && rank == 0 && cbd_ncm_class_count(&ncm) < classes)
            cbd_warn("NCM: %d of %d classes have no usable training feature and are never predicted",
                     classes - cbd_ncm_class_count(&ncm), classes);
    }

    cbd_eval_tally tally, ncm_tally;
    cbd_eval_tally_init(&tally, classes, cfg.eval.top_k);
    cbd_eval_tally_init(&ncm_tally, classes, 1);
    split_pass pass = {.tally = &tally, .ncm_tally = &ncm_tally, .ncm = use_ncm ? &ncm : NULL,
                       .neighbours = neighbours_k ? &neighbours : NULL,
                       .pred = cbd_malloc((size_t)cfg.eval.batch_size * sizeof(int))};
    int64_t skipped = 0;
    snprintf(label, sizeof label, "eval %s: %s", name, split);
    if (rc == CBD_EXIT_OK && run_over(&run, data, label, add_split_rows, &pass, &skipped, err, sizeof err) != 0) {
        cbd_log("cbd: error: %s", err);
        rc = CBD_EXIT_FAILURE;
    }
    if (rc == CBD_EXIT_OK && rank == 0 && tally.images == 0) {
        cbd_log("cbd: error: %s: no image of the %s split could be evaluated", split_path, split);
        rc = CBD_EXIT_FAILURE;
    }

    if (rc == CBD_EXIT_OK && rank == 0) {
        int64_t *train_counts = cbd_malloc((size_t)classes * sizeof *train_counts);
        cbd_class_counts(cbd_dataset_labels(train), cbd_dataset_count(train), classes, train_counts);
        double *class_accuracy = cbd_malloc((size_t)classes * sizeof *class_accuracy);
        cbd_shot_group *class_group = cbd_malloc((size_t)classes * sizeof *class_group);
        cbd_eval_summary summary, ncm_summary;
        cbd_eval_summarize(&tally, train_counts, cfg.eval.many_threshold, cfg.eval.few_threshold, &summary,
                           class_accuracy, class_group);
        cbd_eval_summarize(&ncm_tally, train_counts, cfg.eval.many_threshold, cfg.eval.few_threshold,
                           &ncm_summary, NULL, NULL);
        const report r = {.name = name, .model_path = model_path, .config_path = cfg.source_path,
                          .experiment = cfg.experiment.name, .split = split, .split_path = split_path,
                          .meta = &meta, .eval_digest = eval_digest, .train = train, .train_counts = train_counts,
                          .many_threshold = cfg.eval.many_threshold, .few_threshold = cfg.eval.few_threshold,
                          .skipped = skipped, .tally = &tally, .summary = &summary,
                          .class_accuracy = class_accuracy, .class_group = class_group,
                          .ncm_tally = use_ncm ? &ncm_tally : NULL, .ncm_summary = &ncm_summary,
                          .ncm_train_rows = use_ncm ? cbd_dataset_count(train) - ncm_train_skipped : 0,
                          .ncm_dropped = use_ncm ? ncm.dropped : 0};
        cbd_text t = {0};
        write_class_csv(&t, &r);
        int bad = write_text(stem, ".csv", &t);
        write_confusion_csv(&t, &r);
        bad |= write_text(stem, ".confusion.csv", &t);
        write_markdown(&t, &r);
        bad |= write_text(stem, ".md", &t);
        if (neighbours_k) {
            /* indices must be exact: a skipped image would shift every later one */
            char path[CBD_RUN_PATH_MAX];
            cbd_layout_join(path, sizeof path, stem, ".neighbours.csv");
            if (skipped || ncm_train_skipped) {
                cbd_log("cbd: error: --neighbours: %lld images could not be read and were skipped, so the "
                        "neighbours' image indices would be wrong; %s not written",
                        (long long)(skipped + ncm_train_skipped), path);
                bad = 1;
            } else if (cbd_neighbours_write(&neighbours, path, err, sizeof err) != 0) {
                cbd_log("cbd: error: %s", err);
                bad = 1;
            }
        }
        /* the JSON records the digest that makes the evaluation up to date: not written
         * when a part of it (the neighbours) failed, so a rerun does it again */
        if (!bad) {
            write_json(&t, &r);
            bad |= write_text(stem, ".json", &t);
        }
        if (bad) rc = CBD_EXIT_FAILURE;
        summary_table(&t, &r);
        fputs(cbd_text_str(&t), stdout);
        fflush(stdout);
        cbd_text_free(&t);
        if (!quiet && !bad)
            cbd_log("eval %s: top-1 %.2f%%, many %.2f%%, mid %.2f%%, few %.2f%% (%lld images%s) in %.1f s; "
                    "wrote %s.{json,csv,md,confusion.csv%s}",
                    name, 100.0 * summary.top1, 100.0 * summary.group[CBD_SHOT_MANY],
                    100.0 * summary.group[CBD_SHOT_MID], 100.0 * summary.group[CBD_SHOT_FEW],
                    (long long)tally.images, skipped ? ", some skipped" : "", cbd_now() - started, stem,
                    neighbours_k ? ",neighbours.csv" : "");
        free(train_counts);
        free(class_accuracy);
        free(class_group);
    }

    free(pass.pred);
    cbd_eval_tally_free(&tally);
    cbd_eval_tally_free(&ncm_tally);
    if (use_ncm) cbd_ncm_free(&ncm);
    if (neighbours_k) cbd_neighbours_free(&neighbours);
    for (int k = 0; k < n_models; k++) cbd_model_free(&models[k]);
    free(models);
    cbd_backend_destroy(be);
    cbd_dataset_close(train);
    cbd_dataset_close(data);
    return rc;
}

int main(int argc, char **argv) { return cbd_ranks_main(argc, argv, stage_main); }
