#include "views/sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "nn/rng.h"

#define MAX_EPOCH_LENGTH ((int64_t)UINT32_MAX)

const char *cbd_sampling_kind_name(cbd_sampling_kind kind) {
    switch (kind) {
    case CBD_SAMPLING_INSTANCE: return "instance";
    case CBD_SAMPLING_CLASS_BALANCED: return "class_balanced";
    case CBD_SAMPLING_SQRT: return "sqrt";
    }
    return "unknown";
}

/* The 64-bit number of block words 0 and 1, and of words 2 and 3. */
static inline uint64_t words01(cbd_philox_block b) { return (uint64_t)b.v[0] << 32 | b.v[1]; }
static inline uint64_t words23(cbd_philox_block b) { return (uint64_t)b.v[2] << 32 | b.v[3]; }

int cbd_sampler_init(cbd_sampler *s, cbd_sampling_kind kind, const int32_t *labels, int64_t n,
                     int classes, uint64_t seed, char *err, size_t err_len) {
    memset(s, 0, sizeof *s);
    if (kind != CBD_SAMPLING_INSTANCE && kind != CBD_SAMPLING_CLASS_BALANCED && kind != CBD_SAMPLING_SQRT) {
        snprintf(err, err_len, "unknown sampling kind %d", (int)kind);
        return -1;
    }
    if (n <= 0) {
        snprintf(err, err_len, "no images to sample from");
        return -1;
    }
    if (n > MAX_EPOCH_LENGTH) {
        snprintf(err, err_len, "%lld images: the sampler handles at most %lld", (long long)n,
                 (long long)MAX_EPOCH_LENGTH);
        return -1;
    }
    if (classes <= 0) {
        snprintf(err, err_len, "%d classes: need at least one", classes);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes) {
            snprintf(err, err_len, "image %lld has label %d, outside 0..%d", (long long)i, (int)labels[i],
                     classes - 1);
            return -1;
        }
    s->kind = kind;
    s->n = n;
    s->classes = classes;
    s->seed = seed;
    s->epoch_length = n;

    /* counting sort of the images by class, stable */
    s->class_start = cbd_calloc((size_t)classes + 1, sizeof *s->class_start);
    s->members = cbd_malloc((size_t)n * sizeof *s->members);
    for (int64_t i = 0; i < n; i++) s->class_start[labels[i] + 1]++;
    for (int c = 0; c < classes; c++) s->class_start[c + 1] += s->class_start[c];
    int64_t *fill = cbd_malloc((size_t)classes * sizeof *fill);
    memcpy(fill, s->class_start, (size_t)classes * sizeof *fill);
    for (int64_t i = 0; i < n; i++) s->members[fill[labels[i]]++] = i;
    free(fill);

    for (int c = 0; c < classes; c++)
        if (s->class_start[c + 1] > s->class_start[c]) s->nonempty++;
    s->drawn_class = cbd_malloc((size_t)s->nonempty * sizeof *s->drawn_class);
    s->threshold = cbd_malloc((size_t)s->nonempty * sizeof *s->threshold);
    int k = 0;
    for (int c = 0; c < classes; c++)
        if (s->class_start[c + 1] > s->class_start[c]) s->drawn_class[k++] = c;

    /* sqrt: cumulative weights in a fixed order, scaled to 2^63; the last
     * threshold is exactly 2^63 so every 63-bit draw lands in a class */
    double total = 0.0;
    for (k = 0; k < s->nonempty; k++) {
        const int c = s->drawn_class[k];
        total += sqrt((double)(s->class_start[c + 1] - s->class_start[c]));
    }
    double cum = 0.0;
    for (k = 0; k < s->nonempty; k++) {
        const int c = s->drawn_class[k];
        cum += sqrt((double)(s->class_start[c + 1] - s->class_start[c]));
        double t = cum / total * 9223372036854775808.0;
        s->threshold[k] = t >= 9223372036854775808.0 ? (uint64_t)1 << 63 : (uint64_t)t;
    }
    s->threshold[s->nonempty - 1] = (uint64_t)1 << 63;
    return 0;
}

void cbd_sampler_free(cbd_sampler *s) {
    free(s->class_start);
    free(s->members);
    free(s->drawn_class);
    free(s->threshold);
    memset(s, 0, sizeof *s);
}

int cbd_sampler_set_epoch_length(cbd_sampler *s, int64_t length) {
    if (s->kind == CBD_SAMPLING_INSTANCE || length < 1 || length > MAX_EPOCH_LENGTH) return -1;
    s->epoch_length = length;
    return 0;
}

int64_t cbd_sampler_epoch_length(const cbd_sampler *s) { return s->epoch_length; }

int64_t cbd_sampler_class_count(const cbd_sampler *s, int c) {
    if (c < 0 || c >= s->classes) return 0;
    return s->class_start[c + 1] - s->class_start[c];
}

double cbd_sampler_class_probability(const cbd_sampler *s, int c) {
    const int64_t nc = cbd_sampler_class_count(s, c);
    if (nc == 0) return 0.0;
    switch (s->kind) {
    case CBD_SAMPLING_INSTANCE: return (double)nc / (double)s->n;
    case CBD_SAMPLING_CLASS_BALANCED: return 1.0 / s->nonempty;
    case CBD_SAMPLING_SQRT: {
        double total = 0.0;
        for (int k = 0; k < s->nonempty; k++) total += sqrt((double)cbd_sampler_class_count(s, s->drawn_class[k]));
        return sqrt((double)nc) / total;
    }
    }
    return 0.0;
}

/* Index into drawn_class of the first threshold above r (r < 2^63). */
static int sqrt_class(const cbd_sampler *s, uint64_t r) {
    int lo = 0, hi = s->nonempty - 1;
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (r < s->threshold[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void cbd_sampler_epoch(const cbd_sampler *s, int64_t epoch, int64_t *out) {
    CBD_ASSERT(epoch >= 0, "epoch %lld", (long long)epoch);
    const uint64_t a = (uint64_t)epoch;
    if (s->kind == CBD_SAMPLING_INSTANCE) {
        for (int64_t i = 0; i < s->n; i++) out[i] = i;
        for (int64_t j = s->n - 1; j > 0; j--) {
            const cbd_philox_block b = cbd_rng_block(s->seed, CBD_RNG_STREAM_SAMPLER, a, (uint32_t)j);
            const int64_t k = (int64_t)(words01(b) % (uint64_t)(j + 1));
            const int64_t t = out[j];
            out[j] = out[k];
            out[k] = t;
        }
        return;
    }
    for (int64_t p = 0; p < s->epoch_length; p++) {
        const cbd_philox_block b = cbd_rng_block(s->seed, CBD_RNG_STREAM_SAMPLER, a, (uint32_t)p);
        const int k = s->kind == CBD_SAMPLING_CLASS_BALANCED ? (int)(words01(b) % (uint64_t)s->nonempty)
                                                             : sqrt_class(s, words01(b) >> 1);
        const int c = s->drawn_class[k];
        const int64_t nc = s->class_start[c + 1] - s->class_start[c];
        out[p] = s->members[s->class_start[c] + (int64_t)(words23(b) % (uint64_t)nc)];
    }
}

void cbd_draw_counter_assign(uint32_t *counters, const int64_t *indices, int64_t count, uint32_t views,
                             uint32_t *out_views) {
    CBD_ASSERT(views >= 1, "views = %u", views);
    for (int64_t j = 0; j < count; j++) {
        uint32_t *k = &counters[indices[j]];
        out_views[j] = *k % views;
        (*k)++;
    }
}
