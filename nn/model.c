#include "nn/model.h"

#include <stdio.h>
#include <string.h>

#include "nn/log.h"

void cbd_model_config_default(cbd_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "resnet20");
    cfg->in_channels = 3;
    cfg->classes = 10;
    cfg->head = CBD_HEAD_COSINE;
    cfg->cosine_scale = 20.0f;
    cfg->projection_dim = 0;
    cfg->projection_relu = 1;
}

int cbd_model_create(cbd_model *m, cbd_backend *be, const cbd_model_config *cfg, char *err,
                     size_t err_len) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    if (cfg->classes < 2) {
        snprintf(err, err_len, "a classifier needs at least 2 classes, got %d", cfg->classes);
        return -1;
    }
    cbd_params_init(&m->params);
    if (cbd_resnet_create(&m->backbone, &m->params, cfg->arch, cfg->in_channels, err, err_len) != 0)
        return -1;
    m->embedding_dim = m->backbone.feature_dim;
    if (cfg->projection_dim > 0) {
        cbd_projection_create(&m->projection, &m->params, "projection", m->backbone.feature_dim,
                              cfg->projection_dim, cfg->projection_relu);
        m->embedding_dim = cfg->projection_dim;
    }
    if (cfg->head == CBD_HEAD_COSINE)
        cbd_cosine_classifier_create(&m->cosine, &m->params, "classifier", m->embedding_dim,
                                     cfg->classes, cfg->cosine_scale);
    else
        cbd_linear_create(&m->linear, &m->params, "classifier", m->embedding_dim, cfg->classes, 1,
                          CBD_INIT_UNIFORM_FAN_IN);
    cbd_params_allocate(&m->params, be);
    return 0;
}

void cbd_model_free(cbd_model *m) {
    cbd_arena_release(&m->head);
    cbd_resnet_free(&m->backbone);
    cbd_params_free(&m->params);
}

void cbd_model_initialize(cbd_model *m, uint64_t seed) { cbd_params_initialize(&m->params, seed); }

static void plan_head(cbd_model *m, int rows) {
    if (rows <= m->max_rows) return;
    const size_t e = (size_t)m->embedding_dim, c = (size_t)m->cfg.classes,
                 d = (size_t)m->backbone.feature_dim, n = (size_t)rows;
    size_t floats = cbd_arena_round(n * e) * 3 + cbd_arena_round(n * c) * 2 + cbd_arena_round(n * d);
    if (m->cfg.head == CBD_HEAD_COSINE) floats += cbd_cosine_cache_floats(&m->cosine, rows);
    cbd_arena_release(&m->head);
    cbd_arena_init(&m->head, m->be, floats);
    m->embedding = cbd_arena_take(&m->head, n * e);
    m->d_embedding = cbd_arena_take(&m->head, n * e);
    m->d_embedding_extra = cbd_arena_take(&m->head, n * e);
    m->logits = cbd_arena_take(&m->head, n * c);
    m->d_logits = cbd_arena_take(&m->head, n * c);
    m->d_feature = cbd_arena_take(&m->head, n * d);
    if (m->cfg.head == CBD_HEAD_COSINE) cbd_cosine_cache_carve(&m->cosine, rows, &m->head, &m->cosine_cache);
    m->max_rows = rows;
}

void cbd_model_forward(cbd_model *m, const cbd_tensor *x, int training) {
    cbd_backend *be = m->be;
    const int rows = x->n;
    plan_head(m, rows);
    m->rows = rows;
    m->use_embedding_extra = 0;
    cbd_resnet_forward(&m->backbone, be, &m->params, x, training);
    const float *v = m->backbone.feature.data;
    const float *e = v;
    if (m->cfg.projection_dim > 0) {
        cbd_projection_forward(be, &m->projection, &m->params, v, rows, m->embedding);
        e = m->embedding;
    } else {
        be->ops.copy(be, m->embedding, v, (size_t)rows * m->embedding_dim * sizeof(float));
    }
    if (m->cfg.head == CBD_HEAD_COSINE)
        cbd_cosine_classifier_forward(be, &m->cosine, &m->params, e, rows, m->logits, &m->cosine_cache);
    else
        cbd_linear_forward(be, &m->linear, &m->params, e, rows, m->logits);
}

void cbd_model_backward(cbd_model *m) {
    cbd_backend *be = m->be;
    const int rows = m->rows;
    const size_t ne = (size_t)rows * m->embedding_dim;
    if (m->cfg.head == CBD_HEAD_COSINE)
        cbd_cosine_classifier_backward(be, &m->cosine, &m->params, m->d_logits, rows,
                                       &m->cosine_cache, m->d_embedding);
    else
        cbd_linear_backward(be, &m->linear, &m->params, m->embedding, m->d_logits, rows,
                            m->d_embedding);
    if (m->use_embedding_extra) be->ops.axpy(be, ne, 1.0f, m->d_embedding_extra, m->d_embedding);

    const float *d_feature = m->d_embedding;
    if (m->cfg.projection_dim > 0) {
        cbd_projection_backward(be, &m->projection, &m->params, m->backbone.feature.data,
                                m->embedding, m->d_embedding, rows, m->d_feature);
        d_feature = m->d_feature;
    }
    cbd_resnet_backward(&m->backbone, be, &m->params, d_feature);
}
