/* Teacher checkpoints and feature stores as inputs (stages/stage_inputs.h). */
#include "stages/stage_inputs.h"

#include <stdio.h>
#include <string.h>

#include "experiment/run_layout.h"
#include "nn/log.h"
#include "store/file_lock.h"
#include "store/fsutil.h"

void cbd_stage_data_digests(const cbd_config *cfg, const cbd_dataset *train, const cbd_dataset *test,
                            cbd_data_digests *out) {
    memset(out, 0, sizeof *out);
    if (train) out->train = cbd_dataset_content_digest(train);
    if (train) out->train_classes = cbd_dataset_classes(train);
    if (test) out->test = cbd_dataset_content_digest(test);
    if (cfg->data.class_names[0] && (test || train)) out->class_names = cbd_dataset_names_digest(test ? test : train);
}

uint64_t cbd_stage_teacher_digest(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data) {
    return cbd_output_digest_of(cfg, CBD_OUTPUT_TEACHER, teacher, data, NULL);
}

uint64_t cbd_stage_store_digest(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data,
                                uint64_t weights) {
    cbd_output_digest d;
    cbd_output_digest_begin(&d, cfg, CBD_OUTPUT_STORE, teacher, data);
    cbd_output_digest_add(&d, "teacher weights", weights);
    const uint64_t digest = cbd_output_digest_end(&d);
    cbd_output_digest_free(&d);
    return digest;
}

void cbd_stage_read_teacher(const cbd_config *cfg, const char *teacher, const cbd_data_digests *data,
                            int classes, cbd_stage_teacher *out) {
    const cbd_teacher_config *t = cbd_config_teacher(cfg, teacher);
    CBD_ASSERT(t, "no [teacher.%s]", teacher);
    char err[8400];
    cbd_layout_teacher_checkpoint(out->path, sizeof out->path, cfg->experiment.output_dir, teacher);
    if (!cbd_file_exists(out->path))
        cbd_fail(CBD_EXIT_USAGE, "%s does not exist: train teacher %s first (cbd-train-teacher --config %s --teacher %s)",
                 out->path, teacher, cfg->source_path, teacher);
    if (cbd_checkpoint_read_meta(out->path, &out->meta, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    const cbd_checkpoint_meta *m = &out->meta;
    if (strcmp(m->arch, t->arch) != 0 || m->head != t->head || m->classes != classes ||
        m->in_channels != cfg->data.channels) {
        char have[192];
        cbd_checkpoint_describe(have, sizeof have, m);
        cbd_fail(CBD_EXIT_USAGE,
                 "%s is %s; [teacher.%s] says %s with a %s head, and the data %d classes and %d input channel%s: "
                 "train the teacher again (cbd-train-teacher --config %s --teacher %s)",
                 out->path, have, teacher, t->arch, cbd_head_kind_names[t->head], classes, cfg->data.channels,
                 cfg->data.channels == 1 ? "" : "s", cfg->source_path, teacher);
    }
    if (m->config_digest != cbd_stage_teacher_digest(cfg, teacher, data) || m->epoch != t->epochs)
        cbd_fail(CBD_EXIT_USAGE,
                 "%s is out of date: [teacher.%s], the sections it reads or the training data changed since it "
                 "was trained: train it again first (cbd-train-teacher --config %s --teacher %s)",
                 out->path, teacher, cfg->source_path, teacher);
    if (cbd_checkpoint_weights_digest(out->path, &out->weights, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
}

cbd_feature_store *cbd_stage_open_store(const cbd_config *cfg, const char *teacher, const cbd_dataset *train,
                                        const cbd_data_digests *data, uint64_t weights, int64_t memory_cap_bytes,
                                        int need_logits) {
    char path[CBD_RUN_PATH_MAX], partial[CBD_RUN_PATH_MAX + 16], err[8400];
    cbd_layout_store(path, sizeof path, cfg->experiment.output_dir, teacher);
    snprintf(partial, sizeof partial, "%s.partial", path);
    if (!cbd_file_exists(path)) {
        long pid = 0;
        if (cbd_output_locked(path, &pid))
            cbd_fail(CBD_EXIT_USAGE, "%s is being dumped right now (process %ld): wait for that cbd-dump-features "
                                     "--teacher %s to finish", path, pid, teacher);
        if (cbd_file_exists(partial))
            cbd_fail(CBD_EXIT_USAGE, "%s does not exist: only %s is there: the dump of teacher %s was interrupted; "
                                     "run cbd-dump-features --config %s --teacher %s again to finish it",
                     path, partial, teacher, cfg->source_path, teacher);
        cbd_fail(CBD_EXIT_USAGE, "%s does not exist: dump the features of teacher %s first (cbd-dump-features "
                                 "--config %s --teacher %s)", path, teacher, cfg->source_path, teacher);
    }
    cbd_feature_store_expect expect = {.n = cbd_dataset_count(train), .classes = cbd_dataset_classes(train),
                                       .views = cfg->features.views, .labels = cbd_dataset_labels(train),
                                       .manifest_digest = cbd_dataset_digest(train), .features_only = !need_logits};
    cbd_feature_store *fs = cbd_feature_store_open(path, &expect, memory_cap_bytes, err, sizeof err);
    if (!fs)
        cbd_fail(CBD_EXIT_USAGE, "%s (dump the features of teacher %s again: cbd-dump-features --config %s "
                                 "--teacher %s --force)", err, teacher, cfg->source_path, teacher);
    const cbd_feature_store_spec *spec = cbd_feature_store_spec_of(fs);
    if (spec->teacher_checkpoint_digest != weights)
        cbd_fail(CBD_EXIT_USAGE, "%s was dumped from another checkpoint of teacher %s (it has been trained again "
                                 "since): dump it again (cbd-dump-features --config %s --teacher %s)",
                 path, teacher, cfg->source_path, teacher);
    if (spec->dump_digest != cbd_stage_store_digest(cfg, teacher, data, weights))
        cbd_fail(CBD_EXIT_USAGE, "%s is out of date: [features], the view settings of [data] or the training data "
                                 "changed since it was dumped: dump it again (cbd-dump-features --config %s "
                                 "--teacher %s)", path, cfg->source_path, teacher);
    if (need_logits && !spec->has_logits)
        cbd_fail(CBD_EXIT_USAGE, "%s has no logits, which [student] distill = %s reads: set [features] logits = "
                                 "true and dump again (auto stores them up to %d classes), or [student] teacher_source = online",
                 path, cbd_distill_kind_names[cfg->student.distill], CBD_LOGITS_AUTO_MAX_CLASSES);
    return fs;
}
