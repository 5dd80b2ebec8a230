/* The schema of experiment/config_schema.h as tables: one key_spec per key
 * (type, place in the struct, default, readers, constraint, help), the enum
 * spellings, the checks the CONSTRAINT column names, and key lookup. */
#include "experiment/config_internal.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nn/resnet.h"

/* ---- enum spellings ------------------------------------------------------ */

const char *const cbd_reader_names[CBD_READER_COUNT] = {"teacher", "augment teacher", "dump", "train", "finetune",
                                                        "crt/lws", "tau_norm", "ensemble", "eval", "report"};
_Static_assert(CBD_READ_REPORT == 1u << (CBD_READER_COUNT - 1), "cbd_reader_names");

const char *const cbd_device_names[] = {"cpu", "cuda", "auto", NULL};
const char *const cbd_precision_names[] = {"fp32", "bf16", NULL};
const char *const cbd_teacher_kind_names[] = {"standard", "augment", NULL};
const char *const cbd_crop_kind_names[] = {"pad_random", "random_resized", "none", NULL};
const char *const cbd_sampling_kind_names[] = {"instance", "class_balanced", "sqrt", NULL};
const char *const cbd_feature_dtype_names[] = {"float16", "float32", NULL};
const char *const cbd_logits_mode_names[] = {"auto", "true", "false", NULL};
const char *const cbd_teacher_source_names[] = {"store", "online", NULL};
const char *const cbd_distill_kind_names[] = {"feature", "logit", "hybrid", "none", NULL};
const char *const cbd_student_loss_names[] = {"ce", "logit_adjusted", NULL};
const char *const cbd_student_method_names[] = {"train", "finetune", "crt", "lws", "tau_norm", "ensemble", NULL};
const char *const cbd_head_kind_names[] = {"cosine", "linear", NULL};
const char *const cbd_bad_image_policy_names[] = {"fail", "skip", NULL};

#define NAMES_MATCH(names, last) (sizeof(names) / sizeof(names)[0] == (size_t)(last) + 2)
_Static_assert(NAMES_MATCH(cbd_device_names, CBD_DEVICE_AUTO), "cbd_device_names");
_Static_assert(NAMES_MATCH(cbd_precision_names, CBD_PRECISION_BF16), "cbd_precision_names");
_Static_assert(NAMES_MATCH(cbd_teacher_kind_names, CBD_TEACHER_AUGMENT), "cbd_teacher_kind_names");
_Static_assert(NAMES_MATCH(cbd_crop_kind_names, CBD_CROP_NONE), "cbd_crop_kind_names");
_Static_assert(NAMES_MATCH(cbd_sampling_kind_names, CBD_SAMPLING_SQRT), "cbd_sampling_kind_names");
_Static_assert(NAMES_MATCH(cbd_feature_dtype_names, CBD_FEATURE_FLOAT32), "cbd_feature_dtype_names");
_Static_assert(NAMES_MATCH(cbd_logits_mode_names, CBD_LOGITS_FALSE), "cbd_logits_mode_names");
_Static_assert(NAMES_MATCH(cbd_teacher_source_names, CBD_TEACHER_SOURCE_ONLINE), "cbd_teacher_source_names");
_Static_assert(NAMES_MATCH(cbd_distill_kind_names, CBD_DISTILL_NONE), "cbd_distill_kind_names");
_Static_assert(NAMES_MATCH(cbd_student_loss_names, CBD_LOSS_LOGIT_ADJUSTED), "cbd_student_loss_names");
_Static_assert(NAMES_MATCH(cbd_student_method_names, CBD_METHOD_ENSEMBLE), "cbd_student_method_names");
_Static_assert(NAMES_MATCH(cbd_head_kind_names, CBD_HEAD_LINEAR), "cbd_head_kind_names");
_Static_assert(NAMES_MATCH(cbd_bad_image_policy_names, CBD_BAD_IMAGE_SKIP), "cbd_bad_image_policy_names");
/* Enum fields are read and written as int. */
_Static_assert(sizeof(cbd_device) == sizeof(int) && sizeof(cbd_precision) == sizeof(int) &&
                   sizeof(cbd_head_kind) == sizeof(int) &&
                   sizeof(cbd_bad_image_policy) == sizeof(int),
               "enums must be int-sized");

#define CBD_ANY {0, 0, 0, NULL}
#define CBD_MIN(a) {a, 0, C_LO, NULL}
#define CBD_ABOVE(a) {a, 0, C_LO | C_LO_OPEN, NULL}
#define CBD_RANGE(a, b) {a, b, C_LO | C_HI, NULL}
#define CBD_RANGE_LO_OPEN(a, b) {a, b, C_LO | C_LO_OPEN | C_HI, NULL}
#define CBD_RANGE_HI_OPEN(a, b) {a, b, C_LO | C_HI | C_HI_OPEN, NULL}
#define CBD_CHECK(fn) {0, 0, 0, fn}

static int check_experiment_name(const void *field, char *why, size_t why_len);
static int check_channels(const void *field, char *why, size_t why_len);
static int check_arch(const void *field, char *why, size_t why_len);
static int check_arch_or_empty(const void *field, char *why, size_t why_len);
static int check_label(const void *field, char *why, size_t why_len);

#define SPEC_CAP_STRING(arg) arg
#define SPEC_CAP_PATH(arg) arg
#define SPEC_CAP_INT(arg) 0
#define SPEC_CAP_U64(arg) 0
#define SPEC_CAP_FLOAT(arg) 0
#define SPEC_CAP_BOOL(arg) 0
#define SPEC_CAP_ENUM(arg) 0
#define SPEC_CAP_FLOATS(arg) arg
#define SPEC_CAP_NAMES(arg) arg
#define SPEC_NAMES_STRING(arg) NULL
#define SPEC_NAMES_PATH(arg) NULL
#define SPEC_NAMES_INT(arg) NULL
#define SPEC_NAMES_U64(arg) NULL
#define SPEC_NAMES_FLOAT(arg) NULL
#define SPEC_NAMES_BOOL(arg) NULL
#define SPEC_NAMES_ENUM(arg) arg##_names
#define SPEC_NAMES_FLOATS(arg) NULL
#define SPEC_NAMES_NAMES(arg) NULL
#define SPEC_COUNT_STRING(off) 0
#define SPEC_COUNT_PATH(off) 0
#define SPEC_COUNT_INT(off) 0
#define SPEC_COUNT_U64(off) 0
#define SPEC_COUNT_FLOAT(off) 0
#define SPEC_COUNT_BOOL(off) 0
#define SPEC_COUNT_ENUM(off) 0
#define SPEC_COUNT_FLOATS(off) off
#define SPEC_COUNT_NAMES(off) off

/* The READERS column's names. */
#define R_NONE 0u
#define R_TEACHER CBD_READ_TEACHER
#define R_AUG_TEACHER CBD_READ_AUG_TEACHER
#define R_DUMP CBD_READ_DUMP
#define R_TRAIN CBD_READ_TRAIN
#define R_FINETUNE CBD_READ_FINETUNE
#define R_HEAD CBD_READ_HEAD
#define R_TAU CBD_READ_TAU
#define R_ENSEMBLE CBD_READ_ENSEMBLE
#define R_EVAL CBD_READ_EVAL
#define R_REPORT CBD_READ_REPORT

#define SPEC_CONFIG(sec, key, type, arg, def, flags, readers, cons, help)                            \
    {#sec, #key, KEY_##type, offsetof(cbd_config, sec.key),                                          \
     SPEC_COUNT_##type(offsetof(cbd_config, sec.key##_count)), SPEC_CAP_##type(arg),                 \
     SPEC_NAMES_##type(arg), def, CBD_KEY_FLAG_##flags, readers, cons, help},
#define SPEC_TEACHER(sec, key, type, arg, def, flags, readers, cons, help)                           \
    {#sec, #key, KEY_##type, offsetof(cbd_teacher_config, key),                                      \
     SPEC_COUNT_##type(offsetof(cbd_teacher_config, key##_count)), SPEC_CAP_##type(arg),             \
     SPEC_NAMES_##type(arg), def, CBD_KEY_FLAG_##flags, readers, cons, help},
#define SECTION_SPECS(sec, LIST) LIST(SPEC_CONFIG)

const key_spec config_keys[] = {CBD_CONFIG_SECTIONS(SECTION_SPECS)};
const key_spec teacher_keys[] = {CBD_SCHEMA_TEACHER(SPEC_TEACHER)};

#define SECTION_NAME(sec, LIST) #sec,
const char *const section_names[] = {CBD_CONFIG_SECTIONS(SECTION_NAME)};

_Static_assert(sizeof config_keys / sizeof config_keys[0] == K_COUNT, "config_keys");
_Static_assert(sizeof teacher_keys / sizeof teacher_keys[0] == TK_COUNT, "teacher_keys");


/* ---- value checks ---------------------------------------------------------- */

static int name_chars_ok(const char *s, const char *extra) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) return 0;
    return 1;
}

static int check_experiment_name(const void *field, char *why, size_t why_len) {
    const char *s = field;
    if (s && name_chars_ok(s, "_.-")) return 0;
    snprintf(why, why_len, "%s", "letters, digits, '_', '.' and '-'");
    return -1;
}

static int check_channels(const void *field, char *why, size_t why_len) {
    if (field && (*(const int *)field == 1 || *(const int *)field == 3)) return 0;
    snprintf(why, why_len, "%s", "1 or 3");
    return -1;
}

static int check_arch(const void *field, char *why, size_t why_len) {
    if (field && cbd_resnet_arch_find(field)) return 0;
    snprintf(why, why_len, "one of %s", cbd_resnet_arch_names());
    return -1;
}

static int check_arch_or_empty(const void *field, char *why, size_t why_len) {
    if (field && (!*(const char *)field || cbd_resnet_arch_find(field))) return 0;
    snprintf(why, why_len, "empty or one of %s", cbd_resnet_arch_names());
    return -1;
}

/* Labels end up in make recipes, cbd-report rows and report tables. */
static int check_label(const void *field, char *why, size_t why_len) {
    const char *s = field;
    if (s && *s && *s != ' ' && s[strlen(s) - 1] != ' ' && name_chars_ok(s, " _-.+()/")) return 0;
    snprintf(why, why_len, "%s", "letters, digits, spaces and _ - . + ( ) /, not starting or ending with a space");
    return -1;
}

int config_check_experiment_name(const void *field, char *why, size_t why_len) {
    return check_experiment_name(field, why, why_len);
}

int config_teacher_name_ok(const char *s) { return name_chars_ok(s, "_-") && strlen(s) < CBD_NAME_MAX; }

/* ---- looking keys up ------------------------------------------------------ */

const key_spec *config_spec_of(int section, int id) {
    return section == S_TEACHER ? &teacher_keys[id] : &config_keys[id];
}

/* The fixed section whose keys `section` takes ([student.NAME]: [student]'s). */
int config_keys_section(int section) { return section == S_NAMED_STUDENT ? S_student : section; }

int config_section_index(const char *name) {
    for (int s = 0; s < S_COUNT; s++)
        if (!strcmp(name, section_names[s])) return s;
    return S_NONE;
}

int config_find_key(int section, const char *key) {
    section = config_keys_section(section);
    const int n = section == S_TEACHER ? TK_COUNT : K_COUNT;
    for (int i = 0; i < n; i++) {
        const key_spec *k = config_spec_of(section, i);
        if ((section == S_TEACHER || !strcmp(k->section, section_names[section])) && !strcmp(k->key, key))
            return i;
    }
    return -1;
}
