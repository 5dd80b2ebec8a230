/* pack-images: decode every image of a manifest once into a packed image
 * store (store/image_store.h), all at one size. */
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/clock.h"
#include "nn/log.h"
#include "tools/cli.h"
#include "store/digest.h"
#include "store/image_store.h"
#include "store/jpeg.h"
#include "store/manifest.h"

#define BATCH 256

static const char usage_text[] =
    "usage: pack-images --manifest M --channels 1|3 --out STORE.h5 [options]\n"
    "\n"
    "Decodes every image listed in manifest M once and packs them, in manifest order,\n"
    "into an HDF5 image store ([N, H, W, C] uint8 with labels, paths and the manifest\n"
    "digest). Every image must end up the same size:\n"
    "  --resize S          shorter side resized to S (bilinear; area averaging when\n"
    "                      shrinking more than 2x), the other in proportion\n"
    "  --size HxW | S      then the centred H x W (or S x S) window is kept; --size\n"
    "                      without --resize first resizes the shorter side to max(H, W)\n"
    "  neither             images are kept as they are and must all be the same size\n"
    "\n"
    "options:\n"
    "  --image-root DIR        folder the manifest's paths start from (default: the\n"
    "                          manifest's folder)\n"
    "  --classes N             labels must be below N (default: largest label + 1)\n"
    "  --class-names FILE      one name per class, stored in the file\n"
    "  --on-bad-image fail|skip  an image that cannot be decoded or has the wrong size:\n"
    "                          stop (default), or leave it out with a warning\n"
    "  --threads N             decoding threads (default: OMP_NUM_THREADS or all cores)\n"
    "\n"
    "The store is written as STORE.h5.partial and renamed when complete.\n"
    "exit status: 0 ok; 1 failure (cannot write); 2 bad usage or bad input (manifest,\n"
    "image under --on-bad-image fail)\n";

typedef struct {
    const char *manifest, *image_root, *out, *class_names;
    int channels, resize, height, width, classes, skip_bad, threads;
} options;

static int parse_integer(const char *option, const char *text, long lo, long hi) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        cbd_usage_error("%s: expected an integer, got '%s'", option, text);
    if (v < lo || v > hi) cbd_usage_error("%s: %ld is outside %ld..%ld", option, v, lo, hi);
    return (int)v;
}

/* "HxW" or "S". */
static void parse_size(const char *text, int *height, int *width) {
    char copy[64];
    snprintf(copy, sizeof copy, "%s", text);
    char *x = strchr(copy, 'x');
    if (x) *x = '\0';
    *height = parse_integer("--size", copy, 1, 65535);
    *width = x ? parse_integer("--size", x + 1, 1, 65535) : *height;
}

static void parse_args(int argc, char **argv, options *o) {
    *o = (options){.channels = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        }
        if (i + 1 >= argc) cbd_usage_error("%s: missing value (or unknown option)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--manifest") == 0) o->manifest = v;
        else if (strcmp(a, "--image-root") == 0) o->image_root = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--class-names") == 0) o->class_names = v;
        else if (strcmp(a, "--channels") == 0) o->channels = parse_integer(a, v, 1, 3);
        else if (strcmp(a, "--resize") == 0) o->resize = parse_integer(a, v, 1, 65535);
        else if (strcmp(a, "--size") == 0) parse_size(v, &o->height, &o->width);
        else if (strcmp(a, "--classes") == 0) o->classes = parse_integer(a, v, 1, INT32_MAX);
        else if (strcmp(a, "--threads") == 0) o->threads = parse_integer(a, v, 1, 1024);
        else if (strcmp(a, "--on-bad-image") == 0) {
            if (strcmp(v, "fail") != 0 && strcmp(v, "skip") != 0)
                cbd_usage_error("--on-bad-image: expected 'fail' or 'skip', got '%s'", v);
            o->skip_bad = strcmp(v, "skip") == 0;
        } else cbd_usage_error("unknown option '%s'", a);
    }
    if (!o->manifest || !o->out || !o->channels)
        cbd_usage_error("--manifest, --channels and --out are required");
    if (o->channels == 2) cbd_usage_error("--channels: expected 1 or 3, got 2");
    if (!cbd_image_store_path(o->out)) cbd_usage_error("--out: a store's name ends in .h5, got '%s'", o->out);
    if (o->height && !o->resize) o->resize = o->height > o->width ? o->height : o->width;
}

/* ---- one image ---------------------------------------------------------------------- */

typedef struct {
    cbd_image decoded, img;
    int ok;
    char err[4400];
} slot;

static void fill_path(const char *root, const char *rel, char *out, size_t out_len) {
    snprintf(out, out_len, "%s%s", rel[0] == '/' ? "" : root, rel);
}

/* Decodes, resizes and crops one image into s->img; sets s->ok. */
static void prepare_image(const options *o, cbd_jpeg_decoder *d, const char *file, slot *s) {
    s->ok = 0;
    if (cbd_jpeg_decode_file(d, file, o->channels, o->resize, &s->decoded, s->err, sizeof s->err) != 0)
        return;
    if (!o->height) { /* no crop: the decoded image is the result (buffers swapped, not copied) */
        cbd_image tmp = s->img;
        s->img = s->decoded;
        s->decoded = tmp;
        s->ok = 1;
        return;
    }
    if (cbd_image_center_crop(&s->decoded, &s->img, o->width, o->height) != 0) {
        snprintf(s->err, sizeof s->err,
                 "%s: %dx%d after resizing, smaller than the %dx%d crop (width x height)", file,
                 s->decoded.width, s->decoded.height, o->width, o->height);
        return;
    }
    s->ok = 1;
}

/* ---- progress -------------------------------------------------------------------------- */

typedef struct {
    int terminal;
    double started, last;
} progress;

static void progress_show(progress *p, int64_t done, int64_t total, int64_t skipped) {
    double t = cbd_now();
    if (!p->terminal || (t - p->last < 0.1 && done < total)) return;
    p->last = t;
    fprintf(stderr,
            "\rpack-images: %" PRId64 "/%" PRId64 " images (%d%%), %" PRId64 " skipped, %.0f images/s ", done,
            total, (int)(100 * done / total), skipped, done / (t - p->started + 1e-9));
    if (done == total) fputc('\n', stderr);
}

/* ---- the whole manifest --------------------------------------------------------------------- */

typedef struct {
    const options *o;
    const cbd_manifest *m;
    char *root;
    cbd_image_store_writer *w;
    int height, width;  /* of the store, once the first image fixed it */
    int64_t skipped;
    char err[1024];
} packer;

static _Noreturn void give_up(packer *p, int code, const char *message) {
    cbd_image_store_abort(p->w);
    cbd_fail(code, "%s", message);
}

/* The first good image fixes the size when --size is not given. */
static void open_store(packer *p, const cbd_image *first, char **names) {
    const options *o = p->o;
    cbd_image_store_spec spec = {p->m->classes, o->channels, first->height, first->width,
                                 (const char *const *)names, o->manifest};
    p->w = cbd_image_store_create(o->out, &spec, p->err, sizeof p->err);
    if (!p->w) cbd_fail(CBD_EXIT_FAILURE, "%s", p->err);
    p->height = first->height;
    p->width = first->width;
}

static void check_size(const packer *p, slot *s, const char *file) {
    if (s->img.width == p->width && s->img.height == p->height) return;
    snprintf(s->err, sizeof s->err,
             "%s: %dx%d (width x height) after decoding, earlier images are %dx%d: use --resize and --size "
             "to bring every image to one size",
             file, s->img.width, s->img.height, p->width, p->height);
    s->ok = 0;
}

/* Appends a decoded image, or skips or refuses one that failed. */
static void store_slot(packer *p, int64_t i, slot *s, char **names) {
    const cbd_manifest_entry *e = &p->m->entries[i];
    if (s->ok && !p->w) open_store(p, &s->img, names);
    if (s->ok) {
        char file[4096];
        fill_path(p->root, e->path, file, sizeof file);
        check_size(p, s, file);
    }
    if (s->ok) {
        if (cbd_image_store_append(p->w, &s->img, e->label, e->path, p->err, sizeof p->err) != 0)
            give_up(p, CBD_EXIT_FAILURE, p->err);
        return;
    }
    if (!p->o->skip_bad) {
        char message[4800];
        if (!p->w && strstr(s->err, "cannot open"))
            snprintf(message, sizeof message,
                     "%s:%d: %s (relative paths start at '%s': is --image-root right?)", p->o->manifest,
                     e->line, s->err, p->root[0] ? p->root : "./");
        else
            snprintf(message, sizeof message, "%s:%d: %s (--on-bad-image skip leaves such images out)",
                     p->o->manifest, e->line, s->err);
        give_up(p, CBD_EXIT_USAGE, message);
    }
    cbd_warn("%s:%d: skipped: %s", p->o->manifest, e->line, s->err);
    p->skipped++;
}

static void pack(packer *p, char **names) {
    const options *o = p->o;
    const int threads = o->threads ? o->threads : omp_get_max_threads();
    cbd_jpeg_decoder **decoders = cbd_calloc((size_t)threads, sizeof *decoders);
    for (int t = 0; t < threads; t++)
        if (!(decoders[t] = cbd_jpeg_decoder_create(p->err, sizeof p->err)))
            cbd_fail(CBD_EXIT_FAILURE, "%s", p->err);
    slot *slots = cbd_calloc(BATCH, sizeof *slots);
    progress bar = {isatty(STDERR_FILENO), cbd_now(), 0.0};
    for (int64_t start = 0; start < p->m->count; start += BATCH) {
        const int n = (int)(p->m->count - start < BATCH ? p->m->count - start : BATCH);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
        for (int k = 0; k < n; k++) {
            char file[4096];
            fill_path(p->root, p->m->entries[start + k].path, file, sizeof file);
            prepare_image(o, decoders[omp_get_thread_num()], file, &slots[k]);
        }
        for (int k = 0; k < n; k++) store_slot(p, start + k, &slots[k], names);
        progress_show(&bar, start + n, p->m->count, p->skipped);
    }
    for (int k = 0; k < BATCH; k++) {
        cbd_image_free(&slots[k].decoded);
        cbd_image_free(&slots[k].img);
    }
    free(slots);
    for (int t = 0; t < threads; t++) cbd_jpeg_decoder_free(decoders[t]);
    free(decoders);
}

/* Relative paths start here: --image-root, or the manifest's folder ("" for
 * the current one), with a trailing '/'. */
static char *image_root(const options *o) {
    if (o->image_root) {
        size_t n = strlen(o->image_root);
        char *root = cbd_malloc(n + 2);
        sprintf(root, "%s%s", o->image_root, n > 0 && o->image_root[n - 1] != '/' ? "/" : "");
        return root;
    }
    const char *slash = strrchr(o->manifest, '/');
    size_t n = slash ? (size_t)(slash - o->manifest) + 1 : 0;
    char *root = cbd_malloc(n + 1);
    memcpy(root, o->manifest, n);
    root[n] = '\0';
    return root;
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    cbd_manifest m;
    char err[1024], **names = NULL;
    parse_args(argc, argv, &o);
    if (cbd_manifest_read(o.manifest, o.classes, &m, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (o.class_names && cbd_class_names_read(o.class_names, m.classes, &names, err, sizeof err) < 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    packer p = {.o = &o, .m = &m, .root = image_root(&o)};
    const double started = cbd_now();
    pack(&p, names);
    if (!p.w) cbd_fail(CBD_EXIT_USAGE, "%s: no image could be decoded: nothing to pack", o.manifest);
    const int64_t packed = cbd_image_store_written(p.w);
    uint64_t digest = 0;
    if (cbd_image_store_finish(p.w, &digest, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    char hex[17];
    cbd_digest_hex(digest, hex);
    cbd_log("pack-images: %s: %" PRId64 " images (%" PRId64
            " skipped) of %dx%dx%d (height x width x channels), "
            "%d classes, digest %s%s, %.1f s",
            o.out, packed, p.skipped, p.height, p.width, o.channels, m.classes, hex,
            p.skipped ? " (differs from the manifest's: images were skipped)" : "", cbd_now() - started);
    cbd_class_names_free(names, m.classes);
    cbd_manifest_free(&m);
    free(p.root);
    return CBD_EXIT_OK;
}
