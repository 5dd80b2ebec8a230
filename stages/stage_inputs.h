/* What a stage reads from the stages before it, each checked the same way
 * wherever it is read: a teacher's checkpoint (it must exist and be up to
 * date with the configuration: trained from the same settings and data) and
 * a teacher's feature store (complete, for this data and these views, and
 * dumped from that teacher's checkpoint as it is now). Every refusal exits
 * 2 with one line that names the file and says what to run. */
#ifndef CBD_STAGE_INPUTS_H
#define CBD_STAGE_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "experiment/config.h"
#include "experiment/output_digest.h"
#include "store/checkpoint.h"
#include "store/dataset.h"
#include "store/feature_store.h"

/* Content digests of the data (test may be NULL); class names from test,
 * else train. */
void cbd_stage_data_digests(const cbd_config *cfg, const cbd_dataset *train, const cbd_dataset *test,
                            cbd_data_digests *out);

/* The digest a finished teacher's checkpoint records when it is up to date:
 * what decides teacher NAME's output, for this data. */
uint64_t cbd_stage_teacher_digest(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data);

/* The digest a feature store records: what decides teacher NAME's store,
 * for this data and the teacher's weights (their digest). */
uint64_t cbd_stage_store_digest(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data,
                                uint64_t weights);

/* A finished teacher for a stage that reads it: teachers/NAME.ckpt.h5 must
 * exist, describe the model [teacher.NAME] says (arch, head, classes,
 * channels) and be up to date (its digest is cbd_stage_teacher_digest's).
 * Fills path, meta and the digest of its weights. */
typedef struct {
    char path[CBD_PATH_MAX + 96];
    cbd_checkpoint_meta meta;
    uint64_t weights;
} cbd_stage_teacher;
void cbd_stage_read_teacher(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data,
                            int classes, cbd_stage_teacher *out);

/* Teacher NAME's feature store for a stage that reads it: complete, made for
 * train (rows, labels, image list) with [features] views, holding logits
 * when need_logits, dumped from the teacher's current checkpoint (weights:
 * its digest) and up to date (its dump digest is cbd_stage_store_digest's).
 * A store still being dumped, or whose dump was interrupted, is named as
 * such. */
cbd_feature_store *cbd_stage_open_store(const cbd_config *cfg, const char *teacher, const cbd_dataset *train,
                                        const cbd_data_digests *data, uint64_t weights, int64_t memory_cap_bytes,
                                        int need_logits);

#endif
