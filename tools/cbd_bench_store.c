/* cbd-bench-store: how fast the background reader delivers feature stores'
 * rows in the order the student asks for them (class-balanced draws, view
 * k mod S for the k-th draw of an image), from disk and from memory.
 *
 *   cbd-bench-store [--k K] [--batch 128] [--epochs 2] [--cold] STORE.h5 ...
 *
 * Each store is one teacher's; with one store and --k K it is opened K times
 * (as K teachers' stores would be). --cold first drops the stores' pages
 * from the page cache (posix_fadvise DONTNEED, no privileges needed) and
 * says how much of them was still resident, so "from disk" means the disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn/log.h"
#include "training/progress.h"
#include "views/sampler.h"
#include "store/feature_prefetch.h"
#include "store/feature_store.h"

#define MAX_STORES 16

/* Share of the file's pages in the page cache (mincore of a mapping). */
static double resident_share(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) cbd_fail(CBD_EXIT_USAGE, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return -1;
    const long page = sysconf(_SC_PAGESIZE);
    const size_t pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = cbd_malloc(pages);
    size_t in = 0;
    if (mincore(map, (size_t)st.st_size, vec) == 0)
        for (size_t i = 0; i < pages; i++) in += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)st.st_size);
    return (double)in / (double)pages;
}

static void drop_from_page_cache(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) cbd_fail(CBD_EXIT_USAGE, "%s: %s", path, strerror(errno));
    int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    if (rc != 0) cbd_fail(CBD_EXIT_FAILURE, "%s: posix_fadvise: %s", path, strerror(rc));
}

static double run(char *const *paths, int k, int batch, int epochs, int64_t cap, int *in_memory) {
    char err[1024];
    cbd_feature_store *stores[MAX_STORES];
    for (int i = 0; i < k; i++) {
        stores[i] = cbd_feature_store_open(paths[i], NULL, cap, err, sizeof err);
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

static const char usage[] = "usage: cbd-bench-store [--k 1..16] [--batch B] [--epochs E] [--cold] STORE.h5 ...";

int main(int argc, char **argv) {
    int k = 0, batch = 128, epochs = 2, cold = 0;
    static const struct option opts[] = {{"k", required_argument, 0, 'k'},      {"batch", required_argument, 0, 'b'},
                                         {"epochs", required_argument, 0, 'e'}, {"cold", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'k': k = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'e': epochs = atoi(optarg); break;
        case 'c': cold = 1; break;
        case 'h': printf("%s\n", usage); return 0;
        default: return CBD_EXIT_USAGE;
        }
    }
    const int given = argc - optind;
    if (given < 1 || given > MAX_STORES || k < 0 || k > MAX_STORES || batch < 1 || epochs < 1 ||
        (given > 1 && k != 0 && k != given))
        cbd_fail(CBD_EXIT_USAGE, "%s (several stores: K is their number)", usage);
    if (k == 0) k = given > 1 ? given : 4;
    char *paths[MAX_STORES];
    for (int i = 0; i < k; i++) paths[i] = argv[optind + (given > 1 ? i : 0)];
    const char *what = given > 1 ? "stores" : argv[optind];
    int in_memory;
    if (cold) {
        double before = 0, after = 0;
        for (int i = 0; i < given; i++) {
            before += resident_share(argv[optind + i]) / given;
            drop_from_page_cache(argv[optind + i]);
            after += resident_share(argv[optind + i]) / given;
        }
        printf("%s: page cache held %.1f%% of the stores, %.1f%% after dropping them\n", what, 100 * before,
               100 * after);
    }
    const double disk = run(paths, k, batch, epochs, 0, &in_memory);
    printf("%s: K = %d, batch %d, class-balanced order, from disk%s:   %.0f rows/s\n", what, k, batch,
           cold ? " (cold)" : "", disk);
    const double memory = run(paths, k, batch, epochs, (int64_t)1 << 40, &in_memory);
    printf("%s: K = %d, batch %d, class-balanced order, from memory: %.0f rows/s%s\n", what, k, batch, memory,
           in_memory ? "" : " (store did not fit the cap)");
    return 0;
}
