/* The cuda slot of the backend table. This build links the CUDA runtime and
 * can tell whether a GPU is present; the cuda op table is not implemented in
 * this version, so creating the backend reports that plainly. */
#include <stdio.h>

#include <cuda_runtime.h>

#include "nn/backend.h"

int cbd_cuda_available(char *err, size_t err_len) {
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        snprintf(err, err_len, "no CUDA GPU found (%s)",
                 status != cudaSuccess ? cudaGetErrorString(status) : "0 devices");
        return 0;
    }
    return 1;
}

cbd_backend *cbd_backend_cuda_create(char *err, size_t err_len) {
    if (!cbd_cuda_available(err, err_len)) return NULL;
    snprintf(err, err_len, "device = cuda: the cuda backend's ops are not part of this version; "
                           "use device = cpu");
    return NULL;
}
