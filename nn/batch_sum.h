/* Sums over a training batch that give the same bits for any thread count
 * and any number of ranks. The batch's rows are cut into K chunks, K the
 * largest power of two dividing the global batch, at most 8; a partial is
 * made per chunk and the partials are added in one fixed binary tree
 * ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)). With R ranks (R a power
 * of two dividing K), rank r holds chunks [r K/R, (r + 1) K/R): its own
 * subtree, whose sum it exchanges with the others (allgather) before the
 * top of the tree is added the same way everywhere. Weight gradients of
 * convolutions and of linear and cosine heads are made so; batch-norm
 * statistics are gathered per image (nn/cpu/batchnorm_cpu.c).
 *
 * The split is the backend's (cbd_backend.collective, .global_batch): set
 * once per training job with cbd_batch_split_set. A call with other rows
 * than the split's local batch (a batch shortened by skipped images) cuts
 * its own rows the same way and still exchanges subtree sums. */
#ifndef CBD_BATCH_SUM_H
#define CBD_BATCH_SUM_H

#include <stddef.h>

#include "nn/backend.h"

#define CBD_BATCH_MAX_CHUNKS 8

typedef struct {
    int chunks;     /* this process's chunks of the rows */
    int chunk_rows; /* rows per chunk */
} cbd_batch_split;

/* K for a batch of `rows`: the largest power of two dividing it, at most 8. */
int cbd_batch_chunk_count(int rows);
/* Sets be's split: ranks (NULL: one process) and the global batch. Returns
 * 0, or -1 with why in err when the ranks cannot share the batch's chunks. */
int cbd_batch_split_set(cbd_backend *be, const cbd_collective *ranks, int global_batch, char *err, size_t err_len);
/* The number of ranks (1 without a collective). */
int cbd_batch_ranks(const cbd_backend *be);
/* The chunks of a call with `rows` rows on this process. */
cbd_batch_split cbd_batch_split_of(const cbd_backend *be, int rows);
/* The rows of the whole batch a call with `rows` local rows belongs to. */
size_t cbd_batch_global_rows(const cbd_backend *be, size_t rows);

/* Adds partials[0 .. sp->chunks) (count floats each, backend memory; they
 * are overwritten) in the tree, then across ranks, into out. */
void cbd_batch_sum_partials(cbd_backend *be, const cbd_batch_split *sp, float *const *partials, size_t count,
                            float *out);
/* The same tree over this process's chunks only, into partials[0]: for
 * partials in another layout than the result's, which the caller brings to
 * it before cbd_batch_sum_over_ranks (elementwise, so the bits are those of
 * cbd_batch_sum_partials). */
void cbd_batch_sum_chunks(cbd_backend *be, const cbd_batch_split *sp, float *const *partials, size_t count);

/* values (count floats, backend memory) summed over the ranks in the tree's
 * order, in place: for a sum a library made over this rank's whole batch
 * (cuDNN's weight gradients). Nothing with one rank. */
void cbd_batch_sum_over_ranks(cbd_backend *be, float *values, size_t count);

/* Every rank's `bytes` of backend memory `mine` into backend memory `all`
 * (size * bytes), in rank order: on the device with the job's NCCL when it
 * has one, else through host memory. A copy with one rank. */
void cbd_batch_gather_backend(cbd_backend *be, const void *mine, size_t bytes, void *all);

/* out = sum over the batch of a row-wise product, as C = A^T B by chunks:
 * dW [m, n] = scale * sum over rows of a[row, m] x b[row, n] (a is rows x m
 * with leading dimension lda, b rows x n with ldb). */
void cbd_batch_gemm_tn(cbd_backend *be, int rows, int m, int n, float scale, const float *a, int lda, const float *b,
                       int ldb, float *out);
/* c [rows, n] = alpha a [rows, k] op(b) + beta c, op(b) = b [k, n] or, with
 * trans_b, b^T for b [n, k]: a product row by row, made chunk by chunk of
 * the split so that a row's bits do not depend on how many rows share the
 * call (a GEMM library picks its kernels by shape). */
void cbd_batch_gemm_rows(cbd_backend *be, int rows, int trans_b, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
/* out [cols] = sum over the batch of x's rows (rows x cols), by chunks. */
void cbd_batch_sum_rows(cbd_backend *be, int rows, int cols, const float *x, float *out);

/* The weight of a loss's gradient when the loss is a mean over this rank's
 * rows but the step's over the global batch: grad_scale / R, exact since R is
 * a power of two, so every rank writes the single process's gradient rows.
 * Every loss applies it (nn/losses). */
float cbd_batch_grad_scale(const cbd_backend *be, float grad_scale);

/* Sums of doubles or floats that every rank holds for its own rows, gathered
 * in rank order: all receives size * count values (rank r's at r * count). */
void cbd_batch_gather_floats(const cbd_backend *be, const float *mine, size_t count, float *all);

/* The exchanges between ranks since the last reset: seconds spent in them
 * (waiting for the slowest rank included), bytes this rank sent, calls.
 * For benchmarks (tools/cbd_bench_ranks.c). */
void cbd_batch_exchange_stats(double *seconds, size_t *bytes, size_t *calls, int reset);

#endif
