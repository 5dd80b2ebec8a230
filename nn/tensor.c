#include "nn/tensor.h"

#include "nn/backend.h"
#include "nn/log.h"

#define ARENA_ALIGN_FLOATS 16

size_t cbd_arena_round(size_t floats) {
    return (floats + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS;
}

void cbd_arena_init(cbd_arena *a, cbd_backend *be, size_t floats) {
    a->be = be;
    a->capacity = cbd_arena_round(floats);
    a->used = 0;
    a->base = a->capacity ? be->ops.alloc(be, a->capacity * sizeof(float)) : NULL;
}

void cbd_arena_release(cbd_arena *a) {
    if (a->base) a->be->ops.release(a->be, a->base);
    a->base = NULL;
    a->capacity = a->used = 0;
}

float *cbd_arena_take(cbd_arena *a, size_t floats) {
    size_t n = cbd_arena_round(floats);
    CBD_ASSERT(a->used + n <= a->capacity, "arena of %zu floats cannot take %zu more (used %zu)",
               a->capacity, n, a->used);
    float *p = a->base + a->used;
    a->used += n;
    return p;
}

cbd_tensor cbd_arena_tensor(cbd_arena *a, cbd_shape4 s) {
    return cbd_tensor_make(cbd_arena_take(a, cbd_shape4_count(s)), s);
}
