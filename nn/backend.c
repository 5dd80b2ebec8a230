#include "nn/backend.h"

#include <stdio.h>
#include <string.h>

#include "nn/log.h"

static const char *const op_names[] = {
#define CBD_OP_NAME(name, ret, args) #name,
    CBD_BACKEND_OPS(CBD_OP_NAME)
#undef CBD_OP_NAME
};

int cbd_backend_op_count(void) { return (int)(sizeof op_names / sizeof op_names[0]); }

const char *cbd_backend_op_name(int i) {
    return (i >= 0 && i < cbd_backend_op_count()) ? op_names[i] : NULL;
}

const char *cbd_backend_missing_op(const cbd_backend *be) {
#define CBD_OP_CHECK(name, ret, args) \
    if (!be->ops.name) return #name;
    CBD_BACKEND_OPS(CBD_OP_CHECK)
#undef CBD_OP_CHECK
    return NULL;
}

size_t cbd_layout_offset(const cbd_backend *be, cbd_shape4 s, int n, int c, int h, int w) {
    const size_t hw = (size_t)s.h * s.w, pixel = (size_t)h * s.w + w;
    if (!cbd_layout_blocked(be, s.c)) return ((size_t)n * s.c + c) * hw + pixel;
    if (be->channels_last) return ((size_t)n * hw + pixel) * s.c + c;
    const int b = be->channel_block;
    return (((size_t)n * (s.c / b) + c / b) * hw + pixel) * b + c % b;
}

void cbd_layout_to_nchw(const cbd_backend *be, cbd_shape4 s, const float *src, float *dst) {
    size_t i = 0;
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++)
            for (int h = 0; h < s.h; h++)
                for (int w = 0; w < s.w; w++) dst[i++] = src[cbd_layout_offset(be, s, n, c, h, w)];
}

void cbd_layout_from_nchw(const cbd_backend *be, cbd_shape4 s, const float *src, float *dst) {
    size_t i = 0;
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++)
            for (int h = 0; h < s.h; h++)
                for (int w = 0; w < s.w; w++) dst[cbd_layout_offset(be, s, n, c, h, w)] = src[i++];
}

static int gpu_rank;

void cbd_backend_choose_gpu(int local_rank) { gpu_rank = local_rank > 0 ? local_rank : 0; }
int cbd_backend_gpu_rank(void) { return gpu_rank; }

#ifndef CBD_HAVE_CUDA
int cbd_cuda_available(char *err, size_t err_len) {
    snprintf(err, err_len, "this build has no CUDA backend (configure with the CUDA toolkit "
                           "present, or -DCBD_CUDA=ON)");
    return 0;
}

cbd_backend *cbd_backend_cuda_create(char *err, size_t err_len) {
    cbd_cuda_available(err, err_len);
    return NULL;
}
#endif

cbd_backend *cbd_backend_create(const char *device, char *err, size_t err_len) {
    if (!device || strcmp(device, "cpu") == 0) return cbd_backend_cpu_create(err, err_len);
    if (strcmp(device, "cuda") == 0) return cbd_backend_cuda_create(err, err_len);
    if (strcmp(device, "auto") == 0) {
        char why[256];
        if (cbd_cuda_available(why, sizeof why)) {
            cbd_backend *be = cbd_backend_cuda_create(err, err_len);
            if (be) return be;
            /* a GPU that is there but unusable deserves a word before the cpu takes over */
            cbd_log("cbd: warning: device = auto: a GPU is present but the cuda backend cannot start "
                    "(%s); using the cpu", err);
        }
        return cbd_backend_cpu_create(err, err_len);
    }
    snprintf(err, err_len, "unknown device '%s' (expected cpu, cuda or auto)", device);
    return NULL;
}

int cbd_backend_set_precision(cbd_backend *be, const char *precision, char *err, size_t err_len) {
    if (strcmp(precision, "fp32") == 0) {
        be->conv_bf16 = 0;
        return 0;
    }
    if (strcmp(precision, "bf16") != 0) {
        snprintf(err, err_len, "unknown precision '%s' (expected fp32 or bf16)", precision);
        return -1;
    }
    if (be->prepare_bf16 && be->prepare_bf16(be, err, err_len) != 0) return -1;
    be->conv_bf16 = 1;
    return 0;
}

void cbd_backend_destroy(cbd_backend *be) {
    if (be && be->destroy) be->destroy(be);
}
