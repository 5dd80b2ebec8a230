/* The experiment INI: schema tables generated from stages/config_schema.h,
 * the inih-driven parser with our own line counting, overrides, resolution,
 * cross-key validation, the resolved dump and --help. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include "stages/config.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "nn/log.h"
#include "nn/resnet.h"
#include "store/digest.h"

/* ---- enum spellings ------------------------------------------------------ */

const char *const cbd_device_names[] = {"cpu", "cuda", "auto", NULL};
const char *const cbd_precision_names[] = {"fp32", "bf16", NULL};
const char *const cbd_teacher_kind_names[] = {"standard", "augment", NULL};
const char *const cbd_crop_kind_names[] = {"pad_random", "random_resized", "none", NULL};
const char *const cbd_sampling_kind_names[] = {"instance", "class_balanced", "sqrt", NULL};
const char *const cbd_feature_dtype_names[] = {"float16", "float32", NULL};
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

/* ---- the schema as tables ------------------------------------------------ */

typedef enum { KEY_STRING, KEY_PATH, KEY_INT, KEY_U64, KEY_FLOAT, KEY_BOOL, KEY_ENUM, KEY_FLOATS, KEY_NAMES } key_type;

enum { CBD_KEY_FLAG_0 = 0, CBD_KEY_FLAG_REQUIRED = 1, CBD_KEY_FLAG_COMPUTED = 2 };

/* A check on a parsed field; with field NULL it writes what it accepts. */
typedef int (*value_check)(const void *field, char *why, size_t why_len);

enum { C_LO = 1, C_LO_OPEN = 2, C_HI = 4, C_HI_OPEN = 8 };
typedef struct {
    double lo, hi;
    unsigned flags;
    value_check check;
} constraint;

#define CBD_ANY {0, 0, 0, NULL}
#define CBD_MIN(a) {a, 0, C_LO, NULL}
#define CBD_ABOVE(a) {a, 0, C_LO | C_LO_OPEN, NULL}
#define CBD_RANGE(a, b) {a, b, C_LO | C_HI, NULL}
#define CBD_RANGE_LO_OPEN(a, b) {a, b, C_LO | C_LO_OPEN | C_HI, NULL}
#define CBD_RANGE_HI_OPEN(a, b) {a, b, C_LO | C_HI | C_HI_OPEN, NULL}
#define CBD_CHECK(fn) {0, 0, 0, fn}

typedef struct {
    const char *section; /* "train", or "teacher" for [teacher.NAME] keys */
    const char *key;
    key_type type;
    size_t offset;       /* in cbd_config, or in cbd_teacher_config for teacher keys */
    size_t count_offset; /* FLOATS, NAMES: the KEY_count member */
    int capacity;        /* STRING, PATH: bytes; FLOATS, NAMES: elements */
    const char *const *names; /* ENUM */
    const char *def;
    unsigned flags;
    constraint cons;
    const char *help;
} key_spec;

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

#define SPEC_CONFIG(sec, key, type, arg, def, flags, cons, help)                                     \
    {#sec, #key, KEY_##type, offsetof(cbd_config, sec.key),                                          \
     SPEC_COUNT_##type(offsetof(cbd_config, sec.key##_count)), SPEC_CAP_##type(arg),                 \
     SPEC_NAMES_##type(arg), def, CBD_KEY_FLAG_##flags, cons, help},
#define SPEC_TEACHER(sec, key, type, arg, def, flags, cons, help)                                    \
    {#sec, #key, KEY_##type, offsetof(cbd_teacher_config, key),                                      \
     SPEC_COUNT_##type(offsetof(cbd_teacher_config, key##_count)), SPEC_CAP_##type(arg),             \
     SPEC_NAMES_##type(arg), def, CBD_KEY_FLAG_##flags, cons, help},
#define SECTION_SPECS(sec, LIST) LIST(SPEC_CONFIG)

static const key_spec config_keys[] = {CBD_CONFIG_SECTIONS(SECTION_SPECS)};
static const key_spec teacher_keys[] = {CBD_SCHEMA_TEACHER(SPEC_TEACHER)};

/* Key ids: indices into config_keys and teacher_keys. */
#define KEY_ID(sec, key, ...) K_##sec##_##key,
#define SECTION_KEY_IDS(sec, LIST) LIST(KEY_ID)
enum { CBD_CONFIG_SECTIONS(SECTION_KEY_IDS) K_COUNT };
#define TEACHER_KEY_ID(sec, key, ...) TK_##key,
enum { CBD_SCHEMA_TEACHER(TEACHER_KEY_ID) TK_COUNT };

#define SECTION_ID(sec, LIST) S_##sec,
enum { CBD_CONFIG_SECTIONS(SECTION_ID) S_COUNT, S_TEACHER = S_COUNT, S_NAMED_STUDENT, S_NONE = -1 };
#define SECTION_NAME(sec, LIST) #sec,
static const char *const section_names[] = {CBD_CONFIG_SECTIONS(SECTION_NAME)};

_Static_assert(sizeof config_keys / sizeof config_keys[0] == K_COUNT, "config_keys");
_Static_assert(sizeof teacher_keys / sizeof teacher_keys[0] == TK_COUNT, "teacher_keys");

/* Longest line accepted when inih can grow its line buffer. */
#define CBD_INI_MAX_LINE (CBD_PATH_MAX + 1024)

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

static int teacher_name_ok(const char *s) { return name_chars_ok(s, "_-") && strlen(s) < CBD_NAME_MAX; }

/* ---- parsing one value -------------------------------------------------------- */

/* Copies s into a field of cap bytes, zero-filling the rest: equal
 * configurations are equal byte for byte. */
static void set_text(char *field, size_t cap, const char *s) {
    const size_t n = strlen(s);
    CBD_ASSERT(n < cap, "%zu >= %zu", n, cap);
    memmove(field, s, n);
    memset(field + n, 0, cap - n);
}

static const char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Text that an INI line cannot carry back: control characters, or a ';'
 * after whitespace (an inline comment when read again). */
static int ini_safe(const char *s) {
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
        if (*p == ';' && p > s && (p[-1] == ' ' || p[-1] == '\t')) return 0;
    }
    return 1;
}

static int parse_int(const char *s, int *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_float(const char *s, float *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v) || fabs(v) > FLT_MAX) return -1;
    *out = (float)v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

static void join_names(const char *const *names, const char *sep, char *out, size_t len) {
    out[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s", i ? sep : "", names[i]);
    }
}

/* "must be at least 1", "must be in (0, 1]", ... for a number outside c. */
static int check_number(const constraint *c, double v, char *why, size_t why_len) {
    const int lo_bad = (c->flags & C_LO) && ((c->flags & C_LO_OPEN) ? v <= c->lo : v < c->lo);
    const int hi_bad = (c->flags & C_HI) && ((c->flags & C_HI_OPEN) ? v >= c->hi : v > c->hi);
    if (!lo_bad && !hi_bad) return 0;
    if (c->flags & C_HI)
        snprintf(why, why_len, "must be in %c%g, %g%c", (c->flags & C_LO_OPEN) ? '(' : '[', c->lo, c->hi,
                 (c->flags & C_HI_OPEN) ? ')' : ']');
    else
        snprintf(why, why_len, "must be %s %g", (c->flags & C_LO_OPEN) ? "greater than" : "at least", c->lo);
    return -1;
}

static char *split_next(char **cursor) {
    char *start = *cursor, *comma = strchr(start, ',');
    if (comma) {
        *comma = '\0';
        *cursor = comma + 1;
    } else {
        *cursor = NULL;
    }
    return start;
}

/* Parses text into the field of k inside base. Returns 0, or -1 with the
 * reason in why. */
static int parse_value(const key_spec *k, void *base, const char *text, char *why, size_t why_len) {
    char *field = (char *)base + k->offset;
    const constraint *c = &k->cons;
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH:
        if (strlen(text) >= (size_t)k->capacity) {
            snprintf(why, why_len, "longer than %d characters", k->capacity - 1);
            return -1;
        }
        if (!ini_safe(text)) {
            snprintf(why, why_len, "control characters or ' ;' cannot be written back to an INI file");
            return -1;
        }
        if (c->check && c->check(text, why, why_len) != 0) {
            char accepted[512];
            snprintf(accepted, sizeof accepted, "%s", why);
            snprintf(why, why_len, "expected %s", accepted);
            return -1;
        }
        set_text(field, (size_t)k->capacity, text);
        return 0;
    case KEY_INT: {
        int v;
        if (parse_int(text, &v) != 0) {
            snprintf(why, why_len, "expected an integer");
            return -1;
        }
        if (check_number(c, v, why, why_len) != 0) return -1;
        if (c->check && c->check(&v, why, why_len) != 0) {
            char accepted[256];
            snprintf(accepted, sizeof accepted, "%s", why);
            snprintf(why, why_len, "expected %s", accepted);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_U64: {
        uint64_t v;
        if (parse_u64(text, &v) != 0) {
            snprintf(why, why_len, "expected an unsigned integer below 2^64");
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_FLOAT: {
        float v;
        if (parse_float(text, &v) != 0) {
            snprintf(why, why_len, "expected a finite number");
            return -1;
        }
        if (check_number(c, v, why, why_len) != 0) return -1;
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_BOOL: {
        int v;
        if (parse_bool(text, &v) != 0) {
            snprintf(why, why_len, "expected true or false (also yes/no, on/off, 1/0)");
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(text, k->names[i])) {
                memcpy(field, &i, sizeof i);
                return 0;
            }
        char names[256];
        join_names(k->names, ", ", names, sizeof names);
        snprintf(why, why_len, "expected one of: %s", names);
        return -1;
    case KEY_FLOATS:
    case KEY_NAMES: {
        char copy[CBD_INI_MAX_LINE];
        if (strlen(text) >= sizeof copy) {
            snprintf(why, why_len, "too long");
            return -1;
        }
        strcpy(copy, text);
        int n = 0;
        if (!*trim(copy)) {
            if (k->type == KEY_FLOATS) {
                snprintf(why, why_len, "expected 1 to %d comma-separated numbers", k->capacity);
                return -1;
            }
            memcpy((char *)base + k->count_offset, &n, sizeof n);
            return 0;
        }
        float values[CBD_MAX_TEACHERS > CBD_MAX_CHANNELS ? CBD_MAX_TEACHERS : CBD_MAX_CHANNELS];
        char names[CBD_MAX_TEACHERS][CBD_NAME_MAX];
        memset(names, 0, sizeof names);
        for (char *cursor = copy; cursor;) {
            const char *item = trim(split_next(&cursor));
            if (n == k->capacity) {
                snprintf(why, why_len, "at most %d values", k->capacity);
                return -1;
            }
            if (k->type == KEY_FLOATS) {
                if (parse_float(item, &values[n]) != 0) {
                    snprintf(why, why_len, "value %d (\"%s\"): expected a finite number", n + 1, item);
                    return -1;
                }
                char reason[128];
                if (check_number(c, values[n], reason, sizeof reason) != 0) {
                    snprintf(why, why_len, "value %d (%s): %s", n + 1, item, reason);
                    return -1;
                }
            } else {
                if (!teacher_name_ok(item)) {
                    snprintf(why, why_len, "\"%s\" is not a teacher name (letters, digits, '_', '-')", item);
                    return -1;
                }
                for (int j = 0; j < n; j++)
                    if (!strcmp(names[j], item)) {
                        snprintf(why, why_len, "%s is named twice", item);
                        return -1;
                    }
                strcpy(names[n], item);
            }
            n++;
        }
        if (k->type == KEY_FLOATS)
            memcpy(field, values, (size_t)n * sizeof(float));
        else
            memcpy(field, names, (size_t)n * CBD_NAME_MAX);
        memcpy((char *)base + k->count_offset, &n, sizeof n);
        return 0;
    }
    }
    return -1;
}

/* The shortest decimal text that reads back as v, without an exponent when
 * one is not needed ("10", not "1e+01"). */
static void format_float(float v, char *out, size_t len) {
    char exponent_form[64] = "";
    for (int p = 1; p <= 9; p++) {
        snprintf(out, len, "%.*g", p, (double)v);
        if (strtof(out, NULL) != v) continue;
        if (!strchr(out, 'e')) return;
        if (!exponent_form[0]) snprintf(exponent_form, sizeof exponent_form, "%s", out);
    }
    snprintf(out, len, "%s", exponent_form);
}

/* Formats the field of k inside base as INI text. */

static void format_value(const key_spec *k, const void *base, char *out, size_t len) {
    const char *field = (const char *)base + k->offset;
    int count = 0;
    if (k->type == KEY_FLOATS || k->type == KEY_NAMES) memcpy(&count, (const char *)base + k->count_offset, sizeof count);
    int iv;
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH: snprintf(out, len, "%s", field); return;
    case KEY_INT: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%d", iv); return;
    case KEY_U64: {
        uint64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(out, len, "%" PRIu64, v);
        return;
    }
    case KEY_FLOAT: {
        float v;
        memcpy(&v, field, sizeof v);
        format_float(v, out, len);
        return;
    }
    case KEY_BOOL: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%s", iv ? "true" : "false"); return;
    case KEY_ENUM: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%s", k->names[iv]); return;
    case KEY_FLOATS:
    case KEY_NAMES:
        out[0] = '\0';
        for (int i = 0; i < count; i++) {
            char item[64];
            if (k->type == KEY_FLOATS) {
                float v;
                memcpy(&v, field + (size_t)i * sizeof(float), sizeof v);
                format_float(v, item, sizeof item);
            }
            size_t at = strlen(out);
            snprintf(out + at, len - at, "%s%s", i ? ", " : "",
                     k->type == KEY_FLOATS ? item : field + (size_t)i * CBD_NAME_MAX);
        }
        return;
    }
}

/* ---- the loader ------------------------------------------------------------- */

typedef struct {
    int student, id; /* [student.NAME] index, key id in config_keys */
    int where;       /* file line, or -(override index) - 1 */
    char *value;
} named_entry;

typedef struct {
    cbd_config *cfg;
    const char *path; /* as given, for messages */
    const char *const *overrides;

    char *buf;
    size_t len, pos, line_end;
    int lineno, at_line_start, grows;

    int section, teacher; /* current section: S_*, S_TEACHER (with teacher), S_NAMED_STUDENT (with
                           * student) or S_NONE */
    int student;
    int section_line[S_COUNT];
    int teacher_line[CBD_MAX_TEACHERS];
    int student_line[CBD_MAX_STUDENTS];
    /* The keys of [student.NAME] sections (and --set student.NAME.KEY=...),
     * checked when read and applied to cfg->student when NAME is loaded. */
    named_entry *entries;
    int n_entries, cap_entries;
    cbd_config *scratch; /* where those values are parsed to check them */
    int selected;        /* index of the loaded [student.NAME], or -1 */
    /* where each key was set: 0 = default, > 0 = file line, < 0 = override -where - 1 */
    int where[K_COUNT];
    int teacher_where[CBD_MAX_TEACHERS][TK_COUNT];

    char *err;
    size_t err_len;
    int failed;
} loader;

static void fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(loader *L, const char *fmt, ...) {
    if (L->failed) return;
    L->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err, L->err_len, fmt, ap);
    va_end(ap);
}

/* "ini/x.ini:12: " or "--set train.epochs=3: " or "ini/x.ini: ". */
static void where_prefix(const loader *L, int where, char *out, size_t len) {
    if (where > 0)
        snprintf(out, len, "%s:%d: ", L->path, where);
    else if (where < 0)
        snprintf(out, len, "--set %s: ", L->overrides[-where - 1]);
    else
        snprintf(out, len, "%s: ", L->path);
}

static const key_spec *spec_of(int section, int id) {
    return section == S_TEACHER ? &teacher_keys[id] : &config_keys[id];
}

/* The fixed section whose keys `section` takes ([student.NAME]: [student]'s). */
static int keys_section(int section) { return section == S_NAMED_STUDENT ? S_student : section; }

static int *where_of(loader *L, int section, int teacher, int id) {
    return section == S_TEACHER ? &L->teacher_where[teacher][id] : &L->where[id];
}

static void section_label(const loader *L, int section, int teacher, char *out, size_t len) {
    if (section == S_TEACHER)
        snprintf(out, len, "teacher.%s", L->cfg->teachers[teacher].name);
    else if (section == S_NAMED_STUDENT)
        snprintf(out, len, "student.%s", L->cfg->students[teacher]);
    else if (section == S_student && L->selected >= 0)
        snprintf(out, len, "student.%s", L->cfg->students[L->selected]);
    else
        snprintf(out, len, "%s", section_names[section]);
}

static void *base_of(loader *L, int section, int teacher) {
    return section == S_TEACHER ? (void *)&L->cfg->teachers[teacher] : (void *)L->cfg;
}

/* An error about a key's current value: "<where>[sec] key = value: why". */
static void key_fail(loader *L, int section, int teacher, int id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void key_fail(loader *L, int section, int teacher, int id, const char *fmt, ...) {
    const key_spec *k = spec_of(section, id);
    const int where = *where_of(L, section, teacher, id);
    char prefix[CBD_PATH_MAX + 64], sec[96], value[CBD_INI_MAX_LINE], why[1024];
    where_prefix(L, where, prefix, sizeof prefix);
    section_label(L, section, teacher, sec, sizeof sec);
    format_value(k, base_of(L, section, teacher), value, sizeof value);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (where < 0)
        fail(L, "%s%s", prefix, why);
    else
        fail(L, "%s[%s] %s = %s%s: %s", prefix, sec, k->key, value, where ? "" : " (default)", why);
}

static int section_index(const char *name) {
    for (int s = 0; s < S_COUNT; s++)
        if (!strcmp(name, section_names[s])) return s;
    return S_NONE;
}

static int find_key(int section, const char *key) {
    section = keys_section(section);
    const int n = section == S_TEACHER ? TK_COUNT : K_COUNT;
    for (int i = 0; i < n; i++) {
        const key_spec *k = spec_of(section, i);
        if ((section == S_TEACHER || !strcmp(k->section, section_names[section])) && !strcmp(k->key, key))
            return i;
    }
    return -1;
}

static int edit_distance(const char *a, const char *b) {
    const size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int row[41];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            const int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_key(loader *L, int where, int section, int teacher, const char *key) {
    char prefix[CBD_PATH_MAX + 64], sec[96], keys[1024] = "", hint[128] = "";
    where_prefix(L, where, prefix, sizeof prefix);
    section_label(L, section, teacher, sec, sizeof sec);
    int best = 3;
    section = keys_section(section);
    const int n = section == S_TEACHER ? TK_COUNT : K_COUNT;
    for (int i = 0; i < n; i++) {
        const key_spec *k = spec_of(section, i);
        if (section != S_TEACHER && strcmp(k->section, section_names[section])) continue;
        size_t at = strlen(keys);
        snprintf(keys + at, sizeof keys - at, "%s%s", at ? ", " : "", k->key);
        const int d = edit_distance(key, k->key);
        if (d < best) {
            best = d;
            snprintf(hint, sizeof hint, "did you mean %s? ", k->key);
        }
    }
    fail(L, "%s[%s] %s: unknown key (%s[%s] has: %s)", prefix, sec, key, hint, sec, keys);
}

static void assign_named(loader *L, int where, int student, const char *key, const char *text);

/* Sets section.key (section S_* or S_TEACHER + teacher) from text; keys of
 * [student.NAME] (S_NAMED_STUDENT + student) are checked and kept. */
static void assign(loader *L, int where, int section, int teacher, const char *key, const char *text) {
    if (section == S_NAMED_STUDENT) {
        assign_named(L, where, teacher, key, text);
        return;
    }
    char prefix[CBD_PATH_MAX + 64];
    where_prefix(L, where, prefix, sizeof prefix);
    if (section == S_NONE) {
        fail(L, "%s%s: key outside any section: put it under a [section] header", prefix, key);
        return;
    }
    if (!*key) {
        fail(L, "%smissing key name before '='", prefix);
        return;
    }
    const int id = find_key(section, key);
    if (id < 0) {
        unknown_key(L, where, section, teacher, key);
        return;
    }
    int *slot = where_of(L, section, teacher, id);
    char sec[96];
    section_label(L, section, teacher, sec, sizeof sec);
    if (where > 0 && *slot > 0) {
        fail(L, "%s[%s] %s: duplicate key (first set at line %d)", prefix, sec, key, *slot);
        return;
    }
    char why[1024];
    if (parse_value(spec_of(section, id), base_of(L, section, teacher), text, why, sizeof why) != 0) {
        if (where < 0)
            fail(L, "%s%s", prefix, why);
        else
            fail(L, "%s[%s] %s = %s: %s", prefix, sec, key, text, why);
        return;
    }
    *slot = where;
}

static void assign_named(loader *L, int where, int student, const char *key, const char *text) {
    char prefix[CBD_PATH_MAX + 64], sec[96];
    where_prefix(L, where, prefix, sizeof prefix);
    section_label(L, S_NAMED_STUDENT, student, sec, sizeof sec);
    if (!*key) {
        fail(L, "%smissing key name before '='", prefix);
        return;
    }
    const int id = find_key(S_NAMED_STUDENT, key);
    if (id < 0) {
        unknown_key(L, where, S_NAMED_STUDENT, student, key);
        return;
    }
    if (where > 0)
        for (int i = 0; i < L->n_entries; i++)
            if (L->entries[i].student == student && L->entries[i].id == id && L->entries[i].where > 0) {
                fail(L, "%s[%s] %s: duplicate key (first set at line %d)", prefix, sec, key, L->entries[i].where);
                return;
            }
    char why[1024];
    if (parse_value(&config_keys[id], L->scratch, text, why, sizeof why) != 0) {
        if (where < 0)
            fail(L, "%s%s", prefix, why);
        else
            fail(L, "%s[%s] %s = %s: %s", prefix, sec, key, text, why);
        return;
    }
    if (L->n_entries == L->cap_entries) {
        L->cap_entries = L->cap_entries ? 2 * L->cap_entries : 64;
        named_entry *grown = realloc(L->entries, (size_t)L->cap_entries * sizeof *grown);
        if (!grown) CBD_PANIC("out of memory reading %s", L->path);
        L->entries = grown;
    }
    char *copy = strdup(text);
    if (!copy) CBD_PANIC("out of memory reading %s", L->path);
    L->entries[L->n_entries++] = (named_entry){student, id, where, copy};
}

/* Applies the keys of [student.NAME] number `student` over cfg->student. */
static void select_named_student(loader *L, int student) {
    L->selected = student;
    L->where[K_student_label] = 0; /* a label names one model: not inherited from [student] */
    for (int i = 0; i < L->n_entries && !L->failed; i++) {
        const named_entry *e = &L->entries[i];
        if (e->student != student) continue;
        char why[1024];
        if (parse_value(&config_keys[e->id], L->cfg, e->value, why, sizeof why) != 0)
            CBD_PANIC("[student.%s] %s: %s", L->cfg->students[student], config_keys[e->id].key, why);
        L->where[e->id] = e->where;
    }
}

static int named_student_index(const cbd_config *cfg, const char *name) {
    for (int i = 0; i < cfg->student_count; i++)
        if (!strcmp(cfg->students[i], name)) return i;
    return -1;
}

static void student_names(const cbd_config *cfg, char *out, size_t len) {
    snprintf(out, len, "student");
    for (int i = 0; i < cfg->student_count; i++) {
        size_t at = strlen(out);
        snprintf(out + at, len - at, ", %s", cfg->students[i]);
    }
}

static void sections_list(char *out, size_t len) {
    out[0] = '\0';
    for (int s = 0; s < S_COUNT; s++) {
        size_t at = strlen(out);
        snprintf(out + at, len - at, "[%s], ", section_names[s]);
    }
    size_t at = strlen(out);
    snprintf(out + at, len - at, "[teacher.NAME], [student.NAME]");
}

/* A section header at the current line. */
static void enter_section(loader *L, const char *name) {
    const int line = L->lineno;
    char known[256];
    if (!strncmp(name, "teacher.", 8)) {
        const char *tname = name + 8;
        if (!teacher_name_ok(tname)) {
            fail(L, "%s:%d: [%s]: bad teacher name \"%s\": use 1 to %d letters, digits, '_' and '-'", L->path, line,
                 name, tname, CBD_NAME_MAX - 1);
            return;
        }
        cbd_config *cfg = L->cfg;
        for (int t = 0; t < cfg->teacher_count; t++)
            if (!strcmp(cfg->teachers[t].name, tname)) {
                fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->teacher_line[t]);
                return;
            }
        if (cfg->teacher_count == CBD_MAX_TEACHERS) {
            fail(L, "%s:%d: [%s]: too many teachers (at most %d)", L->path, line, name, CBD_MAX_TEACHERS);
            return;
        }
        const int t = cfg->teacher_count++;
        cbd_teacher_config *tc = &cfg->teachers[t];
        set_text(tc->name, sizeof tc->name, tname);
        for (int i = 0; i < TK_COUNT; i++) {
            const key_spec *k = &teacher_keys[i];
            char why[256];
            if (!(k->flags & CBD_KEY_FLAG_COMPUTED) && parse_value(k, tc, k->def, why, sizeof why) != 0)
                CBD_PANIC("default of [teacher] %s: %s", k->key, why);
        }
        L->teacher_line[t] = line;
        L->section = S_TEACHER;
        L->teacher = t;
        return;
    }
    if (!strncmp(name, "student.", 8)) {
        const char *sname = name + 8;
        cbd_config *cfg = L->cfg;
        if (!teacher_name_ok(sname) || !strcmp(sname, "student") || !strncmp(sname, "teacher-", 8)) {
            fail(L, "%s:%d: [%s]: bad model name \"%s\": use 1 to %d letters, digits, '_' and '-' (not \"student\" "
                    "and not starting with \"teacher-\")",
                 L->path, line, name, sname, CBD_NAME_MAX - 1);
            return;
        }
        const int old = named_student_index(cfg, sname);
        if (old >= 0) {
            fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->student_line[old]);
            return;
        }
        if (cfg->student_count == CBD_MAX_STUDENTS) {
            fail(L, "%s:%d: [%s]: too many [student.NAME] sections (at most %d)", L->path, line, name,
                 CBD_MAX_STUDENTS);
            return;
        }
        const int i = cfg->student_count++;
        set_text(cfg->students[i], CBD_NAME_MAX, sname);
        L->student_line[i] = line;
        L->section = S_NAMED_STUDENT;
        L->student = i;
        return;
    }
    for (int s = 0; s < S_COUNT; s++)
        if (!strcmp(name, section_names[s])) {
            if (L->section_line[s]) {
                fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->section_line[s]);
                return;
            }
            L->section_line[s] = line;
            L->section = s;
            return;
        }
    sections_list(known, sizeof known);
    if (!strcmp(name, "teacher"))
        fail(L, "%s:%d: [teacher]: name the teacher, as in [teacher.t1]", L->path, line);
    else
        fail(L, "%s:%d: [%s]: unknown section (sections: %s)", L->path, line, name, known);
}

/* Called by the reader at the start of each line: counts it, strips leading
 * blanks, checks its length and syntax, and follows section headers. */
static int begin_line(loader *L, int num) {
    L->lineno++;
    while (L->pos < L->len && (L->buf[L->pos] == ' ' || L->buf[L->pos] == '\t')) L->pos++;
    const char *nl = memchr(L->buf + L->pos, '\n', L->len - L->pos);
    L->line_end = nl ? (size_t)(nl - L->buf) + 1 : L->len;
    size_t content = (nl ? (size_t)(nl - L->buf) : L->len) - L->pos;
    const char *line = L->buf + L->pos;
    if (content && line[content - 1] == '\r') content--;
    if (memchr(line, '\0', content)) {
        fail(L, "%s:%d: NUL byte in the line (not a text file?)", L->path, L->lineno);
        return -1;
    }
    const int limit = (L->grows ? CBD_INI_MAX_LINE : num) - 3;
    if (content > (size_t)limit) {
        fail(L, "%s:%d: line longer than %d characters", L->path, L->lineno, limit);
        return -1;
    }
    if (!content || line[0] == ';' || line[0] == '#') return 0;
    if (line[0] == '[') {
        const char *close = memchr(line, ']', content);
        if (!close) {
            fail(L, "%s:%d: %.*s: missing ']'", L->path, L->lineno, (int)content, line);
            return -1;
        }
        for (const char *p = close + 1; p < line + content; p++) {
            if (*p == ';' || *p == '#') break;
            if (*p != ' ' && *p != '\t') {
                fail(L, "%s:%d: unexpected text after the section header: %.*s", L->path, L->lineno,
                     (int)(line + content - (close + 1)), close + 1);
                return -1;
            }
        }
        char name[CBD_NAME_MAX + 64];
        const size_t n = (size_t)(close - line - 1);
        if (n >= sizeof name) {
            fail(L, "%s:%d: [%.*s]: section name too long", L->path, L->lineno, (int)n, line + 1);
            return -1;
        }
        memcpy(name, line + 1, n);
        name[n] = '\0';
        enter_section(L, trim(name));
        return L->failed ? -1 : 0;
    }
    /* A key line needs '=' or ':' before any inline comment (inih's rule). */
    for (size_t i = 0; i < content; i++) {
        if (line[i] == '=' || line[i] == ':') return 0;
        if (line[i] == ';' && i && (line[i - 1] == ' ' || line[i - 1] == '\t')) break;
    }
    fail(L, "%s:%d: %.*s: expected `key = value`, a [section] header or a comment", L->path, L->lineno,
         (int)(content > 80 ? 80 : content), line);
    return -1;
}

/* inih's reader: hands over the current line with fgets semantics. */
static char *next_line(char *str, int num, void *stream) {
    loader *L = stream;
    if (L->failed || L->pos >= L->len) return NULL;
    if (L->at_line_start) {
        if (begin_line(L, num) != 0) return NULL;
        L->at_line_start = 0;
    }
    size_t n = 0;
    while (n + 1 < (size_t)num && L->pos < L->line_end) str[n++] = L->buf[L->pos++];
    str[n] = '\0';
    if (L->pos >= L->line_end) L->at_line_start = 1;
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    (void)section; /* the reader follows sections itself */
    loader *L = user;
    if (!L->failed)
        assign(L, L->lineno, L->section, L->section == S_NAMED_STUDENT ? L->student : L->teacher, name, value);
    return 1;
}

/* Runs inih over the file in L->buf with a known dialect. */
static int parse_buffer(loader *L) {
#if CBD_INIH_RUNTIME_OPTIONS
    /* This inih build takes its options at run time: fix the dialect we
     * document and let the line buffer grow to CBD_INI_MAX_LINE. */
    static char start_prefixes[] = ";#", inline_prefixes[] = ";";
    const bool saved_multiline = ini_allow_multiline, saved_bom = ini_allow_bom,
               saved_inline = ini_allow_inline_comments, saved_stack = ini_use_stack,
               saved_realloc = ini_allow_realloc, saved_stop = ini_stop_on_first_error,
               saved_no_value = ini_allow_no_value;
    char *const saved_start = ini_start_comment_prefixes, *const saved_inline_prefixes = ini_inline_comment_prefixes;
    const int saved_max = ini_max_line;
    ini_allow_multiline = false;
    ini_allow_bom = true;
    ini_allow_inline_comments = true;
    ini_start_comment_prefixes = start_prefixes;
    ini_inline_comment_prefixes = inline_prefixes;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CBD_INI_MAX_LINE;
    ini_stop_on_first_error = false;
    ini_allow_no_value = false;
    L->grows = 1;
#endif
    const int rc = ini_parse_stream(next_line, L, on_key, L);
#if CBD_INIH_RUNTIME_OPTIONS
    ini_allow_multiline = saved_multiline;
    ini_allow_bom = saved_bom;
    ini_allow_inline_comments = saved_inline;
    ini_start_comment_prefixes = saved_start;
    ini_inline_comment_prefixes = saved_inline_prefixes;
    ini_use_stack = saved_stack;
    ini_allow_realloc = saved_realloc;
    ini_max_line = saved_max;
    ini_stop_on_first_error = saved_stop;
    ini_allow_no_value = saved_no_value;
#endif
    if (L->failed) return -1;
    if (rc > 0) {
        fail(L, "%s:%d: syntax error", L->path, rc);
        return -1;
    }
    if (rc < 0) {
        fail(L, "%s: inih could not parse the file (code %d)", L->path, rc);
        return -1;
    }
    return 0;
}

static int read_file(loader *L) {
    FILE *f = fopen(L->path, "rb");
    if (!f) {
        fail(L, "cannot open %s: %s", L->path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = cbd_malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)16 << 20) {
                fclose(f);
                free(buf);
                fail(L, "%s: larger than 16 MiB: not an experiment INI", L->path);
                return -1;
            }
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) CBD_PANIC("out of memory reading %s", L->path);
            buf = grown;
        }
        const size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    const int bad = ferror(f);
    const int saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        fail(L, "cannot read %s: %s", L->path, strerror(saved));
        return -1;
    }
    L->buf = buf;
    L->len = len;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) L->pos = 3; /* UTF-8 byte order mark */
    L->at_line_start = 1;
    return 0;
}

/* Splits "section.key=value" (teacher keys: "teacher.NAME.key=value"). */
static void apply_override(loader *L, int i) {
    const char *text = L->overrides[i];
    const int where = -i - 1;
    char buf[CBD_INI_MAX_LINE];
    if (strlen(text) >= sizeof buf) {
        fail(L, "--set %.60s...: too long", text);
        return;
    }
    strcpy(buf, text);
    char *eq = strchr(buf, '=');
    char *dot = eq ? (*eq = '\0', strrchr(buf, '.')) : NULL;
    if (!eq || !dot) {
        fail(L, "--set %s: expected SECTION.KEY=VALUE, e.g. train.epochs=3 or teacher.t1.seed=5", text);
        return;
    }
    *dot = '\0';
    const char *section = trim(buf), *key = trim(dot + 1), *value = trim(eq + 1);
    if (!ini_safe(value)) {
        fail(L, "--set %s: control characters or ' ;' cannot be written back to an INI file", text);
        return;
    }
    if (!strncmp(section, "teacher.", 8)) {
        const cbd_config *cfg = L->cfg;
        for (int t = 0; t < cfg->teacher_count; t++)
            if (!strcmp(cfg->teachers[t].name, section + 8)) {
                assign(L, where, S_TEACHER, t, key, value);
                return;
            }
        char names[1024] = "";
        for (int t = 0; t < cfg->teacher_count; t++) {
            size_t at = strlen(names);
            snprintf(names + at, sizeof names - at, "%s%s", t ? ", " : "", cfg->teachers[t].name);
        }
        fail(L, "--set %s: %s has no [%s] section (teachers: %s)", text, L->path, section,
             cfg->teacher_count ? names : "none");
        return;
    }
    if (!strncmp(section, "student.", 8)) {
        const int i = named_student_index(L->cfg, section + 8);
        if (i >= 0) {
            assign(L, where, S_NAMED_STUDENT, i, key, value);
            return;
        }
        char names[4096];
        student_names(L->cfg, names, sizeof names);
        fail(L, "--set %s: %s has no [%s] section (models: %s)", text, L->path, section, names);
        return;
    }
    const int s = section_index(section);
    if (s != S_NONE) {
        assign(L, where, s, 0, key, value);
        return;
    }
    char known[256];
    sections_list(known, sizeof known);
    fail(L, "--set %s: unknown section [%s] (sections: %s)", text, section, known);
}

/* ---- resolution and checks between keys -------------------------------------- */

/* base + "/" + rel, with rel's leading "./" and "../" taken off base. */
static int join_path(char *out, size_t cap, const char *base, const char *rel) {
    char dir[CBD_PATH_MAX];
    if (strlen(base) >= sizeof dir) return -1;
    strcpy(dir, base);
    for (;;) {
        if (!strcmp(rel, ".")) {
            rel = "";
        } else if (!strncmp(rel, "./", 2)) {
            rel += 2;
        } else if (!strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                dir[1] = '\0';
            else if (slash)
                *slash = '\0';
            rel += rel[2] ? 3 : 2;
        } else {
            break;
        }
        while (*rel == '/') rel++;
    }
    const size_t dl = strlen(dir);
    const int n = *rel ? snprintf(out, cap, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", rel)
                       : snprintf(out, cap, "%s", dir);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void resolve_path(loader *L, int id, const char *base) {
    char *field = (char *)L->cfg + config_keys[id].offset;
    if (!field[0] || field[0] == '/') return;
    char joined[CBD_PATH_MAX];
    if (join_path(joined, sizeof joined, base, field) != 0) {
        key_fail(L, section_index(config_keys[id].section), 0, id, "longer than %d characters once resolved against %s",
                 CBD_PATH_MAX - 1, base);
        return;
    }
    set_text(field, CBD_PATH_MAX, joined);
}

static int source_location(loader *L) {
    cbd_config *cfg = L->cfg;
    if (strlen(L->path) >= sizeof cfg->source_path) {
        fail(L, "%.60s...: path too long", L->path);
        return -1;
    }
    strcpy(cfg->source_path, L->path);
    char *real = realpath(L->path, NULL);
    if (!real) {
        fail(L, "%s: cannot resolve the path: %s", L->path, strerror(errno));
        return -1;
    }
    char *slash = strrchr(real, '/');
    if (slash == real) slash[1] = '\0';
    else if (slash) *slash = '\0';
    const int ok = strlen(real) < sizeof cfg->source_dir;
    if (ok) strcpy(cfg->source_dir, real);
    free(real);
    if (!ok) fail(L, "%s: folder path too long", L->path);
    return ok ? 0 : -1;
}

/* The computed defaults of [student] keys. */
static void student_defaults(loader *L) {
    cbd_config *cfg = L->cfg;
    set_text(cfg->student_name, CBD_NAME_MAX, L->selected >= 0 ? cfg->students[L->selected] : "student");
    if (!L->where[K_student_label]) set_text(cfg->student.label, CBD_NAME_MAX, cfg->student_name);
    if (!L->where[K_student_seed]) cfg->student.seed = cfg->experiment.seed;
    if (cfg->student.lr == 0.0f) cfg->student.lr = cfg->train.lr;
    if (!cfg->student.views) cfg->student.views = cfg->features.views;
}

static void resolve(loader *L) {
    cbd_config *cfg = L->cfg;

    if (!cfg->data.train[0]) {
        if (L->where[K_data_train])
            key_fail(L, S_data, 0, K_data_train, "required: the training manifest or packed image store");
        else if (L->section_line[S_data])
            fail(L, "%s:%d: [data] train is required: the training manifest or packed image store", L->path,
                 L->section_line[S_data]);
        else
            fail(L, "%s: [data] train is required: add a [data] section with train = MANIFEST", L->path);
        return;
    }

    if (!L->where[K_experiment_name]) {
        const char *base = strrchr(cfg->source_path, '/');
        base = base ? base + 1 : cfg->source_path;
        size_t n = strlen(base);
        if (n > 4 && !strcmp(base + n - 4, ".ini")) n -= 4;
        char why[128];
        if (n >= CBD_NAME_MAX) {
            fail(L, "%s: [experiment] name: the file name is longer than %d characters: set the name", L->path,
                 CBD_NAME_MAX - 1);
            return;
        }
        memcpy(cfg->experiment.name, base, n);
        cfg->experiment.name[n] = '\0';
        if (check_experiment_name(cfg->experiment.name, why, sizeof why) != 0) {
            fail(L, "%s: [experiment] name: the file name gives \"%s\", not a valid name (%s): set the name",
                 L->path, cfg->experiment.name, why);
            return;
        }
    }
    if (!L->where[K_experiment_output_dir])
        snprintf(cfg->experiment.output_dir, sizeof cfg->experiment.output_dir, "runs/%s", cfg->experiment.name);
    char cwd[CBD_PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        fail(L, "%s: cannot read the current working directory: %s", L->path, strerror(errno));
        return;
    }
    resolve_path(L, K_experiment_output_dir, cwd);
    for (int id = 0; id < K_COUNT; id++)
        if (config_keys[id].type == KEY_PATH && id != K_experiment_output_dir) resolve_path(L, id, cfg->source_dir);
    if (L->failed) return;

    for (int t = 0; t < cfg->teacher_count; t++) {
        cbd_teacher_config *tc = &cfg->teachers[t];
        if (!L->teacher_where[t][TK_seed]) tc->seed = cfg->experiment.seed + 1 + (uint64_t)t;
        if (!tc->epochs) tc->epochs = cfg->train.epochs;
        if (!tc->arch[0]) set_text(tc->arch, sizeof tc->arch, cfg->model.arch);
        if (tc->lr == 0.0f) tc->lr = cfg->train.lr;
        if (!L->teacher_where[t][TK_head]) tc->head = cfg->model.head;
        if (!L->teacher_where[t][TK_label]) snprintf(tc->label, sizeof tc->label, "teacher %s", tc->name);
    }
    student_defaults(L);
    if (!cfg->features.batch_size) cfg->features.batch_size = cfg->train.batch_size;
    if (!cfg->eval.batch_size) cfg->eval.batch_size = cfg->train.batch_size;
    if (!cfg->student.epochs) cfg->student.epochs = cfg->train.epochs;
    if (!cfg->student.arch[0]) set_text(cfg->student.arch, sizeof cfg->student.arch, cfg->model.arch);

    for (int i = 0; i < cfg->student.teachers_count; i++)
        if (!cbd_config_teacher(cfg, cfg->student.teachers[i])) {
            key_fail(L, S_student, 0, K_student_teachers, "no [teacher.%s] section", cfg->student.teachers[i]);
            return;
        }
    if (!cfg->student.teachers_count) {
        for (int t = 0; t < cfg->teacher_count; t++)
            set_text(cfg->student.teachers[t], CBD_NAME_MAX, cfg->teachers[t].name);
        cfg->student.teachers_count = cfg->teacher_count;
    }

    const int channels = cfg->data.channels;
    float *lists[2] = {cfg->data.mean, cfg->data.std};
    int *counts[2] = {&cfg->data.mean_count, &cfg->data.std_count};
    const int ids[2] = {K_data_mean, K_data_std};
    for (int j = 0; j < 2; j++) {
        if (*counts[j] != 1 && *counts[j] != channels) {
            key_fail(L, S_data, 0, ids[j], "%d values for %d channels: give 1 value or %d", *counts[j], channels,
                     channels);
            return;
        }
        for (int c = *counts[j]; c < channels; c++) lists[j][c] = lists[j][0];
        *counts[j] = channels;
    }
}

/* Blames whichever of two keys was set explicitly (a first, when both or neither). */
static int blame(const loader *L, int a, int b);


/* The model-specific checks of [student] (or the loaded [student.NAME]). */
static void check_student(loader *L) {
    const cbd_config *cfg = L->cfg;
    const cbd_student_method method = cfg->student.method;
    const int trains = method == CBD_METHOD_TRAIN || method == CBD_METHOD_FINETUNE || method == CBD_METHOD_CRT ||
                       method == CBD_METHOD_LWS;
    if (trains && cfg->train.warmup_epochs >= cfg->student.epochs) {
        key_fail(L, S_student, 0, K_student_epochs, "must be more than [train] warmup_epochs (%d)",
                 cfg->train.warmup_epochs);
        return;
    }
    if (method == CBD_METHOD_FINETUNE || method == CBD_METHOD_CRT || method == CBD_METHOD_LWS ||
        method == CBD_METHOD_TAU_NORM) {
        if (!cfg->student.from[0]) {
            key_fail(L, S_student, 0, K_student_method, "needs `from`: the NAME of the [teacher.NAME] it starts from");
            return;
        }
        const cbd_teacher_config *t = cbd_config_teacher(cfg, cfg->student.from);
        if (!t) {
            key_fail(L, S_student, 0, K_student_from, "no [teacher.%s] section", cfg->student.from);
            return;
        }
        if ((method == CBD_METHOD_LWS || method == CBD_METHOD_TAU_NORM) && t->head != CBD_HEAD_LINEAR) {
            key_fail(L, S_student, 0, K_student_method,
                     "rescales the rows of a linear classifier, and [teacher.%s] has a cosine head (whose rows are "
                     "normalised already): set [teacher.%s] head = linear",
                     t->name, t->name);
            return;
        }
    }
    if (method == CBD_METHOD_ENSEMBLE && cfg->student.teachers_count == 0) {
        key_fail(L, S_student, 0, K_student_method, "needs teachers: add [teacher.NAME] sections");
        return;
    }
    if (cfg->student.teacher_source == CBD_TEACHER_SOURCE_STORE && cfg->student.views > cfg->features.views) {
        key_fail(L, S_student, 0, K_student_views, "the feature stores hold %d views ([features] views)",
                 cfg->features.views);
        return;
    }
    if (method != CBD_METHOD_TRAIN) return;
    const cbd_distill_kind distill = cfg->student.distill;
    if (distill != CBD_DISTILL_NONE && cfg->student.teachers_count == 0) {
        key_fail(L, S_student, 0, K_student_distill,
                 "needs a teacher: add a [teacher.NAME] section, or set distill = none");
        return;
    }
    if ((distill == CBD_DISTILL_LOGIT || distill == CBD_DISTILL_HYBRID) &&
        cfg->student.teacher_source == CBD_TEACHER_SOURCE_STORE && !cfg->features.logits) {
        const int id = blame(L, K_features_logits, K_student_distill);
        key_fail(L, id == K_features_logits ? S_features : S_student, 0, id,
                 "[student] distill = %s reads teacher logits from the feature store: set [features] logits = true "
                 "or [student] teacher_source = online",
                 cbd_distill_kind_names[distill]);
        return;
    }
}

static int blame(const loader *L, int a, int b) { return L->where[a] || !L->where[b] ? a : b; }

static void check_between_keys(loader *L) {
    const cbd_config *cfg = L->cfg;
    int id;
    if (cfg->experiment.precision == CBD_PRECISION_BF16 && cfg->experiment.device == CBD_DEVICE_CPU) {
        id = blame(L, K_experiment_precision, K_experiment_device);
        key_fail(L, S_experiment, 0, id, "needs device = cuda (or auto with a GPU): the cpu backend "
                                         "computes in fp32");
        return;
    }
    if (cfg->data.scale_max < cfg->data.scale_min) {
        id = blame(L, K_data_scale_max, K_data_scale_min);
        key_fail(L, S_data, 0, id, "scale_max (%g) must be at least scale_min (%g)", (double)cfg->data.scale_max,
                 (double)cfg->data.scale_min);
        return;
    }
    if (cfg->data.ratio_max < cfg->data.ratio_min) {
        id = blame(L, K_data_ratio_max, K_data_ratio_min);
        key_fail(L, S_data, 0, id, "ratio_max (%g) must be at least ratio_min (%g)", (double)cfg->data.ratio_max,
                 (double)cfg->data.ratio_min);
        return;
    }
    if (cfg->train.warmup_epochs >= cfg->train.epochs) {
        id = blame(L, K_train_warmup_epochs, K_train_epochs);
        key_fail(L, S_train, 0, id, "warmup_epochs (%d) must be less than epochs (%d)", cfg->train.warmup_epochs,
                 cfg->train.epochs);
        return;
    }
    for (int t = 0; t < cfg->teacher_count; t++)
        if (cfg->train.warmup_epochs >= cfg->teachers[t].epochs) {
            key_fail(L, S_TEACHER, t, TK_epochs, "must be more than [train] warmup_epochs (%d)",
                     cfg->train.warmup_epochs);
            return;
        }
    if (cfg->eval.few_threshold > cfg->eval.many_threshold) {
        id = blame(L, K_eval_few_threshold, K_eval_many_threshold);
        key_fail(L, S_eval, 0, id, "few_threshold (%d) must not exceed many_threshold (%d)", cfg->eval.few_threshold,
                 cfg->eval.many_threshold);
        return;
    }
    check_student(L);
}

int cbd_config_load(cbd_config *cfg, const char *path, const char *const *overrides, int n_overrides,
                    char *err, size_t err_len) {
    return cbd_config_load_model(cfg, path, overrides, n_overrides, NULL, err, err_len);
}

int cbd_config_load_model(cbd_config *cfg, const char *path, const char *const *overrides, int n_overrides,
                          const char *name, char *err, size_t err_len) {
    memset(cfg, 0, sizeof *cfg);
    loader *L = cbd_calloc(1, sizeof *L);
    L->cfg = cfg;
    L->path = path;
    L->overrides = overrides;
    L->err = err;
    L->err_len = err_len;
    L->section = S_NONE;
    L->selected = -1;
    L->scratch = cbd_calloc(1, sizeof *L->scratch);
    if (err_len) err[0] = '\0';

    for (int id = 0; id < K_COUNT; id++) {
        const key_spec *k = &config_keys[id];
        char why[256];
        if (!(k->flags & (CBD_KEY_FLAG_COMPUTED | CBD_KEY_FLAG_REQUIRED)) &&
            parse_value(k, cfg, k->def, why, sizeof why) != 0)
            CBD_PANIC("default of [%s] %s: %s", k->section, k->key, why);
    }
    if (read_file(L) == 0 && source_location(L) == 0 && parse_buffer(L) == 0) {
        for (int i = 0; i < n_overrides && !L->failed; i++) apply_override(L, i);
        if (!L->failed && name && strcmp(name, "student")) {
            const int i = named_student_index(cfg, name);
            if (i < 0) {
                char names[4096];
                student_names(cfg, names, sizeof names);
                fail(L, "%s: no [student.%s] section (models: %s)", L->path, name, names);
            } else {
                select_named_student(L, i);
            }
        }
        if (!L->failed) resolve(L);
        if (!L->failed) check_between_keys(L);
    }
    const int rc = L->failed ? -1 : 0;
    for (int i = 0; i < L->n_entries; i++) free(L->entries[i].value);
    free(L->entries);
    free(L->scratch);
    free(L->buf);
    free(L);
    return rc;
}

const cbd_teacher_config *cbd_config_teacher(const cbd_config *cfg, const char *name) {
    for (int t = 0; t < cfg->teacher_count; t++)
        if (!strcmp(cfg->teachers[t].name, name)) return &cfg->teachers[t];
    return NULL;
}

void cbd_config_student_stem(const cbd_config *cfg, char *out, size_t len) {
    const int n = strcmp(cfg->student_name, "student")
                      ? snprintf(out, len, "%s/students/%s", cfg->experiment.output_dir, cfg->student_name)
                      : snprintf(out, len, "%s/student", cfg->experiment.output_dir);
    if (n < 0 || (size_t)n >= len) CBD_PANIC("output path too long: %s", cfg->experiment.output_dir);
}

const char *cbd_config_device_name(const cbd_config *cfg) { return cbd_device_names[cfg->experiment.device]; }

const char *cbd_config_precision_name(const cbd_config *cfg) {
    return cbd_precision_names[cfg->experiment.precision];
}

/* ---- the dump ------------------------------------------------------------------ */

static void write_keys(FILE *out, const key_spec *keys, int n, const char *section, const void *base) {
    char value[CBD_INI_MAX_LINE];
    for (int i = 0; i < n; i++) {
        if (section && strcmp(keys[i].section, section)) continue;
        format_value(&keys[i], base, value, sizeof value);
        fprintf(out, "%s =%s%s\n", keys[i].key, value[0] ? " " : "", value);
    }
}

void cbd_config_write(const cbd_config *cfg, FILE *out) {
    fprintf(out, "# cbd experiment configuration, resolved\n");
    if (strcmp(cfg->student_name, "student"))
        fprintf(out, "# [student] is model %s: [student] with the keys of [student.%s]\n", cfg->student_name,
                cfg->student_name);
    for (int s = 0; s < S_COUNT; s++) {
        fprintf(out, "\n[%s]\n", section_names[s]);
        write_keys(out, config_keys, K_COUNT, section_names[s], cfg);
        if (s == S_augment)
            for (int t = 0; t < cfg->teacher_count; t++) {
                fprintf(out, "\n[teacher.%s]\n", cfg->teachers[t].name);
                write_keys(out, teacher_keys, TK_COUNT, NULL, &cfg->teachers[t]);
            }
    }
}

uint64_t cbd_config_digest(const cbd_config *cfg) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) CBD_PANIC("open_memstream: %s", strerror(errno));
    cbd_config_write(cfg, f);
    if (fclose(f) != 0) CBD_PANIC("open_memstream: %s", strerror(errno));
    const uint64_t digest = cbd_fnv1a64(text, len);
    free(text);
    return digest;
}

/* ---- --help -------------------------------------------------------------------- */

static void describe_type(const key_spec *k, char *out, size_t len) {
    char names[256], why[512];
    switch (k->type) {
    case KEY_STRING: snprintf(out, len, "string"); break;
    case KEY_PATH: snprintf(out, len, "path"); break;
    case KEY_INT: snprintf(out, len, "integer"); break;
    case KEY_U64: snprintf(out, len, "unsigned 64-bit integer"); break;
    case KEY_FLOAT: snprintf(out, len, "number"); break;
    case KEY_BOOL: snprintf(out, len, "bool"); break;
    case KEY_ENUM:
        join_names(k->names, "|", names, sizeof names);
        snprintf(out, len, "%s", names);
        break;
    case KEY_FLOATS: snprintf(out, len, "1 to %d numbers", k->capacity); break;
    case KEY_NAMES: snprintf(out, len, "list of up to %d teacher names", k->capacity); break;
    }
    const constraint *c = &k->cons;
    size_t at = strlen(out);
    if (c->check) {
        c->check(NULL, why, sizeof why);
        snprintf(out + at, len - at, ": %s", why);
    } else if (c->flags & C_HI) {
        snprintf(out + at, len - at, " in %c%g, %g%c", (c->flags & C_LO_OPEN) ? '(' : '[', c->lo, c->hi,
                 (c->flags & C_HI_OPEN) ? ')' : ']');
    } else if (c->flags & C_LO) {
        snprintf(out + at, len - at, " %s %g", (c->flags & C_LO_OPEN) ? ">" : ">=", c->lo);
    }
}

static void help_keys(FILE *out, const key_spec *keys, int n, const char *section) {
    char type[768];
    for (int i = 0; i < n; i++) {
        const key_spec *k = &keys[i];
        if (section && strcmp(k->section, section)) continue;
        describe_type(k, type, sizeof type);
        char line[512];
        if (k->flags & CBD_KEY_FLAG_REQUIRED)
            snprintf(line, sizeof line, "  %s = (required)", k->key);
        else if (k->flags & CBD_KEY_FLAG_COMPUTED)
            snprintf(line, sizeof line, "  %s = (%s)", k->key, k->def);
        else
            snprintf(line, sizeof line, "  %s = %s", k->key, k->def[0] ? k->def : "(empty)");
        fprintf(out, "%-36s %s\n      %s\n", line, type, k->help);
    }
}

void cbd_config_print_help(FILE *out) {
    fprintf(out,
            "Experiment configuration: an INI file with the sections and keys below (see ini/README.md).\n"
            "Each key is shown with its default, its type and allowed values, and its meaning.\n"
            "Relative [data] paths start from the INI file's folder; [experiment] output_dir from the\n"
            "current working directory. Booleans: true/false, yes/no, on/off, 1/0. Comments: lines\n"
            "starting with '#' or ';', and ' ;' after a value. Unknown sections or keys, repeated keys\n"
            "and bad values are errors. Override a key with --set SECTION.KEY=VALUE\n"
            "(teachers: --set teacher.NAME.KEY=VALUE).\n");
    for (int s = 0; s < S_COUNT; s++) {
        fprintf(out, "\n[%s]\n", section_names[s]);
        help_keys(out, config_keys, K_COUNT, section_names[s]);
        if (s == S_augment) {
            fprintf(out,
                    "\n[teacher.NAME]   one section per teacher, at most %d, in training order; NAME: letters, "
                    "digits, '_' and '-'\n",
                    CBD_MAX_TEACHERS);
            help_keys(out, teacher_keys, TK_COUNT, NULL);
        }
        if (s == S_student)
            fprintf(out, "\n[student.NAME]   more models, at most %d: each takes the keys of [student] and overrides "
                         "any of them (--set student.NAME.KEY=VALUE)\n",
                    CBD_MAX_STUDENTS);
    }
}

/* ---- schema queries ----------------------------------------------------------- */

int cbd_config_key_count(void) { return K_COUNT + TK_COUNT; }

void cbd_config_key_at(int i, const char **section, const char **key) {
    CBD_ASSERT(i >= 0 && i < K_COUNT + TK_COUNT, "key %d of %d", i, K_COUNT + TK_COUNT);
    const key_spec *k = i < K_COUNT ? &config_keys[i] : &teacher_keys[i - K_COUNT];
    *section = i < K_COUNT ? k->section : "teacher.NAME";
    *key = k->key;
}

int cbd_config_key_is_list(const char *section, const char *key) {
    const int s = !strcmp(section, "teacher") || !strncmp(section, "teacher.", 8) ? S_TEACHER
                  : !strncmp(section, "student.", 8)                                 ? S_student
                                                                                      : section_index(section);
    if (s == S_NONE) return -1;
    const int id = find_key(s, key);
    if (id < 0) return -1;
    const key_type type = spec_of(s, id)->type;
    return type == KEY_FLOATS || type == KEY_NAMES;
}
