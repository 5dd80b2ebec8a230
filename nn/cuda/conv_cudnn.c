/* Convolution on the GPU through cuDNN (mirrors nn/cpu/conv_cpu.c): NCHW
 * tensors, OIHW weights, no bias, cross-correlation like oneDNN.
 *
 * A plan per shape holds the descriptors and the algorithm of each direction,
 * chosen once from cuDNN's heuristics (cudnnGet*Algorithm_v7) and cached.
 * Heuristics, not timing runs, so that the same shape gets the same algorithm
 * on every run; and only deterministic algorithms, so that the weight
 * gradient (a sum over the batch) has the same bits on every run. All plans
 * share one workspace, grown to the largest need.
 *
 * precision = bf16 (be->conv_bf16): the plan's descriptors are bf16 with fp32
 * compute (cuDNN's BFLOAT16 configuration, tensor cores); each call rounds
 * its two inputs to bf16 copies in shared buffers and widens the bf16 result
 * into the fp32 output, so the layers around see fp32 as always. */
#include <stdlib.h>
#include <string.h>

#include "nn/batch_sum.h"
#include "nn/cuda/cuda_backend.h"
#include "nn/log.h"

/* An algorithm wanting more scratch than this is passed over for the next
 * one (cuDNN has a no-workspace algorithm in every direction). */
#define CONV_WORKSPACE_LIMIT ((size_t)2 << 30)

typedef struct {
    int algo;
    cudnnMathType_t math;
    size_t workspace;
    cudnnConvolutionDescriptor_t conv; /* one per direction: each carries its math type */
} conv_direction;

struct cuda_conv_plan {
    cbd_conv_shape shape;
    int bf16; /* descriptors of bf16 tensors */
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    conv_direction fwd, bwd_data, bwd_filter;
};

typedef struct cuda_conv_plan conv_plan;

static void plan_destroy(conv_plan *p) {
    cudnnDestroyTensorDescriptor(p->x);
    cudnnDestroyTensorDescriptor(p->y);
    cudnnDestroyFilterDescriptor(p->w);
    cudnnDestroyConvolutionDescriptor(p->fwd.conv);
    cudnnDestroyConvolutionDescriptor(p->bwd_data.conv);
    cudnnDestroyConvolutionDescriptor(p->bwd_filter.conv);
}

void cuda_conv_cache_clear(cuda_impl *impl) {
    for (int i = 0; i < impl->conv_count; i++) plan_destroy(&impl->conv_plans[i]);
    free(impl->conv_plans);
    impl->conv_plans = NULL;
    impl->conv_count = impl->conv_capacity = 0;
}

static int same_shape(const cbd_conv_shape *a, const cbd_conv_shape *b) {
    return a->n == b->n && a->in_c == b->in_c && a->in_h == b->in_h && a->in_w == b->in_w &&
           a->out_c == b->out_c && a->out_h == b->out_h && a->out_w == b->out_w &&
           a->kernel == b->kernel && a->stride == b->stride && a->pad == b->pad;
}

static cudnnConvolutionDescriptor_t make_conv_desc(const cbd_conv_shape *s) {
    cudnnConvolutionDescriptor_t d;
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, s->pad, s->pad, s->stride, s->stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    /* DEFAULT lets cuDNN use TF32 tensor cores for fp32 (as PyTorch's default) */
    CUDNN_CHECK(cudnnSetConvolutionMathType(d, CUDNN_DEFAULT_MATH));
    return d;
}

/* The first (fastest by cuDNN's estimate) usable candidate: it ran the
 * check, is deterministic, keeps fp32 inputs (no conversion to half), and
 * fits the workspace limit. Sets `picked` to its index, or leaves it at -1.
 * A macro because each direction has its own result type. */
#define PICK_CANDIDATE(perf, count, picked)                                                     \
    do {                                                                                  \
        for (int i_ = 0; i_ < (count); i_++)                                              \
            if ((perf)[i_].status == CUDNN_STATUS_SUCCESS &&                              \
                (perf)[i_].determinism == CUDNN_DETERMINISTIC &&                          \
                (perf)[i_].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION &&           \
                (perf)[i_].memory <= CONV_WORKSPACE_LIMIT) {                              \
                (picked) = i_;                                                            \
                break;                                                                    \
            }                                                                             \
    } while (0)

static void choose_forward(cuda_impl *impl, conv_plan *p) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0, picked = -1;
    p->fwd.conv = make_conv_desc(&p->shape);
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(impl->cudnn, p->x, p->w, p->fwd.conv, p->y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf));
    PICK_CANDIDATE(perf, count, picked);
    if (picked >= 0) {
        p->fwd.algo = perf[picked].algo;
        p->fwd.math = perf[picked].mathType;
    } else { /* implicit GEMM: no workspace, deterministic, always supported */
        p->fwd.algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        p->fwd.math = CUDNN_DEFAULT_MATH;
    }
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->fwd.conv, p->fwd.math));
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(impl->cudnn, p->x, p->w, p->fwd.conv, p->y,
                                                        (cudnnConvolutionFwdAlgo_t)p->fwd.algo,
                                                        &p->fwd.workspace));
}

static void choose_backward_data(cuda_impl *impl, conv_plan *p) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0, picked = -1;
    p->bwd_data.conv = make_conv_desc(&p->shape);
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(impl->cudnn, p->w, p->y, p->bwd_data.conv,
                                                            p->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                            &count, perf));
    PICK_CANDIDATE(perf, count, picked);
    if (picked >= 0) {
        p->bwd_data.algo = perf[picked].algo;
        p->bwd_data.math = perf[picked].mathType;
    } else { /* ALGO_1 is the deterministic fallback (ALGO_0 uses atomics) */
        p->bwd_data.algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        p->bwd_data.math = CUDNN_DEFAULT_MATH;
    }
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->bwd_data.conv, p->bwd_data.math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        impl->cudnn, p->w, p->y, p->bwd_data.conv, p->x, (cudnnConvolutionBwdDataAlgo_t)p->bwd_data.algo,
        &p->bwd_data.workspace));
}

static void choose_backward_filter(cuda_impl *impl, conv_plan *p) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0, picked = -1;
    p->bwd_filter.conv = make_conv_desc(&p->shape);
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(impl->cudnn, p->x, p->y, p->bwd_filter.conv,
                                                              p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                              &count, perf));
    PICK_CANDIDATE(perf, count, picked);
    if (picked >= 0) {
        p->bwd_filter.algo = perf[picked].algo;
        p->bwd_filter.math = perf[picked].mathType;
    } else { /* ALGO_1 is the deterministic fallback (ALGO_0 and ALGO_3 use atomics) */
        p->bwd_filter.algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        p->bwd_filter.math = CUDNN_DEFAULT_MATH;
    }
    CUDNN_CHECK(cudnnSetConvolutionMathType(p->bwd_filter.conv, p->bwd_filter.math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        impl->cudnn, p->x, p->y, p->bwd_filter.conv, p->w,
        (cudnnConvolutionBwdFilterAlgo_t)p->bwd_filter.algo, &p->bwd_filter.workspace));
}

static conv_plan *plan_get(cuda_impl *impl, const cbd_conv_shape *s, int bf16) {
    for (int i = 0; i < impl->conv_count; i++)
        if (same_shape(&impl->conv_plans[i].shape, s) && impl->conv_plans[i].bf16 == bf16)
            return &impl->conv_plans[i];

    if (impl->conv_count == impl->conv_capacity) {
        const int grown = impl->conv_capacity ? 2 * impl->conv_capacity : 32;
        conv_plan *bigger = realloc(impl->conv_plans, (size_t)grown * sizeof *bigger);
        if (!bigger) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a convolution plan");
        impl->conv_plans = bigger;
        impl->conv_capacity = grown;
    }
    conv_plan *p = &impl->conv_plans[impl->conv_count];
    memset(p, 0, sizeof *p);
    p->shape = *s;
    p->bf16 = bf16;
    const cudnnDataType_t type = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, type, s->n, s->in_c, s->in_h, s->in_w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, type, s->n, s->out_c, s->out_h, s->out_w));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, type, CUDNN_TENSOR_NCHW, s->out_c, s->in_c, s->kernel,
                                           s->kernel));

    /* cuDNN pads symmetrically and floors the output size; the op table's
     * output size (oneDNN's right padding is implied by it) must agree. */
    cudnnConvolutionDescriptor_t probe = make_conv_desc(s);
    int n, c, h, w;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(probe, p->x, p->w, &n, &c, &h, &w));
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(probe));
    if (n != s->n || c != s->out_c || h != s->out_h || w != s->out_w)
        CBD_PANIC("convolution %dx%d stride %d pad %d on %dx%d: output %dx%dx%d asked, cuDNN gives %dx%dx%d",
                  s->kernel, s->kernel, s->stride, s->pad, s->in_h, s->in_w, s->out_c, s->out_h, s->out_w, c,
                  h, w);

    choose_forward(impl, p);
    choose_backward_data(impl, p);
    choose_backward_filter(impl, p);
    impl->conv_count++;
    return p;
}

static size_t x_count(const cbd_conv_shape *s) { return (size_t)s->n * s->in_c * s->in_h * s->in_w; }
static size_t y_count(const cbd_conv_shape *s) { return (size_t)s->n * s->out_c * s->out_h * s->out_w; }
static size_t w_count(const cbd_conv_shape *s) { return (size_t)s->out_c * s->in_c * s->kernel * s->kernel; }

/* precision = bf16: a bf16 copy of n floats in shared buffer `slot`. */
static const void *bf16_copy(cbd_backend *be, int slot, const float *x, size_t n) {
    void *copy = cuda_buffer(cuda_of(be), slot, n * 2);
    cuda_to_bf16(be, n, x, copy);
    return copy;
}

/* The operands cuDNN sees: the fp32 tensors themselves, or (bf16) copies of
 * the inputs and a bf16 buffer for the result, widened by finish(). */
typedef struct {
    const void *in0, *in1;
    void *out;
} conv_operands;

static conv_operands operands(cbd_backend *be, const conv_plan *p, const float *in0, size_t n0,
                              const float *in1, size_t n1, int in1_slot, float *out, size_t n_out,
                              int out_slot) {
    if (!p->bf16) return (conv_operands){in0, in1, out};
    conv_operands o;
    o.in0 = bf16_copy(be, CUDA_BUFFER_BF16_A, in0, n0);
    o.in1 = bf16_copy(be, in1_slot, in1, n1);
    o.out = cuda_buffer(cuda_of(be), out_slot, n_out * 2);
    return o;
}

static void finish(cbd_backend *be, const conv_plan *p, const conv_operands *o, float *out, size_t n_out) {
    if (p->bf16) cuda_from_bf16(be, n_out, o->out, out);
}

void cuda_conv2d_forward(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w,
                         float *y) {
    cuda_impl *impl = cuda_of(be);
    conv_plan *p = plan_get(impl, s, be->conv_bf16);
    const conv_operands o = operands(be, p, x, x_count(s), w, w_count(s), CUDA_BUFFER_BF16_B, y, y_count(s),
                                     CUDA_BUFFER_BF16_C);
    void *ws = p->fwd.workspace ? cuda_buffer(impl, CUDA_BUFFER_CONV_WORKSPACE, p->fwd.workspace) : NULL;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnConvolutionForward(impl->cudnn, &one, p->x, o.in0, p->w, o.in1, p->fwd.conv,
                                        (cudnnConvolutionFwdAlgo_t)p->fwd.algo, ws, p->fwd.workspace,
                                        &zero, p->y, o.out));
    finish(be, p, &o, y, y_count(s));
}

void cuda_conv2d_backward_data(cbd_backend *be, const cbd_conv_shape *s, const float *dy,
                               const float *w, float *dx) {
    cuda_impl *impl = cuda_of(be);
    conv_plan *p = plan_get(impl, s, be->conv_bf16);
    const conv_operands o = operands(be, p, dy, y_count(s), w, w_count(s), CUDA_BUFFER_BF16_B, dx, x_count(s),
                                     CUDA_BUFFER_BF16_C);
    void *ws = p->bwd_data.workspace
                   ? cuda_buffer(impl, CUDA_BUFFER_CONV_WORKSPACE, p->bwd_data.workspace)
                   : NULL;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(impl->cudnn, &one, p->w, o.in1, p->y, o.in0, p->bwd_data.conv,
                                             (cudnnConvolutionBwdDataAlgo_t)p->bwd_data.algo, ws,
                                             p->bwd_data.workspace, &zero, p->x, o.out));
    finish(be, p, &o, dx, x_count(s));
}

void cuda_conv2d_backward_weights(cbd_backend *be, const cbd_conv_shape *s, const float *x,
                                  const float *dy, float *dw) {
    cuda_impl *impl = cuda_of(be);
    conv_plan *p = plan_get(impl, s, be->conv_bf16);
    const conv_operands o = operands(be, p, x, x_count(s), dy, y_count(s), CUDA_BUFFER_BF16_C, dw, w_count(s),
                                     CUDA_BUFFER_BF16_B);
    void *ws = p->bwd_filter.workspace
                   ? cuda_buffer(impl, CUDA_BUFFER_CONV_WORKSPACE, p->bwd_filter.workspace)
                   : NULL;
    const float one = 1.0f, zero = 0.0f;
    /* beta = 0: the op overwrites dw, as the cpu backend does */
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(impl->cudnn, &one, p->x, o.in0, p->y, o.in1, p->bwd_filter.conv,
                                               (cudnnConvolutionBwdFilterAlgo_t)p->bwd_filter.algo, ws,
                                               p->bwd_filter.workspace, &zero, p->w, o.out));
    finish(be, p, &o, dw, w_count(s));
    /* data-parallel: this rank's sum over its images, then over the ranks */
    cbd_batch_sum_over_ranks(be, dw, w_count(s));
}
