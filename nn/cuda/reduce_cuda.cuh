/* Block reductions for the cuda kernels, in a fixed order so that results
 * have the same bits on every run: each thread first folds its own elements
 * in index order (thread t takes t, t + blockDim.x, ...), then the block adds
 * the threads' values pairwise in a tree whose shape depends only on
 * blockDim.x. No atomics on floating-point values anywhere.
 *
 * Every thread of the block must call these (they synchronise), with
 * blockDim.x a power of two no larger than CUDA_REDUCE_MAX_THREADS. Every
 * thread gets the result. */
#ifndef CBD_REDUCE_CUDA_CUH
#define CBD_REDUCE_CUDA_CUH

#define CUDA_REDUCE_MAX_THREADS 1024

__device__ static double block_sum_double(double v) {
    __shared__ double shared[CUDA_REDUCE_MAX_THREADS];
    const unsigned t = threadIdx.x;
    shared[t] = v;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (t < half) shared[t] += shared[t + half];
        __syncthreads();
    }
    const double total = shared[0];
    __syncthreads(); /* the next call may overwrite shared[] */
    return total;
}

__device__ static double block_max_double(double v) {
    __shared__ double shared[CUDA_REDUCE_MAX_THREADS];
    const unsigned t = threadIdx.x;
    shared[t] = v;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (t < half && shared[t + half] > shared[t]) shared[t] = shared[t + half];
        __syncthreads();
    }
    const double top = shared[0];
    __syncthreads();
    return top;
}

#endif
