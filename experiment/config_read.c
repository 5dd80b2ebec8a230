/* Reading an experiment INI (through experiment/ini_file.h): section
 * headers, key assignment with unknown-key hints and duplicate checks,
 * [student.NAME] entries, --set overrides, and cbd_config_load, which runs
 * resolution and the checks between keys after reading. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include "experiment/config_internal.h"
#include "experiment/ini_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

void config_fail(loader *L, const char *fmt, ...) {
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
void config_key_fail(loader *L, int section, int teacher, int id, const char *fmt, ...) {
    const key_spec *k = config_spec_of(section, id);
    const int where = *where_of(L, section, teacher, id);
    char prefix[CBD_PATH_MAX + 64], sec[96], value[CBD_INI_MAX_LINE], why[1024];
    where_prefix(L, where, prefix, sizeof prefix);
    section_label(L, section, teacher, sec, sizeof sec);
    config_format_value(k, base_of(L, section, teacher), value, sizeof value);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (where < 0)
        config_fail(L, "%s%s", prefix, why);
    else
        config_fail(L, "%s[%s] %s = %s%s: %s", prefix, sec, k->key, value, where ? "" : " (default)", why);
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
    section = config_keys_section(section);
    const int n = section == S_TEACHER ? TK_COUNT : K_COUNT;
    for (int i = 0; i < n; i++) {
        const key_spec *k = config_spec_of(section, i);
        if (section != S_TEACHER && strcmp(k->section, section_names[section])) continue;
        size_t at = strlen(keys);
        snprintf(keys + at, sizeof keys - at, "%s%s", at ? ", " : "", k->key);
        const int d = edit_distance(key, k->key);
        if (d < best) {
            best = d;
            snprintf(hint, sizeof hint, "did you mean %s? ", k->key);
        }
    }
    config_fail(L, "%s[%s] %s: unknown key (%s[%s] has: %s)", prefix, sec, key, hint, sec, keys);
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
        config_fail(L, "%s%s: key outside any section: put it under a [section] header", prefix, key);
        return;
    }
    if (!*key) {
        config_fail(L, "%smissing key name before '='", prefix);
        return;
    }
    const int id = config_find_key(section, key);
    if (id < 0) {
        unknown_key(L, where, section, teacher, key);
        return;
    }
    int *slot = where_of(L, section, teacher, id);
    char sec[96];
    section_label(L, section, teacher, sec, sizeof sec);
    if (where > 0 && *slot > 0) {
        config_fail(L, "%s[%s] %s: duplicate key (first set at line %d)", prefix, sec, key, *slot);
        return;
    }
    char why[1024];
    if (config_parse_value(config_spec_of(section, id), base_of(L, section, teacher), text, why, sizeof why) != 0) {
        if (where < 0)
            config_fail(L, "%s%s", prefix, why);
        else
            config_fail(L, "%s[%s] %s = %s: %s", prefix, sec, key, text, why);
        return;
    }
    *slot = where;
}

static void assign_named(loader *L, int where, int student, const char *key, const char *text) {
    char prefix[CBD_PATH_MAX + 64], sec[96];
    where_prefix(L, where, prefix, sizeof prefix);
    section_label(L, S_NAMED_STUDENT, student, sec, sizeof sec);
    if (!*key) {
        config_fail(L, "%smissing key name before '='", prefix);
        return;
    }
    const int id = config_find_key(S_NAMED_STUDENT, key);
    if (id < 0) {
        unknown_key(L, where, S_NAMED_STUDENT, student, key);
        return;
    }
    if (where > 0)
        for (int i = 0; i < L->n_entries; i++)
            if (L->entries[i].student == student && L->entries[i].id == id && L->entries[i].where > 0) {
                config_fail(L, "%s[%s] %s: duplicate key (first set at line %d)", prefix, sec, key, L->entries[i].where);
                return;
            }
    char why[1024];
    if (config_parse_value(&config_keys[id], L->scratch, text, why, sizeof why) != 0) {
        if (where < 0)
            config_fail(L, "%s%s", prefix, why);
        else
            config_fail(L, "%s[%s] %s = %s: %s", prefix, sec, key, text, why);
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
        if (config_parse_value(&config_keys[e->id], L->cfg, e->value, why, sizeof why) != 0)
            CBD_PANIC("[student.%s] %s: %s", L->cfg->students[student], config_keys[e->id].key, why);
        L->where[e->id] = e->where;
    }
}

int config_named_student_index(const cbd_config *cfg, const char *name) {
    for (int i = 0; i < cfg->student_count; i++)
        if (!strcmp(cfg->students[i], name)) return i;
    return -1;
}

void config_student_names(const cbd_config *cfg, char *out, size_t len) {
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
        if (!config_teacher_name_ok(tname)) {
            config_fail(L, "%s:%d: [%s]: bad teacher name \"%s\": use 1 to %d letters, digits, '_' and '-'", L->path, line,
                 name, tname, CBD_NAME_MAX - 1);
            return;
        }
        cbd_config *cfg = L->cfg;
        for (int t = 0; t < cfg->teacher_count; t++)
            if (!strcmp(cfg->teachers[t].name, tname)) {
                config_fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->teacher_line[t]);
                return;
            }
        if (cfg->teacher_count == CBD_MAX_TEACHERS) {
            config_fail(L, "%s:%d: [%s]: too many teachers (at most %d)", L->path, line, name, CBD_MAX_TEACHERS);
            return;
        }
        const int t = cfg->teacher_count++;
        cbd_teacher_config *tc = &cfg->teachers[t];
        config_set_text(tc->name, sizeof tc->name, tname);
        for (int i = 0; i < TK_COUNT; i++) {
            const key_spec *k = &teacher_keys[i];
            char why[256];
            if (!(k->flags & CBD_KEY_FLAG_COMPUTED) && config_parse_value(k, tc, k->def, why, sizeof why) != 0)
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
        if (!config_teacher_name_ok(sname) || !strcmp(sname, "student") || !strncmp(sname, "teacher-", 8)) {
            config_fail(L, "%s:%d: [%s]: bad model name \"%s\": use 1 to %d letters, digits, '_' and '-' (not \"student\" "
                    "and not starting with \"teacher-\")",
                 L->path, line, name, sname, CBD_NAME_MAX - 1);
            return;
        }
        const int old = config_named_student_index(cfg, sname);
        if (old >= 0) {
            config_fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->student_line[old]);
            return;
        }
        if (cfg->student_count == CBD_MAX_STUDENTS) {
            config_fail(L, "%s:%d: [%s]: too many [student.NAME] sections (at most %d)", L->path, line, name,
                 CBD_MAX_STUDENTS);
            return;
        }
        const int i = cfg->student_count++;
        config_set_text(cfg->students[i], CBD_NAME_MAX, sname);
        L->student_line[i] = line;
        L->section = S_NAMED_STUDENT;
        L->student = i;
        return;
    }
    for (int s = 0; s < S_COUNT; s++)
        if (!strcmp(name, section_names[s])) {
            if (L->section_line[s]) {
                config_fail(L, "%s:%d: [%s]: section repeated (first at line %d)", L->path, line, name, L->section_line[s]);
                return;
            }
            L->section_line[s] = line;
            L->section = s;
            return;
        }
    sections_list(known, sizeof known);
    if (!strcmp(name, "teacher"))
        config_fail(L, "%s:%d: [teacher]: name the teacher, as in [teacher.t1]", L->path, line);
    else
        config_fail(L, "%s:%d: [%s]: unknown section (sections: %s)", L->path, line, name, known);
}

/* The handlers of the reader (experiment/ini_file.h). */
static int on_section(void *ctx, const char *name, int line) {
    loader *L = ctx;
    L->lineno = line;
    enter_section(L, name);
    return L->failed ? -1 : 0;
}

static int on_key(void *ctx, const char *name, const char *value, int line) {
    loader *L = ctx;
    L->lineno = line;
    assign(L, line, L->section, L->section == S_NAMED_STUDENT ? L->student : L->teacher, name, value);
    return L->failed ? -1 : 0;
}

static int read_ini(loader *L) {
    const cbd_ini_handlers h = {L, on_section, on_key};
    if (cbd_ini_read(L->path, CBD_INI_MAX_LINE - 3, &h, L->err, L->err_len) != 0) L->failed = 1;
    return L->failed ? -1 : 0;
}

/* Splits "section.key=value" (teacher keys: "teacher.NAME.key=value"). */
static void apply_override(loader *L, int i) {
    const char *text = L->overrides[i];
    const int where = -i - 1;
    char buf[CBD_INI_MAX_LINE];
    if (strlen(text) >= sizeof buf) {
        config_fail(L, "--set %.60s...: too long", text);
        return;
    }
    strcpy(buf, text);
    char *eq = strchr(buf, '=');
    char *dot = eq ? (*eq = '\0', strrchr(buf, '.')) : NULL;
    if (!eq || !dot) {
        config_fail(L, "--set %s: expected SECTION.KEY=VALUE, e.g. train.epochs=3 or teacher.t1.seed=5", text);
        return;
    }
    *dot = '\0';
    const char *section = config_trim(buf), *key = config_trim(dot + 1), *value = config_trim(eq + 1);
    if (!config_ini_safe(value)) {
        config_fail(L, "--set %s: control characters or ' ;' cannot be written back to an INI file", text);
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
        config_fail(L, "--set %s: %s has no [%s] section (teachers: %s)", text, L->path, section,
             cfg->teacher_count ? names : "none");
        return;
    }
    if (!strncmp(section, "student.", 8)) {
        const int i = config_named_student_index(L->cfg, section + 8);
        if (i >= 0) {
            assign(L, where, S_NAMED_STUDENT, i, key, value);
            return;
        }
        char names[4096];
        config_student_names(L->cfg, names, sizeof names);
        config_fail(L, "--set %s: %s has no [%s] section (models: %s)", text, L->path, section, names);
        return;
    }
    const int s = config_section_index(section);
    if (s != S_NONE) {
        assign(L, where, s, 0, key, value);
        return;
    }
    char known[256];
    sections_list(known, sizeof known);
    config_fail(L, "--set %s: unknown section [%s] (sections: %s)", text, section, known);
}

static int source_location(loader *L) {
    cbd_config *cfg = L->cfg;
    if (strlen(L->path) >= sizeof cfg->source_path) {
        config_fail(L, "%.60s...: path too long", L->path);
        return -1;
    }
    strcpy(cfg->source_path, L->path);
    char *real = realpath(L->path, NULL);
    if (!real) {
        config_fail(L, "%s: cannot resolve the path: %s", L->path, strerror(errno));
        return -1;
    }
    char *slash = strrchr(real, '/');
    if (slash == real) slash[1] = '\0';
    else if (slash) *slash = '\0';
    const int ok = strlen(real) < sizeof cfg->source_dir;
    if (ok) strcpy(cfg->source_dir, real);
    free(real);
    if (!ok) config_fail(L, "%s: folder path too long", L->path);
    return ok ? 0 : -1;
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
            config_parse_value(k, cfg, k->def, why, sizeof why) != 0)
            CBD_PANIC("default of [%s] %s: %s", k->section, k->key, why);
    }
    if (read_ini(L) == 0 && source_location(L) == 0) {
        for (int i = 0; i < n_overrides && !L->failed; i++) apply_override(L, i);
        if (!L->failed && name && strcmp(name, "student")) {
            const int i = config_named_student_index(cfg, name);
            if (i < 0) {
                char names[4096];
                config_student_names(cfg, names, sizeof names);
                config_fail(L, "%s: no [student.%s] section (models: %s)", L->path, name, names);
            } else {
                select_named_student(L, i);
            }
        }
        if (!L->failed) config_resolve(L);
        if (!L->failed) config_check_between_keys(L);
    }
    const int rc = L->failed ? -1 : 0;
    for (int i = 0; i < L->n_entries; i++) free(L->entries[i].value);
    free(L->entries);
    free(L->scratch);
    free(L);
    return rc;
}
