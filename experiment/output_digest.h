/* What decides each output of an experiment, made from the schema: the
 * resolved values of the keys whose READERS column (experiment/
 * config_schema.h) names the output's kind, the content of the data it
 * reads, and the digests of the outputs it is made from. A stage records the
 * digest in what it writes and calls an output up to date only when the
 * recorded digest is this one; cbd-plan writes the same text, less the
 * upstream outputs (make follows those as files), into the stamps make
 * depends on. Changing a key therefore makes stale exactly the outputs that
 * read it, and nothing else (tests/test_output_digest.c walks every key).
 *
 * The text is one line per key, "[section] key = value", in schema order:
 * [teacher.NAME] for the keys of the output's teacher (every teacher's for
 * the report), [student] for the loaded model's (a [student.NAME] model's
 * merged keys). The [data] paths train and test appear as the digest of
 * their content (cbd_dataset_content_digest), class_names as that of the
 * names; image_root and val decide nothing by themselves. Inputs added with
 * cbd_output_digest_add follow as "input WHAT = DIGEST". */
#ifndef CBD_OUTPUT_DIGEST_H
#define CBD_OUTPUT_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "experiment/config.h"

typedef enum {
    CBD_OUTPUT_TEACHER, /* teachers/NAME.ckpt.h5 */
    CBD_OUTPUT_STORE,   /* features/NAME.h5 */
    CBD_OUTPUT_MODEL,   /* student.ckpt.h5, students/NAME.ckpt.h5 (the ensemble: its member list) */
    CBD_OUTPUT_EVAL,    /* eval/NAME.json */
    CBD_OUTPUT_REPORT   /* report.md */
} cbd_output_kind;

/* The cbd_reader bits an output answers to: a teacher's are
 * CBD_READ_TEACHER (and CBD_READ_AUG_TEACHER for kind = augment), a model's
 * the one of its [student] method, and so on. teacher: the teacher of a
 * TEACHER or STORE output (NULL for the others). */
unsigned cbd_output_readers(const cbd_config *cfg, cbd_output_kind kind, const cbd_teacher_config *teacher);

/* Content digests of the data (0: not known, e.g. cbd-plan before the data
 * is made; written "missing"). */
typedef struct {
    uint64_t train, test, class_names;
    int train_classes; /* what [features] logits = auto is resolved by; 0 = unknown */
} cbd_data_digests;

typedef struct {
    char *text;
    size_t len;
    FILE *stream;
} cbd_output_digest;

/* Starts the text with the keys the output reads. teacher names the teacher
 * of a TEACHER or STORE output (it must exist); NULL otherwise. */
void cbd_output_digest_begin(cbd_output_digest *d, const cbd_config *cfg, cbd_output_kind kind,
                             const char *teacher, const cbd_data_digests *data);
/* Adds an input's digest: "input WHAT = 0123456789abcdef". */
void cbd_output_digest_add(cbd_output_digest *d, const char *what, uint64_t digest);
/* Adds a line of text as it is (a stage option: "option split = val"). */
void cbd_output_digest_line(cbd_output_digest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the text (d->text, d->len) and returns its 64-bit FNV-1a. */
uint64_t cbd_output_digest_end(cbd_output_digest *d);
void cbd_output_digest_free(cbd_output_digest *d);

/* begin + end for an output with no inputs beyond the configuration and the
 * data: the digest, and the text in a malloc'd string when text is not NULL. */
uint64_t cbd_output_digest_of(const cbd_config *cfg, cbd_output_kind kind, const char *teacher,
                              const cbd_data_digests *data, char **text);

#endif
