/* h5inspect: looks inside any HDF5 file (groups, datasets, types, storage,
 * attributes) and understands the project's stores: feature stores
 * ("cbd-feature-store"), checkpoints ("cbd-checkpoint") and image stores
 * ("cbd-image-store"). Feature stores are read with plain HDF5 calls; their
 * float16 data is read as stored (2-byte half) and converted here. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "nn/log.h"
#include "tools/cli.h"
#include "store/checkpoint.h"
#include "store/digest.h"
#include "store/h5util.h"

static const char usage_text[] =
    "usage: h5inspect [--json] FILE\n"
    "       h5inspect --stats [--json] FILE\n"
    "       h5inspect --verify [--json] FILE\n"
    "       h5inspect --row I [--seed S] [--json] FILE\n"
    "       h5inspect --help\n"
    "\n"
    "Prints every group and dataset of any HDF5 file (recursive, sorted by name)\n"
    "with its shape, type, layout, filters and attributes. Files of this project\n"
    "(root attribute 'format') then get a summary: feature stores\n"
    "(cbd-feature-store), checkpoints (cbd-checkpoint), image stores\n"
    "(cbd-image-store).\n"
    "\n"
    "options:\n"
    "  --stats     feature stores: per view the mean, min and max l2 norm of the\n"
    "              feature rows and their NaN/Inf counts; per class the mean cosine\n"
    "              of the center features to their class centroid; the mean cosine\n"
    "              between the views of an image; the NCM accuracy of the center\n"
    "              features on the training labels. Reads one view at a time.\n"
    "  --verify    exit 0 only for a complete, clean store: a feature store with\n"
    "              every view done, no NaN/Inf (in the views and center marked\n"
    "              done), labels in range and shapes that agree with the\n"
    "              attributes; a checkpoint whose datasets are all\n"
    "              readable and finite; a complete image store. Prints each defect\n"
    "              on its own line and exits 1 when there is any.\n"
    "  --row I     feature stores: the feature vector (and logits) of image I\n"
    "              with its label\n"
    "  --seed S    with --row: view S (0..views-1); default: the center view\n"
    "              (--view is the same option)\n"
    "  --json      the same information as JSON; float32 and float16 values are\n"
    "              written with the fewest digits that read back as the same\n"
    "              float32, non-finite numbers as the strings \"NaN\", \"Infinity\"\n"
    "              and \"-Infinity\"\n"
    "\n"
    "exit status: 0 ok; 1 --verify found defects; 2 bad usage, a file that cannot\n"
    "be read (missing, not HDF5, truncated or corrupt) or an option that does not\n"
    "apply to the file\n";

enum { MAX_RANK = H5S_MAX_RANK };

/* ---- the file being inspected, and fatal errors ------------------------------------ */

typedef struct {
    const char *path;
    cbd_h5_ctx h5;
    char err[1024];
    hid_t file;
} inspector;

/* The message of the last failed h5util call ("FILE: what (why)"). */
static _Noreturn void die_h5(const inspector *in) { cbd_fail(CBD_EXIT_USAGE, "%s", in->err); }

static _Noreturn void die_file(const inspector *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void die_file(const inspector *in, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cbd: error: %s: ", in->path);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cbd_exit(CBD_EXIT_USAGE);
}

/* Runs an HDF5 call; a negative result ends the program with the message. */
#define TRY(in, call, ...)                             \
    do {                                               \
        if ((call) < 0) {                              \
            cbd_h5_error(&(in)->h5, __VA_ARGS__);      \
            die_h5(in);                                \
        }                                              \
    } while (0)

static void close_id(inspector *in, hid_t id, const char *what) {
    if (cbd_h5_close(id) < 0) {
        cbd_h5_error(&in->h5, "cannot close %s", what);
        die_h5(in);
    }
}

/* in->err without its leading "FILE: ". */
static const char *err_text(const inspector *in) {
    size_t n = strlen(in->path);
    if (strncmp(in->err, in->path, n) == 0 && in->err[n] == ':' && in->err[n + 1] == ' ') return in->err + n + 2;
    return in->err;
}

static void *grow(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu bytes", bytes);
    return q;
}

/* ---- text ---------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = grow(b->p, b->cap);
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
    va_end(again);
    b->len += (size_t)n;
}

static const char *sb_str(strbuf *b) {
    if (!b->p) sb_printf(b, "%s", "");
    return b->p;
}

/* A string in double quotes with \" \\ \n \t and \xNN for other control bytes. */
static void sb_quote(strbuf *b, const char *s) {
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') sb_printf(b, "\\%c", *p);
        else if (*p == '\n') sb_printf(b, "\\n");
        else if (*p == '\t') sb_printf(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f) sb_printf(b, "\\x%02x", *p);
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

static void sb_shape(strbuf *b, int ndim, const hsize_t *dims) {
    sb_printf(b, "[");
    for (int k = 0; k < ndim; k++) sb_printf(b, "%s%llu", k ? ", " : "", (unsigned long long)dims[k]);
    sb_printf(b, "]");
}

/* Shortest decimal text that reads back as the same value (as a float when
 * single is set); plain notation for magnitudes from 1e-4 to 1e15. */
static void format_number(char out[40], double v, int single) {
    if (isnan(v)) {
        snprintf(out, 40, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, 40, v > 0 ? "inf" : "-inf");
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(out, 40, "%.*g", p, v);
        if (single ? strtof(out, NULL) == (float)v : strtod(out, NULL) == v) break;
    }
    const double a = fabs(v);
    const int digits = a >= 1.0 ? (int)floor(log10(a)) + 1 : 1;
    if (strchr(out, 'e') && a >= 1e-4 && a < 1e15 && digits > p) snprintf(out, 40, "%.*g", digits, v);
}

static void format_double(char out[40], double v) { format_number(out, v, 0); }
static void format_float(char out[40], float v) { format_number(out, v, 1); }

static const char *yes_no(int64_t v) { return v ? "yes" : "no"; }

/* ---- IEEE half ------------------------------------------------------------------------- */

/* Exact half -> float: zeros, subnormals, infinities and NaN payloads included. */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | man << 13;
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | man << 13;
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: man 2^-24; normalise */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        bits = sign | exp << 23 | (man & 0x3ffu) << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* True for the IEEE binary16 layout (sign 15, exponent 10..14, mantissa 0..9, bias 15). */
static int is_half_type(inspector *in, hid_t type) {
    H5T_class_t cls;
    size_t size, spos, epos, esize, mpos, msize;
    TRY(in, cls = H5Tget_class(type), "cannot get a type class");
    if (cls != H5T_FLOAT) return 0;
    if ((size = H5Tget_size(type)) == 0) {
        cbd_h5_error(&in->h5, "cannot get a type size");
        die_h5(in);
    }
    if (size != 2) return 0;
    TRY(in, H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "cannot get the fields of a float type");
    return spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 && H5Tget_ebias(type) == 15;
}

/* ---- JSON ------------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    int depth;
    int count[32]; /* items written at each depth */
    int flat[32];  /* items on one line */
} json_out;

/* Length of a valid UTF-8 sequence of two or more bytes at p, or 0. */
static int utf8_length(const unsigned char *p) {
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    int n;
    uint32_t cp;
    if ((p[0] & 0xe0) == 0xc0) n = 2, cp = p[0] & 0x1fu;
    else if ((p[0] & 0xf0) == 0xe0) n = 3, cp = p[0] & 0x0fu;
    else if ((p[0] & 0xf8) == 0xf0) n = 4, cp = p[0] & 0x07u;
    else return 0;
    for (int k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void json_text(FILE *f, const char *s) {
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p++);
        else if (*p == '\n') fputs("\\n", f), p++;
        else if (*p == '\t') fputs("\\t", f), p++;
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p++);
        else if (*p < 0x80) fputc(*p++, f);
        else {
            int n = utf8_length(p);
            if (n) fwrite(p, 1, (size_t)n, f), p += n;
            else fputs("\\ufffd", f), p++;
        }
    }
    fputc('"', f);
}

static void jw_item(json_out *w, const char *key) {
    if (w->depth > 0) {
        int first = w->count[w->depth]++ == 0;
        if (!first) fputc(',', w->f);
        if (w->flat[w->depth]) {
            if (!first) fputc(' ', w->f);
        } else {
            fputc('\n', w->f);
            for (int k = 0; k < w->depth; k++) fputs("  ", w->f);
        }
    }
    if (key) {
        json_text(w->f, key);
        fputs(": ", w->f);
    }
}

static void jw_open(json_out *w, const char *key, int bracket, int flat) {
    jw_item(w, key);
    fputc(bracket, w->f);
    w->depth++;
    CBD_ASSERT(w->depth < 32, "JSON nested too deep");
    w->count[w->depth] = 0;
    w->flat[w->depth] = flat || w->flat[w->depth - 1];
}

static void jw_close(json_out *w, int bracket) {
    int had = w->count[w->depth], flat = w->flat[w->depth];
    w->depth--;
    if (had && !flat) {
        fputc('\n', w->f);
        for (int k = 0; k < w->depth; k++) fputs("  ", w->f);
    }
    fputc(bracket, w->f);
    if (w->depth == 0) fputc('\n', w->f);
}

static void jw_object(json_out *w, const char *key) { jw_open(w, key, '{', 0); }
static void jw_end_object(json_out *w) { jw_close(w, '}'); }
static void jw_array(json_out *w, const char *key) { jw_open(w, key, '[', 0); }
static void jw_flat_array(json_out *w, const char *key) { jw_open(w, key, '[', 1); }
static void jw_end_array(json_out *w) { jw_close(w, ']'); }

static void jw_str(json_out *w, const char *key, const char *v) {
    jw_item(w, key);
    if (v) json_text(w->f, v);
    else fputs("null", w->f);
}
static void jw_null(json_out *w, const char *key) {
    jw_item(w, key);
    fputs("null", w->f);
}
static void jw_bool(json_out *w, const char *key, int v) {
    jw_item(w, key);
    fputs(v ? "true" : "false", w->f);
}
static void jw_i64(json_out *w, const char *key, int64_t v) {
    jw_item(w, key);
    fprintf(w->f, "%" PRId64, v);
}
static void jw_u64(json_out *w, const char *key, uint64_t v) {
    jw_item(w, key);
    fprintf(w->f, "%" PRIu64, v);
}
static void jw_number_text(json_out *w, const char *key, const char *text, double v) {
    jw_item(w, key);
    if (isnan(v)) fputs("\"NaN\"", w->f);
    else if (isinf(v)) fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", w->f);
    else fputs(text, w->f);
}
static void jw_f64(json_out *w, const char *key, double v) {
    char text[40];
    format_double(text, v);
    jw_number_text(w, key, text, v);
}
static void jw_f32(json_out *w, const char *key, float v) {
    char text[40];
    format_float(text, v);
    jw_number_text(w, key, text, v);
}
static void jw_shape(json_out *w, const char *key, int ndim, const hsize_t *dims) {
    jw_flat_array(w, key);
    for (int k = 0; k < ndim; k++) jw_u64(w, NULL, dims[k]);
    jw_end_array(w);
}
static void jw_hex(json_out *w, const char *key, uint64_t v) {
    char hex[17];
    cbd_digest_hex(v, hex);
    jw_str(w, key, hex);
}

/* ---- defects ----------------------------------------------------------------------------- */

typedef struct {
    char **items;
    int count, cap;
} defect_list;

static void defect(defect_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void defect(defect_list *l, const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = grow(l->items, (size_t)l->cap * sizeof *l->items);
    }
    l->items[l->count++] = cbd_strdup(text);
}

static void defects_free(defect_list *l) {
    for (int k = 0; k < l->count; k++) free(l->items[k]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

/* ---- types in words ------------------------------------------------------------------------ */

static void type_words(inspector *in, hid_t type, strbuf *b);

static void integer_words(inspector *in, hid_t type, size_t size, strbuf *b) {
    H5T_sign_t sign;
    TRY(in, sign = H5Tget_sign(type), "cannot get the sign of an integer type");
    sb_printf(b, "%sint%zu", sign == H5T_SGN_NONE ? "u" : "", 8 * size);
}

static void float_words(inspector *in, hid_t type, size_t size, strbuf *b) {
    size_t spos, epos, esize, mpos, msize;
    TRY(in, H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "cannot get the fields of a float type");
    if (is_half_type(in, type)) sb_printf(b, "float16");
    else if (size == 2 && esize == 8 && msize == 7) sb_printf(b, "bfloat16");
    else if (size == 4 && esize == 8 && msize == 23) sb_printf(b, "float32");
    else if (size == 8 && esize == 11 && msize == 52) sb_printf(b, "float64");
    else sb_printf(b, "float (%zu bytes, %zu exponent bits, %zu mantissa bits)", size, esize, msize);
}

static void compound_words(inspector *in, hid_t type, strbuf *b) {
    int n;
    TRY(in, n = H5Tget_nmembers(type), "cannot count the members of a compound type");
    sb_printf(b, "compound {");
    for (int k = 0; k < n; k++) {
        char *name = H5Tget_member_name(type, (unsigned)k);
        hid_t member = -1;
        if (!name) {
            cbd_h5_error(&in->h5, "cannot get a member name of a compound type");
            die_h5(in);
        }
        TRY(in, member = H5Tget_member_type(type, (unsigned)k), "cannot get member '%s' of a compound type", name);
        sb_printf(b, "%s%s: ", k ? ", " : "", name);
        type_words(in, member, b);
        close_id(in, member, "a member type");
        TRY(in, H5free_memory(name), "cannot free a member name");
    }
    sb_printf(b, "}");
}

/* The base type of an enum, array or vlen in words. */
static void super_words(inspector *in, hid_t type, strbuf *b) {
    hid_t super = -1;
    TRY(in, super = H5Tget_super(type), "cannot get the base of a derived type");
    type_words(in, super, b);
    close_id(in, super, "a base type");
}

/* "float32", "int64", "string", "string[12]", "compound {a: int32}", ... */
static void type_words(inspector *in, hid_t type, strbuf *b) {
    H5T_class_t cls;
    H5T_order_t order = H5T_ORDER_NONE;
    size_t size;
    TRY(in, cls = H5Tget_class(type), "cannot get a type class");
    if ((size = H5Tget_size(type)) == 0) {
        cbd_h5_error(&in->h5, "cannot get a type size");
        die_h5(in);
    }
    switch (cls) {
    case H5T_INTEGER:
        integer_words(in, type, size, b);
        TRY(in, order = H5Tget_order(type), "cannot get a byte order");
        break;
    case H5T_FLOAT:
        float_words(in, type, size, b);
        TRY(in, order = H5Tget_order(type), "cannot get a byte order");
        break;
    case H5T_STRING: {
        htri_t variable;
        TRY(in, variable = H5Tis_variable_str(type), "cannot inspect a string type");
        if (variable) sb_printf(b, "string (variable length)");
        else sb_printf(b, "string[%zu]", size);
        break;
    }
    case H5T_COMPOUND: compound_words(in, type, b); break;
    case H5T_ENUM:
        sb_printf(b, "enum of ");
        super_words(in, type, b);
        break;
    case H5T_VLEN:
        sb_printf(b, "vlen of ");
        super_words(in, type, b);
        break;
    case H5T_ARRAY: {
        hsize_t dims[MAX_RANK];
        int rank;
        TRY(in, rank = H5Tget_array_ndims(type), "cannot get the rank of an array type");
        TRY(in, H5Tget_array_dims2(type, dims), "cannot get the shape of an array type");
        sb_printf(b, "array ");
        sb_shape(b, rank, dims);
        sb_printf(b, " of ");
        super_words(in, type, b);
        break;
    }
    case H5T_OPAQUE: sb_printf(b, "opaque (%zu bytes)", size); break;
    case H5T_BITFIELD: sb_printf(b, "bitfield%zu", 8 * size); break;
    case H5T_REFERENCE: sb_printf(b, "reference"); break;
    case H5T_TIME: sb_printf(b, "time"); break;
    default: sb_printf(b, "unknown type (%zu bytes)", size); break;
    }
    if (order == H5T_ORDER_BE) sb_printf(b, " big-endian");
}

/* ---- attributes ------------------------------------------------------------------------------ */

enum { KEEP = 64, TEXT_VALUES = 8 };

typedef enum { AV_INT, AV_UINT, AV_FLOAT, AV_STRING, AV_ENUM, AV_OTHER } av_kind;

typedef struct {
    char *name;
    strbuf words;
    av_kind kind;
    int single;          /* floats of 4 bytes or less: printed as float */
    int ndim;            /* -1: null dataspace, 0: scalar */
    hsize_t dims[MAX_RANK];
    hsize_t count;       /* values */
    hsize_t kept;        /* values held below: min(count, KEEP) */
    int64_t i[KEEP];
    uint64_t u[KEEP];
    double f[KEEP];
    char *s[KEEP];       /* strings and enum names */
} attr_value;

static void attr_free(attr_value *a) {
    free(a->name);
    free(a->words.p);
    for (hsize_t k = 0; k < a->kept; k++)
        if (a->kind == AV_STRING || a->kind == AV_ENUM) free(a->s[k]);
}

static void read_attr_strings(inspector *in, hid_t attr, hid_t type, attr_value *a) {
    htri_t variable;
    TRY(in, variable = H5Tis_variable_str(type), "cannot inspect the type of attribute '%s'", a->name);
    if (variable) {
        H5T_cset_t cset;
        hid_t mem = -1;
        char **v = cbd_calloc(a->count, sizeof *v);
        TRY(in, cset = H5Tget_cset(type), "cannot get the character set of attribute '%s'", a->name);
        TRY(in, mem = H5Tcopy(H5T_C_S1), "cannot create a string type");
        TRY(in, H5Tset_size(mem, H5T_VARIABLE), "cannot size a string type");
        TRY(in, H5Tset_cset(mem, cset), "cannot set a character set");
        TRY(in, H5Aread(attr, mem, v), "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->count; k++) {
            if (k < a->kept) a->s[k] = cbd_strdup(v[k] ? v[k] : "");
            if (v[k]) TRY(in, H5free_memory(v[k]), "cannot free the value of attribute '%s'", a->name);
        }
        free(v);
        close_id(in, mem, "a string type");
        return;
    }
    size_t size = H5Tget_size(type);
    H5T_str_t pad;
    if (size == 0) {
        cbd_h5_error(&in->h5, "cannot get the size of attribute '%s'", a->name);
        die_h5(in);
    }
    TRY(in, pad = H5Tget_strpad(type), "cannot get the padding of attribute '%s'", a->name);
    char *raw = cbd_malloc(a->count * size);
    TRY(in, H5Aread(attr, type, raw), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) {
        char *s = cbd_malloc(size + 1);
        memcpy(s, raw + k * size, size);
        s[size] = '\0';
        if (pad == H5T_STR_SPACEPAD)
            for (size_t e = strlen(s); e > 0 && s[e - 1] == ' '; e--) s[e - 1] = '\0';
        a->s[k] = s;
    }
    free(raw);
}

static void read_attr_enum(inspector *in, hid_t attr, hid_t type, attr_value *a) {
    hid_t native = -1;
    size_t size;
    TRY(in, native = H5Tget_native_type(type, H5T_DIR_ASCEND), "cannot get the native type of attribute '%s'",
        a->name);
    if ((size = H5Tget_size(native)) == 0) {
        cbd_h5_error(&in->h5, "cannot get the size of attribute '%s'", a->name);
        die_h5(in);
    }
    unsigned char *raw = cbd_malloc(a->count * size);
    TRY(in, H5Aread(attr, native, raw), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) {
        char name[256];
        if (H5Tenum_nameof(native, raw + k * size, name, sizeof name) < 0) {
            H5Eclear2(H5E_DEFAULT);
            snprintf(name, sizeof name, "?");
        }
        a->s[k] = cbd_strdup(name);
    }
    free(raw);
    close_id(in, native, "an enum type");
}

static void read_attr_numbers(inspector *in, hid_t attr, hid_t type, H5T_class_t cls, attr_value *a) {
    if (cls == H5T_INTEGER) {
        H5T_sign_t sign;
        TRY(in, sign = H5Tget_sign(type), "cannot get the sign of attribute '%s'", a->name);
        a->kind = sign == H5T_SGN_NONE ? AV_UINT : AV_INT;
        void *v = cbd_malloc(a->count * sizeof(int64_t));
        TRY(in, H5Aread(attr, a->kind == AV_UINT ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, v),
            "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->kept; k++) {
            if (a->kind == AV_UINT) a->u[k] = ((uint64_t *)v)[k];
            else a->i[k] = ((int64_t *)v)[k];
        }
        free(v);
        return;
    }
    a->kind = AV_FLOAT;
    a->single = H5Tget_size(type) <= 4;
    if (is_half_type(in, type)) {
        H5T_order_t order;
        uint16_t *h = cbd_malloc(a->count * sizeof *h);
        TRY(in, order = H5Tget_order(type), "cannot get the byte order of attribute '%s'", a->name);
        TRY(in, H5Aread(attr, type, h), "cannot read attribute '%s'", a->name);
        for (hsize_t k = 0; k < a->kept; k++)
            a->f[k] = half_to_float(order == H5T_ORDER_BE ? (uint16_t)(h[k] >> 8 | h[k] << 8) : h[k]);
        free(h);
        return;
    }
    double *v = cbd_malloc(a->count * sizeof *v);
    TRY(in, H5Aread(attr, H5T_NATIVE_DOUBLE, v), "cannot read attribute '%s'", a->name);
    for (hsize_t k = 0; k < a->kept; k++) a->f[k] = v[k];
    free(v);
}

static void read_attr(inspector *in, hid_t obj, const char *name, attr_value *a) {
    hid_t attr = -1, space = -1, type = -1;
    H5S_class_t space_class;
    H5T_class_t cls;
    memset(a, 0, sizeof *a);
    a->name = cbd_strdup(name);
    TRY(in, attr = H5Aopen(obj, name, H5P_DEFAULT), "cannot open attribute '%s'", name);
    TRY(in, space = H5Aget_space(attr), "cannot get the dataspace of attribute '%s'", name);
    TRY(in, type = H5Aget_type(attr), "cannot get the type of attribute '%s'", name);
    TRY(in, space_class = H5Sget_simple_extent_type(space), "cannot get the dataspace of attribute '%s'", name);
    type_words(in, type, &a->words);
    if (space_class == H5S_NULL) {
        a->ndim = -1;
    } else {
        hssize_t points;
        TRY(in, a->ndim = H5Sget_simple_extent_dims(space, a->dims, NULL), "cannot get the shape of attribute '%s'",
            name);
        TRY(in, points = H5Sget_simple_extent_npoints(space), "cannot count the values of attribute '%s'", name);
        a->count = (hsize_t)points;
    }
    a->kept = a->count < KEEP ? a->count : KEEP;
    TRY(in, cls = H5Tget_class(type), "cannot get the type class of attribute '%s'", name);
    a->kind = AV_OTHER;
    if (a->count > 0) {
        if (cls == H5T_INTEGER || cls == H5T_FLOAT) read_attr_numbers(in, attr, type, cls, a);
        else if (cls == H5T_STRING) a->kind = AV_STRING, read_attr_strings(in, attr, type, a);
        else if (cls == H5T_ENUM) a->kind = AV_ENUM, read_attr_enum(in, attr, type, a);
    }
    if (a->kind == AV_OTHER) a->kept = 0;
    close_id(in, type, "an attribute type");
    close_id(in, space, "an attribute dataspace");
    close_id(in, attr, "an attribute");
}

typedef struct {
    char **names;
    int count, cap;
} name_list;

static herr_t collect_attr_name(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    name_list *l = data;
    (void)loc;
    (void)info;
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = grow(l->names, (size_t)l->cap * sizeof *l->names);
    }
    l->names[l->count++] = cbd_strdup(name);
    return 0;
}

/* Every attribute of obj, by name. */
static attr_value *read_attributes(inspector *in, hid_t obj, const char *label, int *count) {
    name_list names = {0};
    TRY(in, H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_attr_name, &names),
        "cannot list the attributes of %s", label);
    attr_value *list = cbd_calloc((size_t)names.count, sizeof *list);
    for (int k = 0; k < names.count; k++) {
        read_attr(in, obj, names.names[k], &list[k]);
        free(names.names[k]);
    }
    free(names.names);
    *count = names.count;
    return list;
}

static void attr_value_text(const attr_value *a, hsize_t k, strbuf *b) {
    char num[40];
    switch (a->kind) {
    case AV_INT: sb_printf(b, "%" PRId64, a->i[k]); break;
    case AV_UINT: sb_printf(b, "%" PRIu64, a->u[k]); break;
    case AV_FLOAT:
        if (a->single) format_float(num, (float)a->f[k]);
        else format_double(num, a->f[k]);
        sb_printf(b, "%s", num);
        break;
    case AV_STRING: sb_quote(b, a->s[k]); break;
    case AV_ENUM: sb_printf(b, "%s", a->s[k]); break;
    case AV_OTHER: break;
    }
}

/* "name = value": strings quoted, long arrays abbreviated, digests also in hex. */
static void attr_text(const attr_value *a, strbuf *b) {
    sb_printf(b, "%s = ", a->name);
    if (a->ndim < 0) {
        sb_printf(b, "null (%s)", a->words.p);
        return;
    }
    if (a->kind == AV_OTHER) {
        sb_printf(b, "<%s", a->words.p);
        if (a->ndim > 0) {
            sb_printf(b, ", shape ");
            sb_shape(b, a->ndim, a->dims);
        }
        sb_printf(b, ">");
        return;
    }
    if (a->ndim == 0) {
        attr_value_text(a, 0, b);
        if (a->kind == AV_UINT && strstr(a->name, "digest")) sb_printf(b, " (0x%016" PRIx64 ")", a->u[0]);
        return;
    }
    hsize_t shown = a->count <= TEXT_VALUES ? a->count : TEXT_VALUES - 2;
    sb_printf(b, "[");
    for (hsize_t k = 0; k < shown; k++) {
        if (k) sb_printf(b, ", ");
        attr_value_text(a, k, b);
    }
    if (shown < a->count) {
        sb_printf(b, ", ...] (%llu values", (unsigned long long)a->count);
        if (a->ndim > 1) {
            sb_printf(b, ", shape ");
            sb_shape(b, a->ndim, a->dims);
        }
        sb_printf(b, ")");
    } else {
        sb_printf(b, "]");
        if (a->ndim > 1) {
            sb_printf(b, " (shape ");
            sb_shape(b, a->ndim, a->dims);
            sb_printf(b, ")");
        }
    }
}

static void attr_value_json(json_out *w, const char *key, const attr_value *a, hsize_t k) {
    switch (a->kind) {
    case AV_INT: jw_i64(w, key, a->i[k]); break;
    case AV_UINT: jw_u64(w, key, a->u[k]); break;
    case AV_FLOAT:
        if (a->single) jw_f32(w, key, (float)a->f[k]);
        else jw_f64(w, key, a->f[k]);
        break;
    case AV_STRING:
    case AV_ENUM: jw_str(w, key, a->s[k]); break;
    case AV_OTHER: jw_null(w, key); break;
    }
}

/* Dimension `dim` of an array attribute as nested lists; *next: the next value. */
static void attr_values_json(json_out *w, const char *key, const attr_value *a, int dim, hsize_t *next) {
    jw_flat_array(w, key);
    for (hsize_t k = 0; k < a->dims[dim]; k++) {
        if (dim + 1 < a->ndim) attr_values_json(w, NULL, a, dim + 1, next);
        else attr_value_json(w, NULL, a, (*next)++);
    }
    jw_end_array(w);
}

/* Scalars as values, arrays as (nested) lists; arrays longer than KEEP and types
 * without a JSON form as {"dtype", "shape", "count", "head"}. */
static void attr_json(json_out *w, const attr_value *a) {
    if (a->ndim < 0) {
        jw_null(w, a->name);
    } else if (a->kind != AV_OTHER && a->ndim == 0) {
        attr_value_json(w, a->name, a, 0);
    } else if (a->kind != AV_OTHER && a->count <= KEEP) {
        hsize_t next = 0;
        attr_values_json(w, a->name, a, 0, &next);
    } else {
        jw_open(w, a->name, '{', 1);
        jw_str(w, "dtype", a->words.p);
        jw_shape(w, "shape", a->ndim, a->dims);
        jw_u64(w, "count", a->count);
        if (a->kind != AV_OTHER) {
            jw_flat_array(w, "head");
            for (hsize_t k = 0; k < a->kept; k++) attr_value_json(w, NULL, a, k);
            jw_end_array(w);
        }
        jw_end_object(w);
    }
}

/* ---- the objects of a file --------------------------------------------------------------- */

typedef enum { OBJ_GROUP, OBJ_DATASET, OBJ_DATATYPE, OBJ_SOFT, OBJ_EXTERNAL, OBJ_OTHER } obj_kind;

typedef struct {
    char *path;   /* "/stage1/block1/conv1/weight" */
    obj_kind kind;
    char *target; /* links: where they point */
} obj_entry;

typedef struct {
    obj_entry *items;
    int count, cap;
    inspector *in;
    int failed;
} obj_list;

static void obj_add(obj_list *l, const char *path, obj_kind kind, const char *target) {
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = grow(l->items, (size_t)l->cap * sizeof *l->items);
    }
    obj_entry *e = &l->items[l->count++];
    e->path = cbd_strdup(path);
    e->kind = kind;
    e->target = target ? cbd_strdup(target) : NULL;
}

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    obj_list *l = data;
    inspector *in = l->in;
    strbuf path = {0};
    sb_printf(&path, "/%s", name);
    if (info->type == H5L_TYPE_HARD) {
        hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
        H5I_type_t t;
        if (obj < 0 || (t = H5Iget_type(obj)) < 0) {
            cbd_h5_error(&in->h5, "cannot open object '%s'", path.p);
            goto failed;
        }
        obj_add(l, path.p, t == H5I_GROUP ? OBJ_GROUP : t == H5I_DATASET ? OBJ_DATASET
                           : t == H5I_DATATYPE ? OBJ_DATATYPE : OBJ_OTHER, NULL);
        if (H5Oclose(obj) < 0) {
            cbd_h5_error(&in->h5, "cannot close object '%s'", path.p);
            goto failed;
        }
    } else if (info->type == H5L_TYPE_SOFT || info->type == H5L_TYPE_EXTERNAL) {
        size_t n = info->u.val_size;
        char *value = cbd_calloc(n + 1, 1);
        if (H5Lget_val(group, name, value, n, H5P_DEFAULT) < 0) {
            cbd_h5_error(&in->h5, "cannot read link '%s'", path.p);
            free(value);
            goto failed;
        }
        if (info->type == H5L_TYPE_SOFT) {
            obj_add(l, path.p, OBJ_SOFT, value);
        } else {
            const char *file = NULL, *target = NULL;
            strbuf t = {0};
            if (H5Lunpack_elink_val(value, n, NULL, &file, &target) < 0) {
                cbd_h5_error(&in->h5, "cannot read external link '%s'", path.p);
                free(value);
                goto failed;
            }
            sb_printf(&t, "%s:%s", file, target);
            obj_add(l, path.p, OBJ_EXTERNAL, t.p);
            free(t.p);
        }
        free(value);
    } else {
        obj_add(l, path.p, OBJ_OTHER, NULL);
    }
    free(path.p);
    return 0;
failed:
    free(path.p);
    l->failed = 1;
    return -1;
}

/* The root group and every link below it, depth first, each group by name. */
static void list_objects(inspector *in, obj_list *l) {
    memset(l, 0, sizeof *l);
    l->in = in;
    obj_add(l, "/", OBJ_GROUP, NULL);
    if (H5Lvisit(in->file, H5_INDEX_NAME, H5_ITER_INC, visit_link, l) < 0) {
        if (!l->failed) cbd_h5_error(&in->h5, "cannot list the objects of the file: truncated or corrupt");
        die_h5(in);
    }
}

static void objects_free(obj_list *l) {
    for (int k = 0; k < l->count; k++) {
        free(l->items[k].path);
        free(l->items[k].target);
    }
    free(l->items);
}

/* ---- datasets ------------------------------------------------------------------------------- */

typedef struct {
    H5Z_filter_t id;
    char name[64];
    unsigned level; /* deflate */
} filter_info;

typedef struct {
    int ndim; /* -1: null dataspace, 0: scalar */
    hsize_t dims[MAX_RANK];
    strbuf dtype;
    H5D_layout_t layout;
    int chunk_ndim;
    hsize_t chunk[MAX_RANK];
    int nfilters;
    filter_info filters[16];
    hsize_t storage; /* bytes allocated in the file */
} dset_info;

static void describe_space(inspector *in, hid_t space, const char *path, int *ndim, hsize_t *dims) {
    H5S_class_t cls;
    TRY(in, cls = H5Sget_simple_extent_type(space), "cannot get the dataspace of '%s'", path);
    if (cls == H5S_NULL) {
        *ndim = -1;
        return;
    }
    TRY(in, *ndim = H5Sget_simple_extent_dims(space, dims, NULL), "cannot get the shape of '%s'", path);
}

static void describe_filters(inspector *in, hid_t dcpl, const char *path, dset_info *d) {
    int n;
    TRY(in, n = H5Pget_nfilters(dcpl), "cannot count the filters of '%s'", path);
    d->nfilters = n < 16 ? n : 16;
    for (int k = 0; k < d->nfilters; k++) {
        filter_info *f = &d->filters[k];
        unsigned flags = 0, config = 0, cd[8] = {0};
        size_t ncd = 8;
        TRY(in, f->id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd, sizeof f->name, f->name, &config),
            "cannot get filter %d of '%s'", k, path);
        f->level = ncd > 0 ? cd[0] : 0;
        switch (f->id) {
        case H5Z_FILTER_DEFLATE: snprintf(f->name, sizeof f->name, "deflate"); break;
        case H5Z_FILTER_SHUFFLE: snprintf(f->name, sizeof f->name, "shuffle"); break;
        case H5Z_FILTER_FLETCHER32: snprintf(f->name, sizeof f->name, "fletcher32"); break;
        case H5Z_FILTER_SZIP: snprintf(f->name, sizeof f->name, "szip"); break;
        case H5Z_FILTER_NBIT: snprintf(f->name, sizeof f->name, "nbit"); break;
        case H5Z_FILTER_SCALEOFFSET: snprintf(f->name, sizeof f->name, "scaleoffset"); break;
        default: if (!f->name[0]) snprintf(f->name, sizeof f->name, "filter %d", (int)f->id); break;
        }
    }
}

static void describe_dataset(inspector *in, hid_t dset, const char *path, dset_info *d) {
    hid_t space = -1, type = -1, dcpl = -1;
    memset(d, 0, sizeof *d);
    TRY(in, space = H5Dget_space(dset), "cannot get the dataspace of '%s'", path);
    describe_space(in, space, path, &d->ndim, d->dims);
    TRY(in, type = H5Dget_type(dset), "cannot get the type of '%s'", path);
    type_words(in, type, &d->dtype);
    TRY(in, dcpl = H5Dget_create_plist(dset), "cannot get the creation properties of '%s'", path);
    TRY(in, d->layout = H5Pget_layout(dcpl), "cannot get the layout of '%s'", path);
    if (d->layout == H5D_CHUNKED)
        TRY(in, d->chunk_ndim = H5Pget_chunk(dcpl, MAX_RANK, d->chunk), "cannot get the chunk shape of '%s'", path);
    describe_filters(in, dcpl, path, d);
    d->storage = H5Dget_storage_size(dset);
    close_id(in, dcpl, "dataset properties");
    close_id(in, type, "a dataset type");
    close_id(in, space, "a dataspace");
}

static const char *layout_name(H5D_layout_t layout) {
    switch (layout) {
    case H5D_COMPACT: return "compact";
    case H5D_CONTIGUOUS: return "contiguous";
    case H5D_CHUNKED: return "chunked";
    case H5D_VIRTUAL: return "virtual";
    default: return "unknown layout";
    }
}

static void dataset_text(const dset_info *d, strbuf *b) {
    sb_printf(b, "%s ", d->dtype.p);
    if (d->ndim < 0) sb_printf(b, "null");
    else if (d->ndim == 0) sb_printf(b, "scalar");
    else sb_shape(b, d->ndim, d->dims);
    sb_printf(b, ", %s", layout_name(d->layout));
    if (d->layout == H5D_CHUNKED) {
        sb_printf(b, " ");
        sb_shape(b, d->chunk_ndim, d->chunk);
    }
    for (int k = 0; k < d->nfilters; k++) {
        sb_printf(b, ", %s", d->filters[k].name);
        if (d->filters[k].id == H5Z_FILTER_DEFLATE) sb_printf(b, " %u", d->filters[k].level);
    }
}

static void dataset_json(json_out *w, const dset_info *d) {
    jw_str(w, "dtype", d->dtype.p);
    if (d->ndim < 0) jw_null(w, "shape");
    else jw_shape(w, "shape", d->ndim, d->dims);
    jw_str(w, "layout", layout_name(d->layout));
    if (d->layout == H5D_CHUNKED) jw_shape(w, "chunks", d->chunk_ndim, d->chunk);
    else jw_null(w, "chunks");
    jw_open(w, "filters", '[', 1);
    for (int k = 0; k < d->nfilters; k++) {
        jw_open(w, NULL, '{', 1);
        jw_str(w, "name", d->filters[k].name);
        if (d->filters[k].id == H5Z_FILTER_DEFLATE) jw_u64(w, "level", d->filters[k].level);
        else if (d->filters[k].id >= 256) jw_i64(w, "id", d->filters[k].id);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_u64(w, "storage_bytes", d->storage);
}

/* ---- metadata of a store ------------------------------------------------------------------- */

typedef struct {
    int state; /* 0 missing, 1 read, -1 unreadable */
    int64_t v;
} meta_i64;
typedef struct {
    int state;
    uint64_t v;
} meta_u64;
typedef struct {
    int state;
    char v[1024];
} meta_str;

/* Reads one root attribute; a missing or unreadable one is a defect in d
 * (NULL: not recorded). */
static int meta_begin(inspector *in, const char *name, defect_list *d) {
    int found = cbd_h5_attr_exists(&in->h5, in->file, ".", name);
    if (found < 0) die_h5(in);
    if (!found && d) defect(d, "missing attribute '%s'", name);
    return found;
}

static void meta_read_i64(inspector *in, const char *name, meta_i64 *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_int64(&in->h5, in->file, ".", name, &m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable integer: %s", name, err_text(in));
    }
}

static void meta_read_u64(inspector *in, const char *name, meta_u64 *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_uint64(&in->h5, in->file, ".", name, &m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable integer: %s", name, err_text(in));
    }
}

static void meta_read_str(inspector *in, const char *name, meta_str *m, defect_list *d) {
    m->state = meta_begin(in, name, d);
    if (m->state && cbd_h5_attr_read_string(&in->h5, in->file, ".", name, m->v, sizeof m->v) != 0) {
        m->state = -1;
        if (d) defect(d, "attribute '%s' is not a readable string: %s", name, err_text(in));
    }
}

static void meta_double(inspector *in, const char *name, double *v, int *ok) {
    *ok = meta_begin(in, name, NULL) && cbd_h5_attr_read_double(&in->h5, in->file, ".", name, v) == 0;
}

/* The root 'format' attribute, or "" when there is none or it is not a string. */
static void file_format(inspector *in, char *out, size_t out_len) {
    meta_str m;
    meta_read_str(in, "format", &m, NULL);
    snprintf(out, out_len, "%s", m.state == 1 ? m.v : "");
}

/* Shape and type class of one dataset, when it exists. */
typedef struct {
    int exists, is_dataset;
    int ndim;
    hsize_t dims[MAX_RANK];
    H5T_class_t cls;
    int half;
    size_t size;
    strbuf words;
} ds_desc;

static void describe(inspector *in, const char *name, ds_desc *d) {
    hid_t obj = -1, dset = -1, type = -1, space = -1;
    memset(d, 0, sizeof *d);
    int found = cbd_h5_exists(&in->h5, in->file, name);
    if (found < 0) die_h5(in);
    if (!found) return;
    d->exists = 1;
    H5I_type_t t;
    TRY(in, obj = H5Oopen(in->file, name, H5P_DEFAULT), "cannot open '%s'", name);
    TRY(in, t = H5Iget_type(obj), "cannot get the kind of '%s'", name);
    close_id(in, obj, name);
    if (t != H5I_DATASET) return;
    d->is_dataset = 1;
    TRY(in, dset = H5Dopen2(in->file, name, H5P_DEFAULT), "cannot open dataset '%s'", name);
    TRY(in, space = H5Dget_space(dset), "cannot get the dataspace of '%s'", name);
    describe_space(in, space, name, &d->ndim, d->dims);
    TRY(in, type = H5Dget_type(dset), "cannot get the type of '%s'", name);
    TRY(in, d->cls = H5Tget_class(type), "cannot get the type class of '%s'", name);
    d->size = H5Tget_size(type);
    d->half = is_half_type(in, type);
    type_words(in, type, &d->words);
    close_id(in, type, name);
    close_id(in, space, name);
    close_id(in, dset, name);
}

static int desc_is(const ds_desc *d, int ndim, const hsize_t *dims) {
    if (!d->is_dataset || d->ndim != ndim) return 0;
    for (int k = 0; k < ndim; k++)
        if (d->dims[k] != dims[k]) return 0;
    return 1;
}

static void desc_free(ds_desc *d) { free(d->words.p); }

/* "[2, 6, 4]", "missing" or "not a dataset" for messages. */
static const char *desc_shape(const ds_desc *d, char *out, size_t out_len) {
    if (!d->exists) snprintf(out, out_len, "missing");
    else if (!d->is_dataset) snprintf(out, out_len, "not a dataset");
    else if (d->ndim < 0) snprintf(out, out_len, "null");
    else cbd_h5_format_shape(out, out_len, d->ndim, d->dims);
    return out;
}

/* ---- reading float data (half converted here) ------------------------------------------- */

typedef struct {
    const char *name;
    hid_t dset, type;
    int half, swap;
    int ndim;
    hsize_t dims[MAX_RANK];
    hsize_t block_rows; /* rows read at a time */
    uint16_t *scratch;
    size_t scratch_len;
} fdata;

/* Opens a 2-D [rows, cols] or 3-D [views, rows, cols] float dataset. */
static void fdata_open(inspector *in, const char *name, fdata *f) {
    hid_t dapl = -1, space = -1, dcpl = -1;
    H5D_layout_t layout;
    H5T_order_t order;
    memset(f, 0, sizeof *f);
    f->name = name;
    TRY(in, dapl = H5Pcreate(H5P_DATASET_ACCESS), "cannot create access properties for '%s'", name);
    TRY(in, H5Pset_chunk_cache(dapl, 10007, (size_t)64 << 20, H5D_CHUNK_CACHE_W0_DEFAULT),
        "cannot size the chunk cache of '%s'", name);
    TRY(in, f->dset = H5Dopen2(in->file, name, dapl), "cannot open dataset '%s'", name);
    close_id(in, dapl, "access properties");
    TRY(in, space = H5Dget_space(f->dset), "cannot get the dataspace of '%s'", name);
    TRY(in, f->ndim = H5Sget_simple_extent_dims(space, f->dims, NULL), "cannot get the shape of '%s'", name);
    close_id(in, space, name);
    CBD_ASSERT(f->ndim == 2 || f->ndim == 3, "'%s' is %d-D", name, f->ndim);
    TRY(in, f->type = H5Dget_type(f->dset), "cannot get the type of '%s'", name);
    f->half = is_half_type(in, f->type);
    TRY(in, order = H5Tget_order(f->type), "cannot get the byte order of '%s'", name);
    f->swap = f->half && order == H5T_ORDER_BE;

    const hsize_t rows = f->dims[f->ndim - 2], cols = f->dims[f->ndim - 1] ? f->dims[f->ndim - 1] : 1;
    hsize_t chunk_rows = 0, chunk[MAX_RANK];
    TRY(in, dcpl = H5Dget_create_plist(f->dset), "cannot get the creation properties of '%s'", name);
    TRY(in, layout = H5Pget_layout(dcpl), "cannot get the layout of '%s'", name);
    if (layout == H5D_CHUNKED) {
        TRY(in, H5Pget_chunk(dcpl, MAX_RANK, chunk), "cannot get the chunk shape of '%s'", name);
        chunk_rows = chunk[f->ndim - 2];
    }
    close_id(in, dcpl, name);
    hsize_t block = ((hsize_t)1 << 22) / cols; /* about 4M values a block */
    if (block == 0) block = 1;
    if (chunk_rows) block = block < chunk_rows ? chunk_rows : block / chunk_rows * chunk_rows;
    f->block_rows = block < rows ? block : (rows ? rows : 1);
}

static void fdata_close(inspector *in, fdata *f) {
    close_id(in, f->type, f->name);
    close_id(in, f->dset, f->name);
    free(f->scratch);
}

static hsize_t fdata_rows(const fdata *f) { return f->dims[f->ndim - 2]; }
static hsize_t fdata_cols(const fdata *f) { return f->dims[f->ndim - 1]; }

/* Rows row0..row0+rows-1 of view `view` (ignored for 2-D data) into out.
 * Returns 0, or -1 with the message in in->err. */
static int fdata_read(inspector *in, fdata *f, hsize_t view, hsize_t row0, hsize_t rows, float *out) {
    hsize_t start[3], count[3];
    const hsize_t cols = fdata_cols(f), n = rows * cols;
    int k = 0;
    if (f->ndim == 3) start[k] = view, count[k++] = 1;
    start[k] = row0, count[k++] = rows;
    start[k] = 0, count[k++] = cols;
    hid_t fspace = -1, mspace = -1;
    int rc = -1;
    CBD_H5_CHECK(&in->h5, fspace = H5Dget_space(f->dset), "cannot get the dataspace of '%s'", f->name);
    CBD_H5_CHECK(&in->h5, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL),
                 "cannot select rows of '%s'", f->name);
    /* the memory space has the selection's shape: HDF5 then copies whole rows
     * instead of mapping element by element */
    CBD_H5_CHECK(&in->h5, mspace = H5Screate_simple(k, count, NULL), "cannot create a memory dataspace");
    if (!f->half) {
        CBD_H5_CHECK(&in->h5, H5Dread(f->dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out),
                     "cannot read rows %llu..%llu of '%s'", (unsigned long long)row0,
                     (unsigned long long)(row0 + rows - 1), f->name);
    } else {
        if (f->scratch_len < n) {
            f->scratch = grow(f->scratch, n * sizeof *f->scratch);
            f->scratch_len = n;
        }
        CBD_H5_CHECK(&in->h5, H5Dread(f->dset, f->type, mspace, fspace, H5P_DEFAULT, f->scratch),
                     "cannot read rows %llu..%llu of '%s'", (unsigned long long)row0,
                     (unsigned long long)(row0 + rows - 1), f->name);
        for (hsize_t e = 0; e < n; e++) {
            uint16_t h = f->scratch[e];
            out[e] = half_to_float(f->swap ? (uint16_t)(h >> 8 | h << 8) : h);
        }
    }
    rc = 0;
cleanup:
    if (rc != 0 && (strstr(in->h5.detail, "Fletcher32") || strstr(in->h5.detail, "checksum")))
        cbd_h5_fail(&in->h5, "data checksum failure in '%s': the file is corrupt", f->name);
    rc = cbd_h5_close_checked(&in->h5, mspace, rc, f->name);
    return cbd_h5_close_checked(&in->h5, fspace, rc, f->name);
}

/* A whole 1-D integer dataset as int64. Returns 0 or -1 with in->err. */
static int read_int64s(inspector *in, const char *name, hsize_t n, int64_t *out) {
    hid_t dset = -1;
    int rc = -1;
    CBD_H5_CHECK(&in->h5, dset = H5Dopen2(in->file, name, H5P_DEFAULT), "cannot open dataset '%s'", name);
    if (n > 0)
        CBD_H5_CHECK(&in->h5, H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
                     "cannot read dataset '%s'", name);
    rc = 0;
cleanup:
    return cbd_h5_close_checked(&in->h5, dset, rc, name);
}

/* ---- scanning rows: norms, NaN and Inf -------------------------------------------------- */

typedef struct {
    hsize_t rows;                 /* finite rows in the norm statistics */
    double sum, min, max;         /* of the l2 norms of those rows */
    hsize_t nan, inf;             /* values */
    hsize_t nan_rows, inf_rows;
    hsize_t first_nan, first_inf; /* rows; valid when the count is not 0 */
} row_stats;

/* Called for every row: x [cols], finite (no NaN/Inf in it), its l2 norm. */
typedef void (*row_fn)(void *arg, hsize_t row, const float *x, hsize_t cols, int finite, double norm);

/* Streams one view (or the whole of a 2-D dataset) block by block. Returns 0,
 * or -1 with in->err when a block cannot be read. */
static int scan_rows(inspector *in, fdata *f, hsize_t view, row_stats *st, row_fn fn, void *arg) {
    const hsize_t rows = fdata_rows(f), cols = fdata_cols(f);
    float *block = cbd_malloc(f->block_rows * (cols ? cols : 1) * sizeof *block);
    int rc = 0;
    for (hsize_t r0 = 0; r0 < rows && rc == 0; r0 += f->block_rows) {
        const hsize_t n = rows - r0 < f->block_rows ? rows - r0 : f->block_rows;
        if (fdata_read(in, f, view, r0, n, block) != 0) {
            rc = -1;
            break;
        }
        for (hsize_t r = 0; r < n; r++) {
            const float *x = block + r * cols;
            hsize_t nan = 0, inf = 0;
            double sq = 0.0;
            for (hsize_t k = 0; k < cols; k++) {
                if (isnan(x[k])) nan++;
                else if (isinf(x[k])) inf++;
                else sq += (double)x[k] * x[k];
            }
            const int finite = nan == 0 && inf == 0;
            const double norm = sqrt(sq);
            if (nan && st->nan_rows++ == 0) st->first_nan = r0 + r;
            if (inf && st->inf_rows++ == 0) st->first_inf = r0 + r;
            st->nan += nan;
            st->inf += inf;
            if (finite) {
                if (st->rows == 0 || norm < st->min) st->min = norm;
                if (st->rows == 0 || norm > st->max) st->max = norm;
                st->sum += norm;
                st->rows++;
            }
            if (fn) fn(arg, r0 + r, x, cols, finite, norm);
        }
    }
    free(block);
    return rc;
}

/* ---- feature stores ---------------------------------------------------------------------------- */

#define FEATURE_STORE_FORMAT "cbd-feature-store"
#define CHECKPOINT_FORMAT "cbd-checkpoint"
#define IMAGE_STORE_FORMAT "cbd-image-store"

typedef struct {
    meta_str format, program_version, dtype, teacher, augmentation;
    meta_i64 format_version, n, d, classes, views, has_logits, center_done, complete;
    meta_u64 manifest_digest, teacher_checkpoint_digest, experiment_seed;
    ds_desc features, center, logits, center_logits, labels, done;
    defect_list meta;   /* missing or unreadable attributes */
    defect_list layout; /* datasets that disagree with each other */
    hsize_t S, N, D, C; /* from the datasets (C: from the logits, else the attribute) */
} fstore;

static void fs_load(inspector *in, fstore *f) {
    memset(f, 0, sizeof *f);
    defect_list *m = &f->meta;
    meta_read_str(in, "format", &f->format, m);
    meta_read_i64(in, "format_version", &f->format_version, m);
    meta_read_str(in, "program_version", &f->program_version, m);
    meta_read_i64(in, "n", &f->n, m);
    meta_read_i64(in, "d", &f->d, m);
    meta_read_i64(in, "classes", &f->classes, m);
    meta_read_i64(in, "views", &f->views, m);
    meta_read_str(in, "dtype", &f->dtype, m);
    meta_read_i64(in, "has_logits", &f->has_logits, m);
    meta_read_u64(in, "manifest_digest", &f->manifest_digest, m);
    meta_read_str(in, "teacher", &f->teacher, m);
    meta_read_u64(in, "teacher_checkpoint_digest", &f->teacher_checkpoint_digest, m);
    meta_read_str(in, "augmentation", &f->augmentation, m);
    meta_read_u64(in, "experiment_seed", &f->experiment_seed, m);
    meta_read_i64(in, "center_done", &f->center_done, m);
    meta_read_i64(in, "complete", &f->complete, m);

    describe(in, "features", &f->features);
    describe(in, "center", &f->center);
    describe(in, "logits", &f->logits);
    describe(in, "center_logits", &f->center_logits);
    describe(in, "labels", &f->labels);
    describe(in, "done", &f->done);

    defect_list *l = &f->layout;
    char have[128];
    if (!f->features.is_dataset || f->features.ndim != 3 || f->features.cls != H5T_FLOAT) {
        defect(l, "shape: /features must be a float dataset [views, n, d], it is %s%s%s",
               f->features.words.p ? f->features.words.p : "", f->features.words.p ? " " : "",
               desc_shape(&f->features, have, sizeof have));
        return;
    }
    f->S = f->features.dims[0];
    f->N = f->features.dims[1];
    f->D = f->features.dims[2];
    f->C = f->classes.state == 1 && f->classes.v > 0 ? (hsize_t)f->classes.v : 0;
    const hsize_t cdims[2] = {f->N, f->D}, ndims[1] = {f->N}, sdims[1] = {f->S};
    if (!desc_is(&f->center, 2, cdims) || f->center.cls != H5T_FLOAT)
        defect(l, "shape: /center is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu]",
               desc_shape(&f->center, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->N, (unsigned long long)f->D);
    if (!desc_is(&f->labels, 1, ndims) || f->labels.cls != H5T_INTEGER)
        defect(l, "shape: /labels is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               desc_shape(&f->labels, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->N);
    if (!desc_is(&f->done, 1, sdims) || f->done.cls != H5T_INTEGER)
        defect(l, "shape: /done is %s, /features [%llu, %llu, %llu] needs an integer [%llu]",
               desc_shape(&f->done, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
               (unsigned long long)f->D, (unsigned long long)f->S);
    if (f->logits.exists != f->center_logits.exists)
        defect(l, "shape: /logits is %s but /center_logits is %s", f->logits.exists ? "present" : "missing",
               f->center_logits.exists ? "present" : "missing");
    if (f->logits.exists) {
        if (f->logits.is_dataset && f->logits.ndim == 3) f->C = f->logits.dims[2];
        const hsize_t ldims[3] = {f->S, f->N, f->C}, cldims[2] = {f->N, f->C};
        if (!desc_is(&f->logits, 3, ldims) || f->logits.cls != H5T_FLOAT)
            defect(l, "shape: /logits is %s, /features [%llu, %llu, %llu] needs a float [%llu, %llu, classes]",
                   desc_shape(&f->logits, have, sizeof have), (unsigned long long)f->S, (unsigned long long)f->N,
                   (unsigned long long)f->D, (unsigned long long)f->S, (unsigned long long)f->N);
        else if (f->center_logits.exists && (!desc_is(&f->center_logits, 2, cldims) || f->center_logits.cls != H5T_FLOAT))
            defect(l, "shape: /center_logits is %s, /logits needs a float [%llu, %llu]",
                   desc_shape(&f->center_logits, have, sizeof have), (unsigned long long)f->N,
                   (unsigned long long)f->C);
    }
}

static void fs_free(fstore *f) {
    desc_free(&f->features);
    desc_free(&f->center);
    desc_free(&f->logits);
    desc_free(&f->center_logits);
    desc_free(&f->labels);
    desc_free(&f->done);
    defects_free(&f->meta);
    defects_free(&f->layout);
}

/* Attributes that disagree with the datasets. */
static void fs_check_attributes(const fstore *f, defect_list *d) {
    if (f->format_version.state == 1 && f->format_version.v != 1)
        defect(d, "format_version is %" PRId64 ", this tool reads version 1", f->format_version.v);
    if (f->features.ndim != 3) return;
    const struct {
        const char *name;
        const meta_i64 *m;
        hsize_t have;
        const char *where;
    } sizes[] = {
        {"n", &f->n, f->N, "/features dimension 1"},
        {"d", &f->d, f->D, "/features dimension 2"},
        {"views", &f->views, f->S, "/features dimension 0"},
        {"classes", &f->classes, f->C, "/logits dimension 2"},
    };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        if (sizes[k].m->state != 1) continue;
        if (k == 3 && !f->logits.is_dataset) {
            if (sizes[k].m->v <= 0) defect(d, "shape: attribute classes = %" PRId64 " is not positive", sizes[k].m->v);
            continue;
        }
        if (sizes[k].m->v < 0 || (hsize_t)sizes[k].m->v != sizes[k].have)
            defect(d, "shape: attribute %s = %" PRId64 " but %s is %llu", sizes[k].name, sizes[k].m->v,
                   sizes[k].where, (unsigned long long)sizes[k].have);
    }
    if (f->has_logits.state == 1 && (f->has_logits.v != 0) != (f->logits.exists != 0))
        defect(d, "shape: attribute has_logits = %" PRId64 " but /logits is %s", f->has_logits.v,
               f->logits.exists ? "present" : "missing");
    const char *words = f->features.words.p;
    if (f->dtype.state == 1) {
        if (strcmp(f->dtype.v, "float16") != 0 && strcmp(f->dtype.v, "float32") != 0)
            defect(d, "attribute dtype = \"%s\", expected \"float16\" or \"float32\"", f->dtype.v);
        else if (strcmp(f->dtype.v, words) != 0)
            defect(d, "dtype: attribute dtype = \"%s\" but /features holds %s", f->dtype.v, words);
    }
    const ds_desc *others[] = {&f->center, &f->logits, &f->center_logits};
    const char *names[] = {"/center", "/logits", "/center_logits"};
    for (int k = 0; k < 3; k++)
        if (others[k]->is_dataset && others[k]->words.p && strcmp(others[k]->words.p, words) != 0)
            defect(d, "dtype: %s holds %s, /features holds %s", names[k], others[k]->words.p, words);
}

/* The store's /done as int64 [S] (NULL when it cannot be read: message in in->err). */
static int64_t *fs_read_done(inspector *in, const fstore *f) {
    int64_t *done = cbd_calloc(f->S, sizeof *done);
    if (read_int64s(in, "done", f->S, done) != 0) {
        free(done);
        return NULL;
    }
    return done;
}

/* "1, 3, 4" (at most 20 listed). */
static void missing_views(const int64_t *done, hsize_t S, strbuf *b) {
    int listed = 0;
    for (hsize_t s = 0; s < S; s++)
        if (!done[s]) {
            if (listed == 20) {
                sb_printf(b, ", ...");
                break;
            }
            sb_printf(b, "%s%llu", listed++ ? ", " : "", (unsigned long long)s);
        }
}

static hsize_t count_done(const int64_t *done, hsize_t S) {
    hsize_t k = 0;
    for (hsize_t s = 0; s < S; s++) k += done[s] != 0;
    return k;
}

static off_t file_size(const inspector *in) {
    struct stat st;
    if (stat(in->path, &st) != 0) die_file(in, "cannot stat: %s", strerror(errno));
    return st.st_size;
}

static size_t fs_value_bytes(const fstore *f) {
    return f->features.half ? 2 : f->features.size ? f->features.size : 4;
}

static void print_i64_line(const char *label, const meta_i64 *m) {
    if (m->state == 1) printf("  %-22s %" PRId64 "\n", label, m->v);
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

static void print_flag_line(const char *label, const meta_i64 *m) {
    if (m->state == 1) printf("  %-22s %s\n", label, yes_no(m->v));
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

static void print_hex_line(const char *label, const meta_u64 *m) {
    if (m->state == 1) printf("  %-22s %016" PRIx64 "\n", label, m->v);
    else printf("  %-22s %s\n", label, m->state ? "unreadable" : "missing");
}

static const char *meta_text(const meta_str *m) { return m->state == 1 ? m->v : m->state ? "unreadable" : "missing"; }

static void jw_meta_i64(json_out *w, const char *key, const meta_i64 *m) {
    if (m->state == 1) jw_i64(w, key, m->v);
    else jw_null(w, key);
}
static void jw_meta_flag(json_out *w, const char *key, const meta_i64 *m) {
    if (m->state == 1) jw_bool(w, key, m->v != 0);
    else jw_null(w, key);
}
static void jw_meta_hex(json_out *w, const char *key, const meta_u64 *m) {
    if (m->state == 1) jw_hex(w, key, m->v);
    else jw_null(w, key);
}
static void jw_meta_str(json_out *w, const char *key, const meta_str *m) { jw_str(w, key, m->state == 1 ? m->v : NULL); }

static void summary_feature_store(inspector *in, json_out *w) {
    fstore f;
    fs_load(in, &f);
    int64_t *done = f.layout.count == 0 ? fs_read_done(in, &f) : NULL;
    if (f.layout.count == 0 && !done) die_h5(in);
    const hsize_t done_count = done ? count_done(done, f.S) : 0;
    const size_t e = fs_value_bytes(&f);
    const int logits = f.logits.exists;
    const uint64_t row_bytes = f.D * e;
    const uint64_t image_bytes = (f.S + 1) * (f.D + (logits ? f.C : 0)) * e + (f.labels.size ? f.labels.size : 4);
    const off_t disk = file_size(in);
    strbuf missing = {0};
    if (done) missing_views(done, f.S, &missing);

    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "feature store");
        jw_meta_i64(w, "format_version", &f.format_version);
        jw_meta_str(w, "program_version", &f.program_version);
        jw_meta_str(w, "teacher", &f.teacher);
        jw_meta_i64(w, "n", &f.n);
        jw_meta_i64(w, "d", &f.d);
        jw_meta_i64(w, "views", &f.views);
        jw_meta_i64(w, "classes", &f.classes);
        jw_meta_str(w, "dtype", &f.dtype);
        jw_bool(w, "logits", logits);
        jw_meta_flag(w, "complete", &f.complete);
        if (done) {
            jw_u64(w, "views_done", done_count);
            jw_flat_array(w, "views_missing");
            for (hsize_t s = 0; s < f.S; s++)
                if (!done[s]) jw_u64(w, NULL, s);
            jw_end_array(w);
        } else {
            jw_null(w, "views_done");
            jw_null(w, "views_missing");
        }
        jw_meta_flag(w, "center_done", &f.center_done);
        jw_meta_hex(w, "manifest_digest", &f.manifest_digest);
        jw_meta_hex(w, "teacher_checkpoint_digest", &f.teacher_checkpoint_digest);
        if (f.experiment_seed.state == 1) jw_u64(w, "experiment_seed", f.experiment_seed.v);
        else jw_null(w, "experiment_seed");
        jw_meta_str(w, "augmentation", &f.augmentation);
        if (f.layout.count == 0) {
            jw_u64(w, "bytes_per_feature_row", row_bytes);
            jw_u64(w, "bytes_per_image", image_bytes);
        } else {
            jw_null(w, "bytes_per_feature_row");
            jw_null(w, "bytes_per_image");
        }
        jw_i64(w, "size_on_disk", (int64_t)disk);
        jw_open(w, "problems", '[', 0);
        for (int k = 0; k < f.meta.count; k++) jw_str(w, NULL, f.meta.items[k]);
        for (int k = 0; k < f.layout.count; k++) jw_str(w, NULL, f.layout.items[k]);
        jw_end_array(w);
        jw_end_object(w);
    } else {
        printf("\nfeature store: %s version %s, written by %s\n", meta_text(&f.format),
               f.format_version.state == 1 ? "1" : "?", meta_text(&f.program_version));
        if (f.format_version.state == 1 && f.format_version.v != 1)
            printf("  (format_version is %" PRId64 ")\n", f.format_version.v);
        printf("  %-22s %s\n", "teacher", meta_text(&f.teacher));
        print_i64_line("images (N)", &f.n);
        print_i64_line("feature dim (d)", &f.d);
        print_i64_line("views (S)", &f.views);
        print_i64_line("classes (C)", &f.classes);
        printf("  %-22s %s\n", "dtype", meta_text(&f.dtype));
        printf("  %-22s %s\n", "logits", yes_no(logits));
        print_flag_line("complete", &f.complete);
        if (done)
            printf("  %-22s %llu of %llu%s%s%s\n", "views done", (unsigned long long)done_count,
                   (unsigned long long)f.S, missing.len ? " (missing: " : "", missing.len ? missing.p : "",
                   missing.len ? ")" : "");
        print_flag_line("center done", &f.center_done);
        print_hex_line("manifest digest", &f.manifest_digest);
        print_hex_line("teacher ckpt digest", &f.teacher_checkpoint_digest);
        if (f.experiment_seed.state == 1) printf("  %-22s %" PRIu64 "\n", "experiment seed", f.experiment_seed.v);
        else printf("  %-22s missing\n", "experiment seed");
        if (f.augmentation.state == 1) {
            strbuf q = {0};
            sb_quote(&q, f.augmentation.v);
            printf("  %-22s %s\n", "augmentation", q.p);
            free(q.p);
        } else {
            printf("  %-22s %s\n", "augmentation", meta_text(&f.augmentation));
        }
        if (f.layout.count == 0)
            printf("  %-22s %" PRIu64 " per feature row (d x %zu bytes), %" PRIu64 " per image "
                   "(%llu views + center%s, label)\n",
                   "bytes per row", row_bytes, e, image_bytes, (unsigned long long)f.S, logits ? ", logits" : "");
        printf("  %-22s %lld bytes", "size on disk", (long long)disk);
        if (f.N) printf(", %.1f per image", (double)disk / (double)f.N);
        printf("\n");
        for (int k = 0; k < f.meta.count; k++) printf("  problem: %s\n", f.meta.items[k]);
        for (int k = 0; k < f.layout.count; k++) printf("  problem: %s\n", f.layout.items[k]);
    }
    free(missing.p);
    free(done);
    fs_free(&f);
}

/* ---- checkpoints and image stores: summaries ------------------------------------------- */

static int is_optimizer_path(const char *path) { return strncmp(path, "/optimizer/", 11) == 0; }

static hsize_t element_count(int ndim, const hsize_t *dims) {
    hsize_t n = 1;
    for (int k = 0; k < ndim; k++) n *= dims[k];
    return ndim < 0 ? 0 : n;
}

static void summary_checkpoint(inspector *in, const obj_list *objs, json_out *w) {
    meta_str program_version, arch, head;
    meta_i64 format_version, classes, in_channels, projection_dim, epoch, step;
    meta_u64 seed, config_digest;
    double scale = 0.0;
    int have_scale = 0;
    meta_read_i64(in, "format_version", &format_version, NULL);
    meta_read_str(in, "program_version", &program_version, NULL);
    meta_read_str(in, "arch", &arch, NULL);
    meta_read_str(in, "head", &head, NULL);
    meta_read_i64(in, "classes", &classes, NULL);
    meta_read_i64(in, "in_channels", &in_channels, NULL);
    meta_read_i64(in, "projection_dim", &projection_dim, NULL);
    meta_read_i64(in, "epoch", &epoch, NULL);
    meta_read_i64(in, "step", &step, NULL);
    meta_read_u64(in, "seed", &seed, NULL);
    meta_read_u64(in, "config_digest", &config_digest, NULL);
    meta_double(in, "cosine_scale", &scale, &have_scale);

    hsize_t params = 0, optimizer = 0;
    int param_sets = 0, optimizer_sets = 0;
    for (int k = 0; k < objs->count; k++) {
        const obj_entry *o = &objs->items[k];
        if (o->kind != OBJ_DATASET) continue;
        int ndim;
        hsize_t dims[MAX_RANK];
        if (cbd_h5_dataset_shape(&in->h5, in->file, o->path + 1, MAX_RANK, &ndim, dims) != 0) die_h5(in);
        if (is_optimizer_path(o->path)) optimizer += element_count(ndim, dims), optimizer_sets++;
        else params += element_count(ndim, dims), param_sets++;
    }
    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "checkpoint");
        jw_meta_i64(w, "format_version", &format_version);
        jw_meta_str(w, "program_version", &program_version);
        jw_meta_str(w, "arch", &arch);
        jw_meta_i64(w, "classes", &classes);
        jw_meta_i64(w, "in_channels", &in_channels);
        jw_meta_str(w, "head", &head);
        if (have_scale) jw_f64(w, "cosine_scale", scale);
        else jw_null(w, "cosine_scale");
        jw_meta_i64(w, "projection_dim", &projection_dim);
        jw_meta_i64(w, "epoch", &epoch);
        jw_meta_i64(w, "step", &step);
        if (seed.state == 1) jw_u64(w, "seed", seed.v);
        else jw_null(w, "seed");
        jw_meta_hex(w, "config_digest", &config_digest);
        jw_u64(w, "parameters", params);
        jw_i64(w, "parameter_datasets", param_sets);
        jw_u64(w, "optimizer_values", optimizer);
        jw_i64(w, "optimizer_datasets", optimizer_sets);
        jw_end_object(w);
        return;
    }
    printf("\ncheckpoint: %s version %s, written by %s\n", CHECKPOINT_FORMAT,
           format_version.state == 1 ? (format_version.v == 1 ? "1" : "unknown") : "?", meta_text(&program_version));
    printf("  %-22s %s\n", "arch", meta_text(&arch));
    print_i64_line("classes", &classes);
    print_i64_line("in channels", &in_channels);
    if (have_scale) printf("  %-22s %s (scale %g)\n", "head", meta_text(&head), scale);
    else printf("  %-22s %s\n", "head", meta_text(&head));
    print_i64_line("projection dim", &projection_dim);
    print_i64_line("epoch", &epoch);
    print_i64_line("step", &step);
    if (seed.state == 1) printf("  %-22s %" PRIu64 "\n", "seed", seed.v);
    print_hex_line("config digest", &config_digest);
    printf("  %-22s %llu in %d datasets\n", "parameters", (unsigned long long)params, param_sets);
    printf("  %-22s %llu values in %d datasets\n", "optimizer state", (unsigned long long)optimizer, optimizer_sets);
}

static void summary_image_store(inspector *in, json_out *w) {
    meta_str program_version, source;
    meta_i64 format_version, classes, channels, height, width, complete;
    meta_u64 digest;
    ds_desc images;
    meta_read_i64(in, "format_version", &format_version, NULL);
    meta_read_str(in, "program_version", &program_version, NULL);
    meta_read_str(in, "source", &source, NULL);
    meta_read_i64(in, "classes", &classes, NULL);
    meta_read_i64(in, "channels", &channels, NULL);
    meta_read_i64(in, "height", &height, NULL);
    meta_read_i64(in, "width", &width, NULL);
    meta_read_i64(in, "complete", &complete, NULL);
    meta_read_u64(in, "manifest_digest", &digest, NULL);
    describe(in, "images", &images);
    const int have_n = images.is_dataset && images.ndim >= 1;
    if (w) {
        jw_object(w, "summary");
        jw_str(w, "kind", "image store");
        jw_meta_i64(w, "format_version", &format_version);
        jw_meta_str(w, "program_version", &program_version);
        if (have_n) jw_u64(w, "n", images.dims[0]);
        else jw_null(w, "n");
        jw_meta_i64(w, "height", &height);
        jw_meta_i64(w, "width", &width);
        jw_meta_i64(w, "channels", &channels);
        jw_meta_i64(w, "classes", &classes);
        jw_meta_flag(w, "complete", &complete);
        jw_meta_hex(w, "manifest_digest", &digest);
        jw_meta_str(w, "source", &source);
        jw_end_object(w);
    } else {
        printf("\nimage store: %s version %s, written by %s\n", IMAGE_STORE_FORMAT,
               format_version.state == 1 ? (format_version.v == 1 ? "1" : "unknown") : "?",
               meta_text(&program_version));
        if (have_n) printf("  %-22s %llu\n", "images (N)", (unsigned long long)images.dims[0]);
        else printf("  %-22s %s\n", "images (N)", "missing /images");
        if (height.state == 1 && width.state == 1 && channels.state == 1)
            printf("  %-22s %" PRId64 " x %" PRId64 " x %" PRId64 " (H x W x C)\n", "image size", height.v, width.v,
                   channels.v);
        else printf("  %-22s %s\n", "image size", "missing");
        print_i64_line("classes", &classes);
        print_flag_line("complete", &complete);
        print_hex_line("manifest digest", &digest);
        printf("  %-22s %s\n", "source", meta_text(&source));
    }
    desc_free(&images);
}

/* ---- the tree ------------------------------------------------------------------------------ */

static void print_tree(inspector *in, const obj_list *objs, json_out *w) {
    int width = 0;
    for (int k = 0; k < objs->count; k++) {
        int n = (int)strlen(objs->items[k].path);
        if (n > width) width = n;
    }
    if (width > 48) width = 48;
    if (w) jw_array(w, "objects");
    else printf("file: %s\n\n", in->path);
    for (int k = 0; k < objs->count; k++) {
        const obj_entry *o = &objs->items[k];
        strbuf line = {0};
        dset_info d;
        hid_t obj = -1;
        int nattr = 0;
        attr_value *attrs = NULL;
        if (o->kind == OBJ_GROUP || o->kind == OBJ_DATASET || o->kind == OBJ_DATATYPE) {
            TRY(in, obj = H5Oopen(in->file, o->path, H5P_DEFAULT), "cannot open '%s'", o->path);
            attrs = read_attributes(in, obj, o->path, &nattr);
        }
        static const char *kinds[] = {"group", "dataset", "datatype", "soft link", "external link", "other"};
        if (w) {
            jw_object(w, NULL);
            jw_str(w, "path", o->path);
            jw_str(w, "kind", kinds[o->kind]);
        }
        if (o->kind == OBJ_DATASET) {
            describe_dataset(in, obj, o->path, &d);
            if (w) dataset_json(w, &d);
            else dataset_text(&d, &line);
            free(d.dtype.p);
        } else if (o->kind == OBJ_DATATYPE) {
            strbuf words = {0};
            type_words(in, obj, &words);
            if (w) jw_str(w, "dtype", words.p);
            else sb_printf(&line, "datatype %s", words.p);
            free(words.p);
        } else if (o->kind == OBJ_SOFT || o->kind == OBJ_EXTERNAL) {
            if (w) jw_str(w, "target", o->target);
            else sb_printf(&line, "-> %s (%s)", o->target, kinds[o->kind]);
        } else {
            if (!w) sb_printf(&line, "%s", kinds[o->kind]);
        }
        if (w) {
            if (o->kind == OBJ_GROUP || o->kind == OBJ_DATASET || o->kind == OBJ_DATATYPE) {
                jw_object(w, "attributes");
                for (int a = 0; a < nattr; a++) attr_json(w, &attrs[a]);
                jw_end_object(w);
            }
            jw_end_object(w);
        } else {
            printf("%-*s  %s\n", width, o->path, sb_str(&line));
            for (int a = 0; a < nattr; a++) {
                strbuf t = {0};
                attr_text(&attrs[a], &t);
                printf("    %s\n", t.p);
                free(t.p);
            }
        }
        for (int a = 0; a < nattr; a++) attr_free(&attrs[a]);
        free(attrs);
        free(line.p);
        if (obj >= 0) close_id(in, obj, o->path);
    }
    if (w) jw_end_array(w);
}

static int cmd_tree(inspector *in, json_out *w) {
    obj_list objs;
    char format[1024];
    list_objects(in, &objs);
    file_format(in, format, sizeof format);
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_str(w, "format", format[0] ? format : NULL);
    }
    print_tree(in, &objs, w);
    if (strcmp(format, FEATURE_STORE_FORMAT) == 0) summary_feature_store(in, w);
    else if (strcmp(format, CHECKPOINT_FORMAT) == 0) summary_checkpoint(in, &objs, w);
    else if (strcmp(format, IMAGE_STORE_FORMAT) == 0) summary_image_store(in, w);
    if (w) jw_end_object(w);
    objects_free(&objs);
    return CBD_EXIT_OK;
}

/* ---- opening a feature store for --stats and --row ------------------------------------------ */

static void require_feature_store(inspector *in, const char *option, fstore *f) {
    char format[1024];
    file_format(in, format, sizeof format);
    if (strcmp(format, FEATURE_STORE_FORMAT) != 0)
        die_file(in, "%s works on feature stores; this file's format is %s%s%s", option, format[0] ? "'" : "",
                 format[0] ? format : "not set (no root attribute 'format')", format[0] ? "'" : "");
    fs_load(in, f);
    if (f->layout.count)
        die_file(in, "inconsistent feature store: %s (h5inspect --verify lists every defect)", f->layout.items[0]);
}

/* Labels as int64 [N]; dies when they cannot be read. */
static int64_t *fs_read_labels(inspector *in, const fstore *f) {
    int64_t *labels = cbd_calloc(f->N, sizeof *labels);
    if (read_int64s(in, "labels", f->N, labels) != 0) die_h5(in);
    return labels;
}

/* ---- --stats --------------------------------------------------------------------------------- */

enum { NCM_BATCH = 1024 }; /* center rows classified by one GEMM */

typedef struct {
    const int64_t *labels;
    hsize_t C, D;
    double *sums;      /* [C, D] sums of unit center features */
    hsize_t *counts;   /* [C] */
    float *unit_means; /* [C, D] normalised class means */
    double *cos_sums;  /* [C] cosine of each image to its own class mean */
    hsize_t correct, evaluated, skipped;
    float *batch;      /* [NCM_BATCH, D] unit rows waiting to be classified */
    int64_t *batch_labels;
    hsize_t pending;
    float *scores;     /* [NCM_BATCH, C] cosines to the class means */
} class_pass;

static void accumulate_class(void *arg, hsize_t row, const float *x, hsize_t cols, int finite, double norm) {
    class_pass *p = arg;
    const int64_t label = p->labels[row];
    if (!finite || norm == 0.0 || label < 0 || (hsize_t)label >= p->C) return;
    double *sum = p->sums + (hsize_t)label * p->D;
    for (hsize_t k = 0; k < cols; k++) sum[k] += x[k] / norm;
    p->counts[label]++;
}

/* Nearest class mean by cosine for the pending rows (ties: the lower class). */
static void classify_batch(class_pass *p) {
    if (p->pending == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->pending, (int)p->C, (int)p->D, 1.0f, p->batch,
                (int)p->D, p->unit_means, (int)p->D, 0.0f, p->scores, (int)p->C);
    for (hsize_t r = 0; r < p->pending; r++) {
        const float *cos = p->scores + r * p->C;
        const hsize_t label = (hsize_t)p->batch_labels[r];
        hsize_t best = label;
        for (hsize_t c = 0; c < p->C; c++)
            if (p->counts[c] && (cos[c] > cos[best] || (cos[c] == cos[best] && c < best))) best = c;
        p->cos_sums[label] += cos[label];
        p->correct += best == label;
        p->evaluated++;
    }
    p->pending = 0;
}

static void classify_row(void *arg, hsize_t row, const float *x, hsize_t cols, int finite, double norm) {
    class_pass *p = arg;
    const int64_t label = p->labels[row];
    if (!finite || norm == 0.0 || label < 0 || (hsize_t)label >= p->C) {
        p->skipped++;
        return;
    }
    float *u = p->batch + p->pending * p->D;
    for (hsize_t k = 0; k < cols; k++) u[k] = (float)(x[k] / norm);
    p->batch_labels[p->pending++] = label;
    if (p->pending == NCM_BATCH) classify_batch(p);
}

typedef struct {
    hsize_t D;
    float *acc;     /* [N, D] sum of the unit view features of each image */
    int32_t *views; /* [N] views in acc */
    uint8_t *bad;   /* [N] a view with NaN/Inf */
} view_pass;

static void accumulate_view(void *arg, hsize_t row, const float *x, hsize_t cols, int finite, double norm) {
    view_pass *p = arg;
    if (!finite) {
        p->bad[row] = 1;
        return;
    }
    if (norm == 0.0) return;
    float *acc = p->acc + row * p->D;
    for (hsize_t k = 0; k < cols; k++) acc[k] += (float)(x[k] / norm);
    p->views[row]++;
}

typedef struct {
    int done;
    row_stats features, logits;
} view_stats;

static void stats_row_text(const char *name, const view_stats *v, int logits) {
    const row_stats *r = &v->features;
    printf("  %-7s %-5s %6llu", name, v->done ? "yes" : "no", (unsigned long long)r->rows);
    if (v->done && r->rows)
        printf(" %11.6f %11.6f %11.6f", r->sum / (double)r->rows, r->min, r->max);
    else
        printf(" %11s %11s %11s", "-", "-", "-");
    printf(" %6llu %6llu", (unsigned long long)r->nan, (unsigned long long)r->inf);
    if (logits) printf(" %10llu %10llu", (unsigned long long)v->logits.nan, (unsigned long long)v->logits.inf);
    printf("\n");
}

/* view -1: the center */
static void stats_row_json(json_out *w, const char *key, int64_t view, const view_stats *v, int logits) {
    const row_stats *r = &v->features;
    jw_object(w, key);
    if (view >= 0) jw_i64(w, "view", view);
    jw_bool(w, "done", v->done);
    jw_u64(w, "rows", r->rows);
    if (v->done && r->rows) {
        jw_f64(w, "norm_mean", r->sum / (double)r->rows);
        jw_f64(w, "norm_min", r->min);
        jw_f64(w, "norm_max", r->max);
    } else {
        jw_null(w, "norm_mean");
        jw_null(w, "norm_min");
        jw_null(w, "norm_max");
    }
    jw_u64(w, "nan", r->nan);
    jw_u64(w, "inf", r->inf);
    if (logits) {
        jw_u64(w, "logits_nan", v->logits.nan);
        jw_u64(w, "logits_inf", v->logits.inf);
    }
    jw_end_object(w);
}

static int cmd_stats(inspector *in, json_out *w) {
    fstore f;
    require_feature_store(in, "--stats", &f);
    int64_t *labels = fs_read_labels(in, &f);
    int64_t *done = fs_read_done(in, &f);
    if (!done) die_h5(in);
    const int logits = f.logits.exists;
    hsize_t C = f.C;
    for (hsize_t i = 0; i < f.N; i++)
        if (f.C == 0 && labels[i] >= 0 && (hsize_t)labels[i] + 1 > C) C = (hsize_t)labels[i] + 1;
    hsize_t out_of_range = 0;
    for (hsize_t i = 0; i < f.N; i++) out_of_range += labels[i] < 0 || (hsize_t)labels[i] >= C;

    /* the center: norms, class means, cosine to the own class mean, NCM */
    const int center_done = f.center_done.state != 1 || f.center_done.v != 0;
    view_stats center = {center_done, {0}, {0}};
    class_pass cp = {.labels = labels, .C = C, .D = f.D};
    fdata fd;
    if (center_done) {
        cp.sums = cbd_calloc(C * f.D, sizeof *cp.sums);
        cp.counts = cbd_calloc(C, sizeof *cp.counts);
        cp.unit_means = cbd_calloc(C * f.D, sizeof *cp.unit_means);
        cp.cos_sums = cbd_calloc(C, sizeof *cp.cos_sums);
        cp.batch = cbd_calloc(NCM_BATCH * f.D, sizeof *cp.batch);
        cp.batch_labels = cbd_calloc(NCM_BATCH, sizeof *cp.batch_labels);
        cp.scores = cbd_calloc(NCM_BATCH * C, sizeof *cp.scores);
        fdata_open(in, "center", &fd);
        if (scan_rows(in, &fd, 0, &center.features, accumulate_class, &cp) != 0) die_h5(in);
        for (hsize_t c = 0; c < C; c++) {
            double sq = 0.0;
            for (hsize_t k = 0; k < f.D; k++) sq += cp.sums[c * f.D + k] * cp.sums[c * f.D + k];
            const double norm = sqrt(sq);
            for (hsize_t k = 0; k < f.D && norm > 0.0; k++)
                cp.unit_means[c * f.D + k] = (float)(cp.sums[c * f.D + k] / norm);
        }
        row_stats again = {0};
        if (scan_rows(in, &fd, 0, &again, classify_row, &cp) != 0) die_h5(in);
        classify_batch(&cp);
        fdata_close(in, &fd);
        if (logits) {
            fdata_open(in, "center_logits", &fd);
            if (scan_rows(in, &fd, 0, &center.logits, NULL, NULL) != 0) die_h5(in);
            fdata_close(in, &fd);
        }
    }

    /* the views, one at a time */
    const hsize_t done_count = count_done(done, f.S);
    view_stats *views = cbd_calloc(f.S, sizeof *views);
    view_pass vp = {f.D, NULL, NULL, NULL};
    if (done_count >= 2) {
        vp.acc = cbd_calloc(f.N * f.D, sizeof *vp.acc);
        vp.views = cbd_calloc(f.N, sizeof *vp.views);
        vp.bad = cbd_calloc(f.N, sizeof *vp.bad);
    }
    fdata lf;
    fdata_open(in, "features", &fd);
    if (logits) fdata_open(in, "logits", &lf);
    for (hsize_t s = 0; s < f.S; s++) {
        views[s].done = done[s] != 0;
        if (!views[s].done) continue;
        if (scan_rows(in, &fd, s, &views[s].features, vp.acc ? accumulate_view : NULL, &vp) != 0) die_h5(in);
        if (logits && scan_rows(in, &lf, s, &views[s].logits, NULL, NULL) != 0) die_h5(in);
    }
    fdata_close(in, &fd);
    if (logits) fdata_close(in, &lf);
    double view_cos = 0.0;
    hsize_t view_cos_images = 0;
    for (hsize_t i = 0; vp.acc && i < f.N; i++) {
        const double k = vp.views[i];
        if (vp.bad[i] || k < 2) continue;
        double sq = 0.0;
        for (hsize_t e = 0; e < f.D; e++) sq += (double)vp.acc[i * f.D + e] * vp.acc[i * f.D + e];
        view_cos += (sq - k) / (k * (k - 1.0));
        view_cos_images++;
    }

    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_u64(w, "n", f.N);
        jw_u64(w, "views", f.S);
        jw_u64(w, "d", f.D);
        jw_u64(w, "classes", C);
        stats_row_json(w, "center", -1, &center, logits);
        jw_array(w, "view_stats");
        for (hsize_t s = 0; s < f.S; s++) stats_row_json(w, NULL, (int64_t)s, &views[s], logits);
        jw_end_array(w);
        if (center_done) {
            jw_array(w, "class_stats");
            for (hsize_t c = 0; c < C; c++) {
                jw_open(w, NULL, '{', 1);
                jw_u64(w, "class", c);
                jw_u64(w, "images", cp.counts[c]);
                if (cp.counts[c]) jw_f64(w, "center_cosine", cp.cos_sums[c] / (double)cp.counts[c]);
                else jw_null(w, "center_cosine");
                jw_end_object(w);
            }
            jw_end_array(w);
        } else {
            jw_null(w, "class_stats");
        }
        jw_object(w, "view_cosine");
        if (view_cos_images) jw_f64(w, "mean", view_cos / (double)view_cos_images);
        else jw_null(w, "mean");
        jw_u64(w, "images", view_cos_images);
        jw_u64(w, "views_done", done_count);
        jw_end_object(w);
        jw_object(w, "ncm");
        if (cp.evaluated) jw_f64(w, "accuracy", (double)cp.correct / (double)cp.evaluated);
        else jw_null(w, "accuracy");
        jw_u64(w, "correct", cp.correct);
        jw_u64(w, "images", cp.evaluated);
        jw_u64(w, "skipped", cp.skipped);
        jw_end_object(w);
        jw_u64(w, "labels_out_of_range", out_of_range);
        jw_end_object(w);
    } else {
        printf("statistics: %s (%llu images, %llu views, d = %llu, %llu classes, %s)\n", in->path,
               (unsigned long long)f.N, (unsigned long long)f.S, (unsigned long long)f.D, (unsigned long long)C,
               f.features.words.p);
        printf("\nfeature l2 norms (rows: rows without NaN/Inf; NaN, Inf: values)\n");
        printf("  %-7s %-5s %6s %11s %11s %11s %6s %6s", "view", "done", "rows", "norm mean", "norm min", "norm max",
               "NaN", "Inf");
        if (logits) printf(" %10s %10s", "logits NaN", "logits Inf");
        printf("\n");
        stats_row_text("center", &center, logits);
        for (hsize_t s = 0; s < f.S; s++) {
            char name[32];
            snprintf(name, sizeof name, "%llu", (unsigned long long)s);
            stats_row_text(name, &views[s], logits);
        }
        if (center_done) {
            printf("\nmean cosine of the center features to their class centroid\n");
            printf("  %-7s %6s %11s\n", "class", "images", "cosine");
            for (hsize_t c = 0; c < C; c++) {
                if (cp.counts[c])
                    printf("  %-7llu %6llu %11.6f\n", (unsigned long long)c, (unsigned long long)cp.counts[c],
                           cp.cos_sums[c] / (double)cp.counts[c]);
                else
                    printf("  %-7llu %6d %11s\n", (unsigned long long)c, 0, "-");
            }
        } else {
            printf("\ncenter features not done (center_done = 0): no class statistics\n");
        }
        printf("\n");
        if (view_cos_images)
            printf("mean cosine between the views of an image  %.6f (%llu images, %llu views done)\n",
                   view_cos / (double)view_cos_images, (unsigned long long)view_cos_images,
                   (unsigned long long)done_count);
        else
            printf("mean cosine between the views of an image  - (needs two views done, %llu done)\n",
                   (unsigned long long)done_count);
        if (cp.evaluated)
            printf("NCM accuracy of the center features        %.6f (%llu of %llu, training labels)\n",
                   (double)cp.correct / (double)cp.evaluated, (unsigned long long)cp.correct,
                   (unsigned long long)cp.evaluated);
        else
            printf("NCM accuracy of the center features        -\n");
        if (cp.skipped)
            printf("  (%llu image%s left out: NaN/Inf, zero vector or label out of range)\n",
                   (unsigned long long)cp.skipped, cp.skipped == 1 ? "" : "s");
        if (out_of_range) printf("labels out of range 0..%llu: %llu\n", (unsigned long long)(C - 1), (unsigned long long)out_of_range);
    }
    free(vp.acc);
    free(vp.views);
    free(vp.bad);
    free(views);
    free(cp.sums);
    free(cp.counts);
    free(cp.unit_means);
    free(cp.cos_sums);
    free(cp.batch);
    free(cp.batch_labels);
    free(cp.scores);
    free(done);
    free(labels);
    fs_free(&f);
    return CBD_EXIT_OK;
}

/* ---- --row ----------------------------------------------------------------------------------- */

static long long parse_index(const inspector *in, const char *option, const char *text) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0)
        die_file(in, "%s: expected a non-negative integer, got '%s'", option, text);
    return v;
}

static void print_values_text(const char *label, const float *x, hsize_t n) {
    char num[40];
    printf("%-16s", label);
    for (hsize_t k = 0; k < n; k++) {
        format_float(num, x[k]);
        printf(" %s", num);
    }
    printf("\n");
}

static int cmd_row(inspector *in, const char *row_text, const char *seed_text, json_out *w) {
    fstore f;
    require_feature_store(in, "--row", &f);
    const long long row = parse_index(in, "--row", row_text);
    if ((hsize_t)row >= f.N)
        die_file(in, "--row %lld is outside 0..%lld (the store holds %llu images)", row, (long long)f.N - 1,
                 (unsigned long long)f.N);
    long long view = -1;
    if (seed_text && strcmp(seed_text, "center") != 0) {
        view = parse_index(in, "--seed", seed_text);
        if ((hsize_t)view >= f.S)
            die_file(in, "--seed %lld is outside 0..%lld (the store holds %llu views)", view, (long long)f.S - 1,
                     (unsigned long long)f.S);
    }
    int64_t *labels = fs_read_labels(in, &f);
    int64_t *done = fs_read_done(in, &f);
    if (!done) die_h5(in);
    const int logits = f.logits.exists;
    const int written = view < 0 ? f.center_done.state != 1 || f.center_done.v != 0 : done[view] != 0;
    float *x = cbd_calloc(f.D, sizeof *x), *z = cbd_calloc(f.C, sizeof *z);
    fdata fd;
    fdata_open(in, view < 0 ? "center" : "features", &fd);
    if (fdata_read(in, &fd, view < 0 ? 0 : (hsize_t)view, (hsize_t)row, 1, x) != 0) die_h5(in);
    fdata_close(in, &fd);
    if (logits) {
        fdata_open(in, view < 0 ? "center_logits" : "logits", &fd);
        if (fdata_read(in, &fd, view < 0 ? 0 : (hsize_t)view, (hsize_t)row, 1, z) != 0) die_h5(in);
        fdata_close(in, &fd);
    }
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_i64(w, "row", row);
        if (view < 0) jw_null(w, "view");
        else jw_i64(w, "view", view);
        jw_str(w, "dataset", view < 0 ? "/center" : "/features");
        jw_i64(w, "label", labels[row]);
        jw_bool(w, "written", written);
        jw_flat_array(w, "features");
        for (hsize_t k = 0; k < f.D; k++) jw_f32(w, NULL, x[k]);
        jw_end_array(w);
        if (logits) {
            jw_flat_array(w, "logits");
            for (hsize_t k = 0; k < f.C; k++) jw_f32(w, NULL, z[k]);
            jw_end_array(w);
        } else {
            jw_null(w, "logits");
        }
        jw_end_object(w);
    } else {
        char where[64];
        if (view < 0) snprintf(where, sizeof where, "center view");
        else snprintf(where, sizeof where, "view %lld", view);
        printf("image %lld, %s, label %" PRId64 "\n", row, where, labels[row]);
        if (!written) printf("note: %s is not done: these values were never written\n", where);
        char label[64];
        snprintf(label, sizeof label, "features [%llu]", (unsigned long long)f.D);
        print_values_text(label, x, f.D);
        if (logits) {
            snprintf(label, sizeof label, "logits [%llu]", (unsigned long long)f.C);
            print_values_text(label, z, f.C);
        }
    }
    free(x);
    free(z);
    free(labels);
    free(done);
    fs_free(&f);
    return CBD_EXIT_OK;
}

/* ---- --verify -------------------------------------------------------------------------------- */

static void nonfinite_defects(defect_list *d, const char *where, const row_stats *st) {
    if (st->nan)
        defect(d, "NaN in %s: %llu value%s in %llu row%s, first at row %llu", where, (unsigned long long)st->nan,
               st->nan == 1 ? "" : "s", (unsigned long long)st->nan_rows, st->nan_rows == 1 ? "" : "s",
               (unsigned long long)st->first_nan);
    if (st->inf)
        defect(d, "Inf in %s: %llu value%s in %llu row%s, first at row %llu", where, (unsigned long long)st->inf,
               st->inf == 1 ? "" : "s", (unsigned long long)st->inf_rows, st->inf_rows == 1 ? "" : "s",
               (unsigned long long)st->first_inf);
}

/* Scans a float dataset for NaN/Inf: every view marked done when 3-D (done
 * NULL: every view; views not done may hold whatever the disk held). */
static void verify_floats(inspector *in, const char *name, const int64_t *done, defect_list *d) {
    fdata fd;
    fdata_open(in, name, &fd);
    const hsize_t views = fd.ndim == 3 ? fd.dims[0] : 1;
    for (hsize_t s = 0; s < views; s++) {
        row_stats st = {0};
        char where[128];
        if (fd.ndim == 3 && done && !done[s]) continue;
        if (fd.ndim == 3) snprintf(where, sizeof where, "/%s view %llu", name, (unsigned long long)s);
        else snprintf(where, sizeof where, "/%s", name);
        if (scan_rows(in, &fd, s, &st, NULL, NULL) != 0) defect(d, "cannot read %s: %s", where, err_text(in));
        nonfinite_defects(d, where, &st);
    }
    fdata_close(in, &fd);
}

static void verify_feature_store(inspector *in, defect_list *d, strbuf *ok) {
    fstore f;
    fs_load(in, &f);
    for (int k = 0; k < f.meta.count; k++) defect(d, "%s", f.meta.items[k]);
    for (int k = 0; k < f.layout.count; k++) defect(d, "%s", f.layout.items[k]);
    fs_check_attributes(&f, d);
    if (f.complete.state == 1 && f.complete.v != 1) defect(d, "incomplete: complete = %" PRId64, f.complete.v);
    if (f.center_done.state == 1 && f.center_done.v != 1)
        defect(d, "incomplete: center features not done (center_done = %" PRId64 ")", f.center_done.v);
    if (f.layout.count) {
        defect(d, "data not scanned for NaN/Inf: datasets are missing or their shapes disagree");
        fs_free(&f);
        return;
    }
    int64_t *done = fs_read_done(in, &f);
    if (!done) {
        defect(d, "cannot read /done: %s", err_text(in));
    } else if (count_done(done, f.S) < f.S) {
        strbuf missing = {0};
        missing_views(done, f.S, &missing);
        defect(d, "incomplete: views not done: %s (%llu of %llu views done)", missing.p,
               (unsigned long long)count_done(done, f.S), (unsigned long long)f.S);
        free(missing.p);
    }
    int64_t *labels = cbd_calloc(f.N, sizeof *labels);
    if (read_int64s(in, "labels", f.N, labels) != 0) {
        defect(d, "cannot read /labels: %s", err_text(in));
    } else {
        hsize_t bad = 0, first = 0;
        const int64_t C = f.C ? (int64_t)f.C : INT64_MAX;
        for (hsize_t i = 0; i < f.N; i++)
            if ((labels[i] < 0 || labels[i] >= C) && bad++ == 0) first = i;
        if (bad)
            defect(d, "labels out of range: %llu label%s outside 0..%lld, first at row %llu (%" PRId64 ")",
                   (unsigned long long)bad, bad == 1 ? "" : "s", (long long)C - 1, (unsigned long long)first,
                   labels[first]);
    }
    const int center_done = f.center_done.state != 1 || f.center_done.v != 0;
    verify_floats(in, "features", done, d);
    if (center_done) verify_floats(in, "center", NULL, d);
    if (f.logits.exists) {
        verify_floats(in, "logits", done, d);
        if (center_done) verify_floats(in, "center_logits", NULL, d);
    }
    sb_printf(ok, "complete feature store, %llu images x %llu views, d = %llu, %s%s; labels in range, no NaN or Inf",
              (unsigned long long)f.N, (unsigned long long)f.S, (unsigned long long)f.D, f.features.words.p,
              f.logits.exists ? ", logits" : "");
    free(labels);
    free(done);
    fs_free(&f);
}

/* Reads a whole dataset; float data is checked for NaN/Inf. */
static void verify_dataset(inspector *in, const char *path, defect_list *d, hsize_t *values) {
    ds_desc desc;
    describe(in, path + 1, &desc);
    const hsize_t n = element_count(desc.ndim, desc.dims);
    *values += n;
    if (n == 0) {
        desc_free(&desc);
        return;
    }
    hid_t dset = -1, type = -1;
    void *buf = NULL;
    int rc = -1;
    CBD_H5_CHECK(&in->h5, dset = H5Dopen2(in->file, path, H5P_DEFAULT), "cannot open '%s'", path);
    if (desc.cls == H5T_FLOAT && !desc.half) {
        float *x = buf = cbd_malloc(n * sizeof *x);
        CBD_H5_CHECK(&in->h5, H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), "cannot read");
        hsize_t nan = 0, inf = 0, first = 0;
        for (hsize_t k = 0; k < n; k++) {
            if (isfinite(x[k])) continue;
            if (nan + inf == 0) first = k;
            if (isnan(x[k])) nan++;
            else inf++;
        }
        if (nan || inf)
            defect(d, "non-finite values in %s: %llu NaN, %llu Inf, first at index %llu", path,
                   (unsigned long long)nan, (unsigned long long)inf, (unsigned long long)first);
    } else {
        htri_t variable;
        CBD_H5_CHECK(&in->h5, type = H5Dget_type(dset), "cannot get the type");
        CBD_H5_CHECK(&in->h5, variable = H5Tdetect_class(type, H5T_VLEN), "cannot inspect the type");
        if (!variable && desc.cls != H5T_STRING) {
            buf = cbd_malloc(n * desc.size);
            CBD_H5_CHECK(&in->h5, H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "cannot read");
            if (desc.half) {
                hsize_t bad = 0, first = 0;
                for (hsize_t k = 0; k < n; k++)
                    if ((((const uint16_t *)buf)[k] & 0x7c00u) == 0x7c00u && bad++ == 0) first = k;
                if (bad)
                    defect(d, "non-finite values in %s: %llu NaN or Inf, first at index %llu", path,
                           (unsigned long long)bad, (unsigned long long)first);
            }
        }
    }
    rc = 0;
cleanup:
    if (rc != 0) defect(d, "cannot read %s: %s", path, err_text(in));
    free(buf);
    if (cbd_h5_close(type) < 0 || cbd_h5_close(dset) < 0) {
        cbd_h5_error(&in->h5, "cannot close '%s'", path);
        die_h5(in);
    }
    desc_free(&desc);
}

/* Every tensor the model the checkpoint describes needs is there with its
 * shape: load it into that model, as the stages would (cbd-ckpt verify). */
static void verify_checkpoint_complete(inspector *in, defect_list *d) {
    char err[1024];
    cbd_checkpoint_meta meta;
    if (cbd_checkpoint_read_meta(in->path, &meta, err, sizeof err) != 0) {
        defect(d, "%s", err);
        return;
    }
    cbd_model_config cfg;
    cbd_checkpoint_meta_to_config(&meta, &cfg);
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "cannot create the cpu backend: %s", err);
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) {
        defect(d, "cannot build the model it describes: %s", err);
    } else {
        if (cbd_checkpoint_load(in->path, &cfg, &m.params, NULL, err, sizeof err) != 0) defect(d, "%s", err);
        cbd_model_free(&m);
    }
    cbd_backend_destroy(be);
}

static void verify_checkpoint(inspector *in, const obj_list *objs, defect_list *d, strbuf *ok) {
    meta_i64 version, classes, in_channels, epoch, step;
    meta_str arch;
    meta_read_i64(in, "format_version", &version, d);
    if (version.state == 1 && version.v != 1)
        defect(d, "format_version is %" PRId64 ", this tool reads version 1", version.v);
    meta_read_str(in, "arch", &arch, d);
    meta_read_i64(in, "classes", &classes, d);
    meta_read_i64(in, "in_channels", &in_channels, d);
    meta_read_i64(in, "epoch", &epoch, d);
    meta_read_i64(in, "step", &step, d);
    int datasets = 0;
    hsize_t values = 0;
    for (int k = 0; k < objs->count; k++)
        if (objs->items[k].kind == OBJ_DATASET) {
            verify_dataset(in, objs->items[k].path, d, &values);
            datasets++;
        }
    if (datasets == 0) defect(d, "no datasets: a checkpoint holds at least one parameter");
    else verify_checkpoint_complete(in, d);
    sb_printf(ok, "checkpoint %s, %d datasets (%llu values) readable and finite, every tensor of its model present",
              meta_text(&arch), datasets, (unsigned long long)values);
}

static void verify_image_store(inspector *in, defect_list *d, strbuf *ok) {
    meta_i64 version, classes, channels, height, width, complete;
    ds_desc images, labels;
    meta_read_i64(in, "format_version", &version, d);
    if (version.state == 1 && version.v != 1)
        defect(d, "format_version is %" PRId64 ", this tool reads version 1", version.v);
    meta_read_i64(in, "classes", &classes, d);
    meta_read_i64(in, "channels", &channels, d);
    meta_read_i64(in, "height", &height, d);
    meta_read_i64(in, "width", &width, d);
    meta_read_i64(in, "complete", &complete, d);
    if (complete.state == 1 && complete.v != 1) defect(d, "incomplete: complete = %" PRId64, complete.v);
    describe(in, "images", &images);
    describe(in, "labels", &labels);
    char have[128];
    hsize_t n = 0;
    if (!images.is_dataset || images.ndim != 4) {
        defect(d, "shape: /images must be [n, height, width, channels], it is %s",
               desc_shape(&images, have, sizeof have));
    } else {
        n = images.dims[0];
        const struct {
            const char *name;
            const meta_i64 *m;
            int dim;
        } sizes[] = {{"height", &height, 1}, {"width", &width, 2}, {"channels", &channels, 3}};
        for (int k = 0; k < 3; k++)
            if (sizes[k].m->state == 1 && (sizes[k].m->v < 0 || (hsize_t)sizes[k].m->v != images.dims[sizes[k].dim]))
                defect(d, "shape: attribute %s = %" PRId64 " but /images dimension %d is %llu", sizes[k].name,
                       sizes[k].m->v, sizes[k].dim, (unsigned long long)images.dims[sizes[k].dim]);
        hsize_t values = 0;
        verify_dataset(in, "/images", d, &values);
    }
    const hsize_t ndims[1] = {n};
    if (images.is_dataset && images.ndim == 4 && !desc_is(&labels, 1, ndims)) {
        defect(d, "shape: /labels is %s, /images needs [%llu]", desc_shape(&labels, have, sizeof have),
               (unsigned long long)n);
    } else if (images.is_dataset && images.ndim == 4) {
        int64_t *l = cbd_calloc(n, sizeof *l);
        if (read_int64s(in, "labels", n, l) != 0) {
            defect(d, "cannot read /labels: %s", err_text(in));
        } else if (classes.state == 1) {
            hsize_t bad = 0, first = 0;
            for (hsize_t i = 0; i < n; i++)
                if ((l[i] < 0 || l[i] >= classes.v) && bad++ == 0) first = i;
            if (bad)
                defect(d, "labels out of range: %llu label%s outside 0..%" PRId64 ", first at row %llu (%" PRId64 ")",
                       (unsigned long long)bad, bad == 1 ? "" : "s", classes.v - 1, (unsigned long long)first,
                       l[first]);
        }
        free(l);
    }
    sb_printf(ok, "complete image store, %llu images", (unsigned long long)n);
    desc_free(&images);
    desc_free(&labels);
}

static int cmd_verify(inspector *in, json_out *w) {
    char format[1024];
    const char *kind = NULL;
    defect_list d = {0};
    strbuf ok = {0};
    obj_list objs;
    list_objects(in, &objs);
    file_format(in, format, sizeof format);
    if (strcmp(format, FEATURE_STORE_FORMAT) == 0) {
        kind = "feature store";
        verify_feature_store(in, &d, &ok);
    } else if (strcmp(format, CHECKPOINT_FORMAT) == 0) {
        kind = "checkpoint";
        verify_checkpoint(in, &objs, &d, &ok);
    } else if (strcmp(format, IMAGE_STORE_FORMAT) == 0) {
        kind = "image store";
        verify_image_store(in, &d, &ok);
    } else if (format[0]) {
        defect(&d, "unknown format '%s': not a cbd store", format);
    } else {
        defect(&d, "not a cbd store: no root attribute 'format'");
    }
    if (w) {
        jw_object(w, NULL);
        jw_str(w, "file", in->path);
        jw_str(w, "format", format[0] ? format : NULL);
        jw_str(w, "kind", kind);
        jw_bool(w, "ok", d.count == 0);
        jw_array(w, "defects");
        for (int k = 0; k < d.count; k++) jw_str(w, NULL, d.items[k]);
        jw_end_array(w);
        jw_end_object(w);
    } else {
        for (int k = 0; k < d.count; k++) printf("defect: %s\n", d.items[k]);
        if (d.count == 0) printf("ok: %s: %s\n", in->path, sb_str(&ok));
        else printf("%s: %d defect%s\n", in->path, d.count, d.count == 1 ? "" : "s");
    }
    const int rc = d.count ? CBD_EXIT_FAILURE : CBD_EXIT_OK;
    defects_free(&d);
    free(ok.p);
    objects_free(&objs);
    return rc;
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    cbd_cli_init(argv[0]);
    const char *path = NULL, *row = NULL, *seed = NULL;
    int stats = 0, verify = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return CBD_EXIT_OK;
        } else if (strcmp(a, "--stats") == 0) {
            stats = 1;
        } else if (strcmp(a, "--verify") == 0) {
            verify = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--row") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--view") == 0) {
            if (i + 1 >= argc) cbd_usage_error("%s needs a value", a);
            if (strcmp(a, "--row") == 0) row = argv[++i];
            else seed = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cbd_usage_error("unknown option '%s'", a);
        } else if (path) {
            cbd_usage_error("more than one FILE ('%s' and '%s')", path, a);
        } else {
            path = a;
        }
    }
    if (!path) cbd_usage_error("missing FILE");
    if (stats + verify + (row != NULL) > 1) cbd_usage_error("--stats, --verify and --row go one at a time");
    if (seed && !row) cbd_usage_error("--seed selects the view of --row");

    inspector in = {.path = path, .file = -1};
    cbd_h5_ctx_init(&in.h5, path, in.err, sizeof in.err);
    if ((in.file = cbd_h5_open_read(&in.h5)) < 0) die_h5(&in);
    json_out jw = {.f = stdout};
    json_out *w = json ? &jw : NULL;
    int rc;
    if (stats) rc = cmd_stats(&in, w);
    else if (verify) rc = cmd_verify(&in, w);
    else if (row) rc = cmd_row(&in, row, seed, w);
    else rc = cmd_tree(&in, w);
    close_id(&in, in.file, "the file");
    if (fflush(stdout) != 0 || ferror(stdout)) cbd_fail(CBD_EXIT_FAILURE, "cannot write the output: %s", strerror(errno));
    return rc;
}
