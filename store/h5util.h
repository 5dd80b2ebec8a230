/* Small HDF5 helpers shared by the stores.
 *
 * Every HDF5 call is checked. HDF5's automatic error-stack printing is turned
 * off; a failed call instead writes one message into the caller's buffer that
 * names the file, the object (dataset, attribute) and what failed, followed by
 * HDF5's innermost reason in parentheses:
 *
 *     runs/a.ckpt.h5: cannot read dataset 'stage1/block1/conv1/weight' (...)
 *
 * Object names are paths relative to the location passed (the file's root
 * group in practice), without a leading '/'. */
#ifndef CBD_H5UTIL_H
#define CBD_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Where messages go, and what the last failed HDF5 call said. */
typedef struct {
    const char *path;  /* the file, first word of every message */
    char *err;
    size_t err_len;
    char detail[256];  /* innermost HDF5 error of the last failed call */
} cbd_h5_ctx;

/* Once per process, before any other HDF5 call (cbd_h5_ctx_init calls it):
 * no error-stack printing, no library clean-up at exit. */
void cbd_h5_library_init(void);
/* Prepares a context for `path` and silences HDF5's error printing. */
void cbd_h5_ctx_init(cbd_h5_ctx *c, const char *path, char *err, size_t err_len);

/* After a failed HDF5 call: "<path>: <message> (<innermost HDF5 error>)". */
void cbd_h5_error(cbd_h5_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure found by our own checks: "<path>: <message>". */
void cbd_h5_fail(cbd_h5_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs an HDF5 call (hid_t, herr_t or htri_t); when it returns a negative
 * value, writes the message and jumps to the enclosing function's `cleanup`
 * label. */
#define CBD_H5_CHECK(ctx, call, ...)            \
    do {                                        \
        if ((call) < 0) {                       \
            cbd_h5_error((ctx), __VA_ARGS__);   \
            goto cleanup;                       \
        }                                       \
    } while (0)

/* Closes any HDF5 identifier (file, group, dataset, dataspace, datatype,
 * attribute, property list); ignores negative ids. Returns the close status. */
herr_t cbd_h5_close(hid_t id);
/* Closes id in a cleanup path: returns rc, or -1 with a message (when rc was
 * 0) if the close fails. Usage: `rc = cbd_h5_close_checked(c, dset, rc, name);` */
int cbd_h5_close_checked(cbd_h5_ctx *c, hid_t id, int rc, const char *name);

/* Opens an existing file read-only. Says whether the file is missing or
 * unreadable, not an HDF5 file, or "truncated or corrupt". Returns -1 on
 * failure. */
hid_t cbd_h5_open_read(cbd_h5_ctx *c);
/* Creates (truncates) file `file_path` for writing; messages still name c->path. */
hid_t cbd_h5_create(cbd_h5_ctx *c, const char *file_path);

/* 1 when every component of `path` exists under loc, 0 when one is missing,
 * -1 on error. */
int cbd_h5_exists(cbd_h5_ctx *c, hid_t loc, const char *path);

/* Attributes of object `obj` under loc ("." for loc itself). Return 0 or -1.
 * Readers fail with "missing attribute" when it is absent and require one
 * value; strings may be fixed-length or variable-length. */
int cbd_h5_attr_write_string(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             const char *value);
int cbd_h5_attr_write_int64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            int64_t value);
int cbd_h5_attr_write_uint64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             uint64_t value);
int cbd_h5_attr_write_double(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                             double value);
/* n doubles as a 1-D attribute; the reader requires exactly n values. */
int cbd_h5_attr_write_doubles(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name, const double *values,
                              int n);
int cbd_h5_attr_read_doubles(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name, double *out, int n);
/* 1 when the attribute exists, 0 when not, -1 on error. */
int cbd_h5_attr_exists(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name);
int cbd_h5_attr_read_string(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            char *out, size_t out_len);
int cbd_h5_attr_read_int64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                           int64_t *out);
int cbd_h5_attr_read_uint64(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            uint64_t *out);
int cbd_h5_attr_read_double(cbd_h5_ctx *c, hid_t loc, const char *obj, const char *name,
                            double *out);

/* Creates dataset `path` (intermediate groups included) as little-endian
 * float32 of shape dims, chunked as one chunk with the Fletcher32 checksum,
 * and writes `data` (host floats). Returns 0 or -1. */
int cbd_h5_write_f32(cbd_h5_ctx *c, hid_t loc, const char *path, int ndim, const hsize_t *dims,
                     const float *data);

/* Text as dataset `path` (intermediate groups included): one fixed-length,
 * NUL-terminated ASCII string that h5py reads as bytes. Returns 0 or -1. */
int cbd_h5_write_text(cbd_h5_ctx *c, hid_t loc, const char *path, const char *text);
/* Reads a string dataset written so (or any scalar string dataset) into a
 * malloc'd, NUL-terminated *text. Returns 0 or -1. */
int cbd_h5_read_text(cbd_h5_ctx *c, hid_t loc, const char *path, char **text);

/* Shape of dataset `path`: up to max_dims dimensions. Returns 0 or -1. */
int cbd_h5_dataset_shape(cbd_h5_ctx *c, hid_t loc, const char *path, int max_dims, int *ndim,
                         hsize_t *dims);

/* Reads dataset `path` into `out` (host floats) after checking that it holds
 * floating-point values of exactly the shape `dims` (and, when chunked, in
 * one chunk of that shape whose stored length matches it). A checksum failure
 * says "data checksum failure". Returns 0 or -1. */
int cbd_h5_read_f32(cbd_h5_ctx *c, hid_t loc, const char *path, int ndim, const hsize_t *dims,
                    float *out);

/* Calls fn(name, arg) for every dataset below loc, depth first, in name
 * order. fn returns 0 to go on, or -1 to stop after writing its own message.
 * Returns 0 or -1. */
typedef int (*cbd_h5_dataset_fn)(const char *name, void *arg);
int cbd_h5_for_each_dataset(cbd_h5_ctx *c, hid_t loc, cbd_h5_dataset_fn fn, void *arg);

/* "[16, 3, 3, 3]" into out. */
void cbd_h5_format_shape(char *out, size_t out_len, int ndim, const hsize_t *dims);

/* Checks the root attributes `format` (= format) and `format_version`
 * (= version). Refusals read "not a cbd WHAT (...)" and "WHAT format version
 * N is not supported (this program reads version V)", then ": HINT" when a
 * hint is given. Returns 0 or -1. */
int cbd_h5_check_format(cbd_h5_ctx *c, hid_t file, const char *format, const char *what, int64_t version,
                        const char *hint);

/* Opens dataset `name` after checking that it exists and holds values of
 * type_class (of `size` bytes when size > 0) in exactly the shape dims (the
 * shape the file's attributes imply). Returns the dataset or -1. */
hid_t cbd_h5_open_checked(cbd_h5_ctx *c, hid_t file, const char *name, H5T_class_t type_class, size_t size,
                          int ndim, const hsize_t *dims, hid_t dapl);

#endif
