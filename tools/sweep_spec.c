/* Reads a sweep file in the dialect of the experiment INIs (experiment/
 * ini_file.h), every message naming the line. */
#include "tools/sweep_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/ini_file.h"
#include "nn/log.h"
#include "tools/sweep_grid.h"

enum { SEC_NONE, SEC_SWEEP, SEC_GRID, SEC_COUNT };
static const char *const section_names[SEC_COUNT] = {"", "sweep", "grid"};

/* Longest line of a sweep file: a key and a list of values. */
#define SWEEP_MAX_LINE 4094

typedef struct {
    sweep_spec *s;
    int lineno;
    int section;
    int section_line[SEC_COUNT];
    char *err;
    size_t err_len;
    int failed;
} reader;

static void fail(reader *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(reader *R, const char *fmt, ...) {
    if (R->failed) return;
    R->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->err, R->err_len, fmt, ap);
    va_end(ap);
}

static int name_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

/* Model names are NAME-i (i up to CBD_MAX_STUDENTS, 2 digits): they must be
 * valid [student.NAME] names, which may not start with "teacher-". */
static int sweep_name_ok(const char *s) {
    return name_ok(s) && strlen(s) + 3 < CBD_NAME_MAX && strcmp(s, "teacher") && strncmp(s, "teacher-", 8);
}

/* ---- [sweep] ------------------------------------------------------------------- */

static void parse_seeds(reader *R, char *value) {
    sweep_spec *s = R->s;
    char *save = NULL;
    for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *t = sweep_trim(tok), *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(t, &end, 10);
        if (!*t || *t == '-' || *t == '+' || errno || *end) {
            fail(R, "%s:%d: [sweep] seeds: '%s' is not a seed (an unsigned integer)", s->path, R->lineno, t);
            return;
        }
        for (int i = 0; i < s->n_seeds; i++)
            if (s->seeds[i] == v) {
                fail(R, "%s:%d: [sweep] seeds: seed %llu is given twice", s->path, R->lineno, v);
                return;
            }
        if (s->n_seeds == SWEEP_MAX_SEEDS) {
            fail(R, "%s:%d: [sweep] seeds: more than %d seeds", s->path, R->lineno, SWEEP_MAX_SEEDS);
            return;
        }
        s->seeds[s->n_seeds++] = v;
    }
    if (!s->n_seeds)
        fail(R, "%s:%d: [sweep] seeds is empty: give seeds (1, 2) or leave the key out", s->path, R->lineno);
}

static void sweep_key(reader *R, const char *key, char *value) {
    sweep_spec *s = R->s;
    int *line = !strcmp(key, "base") ? &s->base_line
                : !strcmp(key, "name") ? &s->name_line
                : !strcmp(key, "seeds") ? &s->seeds_line
                                        : NULL;
    if (!line) {
        fail(R, "%s:%d: [sweep] %s: unknown key ([sweep] has: base, name, seeds; grid keys go under [grid])", s->path,
             R->lineno, key);
        return;
    }
    if (*line) {
        fail(R, "%s:%d: [sweep] %s: duplicate key (first set at line %d)", s->path, R->lineno, key, *line);
        return;
    }
    *line = R->lineno;
    if (!strcmp(key, "seeds")) {
        parse_seeds(R, value);
    } else if (!strcmp(key, "name")) {
        if (!sweep_name_ok(value))
            fail(R, "%s:%d: [sweep] name = %s: use 1 to %d letters, digits, '_' and '-' (not \"teacher\" and not "
                    "starting with \"teacher-\")",
                 s->path, R->lineno, value, CBD_NAME_MAX - 4);
        else
            snprintf(s->name, sizeof s->name, "%s", value);
    } else if (!*value) {
        fail(R, "%s:%d: [sweep] base is empty: name the experiment INI whose teachers and stores the sweep reuses",
             s->path, R->lineno);
    } else {
        /* relative to the sweep file's folder */
        const char *slash = strrchr(s->path, '/');
        const int dir_len = value[0] == '/' || !slash ? 0 : (int)(slash - s->path) + 1;
        if (snprintf(s->base, sizeof s->base, "%.*s%s", dir_len, s->path, value) >= (int)sizeof s->base)
            fail(R, "%s:%d: [sweep] base: path too long", s->path, R->lineno);
    }
}

/* ---- the reader's handlers (experiment/ini_file.h) -------------------------------- */

static int on_section(void *ctx, const char *name, int line) {
    reader *R = ctx;
    const sweep_spec *s = R->s;
    R->lineno = line;
    for (int sec = SEC_SWEEP; sec < SEC_COUNT; sec++)
        if (!strcmp(name, section_names[sec])) {
            if (R->section_line[sec]) {
                fail(R, "%s:%d: [%s]: section repeated (first at line %d)", s->path, line, name,
                     R->section_line[sec]);
                return -1;
            }
            R->section_line[sec] = line;
            R->section = sec;
            return 0;
        }
    fail(R, "%s:%d: [%s]: unknown section (a sweep file has [sweep] and [grid]; grid keys are written student.KEY)",
         s->path, line, name);
    return -1;
}

static int on_key(void *ctx, const char *name, const char *value, int line) {
    reader *R = ctx;
    R->lineno = line;
    char *v = cbd_strdup(value);
    if (!*name)
        fail(R, "%s:%d: missing key name before '='", R->s->path, line);
    else if (R->section == SEC_SWEEP)
        sweep_key(R, name, v);
    else if (R->section == SEC_GRID)
        R->failed = sweep_grid_add(R->s, line, name, v, R->err, R->err_len) != 0;
    else
        fail(R, "%s:%d: %s: key outside any section: put it under [sweep] or [grid]", R->s->path, line, name);
    free(v);
    return R->failed ? -1 : 0;
}

/* ---- after the file ---------------------------------------------------------------- */

static void finish(reader *R) {
    sweep_spec *s = R->s;
    if (!s->base_line) {
        fail(R, "%s: [sweep] base is missing: name the experiment INI whose teachers and stores the sweep reuses",
             s->path);
        return;
    }
    if (!s->n_axes) {
        fail(R, "%s: %s: nothing to sweep", s->path,
             R->section_line[SEC_GRID] ? "[grid] sets no key" : "no [grid] section");
        return;
    }
    for (int a = 0; a < s->n_axes; a++)
        if (s->n_seeds && !strcmp(s->axes[a].key, "seed")) {
            fail(R, "%s:%d: [grid] student.seed: [sweep] seeds (line %d) sets the seeds already; give them there only",
                 s->path, s->axes[a].line, s->seeds_line);
            return;
        }
    if (!s->name_line) {
        const char *slash = strrchr(s->path, '/');
        const char *file = slash ? slash + 1 : s->path;
        size_t n = strlen(file);
        if (n > 4 && !strcmp(file + n - 4, ".ini")) n -= 4;
        snprintf(s->name, sizeof s->name, "%.*s", (int)(n < sizeof s->name ? n : sizeof s->name - 1), file);
        if (n >= sizeof s->name || !sweep_name_ok(s->name)) {
            fail(R, "%s: the sweep's name \"%.*s\" (the file's name) is not usable: set [sweep] name to 1 to %d "
                    "letters, digits, '_' and '-'",
                 s->path, (int)n, file, CBD_NAME_MAX - 4);
            return;
        }
    }
    long long points = 1; /* at most 64^8 */
    for (int a = 0; a < s->n_axes; a++) points *= s->axes[a].n_values;
    const long long models = points * (s->n_seeds ? s->n_seeds : 1);
    if (models > CBD_MAX_STUDENTS) {
        fail(R, "%s: %lld grid points x %d seed%s = %lld models; a sweep runs at most %d (split it into several "
                "sweeps)",
             s->path, points, s->n_seeds ? s->n_seeds : 1, s->n_seeds > 1 ? "s" : "", models, CBD_MAX_STUDENTS);
        return;
    }
    s->points = (int)points;
    s->models = (int)models;
}

int sweep_spec_load(sweep_spec *s, const char *path, char *err, size_t err_len) {
    memset(s, 0, sizeof *s);
    reader R = {.s = s, .err = err, .err_len = err_len};
    if (err_len) err[0] = '\0';
    if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path) {
        snprintf(err, err_len, "%.200s...: path too long", path);
        return -1;
    }
    const cbd_ini_handlers h = {&R, on_section, on_key};
    if (cbd_ini_read(path, SWEEP_MAX_LINE, &h, err, err_len) != 0) R.failed = 1;
    if (!R.failed) finish(&R);
    if (R.failed) sweep_spec_free(s);
    return R.failed ? -1 : 0;
}

void sweep_spec_free(sweep_spec *s) {
    for (int a = 0; a < s->n_axes; a++) {
        for (int v = 0; v < s->axes[a].n_values; v++) free(s->axes[a].values[v]);
        s->axes[a].n_values = 0;
    }
    s->n_axes = 0;
}

void sweep_spec_point(const sweep_spec *s, int p, int idx[SWEEP_MAX_AXES]) {
    for (int a = s->n_axes - 1; a >= 0; a--) {
        idx[a] = p % s->axes[a].n_values;
        p /= s->axes[a].n_values;
    }
}
