/* A classifier: ResNet backbone f, optional projection h (multi-teacher
 * distillation, Eq. 4), and a cosine or linear classifier on the embedding
 * e = h(f(x)) (or f(x) without h). All parameters share one table.
 *
 * A training step: cbd_model_forward; losses write d(logits) into
 * m->d_logits (and may add d(embedding) into m->d_embedding_extra);
 * cbd_model_backward; cbd_sgd_step. */
#ifndef CBD_MODEL_H
#define CBD_MODEL_H

#include <stdint.h>

#include "nn/layers/cosine_classifier.h"
#include "nn/layers/linear.h"
#include "nn/layers/projection.h"
#include "nn/resnet.h"

typedef enum { CBD_HEAD_COSINE, CBD_HEAD_LINEAR } cbd_head_kind;

typedef struct {
    char arch[32];
    int in_channels;
    int classes;
    cbd_head_kind head;
    float cosine_scale;  /* gamma of the cosine classifier */
    int projection_dim;  /* 0: no h; else h: d -> projection_dim */
    int projection_relu; /* ReLU after h */
} cbd_model_config;

typedef struct {
    cbd_model_config cfg;
    cbd_params params;
    cbd_resnet backbone;
    cbd_projection projection;
    cbd_cosine_classifier cosine;
    cbd_linear linear;
    int embedding_dim;

    /* per-batch head memory, sized for max_rows */
    cbd_arena head;
    int max_rows, rows;
    float *embedding;          /* [rows, embedding_dim]: h(v) or v */
    float *logits, *d_logits;  /* [rows, classes] */
    float *d_embedding;        /* [rows, embedding_dim] */
    float *d_embedding_extra;  /* [rows, embedding_dim]: added to d_embedding when used */
    int use_embedding_extra;
    float *d_feature;          /* [rows, d] */
    cbd_cosine_cache cosine_cache;
    cbd_backend *be;
} cbd_model;

void cbd_model_config_default(cbd_model_config *cfg);
/* Registers parameters and allocates them on be. Returns 0, or -1 with err. */
int cbd_model_create(cbd_model *m, cbd_backend *be, const cbd_model_config *cfg, char *err,
                     size_t err_len);
void cbd_model_free(cbd_model *m);
void cbd_model_initialize(cbd_model *m, uint64_t seed);

/* Forward pass; fills m->embedding and m->logits for x->n rows. The memory of
 * x must stay valid until cbd_model_backward. */
void cbd_model_forward(cbd_model *m, const cbd_tensor *x, int training);
/* Backward from m->d_logits (+ m->d_embedding_extra when use_embedding_extra);
 * writes every parameter gradient. */
void cbd_model_backward(cbd_model *m);

/* The backbone feature v of the last forward [rows, d]. */
static inline const float *cbd_model_feature(const cbd_model *m) { return m->backbone.feature.data; }
static inline int cbd_model_feature_dim(const cbd_model *m) { return m->backbone.feature_dim; }

#endif
