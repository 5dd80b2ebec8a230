/* cbd-sanity: does this build learn? Trains a ResNet for a few hundred steps
 * on a small learnable task (each of 10 classes a random template, each image
 * its template plus heavy noise), then measures accuracy on held-out images
 * in evaluation mode. Exits 0 when held-out accuracy is far above chance. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/clock.h"
#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/sgd.h"
#include "nn/rng.h"
#include "nn/threads.h"

#define CLASSES 10

static void make_batch(cbd_tensor *x, int *labels, uint64_t batch_seed, float noise) {
    const size_t per = (size_t)x->c * x->h * x->w;
    for (int i = 0; i < x->n; i++) {
        const int y = (int)(cbd_rng_uniform(batch_seed, CBD_RNG_STREAM_TEST, (uint64_t)i, 1) * CLASSES);
        labels[i] = y;
        for (size_t k = 0; k < per; k++)
            x->data[(size_t)i * per + k] =
                cbd_rng_normal(1234, CBD_RNG_STREAM_TEST, k, 100 + (uint32_t)y) +
                noise * cbd_rng_normal(batch_seed, CBD_RNG_STREAM_TEST, (uint64_t)i * per + k, 2);
    }
}

static int argmax(const float *z, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

int main(int argc, char **argv) {
    const char *arch = "resnet20";
    int steps = 150, batch = 64, size = 16, threads = 0;
    float noise = 2.0f;
    static const struct option opts[] = {{"arch", required_argument, 0, 'a'}, {"steps", required_argument, 0, 'n'},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': arch = optarg; break;
        case 'n': steps = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'h': printf("usage: cbd-sanity [--arch resnet20] [--steps 150] [--threads N]\n"); return 0;
        default: return CBD_EXIT_USAGE;
        }
    }
    if (steps < 1) cbd_fail(CBD_EXIT_USAGE, "--steps must be positive");
    threads = cbd_threads_set(threads);
    char err[256];
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = 1;
    cfg.classes = CLASSES;
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_model_initialize(&m, 1);
    printf("cbd-sanity: %s, %zu parameters, %d threads, %d steps of batch %d on 1x%dx%d images, "
           "%d classes, noise %.1f\n",
           arch, cbd_params_trainable_count(&m.params), threads, steps, batch, size, size, CLASSES, noise);

    cbd_shape4 xs = {batch, 1, size, size};
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * sizeof(float)), xs);
    int *labels = be->ops.alloc(be, (size_t)batch * sizeof(int));
    cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f};
    cbd_lr_schedule lr = {.base_lr = 0.05f, .final_lr = 0.0f, .total_steps = steps, .warmup_steps = 0};
    const double t0 = cbd_now();
    double running = 0.0;
    for (int s = 0; s < steps; s++) {
        make_batch(&x, labels, 10000 + (uint64_t)s, noise);
        cbd_model_forward(&m, &x, 1);
        double loss = cbd_cross_entropy(be, m.logits, labels, batch, CLASSES, 1.0f, m.d_logits);
        cbd_model_backward(&m);
        cbd_sgd_step(be, &m.params, &sgd, cbd_lr_at(&lr, s));
        running = s == 0 ? loss : 0.9 * running + 0.1 * loss;
        if (s % 25 == 0 || s == steps - 1) printf("  step %4d  loss %.4f  lr %.4f\n", s, running, cbd_lr_at(&lr, s));
    }
    double seconds = cbd_now() - t0;

    int right = 0, total = 0;
    for (int b = 0; b < 8; b++) {
        make_batch(&x, labels, 900000 + (uint64_t)b, noise);
        cbd_model_forward(&m, &x, 0);
        for (int i = 0; i < batch; i++, total++) right += argmax(m.logits + (size_t)i * CLASSES, CLASSES) == labels[i];
    }
    double acc = (double)right / total;
    printf("cbd-sanity: held-out accuracy %.1f%% (chance %.0f%%) after %.1f s (%.0f images/s)\n", 100 * acc,
           100.0 / CLASSES, seconds, (double)steps * batch / seconds);
    be->ops.release(be, x.data);
    be->ops.release(be, labels);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    if (acc < 0.5) {
        fprintf(stderr, "cbd: error: held-out accuracy %.1f%% is too low: this build does not learn\n", 100 * acc);
        return CBD_EXIT_FAILURE;
    }
    return 0;
}
