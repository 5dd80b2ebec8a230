#include "tools/report_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "tools/report_json.h"

typedef struct {
    const char *path;
    char *err;
    size_t err_len;
} reader;

__attribute__((format(printf, 3, 4))) static int refuse(const reader *r, int line, const char *fmt, ...) {
    int used = line > 0 ? snprintf(r->err, r->err_len, "%s: line %d: ", r->path, line)
                        : snprintf(r->err, r->err_len, "%s: ", r->path);
    if (used >= 0 && (size_t)used < r->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + used, r->err_len - (size_t)used, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The member `key` of obj, of the given type; `where` is obj's path in
 * messages ("" at the top level, "ncm.", "per_class[3]."). */
static const json_value *member(const reader *r, const json_value *obj, const char *where, const char *key,
                                json_type type) {
    const json_value *v = json_get(obj, key);
    if (!v) {
        refuse(r, obj->line, "missing key \"%s%s\"", where, key);
        return NULL;
    }
    if (v->type != type) {
        refuse(r, v->line, "\"%s%s\" is %s, expected %s", where, key, json_type_name(v->type),
               json_type_name(type));
        return NULL;
    }
    return v;
}

/* A fraction in [0, 1]. */
static int fraction(const reader *r, const json_value *obj, const char *where, const char *key, double *out) {
    const json_value *v = member(r, obj, where, key, JSON_NUMBER);
    if (!v) return -1;
    if (!(v->number >= 0.0 && v->number <= 1.0))
        return refuse(r, v->line, "\"%s%s\" is %g, expected a fraction in [0, 1]", where, key, v->number);
    *out = v->number;
    return 0;
}

/* A group's or a class's accuracy: a fraction, or null when there is
 * nothing to measure (a set with no many-shot class, a class with no image
 * in the split): NAN. */
static int group_fraction(const reader *r, const json_value *obj, const char *where, const char *key, double *out) {
    const json_value *v = json_get(obj, key);
    if (v && v->type == JSON_NULL) {
        *out = NAN;
        return 0;
    }
    return fraction(r, obj, where, key, out);
}

/* A whole number in [lo, hi]. */
static int whole(const reader *r, const json_value *obj, const char *where, const char *key, long long lo,
                 long long hi, long long *out) {
    const json_value *v = member(r, obj, where, key, JSON_NUMBER);
    if (!v) return -1;
    if (!(v->number >= (double)lo && v->number <= (double)hi) || v->number != floor(v->number))
        return refuse(r, v->line, "\"%s%s\" is %g, expected a whole number in %lld..%lld", where, key,
                      v->number, lo, hi);
    *out = (long long)v->number;
    return 0;
}

static const char *const group_names[3] = {"many", "mid", "few"};

static int read_per_class(const reader *r, const json_value *root, report_eval *e) {
    const json_value *list = member(r, root, "", "per_class", JSON_ARRAY);
    if (!list) return -1;
    if (list->count == 0) return refuse(r, list->line, "\"per_class\" is empty");
    if (list->count > (1 << 24)) return refuse(r, list->line, "\"per_class\" has %zu entries", list->count);
    e->classes = (int)list->count;
    e->per_class = cbd_calloc(list->count, sizeof *e->per_class);
    for (size_t k = 0; k < list->count; k++) {
        const json_value *item = &list->items[k];
        char where[64];
        snprintf(where, sizeof where, "per_class[%zu].", k);
        if (item->type != JSON_OBJECT)
            return refuse(r, item->line, "per_class[%zu] is %s, expected an object", k, json_type_name(item->type));
        long long cls, count;
        if (whole(r, item, where, "class", 0, e->classes - 1, &cls) != 0) return -1;
        report_class *c = &e->per_class[cls];
        if (c->name)
            return refuse(r, item->line, "per_class[%zu] repeats class %lld", k, cls);
        const json_value *name = member(r, item, where, "name", JSON_STRING);
        const json_value *group = member(r, item, where, "group", JSON_STRING);
        if (!name || !group) return -1;
        if (whole(r, item, where, "train_count", 0, (long long)1 << 50, &count) != 0) return -1;
        /* null: the class has no image in the split (a validation split
         * without the head class): not measured */
        if (group_fraction(r, item, where, "accuracy", &c->accuracy) != 0) return -1;
        int g = 0;
        while (g < 3 && strcmp(group->string, group_names[g]) != 0) g++;
        if (g == 3)
            return refuse(r, group->line, "\"%sgroup\" is \"%s\", expected many, mid or few", where,
                          group->string);
        c->name = cbd_strdup(name->string);
        c->train_count = count;
        snprintf(c->group, sizeof c->group, "%s", group_names[g]);
    }
    return 0;
}

static int read_eval(const reader *r, const json_value *root, report_eval *e) {
    const char *top = "";
    if (root->type != JSON_OBJECT)
        return refuse(r, root->line, "the file holds %s, expected an object", json_type_name(root->type));
    const json_value *format = json_get(root, "format");
    if (format && (format->type != JSON_STRING || strcmp(format->string, "cbd-eval") != 0))
        return refuse(r, format->line, "\"format\" is not \"cbd-eval\": not a cbd-evaluate file");
    const json_value *name = member(r, root, top, "name", JSON_STRING);
    if (!name) return -1;
    e->name = cbd_strdup(name->string);
    if (fraction(r, root, top, "top1", &e->top1) != 0 || fraction(r, root, top, "top5", &e->top5) != 0 ||
        group_fraction(r, root, top, "many", &e->many) != 0 || group_fraction(r, root, top, "mid", &e->mid) != 0 ||
        group_fraction(r, root, top, "few", &e->few) != 0)
        return -1;
    const json_value *thresholds = member(r, root, top, "thresholds", JSON_OBJECT);
    if (!thresholds) return -1;
    if (whole(r, thresholds, "thresholds.", "many", 0, (long long)1 << 50, &e->threshold_many) != 0 ||
        whole(r, thresholds, "thresholds.", "few", 0, (long long)1 << 50, &e->threshold_few) != 0)
        return -1;
    const json_value *groups = member(r, root, top, "group_classes", JSON_OBJECT);
    if (!groups) return -1;
    for (int g = 0; g < 3; g++)
        if (whole(r, groups, "group_classes.", group_names[g], 0, 1 << 24, &e->group_classes[g]) != 0) return -1;
    const json_value *ncm = json_get(root, "ncm");
    if (ncm && ncm->type != JSON_NULL) {
        if (ncm->type != JSON_OBJECT)
            return refuse(r, ncm->line, "\"ncm\" is %s, expected an object", json_type_name(ncm->type));
        if (fraction(r, ncm, "ncm.", "top1", &e->ncm_top1) != 0 ||
            group_fraction(r, ncm, "ncm.", "many", &e->ncm_many) != 0 ||
            group_fraction(r, ncm, "ncm.", "mid", &e->ncm_mid) != 0 ||
            group_fraction(r, ncm, "ncm.", "few", &e->ncm_few) != 0)
            return -1;
        e->has_ncm = 1;
    }
    return read_per_class(r, root, e);
}

int report_eval_load(const char *path, report_eval *e, char *err, size_t err_len) {
    static const char *const unused_tables[] = {"confusion", "confusion_cells", NULL};
    memset(e, 0, sizeof *e);
    e->path = path;
    json_value *root = json_parse_file(path, REPORT_EVAL_MAX_BYTES, unused_tables, err, err_len);
    if (!root) return -1;
    reader r = {.path = path, .err = err, .err_len = err_len};
    int rc = read_eval(&r, root, e);
    json_free(root);
    if (rc != 0) report_eval_free(e);
    return rc;
}

void report_eval_free(report_eval *e) {
    if (e->per_class)
        for (int k = 0; k < e->classes; k++) free(e->per_class[k].name);
    free(e->per_class);
    free(e->name);
    e->per_class = NULL;
    e->name = NULL;
}
