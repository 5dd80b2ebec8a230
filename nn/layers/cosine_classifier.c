#include "nn/layers/cosine_classifier.h"

#include "nn/batch_sum.h"

void cbd_cosine_classifier_create(cbd_cosine_classifier *cc, cbd_params *p, const char *path,
                                  int dim, int classes, float scale) {
    cc->dim = dim;
    cc->classes = classes;
    cc->scale = scale;
    char name[CBD_PARAM_NAME_MAX];
    cbd_path_join(name, sizeof name, path, "weight");
    const int shape[2] = {classes, dim};
    cc->weight = cbd_params_add(p, name, CBD_PARAM_WEIGHT, CBD_INIT_GLOROT_UNIFORM, 2, shape, dim,
                                classes);
}

size_t cbd_cosine_cache_floats(const cbd_cosine_classifier *cc, int rows) {
    size_t n = (size_t)rows, c = (size_t)cc->classes, d = (size_t)cc->dim;
    return cbd_arena_round(n * d) * 2 + cbd_arena_round(n) + cbd_arena_round(c * d) * 2 +
           cbd_arena_round(c);
}

void cbd_cosine_cache_carve(const cbd_cosine_classifier *cc, int rows, cbd_arena *arena,
                            cbd_cosine_cache *cache) {
    size_t n = (size_t)rows, c = (size_t)cc->classes, d = (size_t)cc->dim;
    cache->v_unit = cbd_arena_take(arena, n * d);
    cache->d_v_unit = cbd_arena_take(arena, n * d);
    cache->v_norm = cbd_arena_take(arena, n);
    cache->w_unit = cbd_arena_take(arena, c * d);
    cache->d_w_unit = cbd_arena_take(arena, c * d);
    cache->w_norm = cbd_arena_take(arena, c);
}

void cbd_cosine_classifier_forward(cbd_backend *be, const cbd_cosine_classifier *cc,
                                   const cbd_params *p, const float *v, int rows, float *z,
                                   cbd_cosine_cache *cache) {
    const int d = cc->dim, c = cc->classes;
    be->ops.l2norm_rows_forward(be, rows, d, v, cache->v_unit, cache->v_norm);
    be->ops.l2norm_rows_forward(be, c, d, cbd_param_value(p, cc->weight), cache->w_unit,
                                cache->w_norm);
    cbd_batch_gemm_rows(be, rows, 1, c, d, cc->scale, cache->v_unit, d, cache->w_unit, d, 0.0f, z, c);
}

void cbd_cosine_classifier_backward(cbd_backend *be, const cbd_cosine_classifier *cc,
                                    const cbd_params *p, const float *dz, int rows,
                                    cbd_cosine_cache *cache, float *dv) {
    const int d = cc->dim, c = cc->classes;
    /* d w_unit [C, d] = scale * dz^T [C, N] v_unit [N, d], summed over the batch by chunks (nn/batch_sum.h) */
    cbd_batch_gemm_tn(be, rows, c, d, cc->scale, dz, c, cache->v_unit, d, cache->d_w_unit);
    be->ops.l2norm_rows_backward(be, c, d, cache->w_unit, cache->w_norm, cache->d_w_unit,
                                 cbd_param_grad(p, cc->weight));
    if (!dv) return;
    /* d v_unit [N, d] = scale * dz [N, C] w_unit [C, d] */
    cbd_batch_gemm_rows(be, rows, 0, d, c, cc->scale, dz, c, cache->w_unit, d, 0.0f, cache->d_v_unit, d);
    be->ops.l2norm_rows_backward(be, rows, d, cache->v_unit, cache->v_norm, cache->d_v_unit, dv);
}
