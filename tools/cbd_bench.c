/* cbd-bench: training-step and inference speed of a ResNet on the engine.
 *
 *   cbd-bench                      the default cases (resnet20 1x28x28 b128, resnet50 3x224x224 b16)
 *   cbd-bench --arch resnet18 --channels 3 --size 64 --batch 32 --steps 20
 *
 * Each case runs warm-up steps, then times `steps` steps one by one and
 * reports the median (these machines are shared: medians, not means). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nn/log.h"
#include "nn/losses/losses.h"
#include "nn/model.h"
#include "nn/optim/sgd.h"
#include "nn/rng.h"
#include "nn/threads.h"

typedef struct {
    char arch[32];
    int channels, size, batch, infer_batch, steps, warmup;
} bench_case;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void fill_batch(cbd_tensor *x, int *labels, int classes, uint64_t seed) {
    size_t n = cbd_tensor_count(x);
    for (size_t i = 0; i < n; i++) x->data[i] = cbd_rng_normal(seed, CBD_RNG_STREAM_TEST, i, 0);
    for (int i = 0; i < x->n; i++) labels[i] = (int)(cbd_rng_uniform(seed, CBD_RNG_STREAM_TEST, i, 1) * classes);
}

/* Returns images/s for training (fwd + bwd + SGD) or inference. */
static double time_case(cbd_backend *be, const bench_case *bc, int training, double *ms_out) {
    cbd_model_config cfg;
    cbd_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", bc->arch);
    cfg.in_channels = bc->channels;
    cfg.classes = 10;
    char err[256];
    cbd_model m;
    if (cbd_model_create(&m, be, &cfg, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_model_initialize(&m, 1);
    const int batch = training ? bc->batch : bc->infer_batch;
    cbd_shape4 xs = {batch, bc->channels, bc->size, bc->size};
    cbd_tensor x = cbd_tensor_make(be->ops.alloc(be, cbd_shape4_count(xs) * sizeof(float)), xs);
    int *labels = be->ops.alloc(be, (size_t)batch * sizeof(int));
    fill_batch(&x, labels, cfg.classes, 3);
    cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f};
    double *times = cbd_malloc((size_t)bc->steps * sizeof(double));
    for (int s = 0; s < bc->warmup + bc->steps; s++) {
        double t0 = now_seconds();
        cbd_model_forward(&m, &x, training);
        if (training) {
            cbd_cross_entropy(be, m.logits, labels, batch, cfg.classes, 1.0f, m.d_logits);
            cbd_model_backward(&m);
            cbd_sgd_step(be, &m.params, &sgd, 0.01f);
        }
        be->ops.synchronize(be);
        double dt = now_seconds() - t0;
        if (s >= bc->warmup) times[s - bc->warmup] = dt;
    }
    double med = median(times, bc->steps);
    free(times);
    be->ops.release(be, x.data);
    be->ops.release(be, labels);
    cbd_model_free(&m);
    *ms_out = med * 1e3;
    return batch / med;
}

static void run_case(cbd_backend *be, const bench_case *bc) {
    double train_ms, infer_ms;
    double train = time_case(be, bc, 1, &train_ms);
    double infer = time_case(be, bc, 0, &infer_ms);
    printf("%-9s %dx%dx%-4d train b%-4d %9.1f img/s (%8.1f ms/step)   infer b%-4d %9.1f img/s (%8.1f ms)\n",
           bc->arch, bc->channels, bc->size, bc->size, bc->batch, train, train_ms, bc->infer_batch, infer,
           infer_ms);
    fflush(stdout);
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-bench [--arch NAME --channels C --size S --batch B [--infer-batch B]]\n"
            "                 [--steps N] [--warmup N] [--threads T] [--device cpu|cuda|auto]\n"
            "Without --arch: resnet20 1x28x28 (train b128, infer b256) and resnet50 3x224x224 (b16).\n");
}

int main(int argc, char **argv) {
    bench_case custom = {"", 3, 32, 32, 0, 20, 3};
    int threads = 0, steps = 0;
    const char *device = "cpu";
    static const struct option opts[] = {
        {"arch", required_argument, 0, 'a'},    {"channels", required_argument, 0, 'c'},
        {"size", required_argument, 0, 's'},    {"batch", required_argument, 0, 'b'},
        {"infer-batch", required_argument, 0, 'i'}, {"steps", required_argument, 0, 'n'},
        {"warmup", required_argument, 0, 'w'},  {"threads", required_argument, 0, 't'},
        {"device", required_argument, 0, 'd'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': snprintf(custom.arch, sizeof custom.arch, "%s", optarg); break;
        case 'c': custom.channels = atoi(optarg); break;
        case 's': custom.size = atoi(optarg); break;
        case 'b': custom.batch = atoi(optarg); break;
        case 'i': custom.infer_batch = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'w': custom.warmup = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': device = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CBD_EXIT_USAGE;
        }
    }
    if (optind != argc || custom.batch < 1 || custom.size < 16 || steps < 0 || custom.warmup < 0) {
        usage(stderr);
        return CBD_EXIT_USAGE;
    }
    threads = cbd_threads_set(threads);
    char err[256];
    cbd_backend *be = cbd_backend_create(device, err, sizeof err);
    if (!be) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    printf("cbd-bench: device %s, %d threads, median of timed steps after warm-up\n", be->name, threads);
    if (custom.arch[0]) {
        if (!custom.infer_batch) custom.infer_batch = custom.batch;
        if (steps) custom.steps = steps;
        run_case(be, &custom);
    } else {
        bench_case r20 = {"resnet20", 1, 28, 128, 256, steps ? steps : 20, 3};
        bench_case r50 = {"resnet50", 3, 224, 16, 16, steps ? steps : 5, 1};
        run_case(be, &r20);
        run_case(be, &r50);
    }
    printf("peak resident memory %.0f MiB\n", peak_rss_mib());
    cbd_backend_destroy(be);
    return 0;
}
