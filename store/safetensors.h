/* A safetensors file writer (https://github.com/huggingface/safetensors):
 *
 *   8 bytes   N, the header's length, unsigned little-endian
 *   N bytes   the header, JSON: {"NAME": {"dtype": "F32", "shape": [..],
 *             "data_offsets": [BEGIN, END]}, ..., "__metadata__": {KEY: VALUE}}
 *             with string values only, padded with spaces so that 8 + N is a
 *             multiple of 8
 *   the data  every tensor's elements, row-major, little-endian, one after the
 *             other in the order given (offsets count from the end of the
 *             header; each tensor begins where the one before it ends)
 *
 * The tensors are written in the order given, and their header entries in that
 * order too, then "__metadata__" (its keys in the order given). */
#ifndef CBD_SAFETENSORS_H
#define CBD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define CBD_SAFETENSORS_MAX_DIMS 4

typedef enum { CBD_SAFETENSORS_F32, CBD_SAFETENSORS_I64 } cbd_safetensors_dtype;

typedef struct {
    const char *name;
    cbd_safetensors_dtype dtype;
    int ndim; /* 0: a scalar (one element, shape []) */
    int64_t shape[CBD_SAFETENSORS_MAX_DIMS];
    const void *data; /* host memory, the host's byte order: float or int64_t elements */
} cbd_safetensors_tensor;

typedef struct {
    const char *key, *value;
} cbd_safetensors_meta;

/* "F32" or "I64". */
const char *cbd_safetensors_dtype_name(cbd_safetensors_dtype dtype);
/* Bytes of one element: 4 or 8. */
size_t cbd_safetensors_dtype_bytes(cbd_safetensors_dtype dtype);
/* Elements of a tensor (1 for a scalar). */
int64_t cbd_safetensors_count(const cbd_safetensors_tensor *t);

/* Writes the tensors and the metadata to `path` atomically (a temporary file,
 * fsynced and renamed: store/fsutil.h). Refuses an empty or repeated name, a
 * negative dimension, more than CBD_SAFETENSORS_MAX_DIMS dimensions and the
 * reserved name "__metadata__". Returns 0, or -1 with a message naming the
 * file (or the tensor) in err. */
int cbd_safetensors_write(const char *path, const cbd_safetensors_tensor *tensors, int count,
                          const cbd_safetensors_meta *meta, int meta_count, char *err, size_t err_len);

#endif
