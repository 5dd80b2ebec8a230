#include "store/feature_prefetch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/clock.h"
#include "nn/log.h"

#define ERROR_LEN 1024

struct cbd_feature_prefetcher {
    cbd_feature_store **stores;
    int k, batch_size, depth, with_logits;
    cbd_feature_batch *slots; /* [depth]: batch b lives in slot b % depth */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* the reader waits here */
    pthread_cond_t ready; /* next() and begin() wait here */

    /* The sequence; replaced only while the reader is not busy. */
    int64_t *images;
    uint32_t *views;
    int64_t count, batches;
    uint64_t generation;

    int64_t produced;  /* batches filled */
    int64_t consumed;  /* batches handed out by next() */
    int64_t released;  /* batches the caller is done with */
    int busy;          /* the reader is filling a slot without the lock */
    int quit, failed;
    char error[ERROR_LEN];

    double wait_s, read_s;
    int64_t rows;
};

void cbd_feature_prefetcher_keep(cbd_feature_prefetcher *p, const uint8_t *keep) {
    pthread_mutex_lock(&p->mu);
    CBD_ASSERT(p->consumed > p->released, "no batch is held");
    cbd_feature_batch *batch = &p->slots[(p->consumed - 1) % p->depth];
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->k; t++) {
        const cbd_feature_store_spec *s = cbd_feature_store_spec_of(p->stores[t]);
        const size_t widths[2] = {(size_t)s->d, (size_t)s->classes};
        float *parts[2] = {batch->features[t], p->with_logits ? batch->logits[t] : NULL};
        for (int q = 0; q < 2; q++) {
            if (!parts[q]) continue;
            int n = 0;
            for (int j = 0; j < batch->count; j++)
                if (keep[j]) {
                    if (n != j) memcpy(parts[q] + (size_t)n * widths[q], parts[q] + (size_t)j * widths[q],
                                       widths[q] * sizeof(float));
                    n++;
                }
        }
    }
    int n = 0;
    for (int j = 0; j < batch->count; j++) n += keep[j] != 0;
    batch->count = n;
}

/* Reads batch b of the sequence into its slot; the lock is not held. */
static int fill(cbd_feature_prefetcher *p, int64_t b, char *err, size_t err_len) {
    cbd_feature_batch *batch = &p->slots[b % p->depth];
    const int64_t first = b * p->batch_size;
    const int64_t count = first + p->batch_size > p->count ? p->count - first : p->batch_size;
    batch->count = (int)count;
    batch->number = b;
    batch->first = first;
    for (int t = 0; t < p->k; t++)
        if (cbd_feature_store_read(p->stores[t], p->images + first, p->views + first, count, batch->features[t],
                                   p->with_logits ? batch->logits[t] : NULL, err, err_len) != 0)
            return -1;
    return 0;
}

static void *reader_main(void *arg) {
    cbd_feature_prefetcher *p = arg;
    char err[ERROR_LEN];
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        const int64_t b = p->produced;
        if (p->failed || b >= p->batches || b >= p->released + p->depth) {
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        const uint64_t generation = p->generation;
        p->busy = 1;
        pthread_mutex_unlock(&p->mu);
        const double t0 = cbd_now();
        int rc = fill(p, b, err, sizeof err);
        const double spent = cbd_now() - t0;
        pthread_mutex_lock(&p->mu);
        p->busy = 0;
        p->read_s += spent;
        if (generation == p->generation) {
            if (rc == 0) {
                p->rows += (int64_t)p->slots[b % p->depth].count * p->k;
                p->produced++;
            } else {
                p->failed = 1;
                snprintf(p->error, sizeof p->error, "%s", err);
            }
        }
        pthread_cond_broadcast(&p->ready);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_slots(cbd_feature_prefetcher *p) {
    if (!p->slots) return;
    for (int s = 0; s < p->depth; s++) {
        cbd_feature_batch *b = &p->slots[s];
        for (int t = 0; t < p->k; t++) {
            if (b->features) free(b->features[t]);
            if (b->logits) free(b->logits[t]);
        }
        free(b->features);
        free(b->logits);
    }
    free(p->slots);
}

cbd_feature_prefetcher *cbd_feature_prefetcher_create(cbd_feature_store *const *stores, int k, int batch_size,
                                                      int depth, int with_logits, char *err, size_t err_len) {
    if (k < 1 || batch_size < 1 || depth < 2) {
        snprintf(err, err_len, "feature prefetcher: %d stores, batches of %d, ring of %d: need at least 1, 1 and 2",
                 k, batch_size, depth);
        return NULL;
    }
    for (int t = 0; t < k; t++)
        if (with_logits && !cbd_feature_store_spec_of(stores[t])->has_logits) {
            snprintf(err, err_len, "%s: the store has no logits, and logits are needed (dump it with logits)",
                     cbd_feature_store_path(stores[t]));
            return NULL;
        }
    cbd_feature_prefetcher *p = cbd_calloc(1, sizeof *p);
    p->k = k;
    p->batch_size = batch_size;
    p->depth = depth;
    p->with_logits = with_logits != 0;
    p->stores = cbd_malloc((size_t)k * sizeof *p->stores);
    memcpy(p->stores, stores, (size_t)k * sizeof *p->stores);
    p->slots = cbd_calloc((size_t)depth, sizeof *p->slots);
    for (int s = 0; s < depth; s++) {
        cbd_feature_batch *b = &p->slots[s];
        b->features = cbd_calloc((size_t)k, sizeof *b->features);
        if (p->with_logits) b->logits = cbd_calloc((size_t)k, sizeof *b->logits);
        for (int t = 0; t < k; t++) {
            const cbd_feature_store_spec *spec = cbd_feature_store_spec_of(stores[t]);
            b->features[t] = cbd_malloc((size_t)batch_size * (size_t)spec->d * sizeof(float));
            if (p->with_logits) b->logits[t] = cbd_malloc((size_t)batch_size * (size_t)spec->classes * sizeof(float));
        }
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->ready, NULL);
    int rc = pthread_create(&p->thread, NULL, reader_main, p);
    if (rc != 0) {
        snprintf(err, err_len, "feature prefetcher: cannot start the reader thread: %s", strerror(rc));
        pthread_cond_destroy(&p->ready);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
        free_slots(p);
        free(p->stores);
        free(p);
        return NULL;
    }
    return p;
}

void cbd_feature_prefetcher_begin(cbd_feature_prefetcher *p, const int64_t *images, const uint32_t *views,
                                  int64_t count) {
    pthread_mutex_lock(&p->mu);
    p->generation++;
    while (p->busy) pthread_cond_wait(&p->ready, &p->mu);
    free(p->images);
    free(p->views);
    p->count = count > 0 ? count : 0;
    p->images = cbd_malloc((size_t)p->count * sizeof *p->images);
    p->views = cbd_malloc((size_t)p->count * sizeof *p->views);
    if (p->count) {
        memcpy(p->images, images, (size_t)p->count * sizeof *p->images);
        memcpy(p->views, views, (size_t)p->count * sizeof *p->views);
    }
    p->batches = (p->count + p->batch_size - 1) / p->batch_size;
    p->produced = p->consumed = p->released = 0;
    p->failed = 0;
    p->error[0] = '\0';
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

const cbd_feature_batch *cbd_feature_prefetcher_next(cbd_feature_prefetcher *p) {
    const cbd_feature_batch *batch = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->released != p->consumed) {
        p->released = p->consumed;
        pthread_cond_broadcast(&p->work);
    }
    if (p->consumed < p->batches) {
        if (p->produced <= p->consumed && !p->failed) {
            const double t0 = cbd_now();
            while (p->produced <= p->consumed && !p->failed) pthread_cond_wait(&p->ready, &p->mu);
            p->wait_s += cbd_now() - t0;
        }
        if (p->produced > p->consumed) batch = &p->slots[p->consumed++ % p->depth];
    }
    pthread_mutex_unlock(&p->mu);
    return batch;
}

const char *cbd_feature_prefetcher_error(const cbd_feature_prefetcher *p) {
    cbd_feature_prefetcher *q = (cbd_feature_prefetcher *)p;
    pthread_mutex_lock(&q->mu);
    const char *e = q->failed ? q->error : NULL;
    pthread_mutex_unlock(&q->mu);
    return e;
}

void cbd_feature_prefetcher_stats(const cbd_feature_prefetcher *p, double *wait_s, double *read_s, int64_t *rows) {
    cbd_feature_prefetcher *q = (cbd_feature_prefetcher *)p;
    pthread_mutex_lock(&q->mu);
    if (wait_s) *wait_s = q->wait_s;
    if (read_s) *read_s = q->read_s;
    if (rows) *rows = q->rows;
    pthread_mutex_unlock(&q->mu);
}

void cbd_feature_prefetcher_destroy(cbd_feature_prefetcher *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free_slots(p);
    free(p->images);
    free(p->views);
    free(p->stores);
    free(p);
}
