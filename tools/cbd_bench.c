/* cbd-bench: training-step and inference speed of a ResNet on the engine.
 *
 *   cbd-bench                      the default cases (resnet20 1x28x28 b128, resnet50 3x224x224 b16)
 *   cbd-bench --arch resnet18 --channels 3 --size 64 --batch 32 --steps 20
 *   cbd-bench --case r20_train --json   one case of `make bench`, one JSON line
 *   cbd-bench --sgemm --json            the machine's sgemm rate (the practical ceiling)
 *
 * Each case runs warm-up steps, then times `steps` steps one by one and
 * reports the median (these machines are shared: medians, not means). The
 * JSON mode prints every timed step, so tools/bench/run.py can pool the
 * steps of several processes that alternate with PyTorch's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "nn/clock.h"
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

/* Resident memory now, from /proc (ru_maxrss only gives the peak). */
static double rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double conv_bn_flops(const cbd_conv_bn *u) {
    const cbd_tensor *y = &u->conv_out;
    return 2.0 * y->n * y->c * y->h * y->w * (double)u->conv.in_c * u->conv.kernel * u->conv.kernel;
}

/* Multiply-add FLOPs of one forward pass per image, counted from the shapes
 * of the last forward: convolutions and the classifier (batch norm, ReLU and
 * pooling are memory-bound and left out, as is usual). */
static double forward_flops_per_image(const cbd_model *m) {
    const cbd_resnet *net = &m->backbone;
    double f = conv_bn_flops(&net->stem);
    for (int b = 0; b < net->block_count; b++) {
        const cbd_resnet_block *blk = &net->blocks[b];
        for (int u = 0; u < blk->units; u++) f += conv_bn_flops(&blk->unit[u]);
        if (blk->shortcut == CBD_SHORTCUT_PROJECTION) f += conv_bn_flops(&blk->projection);
    }
    f /= net->stem.conv_out.n;
    return f + 2.0 * m->embedding_dim * m->cfg.classes;
}

/* Random inputs and labels, made on the host and uploaded (backend memory
 * may be a GPU's). */
static void fill_batch(cbd_backend *be, cbd_tensor *x, int *labels, int classes, uint64_t seed) {
    const size_t n = cbd_tensor_count(x);
    float *host = cbd_malloc(n * sizeof(float));
    int *host_labels = cbd_malloc((size_t)x->n * sizeof(int));
    for (size_t i = 0; i < n; i++) host[i] = cbd_rng_normal(seed, CBD_RNG_STREAM_TEST, i, 0);
    for (int i = 0; i < x->n; i++)
        host_labels[i] = (int)(cbd_rng_uniform(seed, CBD_RNG_STREAM_TEST, i, 1) * classes);
    be->ops.upload(be, x->data, host, n * sizeof(float));
    be->ops.upload(be, labels, host_labels, (size_t)x->n * sizeof(int));
    free(host);
    free(host_labels);
}

typedef struct {
    double *times; /* seconds of each timed step */
    int steps;
    double flops_per_image; /* forward */
    double base_rss_mib;    /* before the model is made */
} case_timing;

/* Times warm-up + steps steps of training (fwd + bwd + SGD) or inference. */
static void time_steps(cbd_backend *be, const bench_case *bc, int training, case_timing *out) {
    out->base_rss_mib = rss_mib();
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
    fill_batch(be, &x, labels, cfg.classes, 3);
    cbd_sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f};
    double *times = cbd_malloc((size_t)bc->steps * sizeof(double));
    double flops = 0.0;
    for (int s = 0; s < bc->warmup + bc->steps; s++) {
        double t0 = cbd_now();
        cbd_model_forward(&m, &x, training);
        if (training) {
            cbd_cross_entropy(be, m.logits, labels, batch, cfg.classes, 1.0f, m.d_logits);
            cbd_model_backward(&m);
            cbd_sgd_step(be, &m.params, &sgd, 0.01f);
        }
        be->ops.synchronize(be);
        double dt = cbd_now() - t0;
        if (s >= bc->warmup) times[s - bc->warmup] = dt;
        if (s == 0) flops = forward_flops_per_image(&m);
    }
    be->ops.release(be, x.data);
    be->ops.release(be, labels);
    cbd_model_free(&m);
    out->times = times;
    out->steps = bc->steps;
    out->flops_per_image = flops;
}

/* Returns images/s (median step) for training or inference. */
static double time_case(cbd_backend *be, const bench_case *bc, int training, double *ms_out) {
    case_timing t;
    time_steps(be, bc, training, &t);
    const double med = median(t.times, t.steps);
    free(t.times);
    *ms_out = med * 1e3;
    return (training ? bc->batch : bc->infer_batch) / med;
}

/* The cases of `make bench`, the same as tools/bench/torch_bench.py's. */
static int named_case(const char *name, bench_case *bc, int *training) {
    static const struct {
        const char *name;
        bench_case c;
        int training;
    } cases[] = {
        {"r20_train", {"resnet20", 1, 28, 128, 128, 5, 3}, 1},
        {"r20_infer", {"resnet20", 1, 28, 256, 256, 5, 3}, 0},
        {"r50_train", {"resnet50", 3, 224, 16, 16, 2, 1}, 1},
        {"r50_infer", {"resnet50", 3, 224, 16, 16, 3, 1}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].name, name) == 0) {
            *bc = cases[i].c;
            *training = cases[i].training;
            return 0;
        }
    return -1;
}

static void print_json_case(const char *name, const bench_case *bc, int training,
                            const case_timing *t, int threads) {
    printf("{\"engine\": \"cbd\", \"case\": \"%s\", \"batch\": %d, \"threads\": %d, \"times\": [", name,
           training ? bc->batch : bc->infer_batch, threads);
    for (int i = 0; i < t->steps; i++) printf("%s%.6f", i ? ", " : "", t->times[i]);
    printf("], \"peak_rss_mib\": %.1f, \"base_rss_mib\": %.1f, \"forward_gflop_per_image\": %.6f}\n",
           peak_rss_mib(), t->base_rss_mib, t->flops_per_image * 1e-9);
}

/* oneDNN's own sgemm (JIT, picks the widest vector unit), the other measure
 * of the machine's rate; host memory. */
static double dnnl_sgemm_gflops(int n, int steps) {
    const size_t count = (size_t)n * n;
    float *a = cbd_malloc(count * sizeof(float)), *b = cbd_malloc(count * sizeof(float));
    float *c = cbd_malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) a[i] = 0.5f, b[i] = 0.25f;
    double *times = cbd_malloc((size_t)steps * sizeof(double));
    for (int s = -1; s < steps; s++) {
        const double t0 = cbd_now();
        if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success)
            cbd_fail(CBD_EXIT_FAILURE, "dnnl_sgemm failed");
        if (s >= 0) times[s] = cbd_now() - t0;
    }
    const double med = median(times, steps);
    free(times);
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / med * 1e-9;
}

/* The machine's sgemm rate through the engine's GEMM (OpenBLAS on the cpu):
 * n x n x n products, median of `steps`. */
static double sgemm_gflops(cbd_backend *be, int n, int steps) {
    const size_t count = (size_t)n * n;
    float *a = be->ops.alloc(be, count * sizeof(float));
    float *b = be->ops.alloc(be, count * sizeof(float));
    float *c = be->ops.alloc(be, count * sizeof(float));
    be->ops.fill(be, a, count, 0.5f);
    be->ops.fill(be, b, count, 0.25f);
    double *times = cbd_malloc((size_t)steps * sizeof(double));
    for (int s = -1; s < steps; s++) {
        const double t0 = cbd_now();
        be->ops.gemm(be, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        be->ops.synchronize(be);
        if (s >= 0) times[s] = cbd_now() - t0;
    }
    const double med = median(times, steps);
    free(times);
    be->ops.release(be, a);
    be->ops.release(be, b);
    be->ops.release(be, c);
    return 2.0 * n * (double)n * n / med * 1e-9;
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
            "                 [--precision fp32|bf16]   (bf16: convolutions on bf16 tensor cores / AVX-512 BF16, AMX)\n"
            "       cbd-bench --case r20_train|r20_infer|r50_train|r50_infer [--steps N] [--batch B] --json\n"
            "       cbd-bench --sgemm [--json]\n"
            "Without --arch: resnet20 1x28x28 (train b128, infer b256) and resnet50 3x224x224 (b16).\n");
}

int main(int argc, char **argv) {
    bench_case custom = {"", 3, 32, 32, 0, 20, 3};
    int threads = 0, steps = 0;
    const char *device = "cpu", *precision = "fp32";
    const char *case_name = NULL;
    int json = 0, sgemm = 0, batch_given = 0;
    static const struct option opts[] = {
        {"arch", required_argument, 0, 'a'},    {"channels", required_argument, 0, 'c'},
        {"size", required_argument, 0, 's'},    {"batch", required_argument, 0, 'b'},
        {"infer-batch", required_argument, 0, 'i'}, {"steps", required_argument, 0, 'n'},
        {"warmup", required_argument, 0, 'w'},  {"threads", required_argument, 0, 't'},
        {"device", required_argument, 0, 'd'},  {"help", no_argument, 0, 'h'},
        {"case", required_argument, 0, 'k'},    {"json", no_argument, 0, 'j'},
        {"sgemm", no_argument, 0, 'g'},         {"precision", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': snprintf(custom.arch, sizeof custom.arch, "%s", optarg); break;
        case 'c': custom.channels = atoi(optarg); break;
        case 's': custom.size = atoi(optarg); break;
        case 'b': custom.batch = atoi(optarg), batch_given = 1; break;
        case 'i': custom.infer_batch = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'w': custom.warmup = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': device = optarg; break;
        case 'p': precision = optarg; break;
        case 'k': case_name = optarg; break;
        case 'j': json = 1; break;
        case 'g': sgemm = 1; break;
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
    if (cbd_backend_set_precision(be, precision, err, sizeof err) != 0) {
        cbd_backend_destroy(be);
        cbd_fail(CBD_EXIT_USAGE, "--precision %s: %s", precision, err);
    }
    if (sgemm) {
        const int n = 2048;
        const double rate = sgemm_gflops(be, n, 5);
        const double dnnl_rate = strcmp(be->name, "cpu") == 0 ? dnnl_sgemm_gflops(n, 5) : 0.0;
        const char *core = strcmp(be->name, "cpu") == 0 ? openblas_get_corename() : "-";
        if (json)
            printf("{\"engine\": \"cbd\", \"case\": \"sgemm\", \"n\": %d, \"threads\": %d, \"gflops\": %.1f, "
                   "\"dnnl_gflops\": %.1f, \"openblas_core\": \"%s\"}\n",
                   n, threads, rate, dnnl_rate, core);
        else
            printf("sgemm %dx%dx%d, %d threads: engine GEMM (OpenBLAS, %s kernels) %.1f GFLOP/s, "
                   "oneDNN %.1f GFLOP/s\n", n, n, n, threads, core, rate, dnnl_rate);
        cbd_backend_destroy(be);
        return 0;
    }
    if (case_name) {
        bench_case bc;
        int training;
        if (named_case(case_name, &bc, &training) != 0) {
            cbd_backend_destroy(be);
            cbd_fail(CBD_EXIT_USAGE, "--case: unknown case '%s' (r20_train, r20_infer, r50_train, r50_infer)",
                     case_name);
        }
        if (steps) bc.steps = steps;
        if (batch_given) bc.batch = bc.infer_batch = custom.batch; /* e.g. resnet50 b256 on a GPU */
        case_timing t;
        time_steps(be, &bc, training, &t);
        if (json) {
            print_json_case(case_name, &bc, training, &t, threads);
        } else {
            const double med = median(t.times, t.steps);
            printf("%s: %.1f img/s (median %.1f ms of %d steps)\n", case_name,
                   (training ? bc.batch : bc.infer_batch) / med, med * 1e3, t.steps);
        }
        free(t.times);
        cbd_backend_destroy(be);
        return 0;
    }
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
