#include "nn/backend.h"

#include <stdio.h>
#include <string.h>

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
        }
        return cbd_backend_cpu_create(err, err_len);
    }
    snprintf(err, err_len, "unknown device '%s' (expected cpu, cuda or auto)", device);
    return NULL;
}

void cbd_backend_destroy(cbd_backend *be) {
    if (be && be->destroy) be->destroy(be);
}
