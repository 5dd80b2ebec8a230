#include "store/torch_names.h"

#include <stdio.h>
#include <string.h>

/* "weight", "bias", "running_mean" or "running_var". */
static int is_bn_field(const char *s) {
    return strcmp(s, "weight") == 0 || strcmp(s, "bias") == 0 || strcmp(s, "running_mean") == 0 ||
           strcmp(s, "running_var") == 0;
}

/* The rest of a name after `prefix`, or NULL when it does not start so. */
static const char *after(const char *s, const char *prefix) {
    const size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* snprintf that reports truncation as -1. */
static int put(char *out, size_t out_len, const char *prefix, const char *a, const char *b) {
    int n = snprintf(out, out_len, "%s%s%s", prefix, a, b);
    return n >= 0 && (size_t)n < out_len ? 0 : -1;
}

/* A block's own part: "conv2/weight", "bn1/running_var", "shortcut/bn/bias". */
static int block_part(const char *part, const char *prefix, char *out, size_t out_len) {
    const char *rest;
    int k, used = 0;
    if ((rest = after(part, "shortcut/conv/")) && strcmp(rest, "weight") == 0)
        return put(out, out_len, prefix, "downsample.0.", rest);
    if ((rest = after(part, "shortcut/bn/")) && is_bn_field(rest))
        return put(out, out_len, prefix, "downsample.1.", rest);
    if (sscanf(part, "conv%d/%n", &k, &used) == 1 && used > 0 && k >= 1 && k <= 3 &&
        strcmp(part + used, "weight") == 0) {
        char conv[16];
        snprintf(conv, sizeof conv, "conv%d.", k);
        return put(out, out_len, prefix, conv, "weight");
    }
    if (sscanf(part, "bn%d/%n", &k, &used) == 1 && used > 0 && k >= 1 && k <= 3 && is_bn_field(part + used)) {
        char bn[16];
        snprintf(bn, sizeof bn, "bn%d.", k);
        return put(out, out_len, prefix, bn, part + used);
    }
    return -1;
}

int cbd_torch_name(const char *entry, cbd_head_kind head, char *out, size_t out_len) {
    const char *rest;
    int stage, block, used = 0;
    if (strcmp(entry, "stem/conv/weight") == 0) return put(out, out_len, "conv1.weight", "", "");
    if ((rest = after(entry, "stem/bn/")) && is_bn_field(rest)) return put(out, out_len, "bn1.", rest, "");
    if ((rest = after(entry, "projection/")) && (strcmp(rest, "weight") == 0 || strcmp(rest, "bias") == 0))
        return put(out, out_len, "projection.", rest, "");
    if ((rest = after(entry, "classifier/"))) {
        if (head == CBD_HEAD_LINEAR && (strcmp(rest, "weight") == 0 || strcmp(rest, "bias") == 0))
            return put(out, out_len, "fc.", rest, "");
        if (head == CBD_HEAD_COSINE && strcmp(rest, "weight") == 0)
            return put(out, out_len, "cosine.weight", "", "");
        return -1;
    }
    if (sscanf(entry, "stage%d/block%d/%n", &stage, &block, &used) == 2 && used > 0 && stage >= 1 &&
        block >= 1) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "layer%d.%d.", stage, block - 1);
        return block_part(entry + used, prefix, out, out_len);
    }
    return -1;
}
