/* Feature store: float16 conversion (portable and F16C against each other
 * and against the nearest-value definition), round trips in float32 (exact)
 * and float16 (the store's own rounding) with and without logits, the
 * in-memory and from-disk read paths agreeing bit for bit, the on-disk
 * layout (types, chunks), every opening refusal on a crafted file, verify
 * finding injected NaN/Inf, and resumed dumps (closed early, or killed with
 * SIGKILL in the middle of a view) ending identical to an uninterrupted one.
 * usage: test_feature_store WORK_DIR (an empty folder) */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn/log.h"
#include "nn/rng.h"
#include "store/feature_store.h"
#include "store/half.h"
#include "test_util.h"

static void to_stream(void *arg, const char *line);


static int exists(const char *path) { return access(path, F_OK) == 0; }

static uint32_t bits_of(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return x;
}

static float float_of(uint32_t x) {
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* ---- half conversion ------------------------------------------------------------ */

/* True when h is a correctly rounded half of the finite float f: no half is
 * nearer, and on a tie h is even (or f rounds past 65504 to infinity). */
static int nearest_half(float f, uint16_t h) {
    const double x = f;
    const uint16_t sign = (uint16_t)(signbit(f) ? 0x8000 : 0);
    if ((h & 0x8000) != sign) return 0;
    if ((h & 0x7fff) == 0x7c00) return fabs(x) >= 65520.0;
    if ((h & 0x7fff) > 0x7c00) return 0;
    const double mine = cbd_half_to_float(h), err = fabs(mine - x);
    for (int step = -1; step <= 1; step += 2) {
        const int m = (h & 0x7fff) + step;
        if (m < 0 || m > 0x7bff) continue;
        const double other = fabs((double)cbd_half_to_float((uint16_t)(sign | m)) - x);
        if (other < err) return 0;
        if (other == err && (h & 1)) return 0;
    }
    return fabs(x) < 65520.0;
}

static void test_half(void) {
    printf("half: F16C %s\n", cbd_half_has_f16c() ? "available, compared with the portable code" : "not available");
    /* Every half: both decoders agree, and encoding gives the half back. */
    static uint16_t all[65536], again_p[65536], again_f[65536];
    static float dec_p[65536], dec_f[65536];
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    cbd_half_decode_portable(all, dec_p, 65536);
    cbd_half_decode_f16c(all, dec_f, 65536);
    cbd_half_encode_portable(dec_p, again_p, 65536);
    cbd_half_encode_f16c(dec_p, again_f, 65536);
    int decode_diff = 0, back_diff = 0, encode_diff = 0;
    for (int i = 0; i < 65536; i++) {
        decode_diff += bits_of(dec_p[i]) != bits_of(dec_f[i]);
        encode_diff += again_p[i] != again_f[i];
        const int nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
        back_diff += nan ? (again_p[i] | 0x200) != (i | 0x200) : again_p[i] != i;
    }
    CHECK(decode_diff == 0, "%d halves decode differently with F16C", decode_diff);
    CHECK(encode_diff == 0, "%d decoded halves encode differently with F16C", encode_diff);
    CHECK(back_diff == 0, "%d halves do not survive decode + encode", back_diff);

    /* Known values. */
    const struct {
        float f;
        uint16_t h;
    } known[] = {
        {0.0f, 0x0000},          {-0.0f, 0x8000},          {1.0f, 0x3c00},           {-2.0f, 0xc000},
        {65504.0f, 0x7bff},      {65519.0f, 0x7bff},       {65520.0f, 0x7c00},       {1e6f, 0x7c00},
        {3.99995f, 0x4400},      {0x1p-24f, 0x0001},       {0x1p-25f, 0x0000},       {0x1.8p-25f, 0x0001},
        {0x1.8p-24f, 0x0002},    {0x1p-14f, 0x0400},       {0x1.ff8p-15f, 0x03ff},   {0x1.004p0f, 0x3c01},
        {0x1.006p0f, 0x3c02},    {0x1.002p0f, 0x3c00},     {0x1.0021p0f, 0x3c01},    {-0x1p-26f, 0x8000},
        {INFINITY, 0x7c00},      {-INFINITY, 0xfc00},      {0x1p-149f, 0x0000},      {0x1.ffcp-15f, 0x0400},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        uint16_t h = cbd_half_from_float(known[k].f), hf;
        cbd_half_encode_f16c(&known[k].f, &hf, 1);
        CHECK(h == known[k].h && hf == known[k].h, "%a -> %04x portable, %04x F16C, expected %04x",
              (double)known[k].f, h, hf, known[k].h);
    }
    CHECK((cbd_half_from_float(NAN) & 0x7e00) == 0x7e00, "NaN encodes to %04x", cbd_half_from_float(NAN));
    CHECK(isnan(cbd_half_to_float(0x7e00)) && isinf(cbd_half_to_float(0xfc00)), "NaN/Inf decode");
    CHECK(cbd_half_to_float(0x0001) == 0x1p-24f && cbd_half_to_float(0x03ff) == 0x1.ff8p-15f,
          "subnormals decode exactly");

    /* A million floats: random bits, values around the half range, and edges. */
    enum { COUNT = 1000000 };
    float *f = cbd_malloc(COUNT * sizeof *f);
    uint16_t *hp = cbd_malloc(COUNT * sizeof *hp), *hf = cbd_malloc(COUNT * sizeof *hf);
    const uint32_t edges[] = {0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000,
                              0xffc00001, 0x7f800001, 0xff80abcd, 0x7fbfffff, 0x477fefff, 0x477ff000, 0x477ff001,
                              0x33000000, 0x33000001, 0x32ffffff, 0x387fe000, 0x387ff000, 0x387fefff, 0x38800000,
                              0x3f801000, 0x3f803000, 0x407ffd00, 0x7f7fffff};
    const int n_edges = (int)(sizeof edges / sizeof edges[0]);
    for (int i = 0; i < COUNT; i++) {
        const cbd_philox_block r = cbd_rng_block(11, CBD_RNG_STREAM_TEST, (uint64_t)i, 0);
        uint32_t x;
        if (i < n_edges) x = edges[i];
        else if (i % 3 == 0) x = r.v[0];
        else {
            /* exponents 100..145 (2^-27 .. 2^18), low mantissa bits near ties */
            const uint32_t e = 100 + r.v[1] % 46, m = r.v[2] & 0x7fffff;
            const uint32_t tweak = r.v[3] % 4 == 0 ? (m & ~0x1fffu) | 0x1000u : m;
            x = (r.v[0] & 0x80000000u) | (e << 23) | tweak;
        }
        f[i] = float_of(x);
    }
    cbd_half_encode_portable(f, hp, COUNT);
    cbd_half_encode_f16c(f, hf, COUNT);
    int differ = 0, wrong = 0;
    for (int i = 0; i < COUNT; i++) {
        if (hp[i] != hf[i] && differ++ < 5)
            fprintf(stderr, "  %08x: portable %04x, F16C %04x\n", bits_of(f[i]), hp[i], hf[i]);
        if (isnan(f[i])) {
            if ((hp[i] & 0x7e00) != 0x7e00 && wrong++ < 5) fprintf(stderr, "  NaN %08x -> %04x\n", bits_of(f[i]), hp[i]);
        } else if (isinf(f[i])) {
            if (hp[i] != (signbit(f[i]) ? 0xfc00 : 0x7c00) && wrong++ < 5) fprintf(stderr, "  Inf -> %04x\n", hp[i]);
        } else if (!nearest_half(f[i], hp[i]) && wrong++ < 5) {
            fprintf(stderr, "  %a (%08x) -> %04x is not the nearest half\n", (double)f[i], bits_of(f[i]), hp[i]);
        }
    }
    CHECK(differ == 0, "%d of %d floats encode differently (portable vs F16C)", differ, COUNT);
    CHECK(wrong == 0, "%d of %d floats are not rounded to the nearest half (ties to even)", wrong, COUNT);
    /* Unaligned lengths: the F16C tails. */
    for (int len = 0; len < 20; len++) {
        float back_p[20], back_f[20];
        cbd_half_encode_f16c(f + 40, hf, (size_t)len);
        cbd_half_encode_portable(f + 40, hp, (size_t)len);
        cbd_half_decode_f16c(hp, back_f, (size_t)len);
        cbd_half_decode_portable(hp, back_p, (size_t)len);
        CHECK(memcmp(hp, hf, (size_t)len * 2) == 0 && memcmp(back_p, back_f, (size_t)len * 4) == 0,
              "length %d differs", len);
    }
    free(f);
    free(hp);
    free(hf);
}

/* ---- fixtures ------------------------------------------------------------------------ */

static void make_spec(cbd_feature_store_spec *s, int64_t n, int d, int classes, int views, cbd_store_dtype dtype,
                      int has_logits) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->d = d;
    s->classes = classes;
    s->views = views;
    s->dtype = dtype;
    s->has_logits = has_logits;
    s->manifest_digest = UINT64_C(0x1234abcd5678ef01);
    s->teacher_checkpoint_digest = UINT64_C(0xfeedbeef00c0ffee);
    s->experiment_seed = 7;
    snprintf(s->teacher, sizeof s->teacher, "t1");
    snprintf(s->augmentation, sizeof s->augmentation, "random_crop=32 pad=4 flip=0.5");
}

static int32_t *make_labels(const cbd_feature_store_spec *s) {
    int32_t *labels = cbd_malloc((size_t)s->n * sizeof *labels);
    for (int64_t i = 0; i < s->n; i++) labels[i] = (int32_t)((i * 7 + i / 3) % s->classes);
    return labels;
}

/* The value written at column k of row i of view v (v = views: the center). */
static float value_of(int logits, int64_t v, int64_t i, int k) {
    static const float edges[] = {3.99995f, 65504.0f, -65504.0f, 1e-7f, -0.0f, 0x1p-24f, 0x1.002p0f, 0.1f};
    if (!logits && v == 0 && i == 0 && k < (int)(sizeof edges / sizeof edges[0])) return edges[k];
    return 3.0f * cbd_rng_normal(77, CBD_RNG_STREAM_TEST, (uint64_t)((logits * 70001 + v) * 1000003 + i), (uint32_t)k);
}

/* What a reader returns for it. */
static float stored_value(const cbd_feature_store_spec *s, int logits, int64_t v, int64_t i, int k) {
    const float x = value_of(logits, v, i, k);
    return s->dtype == CBD_STORE_FLOAT16 ? cbd_half_to_float(cbd_half_from_float(x)) : x;
}

static void fill_rows(const cbd_feature_store_spec *s, int logits, int64_t v, int64_t first, int64_t rows, float *out) {
    const int w = logits ? s->classes : s->d;
    for (int64_t r = 0; r < rows; r++)
        for (int k = 0; k < w; k++) out[r * w + k] = value_of(logits, v, first + r, k);
}

/* Writes rows [from, to) of a view (CBD_FEATURE_WRITER_CENTER: the center)
 * in batches of 37 rows; marks it done when asked. */
static int write_view(cbd_feature_writer *w, int view, int64_t from, int64_t to, int mark) {
    const cbd_feature_store_spec *s = cbd_feature_writer_spec(w);
    const int64_t v = view == CBD_FEATURE_WRITER_CENTER ? s->views : view;
    enum { BATCH = 37 };
    float *f = cbd_malloc((size_t)BATCH * s->d * sizeof *f), *l = cbd_malloc((size_t)BATCH * s->classes * sizeof *l);
    char err[1024];
    int rc = 0;
    for (int64_t first = from; first < to && rc == 0; first += BATCH) {
        const int64_t rows = first + BATCH > to ? to - first : BATCH;
        fill_rows(s, 0, v, first, rows, f);
        if (s->has_logits) fill_rows(s, 1, v, first, rows, l);
        rc = cbd_feature_writer_write(w, view, first, rows, f, s->has_logits ? l : NULL, err, sizeof err);
        CHECK(rc == 0, "%s", err);
    }
    if (rc == 0 && mark) {
        rc = cbd_feature_writer_mark_done(w, view, err, sizeof err);
        CHECK(rc == 0, "%s", err);
    }
    free(f);
    free(l);
    return rc;
}

static int write_store(const char *path, const cbd_feature_store_spec *s) {
    char err[1024];
    int32_t *labels = make_labels(s);
    int resumed = -9;
    cbd_feature_writer *w = cbd_feature_writer_open(path, s, labels, &resumed, err, sizeof err);
    free(labels);
    CHECK(w != NULL && resumed == 0, "%s (resumed %d)", err, resumed);
    if (!w) return -1;
    for (int v = CBD_FEATURE_WRITER_CENTER; v < s->views; v++)
        if (write_view(w, v, 0, s->n, 1) != 0) {
            cbd_feature_writer_close(w);
            return -1;
        }
    int rc = cbd_feature_writer_finish(w, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc != 0) cbd_feature_writer_close(w);
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", path);
    CHECK(!exists(partial) && exists(path), "after finishing %s: the final file only", path);
    return rc;
}

/* Reads every row (all views and the center) through `fs` in a scattered
 * order and compares with the written values; returns the rows read. */
static void check_all_rows(cbd_feature_store *fs, const char *what) {
    const cbd_feature_store_spec *s = cbd_feature_store_spec_of(fs);
    const int64_t total = (s->views + 1) * s->n;
    int64_t *images = cbd_malloc((size_t)total * sizeof *images);
    uint32_t *views = cbd_malloc((size_t)total * sizeof *views);
    for (int64_t t = 0; t < total; t++) {
        const int64_t scattered = (t * 7919) % total; /* 7919 is prime, coprime with the sizes used */
        images[t] = scattered % s->n;
        const int64_t v = scattered / s->n;
        views[t] = v == s->views ? CBD_FEATURE_CENTER : (uint32_t)v;
    }
    enum { BATCH = 97 };
    float *f = cbd_malloc((size_t)BATCH * s->d * sizeof *f), *l = cbd_malloc((size_t)BATCH * s->classes * sizeof *l);
    int64_t bad = 0;
    char err[1024];
    for (int64_t first = 0; first < total; first += BATCH) {
        const int64_t rows = first + BATCH > total ? total - first : BATCH;
        int rc = cbd_feature_store_read(fs, images + first, views + first, rows, f, s->has_logits ? l : NULL, err,
                                        sizeof err);
        CHECK(rc == 0, "%s: %s", what, err);
        if (rc != 0) break;
        for (int64_t r = 0; r < rows; r++) {
            const int64_t v = views[first + r] == CBD_FEATURE_CENTER ? (int64_t)s->views : (int64_t)views[first + r];
            for (int k = 0; k < s->d; k++) {
                const float want = stored_value(s, 0, v, images[first + r], k), have = f[r * s->d + k];
                if (bits_of(want) != bits_of(have) && bad++ < 3)
                    fprintf(stderr, "  %s: view %lld image %lld column %d: %a, expected %a\n", what, (long long)v,
                            (long long)images[first + r], k, (double)have, (double)want);
                const float exact = value_of(0, v, images[first + r], k);
                if (s->dtype == CBD_STORE_FLOAT16 && fabsf(exact) <= 65504.0f &&
                    fabsf(have - exact) > fabsf(exact) * 0x1p-11f + 0x1p-25f && bad++ < 3)
                    fprintf(stderr, "  %s: %a is not within half rounding of %a\n", what, (double)have, (double)exact);
            }
            for (int k = 0; s->has_logits && k < s->classes; k++) {
                const float want = stored_value(s, 1, v, images[first + r], k), have = l[r * s->classes + k];
                if (bits_of(want) != bits_of(have) && bad++ < 3)
                    fprintf(stderr, "  %s: logits view %lld image %lld column %d: %a, expected %a\n", what,
                            (long long)v, (long long)images[first + r], k, (double)have, (double)want);
            }
        }
    }
    CHECK(bad == 0, "%s: %lld values differ from those written", what, (long long)bad);
    free(images);
    free(views);
    free(f);
    free(l);
}

/* Random requests, duplicates included: both read paths give the same bits. */
static void check_paths_agree(cbd_feature_store *mem, cbd_feature_store *disk) {
    const cbd_feature_store_spec *s = cbd_feature_store_spec_of(mem);
    enum { COUNT = 3000, BATCH = 256 };
    int64_t images[BATCH];
    uint32_t views[BATCH];
    float *fa = cbd_malloc((size_t)BATCH * s->d * 4), *fb = cbd_malloc((size_t)BATCH * s->d * 4);
    float *la = cbd_malloc((size_t)BATCH * s->classes * 4), *lb = cbd_malloc((size_t)BATCH * s->classes * 4);
    char err[1024];
    int differ = 0;
    for (int first = 0; first < COUNT; first += BATCH) {
        for (int j = 0; j < BATCH; j++) {
            const cbd_philox_block r = cbd_rng_block(5, CBD_RNG_STREAM_TEST, (uint64_t)(first + j), 9);
            images[j] = j % 17 == 3 && j > 0 ? images[j - 1] : (int64_t)(r.v[0] % (uint32_t)s->n);
            views[j] = r.v[1] % 8 == 0 ? CBD_FEATURE_CENTER : r.v[2] % (uint32_t)s->views;
        }
        float *lla = s->has_logits ? la : NULL, *llb = s->has_logits ? lb : NULL;
        CHECK(cbd_feature_store_read(mem, images, views, BATCH, fa, lla, err, sizeof err) == 0, "%s", err);
        CHECK(cbd_feature_store_read(disk, images, views, BATCH, fb, llb, err, sizeof err) == 0, "%s", err);
        differ += memcmp(fa, fb, (size_t)BATCH * s->d * 4) != 0;
        if (s->has_logits) differ += memcmp(la, lb, (size_t)BATCH * s->classes * 4) != 0;
    }
    CHECK(differ == 0, "%d batches differ between the in-memory and the on-disk reads", differ);
    free(fa);
    free(fb);
    free(la);
    free(lb);
}

/* The file's float datasets are IEEE half (or float32), chunked [1, R, d]. */
static void check_layout(const char *path, const cbd_feature_store_spec *s) {
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0, "cannot open %s", path);
    if (file < 0) return;
    hid_t dset = H5Dopen2(file, "features", H5P_DEFAULT), type = H5Dget_type(dset), dcpl = H5Dget_create_plist(dset);
    size_t spos, epos, esize, mpos, msize;
    H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
    if (s->dtype == CBD_STORE_FLOAT16)
        CHECK(H5Tget_size(type) == 2 && spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 &&
                  H5Tget_ebias(type) == 15 && H5Tget_order(type) == H5T_ORDER_LE,
              "features are not IEEE half: size %zu fields %zu %zu %zu %zu %zu", H5Tget_size(type), spos, epos,
              esize, mpos, msize);
    else
        CHECK(H5Tequal(type, H5T_IEEE_F32LE) > 0, "features are not float32");
    hsize_t chunk[3] = {0, 0, 0};
    const int64_t row = (int64_t)s->d * (s->dtype == CBD_STORE_FLOAT16 ? 2 : 4);
    int64_t r = (1 << 20) / row;
    r = r < 1 ? 1 : r > s->n ? s->n : r;
    CHECK(H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 3, chunk) == 3 && chunk[0] == 1 &&
              chunk[1] == (hsize_t)r && chunk[2] == (hsize_t)s->d,
          "features chunked [%llu, %llu, %llu], expected [1, %lld, %d]", (unsigned long long)chunk[0],
          (unsigned long long)chunk[1], (unsigned long long)chunk[2], (long long)r, s->d);
    CHECK(H5Pget_nfilters(dcpl) == 0, "features have filters");
    H5Pclose(dcpl);
    H5Tclose(type);
    H5Dclose(dset);
    H5Fclose(file);
}

static void test_round_trip(const char *name, int64_t n, int d, int classes, int views, cbd_store_dtype dtype,
                            int logits) {
    cbd_feature_store_spec s;
    char err[1024];
    make_spec(&s, n, d, classes, views, dtype, logits);
    const char *path = test_path(name);
    if (write_store(path, &s) != 0) return;
    check_layout(path, &s);
    int32_t *labels = make_labels(&s);
    cbd_feature_store_expect expect = {n, d, classes, views, labels, s.manifest_digest, 0};
    cbd_feature_store *mem = cbd_feature_store_open(path, &expect, INT64_MAX, err, sizeof err);
    CHECK(mem != NULL, "%s", err);
    const int64_t bytes = cbd_feature_store_float_bytes(&s);
    cbd_feature_store *disk = cbd_feature_store_open(path, &expect, bytes - 1, err, sizeof err);
    CHECK(disk != NULL, "%s", err);
    if (mem && disk) {
        CHECK(cbd_feature_store_in_memory(mem) && !cbd_feature_store_in_memory(disk), "%s: read paths %d %d", name,
              cbd_feature_store_in_memory(mem), cbd_feature_store_in_memory(disk));
        const cbd_feature_store_spec *got = cbd_feature_store_spec_of(disk);
        CHECK(got->n == n && got->d == d && got->classes == classes && got->views == views && got->dtype == dtype &&
                  got->has_logits == logits && strcmp(got->teacher, s.teacher) == 0 &&
                  strcmp(got->augmentation, s.augmentation) == 0 &&
                  got->teacher_checkpoint_digest == s.teacher_checkpoint_digest && got->experiment_seed == 7,
              "%s: spec read back differs", name);
        CHECK(memcmp(cbd_feature_store_labels(disk), labels, (size_t)n * 4) == 0, "%s: labels differ", name);
        char what[128];
        snprintf(what, sizeof what, "%s in memory", name);
        check_all_rows(mem, what);
        snprintf(what, sizeof what, "%s from disk", name);
        check_all_rows(disk, what);
        check_paths_agree(mem, disk);
        /* Bad requests. */
        int64_t image = n;
        uint32_t view = 0;
        float row[4096];
        CHECK(cbd_feature_store_read(disk, &image, &view, 1, row, NULL, err, sizeof err) != 0 && strstr(err, "no image"),
              "image out of range: %s", err);
        image = 0;
        view = (uint32_t)views;
        CHECK(cbd_feature_store_read(mem, &image, &view, 1, row, NULL, err, sizeof err) != 0 && strstr(err, "no view"),
              "view out of range: %s", err);
        if (!logits) {
            view = 0;
            CHECK(cbd_feature_store_read(mem, &image, &view, 1, row, row, err, sizeof err) != 0 &&
                      strstr(err, "the store has none"),
                  "logits from a store without: %s", err);
        } else {
            /* features only: a cap that holds the features but not the logits loads them */
            cbd_feature_store_spec features = s;
            features.has_logits = 0;
            cbd_feature_store_expect only = expect;
            only.features_only = 1;
            cbd_feature_store *lean = cbd_feature_store_open(path, &only, cbd_feature_store_float_bytes(&features),
                                                             err, sizeof err);
            CHECK(lean && cbd_feature_store_in_memory(lean), "%s: features only, not in memory under a features cap",
                  name);
            if (lean) {
                view = 0;
                float want[4096];
                CHECK(cbd_feature_store_read(lean, &image, &view, 1, row, NULL, err, sizeof err) == 0 &&
                          cbd_feature_store_read(disk, &image, &view, 1, want, NULL, err, sizeof err) == 0 &&
                          memcmp(row, want, (size_t)d * sizeof *row) == 0,
                      "%s: features only reads other features: %s", name, err);
                CHECK(cbd_feature_store_read(lean, &image, &view, 1, row, row, err, sizeof err) != 0 &&
                          strstr(err, "features only"),
                      "%s: logits from a store opened for features only: %s", name, err);
            }
            cbd_feature_store_close(lean);
        }
    }
    cbd_feature_store_close(mem);
    cbd_feature_store_close(disk);
    free(labels);
}

/* ---- crafted files ---------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to) {
    size_t len = 0;
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out, "cannot copy %s to %s", from, to);
    if (in && out) {
        char buf[65536];
        while ((len = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, len, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
}

static void set_attr_int64(const char *path, const char *name, int64_t value) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), attr = H5Aopen(file, name, H5P_DEFAULT);
    CHECK(attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, &value) >= 0, "cannot set %s of %s", name, path);
    H5Aclose(attr);
    H5Fclose(file);
}

static void set_done(const char *path, int view, uint8_t value) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), dset = H5Dopen2(file, "done", H5P_DEFAULT);
    hid_t space = H5Dget_space(dset), mem = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, (hsize_t[]){(hsize_t)view}, NULL, (hsize_t[]){1}, NULL);
    CHECK(H5Dwrite(dset, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, &value) >= 0, "cannot set done of %s", path);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
}

/* Writes one float32 value at `start` of a float32 dataset. */
static void poke(const char *path, const char *name, int ndim, const hsize_t *start, float value) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(dset), mem = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    const hsize_t one[3] = {1, 1, 1};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, one, NULL);
    (void)ndim;
    CHECK(H5Dwrite(dset, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, &value) >= 0, "cannot poke %s", name);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
}

/* Opening `path` fails with a message that names the file and holds every
 * one of the given fragments. */
static void expect_refusal(const char *path, const cbd_feature_store_expect *e, const char *what, const char *a,
                           const char *b, const char *c) {
    char err[1024] = "";
    cbd_feature_store *fs = cbd_feature_store_open(path, e, INT64_MAX, err, sizeof err);
    CHECK(fs == NULL, "%s: opened", what);
    cbd_feature_store_close(fs);
    CHECK(strstr(err, path) != NULL, "%s: message does not name the file: %s", what, err);
    CHECK(strstr(err, a) && (!b || strstr(err, b)) && (!c || strstr(err, c)), "%s: unexpected message: %s", what, err);
    printf("  refused (%s): %s\n", what, err);
}

static void test_refusals(void) {
    cbd_feature_store_spec s;
    make_spec(&s, 50, 8, 4, 3, CBD_STORE_FLOAT32, 0);
    const char *good = test_path("good.h5");
    if (write_store(good, &s) != 0) return;
    int32_t *labels = make_labels(&s);

    const char *text = test_path("text.h5");
    FILE *f = fopen(text, "w");
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    expect_refusal(text, NULL, "text file", "not an HDF5 file", NULL, NULL);

    /* A checkpoint-like file: a dataset, no 'format' attribute. */
    const char *ckpt = test_path("ckpt.h5");
    hid_t file = H5Fcreate(ckpt, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(1, (hsize_t[]){4}, NULL);
    hid_t dset = H5Dcreate2(file, "weight", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
    expect_refusal(ckpt, NULL, "checkpoint-like file", "not a cbd feature store", "format", NULL);

    const char *version = test_path("version.h5");
    copy_file(good, version);
    set_attr_int64(version, "format_version", 2);
    expect_refusal(version, NULL, "wrong version", "version 2", "not supported", NULL);

    const char *partial = test_path("renamed.h5.partial");
    copy_file(good, partial);
    expect_refusal(partial, NULL, "partial name", "incomplete", ".partial", NULL);

    const char *incomplete = test_path("incomplete.h5");
    copy_file(good, incomplete);
    set_attr_int64(incomplete, "complete", 0);
    expect_refusal(incomplete, NULL, "complete = 0", "incomplete", "complete = 0", NULL);

    const char *view_missing = test_path("view_missing.h5");
    copy_file(good, view_missing);
    set_done(view_missing, 1, 0);
    expect_refusal(view_missing, NULL, "a view not done", "incomplete", "2 of 3 views done", NULL);

    const char *center_missing = test_path("center_missing.h5");
    copy_file(good, center_missing);
    set_attr_int64(center_missing, "center_done", 0);
    expect_refusal(center_missing, NULL, "center not done", "incomplete", "center not done", NULL);

    cbd_feature_store_expect e = {0};
    e.manifest_digest = UINT64_C(0x1111222233334444);
    expect_refusal(good, &e, "digest", "manifest digest mismatch", "1234abcd5678ef01", "1111222233334444");

    int32_t *other = make_labels(&s);
    other[7] = (other[7] + 1) % s.classes;
    char fragment[96];
    snprintf(fragment, sizeof fragment, "label %d in the store, %d in the dataset", labels[7], other[7]);
    e = (cbd_feature_store_expect){0};
    e.labels = other;
    expect_refusal(good, &e, "labels", "labels differ", "image 7 ", fragment);
    free(other);

    e = (cbd_feature_store_expect){.n = 51};
    expect_refusal(good, &e, "n", "holds 50 images, expected 51", NULL, NULL);
    e = (cbd_feature_store_expect){.d = 16};
    expect_refusal(good, &e, "d", "d = 8, expected 16", NULL, NULL);
    e = (cbd_feature_store_expect){.views = 4};
    expect_refusal(good, &e, "views", "3 views per image, expected 4", NULL, NULL);
    e = (cbd_feature_store_expect){.classes = 5};
    expect_refusal(good, &e, "classes", "4 classes, expected 5", NULL, NULL);

    /* All expectations met: opens. */
    e = (cbd_feature_store_expect){50, 8, 4, 3, labels, s.manifest_digest, 0};
    char err[1024];
    cbd_feature_store *fs = cbd_feature_store_open(good, &e, 0, err, sizeof err);
    CHECK(fs != NULL, "matching expectations: %s", err);
    cbd_feature_store_close(fs);
    CHECK(cbd_feature_store_verify(good, to_stream, stderr, NULL, 0) == 0, "the good store has defects");
    char *report_text = NULL;
    size_t report_len = 0;
    FILE *report = open_memstream(&report_text, &report_len);
    const int defects = cbd_feature_store_verify(view_missing, to_stream, report, NULL, 0);
    fclose(report);
    CHECK(defects >= 1 && strstr(report_text, "incomplete: views not done"), "verify of an incomplete store: %s",
          report_text);
    free(report_text);
    free(labels);
}

/* ---- verify ---------------------------------------------------------------------------- */

/* Defects of the verifier, one per line, into a memstream. */
static void to_stream(void *arg, const char *line) { fprintf(arg, "%s\n", line); }

static void test_verify(void) {
    cbd_feature_store_spec s;
    make_spec(&s, 60, 8, 4, 3, CBD_STORE_FLOAT32, 1);
    const char *path = test_path("nan.h5");
    if (write_store(path, &s) != 0) return;
    poke(path, "features", 3, (hsize_t[]){1, 17, 5}, NAN);
    poke(path, "center", 2, (hsize_t[]){2, 3}, INFINITY);
    poke(path, "logits", 3, (hsize_t[]){2, 40, 0}, -INFINITY);
    char *text = NULL;
    size_t len = 0;
    FILE *report = open_memstream(&text, &len);
    int defects = cbd_feature_store_verify(path, to_stream, report, NULL, 0);
    fclose(report);
    printf("  verify:\n%s", text);
    CHECK(defects == 3, "verify found %d defects, expected 3", defects);
    CHECK(strstr(text, "NaN in /features view 1: 1 value in 1 row, first at row 17") != NULL,
          "NaN not reported with its view and row: %s", text);
    CHECK(strstr(text, "Inf in /center: 1 value in 1 row, first at row 2") != NULL, "Inf in the center not reported: %s",
          text);
    CHECK(strstr(text, "Inf in /logits view 2: 1 value in 1 row, first at row 40") != NULL,
          "Inf in the logits not reported: %s", text);
    free(text);
    CHECK(cbd_feature_store_verify(test_path("missing.h5"), NULL, NULL, NULL, 0) == 1, "verify of a missing file");
}

/* ---- resume -------------------------------------------------------------------------- */

/* Every attribute of / and every dataset (type, shape and raw values) of a
 * equal those of b. */
static int same_attributes(hid_t fa, hid_t fb, char *why, size_t why_len) {
    H5O_info_t info;
    H5Oget_info2(fa, &info, H5O_INFO_NUM_ATTRS);
    H5O_info_t info_b;
    H5Oget_info2(fb, &info_b, H5O_INFO_NUM_ATTRS);
    if (info.num_attrs != info_b.num_attrs) {
        snprintf(why, why_len, "%llu attributes vs %llu", (unsigned long long)info.num_attrs,
                 (unsigned long long)info_b.num_attrs);
        return 0;
    }
    for (hsize_t k = 0; k < info.num_attrs; k++) {
        char name[128];
        H5Aget_name_by_idx(fa, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT);
        hid_t a = H5Aopen(fa, name, H5P_DEFAULT), b = H5Aopen(fb, name, H5P_DEFAULT);
        hid_t ta = H5Aget_type(a), tb = b >= 0 ? H5Aget_type(b) : -1;
        int same = b >= 0 && H5Tequal(ta, tb) > 0;
        if (same) {
            size_t size = H5Tget_size(ta);
            char *va = calloc(1, size), *vb = calloc(1, size);
            H5Aread(a, ta, va);
            H5Aread(b, tb, vb);
            same = memcmp(va, vb, size) == 0;
            free(va);
            free(vb);
        }
        if (!same) snprintf(why, why_len, "attribute '%s' differs", name);
        if (tb >= 0) H5Tclose(tb);
        H5Tclose(ta);
        if (b >= 0) H5Aclose(b);
        H5Aclose(a);
        if (!same) return 0;
    }
    return 1;
}

static int same_dataset(hid_t fa, hid_t fb, const char *name, char *why, size_t why_len) {
    hid_t a = H5Dopen2(fa, name, H5P_DEFAULT), b = H5Dopen2(fb, name, H5P_DEFAULT);
    if (a < 0 || b < 0) {
        snprintf(why, why_len, "dataset '%s' missing", name);
        if (a >= 0) H5Dclose(a);
        if (b >= 0) H5Dclose(b);
        return 0;
    }
    hid_t ta = H5Dget_type(a), tb = H5Dget_type(b), sa = H5Dget_space(a), sb = H5Dget_space(b);
    hssize_t na = H5Sget_simple_extent_npoints(sa), nb = H5Sget_simple_extent_npoints(sb);
    int same = H5Tequal(ta, tb) > 0 && na == nb && H5Sextent_equal(sa, sb) > 0;
    if (same) {
        size_t bytes = (size_t)na * H5Tget_size(ta);
        char *va = cbd_malloc(bytes), *vb = cbd_malloc(bytes);
        H5Dread(a, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, va);
        H5Dread(b, tb, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb);
        same = memcmp(va, vb, bytes) == 0;
        free(va);
        free(vb);
    }
    if (!same) snprintf(why, why_len, "dataset '%s' differs", name);
    H5Sclose(sa);
    H5Sclose(sb);
    H5Tclose(ta);
    H5Tclose(tb);
    H5Dclose(a);
    H5Dclose(b);
    return same;
}

static int same_content(const char *pa, const char *pb, char *why, size_t why_len) {
    hid_t fa = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(pb, H5F_ACC_RDONLY, H5P_DEFAULT);
    int same = fa >= 0 && fb >= 0;
    if (!same) snprintf(why, why_len, "cannot open");
    if (same) same = same_attributes(fa, fb, why, why_len);
    H5G_info_t ga, gb;
    if (same) {
        H5Gget_info(fa, &ga);
        H5Gget_info(fb, &gb);
        same = ga.nlinks == gb.nlinks;
        if (!same) snprintf(why, why_len, "%llu vs %llu datasets", (unsigned long long)ga.nlinks,
                            (unsigned long long)gb.nlinks);
    }
    for (hsize_t k = 0; same && k < ga.nlinks; k++) {
        char name[128];
        H5Lget_name_by_idx(fa, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT);
        same = same_dataset(fa, fb, name, why, why_len);
    }
    if (fa >= 0) H5Fclose(fa);
    if (fb >= 0) H5Fclose(fb);
    return same;
}

static void test_resume(void) {
    cbd_feature_store_spec s;
    make_spec(&s, 700, 24, 5, 4, CBD_STORE_FLOAT16, 1);
    int32_t *labels = make_labels(&s);
    char err[1024], why[512];
    const char *reference = test_path("reference.h5");
    if (write_store(reference, &s) != 0) return;

    /* Simulated kill: some views done, one half written, closed unfinished. */
    const char *path = test_path("resumed.h5");
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", path);
    int resumed = -9;
    cbd_feature_writer *w = cbd_feature_writer_open(path, &s, labels, &resumed, err, sizeof err);
    CHECK(w && resumed == 0, "%s", err);
    if (!w) return;
    write_view(w, CBD_FEATURE_WRITER_CENTER, 0, s.n, 1);
    write_view(w, 0, 0, s.n, 1);
    write_view(w, 2, 0, s.n, 1);
    write_view(w, 1, 0, s.n / 2, 0);
    CHECK(cbd_feature_writer_write(w, 0, 0, 1, (float[24]){0}, (float[5]){0}, err, sizeof err) != 0 &&
              strstr(err, "view 0 is already done"),
          "write to a done view: %s", err);
    CHECK(cbd_feature_writer_write(w, 1, s.n - 1, 2, (float[48]){0}, (float[10]){0}, err, sizeof err) != 0 &&
              strstr(err, "outside"),
          "rows past the end: %s", err);
    CHECK(cbd_feature_writer_write(w, 1, 0, 1, (float[24]){0}, NULL, err, sizeof err) != 0 && strstr(err, "logits"),
          "missing logits: %s", err);
    CHECK(cbd_feature_writer_finish(w, err, sizeof err) != 0 && strstr(err, "2 of 4 views done") &&
              strstr(err, "view 1 is not"),
          "finish with views missing: %s", err);
    cbd_feature_writer_close(w);
    CHECK(exists(partial) && !exists(path), "closed early: the partial file only");
    CHECK(cbd_feature_store_open(partial, NULL, 0, err, sizeof err) == NULL && strstr(err, "incomplete"),
          "partial opened: %s", err);

    /* Another dump's partial file is refused, saying what differs. */
    cbd_feature_store_spec other = s;
    snprintf(other.teacher, sizeof other.teacher, "t2");
    CHECK(cbd_feature_writer_open(path, &other, labels, &resumed, err, sizeof err) == NULL &&
              resumed == CBD_FEATURE_PARTIAL_MISMATCH && strstr(err, "teacher") && strstr(err, "'t1'") &&
              strstr(err, "'t2'"),
          "other teacher: %d %s", resumed, err);
    other = s;
    other.dtype = CBD_STORE_FLOAT32;
    CHECK(cbd_feature_writer_open(path, &other, labels, &resumed, err, sizeof err) == NULL &&
              resumed == CBD_FEATURE_PARTIAL_MISMATCH && strstr(err, "dtype"),
          "other dtype: %d %s", resumed, err);
    labels[5] = (labels[5] + 1) % s.classes;
    CHECK(cbd_feature_writer_open(path, &s, labels, &resumed, err, sizeof err) == NULL &&
              resumed == CBD_FEATURE_PARTIAL_MISMATCH && strstr(err, "label of image 5"),
          "other labels: %d %s", resumed, err);
    labels[5] = (labels[5] + s.classes - 1) % s.classes;

    w = cbd_feature_writer_open(path, &s, labels, &resumed, err, sizeof err);
    CHECK(w && resumed == 3, "resume: %s (resumed %d)", err, resumed);
    if (!w) return;
    CHECK(cbd_feature_writer_view_done(w, CBD_FEATURE_WRITER_CENTER) && cbd_feature_writer_view_done(w, 0) &&
              !cbd_feature_writer_view_done(w, 1) && cbd_feature_writer_view_done(w, 2) &&
              !cbd_feature_writer_view_done(w, 3),
          "done flags after resuming");
    for (int v = 0; v < s.views; v++)
        if (!cbd_feature_writer_view_done(w, v)) write_view(w, v, 0, s.n, 1);
    CHECK(cbd_feature_writer_finish(w, err, sizeof err) == 0, "%s", err);
    CHECK(same_content(reference, path, why, sizeof why), "resumed store differs from the reference: %s", why);

    /* A damaged partial file. */
    const char *damaged = test_path("damaged.h5");
    snprintf(partial, sizeof partial, "%s.partial", damaged);
    copy_file(reference, partial);
    if (truncate(partial, 2000) != 0) perror("truncate");
    CHECK(cbd_feature_writer_open(damaged, &s, labels, &resumed, err, sizeof err) == NULL &&
              resumed == CBD_FEATURE_PARTIAL_DAMAGED && strstr(err, "delete it"),
          "damaged partial: %d %s", resumed, err);
    printf("  damaged partial: %s\n", err);

    /* A real kill: a child writes, is killed with SIGKILL in the middle of a
     * view, and the parent resumes. */
    const char *killed = test_path("killed.h5");
    int pipe_fd[2];
    CHECK(pipe(pipe_fd) == 0, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(pipe_fd[0]);
        int r;
        cbd_feature_writer *cw = cbd_feature_writer_open(killed, &s, labels, &r, err, sizeof err);
        if (!cw) _exit(3);
        if (write_view(cw, 3, 0, s.n, 1) != 0 || write_view(cw, CBD_FEATURE_WRITER_CENTER, 0, s.n, 1) != 0 ||
            write_view(cw, 1, 0, 300, 0) != 0)
            _exit(4);
        if (write(pipe_fd[1], "x", 1) != 1) _exit(5);
        for (;;) /* keeps rewriting view 1 until killed */
            if (write_view(cw, 1, 0, s.n, 0) != 0) _exit(6);
    }
    close(pipe_fd[1]);
    char byte = 0;
    CHECK(read(pipe_fd[0], &byte, 1) == 1, "child did not report progress");
    close(pipe_fd[0]);
    /* While the child writes, the partial file is locked, not damaged. */
    CHECK(cbd_feature_writer_open(killed, &s, labels, &resumed, err, sizeof err) == NULL &&
              resumed == CBD_FEATURE_OPEN_FAILED && strstr(err, "another process"),
          "open while another process writes: %d %s", resumed, err);
    printf("  while another process writes: %s\n", err);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child ended with status %d", status);
    w = cbd_feature_writer_open(killed, &s, labels, &resumed, err, sizeof err);
    CHECK(w && resumed == 2, "resume after SIGKILL: %s (resumed %d)", err, resumed);
    if (w) {
        for (int v = CBD_FEATURE_WRITER_CENTER; v < s.views; v++)
            if (!cbd_feature_writer_view_done(w, v)) write_view(w, v, 0, s.n, 1);
        CHECK(cbd_feature_writer_finish(w, err, sizeof err) == 0, "%s", err);
        CHECK(same_content(reference, killed, why, sizeof why), "store resumed after SIGKILL differs: %s", why);
        CHECK(cbd_feature_store_verify(killed, to_stream, stderr, NULL, 0) == 0, "store resumed after SIGKILL has defects");
    }
    free(labels);
}

int main(int argc, char **argv) {
    test_dir = test_work_dir(argc, argv);
    test_half();
    test_round_trip("f32_logits.h5", 300, 12, 7, 3, CBD_STORE_FLOAT32, 1);
    test_round_trip("f16.h5", 300, 12, 7, 3, CBD_STORE_FLOAT16, 0);
    test_round_trip("f16_logits.h5", 257, 9, 3, 2, CBD_STORE_FLOAT16, 1);
    /* Rows of 8 KiB: 128-row chunks, so reads cross chunks. */
    test_round_trip("f16_wide.h5", 300, 4096, 10, 2, CBD_STORE_FLOAT16, 1);
    test_round_trip("f32_wide.h5", 200, 2048, 3, 2, CBD_STORE_FLOAT32, 0);
    test_refusals();
    test_verify();
    test_resume();
    return test_finish("feature_store");
}
