/* NCCL for the GPU sums of data-parallel training (parallel/launch_nccl.h).
 * The engine asks for one thing, an allgather of device memory queued on the
 * backend's stream; the fixed-order sums are made of it (nn/batch_sum.c). */
#include "parallel/launch_nccl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda_runtime.h>
#include <nccl.h>

#include "nn/log.h"

/* 0: not started; 1: NCCL; -1: through host memory (ranks share a GPU) */
static int state;
static ncclComm_t comm;

/* Where a rank computes: its host and its GPU's PCI address. */
typedef struct {
    char host[64];
    char bus[32];
} gpu_place;

static void cuda_ok(cudaError_t e, const char *what) {
    if (e != cudaSuccess) cbd_fail(CBD_EXIT_FAILURE, "%s: %s", what, cudaGetErrorString(e));
}

static int places_shared(const cbd_collective *c) {
    gpu_place me;
    memset(&me, 0, sizeof me);
    gethostname(me.host, sizeof me.host - 1);
    int device = 0;
    cuda_ok(cudaGetDevice(&device), "cannot read this rank's GPU");
    cuda_ok(cudaDeviceGetPCIBusId(me.bus, (int)sizeof me.bus, device), "cannot read this rank's GPU address");
    gpu_place *all = cbd_malloc((size_t)c->size * sizeof *all);
    c->allgather(c, &me, sizeof me, all);
    int shared = 0;
    for (int a = 0; a < c->size && !shared; a++)
        for (int b = a + 1; b < c->size && !shared; b++)
            shared = memcmp(&all[a], &all[b], sizeof me) == 0;
    free(all);
    return shared;
}

static void start(const cbd_collective *c) {
    if (places_shared(c)) {
        state = -1;
        if (c->rank == 0)
            cbd_log("cbd: note: ranks share a GPU, which NCCL does not allow: the ranks' GPU sums go through host "
                    "memory and MPI (one rank a GPU is faster)");
        return;
    }
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    ncclResult_t r = ncclSuccess;
    if (c->rank == 0) r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) cbd_fail(CBD_EXIT_FAILURE, "NCCL could not make its id: %s", ncclGetErrorString(r));
    ncclUniqueId *ids = cbd_malloc((size_t)c->size * sizeof *ids);
    c->allgather(c, &id, sizeof id, ids);
    id = ids[0];
    free(ids);
    r = ncclCommInitRank(&comm, c->size, id, c->rank);
    if (r != ncclSuccess)
        cbd_fail(CBD_EXIT_FAILURE, "NCCL could not start (%s): set CBD_NCCL=off to sum through host memory",
                 ncclGetErrorString(r));
    state = 1;
}

/* Through host memory, for ranks sharing a GPU. */
static void host_allgather(const cbd_collective *c, const void *mine, size_t bytes, void *all, cudaStream_t s) {
    char *host_mine = cbd_malloc(bytes), *host_all = cbd_malloc((size_t)c->size * bytes);
    cuda_ok(cudaMemcpyAsync(host_mine, mine, bytes, cudaMemcpyDeviceToHost, s), "copy for the ranks' sum");
    cuda_ok(cudaStreamSynchronize(s), "copy for the ranks' sum");
    c->allgather(c, host_mine, bytes, host_all);
    cuda_ok(cudaMemcpyAsync(all, host_all, (size_t)c->size * bytes, cudaMemcpyHostToDevice, s),
            "copy of the ranks' sum");
    cuda_ok(cudaStreamSynchronize(s), "copy of the ranks' sum");
    free(host_mine);
    free(host_all);
}

static void nccl_allgather(const cbd_collective *c, const void *mine, size_t bytes, void *all, void *stream) {
    if (state == 0) start(c);
    cudaStream_t s = (cudaStream_t)stream;
    if (state < 0) {
        host_allgather(c, mine, bytes, all, s);
        return;
    }
    const ncclResult_t r = ncclAllGather(mine, all, bytes, ncclChar, comm, s);
    if (r != ncclSuccess) cbd_fail(CBD_EXIT_FAILURE, "NCCL allgather of %zu bytes failed: %s", bytes, ncclGetErrorString(r));
}

void cbd_launch_nccl_attach(cbd_collective *c) {
    const char *v = getenv("CBD_NCCL");
    if (v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)) return;
    if (c->size > 1) c->allgather_device = nccl_allgather;
}

const char *cbd_launch_nccl_support(void) {
    static char text[64];
    if (!text[0]) {
        int v = 0;
        if (ncclGetVersion(&v) == ncclSuccess)
            snprintf(text, sizeof text, "NCCL %d.%d.%d", v / 10000, v / 100 % 100, v % 100);
        else
            snprintf(text, sizeof text, "NCCL");
    }
    return text;
}
