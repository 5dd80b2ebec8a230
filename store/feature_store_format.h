/* The feature store's format (the layout is described in store/
 * feature_store.h): its datasets ("parts"), their shapes, chunks and types,
 * the attributes of the header, the labels and done flags, and reading rows
 * as float32 (float16 converted by store/half.h, never by HDF5). One module
 * for every program that touches a store: the writer (feature_store_writer.c),
 * the reader (feature_store_reader.c), the verifier (feature_store_verify.c,
 * which h5inspect --verify and the fuzzer use) and tools that read rows as
 * they are (cbd_feature_rows in store/feature_store.h).
 *
 * Private to store/feature_store_*.c. */
#ifndef CBD_FEATURE_STORE_FORMAT_H
#define CBD_FEATURE_STORE_FORMAT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "store/feature_store.h"
#include "store/h5util.h"

#define CHUNK_TARGET_BYTES (1 << 20)
#define MAX_VIEWS 65536
#define MAX_WIDTH (1 << 24)
/* Rows read on request: neighbours this close are read in one piece. */
#define MERGE_GAP_BYTES 4096

/* ---- the datasets ------------------------------------------------------------------ */

typedef enum { PART_FEATURES, PART_CENTER, PART_LOGITS, PART_CENTER_LOGITS, PART_COUNT } fs_part;

extern const char *const fs_part_names[PART_COUNT]; /* "features", "center", "logits", "center_logits" */

int fs_part_per_view(fs_part p); /* [S, N, width] rather than [N, width] */
int fs_part_is_logits(fs_part p);
int fs_part_present(const cbd_feature_store_spec *s, fs_part p);
int fs_part_width(const cbd_feature_store_spec *s, fs_part p);
/* The part holding view v (0..S-1, or S for the center) of the features or the logits. */
fs_part fs_part_of_view(int logits, int64_t v, int views);
size_t fs_dtype_size(cbd_store_dtype t);
/* Rows of one chunk: about 1 MiB, at least 1, at most n. */
int64_t fs_chunk_rows(const cbd_feature_store_spec *s, fs_part p);
/* Shape and chunk shape of a part; returns the rank. */
int fs_part_dims(const cbd_feature_store_spec *s, fs_part p, hsize_t *dims, hsize_t *chunk);
/* Rows per read while loading or scanning a view: whole chunks, about 8 MiB. */
int64_t fs_block_rows(const cbd_feature_store_spec *s, fs_part p);

/* IEEE binary16, little-endian: HDF5 1.10 has no predefined one. */
hid_t fs_half_type(cbd_h5_ctx *c);
/* The type values have on disk and, since conversion is ours, in memory. */
hid_t fs_value_type(cbd_store_dtype dtype, hid_t half);
/* Dataset access properties without a chunk cache (every read goes straight to its bytes). */
hid_t fs_access_props(cbd_h5_ctx *c, const char *name);
/* Opens a floating-point part, checking its shape and type against the spec. */
hid_t fs_open_part(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, fs_part p, hid_t half);
/* Selects rows [first, first + rows) of view v (ignored for a center part). */
int fs_select_rows(cbd_h5_ctx *c, hid_t space, fs_part p, int64_t v, int64_t first, int64_t rows, int width);
/* A memory dataspace of the selection's shape. */
hid_t fs_rows_space(cbd_h5_ctx *c, fs_part p, int64_t rows, int width);

/* ---- the header and the small datasets ---------------------------------------------- */

typedef struct {
    cbd_feature_store_spec spec;
    int64_t center_done, complete;
} fs_header;

/* The format check, then every attribute (dump_digest optional). */
int fs_read_header(cbd_h5_ctx *c, hid_t file, fs_header *h);
/* Every attribute but 'format', with center_done and complete 0. */
int fs_write_header(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s);
/* Overwrites the value of an existing int64 attribute of /. */
int fs_update_int64(cbd_h5_ctx *c, hid_t file, const char *name, int64_t value);
/* 1 (and which attribute, in out) when a store's spec differs from the one wanted. */
int fs_spec_difference(const cbd_feature_store_spec *have, const cbd_feature_store_spec *want, char *out,
                       size_t out_len);
/* /labels ([n] 4-byte integers, each in [0, classes)); NULL on failure. */
int32_t *fs_read_labels(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s);
/* /done ([views] of 0/1). */
int fs_read_done(cbd_h5_ctx *c, hid_t file, const cbd_feature_store_spec *s, uint8_t *done);
int fs_count_done(const uint8_t *done, int views);
int fs_ends_with(const char *s, const char *suffix);
/* A .partial name, complete = 0, views or the center not done: refused. */
int fs_check_complete(cbd_h5_ctx *c, const fs_header *h, const uint8_t *done);

/* ---- rows ------------------------------------------------------------------------------ */

/* A store's parts opened for reading rows. */
typedef struct {
    cbd_feature_store_spec spec;
    hid_t file, half, dsets[PART_COUNT], spaces[PART_COUNT];
    unsigned char *raw; /* one span of rows as stored */
    size_t raw_len;
} fs_rows;

void fs_rows_init(fs_rows *r);
/* Opens every present part of r->file (r->spec and r->half set). */
int fs_rows_open(cbd_h5_ctx *c, fs_rows *r);
void fs_rows_close_file(fs_rows *r);
void fs_rows_free(fs_rows *r);
void fs_grow_raw(fs_rows *r, size_t bytes);
/* Rows [first, first + rows) of view v of part p, as stored, into out. */
int fs_read_span(cbd_h5_ctx *c, fs_rows *r, fs_part p, int64_t v, int64_t first, int64_t rows, void *out);
/* The same, converted to float32. */
int fs_read_rows(cbd_h5_ctx *c, fs_rows *r, fs_part p, int64_t v, int64_t first, int64_t rows, float *out);
/* Converts `count` stored values into float32. */
void fs_to_float(cbd_store_dtype dtype, const void *in, float *out, size_t count);
/* A row with NaN or Inf, and the refusal that names it. */
int fs_finite_row(const float *x, int width);
int fs_fail_not_finite(cbd_h5_ctx *c, fs_part p, int64_t v, int64_t row);

#endif
