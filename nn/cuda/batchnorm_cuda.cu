/* Batch normalisation on the GPU, own kernels (mirror nn/cpu/batchnorm_cpu.c:
 * y = gamma / sqrtf(var + eps) * (x - mean) + beta, the variance biased and
 * taken about the mean, never as E[x^2] - E[x]^2).
 *
 * A channel can hold millions of values (N = 256 at 112 x 112), so training
 * splits each channel into chunks of whole images, a grid of chunks x
 * channels:
 *   1. each block sums its chunk (mean and squared deviations about it; in
 *      backward, the sums of dy and dy * xhat) in a fixed order
 *      (reduce_cuda.cuh) and writes them to a partials buffer;
 *   2. one thread per channel combines the chunks in chunk order, in double
 *      (Chan's pairwise rule for mean and squared deviations);
 *   3. an elementwise kernel writes y (or dx).
 * The chunking depends on the shape only, so statistics and parameter
 * gradients have the same bits on every run and every GPU, and no value is
 * added with atomics. Own kernels rather than cuDNN's because cuDNN returns
 * the inverse standard deviation and folds its own running-average rule into
 * the forward call, while the op table keeps the biased batch variance and
 * updates running statistics apart.
 *
 * Data-parallel ranks (nn/batch_sum.h) each hold the same number of images,
 * so the same chunking: after step 1 every rank's partials are gathered
 * (NCCL, or through the host) and step 2 combines them rank by rank, chunk
 * by chunk, the same order on every rank. The bits depend on R (the chunks
 * are R times smaller) but not on the run. */
#include "nn/cuda/cuda_backend.h"
#include "nn/cuda/reduce_cuda.cuh"

extern "C" {
#include "nn/batch_sum.h"
}

/* Threads of a chunk block, and about how many values a chunk holds: enough
 * to keep a block busy, few enough for many blocks per channel. */
#define BN_THREADS 256
#define BN_CHUNK_VALUES 16384

typedef struct {
    int images_per_chunk, chunks;
} bn_chunking;

static bn_chunking bn_chunks(const cbd_shape4 *s) {
    const size_t plane = (size_t)s->h * s->w;
    size_t per = plane ? (BN_CHUNK_VALUES + plane - 1) / plane : 1;
    if (per < 1) per = 1;
    if (per > (size_t)s->n) per = (size_t)s->n;
    bn_chunking k;
    k.images_per_chunk = (int)per;
    k.chunks = (int)(((size_t)s->n + per - 1) / per);
    return k;
}

/* The images [n0, n1) of chunk `chunk`. */
__device__ static void bn_chunk_images(int chunk, int images_per_chunk, int n, int *n0, int *n1) {
    *n0 = chunk * images_per_chunk;
    *n1 = *n0 + images_per_chunk < n ? *n0 + images_per_chunk : n;
}

/* partial holds two doubles per (channel, chunk), chunks of a channel together. */
__device__ static double *bn_partial_pair(double *partial, int c, int chunks, int chunk) {
    return partial + ((size_t)c * chunks + chunk) * 2;
}

/* In a chunk kernel (grid chunks x channels): thread 0 stores the chunk's two sums. */
__device__ static void bn_store_pair(double *partial, int c, int chunk, double first, double second) {
    if (threadIdx.x != 0) return;
    double *pair = bn_partial_pair(partial, c, gridDim.x, chunk);
    pair[0] = first;
    pair[1] = second;
}

/* The channel of element k of an NCHW tensor; 32-bit arithmetic when the
 * tensor allows it (a 64-bit division costs several times more). */
template <typename I> __device__ static int bn_channel(I k, I plane, I channels) {
    return (int)((k / plane) % channels);
}

/* ---- forward, training ---- */

/* Per (chunk, channel): the chunk's value count, mean and sum of squared
 * deviations from that mean; partial[(c * chunks + chunk) * 2 + {0, 1}]. */
__global__ static void bn_chunk_stats_kernel(cbd_shape4 s, int images_per_chunk, const float *x, double *partial) {
    const int chunk = blockIdx.x, c = blockIdx.y;
    const size_t plane = (size_t)s.h * s.w;
    int n0, n1;
    bn_chunk_images(chunk, images_per_chunk, s.n, &n0, &n1);
    const double count = (double)(n1 - n0) * (double)plane;
    double sum = 0.0;
    for (int n = n0; n < n1; n++) {
        const float *row = x + ((size_t)n * s.c + c) * plane;
        for (size_t j = threadIdx.x; j < plane; j += blockDim.x) sum += row[j];
    }
    const double mean = block_sum_double(sum) / count;
    double m2 = 0.0;
    for (int n = n0; n < n1; n++) {
        const float *row = x + ((size_t)n * s.c + c) * plane;
        for (size_t j = threadIdx.x; j < plane; j += blockDim.x) {
            const double d = (double)row[j] - mean;
            m2 += d * d;
        }
    }
    m2 = block_sum_double(m2);
    bn_store_pair(partial, c, chunk, mean, m2);
}

/* One thread per channel: the chunks combined in order (Chan et al.:
 * mean_ab = mean_a + d * n_b / n_ab, m2_ab = m2_a + m2_b + d^2 n_a n_b / n_ab
 * with d = mean_b - mean_a), then mean and biased variance as floats. */
__global__ static void bn_combine_stats_kernel(cbd_shape4 s, bn_chunking k, int ranks, const double *partial,
                                               float *batch_mean, float *batch_var) {
    const size_t plane = (size_t)s.h * s.w, per_rank = (size_t)s.c * k.chunks * 2;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < s.c; c += gridDim.x * blockDim.x) {
        double count = 0.0, mean = 0.0, m2 = 0.0;
        for (int r = 0; r < ranks; r++)
            for (int chunk = 0; chunk < k.chunks; chunk++) {
                int n0, n1;
                bn_chunk_images(chunk, k.images_per_chunk, s.n, &n0, &n1);
                const double nb = (double)(n1 - n0) * (double)plane, n_ab = count + nb;
                const double *pair = bn_partial_pair((double *)partial + r * per_rank, c, k.chunks, chunk);
                const double d = pair[0] - mean;
                mean += d * nb / n_ab;
                m2 += pair[1] + d * d * count * nb / n_ab;
                count = n_ab;
            }
        batch_mean[c] = (float)mean;
        batch_var[c] = (float)(m2 / count);
    }
}

/* y = gamma / sqrtf(var + eps) * (x - mean) + beta, then max(0, y) when relu;
 * one thread per element (training with the batch statistics, inference with
 * the running ones). */
template <typename I>
__global__ static void bn_apply_kernel(I total, I plane, I channels, float eps, const float *x, const float *gamma,
                                       const float *beta, const float *mean, const float *var, float *y, int relu) {
    for (I k = (I)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (I)gridDim.x * blockDim.x) {
        const int c = bn_channel(k, plane, channels);
        const float scale = gamma[c] / sqrtf(var[c] + eps);
        const float v = scale * (x[k] - mean[c]) + beta[c];
        y[k] = relu ? fmaxf(v, 0.0f) : v;
    }
}

static void bn_apply(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x, const float *gamma,
                     const float *beta, const float *mean, const float *var, float *y, int relu) {
    const size_t total = cbd_shape4_count(*s), plane = (size_t)s->h * s->w;
    if (total == 0) return;
    if (total <= 0xffffffffu)
        bn_apply_kernel<unsigned><<<cuda_blocks_for(total), CUDA_THREADS, 0, cuda_stream(be)>>>(
            (unsigned)total, (unsigned)plane, (unsigned)s->c, eps, x, gamma, beta, mean, var, y, relu);
    else
        bn_apply_kernel<size_t><<<cuda_blocks_for(total), CUDA_THREADS, 0, cuda_stream(be)>>>(
            total, plane, (size_t)s->c, eps, x, gamma, beta, mean, var, y, relu);
    CUDA_CHECK_LAUNCH();
}

/* The partials buffer for a chunking: two doubles per chunk and channel. */
static double *bn_partials(cbd_backend *be, const cbd_shape4 *s, bn_chunking k) {
    return (double *)cuda_buffer(cuda_of(be), CUDA_BUFFER_REDUCE, (size_t)s->c * k.chunks * 2 * sizeof(double));
}

/* Every rank's partials side by side, rank order (this rank's own buffer
 * when it is the only one). */
static const double *bn_partials_of_ranks(cbd_backend *be, const cbd_shape4 *s, bn_chunking k, double *partial) {
    const int ranks = cbd_batch_ranks(be);
    if (ranks == 1) return partial;
    const size_t bytes = (size_t)s->c * k.chunks * 2 * sizeof(double);
    double *all = (double *)cuda_buffer(cuda_of(be), CUDA_BUFFER_RANKS, (size_t)ranks * bytes);
    cbd_batch_gather_backend(be, partial, bytes, all);
    return all;
}

static unsigned bn_channel_blocks(int channels) {
    return (unsigned)((channels + CUDA_THREADS - 1) / CUDA_THREADS);
}

extern "C" void cuda_batchnorm_forward_train(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                             const float *gamma, const float *beta, float *y,
                                             float *batch_mean, float *batch_var, int relu) {
    if (s->c <= 0 || s->n <= 0 || s->h * s->w <= 0) return;
    const bn_chunking k = bn_chunks(s);
    if (s->c > 65535) cuda_fail_at(__FILE__, __LINE__, "batch norm over %d channels: the grid allows 65535", s->c);
    double *partial = bn_partials(be, s, k);
    bn_chunk_stats_kernel<<<dim3((unsigned)k.chunks, (unsigned)s->c), BN_THREADS, 0, cuda_stream(be)>>>(
        *s, k.images_per_chunk, x, partial);
    CUDA_CHECK_LAUNCH();
    const double *all = bn_partials_of_ranks(be, s, k, partial);
    bn_combine_stats_kernel<<<bn_channel_blocks(s->c), CUDA_THREADS, 0, cuda_stream(be)>>>(
        *s, k, cbd_batch_ranks(be), all, batch_mean, batch_var);
    CUDA_CHECK_LAUNCH();
    bn_apply(be, s, eps, x, gamma, beta, batch_mean, batch_var, y, relu);
}

extern "C" void cuda_batchnorm_forward_infer(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                             const float *gamma, const float *beta, const float *mean,
                                             const float *var, float *y, int relu) {
    bn_apply(be, s, eps, x, gamma, beta, mean, var, y, relu);
}

/* ---- backward ---- */

/* cpu_batchnorm_backward: with xhat = (x - mean) / sqrt(var + eps) and M
 * values per channel,
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma / sqrt(var + eps) * (dy - dbeta / M - xhat * dgamma / M).
 * With relu_y (a ReLU fused into the forward), dy counts only where
 * relu_y > 0. */
__device__ static float bn_masked_dy(const float *dy, const float *relu_y, size_t k) {
    return (!relu_y || relu_y[k] > 0.0f) ? dy[k] : 0.0f;
}

/* Per (chunk, channel): the chunk's sums of dy and dy * xhat. */
__global__ static void bn_chunk_grad_sums_kernel(cbd_shape4 s, int images_per_chunk, float eps, const float *x,
                                                 const float *dy, const float *relu_y, const float *batch_mean,
                                                 const float *batch_var, double *partial) {
    const int chunk = blockIdx.x, c = blockIdx.y;
    const size_t plane = (size_t)s.h * s.w;
    int n0, n1;
    bn_chunk_images(chunk, images_per_chunk, s.n, &n0, &n1);
    const float mean = batch_mean[c], inv_std = 1.0f / sqrtf(batch_var[c] + eps);
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int n = n0; n < n1; n++) {
        const size_t base = ((size_t)n * s.c + c) * plane;
        for (size_t j = threadIdx.x; j < plane; j += blockDim.x) {
            const float xhat = (x[base + j] - mean) * inv_std, g = bn_masked_dy(dy, relu_y, base + j);
            sum_dy += g;
            sum_dy_xhat += (double)g * xhat;
        }
    }
    sum_dy = block_sum_double(sum_dy);
    sum_dy_xhat = block_sum_double(sum_dy_xhat);
    bn_store_pair(partial, c, chunk, sum_dy, sum_dy_xhat);
}

/* One thread per channel: dbeta and dgamma, the ranks' chunks added in order. */
__global__ static void bn_combine_grads_kernel(int channels, int chunks, int ranks, const double *partial,
                                               float *dgamma, float *dbeta) {
    const size_t per_rank = (size_t)channels * chunks * 2;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < channels; c += gridDim.x * blockDim.x) {
        double db = 0.0, dg = 0.0;
        for (int r = 0; r < ranks; r++)
            for (int chunk = 0; chunk < chunks; chunk++) {
                const double *pair = bn_partial_pair((double *)partial + r * per_rank, c, chunks, chunk);
                db += pair[0];
                dg += pair[1];
            }
        dbeta[c] = (float)db;
        dgamma[c] = (float)dg;
    }
}

template <typename I>
__global__ static void bn_backward_dx_kernel(I total, I plane, I channels, float count, float eps, const float *x,
                                             const float *dy, const float *relu_y, const float *gamma,
                                             const float *batch_mean, const float *batch_var, const float *dgamma,
                                             const float *dbeta, float *dx) {
    for (I k = (I)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (I)gridDim.x * blockDim.x) {
        const int c = bn_channel(k, plane, channels);
        const float inv_std = 1.0f / sqrtf(batch_var[c] + eps);
        const float xhat = (x[k] - batch_mean[c]) * inv_std;
        dx[k] = gamma[c] * inv_std * (bn_masked_dy(dy, relu_y, k) - dbeta[c] / count - xhat * dgamma[c] / count);
    }
}

extern "C" void cuda_batchnorm_backward(cbd_backend *be, const cbd_shape4 *s, float eps, const float *x,
                                        const float *dy, const float *relu_y, const float *gamma,
                                        const float *batch_mean, const float *batch_var, float *dx,
                                        float *dgamma, float *dbeta) {
    if (s->c <= 0 || s->n <= 0 || s->h * s->w <= 0) return;
    const bn_chunking k = bn_chunks(s);
    if (s->c > 65535) cuda_fail_at(__FILE__, __LINE__, "batch norm over %d channels: the grid allows 65535", s->c);
    double *partial = bn_partials(be, s, k);
    bn_chunk_grad_sums_kernel<<<dim3((unsigned)k.chunks, (unsigned)s->c), BN_THREADS, 0, cuda_stream(be)>>>(
        *s, k.images_per_chunk, eps, x, dy, relu_y, batch_mean, batch_var, partial);
    CUDA_CHECK_LAUNCH();
    const int ranks = cbd_batch_ranks(be);
    const double *all = bn_partials_of_ranks(be, s, k, partial);
    bn_combine_grads_kernel<<<bn_channel_blocks(s->c), CUDA_THREADS, 0, cuda_stream(be)>>>(s->c, k.chunks, ranks,
                                                                                         all, dgamma, dbeta);
    CUDA_CHECK_LAUNCH();
    const size_t total = cbd_shape4_count(*s), plane = (size_t)s->h * s->w;
    /* M: the values of a channel over the whole batch, every rank's */
    const float count = (float)((size_t)s->n * ranks * plane);
    if (total <= 0xffffffffu)
        bn_backward_dx_kernel<unsigned><<<cuda_blocks_for(total), CUDA_THREADS, 0, cuda_stream(be)>>>(
            (unsigned)total, (unsigned)plane, (unsigned)s->c, count, eps, x, dy, relu_y, gamma, batch_mean,
            batch_var, dgamma, dbeta, dx);
    else
        bn_backward_dx_kernel<size_t><<<cuda_blocks_for(total), CUDA_THREADS, 0, cuda_stream(be)>>>(
            total, plane, (size_t)s->c, count, eps, x, dy, relu_y, gamma, batch_mean, batch_var, dgamma, dbeta,
            dx);
    CUDA_CHECK_LAUNCH();
}

/* ---- running statistics ---- */

/* cpu_batchnorm_update_running: one thread per channel. */
__global__ static void bn_update_running_kernel(int channels, float unbias, float momentum,
                                                const float *batch_mean, const float *batch_var,
                                                float *running_mean, float *running_var) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < channels; c += gridDim.x * blockDim.x) {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * batch_mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbias * batch_var[c];
    }
}

extern "C" void cuda_batchnorm_update_running(cbd_backend *be, int channels, size_t count, float momentum,
                                              const float *batch_mean, const float *batch_var,
                                              float *running_mean, float *running_var) {
    if (channels <= 0) return;
    const float unbias = count > 1 ? (float)count / (float)(count - 1) : 1.0f;
    bn_update_running_kernel<<<cuda_blocks_for((size_t)channels), CUDA_THREADS, 0, cuda_stream(be)>>>(
        channels, unbias, momentum, batch_mean, batch_var, running_mean, running_var);
    CUDA_CHECK_LAUNCH();
}
