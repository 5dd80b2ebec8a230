/* One op table per backend. Every op that touches tensor memory is here, so a
 * backend is complete when every slot is filled; `cbd_backend_missing_op`
 * names the first empty one and the tests check each backend with it.
 *
 * Conventions: pointers are backend memory; shapes are given as NCHW;
 * matrices are row-major; outputs are overwritten unless the op says it
 * accumulates.
 *
 * Memory layout of 4-D tensors: a backend with channel_block = 0 stores them
 * NCHW. One with channel_block = B stores a tensor whose C is a multiple of B
 * as N, C/B, H, W, B (channels in blocks of B innermost: oneDNN's nChw16c for
 * B = 16), the layout its convolutions run fastest on, so no layer has to
 * reorder its input or output; other tensors stay NCHW. Where H = W = 1 (the
 * pooled feature, logits, any matrix) the two layouts are the same bytes, so
 * only code that reads activations on the host must care:
 * cbd_layout_to_nchw / cbd_layout_from_nchw convert. Elementwise ops do not
 * care about the layout; ops on two tensors get both in the same layout.
 * With channels_last set as well, those tensors are N, H, W, C instead (one
 * block of all C channels: oneDNN's nhwc), the layout oneDNN's AMX bf16
 * kernels read and write: the cpu backend's layout with precision = bf16 on
 * a CPU with AMX. */
#ifndef CBD_BACKEND_H
#define CBD_BACKEND_H

#include <stddef.h>

#include "nn/collective.h"
#include "nn/tensor.h"

typedef struct cbd_backend cbd_backend;

typedef struct {
    int n, in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kernel, stride, pad;
} cbd_conv_shape;

typedef struct {
    int n, c, in_h, in_w;
    int out_h, out_w;
    int kernel, stride, pad;
} cbd_pool_shape;

/* X(name, return type, (parameters)) */
#define CBD_BACKEND_OPS(X)                                                                        \
    /* memory */                                                                                  \
    X(alloc, void *, (cbd_backend * be, size_t bytes))                                            \
    X(release, void, (cbd_backend * be, void *p))                                                 \
    X(upload, void, (cbd_backend * be, void *dst, const void *host_src, size_t bytes))            \
    X(download, void, (cbd_backend * be, void *host_dst, const void *src, size_t bytes))          \
    X(copy, void, (cbd_backend * be, void *dst, const void *src, size_t bytes))                   \
    /* rows of row_bytes from src (rows src_pitch bytes apart) to dst (dst_pitch apart) */        \
    X(copy_2d, void,                                                                              \
      (cbd_backend * be, size_t rows, size_t row_bytes, const void *src, size_t src_pitch,        \
       void *dst, size_t dst_pitch))                                                              \
    X(fill, void, (cbd_backend * be, float *x, size_t n, float value))                            \
    X(synchronize, void, (cbd_backend * be))                                                      \
    /* convolution, no bias. conv2d_backward_data right after conv2d_backward_weights of the    \
     * same shape and the same dy may reuse what that call made of dy (its bf16 rounding):      \
     * dy must not change between the two (nn/layers/conv2d.c calls them so). */                \
    X(conv2d_forward, void,                                                                       \
      (cbd_backend * be, const cbd_conv_shape *s, const float *x, const float *w, float *y))      \
    X(conv2d_backward_data, void,                                                                 \
      (cbd_backend * be, const cbd_conv_shape *s, const float *dy, const float *w, float *dx))    \
    X(conv2d_backward_weights, void,                                                              \
      (cbd_backend * be, const cbd_conv_shape *s, const float *x, const float *dy, float *dw))    \
    /* batch norm over N, H, W per channel; var is the biased batch variance. relu: the output  \
     * is max(0, bn(x)), a ReLU fused in (one pass less). Backward: relu_y, when not NULL, is   \
     * that fused output, and dy counts only where relu_y > 0. */                                \
    X(batchnorm_forward_train, void,                                                              \
      (cbd_backend * be, const cbd_shape4 *s, float eps, const float *x, const float *gamma,      \
       const float *beta, float *y, float *batch_mean, float *batch_var, int relu))               \
    X(batchnorm_forward_infer, void,                                                              \
      (cbd_backend * be, const cbd_shape4 *s, float eps, const float *x, const float *gamma,      \
       const float *beta, const float *mean, const float *var, float *y, int relu))               \
    X(batchnorm_backward, void,                                                                   \
      (cbd_backend * be, const cbd_shape4 *s, float eps, const float *x, const float *dy,         \
       const float *relu_y, const float *gamma, const float *batch_mean,                          \
       const float *batch_var, float *dx, float *dgamma, float *dbeta))                           \
    /* running = (1 - momentum) * running + momentum * batch (variance unbiased by count) */     \
    X(batchnorm_update_running, void,                                                             \
      (cbd_backend * be, int channels, size_t count, float momentum, const float *batch_mean,     \
       const float *batch_var, float *running_mean, float *running_var))                          \
    /* pooling */                                                                                 \
    X(maxpool_workspace_bytes, size_t, (cbd_backend * be, const cbd_pool_shape *s))               \
    X(maxpool_forward, void,                                                                      \
      (cbd_backend * be, const cbd_pool_shape *s, const float *x, float *y, void *workspace))     \
    X(maxpool_backward, void,                                                                     \
      (cbd_backend * be, const cbd_pool_shape *s, const float *dy, const void *workspace,         \
       float *dx))                                                                                \
    X(avgpool_global_forward, void, (cbd_backend * be, const cbd_shape4 *in, const float *x,      \
                                     float *y))                                                   \
    X(avgpool_global_backward, void, (cbd_backend * be, const cbd_shape4 *in, const float *dy,    \
                                      float *dx))                                                 \
    /* C = alpha * op(A) * op(B) + beta * C, row-major, op(A) is m x k, op(B) is k x n */         \
    X(gemm, void,                                                                                 \
      (cbd_backend * be, int trans_a, int trans_b, int m, int n, int k, float alpha,              \
       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc))          \
    X(add_row_vector, void, (cbd_backend * be, int rows, int cols, const float *v, float *y))     \
    X(sum_rows, void, (cbd_backend * be, int rows, int cols, const float *x, float *out))         \
    /* elementwise */                                                                             \
    X(relu_forward, void, (cbd_backend * be, size_t n, const float *x, float *y))                 \
    X(relu_backward, void, (cbd_backend * be, size_t n, const float *y, const float *dy,          \
                            float *dx))                                                           \
    X(add, void, (cbd_backend * be, size_t n, const float *a, const float *b, float *y))          \
    /* y = max(0, a + b): a residual block's sum and its ReLU in one pass */                     \
    X(add_relu, void, (cbd_backend * be, size_t n, const float *a, const float *b, float *y))     \
    X(axpy, void, (cbd_backend * be, size_t n, float alpha, const float *x, float *y))            \
    X(scale, void, (cbd_backend * be, size_t n, float alpha, float *x))                           \
    /* parameter-free residual shortcut: stride-2 subsample, channels zero-padded. Backward      \
     * adds the shortcut's gradient to dx (the block input's gradient from the main path). */   \
    X(shortcut_pad_forward, void,                                                                 \
      (cbd_backend * be, const cbd_shape4 *in, const cbd_shape4 *out, const float *x, float *y))  \
    X(shortcut_pad_backward_add, void,                                                            \
      (cbd_backend * be, const cbd_shape4 *in, const cbd_shape4 *out, const float *dy,            \
       float *dx))                                                                                \
    /* y = x / max(||x||, eps) per row; norms keeps max(||x||, eps) */                           \
    X(l2norm_rows_forward, void,                                                                  \
      (cbd_backend * be, int rows, int cols, const float *x, float *y, float *norms))             \
    X(l2norm_rows_backward, void,                                                                 \
      (cbd_backend * be, int rows, int cols, const float *y, const float *norms, const float *dy, \
       float *dx))                                                                                \
    /* losses: return the mean over rows, write grad_scale * d(mean loss)/d(input) */            \
    X(softmax_cross_entropy, double,                                                              \
      (cbd_backend * be, int rows, int classes, const float *z, const int *labels,                \
       float grad_scale, float *dz))                                                              \
    X(distill_kd, double,                                                                         \
      (cbd_backend * be, int rows, int classes, float temperature, const float *z,                \
       const float *teacher_z, float grad_scale, float *dz))                                      \
    X(distill_cosine, double,                                                                     \
      (cbd_backend * be, int rows, int dim, const float *a, const float *target, float beta,      \
       float grad_scale, float *da))                                                              \
    /* SGD with momentum: g' = g + wd * w; m = mu * m + g'; w -= lr * m (nesterov: g' + mu*m) */ \
    X(sgd_update, void,                                                                           \
      (cbd_backend * be, size_t n, float *w, const float *g, float *m, float lr, float momentum,  \
       float weight_decay, int nesterov))

/* A backend's functions and its table come from the list too. Its private
 * header defines CBD_OP_FN(name) as its function of op `name` (cpu_##name)
 * and expands CBD_BACKEND_DECLARE_OPS: one prototype per op. Its create
 * function sets `be->ops = (cbd_ops)CBD_BACKEND_OPS_TABLE`. An op the
 * backend does not define fails the link; one with another signature fails
 * the compilation; the table cannot leave one out. */
#define CBD_OP_DECLARE(name, ret, args) ret CBD_OP_FN(name) args;
#define CBD_OP_INIT(name, ret, args) .name = CBD_OP_FN(name),
#define CBD_BACKEND_DECLARE_OPS CBD_BACKEND_OPS(CBD_OP_DECLARE)
#define CBD_BACKEND_OPS_TABLE {CBD_BACKEND_OPS(CBD_OP_INIT)}

typedef struct {
#define CBD_OP_SLOT(name, ret, args) ret(*name) args;
    CBD_BACKEND_OPS(CBD_OP_SLOT)
#undef CBD_OP_SLOT
} cbd_ops;

struct cbd_backend {
    const char *name; /* "cpu" or "cuda" */
    /* How training batches are split (nn/batch_sum.h): the ranks (NULL: one
     * process) and the global batch (0: each call's rows are the batch). */
    const cbd_collective *collective;
    int global_batch;
    int channel_block; /* 0: 4-D tensors are NCHW; B: see the layout note above */
    int channels_last; /* 1: the tensors channel_block applies to are NHWC instead of in blocks */
    int conv_bf16;     /* 1: convolutions read bf16 copies of their inputs (precision = bf16) */
    cbd_ops ops;
    void *stream; /* the cuda backend's cudaStream_t (device collectives queue on it); NULL on the cpu */
    void *impl;
    void (*destroy)(cbd_backend *be);
    /* NULL, or what cbd_backend_set_precision does for bf16 on this backend
     * besides setting conv_bf16: 0, or -1 with why */
    int (*prepare_bf16)(cbd_backend *be, char *err, size_t err_len);
};

/* Creates the backend for `device`: "cpu", "cuda" or "auto" (cuda when a GPU
 * is present, else cpu). On failure returns NULL and writes why into err. */
cbd_backend *cbd_backend_create(const char *device, char *err, size_t err_len);
/* The GPU a cuda backend created from now on uses, among the visible ones:
 * local_rank modulo their number (one rank per GPU on a node). Without a
 * call, the first visible GPU (choose with CUDA_VISIBLE_DEVICES). */
void cbd_backend_choose_gpu(int local_rank);
/* The local rank given to cbd_backend_choose_gpu, 0 without a call. */
int cbd_backend_gpu_rank(void);
void cbd_backend_destroy(cbd_backend *be);

/* Sets the precision of the backend's convolutions: "fp32" (the cuda backend
 * lets cuDNN round inputs to TF32) or "bf16": inputs rounded to bf16 (for
 * bf16 tensor cores, or the CPU's AVX-512 BF16 / AMX instructions through
 * oneDNN), products summed in fp32, results stored as fp32; every other op
 * stays fp32. On the cpu, bf16 is refused where oneDNN has no native bf16
 * (cbd_cpu_bf16_supported), and with AMX a backend with channel blocks turns
 * to channels_last, which those kernels run on without a reorder. Call it
 * before the first op. Returns 0, or -1 with why in err. */
int cbd_backend_set_precision(cbd_backend *be, const char *precision, char *err, size_t err_len);

/* 1 if the backend stores a 4-D tensor of c channels in channel blocks. */
static inline int cbd_layout_blocked(const cbd_backend *be, int c) {
    return be->channel_block > 0 && c % be->channel_block == 0;
}
/* Offset of element (n, c, h, w) of a tensor of shape s in be's layout. */
size_t cbd_layout_offset(const cbd_backend *be, cbd_shape4 s, int n, int c, int h, int w);
/* Host-memory copies between be's layout and NCHW (src and dst distinct). */
void cbd_layout_to_nchw(const cbd_backend *be, cbd_shape4 s, const float *src, float *dst);
void cbd_layout_from_nchw(const cbd_backend *be, cbd_shape4 s, const float *src, float *dst);

/* Name of the first op the backend leaves empty, or NULL when complete. */
const char *cbd_backend_missing_op(const cbd_backend *be);
/* Number of ops in the table and the name of op i. */
int cbd_backend_op_count(void);
const char *cbd_backend_op_name(int i);

/* Backends that this build can create. */
cbd_backend *cbd_backend_cpu_create(char *err, size_t err_len);
/* The cpu backend with 4-D tensors in channel blocks of 16 (its default, the
 * fast one) or, with channel_block = 0, all NCHW (the plain reference). */
cbd_backend *cbd_backend_cpu_create_layout(int channel_block, char *err, size_t err_len);
/* The cpu backend with tensors of 16k channels NHWC (channels_last): the
 * layout precision = bf16 sets, here also for fp32 (tests compare it). */
cbd_backend *cbd_backend_cpu_create_channels_last(char *err, size_t err_len);
/* Lets the cpu backend's fp32 3x3 stride-1 convolutions run oneDNN's
 * Winograd kernels where they fit (on = 1, its default with channel blocks;
 * the plain reference layout stays direct, as does everything with
 * CBD_WINOGRAD=0 in the environment) or keeps all direct (on = 0). */
void cbd_backend_cpu_set_winograd(cbd_backend *be, int on);
/* Returns 1 if oneDNN has its Winograd kernels on this CPU (AVX-512); 0
 * otherwise, with the reason in why. */
int cbd_cpu_winograd_supported(char *why, size_t why_len);
/* Returns 1 if oneDNN runs bf16 natively on this CPU (AVX-512 BF16 or AMX);
 * 0 otherwise, with the reason in why. */
int cbd_cpu_bf16_supported(char *why, size_t why_len);
/* Returns 1 if a CUDA GPU can be used; 0 otherwise (with the reason in err). */
int cbd_cuda_available(char *err, size_t err_len);
cbd_backend *cbd_backend_cuda_create(char *err, size_t err_len);

#endif
