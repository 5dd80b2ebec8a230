/* oneDNN plumbing for the cpu backend: status names, the primitive cache and
 * layout bridges. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu_backend.h"

const char *cpu_dnnl_status_name(dnnl_status_t s) {
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    }
    return "unknown";
}

cpu_cache_key cpu_key(int op, int ndims, const int *dims) {
    cpu_cache_key k;
    memset(&k, 0, sizeof k);
    CBD_ASSERT(ndims < CPU_KEY_DIMS, "cache key of %d dims", ndims);
    k.op = op;
    for (int i = 0; i < ndims; i++) k.dims[i] = dims[i];
    k.dims[CPU_KEY_DIMS - 1] = omp_get_max_threads();
    return k;
}

void *cpu_cache_find(cpu_impl *impl, const cpu_cache_key *key) {
    for (int i = 0; i < impl->cache_count; i++)
        if (memcmp(&impl->cache[i].key, key, sizeof *key) == 0) return impl->cache[i].state;
    return NULL;
}

void cpu_cache_insert(cpu_impl *impl, const cpu_cache_key *key, void *state,
                      void (*destroy)(void *state)) {
    if (impl->cache_count == impl->cache_capacity) {
        int cap = impl->cache_capacity ? 2 * impl->cache_capacity : 32;
        cpu_cache_entry *grown = realloc(impl->cache, (size_t)cap * sizeof *grown);
        if (!grown) cbd_fail(CBD_EXIT_FAILURE, "out of memory growing the primitive cache");
        impl->cache = grown;
        impl->cache_capacity = cap;
    }
    cpu_cache_entry *e = &impl->cache[impl->cache_count++];
    e->key = *key;
    e->state = state;
    e->destroy = destroy;
}

void cpu_cache_clear(cpu_impl *impl) {
    for (int i = 0; i < impl->cache_count; i++) impl->cache[i].destroy(impl->cache[i].state);
    free(impl->cache);
    impl->cache = NULL;
    impl->cache_count = impl->cache_capacity = 0;
}

void cpu_md_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                  dnnl_format_tag_t tag) {
    cpu_md_typed(md, ndims, dims, dnnl_f32, tag);
}

void cpu_md_typed(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_data_type_t type,
                  dnnl_format_tag_t tag) {
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, type, tag));
}

void cpu_md_activation(const cpu_impl *impl, dnnl_memory_desc_t *md, const dnnl_dims_t dims) {
    const dnnl_format_tag_t blocked = impl->channels_last ? dnnl_nhwc : dnnl_nChw16c;
    cpu_md_plain(md, 4, dims, cpu_blocked(impl, (int)dims[1]) ? blocked : dnnl_nchw);
}

void cpu_execute(cpu_impl *impl, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args) {
    DNNL_CHECK(dnnl_primitive_execute(prim, impl->stream, nargs, args));
    DNNL_CHECK(dnnl_stream_wait(impl->stream));
}

void cpu_memory_bind(dnnl_memory_t mem, const void *ptr) {
    DNNL_CHECK(dnnl_memory_set_data_handle(mem, (void *)ptr));
}

void *cpu_scratch(cpu_impl *impl, int slot, size_t bytes) {
    CBD_ASSERT(slot >= 0 && slot < CPU_SCRATCH_SLOTS, "scratch slot %d", slot);
    if (bytes > impl->scratch_bytes[slot]) {
        free(impl->scratch[slot]);
        size_t rounded = (bytes + 63) / 64 * 64;
        impl->scratch[slot] = aligned_alloc(64, rounded);
        if (!impl->scratch[slot])
            cbd_fail(CBD_EXIT_FAILURE, "out of memory for a scratch buffer (%zu bytes)", bytes);
        impl->scratch_bytes[slot] = rounded;
    }
    return impl->scratch[slot];
}

void cpu_scratch_free(cpu_impl *impl) {
    for (int i = 0; i < CPU_SCRATCH_SLOTS; i++) {
        free(impl->scratch[i]);
        impl->scratch[i] = NULL;
        impl->scratch_bytes[i] = 0;
    }
}

void cpu_bridge_init(cpu_impl *impl, cpu_bridge *b, const dnnl_memory_desc_t *user_md,
                     const dnnl_memory_desc_t *inner_md, int user_to_inner, int slot) {
    memset(b, 0, sizeof *b);
    DNNL_CHECK(dnnl_memory_create(&b->user, user_md, impl->engine, DNNL_MEMORY_NONE));
    if (dnnl_memory_desc_equal(user_md, inner_md)) {
        b->inner = b->user;
        return;
    }
    b->slot = slot;
    b->bytes = dnnl_memory_desc_get_size(inner_md);
    DNNL_CHECK(dnnl_memory_create(&b->inner, inner_md, impl->engine, DNNL_MEMORY_NONE));
    dnnl_primitive_desc_t pd;
    if (user_to_inner)
        DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, user_md, impl->engine, inner_md,
                                                      impl->engine, NULL));
    else
        DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, inner_md, impl->engine, user_md,
                                                      impl->engine, NULL));
    DNNL_CHECK(dnnl_primitive_create(&b->reorder, pd));
    DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
}

void cpu_bridge_destroy(cpu_bridge *b) {
    if (b->reorder) dnnl_primitive_destroy(b->reorder);
    if (b->inner && b->inner != b->user) dnnl_memory_destroy(b->inner);
    if (b->user) dnnl_memory_destroy(b->user);
    memset(b, 0, sizeof *b);
}

dnnl_memory_t cpu_bridge_input(cpu_impl *impl, cpu_bridge *b, const void *ptr) {
    cpu_memory_bind(b->user, ptr);
    if (b->reorder) {
        cpu_memory_bind(b->inner, cpu_scratch(impl, b->slot, b->bytes));
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, b->user}, {DNNL_ARG_TO, b->inner}};
        cpu_execute(impl, b->reorder, 2, args);
    }
    return b->inner;
}

dnnl_memory_t cpu_bridge_output(cpu_impl *impl, cpu_bridge *b, void *ptr) {
    cpu_memory_bind(b->user, ptr);
    if (b->reorder) cpu_memory_bind(b->inner, cpu_scratch(impl, b->slot, b->bytes));
    return b->inner;
}

void cpu_bridge_output_done(cpu_impl *impl, cpu_bridge *b) {
    if (b->reorder) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, b->inner}, {DNNL_ARG_TO, b->user}};
        cpu_execute(impl, b->reorder, 2, args);
    }
}
