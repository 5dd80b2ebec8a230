/* A few steps of plain supervised training on fixed random data, shared by
 * the overfitting and determinism tests. */
#ifndef CBD_TRAIN_FIXTURE_H
#define CBD_TRAIN_FIXTURE_H

#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

typedef struct {
    cbd_model m;
    cbd_tensor x;
    int *labels;
    cbd_sgd_config sgd;
    float lr;
} train_fixture;

static inline void fixture_create(train_fixture *f, cbd_backend *be, const char *arch, int in_c, int hw,
                                  int batch, int classes, uint64_t seed) {
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = in_c;
    cfg.classes = classes;
    char err[256];
    if (cbd_model_create(&f->m, be, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "model: %s\n", err);
        exit(1);
    }
    cbd_model_initialize(&f->m, seed);
    cbd_shape4 xs = {batch, in_c, hw, hw};
    f->x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * 4), xs);
    f->labels = be->ops.alloc(be, (size_t)batch * sizeof(int));
    f->sgd = (cbd_sgd_config){.momentum = 0.9f, .weight_decay = 5e-4f};
    f->lr = 0.05f;
}

/* Fills the batch for `step` with pure noise and random labels (step < 0:
 * the same batch every time): nothing to learn but memorisation. */
static inline void fixture_batch(train_fixture *f, long step, int classes) {
    uint64_t s = step < 0 ? 1000 : 1000 + (uint64_t)step;
    test_fill_normal(f->x.data, cbd_tensor_count(&f->x), 1.0f, s);
    for (int i = 0; i < f->x.n; i++)
        f->labels[i] = (int)(cbd_rng_uniform(s, CBD_RNG_STREAM_TEST, (uint64_t)i, 7) * classes);
}

/* Fills the batch for `step` with a learnable task: each class is a fixed
 * random template, each image its class's template plus noise. */
static inline void fixture_batch_learnable(train_fixture *f, long step, int classes) {
    const uint64_t s = 5000 + (uint64_t)step;
    const size_t per_image = (size_t)f->x.c * f->x.h * f->x.w;
    for (int i = 0; i < f->x.n; i++) {
        const int y = (int)(cbd_rng_uniform(s, CBD_RNG_STREAM_TEST, (uint64_t)i, 7) * classes);
        f->labels[i] = y;
        float *img = f->x.data + (size_t)i * per_image;
        for (size_t k = 0; k < per_image; k++)
            img[k] = cbd_rng_normal(77, CBD_RNG_STREAM_TEST, k, 100 + (uint32_t)y) +
                     0.5f * cbd_rng_normal(s, CBD_RNG_STREAM_TEST, (uint64_t)i * per_image + k, 8);
    }
}

/* One SGD step; returns the loss before the update. */
static inline double fixture_step(train_fixture *f) {
    cbd_model_forward(&f->m, &f->x, 1);
    double loss = cbd_cross_entropy(f->m.be, f->m.logits, f->labels, f->x.n, f->m.cfg.classes, 1.0f,
                                    f->m.d_logits);
    cbd_model_backward(&f->m);
    cbd_sgd_step(f->m.be, &f->m.params, &f->sgd, f->lr);
    return loss;
}

static inline double fixture_accuracy(train_fixture *f, int training) {
    cbd_model_forward(&f->m, &f->x, training);
    int right = 0;
    const int c = f->m.cfg.classes;
    for (int i = 0; i < f->x.n; i++) {
        int best = 0;
        for (int k = 1; k < c; k++)
            if (f->m.logits[i * c + k] > f->m.logits[i * c + best]) best = k;
        right += best == f->labels[i];
    }
    return (double)right / f->x.n;
}

static inline void fixture_free(train_fixture *f) {
    f->m.be->ops.release(f->m.be, f->x.data);
    f->m.be->ops.release(f->m.be, f->labels);
    cbd_model_free(&f->m);
}

/* `steps` steps of resnet20 (1x28x28, batch 32, 10 classes, seed 11) on the
 * learnable batches: the loss before each step into losses. */
static inline void fixture_resnet20_losses(cbd_backend *be, int steps, double *losses) {
    train_fixture f;
    fixture_create(&f, be, "resnet20", 1, 28, 32, 10, 11);
    for (int s = 0; s < steps; s++) {
        fixture_batch_learnable(&f, s, 10);
        losses[s] = fixture_step(&f);
    }
    fixture_free(&f);
}

/* Prints two loss curves side by side; returns the worst
 * |got - want| / max(|want|, 1) (infinite where got is not finite). */
static inline double fixture_curve_compare(const char *want_name, const double *want, const char *got_name,
                                           const double *got, int steps) {
    double worst = 0.0;
    printf("resnet20 training, %d steps (loss: %s, %s, |difference| / max(%s, 1))\n", steps, want_name, got_name,
           want_name);
    for (int s = 0; s < steps; s++) {
        const double rel = fabs(got[s] - want[s]) / fmax(fabs(want[s]), 1.0);
        worst = fmax(worst, isfinite(got[s]) ? rel : INFINITY);
        printf("  step %2d  %s %.6f  %s %.6f  rel %.3e\n", s, want_name, want[s], got_name, got[s], rel);
    }
    return worst;
}

#endif
