/* cbd-bench-ranks: a data-parallel training step on R ranks (run it under
 * mpirun -np R; alone it is one rank) against the same global batch on one.
 *
 *   mpirun -np 2 cbd-bench-ranks --arch resnet20 --channels 1 --size 28 --batch 128 --steps 10 --json
 *
 * Each rank trains on batch / R images of every step and steps with the
 * gradient of the whole batch (nn/batch_sum.h). Steps are timed one by one,
 * every rank starting together; the figures are rank 0's: the step, the
 * part of it spent exchanging with the other ranks (per-layer weight
 * gradients and batch-norm statistics, waiting included), the bytes this
 * rank sent, and for comparison one exchange of the whole gradient in a
 * single message. Prints one JSON line with --json (every step), else a
 * summary of medians. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/batch_sum.h"
#include "nn/clock.h"
#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "nn/rng.h"
#include "nn/threads.h"
#include "parallel/ranks.h"

#define MAX_STEPS 1000

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double *s = cbd_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    const double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void usage(FILE *out) {
    fprintf(out, "usage: [mpirun -np R] cbd-bench-ranks [--arch A] [--channels C] [--size S] [--batch B] "
                 "[--steps N] [--warmup W] [--json]\n");
}

static void print_list(const char *key, const double *v, int n) {
    printf(", \"%s\": [", key);
    for (int i = 0; i < n; i++) printf("%s%.6f", i ? ", " : "", v[i]);
    printf("]");
}

static int bench(int argc, char **argv) {
    char arch[32] = "resnet20";
    int channels = 1, size = 28, batch = 128, steps = 10, warmup = 2, json = 0;
    static const struct option opts[] = {{"arch", required_argument, 0, 'a'},   {"channels", required_argument, 0, 'c'},
                                         {"size", required_argument, 0, 's'},   {"batch", required_argument, 0, 'b'},
                                         {"steps", required_argument, 0, 'n'},  {"warmup", required_argument, 0, 'w'},
                                         {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': snprintf(arch, sizeof arch, "%s", optarg); break;
        case 'c': channels = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (steps < 1 || steps > MAX_STEPS || warmup < 0 || batch < 1 || channels < 1 || size < 8) {
        usage(stderr);
        return 2;
    }
    cbd_threads_set(0);
    const cbd_collective *ranks = cbd_ranks_collective();
    const int r = cbd_ranks_size(), rank = cbd_ranks_rank();
    char err[512];
    cbd_backend *be = cbd_backend_create("cpu", err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    if (cbd_batch_split_set(be, ranks, batch, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "--batch %d: %s", batch, err);
    const int local = batch / r;
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.in_channels = channels;
    cfg.classes = 10;
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_model_initialize(&m, 1);
    const size_t image = (size_t)channels * size * size;
    float *x = be->ops.alloc(be, (size_t)local * image * sizeof(float));
    int *labels = be->ops.alloc(be, (size_t)local * sizeof(int));
    for (size_t i = 0; i < (size_t)local * image; i++)
        x[i] = cbd_rng_normal(7, CBD_RNG_STREAM_TEST, (uint64_t)rank * local * image + i, 0);
    for (int i = 0; i < local; i++) labels[i] = (rank * local + i) % cfg.classes;
    const cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f};
    cbd_tensor t = {x, local, channels, size, size};
    double step_s[MAX_STEPS], exchange_s[MAX_STEPS], flat_s[MAX_STEPS];
    size_t bytes = 0, calls = 0;
    const size_t grad_floats = cbd_params_trainable_count(&m.params);
    float *flat_mine = cbd_malloc(grad_floats * sizeof(float)), *flat_all = cbd_malloc((size_t)r * grad_floats * sizeof(float));
    memset(flat_mine, 0, grad_floats * sizeof(float));
    for (int s = -warmup; s < steps; s++) {
        cbd_collective_broadcast_i64(ranks, 0); /* every rank starts the step together */
        cbd_batch_exchange_stats(NULL, NULL, NULL, 1);
        const double t0 = cbd_now();
        cbd_model_forward(&m, &t, 1);
        cbd_cross_entropy(be, m.logits, labels, local, cfg.classes, 1.0f, m.d_logits);
        cbd_model_backward(&m);
        cbd_sgd_step(be, &m.params, &sgd, 0.01f);
        const double t1 = cbd_now();
        double ex;
        cbd_batch_exchange_stats(&ex, &bytes, &calls, 0);
        cbd_collective_broadcast_i64(ranks, 0);
        const double f0 = cbd_now();
        if (ranks) ranks->allgather(ranks, flat_mine, grad_floats * sizeof(float), flat_all);
        const double f1 = cbd_now();
        if (s >= 0) {
            step_s[s] = t1 - t0;
            exchange_s[s] = ex;
            flat_s[s] = f1 - f0;
        }
    }
    if (rank == 0) {
        const double step = median(step_s, steps);
        if (json) {
            printf("{\"arch\": \"%s\", \"ranks\": %d, \"threads\": %d, \"batch\": %d, \"image\": \"%dx%dx%d\", "
                   "\"exchange_bytes\": %zu, \"exchange_calls\": %zu, \"gradient_bytes\": %zu, \"images_per_s\": %.3f",
                   arch, r, cbd_threads_get(), batch, channels, size, size, bytes, calls, grad_floats * sizeof(float),
                   batch / step);
            print_list("step_s", step_s, steps);
            print_list("exchange_s", exchange_s, steps);
            print_list("flat_s", flat_s, steps);
            printf("}\n");
        } else {
            printf("%s %dx%dx%d batch %d on %d rank(s) x %d thread(s): step %.4f s (%.1f img/s), exchange %.4f s "
                   "(%zu calls, %.2f MiB sent), the gradient in one message %.4f s\n",
                   arch, channels, size, size, batch, r, cbd_threads_get(), step, batch / step,
                   median(exchange_s, steps), calls, bytes / 1048576.0, median(flat_s, steps));
        }
        fflush(stdout);
    }
    free(flat_mine);
    free(flat_all);
    be->ops.release(be, x);
    be->ops.release(be, labels);
    cbd_model_free(&m);
    cbd_backend_destroy(be);
    return 0;
}

int main(int argc, char **argv) { return cbd_ranks_main(argc, argv, bench); }
