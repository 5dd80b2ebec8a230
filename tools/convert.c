/* cbd-convert: the standard files of the paper's benchmarks into cbd
 * manifests (store/manifest.h) and class-names files, after checking that
 * every image is where the list says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "store/manifest.h"
#include "tools/cli.h"
#include "tools/convert_inat.h"
#include "tools/convert_paths.h"

static const char usage_text[] =
    "usage: cbd-convert FORMAT --in FILE --root DIR --out MANIFEST [--class-names-out FILE]\n"
    "                   [--prefix DIR]\n"
    "\n"
    "FORMAT:\n"
    "  imagenet-lt  ImageNet-LT list files (ImageNet_LT_train.txt, _val.txt, _test.txt:\n"
    "               'train/n01440764/n01440764_10026.JPEG 0' per line)\n"
    "  places-lt    Places-LT list files (Places_LT_train.txt, ...: '/a/airfield/00000001.jpg 0';\n"
    "               the leading '/' is dropped)\n"
    "  inat2018     iNaturalist 2018 COCO-style JSON (train2018.json, val2018.json: images,\n"
    "               annotations, categories; labels are the category ids)\n"
    "\n"
    "Every image path must be a file under --root (the folder the paths start from;\n"
    "set the same folder as [data] image_root). When some are not, nothing is\n"
    "written and the message says how many, shows the first, and names the usual\n"
    "cause (a root one folder too deep, a flat val/ where the list wants class\n"
    "folders). --class-names-out writes one name per label: the class folder of\n"
    "its images (imagenet-lt, places-lt; refused when the list's paths name no\n"
    "folder, as Places-LT's val and test lists) or the category name (inat2018).\n"
    "--prefix DIR puts DIR/ before every path (imagenet-lt, places-lt), so that\n"
    "splits in sibling folders share one root: Places365's data_256/ and val_256/.\n"
    "Exit status: 0 written; 1 a file cannot be written; 2 bad usage or input\n";

typedef struct {
    const char *format, *in, *root, *out, *names_out, *prefix;
} options;

static void parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        }
        if (a[0] != '-' && !o->format) {
            o->format = a;
            continue;
        }
        if (i + 1 >= argc) cbd_usage_error("%s: missing value (or unknown option)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--in") == 0) o->in = v;
        else if (strcmp(a, "--root") == 0) o->root = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--class-names-out") == 0) o->names_out = v;
        else if (strcmp(a, "--prefix") == 0) o->prefix = v;
        else cbd_usage_error("unknown option '%s'", a);
    }
    if (!o->format) cbd_usage_error("no FORMAT (imagenet-lt, places-lt or inat2018)");
    if (strcmp(o->format, "imagenet-lt") && strcmp(o->format, "places-lt") && strcmp(o->format, "inat2018"))
        cbd_usage_error("unknown FORMAT '%s' (imagenet-lt, places-lt or inat2018)", o->format);
    if (!o->in || !o->root || !o->out) cbd_usage_error("--in, --root and --out are required");
}

/* The class folder of a path: its folder without a leading split folder
 * ("train/n0144/x.JPEG" -> "n0144") or Places' letter ("a/airfield/x.jpg" ->
 * "airfield", "b/bakery/shop/x.jpg" -> "bakery/shop"); NULL for a bare file name. */
static char *class_folder(const char *path) {
    const char *base = strrchr(path, '/');
    if (!base) return NULL;
    const char *start = path, *slash = strchr(path, '/');
    const size_t first = (size_t)(slash - path);
    const int split = (first == 5 && !strncmp(path, "train", 5)) || (first == 3 && !strncmp(path, "val", 3)) ||
                      (first == 4 && !strncmp(path, "test", 4)) || first == 1;
    if (split && slash != base) start = slash + 1;
    char *name = cbd_malloc((size_t)(base - start) + 1);
    memcpy(name, start, (size_t)(base - start));
    name[base - start] = '\0';
    return name;
}

/* One name per label from the images' folders; every label's images must share one. */
static char **names_from_folders(const options *o, const cbd_manifest *m) {
    char **names = cbd_calloc((size_t)m->classes, sizeof *names);
    for (int64_t i = 0; i < m->count; i++) {
        const cbd_manifest_entry *e = &m->entries[i];
        char *name = class_folder(e->path);
        if (!name)
            cbd_fail(CBD_EXIT_USAGE, "%s:%d: '%s' names no class folder: --class-names-out needs a list whose paths "
                     "do (the train list)", o->in, e->line, e->path);
        if (!names[e->label]) {
            names[e->label] = name;
        } else {
            if (strcmp(names[e->label], name) != 0)
                cbd_fail(CBD_EXIT_USAGE, "%s:%d: label %d is in folder %s here and %s before: the list mixes classes",
                         o->in, e->line, e->label, name, names[e->label]);
            free(name);
        }
    }
    for (int c = 0; c < m->classes; c++)
        if (!names[c]) cbd_fail(CBD_EXIT_USAGE, "%s: no image has label %d, so it has no name", o->in, c);
    return names;
}

static void convert_list(const options *o) {
    char err[16384];
    cbd_manifest m;
    if (cbd_manifest_read(o->in, 0, &m, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    for (int64_t i = 0; i < m.count; i++)
        while (m.entries[i].path[0] == '/') m.entries[i].path++; /* Places-LT: '/a/airfield/...' */
    char **names = o->names_out ? names_from_folders(o, &m) : NULL;
    char **prefixed = NULL;
    if (o->prefix) {
        prefixed = cbd_calloc((size_t)m.count, sizeof *prefixed);
        for (int64_t i = 0; i < m.count; i++) {
            const size_t n = strlen(o->prefix) + strlen(m.entries[i].path) + 2;
            prefixed[i] = cbd_malloc(n);
            snprintf(prefixed[i], n, "%s/%s", o->prefix, m.entries[i].path);
            m.entries[i].path = prefixed[i];
        }
    }
    if (convert_check_paths(o->in, o->root, m.entries, m.count, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    char comment[8192];
    snprintf(comment, sizeof comment, "cbd-convert %s from %s: %lld images, %d classes\nthe paths are relative to %s: "
             "set [data] image_root = %s", o->format, o->in, (long long)m.count, m.classes, o->root, o->root);
    if (cbd_manifest_write(o->out, m.entries, m.count, comment, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    if (names && cbd_class_names_write(o->names_out, (const char *const *)names, m.classes, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    printf("cbd-convert: %s: %lld images of %d classes%s%s\n", o->out, (long long)m.count, m.classes,
           names ? "; names in " : "", names ? o->names_out : "");
    if (names) cbd_class_names_free(names, m.classes);
    for (int64_t i = 0; prefixed && i < m.count; i++) free(prefixed[i]);
    free(prefixed);
    cbd_manifest_free(&m);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    parse(argc, argv, &o);
    if (strcmp(o.format, "inat2018") == 0) {
        if (o.prefix) cbd_usage_error("--prefix: inat2018's file names already start from the folder of the JSON");
        convert_inat(o.in, o.root, o.out, o.names_out);
    }
    else convert_list(&o);
    return CBD_EXIT_OK;
}
