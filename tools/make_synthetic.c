/* make-synthetic: a small synthetic long-tailed image set, written as JPEG
 * files and manifests, for CI and quick experiments.
 *
 * Each class has a smooth template: a low-frequency sinusoid between two
 * colours, overlaid with three Gaussian blobs of their own colours. Classes
 * c and C-1-c (a head class and a tail class) form a pair that shares the
 * sinusoid and two of the blobs; in the tail class the third blob sits
 * 0.12..0.24 of the image away and its colour is blended halfway to another.
 * A small network learns the set but confuses the pairs now and then, the
 * way long-tailed training pulls tail images to look-alike head classes (with
 * an odd C the middle class has no partner). An image is its class template
 * shifted by up to size/8 pixels, scaled by 0.8..1.2 about the centre, with
 * contrast (0.7..1.3) and brightness (-0.12..0.12) jitter and uniform pixel
 * noise (+-0.15), then saved as a JPEG at quality 90. Every random number is
 * Philox keyed by the seed, so the files are byte-identical for a seed.
 *
 * Train counts follow n_c = round(n_max * IF^(-c/(C-1))), or a counts file
 * (--train-counts: a stand-in with another set's shape, e.g. ImageNet-LT's);
 * val and test are balanced. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn/clock.h"
#include "nn/log.h"
#include "tools/cli.h"
#include "nn/rng.h"
#include "store/digest.h"
#include "store/fsutil.h"
#include "store/image.h"
#include "store/jpeg.h"
#include "store/manifest.h"

#define GENERATOR_VERSION 1
#define QUALITY 90
#define BLOBS 3
#define COMPLETE_MARKER ".complete"
#define PROGRESS_MARKER ".in-progress"

/* Philox streams of this generator (keyed by --seed, apart from training's). */
#define STREAM_TEMPLATE ((cbd_rng_stream)0x53594e01u)
#define STREAM_VARIANT ((cbd_rng_stream)0x53594e02u)
#define STREAM_JITTER ((cbd_rng_stream)0x53594e03u)
#define STREAM_NOISE ((cbd_rng_stream)0x53594e04u)

static const char usage_text[] =
    "usage: make-synthetic --out DIR [options]\n"
    "\n"
    "Writes a synthetic long-tailed image set of JPEG files and manifests:\n"
    "  DIR/images/{train,val,test}/cCC/NNNNN.jpg\n"
    "  DIR/train.txt DIR/val.txt DIR/test.txt   manifests, paths relative to DIR\n"
    "  DIR/classes.txt                          class names (class00, class01, ...)\n"
    "  DIR/counts.csv                           train images per class (class,name,count)\n"
    "  DIR/.complete                            written last: the parameters of the set\n"
    "\n"
    "options:\n"
    "  --classes N          classes (default 20, 2..1000)\n"
    "  --n-max N            train images of class 0 (default 100)\n"
    "  --imbalance IF       n_max / n_min (default 25): class c gets\n"
    "                       round(n_max * IF^(-c/(C-1))) train images\n"
    "  --size S             images are S x S pixels (default 32, 8..512)\n"
    "  --channels 1|3       gray or RGB (default 3)\n"
    "  --val-per-class N    balanced validation split (default 10)\n"
    "  --test-per-class N   balanced test split (default 20)\n"
    "  --train-counts FILE  train images per class from FILE instead (class,name,count\n"
    "                       lines as counts.csv holds them; its rows set the classes)\n"
    "  --seed N             every random choice follows from it (default 1)\n"
    "  --force              replace a set made with other parameters, or write into a\n"
    "                       folder that holds other files\n"
    "\n"
    "Classes are smooth templates (a coloured low-frequency sinusoid and three\n"
    "Gaussian blobs); classes c and C-1-c (head and tail) differ in one blob's place\n"
    "and colour.\n"
    "Images are their template shifted (up to S/8), scaled (0.8..1.2), with contrast,\n"
    "brightness and pixel-noise jitter. Same parameters, same bytes. When DIR already\n"
    "holds a complete set with the same parameters nothing is written.\n"
    "\n"
    "exit status: 0 ok (or already up to date); 1 failure; 2 bad usage, or DIR holds\n"
    "something else (without --force)\n";

typedef struct {
    const char *out, *train_counts_path;
    int classes, n_max, size, channels, val_per_class, test_per_class, force;
    double imbalance;
    uint64_t seed;
    int *train_counts; /* classes entries when --train-counts was given */
    uint64_t train_counts_digest;
} options;

static void read_train_counts(options *o, int classes_given);

static void parse_args(int argc, char **argv, options *o) {
    *o = (options){.classes = 20, .n_max = 100, .imbalance = 25.0, .size = 32, .channels = 3,
                   .val_per_class = 10, .test_per_class = 20, .seed = 1};
    int classes_given = 0;
    const char *profile_given = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        }
        if (strcmp(a, "--force") == 0) {
            o->force = 1;
            continue;
        }
        if (i + 1 >= argc) cbd_usage_error("%s: missing value (or unknown option)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--classes") == 0) o->classes = (int)cbd_parse_integer(a, v, 2, 1000);
        else if (strcmp(a, "--n-max") == 0) o->n_max = (int)cbd_parse_integer(a, v, 1, 100000);
        else if (strcmp(a, "--imbalance") == 0) o->imbalance = cbd_parse_real(a, v, 1.0, 1e6);
        else if (strcmp(a, "--size") == 0) o->size = (int)cbd_parse_integer(a, v, 8, 512);
        else if (strcmp(a, "--channels") == 0) o->channels = (int)cbd_parse_integer(a, v, 1, 3);
        else if (strcmp(a, "--val-per-class") == 0) o->val_per_class = (int)cbd_parse_integer(a, v, 1, 100000);
        else if (strcmp(a, "--test-per-class") == 0) o->test_per_class = (int)cbd_parse_integer(a, v, 1, 100000);
        else if (strcmp(a, "--seed") == 0) o->seed = (uint64_t)cbd_parse_integer(a, v, 0, INT64_MAX);
        else if (strcmp(a, "--train-counts") == 0) o->train_counts_path = v;
        else cbd_usage_error("unknown option '%s'", a);
        if (strcmp(a, "--classes") == 0) classes_given = 1;
        if (strcmp(a, "--n-max") == 0 || strcmp(a, "--imbalance") == 0) profile_given = a;
    }
    if (o->train_counts_path && profile_given)
        cbd_usage_error("%s and --train-counts both set the train counts: give one", profile_given);
    if (o->train_counts_path) read_train_counts(o, classes_given);
    if (!o->out) cbd_usage_error("--out DIR is required");
    if (o->channels == 2) cbd_usage_error("--channels: expected 1 or 3, got 2");
}

/* The counts file: optional header "class,name,count", then one line a class
 * in class order. Any fault names the file and line. */
static void read_train_counts(options *o, int classes_given) {
    const char *path = o->train_counts_path;
    FILE *f = fopen(path, "r");
    if (!f) cbd_usage_error("--train-counts %s: %s", path, strerror(errno));
    char line[1024];
    int n = 0, lineno = 0;
    o->train_counts = cbd_malloc(1000 * sizeof *o->train_counts);
    uint64_t h = CBD_FNV1A64_INIT;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) cbd_usage_error("%s:%d: line too long", path, lineno);
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0 || line[0] == '#' || (lineno == 1 && strncmp(line, "class,", 6) == 0)) continue;
        char *first = strchr(line, ','), *last = strrchr(line, ',');
        if (!first || first == last)
            cbd_usage_error("%s:%d: expected class,name,count, got '%s'", path, lineno, line);
        char *end;
        errno = 0;
        const long c = strtol(line, &end, 10);
        if (end != first || c != n)
            cbd_usage_error("%s:%d: class %.*s where class %d was due (one line a class, in order)", path, lineno,
                            (int)(first - line), line, n);
        const long count = strtol(last + 1, &end, 10);
        if (*end != 0 || end == last + 1 || errno != 0 || count < 1 || count > 100000)
            cbd_usage_error("%s:%d: count '%s': expected an integer in 1..100000", path, lineno, last + 1);
        if (n == 1000) cbd_usage_error("%s:%d: more than 1000 classes", path, lineno);
        o->train_counts[n++] = (int)count;
        h = cbd_fnv1a64_update(h, &count, sizeof count);
    }
    const int read_failed = ferror(f);
    fclose(f);
    if (read_failed) cbd_usage_error("--train-counts %s: read error", path);
    if (n < 2) cbd_usage_error("%s: %d classes, at least 2 needed", path, n);
    if (classes_given && o->classes != n)
        cbd_usage_error("--classes %d but %s has %d classes", o->classes, path, n);
    o->classes = n;
    o->train_counts_digest = h;
}

/* The parameters as the marker records them. */
static void describe_params(const options *o, char *out, size_t out_len) {
    char counts[64] = "";
    if (o->train_counts) {
        char hex[17];
        cbd_digest_hex(o->train_counts_digest, hex);
        snprintf(counts, sizeof counts, " train_counts=%s", hex);
    }
    snprintf(out, out_len,
             "make-synthetic %d classes=%d n_max=%d imbalance=%.17g size=%d channels=%d val_per_class=%d "
             "test_per_class=%d seed=%" PRIu64 " quality=%d%s\n",
             GENERATOR_VERSION, o->classes, o->n_max, o->imbalance, o->size, o->channels, o->val_per_class,
             o->test_per_class, o->seed, QUALITY, counts);
}

static int train_count(const options *o, int c) {
    if (o->train_counts) return o->train_counts[c];
    double n = o->n_max * pow(o->imbalance, -(double)c / (o->classes - 1));
    int rounded = (int)floor(n + 0.5);
    return rounded < 1 ? 1 : rounded;
}

/* ---- templates ---------------------------------------------------------------------- */

typedef struct {
    float x, y, sigma, colour[3];
} blob;

typedef struct {
    float angle_cos, angle_sin, frequency, phase;
    float colour_a[3], colour_b[3];
    blob blobs[BLOBS];
} class_template;

/* The k-th uniform of a (stream, key) sequence, in [lo, hi). */
static float draw(uint64_t seed, cbd_rng_stream stream, uint64_t key, uint32_t k, float lo, float hi) {
    return lo + (hi - lo) * cbd_rng_uniform(seed, stream, key, k);
}

static void draw_blob(uint64_t seed, cbd_rng_stream stream, uint64_t key, uint32_t first, blob *b) {
    b->x = draw(seed, stream, key, first, 0.2f, 0.8f);
    b->y = draw(seed, stream, key, first + 1, 0.2f, 0.8f);
    b->sigma = draw(seed, stream, key, first + 2, 0.08f, 0.18f);
    for (int k = 0; k < 3; k++) b->colour[k] = draw(seed, stream, key, first + 3 + (uint32_t)k, 0.0f, 1.0f);
}

/* The tail class of a pair moves the family's last blob by 0.12..0.24 of the
 * image in a random direction and blends its colour halfway to another. */
static void vary_blob(uint64_t seed, int c, blob *b) {
    const float angle = draw(seed, STREAM_VARIANT, (uint64_t)c, 0, 0.0f, 6.2831853f);
    const float distance = draw(seed, STREAM_VARIANT, (uint64_t)c, 1, 0.12f, 0.24f);
    b->x += distance * cosf(angle);
    b->y += distance * sinf(angle);
    for (int k = 0; k < 3; k++)
        b->colour[k] =
            0.5f * (b->colour[k] + draw(seed, STREAM_VARIANT, (uint64_t)c, 2 + (uint32_t)k, 0.0f, 1.0f));
}

/* Classes c and C-1-c share the template of family min(c, C-1-c); the
 * second of them varies its last blob. */
static void make_template(uint64_t seed, int c, int classes, class_template *t) {
    const int partner = classes - 1 - c;
    const uint64_t family = (uint64_t)(c < partner ? c : partner);
    const float angle = draw(seed, STREAM_TEMPLATE, family, 0, 0.0f, 3.14159265f);
    t->angle_cos = cosf(angle);
    t->angle_sin = sinf(angle);
    t->frequency = draw(seed, STREAM_TEMPLATE, family, 1, 1.0f, 3.0f);
    t->phase = draw(seed, STREAM_TEMPLATE, family, 2, 0.0f, 6.2831853f);
    for (int k = 0; k < 3; k++) {
        t->colour_a[k] = draw(seed, STREAM_TEMPLATE, family, 3 + (uint32_t)k, 0.15f, 0.85f);
        t->colour_b[k] = draw(seed, STREAM_TEMPLATE, family, 6 + (uint32_t)k, 0.15f, 0.85f);
    }
    for (int j = 0; j < BLOBS; j++)
        draw_blob(seed, STREAM_TEMPLATE, family, 16 + 8 * (uint32_t)j, &t->blobs[j]);
    if (c > partner) vary_blob(seed, c, &t->blobs[BLOBS - 1]);
}

/* The template's colour at (u, v) in unit coordinates. */
static void template_colour(const class_template *t, float u, float v, float rgb[3]) {
    float wave = sinf(6.2831853f * t->frequency * (u * t->angle_cos + v * t->angle_sin) + t->phase);
    float mix = 0.5f + 0.5f * wave;
    for (int k = 0; k < 3; k++) rgb[k] = t->colour_a[k] + (t->colour_b[k] - t->colour_a[k]) * mix;
    for (int j = 0; j < BLOBS; j++) {
        const blob *b = &t->blobs[j];
        float dx = u - b->x, dy = v - b->y;
        float w = expf(-(dx * dx + dy * dy) / (2.0f * b->sigma * b->sigma));
        for (int k = 0; k < 3; k++) rgb[k] += (b->colour[k] - rgb[k]) * w;
    }
}

/* ---- images --------------------------------------------------------------------------- */

typedef struct {
    float shift_x, shift_y, scale, contrast, brightness;
} jitter;

static jitter draw_jitter(uint64_t seed, uint64_t key) {
    jitter j;
    j.shift_x = draw(seed, STREAM_JITTER, key, 0, -0.125f, 0.125f);
    j.shift_y = draw(seed, STREAM_JITTER, key, 1, -0.125f, 0.125f);
    j.scale = draw(seed, STREAM_JITTER, key, 2, 0.8f, 1.2f);
    j.contrast = draw(seed, STREAM_JITTER, key, 3, 0.7f, 1.3f);
    j.brightness = draw(seed, STREAM_JITTER, key, 4, -0.12f, 0.12f);
    return j;
}

static uint8_t to_byte(float v) {
    v = v * 255.0f + 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

/* Image `key` of template t into img (size x size x channels). */
static void render(const options *o, const class_template *t, uint64_t key, cbd_image *img) {
    const jitter j = draw_jitter(o->seed, key);
    const int s = o->size;
    cbd_image_reserve(img, s, s, o->channels);
    for (int y = 0; y < s; y++) {
        uint8_t *row = cbd_image_row(img, y);
        for (int x = 0; x < s; x++) {
            float u = ((x + 0.5f) / s - 0.5f - j.shift_x) / j.scale + 0.5f;
            float v = ((y + 0.5f) / s - 0.5f - j.shift_y) / j.scale + 0.5f;
            float rgb[3];
            template_colour(t, u, v, rgb);
            cbd_philox_block noise = cbd_rng_block(o->seed, STREAM_NOISE, key, (uint32_t)(y * s + x));
            if (o->channels == 1) rgb[0] = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
            for (int k = 0; k < o->channels; k++) {
                float n = 0.3f * cbd_u32_to_unit(noise.v[k]) - 0.15f;
                row[x * o->channels + k] = to_byte((rgb[k] - 0.5f) * j.contrast + 0.5f + j.brightness + n);
            }
        }
    }
}

/* ---- the set ---------------------------------------------------------------------------- */

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLITS };
static const char *const split_names[SPLITS] = {"train", "val", "test"};

typedef struct {
    const options *o;
    class_template *templates;
    int class_digits;
    char **names;
    cbd_image img;
    char err[1024];
} generator;

static int split_count(const options *o, int split, int c) {
    return split == SPLIT_TRAIN ? train_count(o, c)
           : split == SPLIT_VAL ? o->val_per_class
                                : o->test_per_class;
}

static void fail_with(const generator *g) { cbd_fail(CBD_EXIT_FAILURE, "%s", g->err); }

static void make_folder(generator *g, const char *path) {
    if (cbd_mkdir_p(path, g->err, sizeof g->err) != 0) fail_with(g);
}

/* Renders and saves the images of one split; returns its manifest entries. */
static cbd_manifest_entry *write_split(generator *g, int split, int64_t *count_out) {
    const options *o = g->o;
    int64_t total = 0, n = 0;
    for (int c = 0; c < o->classes; c++) total += split_count(o, split, c);
    cbd_manifest_entry *entries = cbd_calloc((size_t)total, sizeof *entries);
    char rel[256], file[4096];
    for (int c = 0; c < o->classes; c++) {
        snprintf(rel, sizeof rel, "images/%s/c%0*d", split_names[split], g->class_digits, c);
        snprintf(file, sizeof file, "%s/%s", o->out, rel);
        make_folder(g, file);
        for (int i = 0; i < split_count(o, split, c); i++) {
            const uint64_t key = ((uint64_t)split << 40) | ((uint64_t)c << 20) | (uint64_t)i;
            snprintf(rel, sizeof rel, "images/%s/c%0*d/%05d.jpg", split_names[split], g->class_digits, c, i);
            snprintf(file, sizeof file, "%s/%s", o->out, rel);
            render(o, &g->templates[c], key, &g->img);
            if (cbd_jpeg_encode_file(file, &g->img, QUALITY, g->err, sizeof g->err) != 0) fail_with(g);
            entries[n].path = cbd_strdup(rel);
            entries[n].label = c;
            n++;
        }
    }
    *count_out = n;
    return entries;
}

static void write_manifest(generator *g, int split, const cbd_manifest_entry *entries, int64_t n) {
    char path[4096], comment[512];
    const options *o = g->o;
    snprintf(path, sizeof path, "%s/%s.txt", o->out, split_names[split]);
    snprintf(comment, sizeof comment,
             "make-synthetic: %s split, %d classes, %dx%dx%d images, seed %" PRIu64 "\n"
             "paths are relative to this file's folder",
             split_names[split], o->classes, o->size, o->size, o->channels, o->seed);
    if (cbd_manifest_write(path, entries, n, comment, g->err, sizeof g->err) != 0) fail_with(g);
}

static void write_class_files(generator *g) {
    const options *o = g->o;
    char path[4096];
    int64_t *counts = cbd_malloc((size_t)o->classes * sizeof *counts);
    for (int c = 0; c < o->classes; c++) counts[c] = train_count(o, c);
    snprintf(path, sizeof path, "%s/classes.txt", o->out);
    if (cbd_class_names_write(path, (const char *const *)g->names, o->classes, g->err, sizeof g->err) != 0)
        fail_with(g);
    snprintf(path, sizeof path, "%s/counts.csv", o->out);
    if (cbd_class_counts_write(path, (const char *const *)g->names, counts, o->classes, g->err,
                               sizeof g->err) != 0)
        fail_with(g);
    free(counts);
}

static void generate(const options *o) {
    generator g = {.o = o};
    g.class_digits = o->classes > 100 ? 3 : 2;
    g.templates = cbd_calloc((size_t)o->classes, sizeof *g.templates);
    g.names = cbd_calloc((size_t)o->classes, sizeof *g.names);
    for (int c = 0; c < o->classes; c++) {
        char name[32];
        make_template(o->seed, c, o->classes, &g.templates[c]);
        snprintf(name, sizeof name, "class%0*d", g.class_digits, c);
        g.names[c] = cbd_strdup(name);
    }
    for (int split = 0; split < SPLITS; split++) {
        int64_t n = 0;
        cbd_manifest_entry *entries = write_split(&g, split, &n);
        write_manifest(&g, split, entries, n);
        for (int64_t i = 0; i < n; i++) free((char *)entries[i].path);
        free(entries);
    }
    write_class_files(&g);
    cbd_class_names_free(g.names, o->classes);
    free(g.templates);
    cbd_image_free(&g.img);
}

/* ---- the folder's state ---------------------------------------------------------------- */

static char *marker_path(const options *o, const char *name) {
    char *path = cbd_malloc(strlen(o->out) + strlen(name) + 2);
    sprintf(path, "%s/%s", o->out, name);
    return path;
}

/* The marker's text, or NULL when there is none. */
static char *read_marker(const options *o, const char *name) {
    char *path = marker_path(o, name), err[512];
    char *text = cbd_file_exists(path) ? cbd_read_file(path, NULL, err, sizeof err) : NULL;
    free(path);
    return text;
}

static int folder_has_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    if (rc != 0) cbd_warn("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Removes an earlier set's images and markers (only what this tool writes). */
static void remove_old_set(const options *o) {
    char *images = marker_path(o, "images");
    struct stat st;
    if (stat(images, &st) == 0 && nftw(images, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "cannot remove %s: %s", images, strerror(errno));
    free(images);
    char *complete = marker_path(o, COMPLETE_MARKER);
    if (unlink(complete) != 0 && errno != ENOENT)
        cbd_fail(CBD_EXIT_FAILURE, "cannot remove %s: %s", complete, strerror(errno));
    free(complete);
}

/* 1 when the set is already there; exits on a folder it must not touch;
 * otherwise clears what an earlier set left and returns 0. */
static int prepare_folder(const options *o, const char *params) {
    char *complete = read_marker(o, COMPLETE_MARKER), *progress = read_marker(o, PROGRESS_MARKER);
    int up_to_date = complete && strcmp(complete, params) == 0;
    if (!up_to_date && complete && !o->force)
        cbd_fail(CBD_EXIT_USAGE,
                 "%s/%s: the folder holds a set made with other parameters (%.*s): use --force to "
                 "replace it, or another --out",
                 o->out, COMPLETE_MARKER, (int)strcspn(complete, "\n"), complete);
    if (!complete && !progress && folder_has_files(o->out) && !o->force)
        cbd_fail(CBD_EXIT_USAGE,
                 "%s: the folder is not empty and holds no synthetic set: choose a new or empty "
                 "folder, or pass --force to write into it",
                 o->out);
    if (!up_to_date && (complete || progress)) remove_old_set(o);
    free(complete);
    free(progress);
    return up_to_date;
}

static void write_marker(const options *o, const char *name, const char *params) {
    char err[1024], *path = marker_path(o, name);
    if (cbd_write_file_atomic(path, params, strlen(params), err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    free(path);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    char params[512], err[1024];
    parse_args(argc, argv, &o);
    describe_params(&o, params, sizeof params);
    if (cbd_mkdir_p(o.out, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    if (prepare_folder(&o, params)) {
        cbd_log("make-synthetic: %s is up to date", o.out);
        free(o.train_counts);
        return CBD_EXIT_OK;
    }
    const double started = cbd_now();
    write_marker(&o, PROGRESS_MARKER, params);
    generate(&o);
    write_marker(&o, COMPLETE_MARKER, params);
    char *progress = marker_path(&o, PROGRESS_MARKER);
    unlink(progress);
    free(progress);
    int64_t train = 0;
    for (int c = 0; c < o.classes; c++) train += train_count(&o, c);
    cbd_log("make-synthetic: %s: %d classes, %" PRId64
            " train (%d..%d per class), %d val and %d test per class, "
            "%dx%dx%d, %.2f s",
            o.out, o.classes, train, train_count(&o, 0), train_count(&o, o.classes - 1), o.val_per_class,
            o.test_per_class, o.size, o.size, o.channels, cbd_now() - started);
    free(o.train_counts);
    return CBD_EXIT_OK;
}
