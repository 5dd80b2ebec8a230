/* Losses on the cpu. Per-row terms are computed in parallel, then summed in
 * row order, so the loss has the same bits for any thread count. */
#include <math.h>
#include <stdlib.h>

#include "nn/cpu/cpu_backend.h"

static double sum_in_order(const double *v, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

double cpu_softmax_cross_entropy(cbd_backend *be, int rows, int classes, const float *z,
                                 const int *labels, float grad_scale, float *dz) {
    (void)be;
    double *row_loss = cbd_malloc((size_t)rows * sizeof(double));
    const float g = grad_scale / (float)rows;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * classes;
        const int y = labels[r];
        CBD_ASSERT(y >= 0 && y < classes, "label %d outside [0, %d)", y, classes);
        float m = zr[0];
        for (int c = 1; c < classes; c++) m = zr[c] > m ? zr[c] : m;
        double s = 0.0;
        for (int c = 0; c < classes; c++) s += exp((double)zr[c] - m);
        const double lse = m + log(s);
        row_loss[r] = lse - zr[y];
        if (dz) {
            float *dr = dz + (size_t)r * classes;
            for (int c = 0; c < classes; c++)
                dr[c] = g * ((float)exp((double)zr[c] - lse) - (c == y ? 1.0f : 0.0f));
        }
    }
    double loss = sum_in_order(row_loss, rows) / rows;
    free(row_loss);
    return loss;
}

/* T^2 * CE(softmax(teacher_z / T), softmax(z / T)), Eq. 3 of the paper without
 * its alpha; d/dz = T * (softmax(z / T) - softmax(teacher_z / T)). */
double cpu_distill_kd(cbd_backend *be, int rows, int classes, float temperature, const float *z,
                      const float *teacher_z, float grad_scale, float *dz) {
    (void)be;
    const double t = temperature;
    double *row_loss = cbd_malloc((size_t)rows * sizeof(double));
    const float g = grad_scale / (float)rows;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * classes, *tr = teacher_z + (size_t)r * classes;
        double zm = zr[0] / t, tm = tr[0] / t;
        for (int c = 1; c < classes; c++) {
            if (zr[c] / t > zm) zm = zr[c] / t;
            if (tr[c] / t > tm) tm = tr[c] / t;
        }
        double zs = 0.0, ts = 0.0;
        for (int c = 0; c < classes; c++) {
            zs += exp(zr[c] / t - zm);
            ts += exp(tr[c] / t - tm);
        }
        const double z_lse = zm + log(zs), t_lse = tm + log(ts);
        double ce = 0.0;
        for (int c = 0; c < classes; c++) {
            const double p = exp(tr[c] / t - t_lse);
            const double log_q = zr[c] / t - z_lse;
            ce -= p * log_q;
            if (dz) dz[(size_t)r * classes + c] = g * (float)(t * (exp(log_q) - p));
        }
        row_loss[r] = t * t * ce;
    }
    double loss = sum_in_order(row_loss, rows) / rows;
    free(row_loss);
    return loss;
}

/* beta * (1 - cos(a, target)); the target is a constant (no gradient). */
double cpu_distill_cosine(cbd_backend *be, int rows, int dim, const float *a, const float *target,
                          float beta, float grad_scale, float *da) {
    (void)be;
    double *row_loss = cbd_malloc((size_t)rows * sizeof(double));
    const double g = (double)grad_scale / rows;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (size_t)r * dim, *tr = target + (size_t)r * dim;
        double aa = 0.0, tt = 0.0, at = 0.0;
        for (int k = 0; k < dim; k++) {
            aa += (double)ar[k] * ar[k];
            tt += (double)tr[k] * tr[k];
            at += (double)ar[k] * tr[k];
        }
        const double na = fmax(sqrt(aa), 1e-12), nt = fmax(sqrt(tt), 1e-12);
        const double cosine = at / (na * nt);
        row_loss[r] = beta * (1.0 - cosine);
        if (da) {
            float *dr = da + (size_t)r * dim;
            for (int k = 0; k < dim; k++) {
                const double dcos = tr[k] / (na * nt) - cosine * ar[k] / (na * na);
                dr[k] = (float)(-g * beta * dcos);
            }
        }
    }
    double loss = sum_in_order(row_loss, rows) / rows;
    free(row_loss);
    return loss;
}
