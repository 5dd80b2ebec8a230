/* The parameter table: every trainable tensor and every buffer (batch norm
 * running statistics) of a model, named by its path in the network
 * ("stage2/block1/conv1/weight"). Values live in one backend allocation carved
 * by the table; gradients and momentum mirror it. Saving, loading, zeroing
 * and the optimizer step are loops over this table. */
#ifndef CBD_PARAMS_H
#define CBD_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/backend.h"

typedef enum {
    CBD_PARAM_WEIGHT,       /* conv / linear weights: weight decay applies */
    CBD_PARAM_BIAS,         /* no decay unless configured */
    CBD_PARAM_BN_SCALE,     /* no decay unless configured */
    CBD_PARAM_BN_SHIFT,     /* no decay unless configured */
    CBD_BUFFER_RUNNING_MEAN, /* not trained */
    CBD_BUFFER_RUNNING_VAR  /* not trained */
} cbd_param_kind;

typedef enum {
    CBD_INIT_ZEROS,
    CBD_INIT_ONES,
    CBD_INIT_KAIMING_NORMAL,    /* N(0, 2 / fan_in) */
    CBD_INIT_GLOROT_UNIFORM,    /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    CBD_INIT_UNIFORM_FAN_IN     /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} cbd_init_kind;

#define CBD_PARAM_MAX_DIMS 4
#define CBD_PARAM_NAME_MAX 128

typedef struct {
    char name[CBD_PARAM_NAME_MAX];
    cbd_param_kind kind;
    cbd_init_kind init;
    int ndim;
    int shape[CBD_PARAM_MAX_DIMS];
    int fan_in, fan_out;
    size_t count;  /* elements */
    size_t offset; /* floats from the start of the allocation */
} cbd_param_entry;

typedef struct {
    cbd_backend *be;
    cbd_param_entry *entries;
    int count, capacity;
    size_t total; /* floats, including alignment padding */
    float *values, *grads, *momentum;
} cbd_params;

void cbd_params_init(cbd_params *p);
/* Registers a tensor; returns its index. Must come before cbd_params_allocate. */
int cbd_params_add(cbd_params *p, const char *name, cbd_param_kind kind, cbd_init_kind init,
                   int ndim, const int *shape, int fan_in, int fan_out);
/* Allocates values, gradients and momentum on the backend (gradients and
 * momentum zeroed). */
void cbd_params_allocate(cbd_params *p, cbd_backend *be);
/* Fills every entry from its init rule, seeded, independent of thread count. */
void cbd_params_initialize(cbd_params *p, uint64_t seed);
void cbd_params_zero_grads(cbd_params *p);
void cbd_params_free(cbd_params *p);

int cbd_params_find(const cbd_params *p, const char *name);
size_t cbd_params_trainable_count(const cbd_params *p);
int cbd_param_is_trainable(cbd_param_kind kind);
const char *cbd_param_kind_name(cbd_param_kind kind);

static inline float *cbd_param_value(const cbd_params *p, int i) {
    return p->values + p->entries[i].offset;
}
static inline float *cbd_param_grad(const cbd_params *p, int i) {
    return p->grads + p->entries[i].offset;
}
static inline float *cbd_param_momentum(const cbd_params *p, int i) {
    return p->momentum + p->entries[i].offset;
}

/* Joins a path prefix and a name with '/'. */
void cbd_path_join(char *out, size_t out_len, const char *prefix, const char *name);

#endif
