/* The feature store: one HDF5 file per teacher holding the teacher's feature
 * (and optionally its logits) for every stored view of every image, so that
 * the student distils without running the teachers.
 *
 *   /features       [S, N, d]  feature of view s of image i
 *   /center         [N, d]     feature of the un-augmented (center) view
 *   /logits         [S, N, C]  optional (attribute has_logits = 1)
 *   /center_logits  [N, C]     optional, with /logits
 *   /labels         [N] int32
 *   /done           [S] uint8  1 once view s is completely written and flushed
 *
 * Floating-point datasets are float16 or float32 on disk (attribute dtype),
 * always float32 in memory. They are chunked [1, R, width] (per view) or
 * [R, width], R rows making about 1 MiB, without filters: one view's slice
 * reads sequentially and a row is one contiguous piece of a chunk. float16 is
 * IEEE binary16, little-endian (h5py reads it as float16); the conversion is
 * store/half.h's, never HDF5's.
 *
 * Attributes of /: format "cbd-feature-store", format_version 1,
 * program_version, n, d, classes, views (int64), dtype ("float16" or
 * "float32"), has_logits (int64 0/1), manifest_digest (uint64: the dataset
 * the rows belong to), teacher (string), teacher_checkpoint_digest (uint64),
 * augmentation (string: the view settings), experiment_seed (uint64),
 * dump_digest (uint64: every setting and input that decided the content;
 * optional on read, 0 when absent), center_done and complete (int64 0/1).
 *
 * Writing is crash safe and resumable: the writer works on PATH.partial, all
 * of whose datasets are allocated when it is created, so later writes touch
 * raw data only and a killed writer leaves a valid file; a view counts once
 * it is flushed and its /done flag set. A resumed dump ends with the same
 * content as an uninterrupted one. PATH.partial is renamed to PATH once every
 * view and the center are done. */
#ifndef CBD_FEATURE_STORE_H
#define CBD_FEATURE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CBD_FEATURE_STORE_FORMAT "cbd-feature-store"
#define CBD_FEATURE_STORE_FORMAT_VERSION 1

/* The view number of the center (un-augmented) view in reads. */
#define CBD_FEATURE_CENTER UINT32_MAX
/* ... and in the writer's view arguments. */
#define CBD_FEATURE_WRITER_CENTER (-1)

typedef enum { CBD_STORE_FLOAT16, CBD_STORE_FLOAT32 } cbd_store_dtype;

/* "float16" / "float32"; parse returns 0, or -1 for another name. */
const char *cbd_store_dtype_name(cbd_store_dtype dtype);
int cbd_store_dtype_parse(const char *name, cbd_store_dtype *out);

typedef struct {
    int64_t n;            /* images */
    int d;                /* feature width */
    int classes;          /* C: labels in [0, C), logits width */
    int views;            /* S, stored augmented views per image */
    cbd_store_dtype dtype;
    int has_logits;
    uint64_t manifest_digest, teacher_checkpoint_digest, experiment_seed;
    uint64_t dump_digest; /* what decided the content (experiment/output_digest.h); 0: not recorded */
    char teacher[64];
    char augmentation[512];
} cbd_feature_store_spec;

/* ---- writing ------------------------------------------------------------------- */

typedef struct cbd_feature_writer cbd_feature_writer;

/* Why cbd_feature_writer_open failed, in *resumed (a count of done parts
 * otherwise). */
enum {
    CBD_FEATURE_OPEN_FAILED = -1,      /* bad spec, I/O error */
    CBD_FEATURE_PARTIAL_MISMATCH = -2, /* PATH.partial belongs to another dump: delete it to start over */
    CBD_FEATURE_PARTIAL_DAMAGED = -3   /* PATH.partial cannot be used: delete it to start over */
};

/* Creates PATH.partial, or reopens it to resume when it exists and holds the
 * same spec and labels ([spec->n] in [0, classes)). *resumed is the number
 * of views already done, plus 1 when the center is done (0 for a new file);
 * on failure NULL, a message naming the file (and, for a mismatch, the
 * attribute or label that differs), and a negative code in *resumed. */
cbd_feature_writer *cbd_feature_writer_open(const char *path, const cbd_feature_store_spec *spec,
                                            const int32_t *labels, int *resumed, char *err,
                                            size_t err_len);
const cbd_feature_store_spec *cbd_feature_writer_spec(const cbd_feature_writer *w);
/* 1 when view (0..S-1, or CBD_FEATURE_WRITER_CENTER) is done. */
int cbd_feature_writer_view_done(const cbd_feature_writer *w, int view);
/* Rows [first_row, first_row + rows) of a view that is not done yet:
 * features [rows, d]; logits [rows, C] when the store has logits, NULL
 * otherwise. Returns 0 or -1. */
int cbd_feature_writer_write(cbd_feature_writer *w, int view, int64_t first_row, int64_t rows,
                             const float *features, const float *logits, char *err, size_t err_len);
/* Declares a view completely written: flushes and syncs the data, then sets
 * its done flag (center_done for the center) and flushes again. */
int cbd_feature_writer_mark_done(cbd_feature_writer *w, int view, char *err, size_t err_len);
/* Refuses (-1, w still open) unless every view and the center are done;
 * otherwise sets complete = 1, closes and syncs the file, renames
 * PATH.partial to PATH and syncs the folder. Frees w on success only. */
int cbd_feature_writer_finish(cbd_feature_writer *w, char *err, size_t err_len);
/* Closes without finishing; PATH.partial stays for a later resume. */
void cbd_feature_writer_close(cbd_feature_writer *w);

/* ---- reading ------------------------------------------------------------------- */

typedef struct cbd_feature_store cbd_feature_store;

/* What the reader requires; 0 / NULL fields are not checked. */
typedef struct {
    int64_t n;
    int d, classes, views;
    const int32_t *labels; /* [n] (n from here, or the store's when 0) */
    uint64_t manifest_digest;
    /* the reader serves features only: logits are neither loaded nor counted
     * against the cap (a CBD student at 1,000 classes: a third less memory),
     * and a request for them is refused */
    int features_only;
} cbd_feature_store_expect;

/* Opens and checks a complete store; each refusal names the file and says
 * what is wrong (not HDF5, not a feature store, version, incomplete, digest,
 * labels, sizes). When everything the reader serves (features and center,
 * plus logits when present and not expect->features_only) takes at most memory_cap_bytes as float32, it is
 * loaded into memory at once and the file closed; otherwise rows are read
 * from the file on request, each touching only its own bytes (no chunk
 * cache; neighbouring rows of a request are read together). expect may be
 * NULL. */
cbd_feature_store *cbd_feature_store_open(const char *path, const cbd_feature_store_expect *expect,
                                          int64_t memory_cap_bytes, char *err, size_t err_len);
void cbd_feature_store_close(cbd_feature_store *fs);

const cbd_feature_store_spec *cbd_feature_store_spec_of(const cbd_feature_store *fs);
const int32_t *cbd_feature_store_labels(const cbd_feature_store *fs); /* [n] */
const char *cbd_feature_store_path(const cbd_feature_store *fs);
int cbd_feature_store_in_memory(const cbd_feature_store *fs);
/* Bytes of float32 the reader serves: the memory_cap_bytes needed to load it. */
int64_t cbd_feature_store_float_bytes(const cbd_feature_store_spec *spec);

/* Rows (images[j], views[j]) for j < count: features [count, d], and logits
 * [count, C] (NULL: not read; the store must have logits otherwise). A view
 * is 0..S-1 or CBD_FEATURE_CENTER. One thread at a time per store. Returns 0
 * or -1 with a message. */
int cbd_feature_store_read(cbd_feature_store *fs, const int64_t *images, const uint32_t *views,
                           int64_t count, float *features, float *logits, char *err, size_t err_len);

/* ---- checking ------------------------------------------------------------------ */

/* Called with each defect found, as one line without the "defect: " prefix. */
typedef void (*cbd_feature_defect_fn)(void *arg, const char *defect);

/* Checks a store without expectations, going on after each defect: the
 * format and every attribute (missing, unreadable or out of range), the
 * datasets' shapes and types against each other and the attributes (the
 * labels 4-byte integers, float parts float16 or float32 as the dtype says),
 * completeness (complete, center_done, the views not done), labels in range,
 * and every value of the views done finite (NaN and Inf counted per view).
 * Returns the number of defects: 0 for a clean store, and then summary
 * describes it ("complete feature store, 6 images x 2 views, d = 4, float32,
 * logits; labels in range, no NaN or Inf"). The one verifier: the stages'
 * reader refuses the same defects, h5inspect --verify prints them. */
int cbd_feature_store_verify(const char *path, cbd_feature_defect_fn defect, void *arg, char *summary,
                             size_t summary_len);

/* ---- rows as they are (tools) ------------------------------------------------------ */

typedef struct cbd_feature_rows cbd_feature_rows;

/* Opens a store to read rows whatever its state (a .partial, views not
 * done): its header must read and its parts have the shapes and types it
 * says; nothing else is checked. NULL with a message naming the file. */
cbd_feature_rows *cbd_feature_rows_open(const char *path, char *err, size_t err_len);
const cbd_feature_store_spec *cbd_feature_rows_spec(const cbd_feature_rows *r);
/* 1 when view (0..S-1, or CBD_FEATURE_WRITER_CENTER) is marked done. */
int cbd_feature_rows_view_done(const cbd_feature_rows *r, int64_t view);
/* Rows [first, first + rows) of a view (CBD_FEATURE_WRITER_CENTER: the
 * center) of the features or (logits = 1) the logits, as float32 into out
 * [rows, width]. Returns 0, or -1 with a message. */
int cbd_feature_rows_read(cbd_feature_rows *r, int logits, int64_t view, int64_t first, int64_t rows, float *out,
                          char *err, size_t err_len);
void cbd_feature_rows_close(cbd_feature_rows *r);

#endif
