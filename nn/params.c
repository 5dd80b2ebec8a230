#include "nn/params.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "nn/log.h"
#include "nn/rng.h"
#include "nn/tensor.h"

void cbd_params_init(cbd_params *p) { memset(p, 0, sizeof *p); }

int cbd_params_add(cbd_params *p, const char *name, cbd_param_kind kind, cbd_init_kind init,
                   int ndim, const int *shape, int fan_in, int fan_out) {
    CBD_ASSERT(p->values == NULL, "parameter '%s' added after allocation", name);
    CBD_ASSERT(ndim >= 1 && ndim <= CBD_PARAM_MAX_DIMS, "parameter '%s' has %d dims", name, ndim);
    CBD_ASSERT(strlen(name) < CBD_PARAM_NAME_MAX, "parameter name too long: %s", name);
    CBD_ASSERT(cbd_params_find(p, name) < 0, "parameter '%s' registered twice", name);
    if (p->count == p->capacity) {
        int cap = p->capacity ? 2 * p->capacity : 64;
        cbd_param_entry *grown = cbd_calloc((size_t)cap, sizeof *grown);
        if (p->entries) memcpy(grown, p->entries, (size_t)p->count * sizeof *grown);
        free(p->entries);
        p->entries = grown;
        p->capacity = cap;
    }
    cbd_param_entry *e = &p->entries[p->count];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->kind = kind;
    e->init = init;
    e->ndim = ndim;
    e->count = 1;
    for (int d = 0; d < ndim; d++) {
        CBD_ASSERT(shape[d] > 0, "parameter '%s' dim %d is %d", name, d, shape[d]);
        e->shape[d] = shape[d];
        e->count *= (size_t)shape[d];
    }
    e->fan_in = fan_in;
    e->fan_out = fan_out;
    e->offset = p->total;
    p->total += cbd_arena_round(e->count);
    return p->count++;
}

void cbd_params_allocate(cbd_params *p, cbd_backend *be) {
    CBD_ASSERT(p->values == NULL, "parameters allocated twice");
    p->be = be;
    size_t bytes = (p->total ? p->total : 1) * sizeof(float);
    p->values = be->ops.alloc(be, bytes);
    p->grads = be->ops.alloc(be, bytes);
    p->momentum = be->ops.alloc(be, bytes);
    be->ops.fill(be, p->values, p->total, 0.0f);
    be->ops.fill(be, p->grads, p->total, 0.0f);
    be->ops.fill(be, p->momentum, p->total, 0.0f);
}

void cbd_params_initialize(cbd_params *p, uint64_t seed) {
    CBD_ASSERT(p->values != NULL, "parameters initialised before allocation");
    for (int i = 0; i < p->count; i++) {
        const cbd_param_entry *e = &p->entries[i];
        float *host = cbd_malloc(e->count * sizeof(float));
        double fan_in = e->fan_in > 0 ? e->fan_in : 1;
        double fan_out = e->fan_out > 0 ? e->fan_out : 1;
        for (size_t k = 0; k < e->count; k++) {
            switch (e->init) {
            case CBD_INIT_ZEROS: host[k] = 0.0f; break;
            case CBD_INIT_ONES: host[k] = 1.0f; break;
            case CBD_INIT_KAIMING_NORMAL:
                host[k] = (float)(sqrt(2.0 / fan_in) *
                                  cbd_rng_normal(seed, CBD_RNG_STREAM_INIT, k, (uint32_t)i));
                break;
            case CBD_INIT_GLOROT_UNIFORM: {
                double a = sqrt(6.0 / (fan_in + fan_out));
                double u = cbd_rng_uniform(seed, CBD_RNG_STREAM_INIT, k, (uint32_t)i);
                host[k] = (float)((2.0 * u - 1.0) * a);
                break;
            }
            case CBD_INIT_UNIFORM_FAN_IN: {
                double a = 1.0 / sqrt(fan_in);
                double u = cbd_rng_uniform(seed, CBD_RNG_STREAM_INIT, k, (uint32_t)i);
                host[k] = (float)((2.0 * u - 1.0) * a);
                break;
            }
            }
        }
        p->be->ops.upload(p->be, cbd_param_value(p, i), host, e->count * sizeof(float));
        free(host);
    }
    p->be->ops.fill(p->be, p->momentum, p->total, 0.0f);
    cbd_params_zero_grads(p);
}

void cbd_params_zero_grads(cbd_params *p) { p->be->ops.fill(p->be, p->grads, p->total, 0.0f); }

void cbd_params_free(cbd_params *p) {
    if (p->values) {
        p->be->ops.release(p->be, p->values);
        p->be->ops.release(p->be, p->grads);
        p->be->ops.release(p->be, p->momentum);
    }
    free(p->entries);
    memset(p, 0, sizeof *p);
}

int cbd_params_find(const cbd_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->entries[i].name, name) == 0) return i;
    return -1;
}

int cbd_param_is_trainable(cbd_param_kind kind) {
    return kind != CBD_BUFFER_RUNNING_MEAN && kind != CBD_BUFFER_RUNNING_VAR;
}

size_t cbd_params_trainable_count(const cbd_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->count; i++)
        if (cbd_param_is_trainable(p->entries[i].kind)) n += p->entries[i].count;
    return n;
}

const char *cbd_param_kind_name(cbd_param_kind kind) {
    switch (kind) {
    case CBD_PARAM_WEIGHT: return "weight";
    case CBD_PARAM_BIAS: return "bias";
    case CBD_PARAM_BN_SCALE: return "bn_scale";
    case CBD_PARAM_BN_SHIFT: return "bn_shift";
    case CBD_BUFFER_RUNNING_MEAN: return "running_mean";
    case CBD_BUFFER_RUNNING_VAR: return "running_var";
    }
    return "?";
}

void cbd_path_join(char *out, size_t out_len, const char *prefix, const char *name) {
    int n = (prefix && *prefix) ? snprintf(out, out_len, "%s/%s", prefix, name)
                                : snprintf(out, out_len, "%s", name);
    CBD_ASSERT(n >= 0 && (size_t)n < out_len, "path too long: %s/%s", prefix, name);
}
