/* make-lt: subsample a (balanced) manifest or packed image store into a
 * long-tailed one of the same kind.
 *
 * Class sizes, for C classes by rank r = 0 .. C-1 (rank r is class r, label
 * order, unless --class-order says otherwise: an explicit list of every label,
 * largest count first, or random:SEED; the rules are in tools/make_lt_order.c):
 *
 *   exp     n_r = floor(n_max * IF^(-r/(C-1)))   (computed in double
 *           precision, plus 1e-9 so that exact integers are not lost to
 *           rounding), the profile of the CIFAR-LT and Fashion-MNIST-LT papers.
 *
 *   pareto  the ImageNet-LT recipe (Liu et al. 2019, Pareto with shape
 *           alpha = 6), made exact here:
 *             1. x_k = (1 - u_k)^(-1/alpha), u_k uniform in [0, 1) from Philox
 *                keyed by (seed, k), k = 0 .. C-1: C draws from Pareto(alpha, 1);
 *             2. sort the x_k in descending order;
 *             3. map them linearly so the largest becomes n_max and the
 *                smallest n_max / IF:
 *                n = n_max/IF + (x - x_min) / (x_max - x_min) * (n_max - n_max/IF);
 *             4. round to the nearest integer (halves up);
 *             5. the r-th largest goes to rank r.
 *
 * Every class keeps at least one image, and no class more than it has: a
 * class with fewer images than its target keeps them all (a warning says so;
 * the counts file, class,name,count,rank, holds what was kept).
 *
 * Which images of class c are kept: each image (the k-th of its class in
 * input order) gets a 64-bit key from Philox keyed by (seed, c, k); the n_c
 * smallest keys are kept, written in their input order. A smaller n_c keeps a
 * subset of what a larger one would, whatever the class order (a class with
 * the same count keeps the same images at any rank), and a manifest and the
 * store packed from it give the same selection. Same inputs, seed and order,
 * same bytes. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "tools/cli.h"
#include "tools/make_lt_order.h"
#include "nn/rng.h"
#include "store/digest.h"
#include "store/fsutil.h"
#include "store/image_store.h"
#include "store/manifest.h"

/* Philox streams of this tool (keyed by --seed, apart from training's). */
#define STREAM_PARETO ((cbd_rng_stream)0x4c540001u)
#define STREAM_SELECT ((cbd_rng_stream)0x4c540002u)

static const char usage_text[] =
    "usage: make-lt --in X --out Y --profile exp|pareto --imbalance IF --n-max N\n"
    "               --seed S [--counts COUNTS.csv] [--class-order LIST|random:SEED]\n"
    "               [options]\n"
    "\n"
    "Subsamples a manifest (.txt) or packed image store (.h5) into a long-tailed one\n"
    "of the same kind. The class at rank r (r = 0..C-1; rank r is class r unless\n"
    "--class-order is given) keeps n_r images:\n"
    "  exp     n_r = floor(n_max * IF^(-r/(C-1)))\n"
    "  pareto  the ImageNet-LT recipe: C draws x from Pareto(alpha, 1) (Philox keyed\n"
    "          by the seed), sorted descending, mapped linearly so the largest is\n"
    "          n_max and the smallest n_max/IF, rounded to the nearest integer; the\n"
    "          r-th largest goes to rank r\n"
    "A class keeps at least 1 image and at most what it has (a warning names the\n"
    "classes that have fewer than asked). The images kept are the n_c with the\n"
    "smallest Philox keys (seed, class, index in class), in input order.\n"
    "\n"
    "options:\n"
    "  --class-order LIST  the classes from the largest count to the smallest: every\n"
    "                      label 0..C-1 once, comma-separated, e.g. 2,0,1\n"
    "  --class-order random:SEED\n"
    "                      a permutation seeded by SEED (Fisher-Yates, Philox)\n"
    "                      (default: label order, class 0 the largest)\n"
    "  --alpha A           Pareto shape (default 6)\n"
    "  --counts FILE       write class,name,count,rank rows of what was kept (rank 0\n"
    "                      is the largest target)\n"
    "  --val-out FILE      also a balanced validation split of what was left out: the\n"
    "  --val-per-class N   next N images of each class by key (fewer where the class\n"
    "                      has no more); of the kind of --in\n"
    "  --classes N         manifests: number of classes (default: largest label + 1)\n"
    "  --class-names FILE  names for the counts file (default: the store's, or the\n"
    "                      class index)\n"
    "\n"
    "Manifest paths are copied as they are: keep the output beside the input, or\n"
    "give the readers the input's image root.\n"
    "exit status: 0 ok; 1 failure (cannot write); 2 bad usage or bad input\n";

enum { PROFILE_EXP, PROFILE_PARETO };

typedef struct {
    const char *in, *out, *counts, *class_names, *class_order, *val_out;
    lt_order_spec order;
    int profile, n_max, classes, val_per_class;
    double imbalance, alpha;
    uint64_t seed;
} options;

static void parse_args(int argc, char **argv, options *o) {
    int have_seed = 0;
    *o = (options){.profile = -1, .alpha = 6.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        }
        if (i + 1 >= argc) cbd_usage_error("%s: missing value (or unknown option)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--in") == 0) o->in = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--counts") == 0) o->counts = v;
        else if (strcmp(a, "--val-out") == 0) o->val_out = v;
        else if (strcmp(a, "--val-per-class") == 0) o->val_per_class = (int)cbd_parse_integer(a, v, 1, INT32_MAX);
        else if (strcmp(a, "--class-names") == 0) o->class_names = v;
        else if (strcmp(a, "--class-order") == 0) o->class_order = v;
        else if (strcmp(a, "--imbalance") == 0) o->imbalance = cbd_parse_real(a, v, 1.0, 1e9);
        else if (strcmp(a, "--alpha") == 0) o->alpha = cbd_parse_real(a, v, 1e-3, 1e3);
        else if (strcmp(a, "--n-max") == 0) o->n_max = (int)cbd_parse_integer(a, v, 1, INT32_MAX);
        else if (strcmp(a, "--classes") == 0) o->classes = (int)cbd_parse_integer(a, v, 2, INT32_MAX);
        else if (strcmp(a, "--seed") == 0) {
            o->seed = (uint64_t)cbd_parse_integer(a, v, 0, INT64_MAX);
            have_seed = 1;
        } else if (strcmp(a, "--profile") == 0) {
            if (strcmp(v, "exp") == 0) o->profile = PROFILE_EXP;
            else if (strcmp(v, "pareto") == 0) o->profile = PROFILE_PARETO;
            else cbd_usage_error("--profile: expected 'exp' or 'pareto', got '%s'", v);
        } else cbd_usage_error("unknown option '%s'", a);
    }
    if (!o->in || !o->out || o->profile < 0 || o->imbalance == 0.0 || o->n_max == 0 || !have_seed)
        cbd_usage_error("--in, --out, --profile, --imbalance, --n-max and --seed are required");
    if (cbd_image_store_path(o->in) != cbd_image_store_path(o->out))
        cbd_usage_error(
            "--out must be of the same kind as --in (a .h5 store gives a .h5 store, a manifest a manifest)");
    if (strcmp(o->in, o->out) == 0) cbd_usage_error("--out must differ from --in");
    if (!o->val_out != !o->val_per_class) cbd_usage_error("--val-out and --val-per-class go together");
    if (o->val_out && (cbd_image_store_path(o->val_out) != cbd_image_store_path(o->in) ||
                       strcmp(o->val_out, o->in) == 0 || strcmp(o->val_out, o->out) == 0))
        cbd_usage_error("--val-out must be of the kind of --in and differ from --in and --out");
    char err[1024];
    if (lt_order_parse(o->class_order, &o->order, err, sizeof err) != 0) cbd_usage_error("%s", err);
}

/* ---- class sizes (by rank) ------------------------------------------------------------------ */

static void exp_counts(const options *o, int classes, int64_t *wanted) {
    for (int r = 0; r < classes; r++)
        wanted[r] = (int64_t)floor(o->n_max * pow(o->imbalance, -(double)r / (classes - 1)) + 1e-9);
}

static int descending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void pareto_counts(const options *o, int classes, int64_t *wanted) {
    double *x = cbd_malloc((size_t)classes * sizeof *x);
    for (int k = 0; k < classes; k++)
        x[k] = pow(1.0 - (double)cbd_rng_uniform(o->seed, STREAM_PARETO, (uint64_t)k, 0), -1.0 / o->alpha);
    qsort(x, (size_t)classes, sizeof *x, descending);
    const double lo = o->n_max / o->imbalance, span = x[0] - x[classes - 1];
    for (int r = 0; r < classes; r++) {
        double n = span > 0.0 ? lo + (x[r] - x[classes - 1]) / span * (o->n_max - lo) : o->n_max;
        wanted[r] = (int64_t)floor(n + 0.5);
    }
    free(x);
}

/* ---- the input ----------------------------------------------------------------------------- */

typedef struct {
    int64_t count;
    int classes;
    const int32_t *labels;
    int32_t *manifest_labels;      /* owned copy for a manifest input */
    char **names;                  /* [classes] or NULL */
    cbd_manifest manifest;         /* a manifest input */
    cbd_image_store_reader *store; /* a store input */
} input;

static void load_input(const options *o, input *in) {
    char err[1024];
    memset(in, 0, sizeof *in);
    if (cbd_image_store_path(o->in)) {
        if (!(in->store = cbd_image_store_open(o->in, err, sizeof err))) cbd_fail(CBD_EXIT_USAGE, "%s", err);
        const cbd_image_store_info *info = cbd_image_store_get_info(in->store);
        if (o->classes && o->classes != info->classes)
            cbd_fail(CBD_EXIT_USAGE, "%s: the store has %d classes, --classes says %d", o->in, info->classes,
                     o->classes);
        in->count = info->count;
        in->classes = info->classes;
        in->labels = cbd_image_store_labels(in->store);
    } else {
        if (cbd_manifest_read(o->in, o->classes, &in->manifest, err, sizeof err) != 0)
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
        in->count = in->manifest.count;
        in->classes = in->manifest.classes;
        in->manifest_labels = cbd_malloc((size_t)in->count * sizeof *in->manifest_labels);
        for (int64_t i = 0; i < in->count; i++) in->manifest_labels[i] = in->manifest.entries[i].label;
        in->labels = in->manifest_labels;
    }
    if (in->classes < 2)
        cbd_fail(CBD_EXIT_USAGE, "%s: a long tail needs at least 2 classes, found %d", o->in, in->classes);
    if (o->class_names) {
        if (cbd_class_names_read(o->class_names, in->classes, &in->names, err, sizeof err) < 0)
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
    } else if (in->store && cbd_image_store_class_name(in->store, 0)) {
        in->names = cbd_calloc((size_t)in->classes, sizeof *in->names);
        for (int c = 0; c < in->classes; c++)
            in->names[c] = cbd_strdup(cbd_image_store_class_name(in->store, c));
    }
}

static void free_input(input *in) {
    cbd_image_store_close(in->store);
    free(in->manifest_labels);
    cbd_manifest_free(&in->manifest);
    cbd_class_names_free(in->names, in->classes);
}

/* ---- selection ------------------------------------------------------------------------------- */

typedef struct {
    uint64_t key;
    int64_t index;  /* in the input */
} candidate;

static int by_key(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Marks keep[i] = KEEP_TRAIN for the images kept (kept[c] per class) and,
 * with --val-out, KEEP_VAL for the next --val-per-class of each class by
 * key: a balanced validation split of images the long-tailed set left out. */
enum { KEEP_NONE, KEEP_TRAIN, KEEP_VAL };

static void select_images(const options *o, const input *in, const int64_t *kept, uint8_t *keep) {
    int64_t *seen = cbd_calloc((size_t)in->classes, sizeof *seen);
    candidate *all = cbd_malloc((size_t)in->count * sizeof *all);
    int64_t *first = cbd_calloc((size_t)in->classes + 1, sizeof *first);
    for (int64_t i = 0; i < in->count; i++) first[in->labels[i] + 1]++;
    for (int c = 0; c < in->classes; c++) first[c + 1] += first[c];
    for (int64_t i = 0; i < in->count; i++) {
        const int c = in->labels[i];
        const int64_t k = seen[c]++;
        cbd_philox_block r = cbd_rng_block(o->seed, STREAM_SELECT, (uint64_t)k, (uint32_t)c);
        all[first[c] + k] = (candidate){((uint64_t)r.v[0] << 32) | r.v[1], i};
    }
    for (int c = 0; c < in->classes; c++) {
        candidate *group = all + first[c];
        qsort(group, (size_t)(first[c + 1] - first[c]), sizeof *group, by_key);
        const int64_t size = first[c + 1] - first[c];
        for (int64_t k = 0; k < kept[c]; k++) keep[group[k].index] = KEEP_TRAIN;
        int64_t k = kept[c];
        for (; o->val_out && k < kept[c] + o->val_per_class && k < size; k++) keep[group[k].index] = KEEP_VAL;
        if (o->val_out && k - kept[c] < o->val_per_class)
            cbd_warn("class %d%s%s%s: %" PRId64 " images left for validation, fewer than the %d asked", c,
                     in->names ? " (" : "", in->names ? in->names[c] : "", in->names ? ")" : "", k - kept[c],
                     o->val_per_class);
    }
    free(first);
    free(all);
    free(seen);
}

/* Caps the targets by what each class has; warns about the capped ones. */
static void cap_counts(const input *in, const int64_t *wanted, int64_t *kept) {
    int64_t *available = cbd_calloc((size_t)in->classes, sizeof *available);
    for (int64_t i = 0; i < in->count; i++) available[in->labels[i]]++;
    for (int c = 0; c < in->classes; c++) {
        kept[c] = wanted[c] < 1 ? 1 : wanted[c];
        if (kept[c] <= available[c]) continue;
        cbd_warn("class %d%s%s%s has %" PRId64 " images, fewer than the %" PRId64
                 " asked: keeping all of them",
                 c, in->names ? " (" : "", in->names ? in->names[c] : "", in->names ? ")" : "", available[c],
                 kept[c]);
        kept[c] = available[c];
    }
    free(available);
}

/* Says when the counts kept do not give the imbalance asked (within 5%):
 * too few images at the top, or n_max / IF below one image. */
static void report_imbalance(const options *o, const input *in, const int64_t *wanted, const int64_t *kept) {
    int64_t hi = 0, lo = INT64_MAX, hi_wanted = 0, lo_wanted = INT64_MAX;
    for (int c = 0; c < in->classes; c++) {
        if (kept[c] > hi) hi = kept[c];
        if (kept[c] < lo) lo = kept[c];
        if (wanted[c] > hi_wanted) hi_wanted = wanted[c];
        if (wanted[c] < lo_wanted) lo_wanted = wanted[c];
    }
    if (lo < 1) return; /* an empty class: cap_counts said so */
    const double reached = (double)hi / (double)lo;
    if (fabs(reached - o->imbalance) <= 0.05 * o->imbalance) return;
    const char *why = lo_wanted < 1 ? "n_max / IF is below one image, and every class keeps at least one"
                      : hi < hi_wanted ? "the largest classes have fewer images than n_max"
                                       : "the counts round to whole images";
    cbd_warn("make-lt: the imbalance reached is %.3g (%" PRId64 " / %" PRId64 " images), not the %g asked: %s",
             reached, hi, lo, o->imbalance, why);
}

/* ---- output ------------------------------------------------------------------------------------ */

/* "class order 1,8,5,... (largest count first)", "class order random:7 = ...", or
 * NULL for label order; malloc'd. */
static char *describe_order(const options *o, const int *class_at_rank, int classes) {
    if (o->order.kind == LT_ORDER_LABEL) return NULL;
    char *list = lt_order_format(class_at_rank, classes);
    const size_t len = strlen(list) + strlen(o->class_order) + 64;
    char *s = cbd_malloc(len);
    if (o->order.kind == LT_ORDER_RANDOM)
        snprintf(s, len, "class order %s = %s (largest count first)", o->class_order, list);
    else snprintf(s, len, "class order %s (largest count first)", list);
    free(list);
    return s;
}

/* The manifest's comment: profile, seed, input, and the class order if any. */
static char *describe(const options *o, const input *in, const char *order) {
    char hex[17];
    cbd_digest_hex(in->store ? cbd_image_store_get_info(in->store)->manifest_digest : in->manifest.digest,
                   hex);
    const size_t len = 1400 + (order ? strlen(order) : 0);
    char *out = cbd_malloc(len);
    int n;
    if (o->profile == PROFILE_EXP)
        n = snprintf(out, len,
                     "make-lt: exp profile, imbalance %g, n_max %d, seed %" PRIu64 "\nfrom %s (%" PRId64
                     " images, digest %s)",
                     o->imbalance, o->n_max, o->seed, o->in, in->count, hex);
    else
        n = snprintf(out, len,
                     "make-lt: pareto profile (alpha %g), imbalance %g, n_max %d, seed %" PRIu64
                     "\nfrom %s (%" PRId64 " images, digest %s)",
                     o->alpha, o->imbalance, o->n_max, o->seed, o->in, in->count, hex);
    if (order && n >= 0 && (size_t)n < len) snprintf(out + n, len - (size_t)n, "\n%s", order);
    return out;
}

static uint64_t write_manifest(const options *o, const input *in, const uint8_t *keep, int which, const char *path,
                               const char *order) {
    char err[1024];
    cbd_manifest_entry *entries = cbd_malloc((size_t)(in->count ? in->count : 1) * sizeof *entries);
    int64_t n = 0;
    for (int64_t i = 0; i < in->count; i++)
        if (keep[i] == which) entries[n++] = in->manifest.entries[i];
    char *comment = describe(o, in, order);
    if (which == KEEP_VAL) {
        char *val = cbd_malloc(strlen(comment) + 160);
        sprintf(val, "validation: the next %d images of each class by key, left out of:\n%s", o->val_per_class,
                comment);
        free(comment);
        comment = val;
    }
    if (cbd_manifest_write(path, entries, n, comment, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    free(comment);
    uint64_t digest = cbd_manifest_digest(entries, n);
    free(entries);
    return digest;
}

static uint64_t write_store(const options *o, const input *in, const uint8_t *keep, int which, const char *path) {
    char err[1024], fallback[64];
    const cbd_image_store_info *info = cbd_image_store_get_info(in->store);
    cbd_image_store_spec spec = {info->classes, info->channels, info->height, info->width,
                                 (const char *const *)in->names, o->in};
    cbd_image_store_writer *w = cbd_image_store_create(path, &spec, err, sizeof err);
    if (!w) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cbd_image img = {0};
    for (int64_t i = 0; i < in->count; i++) {
        if (keep[i] != which) continue;
        const char *source = cbd_image_store_image_path(in->store, i);
        if (!source) snprintf(fallback, sizeof fallback, "#%" PRId64, i);
        if (cbd_image_store_read_image(in->store, i, &img, err, sizeof err) != 0) {
            cbd_image_store_abort(w);
            cbd_fail(CBD_EXIT_USAGE, "%s", err);
        }
        if (cbd_image_store_append(w, &img, in->labels[i], source ? source : fallback, err, sizeof err) != 0) {
            cbd_image_store_abort(w);
            cbd_fail(CBD_EXIT_FAILURE, "%s", err);
        }
    }
    cbd_image_free(&img);
    uint64_t digest = 0;
    if (cbd_image_store_finish(w, &digest, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    return digest;
}

/* A CSV field, quoted when it holds a comma, a quote or a line break (as in
 * the counts files of store/manifest.c). */
static size_t csv_field(char *out, const char *s) {
    size_t n = 0;
    const int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) out[n++] = '"';
    for (; *s; s++) {
        if (*s == '"') out[n++] = '"';
        out[n++] = *s;
    }
    if (quote) out[n++] = '"';
    return n;
}

/* The counts file, atomically: "class,name,count,rank", one row per class in
 * label order; the name is the class's or its index, rank 0 the largest
 * target. */
static void write_counts(const options *o, const input *in, const int64_t *kept, const int *class_at_rank) {
    char err[1024], index[16];
    int *rank = cbd_malloc((size_t)in->classes * sizeof *rank);
    size_t cap = 32;
    for (int r = 0; r < in->classes; r++) rank[class_at_rank[r]] = r;
    for (int c = 0; c < in->classes; c++) cap += 64 + 2 * (in->names ? strlen(in->names[c]) : 0);
    char *text = cbd_malloc(cap);
    size_t len = (size_t)snprintf(text, cap, "class,name,count,rank\n");
    for (int c = 0; c < in->classes; c++) {
        snprintf(index, sizeof index, "%d", c);
        len += (size_t)snprintf(text + len, cap - len, "%d,", c);
        len += csv_field(text + len, in->names ? in->names[c] : index);
        len += (size_t)snprintf(text + len, cap - len, ",%" PRId64 ",%d\n", kept[c], rank[c]);
    }
    if (cbd_write_file_atomic(o->counts, text, len, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    free(text);
    free(rank);
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    input in;
    char err[1024], hex[17];
    parse_args(argc, argv, &o);
    load_input(&o, &in);
    int *class_at_rank = cbd_malloc((size_t)in.classes * sizeof *class_at_rank);
    if (lt_order_resolve(&o.order, in.classes, class_at_rank, err, sizeof err) != 0)
        cbd_usage_error("%s", err);
    int64_t *by_rank = cbd_malloc((size_t)in.classes * sizeof *by_rank);
    int64_t *wanted = cbd_malloc((size_t)in.classes * sizeof *wanted);
    int64_t *kept = cbd_malloc((size_t)in.classes * sizeof *kept);
    if (o.profile == PROFILE_EXP) exp_counts(&o, in.classes, by_rank);
    else pareto_counts(&o, in.classes, by_rank);
    for (int r = 0; r < in.classes; r++) wanted[class_at_rank[r]] = by_rank[r];
    cap_counts(&in, wanted, kept);
    report_imbalance(&o, &in, wanted, kept);
    uint8_t *keep = cbd_calloc((size_t)in.count, 1);
    select_images(&o, &in, kept, keep);
    int64_t total = 0;
    for (int c = 0; c < in.classes; c++) total += kept[c];
    char *order = describe_order(&o, class_at_rank, in.classes);
    uint64_t digest = in.store ? write_store(&o, &in, keep, KEEP_TRAIN, o.out)
                               : write_manifest(&o, &in, keep, KEEP_TRAIN, o.out, order);
    if (o.val_out) {
        int64_t val = 0;
        for (int64_t i = 0; i < in.count; i++) val += keep[i] == KEEP_VAL;
        const uint64_t val_digest = in.store ? write_store(&o, &in, keep, KEEP_VAL, o.val_out)
                                             : write_manifest(&o, &in, keep, KEEP_VAL, o.val_out, order);
        cbd_digest_hex(val_digest, hex);
        cbd_log("make-lt: %s: %" PRId64 " validation images (up to %d a class, none of %s), digest %s", o.val_out, val,
                o.val_per_class, o.out, hex);
    }
    if (o.counts) write_counts(&o, &in, kept, class_at_rank);
    cbd_digest_hex(digest, hex);
    if (order) cbd_log("make-lt: %s", order);
    const int first = class_at_rank[0], last = class_at_rank[in.classes - 1];
    cbd_log("make-lt: %s: %" PRId64 " of %" PRId64 " images, %d classes, %" PRId64 " (class %d) .. %" PRId64
            " (class %d), digest %s",
            o.out, total, in.count, in.classes, kept[first], first, kept[last], last, hex);
    free(order);
    free(keep);
    free(kept);
    free(wanted);
    free(by_rank);
    free(class_at_rank);
    lt_order_free(&o.order);
    free_input(&in);
    return CBD_EXIT_OK;
}
