/* The text and digest of what decides an output, from the READERS column of
 * the schema (experiment/output_digest.h). */
#include "experiment/output_digest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config_internal.h"
#include "nn/log.h"
#include "store/digest.h"

unsigned cbd_output_readers(const cbd_config *cfg, cbd_output_kind kind, const cbd_teacher_config *teacher) {
    switch (kind) {
    case CBD_OUTPUT_TEACHER:
        CBD_ASSERT(teacher, "a teacher output needs its teacher");
        return CBD_READ_TEACHER | (teacher->kind == CBD_TEACHER_AUGMENT ? CBD_READ_AUG_TEACHER : 0u);
    case CBD_OUTPUT_STORE: return CBD_READ_DUMP;
    case CBD_OUTPUT_MODEL:
        switch (cfg->student.method) {
        case CBD_METHOD_TRAIN: return CBD_READ_TRAIN;
        case CBD_METHOD_FINETUNE: return CBD_READ_FINETUNE;
        case CBD_METHOD_CRT:
        case CBD_METHOD_LWS: return CBD_READ_HEAD;
        case CBD_METHOD_TAU_NORM: return CBD_READ_TAU;
        case CBD_METHOD_ENSEMBLE: return CBD_READ_ENSEMBLE;
        }
        break;
    case CBD_OUTPUT_EVAL: return CBD_READ_EVAL;
    case CBD_OUTPUT_REPORT: return CBD_READ_REPORT;
    }
    CBD_PANIC("output kind %d, method %d", (int)kind, (int)cfg->student.method);
}

static void content_line(FILE *f, const char *key, uint64_t digest) {
    if (digest)
        fprintf(f, "[data] %s = content %016llx\n", key, (unsigned long long)digest);
    else
        fprintf(f, "[data] %s = content missing\n", key);
}

/* One fixed-section key; the [data] paths by their content. */
static void key_line(FILE *f, const cbd_config *cfg, int id, const cbd_data_digests *data) {
    const key_spec *k = &config_keys[id];
    if (id == K_data_train) {
        content_line(f, "train", data ? data->train : 0);
        return;
    }
    if (id == K_data_test) {
        content_line(f, "test", data ? data->test : 0);
        return;
    }
    if (id == K_data_class_names) {
        if (!cfg->data.class_names[0])
            fprintf(f, "[data] class_names = none\n");
        else
            content_line(f, "class_names", data ? data->class_names : 0);
        return;
    }
    CBD_ASSERT(id != K_data_val && id != K_data_image_root, "[data] %s decides nothing by itself", k->key);
    /* what a store holds, not how it was asked for: auto digests as the true
     * or false it comes to for this training set */
    if (id == K_features_logits && cfg->features.logits == CBD_LOGITS_AUTO && data && data->train_classes > 0) {
        fprintf(f, "[features] logits = %s\n", cbd_config_stores_logits(cfg, data->train_classes) ? "true" : "false");
        return;
    }
    char value[CBD_INI_MAX_LINE];
    config_format_value(k, cfg, value, sizeof value);
    fprintf(f, "[%s] %s = %s\n", k->section, k->key, value);
}

static void teacher_lines(FILE *f, const cbd_teacher_config *t, unsigned readers) {
    char value[CBD_INI_MAX_LINE];
    for (int id = 0; id < TK_COUNT; id++) {
        if (!(teacher_keys[id].readers & readers)) continue;
        config_format_value(&teacher_keys[id], t, value, sizeof value);
        fprintf(f, "[teacher.%s] %s = %s\n", t->name, teacher_keys[id].key, value);
    }
}

void cbd_output_digest_begin(cbd_output_digest *d, const cbd_config *cfg, cbd_output_kind kind,
                             const char *teacher, const cbd_data_digests *data) {
    memset(d, 0, sizeof *d);
    d->stream = open_memstream(&d->text, &d->len);
    if (!d->stream) CBD_PANIC("open_memstream: %s", strerror(errno));
    const cbd_teacher_config *t = teacher ? cbd_config_teacher(cfg, teacher) : NULL;
    CBD_ASSERT(!teacher || t, "no [teacher.%s]", teacher);
    const unsigned readers = cbd_output_readers(cfg, kind, t);
    for (int id = 0; id < K_COUNT; id++)
        if (config_keys[id].readers & readers) key_line(d->stream, cfg, id, data);
    if (t) teacher_lines(d->stream, t, readers);
    if (kind == CBD_OUTPUT_REPORT)
        for (int i = 0; i < cfg->teacher_count; i++) teacher_lines(d->stream, &cfg->teachers[i], readers);
}

void cbd_output_digest_add(cbd_output_digest *d, const char *what, uint64_t digest) {
    fprintf(d->stream, "input %s = %016llx\n", what, (unsigned long long)digest);
}

void cbd_output_digest_line(cbd_output_digest *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->stream, fmt, ap);
    va_end(ap);
    fputc('\n', d->stream);
}

uint64_t cbd_output_digest_end(cbd_output_digest *d) {
    if (fclose(d->stream) != 0) CBD_PANIC("open_memstream: %s", strerror(errno));
    d->stream = NULL;
    return cbd_fnv1a64(d->text, d->len);
}

void cbd_output_digest_free(cbd_output_digest *d) {
    if (d->stream) fclose(d->stream);
    free(d->text);
    memset(d, 0, sizeof *d);
}

uint64_t cbd_output_digest_of(const cbd_config *cfg, cbd_output_kind kind, const char *teacher,
                              const cbd_data_digests *data, char **text) {
    cbd_output_digest d;
    cbd_output_digest_begin(&d, cfg, kind, teacher, data);
    const uint64_t digest = cbd_output_digest_end(&d);
    if (text) {
        *text = d.text;
        d.text = NULL;
    }
    cbd_output_digest_free(&d);
    return digest;
}
