#include "store/torch_export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers/batchnorm.h"
#include "nn/log.h"
#include "nn/resnet.h"
#include "store/digest.h"
#include "store/safetensors.h"
#include "store/torch_names.h"

#ifndef CBD_VERSION
#define CBD_VERSION "unknown"
#endif

#define NAME_MAX_LEN (CBD_PARAM_NAME_MAX + 32)
#define META_MAX 24
#define META_VALUE_MAX 96

/* The metadata strings, kept until the file is written. */
typedef struct {
    cbd_safetensors_meta items[META_MAX];
    char values[META_MAX][META_VALUE_MAX];
    int count;
} meta_list;

static void meta_add(meta_list *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void meta_add(meta_list *m, const char *key, const char *fmt, ...) {
    CBD_ASSERT(m->count < META_MAX, "too many metadata entries");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->values[m->count], META_VALUE_MAX, fmt, ap);
    va_end(ap);
    m->items[m->count].key = key;
    m->items[m->count].value = m->values[m->count];
    m->count++;
}

/* The shortest %g text that reads back as x (0.485f: "0.485", not "0.485000014"). */
static void format_float(char *out, size_t out_len, float x) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(out, out_len, "%.*g", digits, (double)x);
        if (strtof(out, NULL) == x) return;
    }
}

/* "[0.485,0.456,0.406]": n floats as a JSON array. */
static void format_floats(char *out, size_t out_len, const float *x, int n) {
    size_t used = (size_t)snprintf(out, out_len, "[");
    for (int k = 0; k < n && used < out_len; k++) {
        char one[32];
        format_float(one, sizeof one, x[k]);
        used += (size_t)snprintf(out + used, out_len - used, "%s%s", k ? "," : "", one);
    }
    if (used < out_len) snprintf(out + used, out_len - used, "]");
}

static void fill_meta(meta_list *m, const cbd_checkpoint_meta *meta, const cbd_resnet_arch *arch) {
    char hex[17];
    const char *head = meta->head == CBD_HEAD_LINEAR ? "linear" : "cosine";
    meta_add(m, "format", "pt");
    meta_add(m, "producer", "cbd-ckpt export (cbd %s) from a checkpoint written by cbd %s", CBD_VERSION,
             meta->program_version[0] ? meta->program_version : "unknown");
    meta_add(m, "arch", "%s", meta->arch);
    meta_add(m, "family", "%s", arch->family == CBD_RESNET_IMAGENET ? "imagenet" : "cifar");
    meta_add(m, "classes", "%d", meta->classes);
    meta_add(m, "in_channels", "%d", meta->in_channels);
    meta_add(m, "head", "%s", head);
    if (meta->head == CBD_HEAD_COSINE) {
        char scale[32];
        format_float(scale, sizeof scale, meta->cosine_scale);
        meta_add(m, "cosine_scale", "%s", scale);
    }
    meta_add(m, "projection_dim", "%d", meta->projection_dim);
    if (meta->projection_dim > 0) meta_add(m, "projection_relu", "%d", meta->projection_relu ? 1 : 0);
    meta_add(m, "epoch", "%" PRId64, meta->epoch);
    meta_add(m, "step", "%" PRId64, meta->step);
    meta_add(m, "seed", "%" PRIu64, meta->seed);
    cbd_digest_hex(meta->config_digest, hex);
    meta_add(m, "config_digest", "%s", hex);
    if (meta->params_digest) {
        cbd_digest_hex(meta->params_digest, hex);
        meta_add(m, "params_digest", "%s", hex);
    }
    if (meta->input_size > 0) {
        const int n = meta->in_channels < 3 ? meta->in_channels : 3;
        char list[META_VALUE_MAX];
        meta_add(m, "image_size", "%d", meta->input_size);
        format_floats(list, sizeof list, meta->input_mean, n);
        meta_add(m, "mean", "%s", list);
        format_floats(list, sizeof list, meta->input_std, n);
        meta_add(m, "std", "%s", list);
    }
    meta_add(m, "bn_eps", "%g", (double)CBD_BN_EPS);
}

int cbd_torch_export(const char *path, const cbd_params *p, const cbd_checkpoint_meta *meta, char *err,
                     size_t err_len) {
    const cbd_resnet_arch *arch = cbd_resnet_arch_find(meta->arch);
    if (!arch) {
        snprintf(err, err_len, "%s: cannot export unknown architecture '%s'", path, meta->arch);
        return CBD_TORCH_EXPORT_REFUSED;
    }
    /* each entry, a num_batches_tracked per batch norm, cosine.scale */
    const int capacity = 2 * p->count + 1;
    cbd_safetensors_tensor *t = cbd_calloc((size_t)capacity, sizeof *t);
    char (*names)[NAME_MAX_LEN] = cbd_calloc((size_t)capacity, sizeof *names);
    float *values = cbd_malloc(p->total * sizeof(float));
    p->be->ops.download(p->be, values, p->values, p->total * sizeof(float));
    const int64_t batches_tracked = meta->step > 0 ? meta->step : 0;
    const float scale = meta->cosine_scale;
    int n = 0, rc = 0;
    for (int i = 0; i < p->count && rc == 0; i++) {
        const cbd_param_entry *e = &p->entries[i];
        if (cbd_torch_name(e->name, meta->head, names[n], NAME_MAX_LEN) != 0) {
            snprintf(err, err_len, "%s: entry '%s' of the %s model has no PyTorch name", path, e->name, meta->arch);
            rc = CBD_TORCH_EXPORT_REFUSED;
            break;
        }
        t[n] = (cbd_safetensors_tensor){.name = names[n], .dtype = CBD_SAFETENSORS_F32, .ndim = e->ndim,
                                        .data = values + e->offset};
        for (int d = 0; d < e->ndim; d++) t[n].shape[d] = e->shape[d];
        n++;
        if (e->kind != CBD_BUFFER_RUNNING_VAR) continue;
        /* "layer1.0.bn1.running_var" -> "layer1.0.bn1.num_batches_tracked" */
        const size_t base = (size_t)(strrchr(names[n - 1], '.') - names[n - 1]);
        memcpy(names[n], names[n - 1], base);
        snprintf(names[n] + base, NAME_MAX_LEN - base, ".num_batches_tracked");
        t[n] = (cbd_safetensors_tensor){.name = names[n], .dtype = CBD_SAFETENSORS_I64, .ndim = 0,
                                        .data = &batches_tracked};
        n++;
    }
    if (rc == 0 && meta->head == CBD_HEAD_COSINE)
        t[n++] = (cbd_safetensors_tensor){.name = "cosine.scale", .dtype = CBD_SAFETENSORS_F32, .ndim = 0,
                                          .data = &scale};
    if (rc == 0) {
        meta_list m = {.count = 0};
        fill_meta(&m, meta, arch);
        rc = cbd_safetensors_write(path, t, n, m.items, m.count, err, err_len);
    }
    free(values);
    free(names);
    free(t);
    return rc;
}
