/* Internals shared by the cpu backend's files: the oneDNN engine and stream,
 * the per-shape primitive cache, layout bridges, and the op functions that
 * backend_cpu.c puts in the table. */
#ifndef CBD_CPU_BACKEND_H
#define CBD_CPU_BACKEND_H

#include <oneapi/dnnl/dnnl.h>

#include "nn/backend.h"
#include "nn/log.h"

#define DNNL_CHECK(call)                                                                   \
    do {                                                                                   \
        dnnl_status_t dnnl_check_status_ = (call);                                         \
        if (dnnl_check_status_ != dnnl_success)                                            \
            cbd_panic_at(__FILE__, __LINE__, "oneDNN call %s failed with status %d (%s)", \
                         #call, (int)dnnl_check_status_,                                   \
                         cpu_dnnl_status_name(dnnl_check_status_));                        \
    } while (0)

const char *cpu_dnnl_status_name(dnnl_status_t s);

/* A primitive cache key: which primitive, its shape, and the thread count it
 * was made for (oneDNN fixes its work split when a primitive is created). */
#define CPU_KEY_DIMS 15
typedef struct {
    int op;
    int dims[CPU_KEY_DIMS];
} cpu_cache_key;

enum {
    CPU_OP_CONV = 1,
    CPU_OP_MAXPOOL,
    CPU_OP_AVGPOOL_GLOBAL
};

typedef struct {
    cpu_cache_key key;
    void *state;
    void (*destroy)(void *state);
} cpu_cache_entry;

/* Scratch buffers shared by every cached primitive. Ops run one at a time,
 * so one buffer per role (grown to the largest request) serves all shapes:
 * reordered copies and partial sums cost the largest layer's size, not the
 * sum over layers. */
enum {
    CPU_SCRATCH_FWD_SRC,
    CPU_SCRATCH_FWD_WEI,
    CPU_SCRATCH_FWD_DST,
    CPU_SCRATCH_BWD_DIFF_DST,
    CPU_SCRATCH_BWD_WEI,
    CPU_SCRATCH_BWD_DIFF_SRC,
    CPU_SCRATCH_BN_PARTIALS, /* batch norm in channel blocks: per-image sums */
    CPU_SCRATCH_WGRAD_FIRST, /* then per weight-gradient chunk: src, diff_dst, diff_wei, partial, pad */
    CPU_SCRATCH_PER_WGRAD_CHUNK = 5,
    CPU_SCRATCH_WGRAD_MAX_CHUNKS = 8,
    CPU_SCRATCH_SLOTS = CPU_SCRATCH_WGRAD_FIRST + CPU_SCRATCH_PER_WGRAD_CHUNK * CPU_SCRATCH_WGRAD_MAX_CHUNKS
};

/* The memory-bound loops of the cpu backend (batch norm, the elementwise
 * ops, SGD) compiled three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2,
 * FMA) and plain x86-64, the one for this CPU picked when the program loads
 * (GCC's target_clones): the build stays portable, and these loops, 25-37%
 * of a training step, run 4-7% faster on AVX-512 (docs/speed.md). Sums keep
 * their order in every version; a version may fuse a multiply and an add,
 * so bits can differ between CPUs, as oneDNN's kernels already make them. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CPU_HOT_LOOP __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_HOT_LOOP
#endif

/* Channels per block of the blocked activation layout (nChw16c: the AVX-512
 * kernels' vector width). */
#define CPU_CHANNEL_BLOCK 16

typedef struct {
    int channel_block; /* 0 or CPU_CHANNEL_BLOCK: see nn/backend.h */
    int channels_last; /* those tensors NHWC (nn/backend.h) */
    int winograd;      /* 1: fp32 3x3 convolutions may run oneDNN's Winograd kernels (conv_cpu.c) */
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    cpu_cache_entry *cache;
    int cache_count, cache_capacity;
    void *scratch[CPU_SCRATCH_SLOTS];
    size_t scratch_bytes[CPU_SCRATCH_SLOTS];
    /* conv_cpu.c: the convolution (its cached state) whose last weight gradient
     * left its rounding of `rounded_dy` in the data gradient's buffer; NULL when
     * none. Any other convolution call clears it. */
    const void *rounded_dy_conv;
    const float *rounded_dy;
} cpu_impl;

/* The shared buffer of `slot`, at least `bytes` long (its address may change
 * between calls). */
void *cpu_scratch(cpu_impl *impl, int slot, size_t bytes);
void cpu_scratch_free(cpu_impl *impl);

static inline cpu_impl *cpu_of(cbd_backend *be) { return (cpu_impl *)be->impl; }

void *cpu_cache_find(cpu_impl *impl, const cpu_cache_key *key);
void cpu_cache_insert(cpu_impl *impl, const cpu_cache_key *key, void *state,
                      void (*destroy)(void *state));
void cpu_cache_clear(cpu_impl *impl);
/* Key with the current thread count in its last slot. */
cpu_cache_key cpu_key(int op, int ndims, const int *dims);

/* Plain (user) layout <-> the layout a primitive chose. When the two are the
 * same, no reorder runs and the caller's memory is used directly. */
typedef struct {
    dnnl_memory_t user;
    dnnl_memory_t inner;
    dnnl_primitive_t reorder; /* NULL when layouts match */
    int slot;                 /* scratch slot holding the inner copy */
    size_t bytes;
} cpu_bridge;

void cpu_bridge_init(cpu_impl *impl, cpu_bridge *b, const dnnl_memory_desc_t *user_md,
                     const dnnl_memory_desc_t *inner_md, int user_to_inner, int slot);
void cpu_bridge_destroy(cpu_bridge *b);
/* Input: bind `ptr`, reorder into the inner layout; returns what the primitive reads. */
dnnl_memory_t cpu_bridge_input(cpu_impl *impl, cpu_bridge *b, const void *ptr);
/* Output: bind `ptr`; returns what the primitive writes. Then cpu_bridge_output_done. */
dnnl_memory_t cpu_bridge_output(cpu_impl *impl, cpu_bridge *b, void *ptr);
void cpu_bridge_output_done(cpu_impl *impl, cpu_bridge *b);

void cpu_md_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                  dnnl_format_tag_t tag);
/* The same with another data type than fp32. */
void cpu_md_typed(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_data_type_t type,
                  dnnl_format_tag_t tag);
/* The descriptor of a 4-D activation [n, c, h, w] in the backend's layout:
 * nChw16c (or nhwc with channels_last) when c is a multiple of the block,
 * else NCHW. */
void cpu_md_activation(const cpu_impl *impl, dnnl_memory_desc_t *md, const dnnl_dims_t dims);
static inline int cpu_blocked(const cpu_impl *impl, int c) {
    return impl->channel_block > 0 && c % impl->channel_block == 0;
}
void cpu_execute(cpu_impl *impl, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args);
void cpu_memory_bind(dnnl_memory_t mem, const void *ptr);

/* ---- ops ---- */
/* cpu_NAME for every op NAME of nn/backend.h's list, declared from it (memory: backend_cpu.c; conv2d_*: conv_cpu.c; batchnorm_*: batchnorm_cpu.c; maxpool_*, avgpool_*: pool_cpu.c;
 * gemm, add_row_vector, sum_rows: gemm_cpu.c; the elementwise ops, shortcut_pad_* and l2norm_rows_*:
 * elementwise_cpu.c; the losses: loss_cpu.c; sgd_update: sgd_cpu.c). */
#define CBD_OP_FN(name) cpu_##name
CBD_BACKEND_DECLARE_OPS

#endif
