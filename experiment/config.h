/* The experiment configuration: an INI file (schema in experiment/config_schema.h,
 * documented in ini/README.md), command-line overrides, validation and
 * resolution of the computed defaults.
 *
 * Fields are named after sections and keys: `[train] batch_size` is
 * cfg->train.batch_size, `[teacher.t1] seed` is cbd_config_teacher(cfg,
 * "t1")->seed. After cbd_config_load every "0 = ..." or "empty = ..." default
 * holds the value it stands for, except data.val, data.test, data.image_root,
 * data.class_names (empty = none / the manifest's folder), experiment.threads
 * (0 = decided at run time) and data.classes (0 = from the labels). data.mean
 * and data.std hold exactly data.channels values. */
#ifndef CBD_CONFIG_H
#define CBD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/model.h"      /* cbd_head_kind */
#include "store/dataset.h" /* cbd_bad_image_policy */

typedef enum { CBD_DEVICE_CPU, CBD_DEVICE_CUDA, CBD_DEVICE_AUTO } cbd_device;
typedef enum { CBD_PRECISION_FP32, CBD_PRECISION_BF16 } cbd_precision;
typedef enum { CBD_TEACHER_STANDARD, CBD_TEACHER_AUGMENT } cbd_teacher_kind;
/* Also defined, identically and under the same guards, by views/augment.h
 * and views/sampler.h, so that those headers stand alone. */
#ifndef CBD_CROP_KIND_DEFINED
#define CBD_CROP_KIND_DEFINED
typedef enum { CBD_CROP_PAD_RANDOM = 0, CBD_CROP_RANDOM_RESIZED = 1, CBD_CROP_NONE = 2 } cbd_crop_kind;
#endif
#ifndef CBD_SAMPLING_KIND_DEFINED
#define CBD_SAMPLING_KIND_DEFINED
typedef enum { CBD_SAMPLING_INSTANCE = 0, CBD_SAMPLING_CLASS_BALANCED = 1, CBD_SAMPLING_SQRT = 2 } cbd_sampling_kind;
#endif
typedef enum { CBD_FEATURE_FLOAT16, CBD_FEATURE_FLOAT32 } cbd_feature_dtype;
typedef enum { CBD_LOGITS_AUTO, CBD_LOGITS_TRUE, CBD_LOGITS_FALSE } cbd_logits_mode;
/* [features] logits = auto stores the logits up to this many classes. */
#define CBD_LOGITS_AUTO_MAX_CLASSES 1000
typedef enum { CBD_TEACHER_SOURCE_STORE, CBD_TEACHER_SOURCE_ONLINE } cbd_teacher_source;
typedef enum { CBD_DISTILL_FEATURE, CBD_DISTILL_LOGIT, CBD_DISTILL_HYBRID, CBD_DISTILL_NONE } cbd_distill_kind;
typedef enum { CBD_LOSS_CE, CBD_LOSS_LOGIT_ADJUSTED } cbd_student_loss;
typedef enum {
    CBD_METHOD_TRAIN,
    CBD_METHOD_FINETUNE,
    CBD_METHOD_CRT,
    CBD_METHOD_LWS,
    CBD_METHOD_TAU_NORM,
    CBD_METHOD_ENSEMBLE
} cbd_student_method;

/* INI spellings of the enum values, indexed by value. */
extern const char *const cbd_device_names[];         /* cpu cuda auto */
extern const char *const cbd_precision_names[];      /* fp32 bf16 */
extern const char *const cbd_teacher_kind_names[];   /* standard augment */
extern const char *const cbd_crop_kind_names[];      /* pad_random random_resized none */
extern const char *const cbd_sampling_kind_names[];  /* instance class_balanced sqrt */
extern const char *const cbd_feature_dtype_names[];  /* float16 float32 */
extern const char *const cbd_logits_mode_names[];    /* auto true false */
extern const char *const cbd_teacher_source_names[]; /* store online */
extern const char *const cbd_distill_kind_names[];   /* feature logit hybrid none */
extern const char *const cbd_student_loss_names[];   /* ce logit_adjusted */
extern const char *const cbd_student_method_names[]; /* train finetune crt lws tau_norm ensemble */
extern const char *const cbd_head_kind_names[];      /* cosine linear */
extern const char *const cbd_bad_image_policy_names[]; /* fail skip */

/* The outputs a key can decide (the READERS column of the schema). */
typedef enum {
    CBD_READ_TEACHER = 1u << 0,     /* every teacher: teachers/NAME.ckpt.h5 */
    CBD_READ_AUG_TEACHER = 1u << 1, /* teachers of kind = augment */
    CBD_READ_DUMP = 1u << 2,        /* every feature store: features/NAME.h5 */
    CBD_READ_TRAIN = 1u << 3,       /* models of method = train */
    CBD_READ_FINETUNE = 1u << 4,    /* method = finetune */
    CBD_READ_HEAD = 1u << 5,        /* method = crt and lws: a head trained on stored features */
    CBD_READ_TAU = 1u << 6,         /* method = tau_norm */
    CBD_READ_ENSEMBLE = 1u << 7,    /* method = ensemble (its evaluation) */
    CBD_READ_EVAL = 1u << 8,        /* every evaluation: eval/NAME.json */
    CBD_READ_REPORT = 1u << 9       /* the comparison table: report.md */
} cbd_reader;
#define CBD_READER_COUNT 10
/* INI-style names of the readers, indexed by bit: "teacher", "augment teacher", ... */
extern const char *const cbd_reader_names[CBD_READER_COUNT];

#include "experiment/config_schema.h"

typedef struct {
    char name[CBD_NAME_MAX]; /* NAME of [teacher.NAME] */
    CBD_SCHEMA_TEACHER(CBD_CONFIG_MEMBER)
} cbd_teacher_config;

#define CBD_CONFIG_SECTION_STRUCT(sec, LIST) struct { LIST(CBD_CONFIG_MEMBER) } sec;

typedef struct {
    CBD_CONFIG_SECTIONS(CBD_CONFIG_SECTION_STRUCT)
    cbd_teacher_config teachers[CBD_MAX_TEACHERS]; /* in file order */
    int teacher_count;
    /* The model [student] describes: "student" for the [student] section
     * itself, or NAME when loaded as [student.NAME] (cbd_config_load_model),
     * whose keys override those of [student]. */
    char student_name[CBD_NAME_MAX];
    char students[CBD_MAX_STUDENTS][CBD_NAME_MAX]; /* NAMEs of the [student.NAME] sections, in file order */
    int student_count;
    char source_path[CBD_PATH_MAX]; /* the INI as given to cbd_config_load */
    char source_dir[CBD_PATH_MAX];  /* its folder, absolute: relative data paths start here */
} cbd_config;

/* Loads the INI at path, applies overrides ("section.key=value", e.g.
 * "train.epochs=3", "teacher.t1.seed=5"; later ones win), validates and
 * resolves. Returns 0, or -1 with one message in err naming the file and line
 * (or the --set option) and the key. Sets inih's global options for the
 * duration of the call: do not parse other INI files in parallel. */
int cbd_config_load(cbd_config *cfg, const char *path, const char *const *overrides, int n_overrides,
                    char *err, size_t err_len);

/* Like cbd_config_load, with cfg->student taken from [student.NAME]: the
 * keys of [student] overridden by those of [student.NAME]. name NULL or
 * "student" loads [student] itself. */
int cbd_config_load_model(cbd_config *cfg, const char *path, const char *const *overrides, int n_overrides,
                          const char *name, char *err, size_t err_len);

/* The teacher named `name`, or NULL. */
const cbd_teacher_config *cbd_config_teacher(const cbd_config *cfg, const char *name);

/* The resolved configuration as an INI that cbd_config_load reads back into
 * the same configuration (wherever the file is put: paths are absolute). */
void cbd_config_write(const cbd_config *cfg, FILE *out);
/* 64-bit FNV-1a of the cbd_config_write text. */
uint64_t cbd_config_digest(const cbd_config *cfg);

/* Every section and key with type, default, allowed values and meaning. */
void cbd_config_print_help(FILE *out);

/* INI spelling of cfg->experiment.device ("cpu", "cuda" or "auto"). */
const char *cbd_config_device_name(const cbd_config *cfg);
/* INI spelling of cfg->experiment.precision ("fp32" or "bf16"). */
const char *cbd_config_precision_name(const cbd_config *cfg);
/* Whether the feature stores of a training set of `classes` classes hold the
 * teachers' logits ([features] logits; auto: at most
 * CBD_LOGITS_AUTO_MAX_CLASSES classes). */
int cbd_config_stores_logits(const cbd_config *cfg, int classes);

/* The schema, for tools that read or rewrite INIs (sweeps, docs): the number
 * of keys, and key i's section ("teacher.NAME" for teacher keys) and name. */
int cbd_config_key_count(void);
void cbd_config_key_at(int i, const char **section, const char **key);
/* The cbd_reader bits of key i: the outputs its value decides. */
unsigned cbd_config_key_readers(int i);
/* "teacher, dump, train" for reader bits ("nothing" for none). */
void cbd_config_readers_text(unsigned readers, char *out, size_t len);
/* 1 when the key holds a comma-separated list (data.mean, data.std,
 * student.teachers), 0 for any other key, -1 when there is no such key.
 * Teacher keys may be asked as section "teacher" or "teacher.NAME". */
int cbd_config_key_is_list(const char *section, const char *key);

#endif
