/* What the files of the configuration reader share, and nothing else
 * includes: the schema as tables (config_keys.c), one value's parsing and
 * text (config_values.c), the loader's state and its error reporting
 * (config_read.c), resolution and the checks between keys
 * (config_resolve.c). The public interface is experiment/config.h. */
#ifndef CBD_CONFIG_INTERNAL_H
#define CBD_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "experiment/config.h"

/* ---- the schema as tables (config_keys.c) ------------------------------------ */

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
    unsigned readers;    /* cbd_reader bits */
    constraint cons;
    const char *help;
} key_spec;

/* Key ids: indices into config_keys and teacher_keys. */
#define KEY_ID(sec, key, ...) K_##sec##_##key,
#define SECTION_KEY_IDS(sec, LIST) LIST(KEY_ID)
enum { CBD_CONFIG_SECTIONS(SECTION_KEY_IDS) K_COUNT };
#define TEACHER_KEY_ID(sec, key, ...) TK_##key,
enum { CBD_SCHEMA_TEACHER(TEACHER_KEY_ID) TK_COUNT };

#define SECTION_ID(sec, LIST) S_##sec,
enum { CBD_CONFIG_SECTIONS(SECTION_ID) S_COUNT, S_TEACHER = S_COUNT, S_NAMED_STUDENT, S_NONE = -1 };

extern const key_spec config_keys[K_COUNT];
extern const key_spec teacher_keys[TK_COUNT];
extern const char *const section_names[S_COUNT];

/* Longest line accepted when inih can grow its line buffer. */
#define CBD_INI_MAX_LINE (CBD_PATH_MAX + 1024)

/* The spec of key id of a section (S_TEACHER: teacher_keys). */
const key_spec *config_spec_of(int section, int id);
/* The fixed section whose keys `section` takes ([student.NAME]: [student]'s). */
int config_keys_section(int section);
/* S_* of a fixed section's name, or S_NONE. */
int config_section_index(const char *name);
/* Key id of `key` in section (S_*, S_TEACHER or S_NAMED_STUDENT), or -1. */
int config_find_key(int section, const char *key);
/* Name checks of the schema, for the reader and resolution. */
int config_teacher_name_ok(const char *s);
int config_check_experiment_name(const void *field, char *why, size_t why_len);

/* ---- one value (config_values.c) ------------------------------------------------ */

/* Copies s into a field of cap bytes, zero-filling the rest: equal
 * configurations are equal byte for byte. */
void config_set_text(char *field, size_t cap, const char *s);
/* Strips blanks at both ends, in place. */
const char *config_trim(char *s);
/* 0 for text an INI line cannot carry back (control characters, " ;"). */
int config_ini_safe(const char *s);
void config_join_names(const char *const *names, const char *sep, char *out, size_t len);
/* Parses text into k's field inside base. Returns 0, or -1 with the reason in why. */
int config_parse_value(const key_spec *k, void *base, const char *text, char *why, size_t why_len);
/* k's field inside base as INI text. */
void config_format_value(const key_spec *k, const void *base, char *out, size_t len);

/* ---- the loader (config_read.c) ------------------------------------------------- */

typedef struct {
    int student, id; /* [student.NAME] index, key id in config_keys */
    int where;       /* file line, or -(override index) - 1 */
    char *value;
} named_entry;

typedef struct {
    cbd_config *cfg;
    const char *path; /* as given, for messages */
    const char *const *overrides;

    int lineno; /* of the line being read */

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

/* The first error wins: later calls do nothing. */
void config_fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error about a key's current value: "<where>[sec] key = value: why". */
void config_key_fail(loader *L, int section, int teacher, int id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- resolution and checks between keys (config_resolve.c) ---------------------- */

/* The computed defaults, paths made absolute, the teacher list. */
void config_resolve(loader *L);
void config_check_between_keys(loader *L);

#endif
