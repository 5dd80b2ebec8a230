/* The [grid] lines of a sweep file: which keys may be swept (those of
 * [student] only: the rest would change what the sweep reuses from its base)
 * and how a line splits into values. */
#include "tools/sweep_grid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

typedef struct {
    sweep_spec *s;
    int line;
    char *err;
    size_t err_len;
    int failed;
} grid_line;

static void fail(grid_line *G, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(grid_line *G, const char *fmt, ...) {
    if (G->failed) return;
    G->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(G->err, G->err_len, fmt, ap);
    va_end(ap);
}

char *sweep_trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = '\0';
    return s;
}

/* The [student] key closest to `key` ("" when none is close), and the list of all. */
static void student_keys(const char *key, char *hint, size_t hint_len, char *all, size_t all_len) {
    int best = 3;
    hint[0] = all[0] = '\0';
    for (int i = 0; i < cbd_config_key_count(); i++) {
        const char *sec, *k;
        cbd_config_key_at(i, &sec, &k);
        if (strcmp(sec, "student")) continue;
        size_t at = strlen(all);
        snprintf(all + at, all_len - at, "%s%s", at ? ", " : "", k);
        /* edit distance, for the hint */
        const size_t la = strlen(key), lb = strlen(k);
        if (la > 40 || lb > 40) continue;
        int row[41];
        for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
        for (size_t a = 1; a <= la; a++) {
            int diag = row[0];
            row[0] = (int)a;
            for (size_t j = 1; j <= lb; j++) {
                const int up = row[j];
                int d = diag + (key[a - 1] != k[j - 1]);
                if (row[j] + 1 < d) d = row[j] + 1;
                if (row[j - 1] + 1 < d) d = row[j - 1] + 1;
                row[j] = d;
                diag = up;
            }
        }
        if (row[lb] < best) {
            best = row[lb];
            snprintf(hint, hint_len, "did you mean student.%s? ", k);
        }
    }
}

/* A key outside [student]: say why it cannot be swept. */
static void not_student_key(grid_line *G, const char *name) {
    const sweep_spec *s = G->s;
    char section[128];
    const char *dot = strrchr(name, '.');
    snprintf(section, sizeof section, "%.*s", dot ? (int)(dot - name) : 0, name);
    const char *key = dot ? dot + 1 : name;
    if (!dot || cbd_config_key_is_list(section, key) < 0) {
        fail(G, "%s:%d: [grid] %s: not a key of the experiment INI; a grid key is student.KEY, a key of [student]",
             s->path, G->line, name);
        return;
    }
    char hint[128] = "";
    if (cbd_config_key_is_list("student", key) >= 0) snprintf(hint, sizeof hint, " (did you mean student.%s?)", key);
    fail(G, "%s:%d: [grid] %s: only [student] keys can be swept%s: [%s] is read by the teachers, the feature stores "
            "or the evaluation, which the sweep reuses from its base; to vary it, make a new experiment INI",
         s->path, G->line, name, hint, section);
}

/* "a ,b" -> "a, b"; -1 on an empty element ("a,,b", ",a", "a,"). */
static int normalise_list(const char *field, char *out, size_t len) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", field);
    out[0] = '\0';
    for (char *p = copy;;) {
        char *end = strchr(p, ',');
        if (end) *end = '\0';
        const char *tok = sweep_trim(p);
        if (!*tok) return -1;
        const size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s", at ? ", " : "", tok);
        if (!end) return 0;
        p = end + 1;
    }
}

static int count_char(const char *s, char c) {
    int n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

static void grid_key(grid_line *G, const char *name, char *value) {
    sweep_spec *s = G->s;
    if (strncmp(name, "student.", 8) || strchr(name + 8, '.')) {
        if (!strncmp(name, "student.", 8))
            fail(G, "%s:%d: [grid] %s: a grid key is student.KEY, a key of [student]; each grid point becomes its "
                    "own [student.NAME]",
                 s->path, G->line, name);
        else
            not_student_key(G, name);
        return;
    }
    const char *key = name + 8;
    const int is_list = cbd_config_key_is_list("student", key);
    if (is_list < 0) {
        char hint[128], all[1024];
        student_keys(key, hint, sizeof hint, all, sizeof all);
        fail(G, "%s:%d: [grid] %s: unknown key (%s[student] has: %s)", s->path, G->line, name, hint, all);
        return;
    }
    if (!strcmp(key, "label")) {
        fail(G, "%s:%d: [grid] student.label: the sweep labels each model by its grid point; labels are not swept",
             s->path, G->line);
        return;
    }
    for (int a = 0; a < s->n_axes; a++)
        if (!strcmp(s->axes[a].key, key)) {
            fail(G, "%s:%d: [grid] %s: duplicate key (first set at line %d)", s->path, G->line, name,
                 s->axes[a].line);
            return;
        }
    if (s->n_axes == SWEEP_MAX_AXES) {
        fail(G, "%s:%d: [grid] %s: more than %d grid keys", s->path, G->line, name, SWEEP_MAX_AXES);
        return;
    }
    if (!is_list && strchr(value, '|')) {
        fail(G, "%s:%d: [grid] %s: '|' separates the alternatives of list-valued keys (student.teachers); "
                "separate the values of %s with ','",
             s->path, G->line, name, key);
        return;
    }
    sweep_axis *axis = &s->axes[s->n_axes++];
    snprintf(axis->key, sizeof axis->key, "%s", key);
    axis->line = G->line;
    axis->is_list = is_list;
    const char sep = is_list ? '|' : ',';
    const int fields = count_char(value, sep) + 1;
    if (fields > SWEEP_MAX_VALUES) {
        fail(G, "%s:%d: [grid] %s: %d values; at most %d", s->path, G->line, name, fields, SWEEP_MAX_VALUES);
        return;
    }
    char *p = value;
    for (int v = 0; v < fields; v++) {
        char *end = strchr(p, sep);
        if (end) *end = '\0';
        char *field = sweep_trim(p), text[4096];
        p = end ? end + 1 : p + strlen(p);
        if (!*field) {
            fail(G, "%s:%d: [grid] %s: value %d of %d is empty", s->path, G->line, name, v + 1, fields);
            return;
        }
        if (!is_list) {
            snprintf(text, sizeof text, "%s", field);
        } else if (normalise_list(field, text, sizeof text) != 0) {
            fail(G, "%s:%d: [grid] %s: alternative %d (%s) has an empty element", s->path, G->line, name, v + 1,
                 field);
            return;
        }
        for (int w = 0; w < axis->n_values; w++)
            if (!strcmp(axis->values[w], text)) {
                fail(G, "%s:%d: [grid] %s: value '%s' is given twice", s->path, G->line, name, text);
                return;
            }
        axis->values[axis->n_values++] = cbd_strdup(text);
    }
}

int sweep_grid_add(sweep_spec *s, int line, const char *name, char *value, char *err, size_t err_len) {
    grid_line G = {s, line, err, err_len, 0};
    grid_key(&G, name, value);
    return G.failed ? -1 : 0;
}
