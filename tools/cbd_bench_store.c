/* cbd-bench-store: how fast the background reader delivers a feature store's
 * rows in the order the student asks for them (class-balanced draws, view
 * k mod S for the k-th draw of an image), from memory and from disk.
 *
 *   cbd-bench-store [--k 4] [--batch 128] [--epochs 2] STORE.h5
 *
 * The same store is opened --k times (as K teachers' stores would be). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/log.h"
#include "training/progress.h"
#include "views/sampler.h"
#include "store/feature_prefetch.h"
#include "store/feature_store.h"

static double run(const char *path, int k, int batch, int epochs, int64_t cap, int *in_memory) {
    char err[1024];
    cbd_feature_store *stores[16];
    for (int i = 0; i < k; i++) {
        stores[i] = cbd_feature_store_open(path, NULL, cap, err, sizeof err);
        if (!stores[i]) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    }
    *in_memory = cbd_feature_store_in_memory(stores[0]);
    const cbd_feature_store_spec *spec = cbd_feature_store_spec_of(stores[0]);
    cbd_sampler sampler;
    if (cbd_sampler_init(&sampler, CBD_SAMPLING_CLASS_BALANCED, cbd_feature_store_labels(stores[0]), spec->n,
                         spec->classes, 1, err, sizeof err) != 0)
        cbd_fail(CBD_EXIT_USAGE, "%s", err);
    const int64_t len = cbd_sampler_epoch_length(&sampler);
    int64_t *images = cbd_malloc((size_t)len * sizeof *images);
    uint32_t *views = cbd_malloc((size_t)len * sizeof *views);
    uint32_t *counters = cbd_calloc((size_t)spec->n, sizeof *counters);
    cbd_feature_prefetcher *pf = cbd_feature_prefetcher_create(stores, k, batch, 4, 0, err, sizeof err);
    if (!pf) cbd_fail(CBD_EXIT_FAILURE, "%s", err);
    int64_t rows = 0;
    const double t0 = cbd_now();
    for (int e = 0; e < epochs; e++) {
        cbd_sampler_epoch(&sampler, e, images);
        cbd_draw_counter_assign(counters, images, len, (uint32_t)spec->views, views);
        cbd_feature_prefetcher_begin(pf, images, views, len);
        const cbd_feature_batch *b;
        while ((b = cbd_feature_prefetcher_next(pf)) != NULL) rows += (int64_t)b->count * k;
        if (cbd_feature_prefetcher_error(pf)) cbd_fail(CBD_EXIT_FAILURE, "%s", cbd_feature_prefetcher_error(pf));
    }
    const double seconds = cbd_now() - t0;
    cbd_feature_prefetcher_destroy(pf);
    for (int i = 0; i < k; i++) cbd_feature_store_close(stores[i]);
    cbd_sampler_free(&sampler);
    free(images);
    free(views);
    free(counters);
    return rows / seconds;
}

int main(int argc, char **argv) {
    int k = 4, batch = 128, epochs = 2;
    static const struct option opts[] = {{"k", required_argument, 0, 'k'}, {"batch", required_argument, 0, 'b'},
                                         {"epochs", required_argument, 0, 'e'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'k': k = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'e': epochs = atoi(optarg); break;
        case 'h': printf("usage: cbd-bench-store [--k 4] [--batch 128] [--epochs 2] STORE.h5\n"); return 0;
        default: return CBD_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || k < 1 || k > 16 || batch < 1 || epochs < 1)
        cbd_fail(CBD_EXIT_USAGE, "usage: cbd-bench-store [--k 1..16] [--batch B] [--epochs E] STORE.h5");
    const char *path = argv[optind];
    int in_memory;
    double disk = run(path, k, batch, epochs, 0, &in_memory);
    printf("%s: K = %d, batch %d, class-balanced order, from disk:   %.0f rows/s\n", path, k, batch, disk);
    double memory = run(path, k, batch, epochs, (int64_t)1 << 40, &in_memory);
    printf("%s: K = %d, batch %d, class-balanced order, from memory: %.0f rows/s%s\n", path, k, batch, memory,
           in_memory ? "" : " (store did not fit the cap)");
    return 0;
}
