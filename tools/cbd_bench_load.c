/* cbd-bench-load: how many training views per second the loader makes
 * (JPEG decode + augmentation) from a manifest of image files.
 *
 *   cbd-bench-load [--size 32] [--crop pad_random|random_resized] [--workers 1]
 *                  [--batch 128] [--images N] [--json] MANIFEST
 *
 * The loader runs ahead of nothing: the consumer takes batches as fast as the
 * workers make them, so the figure is the loading ceiling to set against the
 * training step's images/s. Views follow the training recipe: pad_random
 * (pad 4, flip) for small images, random_resized (scale 0.08..1, flip) with
 * a 256-pixel shorter side on decode for ImageNet-sized ones. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/log.h"
#include "views/loader.h"
#include "training/progress.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: cbd-bench-load [--size S] [--crop pad_random|random_resized] [--workers W]\n"
            "                      [--batch B] [--images N] [--json] MANIFEST\n");
}

int main(int argc, char **argv) {
    int size = 32, workers = 1, batch = 128, json = 0;
    long long images = 0;
    const char *crop = "pad_random";
    static const struct option opts[] = {
        {"size", required_argument, 0, 's'},   {"crop", required_argument, 0, 'c'},
        {"workers", required_argument, 0, 'w'}, {"batch", required_argument, 0, 'b'},
        {"images", required_argument, 0, 'n'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': size = atoi(optarg); break;
        case 'c': crop = optarg; break;
        case 'w': workers = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'n': images = atoll(optarg); break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CBD_EXIT_USAGE;
        }
    }
    const int resized = strcmp(crop, "random_resized") == 0;
    if (optind != argc - 1 || size < 8 || workers < 0 || batch < 1 || images < 0 ||
        (!resized && strcmp(crop, "pad_random") != 0)) {
        usage(stderr);
        return CBD_EXIT_USAGE;
    }
    char err[1024];
    cbd_dataset_source src = {.path = argv[optind], .channels = 3, .resize = resized ? 256 : 0};
    cbd_dataset *ds = cbd_dataset_open(&src, err, sizeof err);
    if (!ds) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    const int64_t count = cbd_dataset_count(ds);
    if (count < 1) cbd_fail(CBD_EXIT_USAGE, "%s: no images", argv[optind]);
    if (images == 0) images = count;

    cbd_augment_config aug = {.out_size = size, .out_channels = 3, .flip = 1,
                              .mean = {0.5f, 0.5f, 0.5f}, .std = {0.25f, 0.25f, 0.25f}};
    if (resized) {
        aug.crop = CBD_CROP_RANDOM_RESIZED;
        aug.scale_min = 0.08f, aug.scale_max = 1.0f;
        aug.ratio_min = 0.75f, aug.ratio_max = 4.0f / 3.0f;
    } else {
        aug.crop = CBD_CROP_PAD_RANDOM;
        aug.pad = 4;
    }
    if (cbd_augment_config_check(&aug, err, sizeof err) != 0) cbd_fail(CBD_EXIT_USAGE, "%s", err);
    cbd_loader_config lc = {.dataset = ds, .augment = &aug, .seed = 1, .batch_size = batch,
                            .workers = workers};
    cbd_loader *loader = cbd_loader_create(&lc, err, sizeof err);
    if (!loader) cbd_fail(CBD_EXIT_FAILURE, "%s", err);

    /* images visited in order, wrapping, each visit a new view */
    int64_t *indices = cbd_malloc((size_t)images * sizeof *indices);
    uint32_t *views = cbd_malloc((size_t)images * sizeof *views);
    for (int64_t i = 0; i < images; i++) {
        indices[i] = i % count;
        views[i] = (uint32_t)(i / count);
    }
    const double t0 = cbd_now();
    cbd_loader_begin(loader, indices, views, images);
    int64_t got = 0;
    const cbd_batch *b;
    while ((b = cbd_loader_next(loader)) != NULL) got += b->count;
    const double seconds = cbd_now() - t0;
    const char *why = cbd_loader_error(loader);
    if (why) cbd_fail(CBD_EXIT_FAILURE, "%s", why);
    cbd_loader_stats st;
    cbd_loader_get_stats(loader, &st);
    const double rate = (double)got / seconds;
    if (json)
        printf("{\"engine\": \"cbd\", \"case\": \"load_%d\", \"workers\": %d, \"images\": %lld, "
               "\"seconds\": %.3f, \"images_per_s\": %.1f, \"read_s\": %.3f, \"augment_s\": %.3f}\n",
               size, workers, (long long)got, seconds, rate, st.read_s, st.augment_s);
    else
        printf("loader %dx%d %s, %d workers: %lld views in %.2f s, %.0f views/s "
               "(decode %.2f s, augment %.2f s summed over workers)\n",
               size, size, crop, workers, (long long)got, seconds, rate, st.read_s, st.augment_s);
    free(indices);
    free(views);
    cbd_loader_destroy(loader);
    cbd_dataset_close(ds);
    return 0;
}
