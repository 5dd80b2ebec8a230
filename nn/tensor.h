/* Tensors: float32, NCHW at the API. A tensor is a view on memory owned by a
 * backend (host memory for cpu, device memory for cuda); it never owns it. */
#ifndef CBD_TENSOR_H
#define CBD_TENSOR_H

#include <stddef.h>

typedef struct {
    int n, c, h, w;
} cbd_shape4;

typedef struct {
    float *data;
    int n, c, h, w; /* a matrix [rows, cols] is n = rows, c = cols, h = w = 1 */
} cbd_tensor;

static inline size_t cbd_shape4_count(cbd_shape4 s) { return (size_t)s.n * s.c * s.h * s.w; }
static inline size_t cbd_tensor_count(const cbd_tensor *t) {
    return (size_t)t->n * t->c * t->h * t->w;
}
static inline cbd_shape4 cbd_tensor_shape(const cbd_tensor *t) {
    cbd_shape4 s = {t->n, t->c, t->h, t->w};
    return s;
}
static inline cbd_tensor cbd_tensor_make(float *data, cbd_shape4 s) {
    cbd_tensor t = {data, s.n, s.c, s.h, s.w};
    return t;
}

/* Carves tensors out of one backend allocation, 64-byte aligned. */
struct cbd_backend;
typedef struct {
    struct cbd_backend *be;
    float *base;
    size_t capacity; /* floats */
    size_t used;     /* floats */
} cbd_arena;

void cbd_arena_init(cbd_arena *a, struct cbd_backend *be, size_t floats);
void cbd_arena_release(cbd_arena *a);
/* Rounds a float count up to the arena's alignment. */
size_t cbd_arena_round(size_t floats);
float *cbd_arena_take(cbd_arena *a, size_t floats);
cbd_tensor cbd_arena_tensor(cbd_arena *a, cbd_shape4 s);

#endif
