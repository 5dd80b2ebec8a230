/* Cosine classifier: z = gamma * normalize(W) normalize(v)^T, W [C, d], v [N, d].
 * gamma is a fixed scale (20 in the authors' code), not learned. */
#ifndef CBD_COSINE_CLASSIFIER_H
#define CBD_COSINE_CLASSIFIER_H

#include "nn/params.h"

typedef struct {
    int dim, classes;
    float scale;
    int weight; /* [classes, dim] */
} cbd_cosine_classifier;

/* What forward keeps for backward, and backward's scratch. */
typedef struct {
    float *v_unit, *v_norm; /* [N, d], [N] */
    float *w_unit, *w_norm; /* [C, d], [C] */
    float *d_v_unit, *d_w_unit;
} cbd_cosine_cache;

void cbd_cosine_classifier_create(cbd_cosine_classifier *cc, cbd_params *p, const char *path,
                                  int dim, int classes, float scale);
/* Floats a cache needs for `rows` inputs (carve with cbd_cosine_cache_carve). */
size_t cbd_cosine_cache_floats(const cbd_cosine_classifier *cc, int rows);
void cbd_cosine_cache_carve(const cbd_cosine_classifier *cc, int rows, cbd_arena *arena,
                            cbd_cosine_cache *cache);

void cbd_cosine_classifier_forward(cbd_backend *be, const cbd_cosine_classifier *cc,
                                   const cbd_params *p, const float *v, int rows, float *z,
                                   cbd_cosine_cache *cache);
/* Writes the weight gradient; writes dv unless it is NULL. */
void cbd_cosine_classifier_backward(cbd_backend *be, const cbd_cosine_classifier *cc,
                                    const cbd_params *p, const float *dz, int rows,
                                    cbd_cosine_cache *cache, float *dv);

#endif
