/* Matrix products on the cpu: OpenBLAS sgemm (its OpenMP build, sharing
 * oneDNN's thread pool), and the row/column helpers of the linear layers. */
#include <cblas.h>

#include "nn/cpu/cpu_backend.h"

void cpu_gemm(cbd_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    (void)be;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cpu_add_row_vector(cbd_backend *be, int rows, int cols, const float *v, float *y) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * cols + c] += v[c];
}

void cpu_sum_rows(cbd_backend *be, int rows, int cols, const float *x, float *out) {
    (void)be;
    /* Each column sums its rows in order: the same bits for any thread count. */
#pragma omp parallel for schedule(static)
    for (int c = 0; c < cols; c++) {
        double s = 0.0;
        for (int r = 0; r < rows; r++) s += x[(size_t)r * cols + c];
        out[c] = (float)s;
    }
}
