/* GEMM on the GPU through cuBLAS (mirrors cpu_gemm in nn/cpu/gemm_cpu.c).
 *
 * The op table is row-major, cuBLAS column-major. A row-major matrix with
 * leading dimension ld is, read column-major, its transpose with the same ld.
 * So C = op(A) op(B) (row-major) is C^T = op(B)^T op(A)^T (column-major):
 * call cuBLAS with the operands swapped, m and n swapped, and each operand's
 * transpose flag unchanged. */
#include "nn/cuda/cuda_backend.h"

void cuda_gemm(cbd_backend *be, int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    CUBLAS_CHECK(cublasSgemm(cuda_of(be)->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                             trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda, &beta,
                             c, ldc));
}
