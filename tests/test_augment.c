/* Augmented views: bit-identical for the same (seed, image, view) across
 * calls, threads and orders; crops where the random numbers say; flips that
 * flip; the centre view without randomness; normalisation, shapes, noise
 * statistics, grayscale and the colour jitter's invariants. */
#include <pthread.h>
#include <string.h>

#include "nn/log.h"
#include "views/augment.h"
#include "tests/test_util.h"

static cbd_image make_image(int w, int h, int c) {
    cbd_image img = {0};
    img.width = w;
    img.height = h;
    img.channels = c;
    img.capacity = (size_t)w * h * c;
    img.pixels = malloc(img.capacity);
    return img;
}

/* Random pixels from the test stream. */
static cbd_image random_image(int w, int h, int c, uint64_t seed) {
    cbd_image img = make_image(w, h, c);
    for (size_t e = 0; e < img.capacity; e++)
        img.pixels[e] = (uint8_t)(cbd_rng_block(seed, CBD_RNG_STREAM_TEST, e, 9).v[0] >> 24);
    return img;
}

/* Pixels that say where they are: channel 0 = x + 1, 1 = y + 1, 2 = 200. */
static cbd_image coordinate_image(int w, int h) {
    cbd_image img = make_image(w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cbd_image_row(&img, y) + (size_t)x * 3;
            p[0] = (uint8_t)(x + 1);
            p[1] = (uint8_t)(y + 1);
            p[2] = 200;
        }
    return img;
}

static cbd_augment_config base_config(int size, int channels) {
    cbd_augment_config c;
    memset(&c, 0, sizeof c);
    c.out_size = size;
    c.out_channels = channels;
    c.crop = CBD_CROP_NONE;
    for (int k = 0; k < 3; k++) {
        c.mean[k] = 0.0f;
        c.std[k] = 1.0f;
    }
    return c;
}

/* Everything on: random-resized crop, flip, jitter, grayscale, noise. */
static cbd_augment_config full_config(void) {
    cbd_augment_config c = base_config(24, 3);
    c.crop = CBD_CROP_RANDOM_RESIZED;
    c.scale_min = 0.05f;
    c.scale_max = 1.0f;
    c.ratio_min = 3.0f / 4.0f;
    c.ratio_max = 4.0f / 3.0f;
    c.flip = 1;
    c.color = 1;
    c.brightness = c.contrast = c.saturation = 0.4f;
    c.hue = 0.1f;
    c.jitter_p = 0.8f;
    c.grayscale_p = 0.2f;
    c.noise_sigma = 0.01f;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(c.mean, mean, sizeof mean);
    memcpy(c.std, std, sizeof std);
    return c;
}

static inline float norm_of(uint8_t v, float mean, float std) { return ((float)v / 255.0f - mean) / std; }

/* ---- threads ---- */

#define T_IMAGES 16
#define T_VIEWS 4
typedef struct {
    const cbd_augment_config *cfg;
    const cbd_image *images;
    float *out;   /* [T_IMAGES * T_VIEWS][floats] */
    size_t floats;
    int first, step, reverse;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    cbd_augment_scratch sc = {0};
    const int total = T_IMAGES * T_VIEWS;
    for (int k = 0; k < total; k++) {
        const int t = j->reverse ? total - 1 - k : k;
        if (t % j->step != j->first) continue;
        const int i = t / T_VIEWS, s = t % T_VIEWS;
        cbd_augment_view(j->cfg, &j->images[i], 77, 1000 + i, (uint32_t)s, j->out + (size_t)t * j->floats, &sc);
    }
    cbd_augment_scratch_free(&sc);
    return NULL;
}

int main(void) {
    char err[256];
    cbd_augment_scratch sc = {0};

    /* ---- config checks ---- */
    {
        cbd_augment_config c = full_config();
        CHECK(cbd_augment_config_check(&c, err, sizeof err) == 0, "%s", err);
        c.std[1] = 0.0f;
        CHECK(cbd_augment_config_check(&c, err, sizeof err) != 0 && strstr(err, "std[1]"), "std 0: %s", err);
        c = full_config();
        c.out_channels = 2;
        CHECK(cbd_augment_config_check(&c, err, sizeof err) != 0, "2 channels accepted");
        c = full_config();
        c.scale_min = 0.0f;
        CHECK(cbd_augment_config_check(&c, err, sizeof err) != 0 && strstr(err, "scale"), "scale 0: %s", err);
        c = full_config();
        c.jitter_p = 1.5f;
        CHECK(cbd_augment_config_check(&c, err, sizeof err) != 0, "jitter_p 1.5 accepted");
        char text[512];
        c = full_config();
        cbd_augment_config_describe(&c, text, sizeof text);
        CHECK(strstr(text, "crop=random_resized") && strstr(text, "noise=0.00999") && strstr(text, "std=0.229"),
              "description: %s", text);
    }

    /* ---- normalisation and shape: a constant image ---- */
    {
        cbd_image img = make_image(20, 20, 3);
        memset(img.pixels, 77, img.capacity);
        cbd_augment_config c = base_config(16, 3);
        const float mean[3] = {0.1f, 0.5f, 0.9f}, std[3] = {0.5f, 0.25f, 2.0f};
        memcpy(c.mean, mean, sizeof mean);
        memcpy(c.std, std, sizeof std);
        float out[3 * 16 * 16 + 1];
        out[3 * 16 * 16] = 12345.0f; /* guard */
        cbd_augment_center(&c, &img, out, &sc);
        int bad = 0;
        for (int ch = 0; ch < 3; ch++)
            for (int e = 0; e < 256; e++) bad += out[ch * 256 + e] != norm_of(77, mean[ch], std[ch]);
        CHECK(bad == 0, "%d values differ from (77/255 - mean) / std", bad);
        CHECK(out[3 * 16 * 16] == 12345.0f, "wrote past [C, S, S]");
        CHECK(fabsf(out[0] - (77.0f / 255.0f - 0.1f) / 0.5f) < 1e-6f, "channel 0 value %g", out[0]);
        cbd_image_free(&img);
    }

    /* ---- centre view: the middle window, zero-padded, no randomness ---- */
    {
        cbd_image img = coordinate_image(40, 36);
        cbd_augment_config c = base_config(32, 3);
        float a[3 * 32 * 32], b[3 * 32 * 32];
        cbd_augment_center(&c, &img, a, &sc);
        cbd_augment_scratch fresh = {0};
        cbd_augment_center(&c, &img, b, &fresh);
        CHECK(memcmp(a, b, sizeof a) == 0, "centre view differs between calls");
        /* x offset (40 - 32) / 2 = 4, y offset (36 - 32) / 2 = 2 */
        int bad = 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                bad += a[y * 32 + x] != norm_of((uint8_t)(x + 4 + 1), 0, 1) ||
                       a[1024 + y * 32 + x] != norm_of((uint8_t)(y + 2 + 1), 0, 1);
        CHECK(bad == 0, "centre crop of 40x36: %d pixels misplaced", bad);
        /* crop = none with flip off is the centre view whatever seed and view */
        cbd_augment_view(&c, &img, 99, 5, 3, b, &fresh);
        CHECK(memcmp(a, b, sizeof a) == 0, "crop = none differs from the centre view");
        cbd_augment_scratch_free(&fresh);
        cbd_image_free(&img);

        /* a 28x28 image in a 32 view: a 2-pixel zero border */
        img = coordinate_image(28, 28);
        cbd_augment_center(&c, &img, a, &sc);
        bad = 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                const int inside = x >= 2 && x < 30 && y >= 2 && y < 30;
                bad += a[y * 32 + x] != (inside ? norm_of((uint8_t)(x - 2 + 1), 0, 1) : 0.0f) ||
                       a[2048 + y * 32 + x] != (inside ? norm_of(200, 0, 1) : 0.0f);
            }
        CHECK(bad == 0, "centre view of 28x28 in 32: %d pixels wrong", bad);
        cbd_image_free(&img);
    }

    /* ---- pad_random: the window lands where the random numbers say ---- */
    {
        cbd_image img = coordinate_image(32, 32);
        cbd_augment_config c = base_config(32, 3);
        c.crop = CBD_CROP_PAD_RANDOM;
        c.pad = 4;
        c.flip = 1;
        float out[3 * 32 * 32];
        int seen[9][9] = {{0}}, flips = 0, bad_views = 0;
        const uint64_t seed = 2024;
        for (uint32_t v = 0; v < 400; v++) {
            const int64_t i = 31;
            cbd_augment_view(&c, &img, seed, i, v, out, &sc);
            /* independent reading of the documented layout */
            const cbd_philox_block off = cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, (uint64_t)i, v * 64 + 2);
            const cbd_philox_block ch = cbd_rng_block(seed, CBD_RNG_STREAM_AUGMENT, (uint64_t)i, v * 64 + 0);
            const int ox = -4 + (int)(((uint64_t)off.v[0] * 9) >> 32);
            const int oy = -4 + (int)(((uint64_t)off.v[1] * 9) >> 32);
            const int flip = (int)(ch.v[0] >> 31);
            seen[oy + 4][ox + 4]++;
            flips += flip;
            int bad = 0;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    const int sx = ox + (flip ? 31 - x : x), sy = oy + y;
                    const int inside = sx >= 0 && sx < 32 && sy >= 0 && sy < 32;
                    for (int k = 0; k < 3; k++) {
                        const uint8_t want = inside ? cbd_image_row(&img, sy)[sx * 3 + k] : 0;
                        bad += out[k * 1024 + y * 32 + x] != norm_of(want, 0, 1);
                    }
                }
            bad_views += bad != 0;
            cbd_augment_params p;
            cbd_augment_draw(&c, 32, 32, seed, i, v, &p);
            bad_views += p.x0 != ox || p.y0 != oy || p.flip != flip || p.w != 32 || p.h != 32;
        }
        CHECK(bad_views == 0, "%d of 400 pad_random views are not where the random numbers put them", bad_views);
        int hit = 0;
        for (int a = 0; a < 9; a++)
            for (int b = 0; b < 9; b++) hit += seen[a][b] > 0;
        CHECK(hit >= 75, "only %d of 81 offsets seen in 400 views", hit);
        CHECK(flips > 160 && flips < 240, "%d flips in 400 views", flips);
        cbd_image_free(&img);

        /* larger image: offsets in [-pad, W - S + pad] */
        img = coordinate_image(40, 50);
        int lo = 100, hi = -100;
        for (uint32_t v = 0; v < 300; v++) {
            cbd_augment_params p;
            cbd_augment_draw(&c, 40, 50, seed, 3, v, &p);
            if (p.x0 < lo) lo = p.x0;
            if (p.x0 > hi) hi = p.x0;
            CHECK(p.y0 >= -4 && p.y0 <= 50 - 32 + 4, "y offset %d", p.y0);
        }
        CHECK(lo == -4 && hi == 40 - 32 + 4, "x offsets span %d..%d, want -4..12", lo, hi);
        cbd_image_free(&img);
    }

    /* ---- flip is a mirror of the unflipped view ---- */
    {
        cbd_image img = random_image(30, 26, 3, 1);
        cbd_augment_config c = base_config(24, 3);
        float center[3 * 24 * 24], out[3 * 24 * 24];
        cbd_augment_center(&c, &img, center, &sc);
        c.flip = 1;
        int flips = 0, bad = 0;
        for (uint32_t v = 0; v < 100; v++) {
            cbd_augment_params p;
            cbd_augment_draw(&c, img.width, img.height, 5, 8, v, &p);
            cbd_augment_view(&c, &img, 5, 8, v, out, &sc);
            flips += p.flip;
            for (int k = 0; k < 3; k++)
                for (int y = 0; y < 24; y++)
                    for (int x = 0; x < 24; x++)
                        bad += out[k * 576 + y * 24 + x] != center[k * 576 + y * 24 + (p.flip ? 23 - x : x)];
        }
        CHECK(bad == 0, "%d pixels of flipped / unflipped views are wrong", bad);
        CHECK(flips > 30 && flips < 70, "%d flips in 100 views", flips);
        cbd_image_free(&img);
    }

    /* ---- random-resized crop: boxes, identity, constant images ---- */
    {
        cbd_augment_config c = full_config();
        c.color = 0;
        c.flip = 0;
        int fallback = 0, bad = 0;
        for (uint32_t v = 0; v < 500; v++) {
            cbd_augment_params p;
            cbd_augment_draw(&c, 64, 48, 3, 17, v, &p);
            bad += p.x0 < 0 || p.y0 < 0 || p.w < 1 || p.h < 1 || p.x0 + p.w > 64 || p.y0 + p.h > 48 || !p.resize;
            const double area = (double)p.w * p.h / (64.0 * 48.0), ratio = (double)p.w / p.h;
            if (area < 0.04 || area > 1.0 || ratio < 0.7 || ratio > 1.4) fallback++;
        }
        CHECK(bad == 0, "%d boxes outside the image", bad);
        CHECK(fallback < 25, "%d of 500 boxes outside the scale / ratio ranges", fallback);
        /* scale 1, ratio 1 on a square image of the view size: the image itself */
        cbd_image img = random_image(24, 24, 3, 2);
        c.scale_min = c.scale_max = 1.0f;
        c.ratio_min = c.ratio_max = 1.0f;
        float a[3 * 24 * 24], b[3 * 24 * 24];
        cbd_augment_view(&c, &img, 1, 2, 3, a, &sc);
        cbd_augment_center(&c, &img, b, &sc);
        CHECK(memcmp(a, b, sizeof a) == 0, "a full-image crop at the view size is not the image");
        cbd_image_free(&img);
        /* a constant image stays constant through up- and down-sampling */
        c = full_config();
        c.color = 0;
        for (int w = 10; w <= 90; w += 40) {
            img = make_image(w, w + 3, 3);
            memset(img.pixels, 131, img.capacity);
            int off = 0;
            for (uint32_t v = 0; v < 20; v++) {
                cbd_augment_view(&c, &img, 1, 2, v, a, &sc);
                for (int e = 0; e < 3 * 576; e++) off += a[e] != norm_of(131, c.mean[e / 576], c.std[e / 576]);
            }
            CHECK(off == 0, "constant %dx%d image: %d values changed by resizing", w, w + 3, off);
            cbd_image_free(&img);
        }
        /* a horizontal ramp stays monotone after resizing */
        img = make_image(80, 60, 1);
        for (int y = 0; y < 60; y++)
            for (int x = 0; x < 80; x++) cbd_image_row(&img, y)[x] = (uint8_t)(3 * x);
        c = base_config(24, 1);
        c.crop = CBD_CROP_RANDOM_RESIZED;
        c.scale_min = 0.3f;
        c.scale_max = 1.0f;
        c.ratio_min = 0.75f;
        c.ratio_max = 1.3333f;
        int nonmono = 0;
        for (uint32_t v = 0; v < 20; v++) {
            cbd_augment_view(&c, &img, 4, 4, v, a, &sc);
            for (int y = 0; y < 24; y++)
                for (int x = 1; x < 24; x++) nonmono += a[y * 24 + x] < a[y * 24 + x - 1];
        }
        CHECK(nonmono == 0, "%d decreasing steps in resized ramps", nonmono);
        cbd_image_free(&img);
    }

    /* ---- determinism: same (seed, i, s) gives the same bits; others differ ---- */
    cbd_image images[T_IMAGES];
    for (int i = 0; i < T_IMAGES; i++) images[i] = random_image(40 + i, 36 + 2 * i, 3, 100 + (uint64_t)i);
    {
        cbd_augment_config c = full_config();
        const size_t floats = 3 * 24 * 24;
        float *a = malloc(floats * sizeof *a), *b = malloc(floats * sizeof *b);
        int same = 0, differ = 0;
        for (int i = 0; i < 6; i++)
            for (uint32_t s = 0; s < 6; s++) {
                cbd_augment_view(&c, &images[i], 77, i, s, a, &sc);
                cbd_augment_scratch fresh = {0};
                cbd_augment_view(&c, &images[i], 77, i, s, b, &fresh);
                cbd_augment_scratch_free(&fresh);
                same += memcmp(a, b, floats * sizeof *a) == 0;
                cbd_augment_view(&c, &images[i], 77, i, s + 1, b, &sc);
                differ += memcmp(a, b, floats * sizeof *a) != 0;
            }
        CHECK(same == 36, "%d of 36 views repeat bit for bit", same);
        CHECK(differ == 36, "%d of 36 views differ from the next view", differ);
        /* the same pixels under another image index or seed give another view */
        cbd_augment_view(&c, &images[0], 77, 0, 0, a, &sc);
        cbd_augment_view(&c, &images[0], 77, 1, 0, b, &sc);
        CHECK(memcmp(a, b, floats * sizeof *a) != 0, "image index does not change the view");
        cbd_augment_view(&c, &images[0], 78, 0, 0, b, &sc);
        CHECK(memcmp(a, b, floats * sizeof *a) != 0, "seed does not change the view");
        free(a);
        free(b);
    }

    /* ---- across threads and orders ---- */
    {
        cbd_augment_config c = full_config();
        const size_t floats = 3 * 24 * 24, total = T_IMAGES * T_VIEWS;
        float *ref = malloc(total * floats * sizeof *ref), *got = malloc(total * floats * sizeof *got);
        job one = {&c, images, ref, floats, 0, 1, 0};
        run_job(&one);
        job rev = {&c, images, got, floats, 0, 1, 1};
        memset(got, 0, total * floats * sizeof *got);
        run_job(&rev);
        CHECK(memcmp(ref, got, total * floats * sizeof *ref) == 0, "reverse order changes views");
        memset(got, 0, total * floats * sizeof *got);
        pthread_t th[4];
        job jobs[4];
        for (int k = 0; k < 4; k++) {
            jobs[k] = (job){&c, images, got, floats, k, 4, k % 2};
            CHECK(pthread_create(&th[k], NULL, run_job, &jobs[k]) == 0, "pthread_create");
        }
        for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
        int bad = 0;
        for (size_t t = 0; t < total; t++) bad += memcmp(ref + t * floats, got + t * floats, floats * sizeof *ref) != 0;
        CHECK(bad == 0, "%d of %zu views differ between 1 and 4 threads", bad, total);
        /* all the branches were taken somewhere in these views */
        int jit = 0, gray = 0, flip = 0;
        for (int i = 0; i < T_IMAGES; i++)
            for (uint32_t s = 0; s < T_VIEWS; s++) {
                cbd_augment_params p;
                cbd_augment_draw(&c, images[i].width, images[i].height, 77, 1000 + i, s, &p);
                jit += p.jitter;
                gray += p.grayscale;
                flip += p.flip;
            }
        CHECK(jit > 0 && jit < 64 && gray > 0 && gray < 64 && flip > 0 && flip < 64,
              "branches: %d jittered, %d gray, %d flipped of 64", jit, gray, flip);
        free(ref);
        free(got);
    }

    /* ---- noise: mean 0, standard deviation sigma / std ---- */
    {
        cbd_image img = make_image(64, 64, 3);
        memset(img.pixels, 128, img.capacity);
        cbd_augment_config c = base_config(64, 3);
        c.color = 1;
        c.noise_sigma = 0.05f;
        for (int k = 0; k < 3; k++) {
            c.mean[k] = 0.5f;
            c.std[k] = 0.25f;
        }
        const size_t count = 3 * 64 * 64;
        float *out = malloc(count * sizeof *out);
        cbd_augment_view(&c, &img, 8, 9, 1, out, &sc);
        const float base = norm_of(128, 0.5f, 0.25f);
        double s1 = 0, s2 = 0;
        for (size_t e = 0; e < count; e++) {
            const double d = out[e] - base;
            s1 += d;
            s2 += d * d;
        }
        const double mean = s1 / count, sd = sqrt(s2 / count - mean * mean), want = 0.05 / 0.25;
        CHECK(fabs(mean) < 4 * want / sqrt((double)count), "noise mean %g", mean);
        CHECK(fabs(sd / want - 1.0) < 0.04, "noise std %g, want %g", sd, want);
        /* another view has other noise; the same view the same */
        float *other = malloc(count * sizeof *other);
        cbd_augment_view(&c, &img, 8, 9, 2, other, &sc);
        CHECK(memcmp(out, other, count * sizeof *out) != 0, "noise repeats across views");
        cbd_augment_view(&c, &img, 8, 9, 1, other, &sc);
        CHECK(memcmp(out, other, count * sizeof *out) == 0, "noise differs between calls");
        free(out);
        free(other);
        cbd_image_free(&img);
    }

    /* ---- grayscale: three equal channels ---- */
    {
        cbd_image img = random_image(20, 20, 3, 4);
        cbd_augment_config c = base_config(16, 3);
        c.color = 1;
        c.grayscale_p = 1.0f;
        float out[3 * 256], plain[3 * 256];
        cbd_augment_view(&c, &img, 1, 1, 0, out, &sc);
        cbd_augment_center(&c, &img, plain, &sc);
        int unequal = 0, off = 0;
        for (int e = 0; e < 256; e++) {
            unequal += out[e] != out[256 + e] || out[e] != out[512 + e];
            const float l = 0.2989f * plain[e] + 0.587f * plain[256 + e] + 0.114f * plain[512 + e];
            off += fabsf(out[e] - l) > 1e-6f;
        }
        CHECK(unequal == 0, "%d gray pixels with unequal channels", unequal);
        CHECK(off == 0, "%d gray pixels are not the luma", off);
        cbd_image_free(&img);

        /* a 1-channel image in a 3-channel view: repeated; saturation, hue and grayscale do nothing */
        img = random_image(20, 20, 1, 5);
        c = base_config(16, 3);
        cbd_augment_center(&c, &img, out, &sc);
        unequal = 0;
        for (int e = 0; e < 256; e++) unequal += out[e] != out[256 + e] || out[e] != out[512 + e];
        CHECK(unequal == 0, "1-channel image: %d pixels with unequal channels", unequal);
        c = full_config();
        c.out_size = 16;
        c.color = 0;
        cbd_augment_view(&c, &img, 1, 1, 0, out, &sc);
        unequal = 0;
        for (int e = 0; e < 256; e++)
            unequal += fabsf((out[e] * c.std[0] + c.mean[0]) - (out[256 + e] * c.std[1] + c.mean[1])) > 1e-6f ||
                       fabsf((out[e] * c.std[0] + c.mean[0]) - (out[512 + e] * c.std[2] + c.mean[2])) > 1e-6f;
        CHECK(unequal == 0, "1-channel image, resized crop: %d pixels with unequal channels", unequal);
        cbd_image_free(&img);
        img = random_image(20, 20, 1, 5);
        c = base_config(16, 1);
        c.color = 1;
        c.jitter_p = 1.0f;
        c.saturation = 0.9f;
        c.hue = 0.5f;
        c.grayscale_p = 1.0f;
        cbd_augment_view(&c, &img, 1, 1, 0, out, &sc);
        cbd_augment_center(&c, &img, plain, &sc);
        CHECK(memcmp(out, plain, 256 * sizeof *out) == 0, "saturation / hue / grayscale changed a 1-channel image");
        cbd_image_free(&img);
    }

    /* ---- colour jitter ---- */
    {
        cbd_image img = random_image(16, 16, 3, 6);
        cbd_augment_config c = base_config(16, 3);
        float out[3 * 256], plain[3 * 256];
        cbd_augment_center(&c, &img, plain, &sc);
        c.color = 1;
        c.jitter_p = 1.0f;
        /* brightness alone: clamp(f * x) with f from the view's factor */
        c.brightness = 0.5f;
        int bad = 0, in_range = 1;
        for (uint32_t v = 0; v < 20; v++) {
            cbd_augment_params p;
            cbd_augment_draw(&c, 16, 16, 3, 3, v, &p);
            in_range &= p.brightness >= 0.5f && p.brightness <= 1.5f;
            cbd_augment_view(&c, &img, 3, 3, v, out, &sc);
            for (int e = 0; e < 768; e++) {
                float want = p.brightness * plain[e];
                want = want > 1.0f ? 1.0f : want;
                bad += out[e] != want;
            }
        }
        CHECK(bad == 0, "brightness: %d values differ from clamp(f * x)", bad);
        CHECK(in_range, "brightness factor outside [0.5, 1.5]");
        /* hue alone keeps each pixel's max (value) and its spread (saturation) */
        c.brightness = 0.0f;
        c.hue = 0.5f;
        int drift = 0;
        for (uint32_t v = 0; v < 10; v++) {
            cbd_augment_view(&c, &img, 3, 3, v, out, &sc);
            for (int e = 0; e < 256; e++) {
                const float mx0 = fmaxf(plain[e], fmaxf(plain[256 + e], plain[512 + e]));
                const float mn0 = fminf(plain[e], fminf(plain[256 + e], plain[512 + e]));
                const float mx1 = fmaxf(out[e], fmaxf(out[256 + e], out[512 + e]));
                const float mn1 = fminf(out[e], fminf(out[256 + e], out[512 + e]));
                drift += fabsf(mx0 - mx1) > 1e-5f || fabsf(mn0 - mn1) > 1e-5f;
            }
        }
        CHECK(drift == 0, "hue: %d pixels changed value or saturation", drift);
        /* contrast 0 .. 2 keeps the mean gray level (away from clipping) */
        c.hue = 0.0f;
        c.contrast = 0.5f;
        cbd_image mid = make_image(16, 16, 3);
        for (size_t e = 0; e < mid.capacity; e++) mid.pixels[e] = (uint8_t)(100 + e % 50);
        cbd_augment_center(&c, &mid, plain, &sc);
        cbd_augment_view(&c, &mid, 3, 3, 0, out, &sc);
        double g0 = 0, g1 = 0;
        for (int e = 0; e < 256; e++) {
            g0 += 0.2989 * plain[e] + 0.587 * plain[256 + e] + 0.114 * plain[512 + e];
            g1 += 0.2989 * out[e] + 0.587 * out[256 + e] + 0.114 * out[512 + e];
        }
        CHECK(fabs(g0 - g1) / 256 < 1e-4, "contrast moved the mean gray level %g -> %g", g0 / 256, g1 / 256);
        /* jitter_p = 0: nothing changes */
        c.jitter_p = 0.0f;
        cbd_augment_view(&c, &mid, 3, 3, 0, out, &sc);
        CHECK(memcmp(out, plain, sizeof out) == 0, "jitter_p = 0 changed the view");
        cbd_image_free(&mid);
        cbd_image_free(&img);
    }

    for (int i = 0; i < T_IMAGES; i++) cbd_image_free(&images[i]);
    cbd_augment_scratch_free(&sc);
    return test_finish("augment");
}
