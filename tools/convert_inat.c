/* iNaturalist 2018 JSON into a manifest (tools/convert_inat.h). */
#include "tools/convert_inat.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/manifest.h"
#include "tools/convert_paths.h"
#include "tools/report_json.h"

/* iNat 2018's train2018.json is about 200 MB */
#define MAX_JSON_BYTES ((size_t)4 << 30)

typedef struct {
    double id;
    int64_t index;
} id_index;

static int by_id(const void *a, const void *b) {
    const id_index *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static const json_value *array_of(const char *path, const json_value *top, const char *key) {
    const json_value *v = json_get(top, key);
    if (!v || v->type != JSON_ARRAY)
        cbd_fail(CBD_EXIT_USAGE, "%s: no \"%s\" array at the top%s", path, key,
                 strcmp(key, "annotations") == 0 ? " (iNat's test2018.json has no labels: convert train or val)" : "");
    return v;
}

/* The whole-number member key of object o (line of o in messages). */
static double whole(const char *path, const json_value *o, const char *key) {
    const json_value *v = json_get(o, key);
    if (!v || v->type != JSON_NUMBER || v->number != floor(v->number) || v->number < 0)
        cbd_fail(CBD_EXIT_USAGE, "%s:%d: \"%s\" is missing or not a non-negative whole number", path, o->line, key);
    return v->number;
}

static const char *text(const char *path, const json_value *o, const char *key) {
    const json_value *v = json_get(o, key);
    if (!v || v->type != JSON_STRING || !v->string[0])
        cbd_fail(CBD_EXIT_USAGE, "%s:%d: \"%s\" is missing or not a string", path, o->line, key);
    return v->string;
}

void convert_inat(const char *json_path, const char *root, const char *out, const char *names_out) {
    char err[16384];
    json_value *top = json_parse_file(json_path, MAX_JSON_BYTES, NULL, err, sizeof err);
    if (!top) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    const json_value *images = array_of(json_path, top, "images"), *anns = array_of(json_path, top, "annotations"),
                     *cats = array_of(json_path, top, "categories");
    /* categories: ids 0..C-1 each once (iNat 2018's are) */
    const int classes = (int)cats->count;
    const char **names = cbd_calloc((size_t)(classes ? classes : 1), sizeof *names);
    for (size_t i = 0; i < cats->count; i++) {
        const double id = whole(json_path, &cats->items[i], "id");
        if (id >= classes)
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: category id %.0f: the %d categories must have ids 0 to %d", json_path,
                     cats->items[i].line, id, classes, classes - 1);
        if (names[(int)id])
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: category id %.0f given twice", json_path, cats->items[i].line, id);
        names[(int)id] = text(json_path, &cats->items[i], "name");
    }
    /* images by id */
    id_index *by = cbd_malloc((images->count ? images->count : 1) * sizeof *by);
    for (size_t i = 0; i < images->count; i++)
        by[i] = (id_index){whole(json_path, &images->items[i], "id"), (int64_t)i};
    qsort(by, images->count, sizeof *by, by_id);
    for (size_t i = 1; i < images->count; i++)
        if (by[i].id == by[i - 1].id) cbd_fail(CBD_EXIT_USAGE, "%s: image id %.0f given twice", json_path, by[i].id);
    /* one label per image, from its annotation */
    int32_t *label = cbd_malloc((images->count ? images->count : 1) * sizeof *label);
    for (size_t i = 0; i < images->count; i++) label[i] = -1;
    for (size_t a = 0; a < anns->count; a++) {
        const json_value *an = &anns->items[a];
        const id_index key = {whole(json_path, an, "image_id"), 0};
        const id_index *hit = bsearch(&key, by, images->count, sizeof *by, by_id);
        if (!hit) cbd_fail(CBD_EXIT_USAGE, "%s:%d: annotation of image %.0f, which is not in \"images\"", json_path,
                           an->line, key.id);
        const double c = whole(json_path, an, "category_id");
        if (c >= classes)
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: category_id %.0f is not one of the %d categories", json_path, an->line, c,
                     classes);
        if (label[hit->index] >= 0 && label[hit->index] != (int32_t)c)
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: image %.0f has two categories (%d and %.0f)", json_path, an->line, key.id,
                     label[hit->index], c);
        label[hit->index] = (int32_t)c;
    }
    cbd_manifest_entry *entries = cbd_malloc((images->count ? images->count : 1) * sizeof *entries);
    int64_t n = 0;
    for (size_t i = 0; i < images->count; i++) {
        if (label[i] < 0)
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: image %.0f has no annotation", json_path, images->items[i].line,
                     json_get(&images->items[i], "id")->number);
        entries[n++] = (cbd_manifest_entry){text(json_path, &images->items[i], "file_name"), label[i],
                                            images->items[i].line};
    }
    if (n == 0) cbd_fail(CBD_EXIT_USAGE, "%s: no images", json_path);
    if (convert_check_paths(json_path, root, entries, n, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    char comment[8192];
    snprintf(comment, sizeof comment, "cbd-convert inat2018 from %s: %lld images, %d classes\nthe paths are "
             "relative to %s: set [data] image_root = %s", json_path, (long long)n, classes, root, root);
    if (cbd_manifest_write(out, entries, n, comment, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    if (names_out && cbd_class_names_write(names_out, names, classes, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    printf("cbd-convert: %s: %lld images of %d classes%s%s\n", out, (long long)n, classes,
           names_out ? "; names in " : "", names_out ? names_out : "");
    free(entries);
    free(label);
    free(by);
    free(names);
    json_free(top);
}
