/* The cpu backend: host memory, oneDNN for convolution, batch norm and
 * pooling, OpenBLAS for GEMM, OpenMP loops for the rest. The readable
 * reference every other backend is checked against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"

void *cpu_alloc(cbd_backend *be, size_t bytes) {
    (void)be;
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) cbd_fail(CBD_EXIT_FAILURE, "out of memory allocating %zu bytes", bytes);
    return p;
}

void cpu_release(cbd_backend *be, void *p) {
    (void)be;
    free(p);
}

/* Host memory: upload, download and copy are the same copy. */
static void copy_bytes(void *dst, const void *src, size_t bytes) {
    if (dst != src) memmove(dst, src, bytes);
}

void cpu_upload(cbd_backend *be, void *dst, const void *host_src, size_t bytes) {
    (void)be;
    copy_bytes(dst, host_src, bytes);
}

void cpu_download(cbd_backend *be, void *host_dst, const void *src, size_t bytes) {
    (void)be;
    copy_bytes(host_dst, src, bytes);
}

void cpu_copy(cbd_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    copy_bytes(dst, src, bytes);
}

void cpu_copy_2d(cbd_backend *be, size_t rows, size_t row_bytes, const void *src, size_t src_pitch, void *dst,
                 size_t dst_pitch) {
    (void)be;
    for (size_t r = 0; r < rows; r++)
        memcpy((char *)dst + r * dst_pitch, (const char *)src + r * src_pitch, row_bytes);
}

void cpu_fill(cbd_backend *be, float *x, size_t n, float value) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = value;
}

void cpu_synchronize(cbd_backend *be) { (void)be; }

static void cpu_destroy(cbd_backend *be) {
    cpu_impl *impl = cpu_of(be);
    cpu_cache_clear(impl);
    cpu_scratch_free(impl);
    dnnl_stream_destroy(impl->stream);
    dnnl_engine_destroy(impl->engine);
    free(impl);
    free(be);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "an instruction set it does not name";
    }
}

int cbd_cpu_bf16_supported(char *why, size_t why_len) {
    /* What oneDNN will use (DNNL_MAX_CPU_ISA lowers it), not what the CPU's
     * name suggests. Below avx512_core_bf16 oneDNN would emulate bf16 at a
     * fraction of the fp32 rate, or not run it at all. */
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const unsigned need = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    if (((unsigned)isa & need) == need) return 1;
    snprintf(why, why_len,
             "no native bf16 on this CPU: oneDNN runs %s here, bf16 needs avx512_core_bf16 or "
             "avx512_core_amx; use precision = fp32",
             isa_name(isa));
    return 0;
}

int cbd_cpu_winograd_supported(char *why, size_t why_len) {
    /* oneDNN 2.x has fp32 Winograd kernels for avx512_core only */
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const unsigned need = (unsigned)dnnl_cpu_isa_avx512_core;
    if (((unsigned)isa & need) == need) return 1;
    snprintf(why, why_len, "oneDNN runs %s here; its Winograd kernels need avx512_core", isa_name(isa));
    return 0;
}

/* 1 if oneDNN runs AMX here (its bf16 kernels there read and write NHWC). */
static int isa_has_amx(void) {
    const unsigned amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
    return ((unsigned)dnnl_get_effective_cpu_isa() & amx) == amx;
}

/* precision = bf16: oneDNN must run bf16 natively. With AMX the tensors of
 * 16k channels go NHWC, the layout its AMX kernels read and write, so that a
 * convolution's input is only rounded to bf16 and its output needs no
 * reorder; without (AVX-512 BF16 alone) its bf16 kernels read channel
 * blocks, which stay. Before the first op: nothing may have been made in the
 * old layout. */
static int cpu_prepare_bf16(cbd_backend *be, char *err, size_t err_len) {
    cpu_impl *impl = cpu_of(be);
    if (!cbd_cpu_bf16_supported(err, err_len)) return -1;
    if (be->channel_block == 0 || be->channels_last || !isa_has_amx()) return 0;
    if (impl->cache_count > 0) {
        snprintf(err, err_len, "precision bf16 set after the backend ran ops in channel blocks");
        return -1;
    }
    be->channels_last = impl->channels_last = 1;
    return 0;
}

/* CBD_WINOGRAD=0 keeps every convolution direct (to compare the two). */
static int cpu_winograd_refused_by_env(void) {
    const char *v = getenv("CBD_WINOGRAD");
    return v && strcmp(v, "0") == 0;
}

void cbd_backend_cpu_set_winograd(cbd_backend *be, int on) {
    cpu_impl *impl = cpu_of(be);
    cpu_cache_clear(impl);
    impl->winograd = on && be->channel_block > 0;
}

cbd_backend *cbd_backend_cpu_create_channels_last(char *err, size_t err_len) {
    cbd_backend *be = cbd_backend_cpu_create_layout(CPU_CHANNEL_BLOCK, err, err_len);
    if (be) be->channels_last = cpu_of(be)->channels_last = 1;
    return be;
}

cbd_backend *cbd_backend_cpu_create(char *err, size_t err_len) {
    return cbd_backend_cpu_create_layout(CPU_CHANNEL_BLOCK, err, err_len);
}

cbd_backend *cbd_backend_cpu_create_layout(int channel_block, char *err, size_t err_len) {
    if (channel_block != 0 && channel_block != CPU_CHANNEL_BLOCK) {
        snprintf(err, err_len, "the cpu backend stores channels in blocks of %d or not at all, not %d",
                 CPU_CHANNEL_BLOCK, channel_block);
        return NULL;
    }
    cpu_impl *impl = calloc(1, sizeof *impl);
    cbd_backend *be = calloc(1, sizeof *be);
    if (!impl || !be) {
        snprintf(err, err_len, "out of memory creating the cpu backend");
        free(impl);
        free(be);
        return NULL;
    }
    if (dnnl_engine_create(&impl->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&impl->stream, impl->engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(err, err_len, "oneDNN could not create a cpu engine");
        free(impl);
        free(be);
        return NULL;
    }
    be->name = "cpu";
    be->channel_block = channel_block;
    impl->channel_block = channel_block;
    impl->winograd = channel_block > 0 && !cpu_winograd_refused_by_env();
    be->impl = impl;
    be->destroy = cpu_destroy;
    be->prepare_bf16 = cpu_prepare_bf16;
    be->ops = (cbd_ops)CBD_BACKEND_OPS_TABLE;
    return be;
}
