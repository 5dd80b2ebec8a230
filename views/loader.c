#include "views/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/clock.h"
#include "nn/log.h"

#define DEFAULT_PREFETCH 3
#define MAX_CHUNK 32
#define SKIP_WARNINGS 20

typedef struct {
    cbd_batch batch;   /* what the consumer sees (compacted) */
    uint8_t *ok;       /* [B] 1 = loaded */
    int64_t number;    /* batch held, -1 = none */
    int size;          /* positions in this batch */
    int chunks_left;
    int ready;
    int skipped;
    int64_t err_pos;   /* first failed position, -1 = none */
    char err[1024];
} slot;

typedef struct {
    cbd_loader *l;
    cbd_image img;
    cbd_augment_scratch scratch;
    pthread_t thread;
} worker;

struct cbd_loader {
    cbd_image_source src;
    cbd_bad_image_policy policy;
    cbd_augment_config aug;
    int center;
    uint64_t seed;
    cbd_feature_prefetcher *rows;
    int B, workers, ring, chunk;
    size_t image_floats;
    slot *slots;
    worker *w;         /* [max(workers, 1)]; w[0] makes the batches when workers = 0 */

    /* the epoch */
    int64_t *order;
    uint32_t *views;
    int64_t count, cap, batches;
    int64_t next_batch; /* the batch cbd_loader_next returns next */
    int holding;        /* the consumer holds batch next_batch - 1 */
    int64_t cursor_batch;
    int cursor_item;    /* next work: positions cursor_item.. of batch cursor_batch */
    int64_t stop_batch; /* no work is started beyond this batch (a failure in it) */
    int64_t generation;
    int in_flight;
    int shutdown;
    int failed;
    char error[1024];

    int warned;
    cbd_loader_stats stats;

    pthread_mutex_t mu;
    pthread_cond_t work_cv, ready_cv, idle_cv;
};

static int batch_size_of(const cbd_loader *l, int64_t b) {
    const int64_t left = l->count - b * l->B;
    return left < l->B ? (int)left : l->B;
}

/* Makes positions [i0, i1) of batch b into slot s. Returns the first failed
 * position's message through err / err_pos, and the number skipped. */
typedef struct {
    int64_t err_pos;
    char err[1024];
    int skipped;
    double read_s, augment_s;
    int64_t images;
} chunk_result;

static void make_chunk(cbd_loader *l, worker *w, slot *s, int64_t b, int i0, int i1, chunk_result *r) {
    r->err_pos = -1;
    r->err[0] = 0;
    r->skipped = 0;
    r->read_s = r->augment_s = 0.0;
    r->images = 0;
    const int C = l->aug.out_channels;
    for (int j = i0; j < i1; j++) {
        const int64_t pos = b * l->B + j;
        const int64_t idx = l->order[pos];
        const uint32_t view = l->center || !l->views ? 0 : l->views[pos];
        s->ok[j] = 0;
        char msg[1024];
        const double t0 = cbd_now();
        int rc = l->src.read(l->src.ctx, idx, &w->img, msg, sizeof msg);
        const double t1 = cbd_now();
        r->read_s += t1 - t0;
        int always_fail = 0;
        if (rc == 0 && (w->img.width < 1 || w->img.height < 1 || (w->img.channels != C && w->img.channels != 1))) {
            snprintf(msg, sizeof msg, "image %lld is %dx%d with %d channels; the views need %d channels",
                     (long long)idx, w->img.width, w->img.height, w->img.channels, C);
            rc = -1;
            always_fail = 1;
        }
        if (rc != 0) {
            if (l->policy == CBD_BAD_IMAGE_SKIP && !always_fail) {
                r->skipped++;
                pthread_mutex_lock(&l->mu);
                const int k = l->warned++;
                pthread_mutex_unlock(&l->mu);
                if (k < SKIP_WARNINGS)
                    cbd_warn("skipping image %lld: %s%s", (long long)idx, msg,
                             k == SKIP_WARNINGS - 1 ? " (further skipped images are counted, not listed)" : "");
            } else if (r->err_pos < 0) {
                r->err_pos = pos;
                snprintf(r->err, sizeof r->err, "%s", msg);
            }
            continue;
        }
        float *out = s->batch.images + (size_t)j * l->image_floats;
        if (l->center)
            cbd_augment_center(&l->aug, &w->img, out, &w->scratch);
        else
            cbd_augment_view(&l->aug, &w->img, l->seed, idx, view, out, &w->scratch);
        r->augment_s += cbd_now() - t1;
        s->batch.labels[j] = l->src.labels[idx];
        s->batch.indices[j] = idx;
        s->batch.views[j] = view;
        s->ok[j] = 1;
        r->images++;
    }
}

/* Under the lock: gets slot s ready for batch b. */
static void slot_start(cbd_loader *l, slot *s, int64_t b) {
    s->number = b;
    s->size = batch_size_of(l, b);
    s->chunks_left = (s->size + l->chunk - 1) / l->chunk;
    s->ready = 0;
    s->skipped = 0;
    s->err_pos = -1;
    s->err[0] = 0;
}

/* Under the lock: adds a finished chunk to its slot. */
static void slot_merge(cbd_loader *l, slot *s, const chunk_result *r) {
    s->skipped += r->skipped;
    if (r->err_pos >= 0 && (s->err_pos < 0 || r->err_pos < s->err_pos)) {
        s->err_pos = r->err_pos;
        snprintf(s->err, sizeof s->err, "%s", r->err);
        if (s->number < l->stop_batch) l->stop_batch = s->number;
    }
    l->stats.read_s += r->read_s;
    l->stats.augment_s += r->augment_s;
    l->stats.images += r->images;
    if (--s->chunks_left == 0) s->ready = 1;
}

static int work_available(const cbd_loader *l) {
    return l->cursor_batch < l->batches && l->cursor_batch <= l->stop_batch &&
           l->cursor_batch < l->next_batch - l->holding + l->ring;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    cbd_loader *l = w->l;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->shutdown && !work_available(l)) pthread_cond_wait(&l->work_cv, &l->mu);
        if (l->shutdown) break;
        const int64_t b = l->cursor_batch, gen = l->generation;
        slot *s = &l->slots[b % l->ring];
        if (l->cursor_item == 0) slot_start(l, s, b);
        const int i0 = l->cursor_item;
        const int i1 = i0 + l->chunk < s->size ? i0 + l->chunk : s->size;
        if (i1 == s->size) {
            l->cursor_batch++;
            l->cursor_item = 0;
        } else {
            l->cursor_item = i1;
        }
        l->in_flight++;
        pthread_mutex_unlock(&l->mu);

        chunk_result r;
        make_chunk(l, w, s, b, i0, i1, &r);

        pthread_mutex_lock(&l->mu);
        l->in_flight--;
        if (gen == l->generation) {
            slot_merge(l, s, &r);
            if (s->ready) pthread_cond_broadcast(&l->ready_cv);
        }
        if (l->in_flight == 0) pthread_cond_broadcast(&l->idle_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

cbd_loader *cbd_loader_create_from_source(const cbd_loader_config *cfg, char *err, size_t err_len) {
    if (!cfg->augment) {
        snprintf(err, err_len, "loader: no view settings given");
        return NULL;
    }
    if (cbd_augment_config_check(cfg->augment, err, err_len) != 0) return NULL;
    if (!cfg->source.read || !cfg->source.labels || cfg->source.count < 0) {
        snprintf(err, err_len, "loader: no image source given");
        return NULL;
    }
    if (cfg->batch_size < 1) {
        snprintf(err, err_len, "batch size %d: must be at least 1", cfg->batch_size);
        return NULL;
    }
    if (cfg->workers < 0 || cfg->workers > 256) {
        snprintf(err, err_len, "%d loader workers: must be 0..256", cfg->workers);
        return NULL;
    }
    if (cfg->prefetch < 0 || cfg->prefetch == 1 || cfg->prefetch > 64) {
        snprintf(err, err_len, "prefetch %d: must be 0 (default) or 2..64 batches", cfg->prefetch);
        return NULL;
    }
    cbd_loader *l = cbd_calloc(1, sizeof *l);
    l->src = cfg->source;
    l->policy = cfg->on_bad_image;
    l->aug = *cfg->augment;
    l->center = cfg->center;
    l->seed = cfg->seed;
    l->rows = cfg->rows;
    l->B = cfg->batch_size;
    l->workers = cfg->workers;
    l->ring = cfg->workers == 0 ? 1 : cfg->prefetch ? cfg->prefetch : DEFAULT_PREFETCH;
    if (cfg->workers == 0) {
        l->chunk = l->B;
    } else {
        l->chunk = l->B / (4 * cfg->workers);
        if (l->chunk < 1) l->chunk = 1;
        if (l->chunk > MAX_CHUNK) l->chunk = MAX_CHUNK;
    }
    l->image_floats = (size_t)l->aug.out_channels * l->aug.out_size * l->aug.out_size;
    l->slots = cbd_calloc((size_t)l->ring, sizeof *l->slots);
    for (int r = 0; r < l->ring; r++) {
        slot *s = &l->slots[r];
        s->batch.images = cbd_malloc((size_t)l->B * l->image_floats * sizeof(float));
        s->batch.labels = cbd_malloc((size_t)l->B * sizeof(int32_t));
        s->batch.indices = cbd_malloc((size_t)l->B * sizeof(int64_t));
        s->batch.views = cbd_malloc((size_t)l->B * sizeof(uint32_t));
        s->ok = cbd_malloc((size_t)l->B);
        s->number = -1;
    }
    l->stop_batch = INT64_MAX;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    const int nw = l->workers ? l->workers : 1;
    l->w = cbd_calloc((size_t)nw, sizeof *l->w);
    for (int k = 0; k < nw; k++) l->w[k].l = l;
    for (int k = 0; k < l->workers; k++) {
        const int rc = pthread_create(&l->w[k].thread, NULL, worker_main, &l->w[k]);
        if (rc != 0) {
            snprintf(err, err_len, "cannot start loader thread %d of %d: %s", k + 1, l->workers, strerror(rc));
            l->workers = k;
            cbd_loader_destroy(l);
            return NULL;
        }
    }
    return l;
}

void cbd_loader_begin(cbd_loader *l, const int64_t *indices, const uint32_t *views, int64_t count) {
    CBD_ASSERT(count >= 0, "count %lld", (long long)count);
    for (int64_t j = 0; j < count; j++)
        CBD_ASSERT(indices[j] >= 0 && indices[j] < l->src.count, "position %lld: image %lld of %lld",
                   (long long)j, (long long)indices[j], (long long)l->src.count);
    pthread_mutex_lock(&l->mu);
    l->generation++;
    l->batches = 0; /* no new work while in-flight chunks finish */
    while (l->in_flight > 0) pthread_cond_wait(&l->idle_cv, &l->mu);
    if (count > l->cap) {
        free(l->order);
        free(l->views);
        l->order = cbd_malloc((size_t)count * sizeof *l->order);
        l->views = cbd_malloc((size_t)count * sizeof *l->views);
        l->cap = count;
    }
    if (count > 0) {
        memcpy(l->order, indices, (size_t)count * sizeof *l->order);
        if (views)
            memcpy(l->views, views, (size_t)count * sizeof *l->views);
        else
            memset(l->views, 0, (size_t)count * sizeof *l->views);
    }
    l->count = count;
    l->batches = (count + l->B - 1) / l->B;
    l->next_batch = 0;
    l->holding = 0;
    l->cursor_batch = 0;
    l->cursor_item = 0;
    l->stop_batch = INT64_MAX;
    l->failed = 0;
    l->error[0] = 0;
    for (int r = 0; r < l->ring; r++) {
        l->slots[r].number = -1;
        l->slots[r].ready = 0;
    }
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    if (l->rows) cbd_feature_prefetcher_begin(l->rows, indices, views, count);
}

/* The rows of batch s, compacted like its images; -1 with the loader's
 * error set when they cannot be read. */
static int attach_rows(cbd_loader *l, slot *s) {
    const cbd_feature_batch *fb = cbd_feature_prefetcher_next(l->rows);
    if (!fb) {
        const char *why = cbd_feature_prefetcher_error(l->rows);
        snprintf(l->error, sizeof l->error, "%s", why ? why : "the teacher rows ended before the images");
        return -1;
    }
    CBD_ASSERT(fb->number == s->number && fb->count == s->size, "rows of batch %lld (%d) for images of batch %lld (%d)",
               (long long)fb->number, fb->count, (long long)s->number, s->size);
    if (s->skipped) cbd_feature_prefetcher_keep(l->rows, s->ok);
    s->batch.rows = fb;
    return 0;
}

/* Under the lock, in the consumer: moves the loaded images of a ready slot
 * to its front. */
static void compact(cbd_loader *l, slot *s) {
    cbd_batch *b = &s->batch;
    int n = 0;
    for (int j = 0; j < s->size; j++) {
        if (!s->ok[j]) continue;
        if (n != j) {
            memcpy(b->images + (size_t)n * l->image_floats, b->images + (size_t)j * l->image_floats,
                   l->image_floats * sizeof(float));
            b->labels[n] = b->labels[j];
            b->indices[n] = b->indices[j];
            b->views[n] = b->views[j];
        }
        n++;
    }
    b->count = n;
    b->number = s->number;
    b->skipped = s->skipped;
}

const cbd_batch *cbd_loader_next(cbd_loader *l) {
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        l->holding = 0;
        pthread_cond_broadcast(&l->work_cv);
    }
    const double t0 = cbd_now();
    const cbd_batch *out = NULL;
    while (!l->failed && l->next_batch < l->batches) {
        const int64_t b = l->next_batch;
        slot *s = &l->slots[b % l->ring];
        if (l->workers == 0) {
            slot_start(l, s, b);
            pthread_mutex_unlock(&l->mu);
            chunk_result r;
            make_chunk(l, &l->w[0], s, b, 0, s->size, &r);
            pthread_mutex_lock(&l->mu);
            slot_merge(l, s, &r);
        } else {
            while (!(s->number == b && s->ready)) pthread_cond_wait(&l->ready_cv, &l->mu);
        }
        if (s->err_pos >= 0) {
            l->failed = 1;
            snprintf(l->error, sizeof l->error, "%s", s->err);
            break;
        }
        if (l->rows) { /* waiting for the rows, the workers go on with the next batches */
            pthread_mutex_unlock(&l->mu);
            const int rc = attach_rows(l, s);
            pthread_mutex_lock(&l->mu);
            if (rc != 0) {
                l->failed = 1;
                break;
            }
        }
        compact(l, s);
        l->stats.skipped += s->skipped;
        l->next_batch++;
        if (s->batch.count == 0) {
            pthread_cond_broadcast(&l->work_cv);
            continue;
        }
        l->holding = 1;
        l->stats.batches++;
        out = &s->batch;
        break;
    }
    l->stats.wait_s += cbd_now() - t0;
    pthread_mutex_unlock(&l->mu);
    return out;
}

const char *cbd_loader_error(const cbd_loader *l) { return l->failed ? l->error : NULL; }

void cbd_loader_get_stats(const cbd_loader *l, cbd_loader_stats *out) {
    cbd_loader *m = (cbd_loader *)l;
    pthread_mutex_lock(&m->mu);
    *out = l->stats;
    pthread_mutex_unlock(&m->mu);
}

int64_t cbd_loader_skipped(const cbd_loader *l) {
    cbd_loader_stats s;
    cbd_loader_get_stats(l, &s);
    return s.skipped;
}

double cbd_loader_wait_seconds(const cbd_loader *l) {
    cbd_loader_stats s;
    cbd_loader_get_stats(l, &s);
    return s.wait_s;
}

void cbd_loader_destroy(cbd_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->shutdown = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int k = 0; k < l->workers; k++) pthread_join(l->w[k].thread, NULL);
    const int nw = l->workers ? l->workers : 1;
    for (int k = 0; k < nw; k++) {
        cbd_image_free(&l->w[k].img);
        cbd_augment_scratch_free(&l->w[k].scratch);
    }
    for (int r = 0; r < l->ring; r++) {
        free(l->slots[r].batch.images);
        free(l->slots[r].batch.labels);
        free(l->slots[r].batch.indices);
        free(l->slots[r].batch.views);
        free(l->slots[r].ok);
    }
    free(l->slots);
    free(l->w);
    free(l->order);
    free(l->views);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_cond_destroy(&l->idle_cv);
    free(l);
}
