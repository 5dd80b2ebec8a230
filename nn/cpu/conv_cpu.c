/* Convolution on the cpu: oneDNN primitives chosen with format `any` (the
 * blocked layouts its JIT kernels run fastest on), cached per shape. Inputs
 * and outputs are in the backend's activation layout (nn/backend.h), which is
 * what the kernels choose for 16-channel multiples, so those run without a
 * reorder; anything else is bridged at the op boundary.
 *
 * The weight gradient sums over the batch. oneDNN splits that sum by thread,
 * which would make training depend on the thread count in the last bits, and
 * training amplifies such bits. So the batch is cut into the chunks of
 * nn/batch_sum.h (a function of the global batch only); each chunk's
 * gradient is computed by a single-threaded primitive, chunks run in
 * parallel, and the partial sums are added in that file's fixed tree, across
 * ranks too: the same bits for any thread count and any number of ranks.
 * The partials stay in the layout the primitive writes (blocked, maybe
 * padded): the tree adds them element by element there, and one reorder, a
 * permutation, brings the local sum to [out_c, in_c, k, k] before the ranks
 * exchange theirs: the bits of adding in the plain layout, without a reorder
 * per chunk.
 *
 * precision = bf16 (be->conv_bf16): the primitives read bf16 (the source, the
 * weights and the gradient of the output, rounded to nearest even by the
 * bridges' reorders) and write fp32 (the output, the gradient of the input
 * and each chunk's weight gradient), summing products in fp32. Everything
 * else, the partial sums of the weight gradient included, stays fp32. dy is
 * rounded once for both gradients where the layouts allow (dy_fits_bd).
 *
 * fp32 3x3 stride-1 convolutions of 16k channels in channel blocks run
 * oneDNN's Winograd kernels (F(4x4, 3x3), AVX-512) where it has them: about
 * half the multiplications, 1.1-2.2x the direct kernels' speed on resnet20's
 * and resnet50's layers (docs/speed.md), and rounding errors a few times the
 * direct sum's (test_conv_winograd measures them). They are as deterministic:
 * each output's sum over input channels is one thread's, the threads split
 * tiles; the weight gradient keeps its single-threaded chunks. A chunk with
 * fewer than WINOGRAD_MIN_TILES output tiles (resnet50's 512 channels at 7x7,
 * 2 images a chunk) runs its weight gradient direct: transforming the
 * gradient costs more than the tiles save there. oneDNN refusing (a CPU
 * without AVX-512) means direct, as do bf16, the plain reference layout and
 * CBD_WINOGRAD=0. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/batch_sum.h"
#include "nn/cpu/cpu_backend.h"

#define WGRAD_MAX_CHUNKS CPU_SCRATCH_WGRAD_MAX_CHUNKS

/* One chunk of the weight-gradient sum: its own memory, reorders and scratchpad,
 * so chunks can run at the same time. */
typedef struct {
    dnnl_stream_t stream;
    cpu_bridge src, diff_dst, diff_wei;
    int partial_slot, scratchpad_slot; /* partial: the primitive's layout of the weight gradient */
    dnnl_memory_t scratchpad_mem;
    size_t scratchpad_bytes;
} wgrad_chunk;

typedef struct {
    int chunks, chunk_n;
    size_t src_chunk_floats, dst_chunk_floats, wei_floats;
    size_t partial_floats; /* the primitive's layout: wei_floats, or more where it pads */
    size_t dst_chunk_bytes; /* a chunk's dy as the primitive reads it */
    int dy_into_bd;         /* 1: the chunks round dy into the data gradient's buffer (see below);
                               -1: not known until the data gradient has run */
    dnnl_primitive_t prim;
    wgrad_chunk chunk[WGRAD_MAX_CHUNKS];
} wgrad_state;


typedef struct {
    dnnl_memory_desc_t src_any, wei_any, dst_any;         /* what the primitives read */
    dnnl_memory_desc_t src_out_any, dst_out_any;          /* what they write (fp32) */
    dnnl_memory_desc_t src_user, wei_user, dst_user;
    dnnl_dims_t strides, pad_l, pad_r;

    int winograd; /* forward and data gradient (winograd_fits) */
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd;
    cpu_bridge fwd_src, fwd_wei, fwd_dst;

    dnnl_primitive_t bwd_data;
    cpu_bridge bd_diff_dst, bd_wei, bd_diff_src;

    wgrad_state *wgrad;
} conv_state;

static void wgrad_state_destroy(wgrad_state *w) {
    if (!w) return;
    for (int c = 0; c < w->chunks; c++) {
        wgrad_chunk *ch = &w->chunk[c];
        cpu_bridge_destroy(&ch->src);
        cpu_bridge_destroy(&ch->diff_dst);
        cpu_bridge_destroy(&ch->diff_wei);
        if (ch->scratchpad_mem) dnnl_memory_destroy(ch->scratchpad_mem);
        if (ch->stream) dnnl_stream_destroy(ch->stream);
    }
    if (w->prim) dnnl_primitive_destroy(w->prim);
    free(w);
}

static void conv_state_destroy(void *p) {
    conv_state *c = p;
    cpu_bridge_destroy(&c->fwd_src);
    cpu_bridge_destroy(&c->fwd_wei);
    cpu_bridge_destroy(&c->fwd_dst);
    cpu_bridge_destroy(&c->bd_diff_dst);
    cpu_bridge_destroy(&c->bd_wei);
    cpu_bridge_destroy(&c->bd_diff_src);
    wgrad_state_destroy(c->wgrad);
    if (c->fwd) dnnl_primitive_destroy(c->fwd);
    if (c->bwd_data) dnnl_primitive_destroy(c->bwd_data);
    if (c->fwd_pd) dnnl_primitive_desc_destroy(c->fwd_pd);
    free(c);
}

static const dnnl_memory_desc_t *query(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* What a convolution's primitives read: bf16 with precision = bf16, else fp32.
 * They always write fp32. */
static dnnl_data_type_t read_type(int bf16) { return bf16 ? dnnl_bf16 : dnnl_f32; }

#define WINOGRAD_MIN_TILES 32 /* 4x4 output tiles a weight-gradient chunk needs for Winograd */

static int winograd_fits(const cpu_impl *impl, const cbd_conv_shape *s, int bf16) {
    return impl->winograd && !bf16 && s->kernel == 3 && s->stride == 1 &&
           s->in_c % CPU_CHANNEL_BLOCK == 0 && s->out_c % CPU_CHANNEL_BLOCK == 0;
}

static int winograd_fits_chunk(const cpu_impl *impl, const cbd_conv_shape *s, int bf16, int chunk_n) {
    const long tiles = (long)chunk_n * ((s->out_h + 3) / 4) * ((s->out_w + 3) / 4);
    return winograd_fits(impl, s, bf16) && tiles >= WINOGRAD_MIN_TILES;
}

/* The geometry and memory descriptors a convolution's primitives are made from. */
typedef struct {
    const dnnl_memory_desc_t *src, *wei, *dst; /* forward: read, read, written */
    const dnnl_memory_desc_t *src_out, *wei_out, *dst_in; /* backward: written, written, read */
    const dnnl_dim_t *strides, *pad_l, *pad_r;
} conv_descs;

typedef enum { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_WEIGHTS } conv_direction;

static dnnl_status_t conv_desc_init(dnnl_convolution_desc_t *desc, conv_direction dir, dnnl_alg_kind_t alg,
                                    const conv_descs *d) {
    switch (dir) {
    case CONV_FORWARD:
        return dnnl_convolution_forward_desc_init(desc, dnnl_forward_training, alg, d->src, d->wei, NULL, d->dst,
                                                  d->strides, d->pad_l, d->pad_r);
    case CONV_BACKWARD_DATA:
        return dnnl_convolution_backward_data_desc_init(desc, alg, d->src_out, d->wei, d->dst_in, d->strides,
                                                        d->pad_l, d->pad_r);
    case CONV_BACKWARD_WEIGHTS:
        return dnnl_convolution_backward_weights_desc_init(desc, alg, d->src, d->wei_out, NULL, d->dst_in,
                                                           d->strides, d->pad_l, d->pad_r);
    }
    return dnnl_invalid_arguments;
}

/* The primitive descriptor of one direction with `alg`; where oneDNN has no
 * such kernel, direct. attr and hint (the forward's pd, for the backward
 * directions) may be NULL. */
static dnnl_primitive_desc_t conv_pd(cpu_impl *impl, conv_direction dir, const conv_descs *d,
                                     dnnl_alg_kind_t alg, const_dnnl_primitive_attr_t attr,
                                     const_dnnl_primitive_desc_t hint) {
    dnnl_convolution_desc_t desc;
    dnnl_primitive_desc_t pd;
    if (alg != dnnl_convolution_direct && conv_desc_init(&desc, dir, alg, d) == dnnl_success &&
        dnnl_primitive_desc_create(&pd, &desc, attr, impl->engine, hint) == dnnl_success)
        return pd;
    DNNL_CHECK(conv_desc_init(&desc, dir, dnnl_convolution_direct, d));
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, impl->engine, hint));
    return pd;
}

/* The whole-batch primitives' descriptors, pointing into c. */
static conv_descs conv_state_descs(const conv_state *c) {
    const conv_descs d = {&c->src_any, &c->wei_any, &c->dst_out_any, &c->src_out_any, NULL, &c->dst_any,
                          c->strides,  c->pad_l,    c->pad_r};
    return d;
}

static dnnl_alg_kind_t alg_of(int winograd) {
    return winograd ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

static conv_state *conv_state_get(cpu_impl *impl, const cbd_conv_shape *s, int bf16) {
    const int dims[11] = {s->n,     s->in_c,  s->in_h,   s->in_w,   s->out_c, s->out_h,
                          s->out_w, s->kernel, s->stride, s->pad, bf16};
    cpu_cache_key key = cpu_key(CPU_OP_CONV, 11, dims);
    conv_state *c = cpu_cache_find(impl, &key);
    if (c) return c;

    c = calloc(1, sizeof *c);
    if (!c) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a convolution primitive");
    const dnnl_dims_t src = {s->n, s->in_c, s->in_h, s->in_w};
    const dnnl_dims_t wei = {s->out_c, s->in_c, s->kernel, s->kernel};
    const dnnl_dims_t dst = {s->n, s->out_c, s->out_h, s->out_w};
    cpu_md_typed(&c->src_any, 4, src, read_type(bf16), dnnl_format_tag_any);
    cpu_md_typed(&c->wei_any, 4, wei, read_type(bf16), dnnl_format_tag_any);
    cpu_md_typed(&c->dst_any, 4, dst, read_type(bf16), dnnl_format_tag_any);
    cpu_md_plain(&c->src_out_any, 4, src, dnnl_format_tag_any);
    cpu_md_plain(&c->dst_out_any, 4, dst, dnnl_format_tag_any);
    cpu_md_activation(impl, &c->src_user, src);
    cpu_md_plain(&c->wei_user, 4, wei, dnnl_oihw);
    cpu_md_activation(impl, &c->dst_user, dst);
    c->strides[0] = c->strides[1] = s->stride;
    c->pad_l[0] = c->pad_l[1] = s->pad;
    c->pad_r[0] = (s->out_h - 1) * s->stride + s->kernel - s->in_h - s->pad;
    c->pad_r[1] = (s->out_w - 1) * s->stride + s->kernel - s->in_w - s->pad;

    c->winograd = winograd_fits(impl, s, bf16);
    const conv_descs d = conv_state_descs(c);
    c->fwd_pd = conv_pd(impl, CONV_FORWARD, &d, alg_of(c->winograd), NULL, NULL);
    DNNL_CHECK(dnnl_primitive_create(&c->fwd, c->fwd_pd));
    cpu_bridge_init(impl, &c->fwd_src, &c->src_user, query(c->fwd_pd, dnnl_query_src_md), 1,
                    CPU_SCRATCH_FWD_SRC);
    cpu_bridge_init(impl, &c->fwd_wei, &c->wei_user, query(c->fwd_pd, dnnl_query_weights_md), 1,
                    CPU_SCRATCH_FWD_WEI);
    cpu_bridge_init(impl, &c->fwd_dst, &c->dst_user, query(c->fwd_pd, dnnl_query_dst_md), 0,
                    CPU_SCRATCH_FWD_DST);
    cpu_cache_insert(impl, &key, c, conv_state_destroy);
    return c;
}

void cpu_conv2d_forward(cbd_backend *be, const cbd_conv_shape *s, const float *x, const float *w,
                        float *y) {
    cpu_impl *impl = cpu_of(be);
    impl->rounded_dy_conv = NULL;
    conv_state *c = conv_state_get(impl, s, be->conv_bf16);
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, cpu_bridge_input(impl, &c->fwd_src, x)},
        {DNNL_ARG_WEIGHTS, cpu_bridge_input(impl, &c->fwd_wei, w)},
        {DNNL_ARG_DST, cpu_bridge_output(impl, &c->fwd_dst, y)},
    };
    cpu_execute(impl, c->fwd, 3, args);
    cpu_bridge_output_done(impl, &c->fwd_dst);
}

/* The data gradient's dy as the weight gradient's chunks left it rounded. */
static dnnl_memory_t bd_rounded_dy(cpu_impl *impl, conv_state *c) {
    cpu_memory_bind(c->bd_diff_dst.inner, cpu_scratch(impl, c->bd_diff_dst.slot, c->bd_diff_dst.bytes));
    return c->bd_diff_dst.inner;
}

void cpu_conv2d_backward_data(cbd_backend *be, const cbd_conv_shape *s, const float *dy,
                              const float *w, float *dx) {
    cpu_impl *impl = cpu_of(be);
    conv_state *c = conv_state_get(impl, s, be->conv_bf16);
    const int dy_rounded = impl->rounded_dy_conv == c && impl->rounded_dy == dy;
    impl->rounded_dy_conv = NULL;
    if (!c->bwd_data) {
        const conv_descs d = conv_state_descs(c);
        dnnl_primitive_desc_t pd = conv_pd(impl, CONV_BACKWARD_DATA, &d, alg_of(c->winograd), NULL, c->fwd_pd);
        DNNL_CHECK(dnnl_primitive_create(&c->bwd_data, pd));
        cpu_bridge_init(impl, &c->bd_diff_dst, &c->dst_user, query(pd, dnnl_query_diff_dst_md), 1,
                        CPU_SCRATCH_BWD_DIFF_DST);
        cpu_bridge_init(impl, &c->bd_wei, &c->wei_user, query(pd, dnnl_query_weights_md), 1,
                        CPU_SCRATCH_BWD_WEI);
        cpu_bridge_init(impl, &c->bd_diff_src, &c->src_user, query(pd, dnnl_query_diff_src_md), 0,
                        CPU_SCRATCH_BWD_DIFF_SRC);
        DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
    }
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_DIFF_DST, dy_rounded ? bd_rounded_dy(impl, c) : cpu_bridge_input(impl, &c->bd_diff_dst, dy)},
        {DNNL_ARG_WEIGHTS, cpu_bridge_input(impl, &c->bd_wei, w)},
        {DNNL_ARG_DIFF_SRC, cpu_bridge_output(impl, &c->bd_diff_src, dx)},
    };
    cpu_execute(impl, c->bwd_data, 3, args);
    cpu_bridge_output_done(impl, &c->bd_diff_src);
}

static wgrad_state *wgrad_state_create(cpu_impl *impl, const cbd_conv_shape *s, const cbd_batch_split *sp,
                                       int bf16) {
    wgrad_state *w = calloc(1, sizeof *w);
    if (!w) cbd_fail(CBD_EXIT_FAILURE, "out of memory for a convolution primitive");
    w->chunks = sp->chunks;
    w->chunk_n = sp->chunk_rows;
    w->src_chunk_floats = (size_t)w->chunk_n * s->in_c * s->in_h * s->in_w;
    w->dst_chunk_floats = (size_t)w->chunk_n * s->out_c * s->out_h * s->out_w;
    w->wei_floats = (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
    w->dy_into_bd = -1;

    const dnnl_dims_t src = {w->chunk_n, s->in_c, s->in_h, s->in_w};
    const dnnl_dims_t wei = {s->out_c, s->in_c, s->kernel, s->kernel};
    const dnnl_dims_t dst = {w->chunk_n, s->out_c, s->out_h, s->out_w};
    dnnl_memory_desc_t src_any, wei_any, dst_any, wei_out_any, dst_out_any, src_user, wei_user, dst_user;
    cpu_md_typed(&src_any, 4, src, read_type(bf16), dnnl_format_tag_any);
    cpu_md_typed(&wei_any, 4, wei, read_type(bf16), dnnl_format_tag_any);
    cpu_md_typed(&dst_any, 4, dst, read_type(bf16), dnnl_format_tag_any);
    cpu_md_plain(&wei_out_any, 4, wei, dnnl_format_tag_any);
    cpu_md_plain(&dst_out_any, 4, dst, dnnl_format_tag_any);
    cpu_md_activation(impl, &src_user, src);
    cpu_md_plain(&wei_user, 4, wei, dnnl_oihw);
    cpu_md_activation(impl, &dst_user, dst);
    const dnnl_dims_t strides = {s->stride, s->stride}, pad_l = {s->pad, s->pad};
    const dnnl_dims_t pad_r = {(s->out_h - 1) * s->stride + s->kernel - s->in_h - s->pad,
                               (s->out_w - 1) * s->stride + s->kernel - s->in_w - s->pad};

    /* Primitives made while one thread is allowed plan a single-threaded sum. */
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    dnnl_primitive_attr_t attr;
    DNNL_CHECK(dnnl_primitive_attr_create(&attr));
    DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    const conv_descs d = {&src_any, &wei_any, &dst_out_any, NULL, &wei_out_any, &dst_any, strides, pad_l, pad_r};
    const dnnl_alg_kind_t alg = alg_of(winograd_fits_chunk(impl, s, bf16, w->chunk_n));
    dnnl_primitive_desc_t fpd = conv_pd(impl, CONV_FORWARD, &d, alg, NULL, NULL);
    dnnl_primitive_desc_t bpd = conv_pd(impl, CONV_BACKWARD_WEIGHTS, &d, alg, attr, fpd);
    DNNL_CHECK(dnnl_primitive_create(&w->prim, bpd));
    const dnnl_memory_desc_t *scratch_md = query(bpd, dnnl_query_scratchpad_md);
    const size_t scratch_bytes = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
    for (int c = 0; c < w->chunks; c++) {
        wgrad_chunk *ch = &w->chunk[c];
        DNNL_CHECK(dnnl_stream_create(&ch->stream, impl->engine, dnnl_stream_default_flags));
        const int slot = CPU_SCRATCH_WGRAD_FIRST + c * CPU_SCRATCH_PER_WGRAD_CHUNK;
        cpu_bridge_init(impl, &ch->src, &src_user, query(bpd, dnnl_query_src_md), 1, slot);
        cpu_bridge_init(impl, &ch->diff_dst, &dst_user, query(bpd, dnnl_query_diff_dst_md), 1, slot + 1);
        cpu_bridge_init(impl, &ch->diff_wei, &wei_user, query(bpd, dnnl_query_diff_weights_md), 0,
                        slot + 2);
        ch->partial_slot = slot + 3;
        w->partial_floats = dnnl_memory_desc_get_size(query(bpd, dnnl_query_diff_weights_md)) / sizeof(float);
        w->dst_chunk_bytes = dnnl_memory_desc_get_size(query(bpd, dnnl_query_diff_dst_md));
        ch->scratchpad_slot = slot + 4;
        ch->scratchpad_bytes = scratch_bytes;
        if (scratch_bytes)
            DNNL_CHECK(dnnl_memory_create(&ch->scratchpad_mem, scratch_md, impl->engine, DNNL_MEMORY_NONE));
    }
    DNNL_CHECK(dnnl_primitive_desc_destroy(bpd));
    DNNL_CHECK(dnnl_primitive_desc_destroy(fpd));
    DNNL_CHECK(dnnl_primitive_attr_destroy(attr));
    omp_set_num_threads(threads);
    return w;
}

/* The chunks run on `runners` threads, runner r taking a contiguous run of
 * them one after another; a runner's chunks share its working buffers (the
 * rounded inputs and the primitive's scratchpad, held in the slots of the
 * chunk numbered r): Winograd's scratchpads are large, and 8 of them took
 * 200 MiB more than 2 for resnet50 at batch 16. */
static int wgrad_runners(const wgrad_state *w) {
    const int threads = omp_get_max_threads();
    return threads < w->chunks ? threads : w->chunks;
}

static int wgrad_runner_of(int chunk, int chunks, int runners) { return chunk * runners / chunks; }

/* Binds a chunk's memory to the shared scratch buffers of its runner (not
 * thread-safe: done before the parallel region). rounded_dy, when not NULL,
 * is where the chunk rounds its dy to. Returns the chunk's partial-sum
 * buffer, where its primitive writes (one per chunk: the tree adds them). */
static float *wgrad_bind_chunk(cpu_impl *impl, wgrad_state *w, wgrad_chunk *ch, const wgrad_chunk *runner,
                               void *rounded_dy) {
    if (ch->src.reorder) cpu_memory_bind(ch->src.inner, cpu_scratch(impl, runner->src.slot, ch->src.bytes));
    if (ch->diff_dst.reorder)
        cpu_memory_bind(ch->diff_dst.inner, rounded_dy ? rounded_dy
                                                       : cpu_scratch(impl, runner->diff_dst.slot, ch->diff_dst.bytes));
    if (ch->scratchpad_mem)
        cpu_memory_bind(ch->scratchpad_mem, cpu_scratch(impl, runner->scratchpad_slot, ch->scratchpad_bytes));
    float *partial = cpu_scratch(impl, ch->partial_slot, w->partial_floats * sizeof(float));
    cpu_memory_bind(ch->diff_wei.inner, partial);
    return partial;
}

static void wgrad_run_chunk(wgrad_state *w, wgrad_chunk *ch, const float *x, const float *dy) {
    /* Inside the caller's parallel region these run on this thread alone. */
    dnnl_memory_t src = ch->src.inner, diff_dst = ch->diff_dst.inner;
    cpu_memory_bind(ch->src.user, x);
    cpu_memory_bind(ch->diff_dst.user, dy);
    if (ch->src.reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, ch->src.user}, {DNNL_ARG_TO, src}};
        DNNL_CHECK(dnnl_primitive_execute(ch->src.reorder, ch->stream, 2, a));
    }
    if (ch->diff_dst.reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, ch->diff_dst.user}, {DNNL_ARG_TO, diff_dst}};
        DNNL_CHECK(dnnl_primitive_execute(ch->diff_dst.reorder, ch->stream, 2, a));
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DIFF_DST, diff_dst},
                               {DNNL_ARG_DIFF_WEIGHTS, ch->diff_wei.inner},
                               {DNNL_ARG_SCRATCHPAD, ch->scratchpad_mem}};
    DNNL_CHECK(dnnl_primitive_execute(w->prim, ch->stream, ch->scratchpad_mem ? 4 : 3, args));
    DNNL_CHECK(dnnl_stream_wait(ch->stream));
}

/* Whether `chunk`, the layout of one chunk's rows, puts chunk k at k times its
 * size in `whole`, the layout of all rows: the same layout, the batch its
 * outermost dimension and not blocked. */
static int md_is_batch_slice(const dnnl_memory_desc_t *chunk, const dnnl_memory_desc_t *whole, int chunks) {
    if (chunk->format_kind != dnnl_blocked || (dnnl_dim_t)chunks * chunk->dims[0] != whole->dims[0]) return 0;
    const dnnl_blocking_desc_t *b = &chunk->format_desc.blocking;
    for (int i = 0; i < b->inner_nblks; i++)
        if (b->inner_idxs[i] == 0) return 0;
    for (int d = 1; d < chunk->ndims; d++)
        if (b->strides[d] > b->strides[0]) return 0;
    dnnl_memory_desc_t as_whole = *chunk;
    as_whole.dims[0] = whole->dims[0];
    as_whole.padded_dims[0] = whole->padded_dims[0];
    return dnnl_memory_desc_equal(&as_whole, whole) &&
           dnnl_memory_desc_get_size(chunk) * chunks == dnnl_memory_desc_get_size(whole);
}

/* The weight gradient runs first (nn/layers/conv2d.c), and where both it and
 * the data gradient round dy (bf16) into the same layout, its chunks round
 * theirs into the data gradient's buffer, chunk k at k chunks' size: the data
 * gradient right after, with the same dy, then reads that instead of rounding
 * dy again (the same bits: rounding is elementwise). */
static int dy_fits_bd(const conv_state *c, const wgrad_state *w) {
    if (!c->bd_diff_dst.reorder || !w->chunk[0].diff_dst.reorder) return 0;
    const dnnl_memory_desc_t *chunk_md, *whole_md;
    DNNL_CHECK(dnnl_memory_get_memory_desc(w->chunk[0].diff_dst.inner, &chunk_md));
    DNNL_CHECK(dnnl_memory_get_memory_desc(c->bd_diff_dst.inner, &whole_md));
    return md_is_batch_slice(chunk_md, whole_md, w->chunks) &&
           (size_t)w->chunks * w->dst_chunk_bytes == c->bd_diff_dst.bytes;
}

void cpu_conv2d_backward_weights(cbd_backend *be, const cbd_conv_shape *s, const float *x,
                                 const float *dy, float *dw) {
    cpu_impl *impl = cpu_of(be);
    impl->rounded_dy_conv = NULL;
    conv_state *c = conv_state_get(impl, s, be->conv_bf16);
    const cbd_batch_split sp = cbd_batch_split_of(be, s->n);
    if (c->wgrad && (c->wgrad->chunks != sp.chunks || c->wgrad->chunk_n != sp.chunk_rows)) {
        wgrad_state_destroy(c->wgrad);
        c->wgrad = NULL;
    }
    if (!c->wgrad) c->wgrad = wgrad_state_create(impl, s, &sp, be->conv_bf16);
    wgrad_state *w = c->wgrad;
    if (w->dy_into_bd < 0 && c->bwd_data) w->dy_into_bd = dy_fits_bd(c, w);
    char *rounded_dy =
        w->dy_into_bd == 1 ? cpu_scratch(impl, c->bd_diff_dst.slot, c->bd_diff_dst.bytes) : NULL;
    const int runners = wgrad_runners(w);
    float *partial[WGRAD_MAX_CHUNKS];
    for (int k = 0; k < w->chunks; k++)
        partial[k] = wgrad_bind_chunk(impl, w, &w->chunk[k], &w->chunk[wgrad_runner_of(k, w->chunks, runners)],
                                      rounded_dy ? rounded_dy + (size_t)k * w->dst_chunk_bytes : NULL);
#pragma omp parallel num_threads(runners)
    {
        /* fewer threads than asked for: a thread takes several runners */
        const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
        for (int k = 0; k < w->chunks; k++)
            if (wgrad_runner_of(k, w->chunks, runners) % threads == thread)
                wgrad_run_chunk(w, &w->chunk[k], x + (size_t)k * w->src_chunk_floats,
                                dy + (size_t)k * w->dst_chunk_floats);
    }
    /* the local tree in the primitive's layout, the plain layout, then the ranks */
    if (rounded_dy) {
        impl->rounded_dy_conv = c;
        impl->rounded_dy = dy;
    }
    cbd_batch_sum_chunks(be, &sp, partial, w->partial_floats);
    wgrad_chunk *first = &w->chunk[0];
    if (first->diff_wei.reorder) {
        cpu_memory_bind(first->diff_wei.user, dw);
        cpu_bridge_output_done(impl, &first->diff_wei);
    } else {
        memcpy(dw, partial[0], w->wei_floats * sizeof(float));
    }
    cbd_batch_sum_over_ranks(be, dw, w->wei_floats);
}
