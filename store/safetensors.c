#include "store/safetensors.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/fsutil.h"
#include "store/text.h"

#define METADATA_KEY "__metadata__"

const char *cbd_safetensors_dtype_name(cbd_safetensors_dtype dtype) {
    return dtype == CBD_SAFETENSORS_I64 ? "I64" : "F32";
}

size_t cbd_safetensors_dtype_bytes(cbd_safetensors_dtype dtype) {
    return dtype == CBD_SAFETENSORS_I64 ? 8 : 4;
}

int64_t cbd_safetensors_count(const cbd_safetensors_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Copies n elements of `size` bytes, reversing each element's bytes on a
 * big-endian host. */
static void copy_little_endian(unsigned char *dst, const void *src, size_t n, size_t size) {
    if (n == 0) return;
    memcpy(dst, src, n * size);
    if (host_is_little_endian()) return;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = dst[i * size + a];
            dst[i * size + a] = dst[i * size + b];
            dst[i * size + b] = t;
        }
}

static int check_tensors(const char *path, const cbd_safetensors_tensor *t, int count, char *err,
                         size_t err_len) {
    for (int i = 0; i < count; i++) {
        if (!t[i].name || !t[i].name[0] || strcmp(t[i].name, METADATA_KEY) == 0) {
            snprintf(err, err_len, "%s: tensor %d has no name or the reserved name '%s'", path, i,
                     t[i].name ? t[i].name : "");
            return -1;
        }
        if (t[i].ndim < 0 || t[i].ndim > CBD_SAFETENSORS_MAX_DIMS) {
            snprintf(err, err_len, "%s: tensor '%s' has %d dimensions (0 to %d allowed)", path, t[i].name,
                     t[i].ndim, CBD_SAFETENSORS_MAX_DIMS);
            return -1;
        }
        for (int d = 0; d < t[i].ndim; d++)
            if (t[i].shape[d] < 0) {
                snprintf(err, err_len, "%s: tensor '%s' has a negative dimension", path, t[i].name);
                return -1;
            }
        for (int j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0) {
                snprintf(err, err_len, "%s: tensor name '%s' given twice", path, t[i].name);
                return -1;
            }
    }
    return 0;
}

/* The JSON header, unpadded; returns the data's total bytes. */
static size_t write_header(cbd_text *h, const cbd_safetensors_tensor *t, int count,
                           const cbd_safetensors_meta *meta, int meta_count) {
    size_t offset = 0;
    cbd_text_printf(h, "{");
    for (int i = 0; i < count; i++) {
        const size_t bytes = (size_t)cbd_safetensors_count(&t[i]) * cbd_safetensors_dtype_bytes(t[i].dtype);
        cbd_text_printf(h, "%s", i ? "," : "");
        cbd_text_json_string(h, t[i].name);
        cbd_text_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", cbd_safetensors_dtype_name(t[i].dtype));
        for (int d = 0; d < t[i].ndim; d++) cbd_text_printf(h, "%s%" PRId64, d ? "," : "", t[i].shape[d]);
        cbd_text_printf(h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    if (meta_count > 0) {
        cbd_text_printf(h, "%s\"" METADATA_KEY "\":{", count ? "," : "");
        for (int k = 0; k < meta_count; k++) {
            cbd_text_printf(h, "%s", k ? "," : "");
            cbd_text_json_string(h, meta[k].key);
            cbd_text_printf(h, ":");
            cbd_text_json_string(h, meta[k].value);
        }
        cbd_text_printf(h, "}");
    }
    cbd_text_printf(h, "}");
    return offset;
}

int cbd_safetensors_write(const char *path, const cbd_safetensors_tensor *tensors, int count,
                          const cbd_safetensors_meta *meta, int meta_count, char *err, size_t err_len) {
    if (check_tensors(path, tensors, count, err, err_len) != 0) return -1;
    cbd_text header = {0};
    const size_t data_bytes = write_header(&header, tensors, count, meta, meta_count);
    /* spaces after the JSON make the data start at a multiple of 8 */
    const size_t header_len = (header.len + 7) / 8 * 8;
    const size_t total = 8 + header_len + data_bytes;
    unsigned char *file = malloc(total);
    if (!file) {
        cbd_text_free(&header);
        snprintf(err, err_len, "%s: out of memory for %zu bytes", path, total);
        return -1;
    }
    const uint64_t n = header_len;
    for (int b = 0; b < 8; b++) file[b] = (unsigned char)(n >> (8 * b));
    memcpy(file + 8, header.p, header.len);
    memset(file + 8 + header.len, ' ', header_len - header.len);
    cbd_text_free(&header);
    unsigned char *at = file + 8 + header_len;
    for (int i = 0; i < count; i++) {
        const size_t elements = (size_t)cbd_safetensors_count(&tensors[i]);
        const size_t size = cbd_safetensors_dtype_bytes(tensors[i].dtype);
        copy_little_endian(at, tensors[i].data, elements, size);
        at += elements * size;
    }
    char why[1024];
    int rc = cbd_write_file_atomic(path, file, total, why, sizeof why);
    free(file);
    if (rc != 0) snprintf(err, err_len, "%s: %s", path, why);
    return rc;
}
