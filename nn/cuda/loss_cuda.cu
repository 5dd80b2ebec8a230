/* Losses on the GPU (mirror nn/cpu/loss_cpu.c, same formulas, double
 * accumulators as there). One block per row computes the row's loss and
 * writes its gradient; a second kernel adds the row losses in a fixed order;
 * the host downloads that one double. */
#include <math.h>

#include "nn/cuda/cuda_backend.h"
#include "nn/cuda/reduce_cuda.cuh"

/* What the host downloads after a loss: the sum of the row losses, and
 * 1 + the last row whose label was out of range (0: none). */
typedef struct {
    double total;
    int bad_row;
    int pad_;
} loss_result;

/* The reduce buffer: the result, then one double per row. */
static loss_result *loss_buffers(cbd_backend *be, int rows, double **row_loss) {
    char *base = (char *)cuda_buffer(cuda_of(be), CUDA_BUFFER_REDUCE,
                                     sizeof(loss_result) + (size_t)(rows > 0 ? rows : 1) * sizeof(double));
    *row_loss = (double *)(base + sizeof(loss_result));
    CUDA_CHECK(cudaMemsetAsync(base, 0, sizeof(loss_result), cuda_stream(be)));
    return (loss_result *)base;
}

/* sum_in_order of loss_cpu.c, on one block: thread t adds rows t, t + T, ...
 * in order, then the block tree. */
__global__ static void sum_rows_in_order_kernel(int rows, const double *row_loss, loss_result *result) {
    double s = 0.0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) s += row_loss[r];
    s = block_sum_double(s);
    if (threadIdx.x == 0) result->total = s;
}

/* Adds the row losses and brings the mean to the host. */
static double finish_loss(cbd_backend *be, int rows, const double *row_loss, loss_result *result,
                          loss_result *host) {
    sum_rows_in_order_kernel<<<1, CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(rows, row_loss, result);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaMemcpyAsync(host, result, sizeof *host, cudaMemcpyDeviceToHost, cuda_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
    return host->total / rows;
}

/* cpu_softmax_cross_entropy: row loss logsumexp(z) - z[y];
 * dz = g * (softmax(z) - onehot(y)), g = grad_scale / rows. */
__global__ static void softmax_ce_kernel(int rows, int classes, const float *z, const int *labels, float g,
                                         float *dz, double *row_loss, loss_result *result) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *zr = z + (size_t)r * classes;
        const int y = labels[r];
        if (y < 0 || y >= classes) { /* the same y for the whole block */
            if (threadIdx.x == 0) {
                atomicMax(&result->bad_row, r + 1); /* an int: the result does not depend on order */
                row_loss[r] = 0.0;
            }
            continue;
        }
        double m = -HUGE_VAL;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) m = fmax(m, (double)zr[c]);
        m = block_max_double(m);
        double s = 0.0;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) s += exp((double)zr[c] - m);
        s = block_sum_double(s);
        const double lse = m + log(s);
        if (threadIdx.x == 0) row_loss[r] = lse - zr[y];
        if (dz) {
            float *dr = dz + (size_t)r * classes;
            for (int c = threadIdx.x; c < classes; c += blockDim.x)
                dr[c] = g * ((float)exp((double)zr[c] - lse) - (c == y ? 1.0f : 0.0f));
        }
    }
}

extern "C" double cuda_softmax_cross_entropy(cbd_backend *be, int rows, int classes, const float *z,
                                             const int *labels, float grad_scale, float *dz) {
    double *row_loss;
    loss_result *result = loss_buffers(be, rows, &row_loss);
    loss_result host;
    const float g = grad_scale / (float)rows;
    if (rows > 0) {
        softmax_ce_kernel<<<cuda_blocks_for_rows((size_t)rows), CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(
            rows, classes, z, labels, g, dz, row_loss, result);
        CUDA_CHECK_LAUNCH();
    }
    const double loss = finish_loss(be, rows, row_loss, result, &host);
    if (host.bad_row) {
        int label = 0;
        CUDA_CHECK(cudaMemcpyAsync(&label, labels + (host.bad_row - 1), sizeof label, cudaMemcpyDeviceToHost,
                                   cuda_stream(be)));
        CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
        cuda_fail_at(__FILE__, __LINE__, "softmax_cross_entropy: label %d of row %d outside [0, %d)", label,
                     host.bad_row - 1, classes);
    }
    return loss;
}

/* cpu_distill_kd: T^2 * CE(softmax(teacher_z / T), softmax(z / T));
 * dz = g * T * (softmax(z / T) - softmax(teacher_z / T)). */
__global__ static void distill_kd_kernel(int rows, int classes, double t, const float *z, const float *teacher_z,
                                         float g, float *dz, double *row_loss) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *zr = z + (size_t)r * classes, *tr = teacher_z + (size_t)r * classes;
        double zm = -HUGE_VAL, tm = -HUGE_VAL;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) {
            zm = fmax(zm, zr[c] / t);
            tm = fmax(tm, tr[c] / t);
        }
        zm = block_max_double(zm);
        tm = block_max_double(tm);
        double zs = 0.0, ts = 0.0;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) {
            zs += exp(zr[c] / t - zm);
            ts += exp(tr[c] / t - tm);
        }
        zs = block_sum_double(zs);
        ts = block_sum_double(ts);
        const double z_lse = zm + log(zs), t_lse = tm + log(ts);
        double ce = 0.0;
        for (int c = threadIdx.x; c < classes; c += blockDim.x) {
            const double p = exp(tr[c] / t - t_lse);
            const double log_q = zr[c] / t - z_lse;
            ce -= p * log_q;
            if (dz) dz[(size_t)r * classes + c] = g * (float)(t * (exp(log_q) - p));
        }
        ce = block_sum_double(ce);
        if (threadIdx.x == 0) row_loss[r] = t * t * ce;
    }
}

extern "C" double cuda_distill_kd(cbd_backend *be, int rows, int classes, float temperature, const float *z,
                                  const float *teacher_z, float grad_scale, float *dz) {
    double *row_loss;
    loss_result *result = loss_buffers(be, rows, &row_loss);
    loss_result host;
    const float g = grad_scale / (float)rows;
    if (rows > 0) {
        distill_kd_kernel<<<cuda_blocks_for_rows((size_t)rows), CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(
            rows, classes, (double)temperature, z, teacher_z, g, dz, row_loss);
        CUDA_CHECK_LAUNCH();
    }
    return finish_loss(be, rows, row_loss, result, &host);
}

/* cpu_distill_cosine: beta * (1 - cos(a, target)), the target constant;
 * da = -g * beta * (target / (|a| |t|) - cos * a / |a|^2), g = grad_scale / rows. */
__global__ static void distill_cosine_kernel(int rows, int dim, const float *a, const float *target, float beta,
                                             double g, float *da, double *row_loss) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *ar = a + (size_t)r * dim, *tr = target + (size_t)r * dim;
        double aa = 0.0, tt = 0.0, at = 0.0;
        for (int k = threadIdx.x; k < dim; k += blockDim.x) {
            aa += (double)ar[k] * ar[k];
            tt += (double)tr[k] * tr[k];
            at += (double)ar[k] * tr[k];
        }
        aa = block_sum_double(aa);
        tt = block_sum_double(tt);
        at = block_sum_double(at);
        const double na = fmax(sqrt(aa), 1e-12), nt = fmax(sqrt(tt), 1e-12);
        const double cosine = at / (na * nt);
        if (threadIdx.x == 0) row_loss[r] = beta * (1.0 - cosine);
        if (da) {
            float *dr = da + (size_t)r * dim;
            for (int k = threadIdx.x; k < dim; k += blockDim.x) {
                const double dcos = tr[k] / (na * nt) - cosine * ar[k] / (na * na);
                dr[k] = (float)(-g * beta * dcos);
            }
        }
    }
}

extern "C" double cuda_distill_cosine(cbd_backend *be, int rows, int dim, const float *a, const float *target,
                                      float beta, float grad_scale, float *da) {
    double *row_loss;
    loss_result *result = loss_buffers(be, rows, &row_loss);
    loss_result host;
    const double g = (double)grad_scale / rows;
    if (rows > 0) {
        distill_cosine_kernel<<<cuda_blocks_for_rows((size_t)rows), CUDA_REDUCE_THREADS, 0, cuda_stream(be)>>>(
            rows, dim, a, target, beta, g, da, row_loss);
        CUDA_CHECK_LAUNCH();
    }
    return finish_loss(be, rows, row_loss, result, &host);
}
