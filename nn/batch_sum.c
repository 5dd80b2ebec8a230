/* Batch sums in a fixed tree over chunks and ranks (nn/batch_sum.h). */
#include "nn/batch_sum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/clock.h"
#include "nn/log.h"

/* What the exchanges between ranks took (cbd_batch_exchange_stats). */
static double exchange_seconds;
static size_t exchange_bytes, exchange_calls;

static void exchange(const cbd_collective *c, const void *mine, size_t bytes, void *all) {
    const double t0 = cbd_now();
    c->allgather(c, mine, bytes, all);
    exchange_seconds += cbd_now() - t0;
    exchange_bytes += bytes;
    exchange_calls++;
}

void cbd_batch_exchange_stats(double *seconds, size_t *bytes, size_t *calls, int reset) {
    if (seconds) *seconds = exchange_seconds;
    if (bytes) *bytes = exchange_bytes;
    if (calls) *calls = exchange_calls;
    if (reset) {
        exchange_seconds = 0.0;
        exchange_bytes = exchange_calls = 0;
    }
}

int cbd_batch_chunk_count(int rows) {
    int k = 1;
    while (k < CBD_BATCH_MAX_CHUNKS && rows % (2 * k) == 0) k *= 2;
    return k;
}

int cbd_batch_ranks(const cbd_backend *be) { return be->collective ? be->collective->size : 1; }

int cbd_batch_split_set(cbd_backend *be, const cbd_collective *ranks, int global_batch, char *err, size_t err_len) {
    const int r = ranks ? ranks->size : 1;
    if (r > 1) {
        const int k = cbd_batch_chunk_count(global_batch);
        if ((r & (r - 1)) != 0 || k % r != 0) {
            snprintf(err, err_len,
                     "a batch of %d is summed over %d chunks, and %d ranks cannot share them: run 1, 2, 4 or 8 "
                     "ranks that divide %d, or a batch size with more factors of 2",
                     global_batch, k, r, k);
            return -1;
        }
    }
    be->collective = r > 1 ? ranks : NULL;
    be->global_batch = global_batch;
    return 0;
}

cbd_batch_split cbd_batch_split_of(const cbd_backend *be, int rows) {
    const int r = cbd_batch_ranks(be);
    cbd_batch_split sp;
    if (be->global_batch > 0 && (size_t)rows * (size_t)r == (size_t)be->global_batch) {
        const int k = cbd_batch_chunk_count(be->global_batch);
        sp.chunks = k / r;
        sp.chunk_rows = be->global_batch / k;
    } else {
        sp.chunks = cbd_batch_chunk_count(rows);
        sp.chunk_rows = rows / sp.chunks;
    }
    return sp;
}

float cbd_batch_grad_scale(const cbd_backend *be, float grad_scale) {
    return grad_scale / (float)cbd_batch_ranks(be);
}

size_t cbd_batch_global_rows(const cbd_backend *be, size_t rows) { return rows * (size_t)cbd_batch_ranks(be); }

/* a[i] += a[i + step] over the blocks of a tree level, on host floats. */
static void host_tree(float *blocks, int n, size_t count) {
    for (int step = 1; step < n; step *= 2)
        for (int i = 0; i + step < n; i += 2 * step) {
            float *a = blocks + (size_t)i * count;
            const float *b = blocks + (size_t)(i + step) * count;
            for (size_t e = 0; e < count; e++) a[e] = a[e] + b[e];
        }
}

/* Every rank's block `mine` (backend memory) into `all` (backend memory,
 * size blocks) on the device: NCCL, queued on the backend's stream. */
static void exchange_device(cbd_backend *be, const void *mine, size_t bytes, void *all) {
    const cbd_collective *c = be->collective;
    const double t0 = cbd_now();
    c->allgather_device(c, mine, bytes, all, be->stream);
    exchange_seconds += cbd_now() - t0; /* queued: the wait shows in the next synchronisation */
    exchange_bytes += bytes;
    exchange_calls++;
}

static int device_exchange(const cbd_backend *be) {
    return be->collective && be->collective->size > 1 && be->collective->allgather_device && be->stream;
}

void cbd_batch_gather_backend(cbd_backend *be, const void *mine, size_t bytes, void *all) {
    const cbd_collective *c = be->collective;
    if (!c || c->size == 1) {
        if (all != mine) be->ops.copy(be, all, mine, bytes);
        return;
    }
    if (device_exchange(be)) {
        exchange_device(be, mine, bytes, all);
        return;
    }
    void *host_mine = cbd_malloc(bytes), *host_all = cbd_malloc((size_t)c->size * bytes);
    be->ops.download(be, host_mine, mine, bytes);
    exchange(c, host_mine, bytes, host_all);
    be->ops.upload(be, all, host_all, (size_t)c->size * bytes);
    be->ops.synchronize(be);
    free(host_mine);
    free(host_all);
}

void cbd_batch_sum_chunks(cbd_backend *be, const cbd_batch_split *sp, float *const *partials, size_t count) {
    for (int step = 1; step < sp->chunks; step *= 2)
        for (int i = 0; i + step < sp->chunks; i += 2 * step)
            be->ops.add(be, count, partials[i], partials[i + step], partials[i]);
}

void cbd_batch_sum_partials(cbd_backend *be, const cbd_batch_split *sp, float *const *partials, size_t count,
                            float *out) {
    cbd_batch_sum_chunks(be, sp, partials, count);
    const cbd_collective *c = be->collective;
    if (!c || c->size == 1) {
        if (out != partials[0]) be->ops.copy(be, out, partials[0], count * sizeof(float));
        return;
    }
    if (device_exchange(be)) {
        /* the ranks' subtree sums side by side on the device, the top of the
         * tree added there in the same order as host_tree */
        float *all = be->ops.alloc(be, (size_t)c->size * count * sizeof(float));
        exchange_device(be, partials[0], count * sizeof(float), all);
        for (int step = 1; step < c->size; step *= 2)
            for (int i = 0; i + step < c->size; i += 2 * step)
                be->ops.add(be, count, all + (size_t)i * count, all + (size_t)(i + step) * count,
                            all + (size_t)i * count);
        be->ops.copy(be, out, all, count * sizeof(float));
        be->ops.release(be, all);
        return;
    }
    float *mine = cbd_malloc(count * sizeof(float)), *all = cbd_malloc((size_t)c->size * count * sizeof(float));
    be->ops.download(be, mine, partials[0], count * sizeof(float));
    exchange(c, mine, count * sizeof(float), all);
    host_tree(all, c->size, count);
    be->ops.upload(be, out, all, count * sizeof(float));
    be->ops.synchronize(be);
    free(mine);
    free(all);
}

void cbd_batch_sum_over_ranks(cbd_backend *be, float *values, size_t count) {
    const cbd_batch_split one = {.chunks = 1, .chunk_rows = 0};
    float *const parts[1] = {values};
    if (cbd_batch_ranks(be) > 1) cbd_batch_sum_partials(be, &one, parts, count, values);
}

void cbd_batch_gemm_tn(cbd_backend *be, int rows, int m, int n, float scale, const float *a, int lda, const float *b,
                       int ldb, float *out) {
    const cbd_batch_split sp = cbd_batch_split_of(be, rows);
    if (sp.chunks == 1 && cbd_batch_ranks(be) == 1) {
        be->ops.gemm(be, 1, 0, m, n, rows, scale, a, lda, b, ldb, 0.0f, out, n);
        return;
    }
    float *partial[CBD_BATCH_MAX_CHUNKS] = {0};
    for (int k = 0; k < sp.chunks; k++) {
        partial[k] = be->ops.alloc(be, (size_t)m * n * sizeof(float));
        const size_t first = (size_t)k * sp.chunk_rows;
        be->ops.gemm(be, 1, 0, m, n, sp.chunk_rows, scale, a + first * lda, lda, b + first * ldb, ldb, 0.0f,
                     partial[k], n);
    }
    cbd_batch_sum_partials(be, &sp, partial, (size_t)m * n, out);
    for (int k = 0; k < sp.chunks; k++) be->ops.release(be, partial[k]);
}

void cbd_batch_gemm_rows(cbd_backend *be, int rows, int trans_b, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc) {
    const cbd_batch_split sp = cbd_batch_split_of(be, rows);
    for (int q = 0; q < sp.chunks; q++) {
        const size_t first = (size_t)q * sp.chunk_rows;
        be->ops.gemm(be, 0, trans_b, sp.chunk_rows, n, k, alpha, a + first * lda, lda, b, ldb, beta, c + first * ldc,
                     ldc);
    }
}

void cbd_batch_sum_rows(cbd_backend *be, int rows, int cols, const float *x, float *out) {
    const cbd_batch_split sp = cbd_batch_split_of(be, rows);
    if (sp.chunks == 1 && cbd_batch_ranks(be) == 1) {
        be->ops.sum_rows(be, rows, cols, x, out);
        return;
    }
    float *partial[CBD_BATCH_MAX_CHUNKS] = {0};
    for (int k = 0; k < sp.chunks; k++) {
        partial[k] = be->ops.alloc(be, (size_t)cols * sizeof(float));
        be->ops.sum_rows(be, sp.chunk_rows, cols, x + (size_t)k * sp.chunk_rows * cols, partial[k]);
    }
    cbd_batch_sum_partials(be, &sp, partial, (size_t)cols, out);
    for (int k = 0; k < sp.chunks; k++) be->ops.release(be, partial[k]);
}

void cbd_batch_gather_floats(const cbd_backend *be, const float *mine, size_t count, float *all) {
    const cbd_collective *c = be->collective;
    if (!c || c->size == 1) {
        if (all != mine) memcpy(all, mine, count * sizeof(float));
        return;
    }
    exchange(c, mine, count * sizeof(float), all);
}
