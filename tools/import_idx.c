/* import-idx: pack an IDX image/label pair (the MNIST and Fashion-MNIST
 * format, gzip-compressed or plain) into a packed image store.
 *
 * IDX: a 4-byte magic (0, 0, element type, number of dimensions), one
 * big-endian uint32 per dimension, then the elements in row-major order.
 * Images: type 0x08 (unsigned byte), 3 dimensions [N, rows, columns]; labels:
 * type 0x08, 1 dimension [N]. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn/log.h"
#include "tools/cli.h"
#include "store/digest.h"
#include "store/image_store.h"
#include "store/manifest.h"

#define IDX_UBYTE 0x08
#define MAX_SIDE 4096

static const char usage_text[] =
    "usage: import-idx --images IMAGES --labels LABELS --out STORE.h5 [options]\n"
    "\n"
    "Packs an IDX pair (MNIST / Fashion-MNIST format, .gz or plain) into an HDF5 image\n"
    "store of 1-channel images. Image i is recorded with the path 'NAME#i', NAME being\n"
    "the images file's name without folder and .gz; the store's digest is that of\n"
    "this list with the labels.\n"
    "Fashion-MNIST (Debian package dataset-fashion-mnist) is in\n"
    "/usr/share/datasets/fashion-mnist/: train-images-idx3-ubyte.gz,\n"
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz.\n"
    "\n"
    "options:\n"
    "  --class-names FILE  one name per class, stored in the file; its line count\n"
    "                      sets the number of classes unless --classes does\n"
    "  --classes N         labels must be below N (default: the names' count, or the\n"
    "                      largest label + 1)\n"
    "\n"
    "exit status: 0 ok; 1 failure (cannot write); 2 bad usage or bad input (wrong\n"
    "magic number, counts that disagree, truncated data, labels out of range)\n";

typedef struct {
    const char *images, *labels, *out, *class_names;
    int classes;
} options;

static void parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(CBD_EXIT_OK);
        }
        if (i + 1 >= argc) cbd_usage_error("%s: missing value (or unknown option)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--images") == 0) o->images = v;
        else if (strcmp(a, "--labels") == 0) o->labels = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--class-names") == 0) o->class_names = v;
        else if (strcmp(a, "--classes") == 0) {
            char *end = NULL;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || end == v || *end || n < 1 || n > 256)
                cbd_usage_error("--classes: expected 1..256, got '%s'", v);
            o->classes = (int)n;
        } else cbd_usage_error("unknown option '%s'", a);
    }
    if (!o->images || !o->labels || !o->out) cbd_usage_error("--images, --labels and --out are required");
    if (!cbd_image_store_path(o->out)) cbd_usage_error("--out: a store's name ends in .h5, got '%s'", o->out);
}

/* ---- IDX files ------------------------------------------------------------------------- */

typedef struct {
    const char *path;
    gzFile gz;
    uint64_t offset;   /* bytes read so far (of the uncompressed data) */
    uint32_t dims[3];
    int ndim;
} idx_file;

/* Bad input: the partial store (if any) is removed by the caller's cleanup. */
static cbd_image_store_writer *open_writer;

static _Noreturn void bad_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void bad_input(const char *fmt, ...) {
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cbd_image_store_abort(open_writer);
    cbd_fail(CBD_EXIT_USAGE, "%s", message);
}

/* Reads exactly n bytes; truncation and corrupt compressed data are errors. */
static void idx_read(idx_file *f, void *buf, size_t n, const char *what) {
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
        int got = gzread(f->gz, (char *)buf + done, chunk);
        if (got < 0) {
            int code = 0;
            const char *why = gzerror(f->gz, &code);
            bad_input("%s: cannot read %s at byte %" PRIu64 ": %s", f->path, what, f->offset + done,
                      code == Z_ERRNO ? strerror(errno) : why);
        }
        if (got == 0) {
            int code = 0;
            const char *why = gzerror(f->gz, &code);
            bad_input("%s: truncated: %s ends at byte %" PRIu64 "%s%s", f->path, what, f->offset + done,
                      code ? ": " : "", code ? why : "");
        }
        done += (size_t)got;
    }
    f->offset += n;
}

static uint32_t big_endian(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void idx_open(idx_file *f, const char *path, int ndim, const char *kind) {
    memset(f, 0, sizeof *f);
    f->path = path;
    f->gz = gzopen(path, "rb");
    if (!f->gz) bad_input("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    unsigned char magic[4], dim[4];
    idx_read(f, magic, 4, "the magic number");
    if (magic[0] != 0 || magic[1] != 0)
        bad_input("%s: not an IDX file (magic bytes %02x %02x %02x %02x, expected 00 00 08 %02x)", path,
                  magic[0], magic[1], magic[2], magic[3], ndim);
    if (magic[2] != IDX_UBYTE)
        bad_input("%s: IDX element type 0x%02x, only unsigned bytes (0x08) are supported", path, magic[2]);
    if (magic[3] != ndim)
        bad_input("%s: %d dimensions, an IDX %s file has %d (magic 0x0000080%d)", path, magic[3], kind, ndim,
                  ndim);
    f->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        idx_read(f, dim, 4, "the header");
        f->dims[d] = big_endian(dim);
    }
}

/* The bytes after the last element must not exist. */
static void idx_expect_end(idx_file *f) {
    unsigned char extra;
    if (gzread(f->gz, &extra, 1) > 0)
        bad_input("%s: data continues after the %" PRIu32 " items the header announces", f->path, f->dims[0]);
}

static void idx_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* ---- import ------------------------------------------------------------------------------ */

static uint8_t *read_labels(const options *o, idx_file *labels, int *classes) {
    idx_open(labels, o->labels, 1, "labels");
    const uint32_t n = labels->dims[0];
    if (n == 0 || n > INT32_MAX) bad_input("%s: header announces %" PRIu32 " labels", o->labels, n);
    /* Read in growing blocks: a corrupt count meets the end of the data before
     * it allocates much. */
    uint8_t *values = NULL;
    for (uint32_t done = 0, capacity = 0; done < n;) {
        uint32_t block = n - done < (1u << 20) ? n - done : 1u << 20;
        if (done + block > capacity) {
            uint64_t grown = 2 * (uint64_t)capacity > done + block ? 2 * (uint64_t)capacity : done + block;
            capacity = grown < n ? (uint32_t)grown : n;
            values = realloc(values, capacity);
            if (!values) cbd_fail(CBD_EXIT_FAILURE, "out of memory reading %s", o->labels);
        }
        idx_read(labels, values + done, block, "label data");
        done += block;
    }
    idx_expect_end(labels);
    if (*classes == 0) {
        for (uint32_t i = 0; i < n; i++)
            if (values[i] + 1 > *classes) *classes = values[i] + 1;
        return values;
    }
    for (uint32_t i = 0; i < n; i++)
        if (values[i] >= *classes)
            bad_input("%s: label %d of item %" PRIu32 " is out of range (%d classes)", o->labels, values[i],
                      i, *classes);
    return values;
}

static void check_image_header(const options *o, const idx_file *images, uint32_t labels) {
    const uint32_t n = images->dims[0], rows = images->dims[1], cols = images->dims[2];
    if (n != labels)
        bad_input("%s holds %" PRIu32 " images but %s holds %" PRIu32 " labels", o->images, n, o->labels,
                  labels);
    if (rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE)
        bad_input("%s: images of %" PRIu32 "x%" PRIu32 " pixels (rows x columns), expected 1..%d each",
                  o->images, rows, cols, MAX_SIDE);
}

/* "train-images-idx3-ubyte" from ".../train-images-idx3-ubyte.gz". */
static void source_name(const char *path, char *out, size_t out_len) {
    const char *slash = strrchr(path, '/');
    snprintf(out, out_len, "%s", slash ? slash + 1 : path);
    size_t n = strlen(out);
    if (n > 3 && strcmp(out + n - 3, ".gz") == 0) out[n - 3] = '\0';
    for (char *s = out; *s; s++)
        if (*s == ' ' || *s == '\t') *s = '_';
}

static uint64_t import(const options *o, idx_file *images, const uint8_t *labels, int classes, char **names) {
    char err[1024], base[256], path[300];
    cbd_image_store_spec spec = {classes, 1, (int)images->dims[1], (int)images->dims[2],
                                 (const char *const *)names, o->images};
    open_writer = cbd_image_store_create(o->out, &spec, err, sizeof err);
    if (!open_writer) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cbd_image img = {0};
    cbd_image_reserve(&img, spec.width, spec.height, 1);
    source_name(o->images, base, sizeof base);
    for (uint32_t i = 0; i < images->dims[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "image %" PRIu32, i);
        idx_read(images, img.pixels, (size_t)spec.width * spec.height, what);
        snprintf(path, sizeof path, "%s#%" PRIu32, base, i);
        if (cbd_image_store_append(open_writer, &img, labels[i], path, err, sizeof err) != 0) {
            cbd_image_store_abort(open_writer);
            cbd_fail(CBD_EXIT_FAILURE, "%s", err);
        }
    }
    idx_expect_end(images);
    cbd_image_free(&img);
    uint64_t digest = 0;
    cbd_image_store_writer *w = open_writer;
    open_writer = NULL;
    if (cbd_image_store_finish(w, &digest, err, sizeof err) != 0) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    return digest;
}

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    options o;
    idx_file labels_file, images_file;
    char err[1024], **names = NULL, hex[17];
    parse_args(argc, argv, &o);
    int classes = o.classes;
    if (o.class_names &&
        (classes = cbd_class_names_read(o.class_names, o.classes, &names, err, sizeof err)) < 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    if (classes > 256)
        cbd_fail(CBD_EXIT_USAGE, "%s: %d class names, byte labels allow 256", o.class_names, classes);
    uint8_t *labels = read_labels(&o, &labels_file, &classes);
    idx_close(&labels_file);
    idx_open(&images_file, o.images, 3, "images");
    check_image_header(&o, &images_file, labels_file.dims[0]);
    uint64_t digest = import(&o, &images_file, labels, classes, names);
    idx_close(&images_file);
    cbd_digest_hex(digest, hex);
    cbd_log("import-idx: %s: %" PRIu32 " images of %" PRIu32 "x%" PRIu32 ", %d classes, digest %s", o.out,
            images_file.dims[0], images_file.dims[1], images_file.dims[2], classes, hex);
    cbd_class_names_free(names, classes);
    free(labels);
    return CBD_EXIT_OK;
}
