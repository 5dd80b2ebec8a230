/* What the files of h5inspect share (private to tools/h5inspect/).
 *
 *   main.c                   options, and which command runs
 *   inspector.c              the open file, fatal errors, defect lists
 *   format.c                 numbers, quoted strings and shapes in the text output
 *   json.c                   the streaming JSON writer (--json)
 *   types.c                  HDF5 types in words ("float16", "compound {a: int32}")
 *   attributes.c             attributes read, printed and written as JSON
 *   objects.c                every group, dataset and link of the file
 *   datasets.c               a dataset's shape, type, layout and filters
 *   metadata.c               root attributes of a store, and their summary lines
 *   tree.c                   the tree and the summary (no option)
 *   feature_store_summary.c  the summary of a feature store
 *   store_summaries.c        the summaries of checkpoints and image stores
 *   feature_rows.c           a feature store's rows for --stats and --row (library row reader)
 *   stats.c                  --stats
 *   row.c                    --row
 *   verify.c                 --verify (feature stores: the library's verifier)
 *   verify_stores.c          --verify of checkpoints and image stores
 *
 * Every HDF5 call is checked: TRY ends the program with a message naming the
 * file, the object and what failed (exit 2). */
#ifndef CBD_H5INSPECT_H
#define CBD_H5INSPECT_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>

#include "store/feature_store.h"
#include "store/h5util.h"
#include "store/text.h"

enum { MAX_RANK = H5S_MAX_RANK };

/* ---- the file being inspected, and fatal errors (inspector.c) ---------------------- */

typedef struct {
    const char *path;
    cbd_h5_ctx h5;
    char err[1024];
    hid_t file;
} inspector;

/* The message of the last failed h5util call ("FILE: what (why)"); exit 2. */
_Noreturn void die_h5(const inspector *in);
/* "cbd: error: FILE: " and the message; exit 2. */
_Noreturn void die_file(const inspector *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs an HDF5 call; a negative result ends the program with the message. */
#define TRY(in, call, ...)                             \
    do {                                               \
        if ((call) < 0) {                              \
            cbd_h5_error(&(in)->h5, __VA_ARGS__);      \
            die_h5(in);                                \
        }                                              \
    } while (0)

/* Closes an HDF5 id; a failure ends the program naming `what`. */
void close_id(inspector *in, hid_t id, const char *what);
/* in->err without its leading "FILE: ". */
const char *err_text(const inspector *in);
/* realloc that ends the program when memory runs out. */
void *grow(void *p, size_t bytes);
/* Size of the file in bytes; ends the program when it cannot be read. */
long long file_size(const inspector *in);

/* Defects found by --verify, one line each. */
typedef struct {
    char **items;
    int count, cap;
} defect_list;

void defect(defect_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void defects_free(defect_list *l);

/* ---- text output (format.c) ------------------------------------------------------- */

/* Shortest decimal text that reads back as the same double / float; plain
 * notation for magnitudes from 1e-4 to 1e15; "nan", "inf", "-inf". */
void format_double(char out[40], double v);
void format_float(char out[40], float v);
/* A string in double quotes with \" \\ \n \t and \xNN for other control bytes. */
void text_quote(cbd_text *b, const char *s);
/* "[2, 6, 4]" */
void text_shape(cbd_text *b, int ndim, const hsize_t *dims);
const char *yes_no(int64_t v);

/* ---- JSON (json.c) ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    int depth;
    int count[32]; /* items written at each depth */
    int flat[32];  /* items on one line */
    cbd_text scratch;
} json_out;

/* Objects and arrays: key NULL inside arrays; flat ones stay on one line. */
void jw_open(json_out *w, const char *key, int bracket, int flat);
void jw_object(json_out *w, const char *key);
void jw_end_object(json_out *w);
void jw_array(json_out *w, const char *key);
void jw_flat_array(json_out *w, const char *key);
void jw_end_array(json_out *w);
/* Values: v NULL writes null; floats as format_double / format_float, the
 * non-finite as "NaN", "Infinity" and "-Infinity". */
void jw_str(json_out *w, const char *key, const char *v);
void jw_null(json_out *w, const char *key);
void jw_bool(json_out *w, const char *key, int v);
void jw_i64(json_out *w, const char *key, int64_t v);
void jw_u64(json_out *w, const char *key, uint64_t v);
void jw_f64(json_out *w, const char *key, double v);
void jw_f32(json_out *w, const char *key, float v);
void jw_shape(json_out *w, const char *key, int ndim, const hsize_t *dims);
void jw_hex(json_out *w, const char *key, uint64_t v);
void jw_free(json_out *w);

/* ---- types (types.c) ---------------------------------------------------------------- */

/* "float32", "int64", "string", "string[12]", "compound {a: int32}", ... */
void type_words(inspector *in, hid_t type, cbd_text *b);
/* True for the IEEE binary16 layout (sign 15, exponent 10..14, mantissa 0..9, bias 15). */
int is_half_type(inspector *in, hid_t type);

/* ---- attributes (attributes.c) ---------------------------------------------------------- */

typedef struct attr_value attr_value;

/* Every attribute of obj, by name; *count of them. */
attr_value *read_attributes(inspector *in, hid_t obj, const char *label, int *count);
/* "name = value" (strings quoted, long arrays abbreviated, digests also in hex). */
void attr_text(const attr_value *list, int k, cbd_text *b);
/* The k-th attribute as a member of the current JSON object. */
void attr_json(json_out *w, const attr_value *list, int k);
void attributes_free(attr_value *list, int count);

/* ---- the objects of a file (objects.c) ------------------------------------------------------ */

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

/* The root group and every link below it, depth first, each group by name. */
void list_objects(inspector *in, obj_list *l);
void objects_free(obj_list *l);

/* ---- datasets (datasets.c) --------------------------------------------------------------- */

typedef struct {
    H5Z_filter_t id;
    char name[64];
    unsigned level; /* deflate */
} filter_info;

/* A dataset opened by the tree: everything the tree shows of it. */
typedef struct {
    int ndim; /* -1: null dataspace, 0: scalar */
    hsize_t dims[MAX_RANK];
    cbd_text dtype;
    H5D_layout_t layout;
    int chunk_ndim;
    hsize_t chunk[MAX_RANK];
    int nfilters;
    filter_info filters[16];
    hsize_t storage; /* bytes allocated in the file */
} dset_info;

void describe_dataset(inspector *in, hid_t dset, const char *path, dset_info *d);
/* "float32 [2, 6, 4], chunked [1, 6, 4], shuffle, deflate 4" */
void dataset_text(const dset_info *d, cbd_text *b);
void dataset_json(json_out *w, const dset_info *d);

/* A dataset looked up by name: whether it is there, its shape and type. */
typedef struct {
    int exists, is_dataset;
    int ndim;
    hsize_t dims[MAX_RANK];
    H5T_class_t cls;
    int half;
    size_t size;
    cbd_text words;
} ds_desc;

void describe(inspector *in, const char *name, ds_desc *d);
/* 1 for a dataset of exactly this shape. */
int desc_is(const ds_desc *d, int ndim, const hsize_t *dims);
void desc_free(ds_desc *d);
/* "[2, 6, 4]", "missing" or "not a dataset" for messages. */
const char *desc_shape(const ds_desc *d, char *out, size_t out_len);
/* Values in a dataset's shape (0 for a null dataspace). */
hsize_t element_count(int ndim, const hsize_t *dims);
/* A whole 1-D integer dataset of n values as int64. Returns 0 or -1 with in->err. */
int read_int64s(inspector *in, const char *name, hsize_t n, int64_t *out);

/* ---- root attributes of a store (metadata.c) ------------------------------------------------ */

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

/* One root attribute each; a missing or unreadable one is a defect in d
 * (NULL: not recorded). */
void meta_read_i64(inspector *in, const char *name, meta_i64 *m, defect_list *d);
void meta_read_u64(inspector *in, const char *name, meta_u64 *m, defect_list *d);
void meta_read_str(inspector *in, const char *name, meta_str *m, defect_list *d);
void meta_double(inspector *in, const char *name, double *v, int *ok);
/* The root 'format' attribute, or "" when there is none or it is not a string. */
void file_format(inspector *in, char *out, size_t out_len);

/* Summary lines "  label   value" (missing / unreadable said so). */
void print_i64_line(const char *label, const meta_i64 *m);
void print_flag_line(const char *label, const meta_i64 *m);
void print_hex_line(const char *label, const meta_u64 *m);
const char *meta_text(const meta_str *m);
/* JSON members: null when missing or unreadable. */
void jw_meta_i64(json_out *w, const char *key, const meta_i64 *m);
void jw_meta_flag(json_out *w, const char *key, const meta_i64 *m);
void jw_meta_hex(json_out *w, const char *key, const meta_u64 *m);
void jw_meta_str(json_out *w, const char *key, const meta_str *m);

/* ---- summaries (feature_store_summary.c, store_summaries.c) --------------------------------- */

void summary_feature_store(inspector *in, json_out *w);
void summary_checkpoint(inspector *in, const obj_list *objs, json_out *w);
void summary_image_store(inspector *in, json_out *w);

/* ---- a feature store's rows (feature_rows.c) ------------------------------------------------- */

/* A feature store opened with the library's row reader (store/feature_store.h). */
typedef struct {
    cbd_feature_rows *rows;
    const cbd_feature_store_spec *spec;
    int64_t *labels; /* [n], as stored */
} feature_rows;

/* Checks the format (option names --stats or --row in the refusal) and opens
 * the rows and labels; ends the program with the reader's message otherwise. */
void feature_rows_open(inspector *in, const char *option, feature_rows *f);
void feature_rows_close(feature_rows *f);
/* Rows [first, first + rows) of a view (CBD_FEATURE_WRITER_CENTER: the
 * center) of the features or (logits) the logits into out; ends the program
 * with the reader's message when they cannot be read. */
void feature_rows_read(feature_rows *f, int logits, int64_t view, int64_t first, int64_t rows, float *out);

typedef struct {
    uint64_t rows;        /* finite rows in the norm statistics */
    double sum, min, max; /* of the l2 norms of those rows */
    uint64_t nan, inf;    /* values */
} row_stats;

/* Called for every row: x [cols], finite (no NaN/Inf in it), its l2 norm. */
typedef void (*row_fn)(void *arg, int64_t row, const float *x, int cols, int finite, double norm);

/* Streams one view (or the center) of the features or the logits block by
 * block into st, calling fn (when not NULL) for each row. */
void scan_rows(feature_rows *f, int logits, int64_t view, row_stats *st, row_fn fn, void *arg);

/* ---- the commands ------------------------------------------------------------------------- */

int cmd_tree(inspector *in, json_out *w);
int cmd_stats(inspector *in, json_out *w);
int cmd_row(inspector *in, const char *row_text, const char *seed_text, json_out *w);
int cmd_verify(inspector *in, json_out *w);
/* Checkpoints and image stores (verify_stores.c); ok: the line for a clean file. */
void verify_checkpoint(inspector *in, const obj_list *objs, defect_list *d, cbd_text *ok);
void verify_image_store(inspector *in, defect_list *d, cbd_text *ok);

#endif
