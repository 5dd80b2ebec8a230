/* Checkpoints (*.ckpt.h5): the whole parameter table of a model, its
 * optimizer state and where training stood, in one HDF5 file that h5py and
 * h5dump open as is.
 *
 * Layout (format "cbd-checkpoint", version 1):
 *   /<entry name>                     every entry of the table, trainable or
 *                                     buffer ("stage1/block1/bn1/running_mean"),
 *                                     float32 LE, entry shape, one chunk,
 *                                     Fletcher32; attribute `kind`
 *   /optimizer/momentum/<entry name>  SGD momentum of each trainable entry
 *   /run/config, /run/metrics,        optional: the texts of the run that
 *   /run/log                          wrote the file (resolved configuration,
 *                                     metrics CSV, log), one string each
 *   root attributes                   format, format_version, program_version,
 *                                     arch, in_channels, classes, head,
 *                                     cosine_scale, projection_dim,
 *                                     projection_relu, epoch, step, seed,
 *                                     config_digest, params_digest; optional
 *                                     input_size, input_mean, input_std (the
 *                                     input the model was trained on)
 *
 * Every message written into `err` begins with the file's path:
 * "runs/a.ckpt.h5: missing dataset 'classifier/weight'". */
#ifndef CBD_CHECKPOINT_H
#define CBD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"
#include "nn/params.h"

#define CBD_CHECKPOINT_FORMAT "cbd-checkpoint"
#define CBD_CHECKPOINT_FORMAT_VERSION 1
#define CBD_CHECKPOINT_MOMENTUM_GROUP "optimizer/momentum"

typedef struct {
    /* where training stood */
    int64_t epoch;          /* completed epochs */
    int64_t step;           /* optimizer steps taken (also the sampler's draw position) */
    uint64_t seed;          /* experiment seed */
    uint64_t config_digest; /* cbd_fnv1a64 of the resolved configuration */
    /* the model; set with cbd_checkpoint_meta_init */
    char arch[32];
    int in_channels, classes;
    cbd_head_kind head;
    float cosine_scale;
    int projection_dim, projection_relu;
    /* written by cbd_checkpoint_save from the values it saves
     * (cbd_checkpoint_params_digest); 0 when read from a file without it */
    uint64_t params_digest;
    /* the input the model was trained on: square side and per-channel mean
     * and std of in_channels values; input_size 0 = not recorded */
    int input_size;
    float input_mean[3], input_std[3];
    /* save only: texts of the run kept in the file under /run (NULL: none) */
    const char *run_config, *run_metrics, *run_log;
    /* filled when reading: CBD_VERSION of the program that wrote the file */
    char program_version[32];
} cbd_checkpoint_meta;

/* Zeroes meta and copies the model description from cfg. */
void cbd_checkpoint_meta_init(cbd_checkpoint_meta *meta, const cbd_model_config *cfg);
/* The model configuration a checkpoint describes (for building a model to
 * load it into). */
void cbd_checkpoint_meta_to_config(const cbd_checkpoint_meta *meta, cbd_model_config *cfg);
/* "resnet20 with 10 classes (1 input channel, cosine head)" */
void cbd_checkpoint_describe(char *out, size_t out_len, const cbd_checkpoint_meta *meta);

/* Writes every entry of p (values, and momentum of the trainable ones) and
 * meta to `path` atomically: `path.tmp.<pid>` is written, flushed, fsynced
 * and renamed over `path`, then the directory is fsynced. When writing or
 * renaming fails, the temporary file is removed and an existing file at
 * `path` is untouched (a failure to sync the directory after the rename is
 * reported too). Returns 0, or -1 with a message in err. */
int cbd_checkpoint_save(const char *path, const cbd_params *p, const cbd_checkpoint_meta *meta,
                        char *err, size_t err_len);

/* Loads a checkpoint into an allocated parameter table (values and momentum;
 * gradients are left alone). With `model` set, the file must describe the
 * same architecture, class count, input channels, head and projection. Every
 * entry must be present with its exact shape and no unexpected dataset may
 * be present. Refusals say what differs: "not an HDF5 file", "truncated or
 * corrupt", format version, "checkpoint is resnet50 with 1000 classes (...),
 * this model is resnet20 with 10 classes (...)", "missing dataset 'x'", both
 * shapes of a mismatched dataset, "unexpected dataset 'x'", "data checksum
 * failure in dataset 'x'", values that do not give the recorded params_digest.
 * The table is changed only when everything has been read and checked. meta_out may be NULL. Returns 0 or -1. */
int cbd_checkpoint_load(const char *path, const cbd_model_config *model, cbd_params *p,
                        cbd_checkpoint_meta *meta_out, char *err, size_t err_len);

/* Reads only the root attributes. Returns 0 or -1. */
int cbd_checkpoint_read_meta(const char *path, cbd_checkpoint_meta *meta_out, char *err,
                             size_t err_len);

/* FNV-1a of every entry's name and values, in table order: what a model's
 * outputs depend on (not its optimizer state). */
uint64_t cbd_checkpoint_params_digest(const cbd_params *p);
/* The params digest of the checkpoint at path: the recorded one, or, for a
 * file written without it, computed by loading the file into the model it
 * describes (on the cpu). Returns 0 or -1. */
int cbd_checkpoint_weights_digest(const char *path, uint64_t *digest, char *err, size_t err_len);
/* One of the run texts ("config", "metrics" or "log") into a malloc'd
 * string; *text NULL when the file has none. Returns 0 or -1. */
int cbd_checkpoint_read_run_text(const char *path, const char *name, char **text, char *err, size_t err_len);

/* One dataset of a checkpoint, as listed by cbd_checkpoint_list. */
typedef struct {
    char name[CBD_PARAM_NAME_MAX + 32];
    char kind[16]; /* the `kind` attribute ("weight", "running_mean", ...) or "" */
    int ndim;
    int64_t shape[CBD_PARAM_MAX_DIMS];
    int64_t count;
} cbd_checkpoint_dataset;

/* Lists every dataset of the file in name order into a malloc'd array (free
 * it with free()). Returns 0 or -1. */
int cbd_checkpoint_list(const char *path, cbd_checkpoint_dataset **list, int *count, char *err,
                        size_t err_len);

#endif
