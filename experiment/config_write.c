/* The configuration as text: the resolved dump (which reads back to the same
 * configuration), --help from the schema, and schema queries for tools. */
#include "experiment/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/digest.h"

const cbd_teacher_config *cbd_config_teacher(const cbd_config *cfg, const char *name) {
    for (int t = 0; t < cfg->teacher_count; t++)
        if (!strcmp(cfg->teachers[t].name, name)) return &cfg->teachers[t];
    return NULL;
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
        config_format_value(&keys[i], base, value, sizeof value);
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
        config_join_names(k->names, "|", names, sizeof names);
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
        char readers[256];
        cbd_config_readers_text(k->readers, readers, sizeof readers);
        fprintf(out, "%-36s %s\n      %s\n      decides: %s\n", line, type, k->help, readers);
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
            "(teachers: --set teacher.NAME.KEY=VALUE). \"decides\" names the outputs whose content a key\n"
            "decides: changing it makes exactly those stale (teacher: every teacher; augment teacher: those\n"
            "of kind augment; dump: feature stores; train, finetune, crt/lws, tau_norm, ensemble: models of\n"
            "that method; eval: evaluations; report: the comparison table).\n");
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

unsigned cbd_config_key_readers(int i) {
    CBD_ASSERT(i >= 0 && i < K_COUNT + TK_COUNT, "key %d of %d", i, K_COUNT + TK_COUNT);
    return i < K_COUNT ? config_keys[i].readers : teacher_keys[i - K_COUNT].readers;
}

void cbd_config_readers_text(unsigned readers, char *out, size_t len) {
    out[0] = '\0';
    for (int b = 0; b < CBD_READER_COUNT; b++) {
        if (!(readers & (1u << b))) continue;
        size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s", at ? ", " : "", cbd_reader_names[b]);
    }
    if (!out[0]) snprintf(out, len, "nothing");
}

int cbd_config_key_is_list(const char *section, const char *key) {
    const int s = !strcmp(section, "teacher") || !strncmp(section, "teacher.", 8) ? S_TEACHER
                  : !strncmp(section, "student.", 8)                                 ? S_student
                                                                                      : config_section_index(section);
    if (s == S_NONE) return -1;
    const int id = config_find_key(s, key);
    if (id < 0) return -1;
    const key_type type = config_spec_of(s, id)->type;
    return type == KEY_FLOATS || type == KEY_NAMES;
}

