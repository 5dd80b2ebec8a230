/* The models of a sweep and the experiment INI that holds them. */
#include "tools/sweep_models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"

int sweep_check_values(const sweep_spec *s, char *err, size_t err_len) {
    cbd_config *cfg = cbd_calloc(1, sizeof *cfg);
    int rc = 0;
    for (int a = 0; a < s->n_axes && !rc; a++) {
        const sweep_axis *axis = &s->axes[a];
        for (int v = 0; v < axis->n_values && !rc; v++) {
            /* the value with the other keys at their first values: keys that only make sense
             * together (method = tau_norm with from = T) are checked together */
            static char sets[SWEEP_MAX_AXES][4200];
            const char *overrides[SWEEP_MAX_AXES];
            int n = 0;
            for (int b = 0; b < s->n_axes; b++) {
                if (b == a) continue;
                snprintf(sets[n], sizeof sets[n], "student.%s=%s", s->axes[b].key, s->axes[b].values[0]);
                overrides[n] = sets[n];
                n++;
            }
            char set[4200], why[4096];
            snprintf(set, sizeof set, "student.%s=%s", axis->key, axis->values[v]);
            overrides[n++] = set;
            if (cbd_config_load_model(cfg, s->base, overrides, n, NULL, why, sizeof why) == 0) continue;
            /* the loader names the override ("--set student.alpha=2: ..."): name the grid line instead */
            char prefix[4300];
            snprintf(prefix, sizeof prefix, "--set %s: ", set);
            const char *reason = strncmp(why, prefix, strlen(prefix)) ? why : why + strlen(prefix);
            snprintf(err, err_len, "%s:%d: [grid] student.%s: value %s: %s", s->path, axis->line, axis->key,
                     axis->values[v], reason);
            rc = -1;
        }
    }
    free(cfg);
    return rc;
}

/* Appends "key value" to a label: ',' becomes a space, characters a label
 * cannot hold are dropped, runs of spaces become one. */
static void label_append(char *label, size_t len, const char *text) {
    size_t at = strlen(label);
    for (const char *p = text; *p && at + 1 < len; p++) {
        char c = *p == ',' ? ' ' : *p;
        const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       (c && strchr("_-.+()/ ", c));
        if (!ok || (c == ' ' && (at == 0 || label[at - 1] == ' '))) continue;
        label[at++] = c;
    }
    label[at] = '\0';
}

static void point_label(const sweep_spec *s, const int *idx, char *label, size_t len) {
    label[0] = '\0';
    for (int a = 0; a < s->n_axes; a++) {
        label_append(label, len, a ? " " : "");
        label_append(label, len, s->axes[a].key);
        label_append(label, len, " ");
        label_append(label, len, s->axes[a].values[idx[a]]);
    }
    size_t n = strlen(label);
    while (n && label[n - 1] == ' ') label[--n] = '\0';
}

/* A number cbd-report takes as X. */
static int numeric(const char *text) {
    char *end = NULL;
    const double v = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(v) && fabs(v) <= 1e15;
}

int sweep_models_make(const sweep_spec *s, const cbd_config *base, sweep_models *m, char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    const sweep_axis *first = &s->axes[0];
    int all_numeric = 1;
    for (int v = 0; v < first->n_values; v++) all_numeric &= numeric(first->values[v]);
    snprintf(m->x_name, sizeof m->x_name, all_numeric ? "%s" : "%s (alternative number)", first->key);

    const int runs = s->n_seeds ? s->n_seeds : 1;
    char labels[SWEEP_MAX_VALUES][CBD_NAME_MAX];
    for (int p = 0; p < s->points; p++) {
        int idx[SWEEP_MAX_AXES];
        sweep_spec_point(s, p, idx);
        point_label(s, idx, labels[p], sizeof labels[p]);
        for (int q = 0; q < p; q++)
            if (!strcmp(labels[q], labels[p])) {
                snprintf(err, err_len, "%s: grid points %d and %d both get the label '%s' (labels hold at most %d "
                                       "characters of the values): shorten or tell apart the values",
                         s->path, q + 1, p + 1, labels[p], CBD_NAME_MAX - 1);
                return -1;
            }
        if (all_numeric)
            snprintf(m->x[p], sizeof m->x[p], "%s", first->values[idx[0]]);
        else
            snprintf(m->x[p], sizeof m->x[p], "%d", idx[0] + 1);
        for (int r = 0; r < runs; r++) {
            sweep_model *model = &m->models[m->n];
            if (snprintf(model->name, sizeof model->name, "%s-%d", s->name, m->n + 1) >= (int)sizeof model->name)
                CBD_PANIC("sweep name %s too long", s->name); /* sweep_spec_load keeps it short */
            snprintf(model->label, sizeof model->label, "%s", labels[p]);
            model->point = p;
            model->has_seed = s->n_seeds > 0;
            model->seed = s->n_seeds ? s->seeds[r] : 0;
            for (int k = 0; k < base->student_count; k++)
                if (!strcmp(base->students[k], model->name)) {
                    snprintf(err, err_len, "%s: model %s of the sweep would share the outputs of [student.%s] of %s "
                                           "(students/%s.*): set [sweep] name to another name",
                             s->path, model->name, model->name, s->base, model->name);
                    return -1;
                }
            m->n++;
        }
    }
    return 0;
}

void sweep_models_write_ini(const sweep_spec *s, const cbd_config *base, const sweep_models *m, FILE *out) {
    fprintf(out,
            "# Generated by cbd-sweep from %s: do not edit, edit the sweep file and run it again.\n"
            "# The resolved configuration of %s (its teachers, feature stores and\n"
            "# output_dir are reused as they are), then one [student.NAME] per grid point and seed.\n",
            s->path, s->base);
    cbd_config_write(base, out);
    for (int i = 0; i < m->n; i++) {
        const sweep_model *model = &m->models[i];
        int idx[SWEEP_MAX_AXES];
        sweep_spec_point(s, model->point, idx);
        fprintf(out, "\n# sweep %s: grid point %d of %d", s->name, model->point + 1, s->points);
        if (model->has_seed) fprintf(out, ", seed %llu", (unsigned long long)model->seed);
        fprintf(out, "\n[student.%s]\n", model->name);
        for (int a = 0; a < s->n_axes; a++) fprintf(out, "%s = %s\n", s->axes[a].key, s->axes[a].values[idx[a]]);
        if (model->has_seed) fprintf(out, "seed = %llu\n", (unsigned long long)model->seed);
        fprintf(out, "label = %s\n", model->label);
    }
}

int sweep_models_check(const sweep_spec *s, const sweep_models *m, const char *ini_path, char *err, size_t err_len) {
    cbd_config *cfg = cbd_calloc(1, sizeof *cfg);
    int rc = 0;
    for (int i = 0; i < m->n && !rc; i++) {
        char why[4096];
        if (cbd_config_load_model(cfg, ini_path, NULL, 0, m->models[i].name, why, sizeof why) == 0) continue;
        snprintf(err, err_len, "%s: grid point %d (%s) is not a valid model: %s", s->path, m->models[i].point + 1,
                 m->models[i].label, why);
        rc = -1;
    }
    free(cfg);
    return rc;
}
