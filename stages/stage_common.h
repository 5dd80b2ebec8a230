/* What the stage executables share on top of the config: opening the
 * experiment's datasets and mapping config sections to engine settings. */
#ifndef CBD_STAGE_COMMON_H
#define CBD_STAGE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"
#include "views/augment.h"
#include "experiment/config.h"
#include "experiment/run_layout.h"
#include "training/trainer.h"
#include "store/dataset.h"

/* Opens cfg->data.<which> ("train", "val" or "test"); NULL path gives NULL
 * without error. Exits with a clear message on failure. */
cbd_dataset *cbd_stage_open_dataset(const cbd_config *cfg, const char *which, const char *path,
                                    int classes);
/* The backend of an [experiment] device and precision (INI spellings), or
 * NULL with why in err, naming the key at fault. */
cbd_backend *cbd_stage_backend(const char *device, const char *precision, char *err, size_t err_len);
/* The same for cfg; exits with a usage error when it cannot be made. */
cbd_backend *cbd_stage_create_backend(const cbd_config *cfg);
/* Model settings for `arch` ("" = [model] arch) and the dataset's classes. */
void cbd_stage_model_config(const cbd_config *cfg, const char *arch, int classes, cbd_model_config *out);
/* Training views (standard, or with colour augmentation) and evaluation views. */
void cbd_stage_train_views(const cbd_config *cfg, int color, cbd_augment_config *out);
void cbd_stage_eval_views(const cbd_config *cfg, cbd_augment_config *out);
/* The views a feature store holds and the student is shown: the standard
 * augmentation (no colour), keyed on the experiment seed. View s of image i
 * is cbd_augment_view(out, image_i, cfg->experiment.seed, i, s). */
void cbd_stage_store_views(const cbd_config *cfg, cbd_augment_config *out);
/* Before a training stage writes files->checkpoint: takes its lock and
 * returns CBD_EXIT_OK when it is up to date (same digest, all epochs; not
 * with force: then the files beside it are made the checkpoint's own and
 * those of an unfinished run removed, see training/run_files.h), or -1 to go
 * on. Refuses (exits 2) when an unfinished run's resume checkpoint exists
 * and neither resume nor force was asked; force discards it; resume without
 * a resume checkpoint says so and becomes a fresh start (*resume = 0).
 * Of several ranks, rank 0 decides (and locks) for all. */
int cbd_stage_check_outputs(const cbd_run_files *files, uint64_t digest, int epochs, int force, int *resume,
                            int quiet, const char *what);
/* One writer per output: takes the lock of `path` (creating its folder) or
 * exits, 2 when another run holds it (naming its pid), 1 when the lock file
 * cannot be made. Held until the process ends. cbd_stage_check_outputs takes
 * it for the checkpoint. */
void cbd_stage_lock_output(const char *path);
/* The settings every training job takes from the configuration alike: batch
 * size, final lr, warmup, SGD, evaluation views, loading, checkpoint
 * interval, the backend of [experiment] device and precision (the caller
 * destroys job->backend), the job's ranks and quiet. */
void cbd_stage_train_job_settings(const cbd_config *cfg, int quiet, cbd_train_job *job);
/* The resolved configuration as INI text (malloc'd). */
char *cbd_stage_config_text(const cbd_config *cfg);
/* Warns, naming them, about classes of ds with no image (which: "train"). */
void cbd_stage_report_empty_classes(const cbd_dataset *ds, const char *which);
/* Creates the folder that `path` lies in (exits on failure). */
void cbd_stage_make_parent(const char *path);
/* Joins folder and name into out (exits when too long). */
void cbd_stage_path(char *out, size_t len, const char *folder, const char *name);

#endif
