#include "nn/resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers/relu.h"
#include "nn/layers/residual.h"
#include "nn/log.h"

static const cbd_resnet_arch arches[] = {
    {"resnet20", CBD_RESNET_CIFAR, 0, 3, {3, 3, 3, 0}},
    {"resnet32", CBD_RESNET_CIFAR, 0, 3, {5, 5, 5, 0}},
    {"resnet44", CBD_RESNET_CIFAR, 0, 3, {7, 7, 7, 0}},
    {"resnet56", CBD_RESNET_CIFAR, 0, 3, {9, 9, 9, 0}},
    {"resnet110", CBD_RESNET_CIFAR, 0, 3, {18, 18, 18, 0}},
    {"resnet18", CBD_RESNET_IMAGENET, 0, 4, {2, 2, 2, 2}},
    {"resnet34", CBD_RESNET_IMAGENET, 0, 4, {3, 4, 6, 3}},
    {"resnet50", CBD_RESNET_IMAGENET, 1, 4, {3, 4, 6, 3}},
    {"resnet101", CBD_RESNET_IMAGENET, 1, 4, {3, 4, 23, 3}},
    {"resnet152", CBD_RESNET_IMAGENET, 1, 4, {3, 8, 36, 3}},
};
#define ARCH_COUNT ((int)(sizeof arches / sizeof arches[0]))

const cbd_resnet_arch *cbd_resnet_arch_find(const char *name) {
    for (int i = 0; i < ARCH_COUNT; i++)
        if (strcmp(arches[i].name, name) == 0) return &arches[i];
    return NULL;
}

int cbd_resnet_arch_feature_dim(const cbd_resnet_arch *arch) {
    if (arch->family == CBD_RESNET_CIFAR) return 64;
    return arch->bottleneck ? 2048 : 512;
}

const char *cbd_resnet_arch_names(void) {
    return "resnet20, resnet32, resnet44, resnet56, resnet110, resnet18, resnet34, resnet50, "
           "resnet101, resnet152";
}

static void conv_bn_create(cbd_conv_bn *u, cbd_params *p, const char *prefix, const char *conv_name,
                           const char *bn_name, int in_c, int out_c, int k, int stride, int pad) {
    char path[CBD_PARAM_NAME_MAX];
    cbd_path_join(path, sizeof path, prefix, conv_name);
    cbd_conv2d_create(&u->conv, p, path, in_c, out_c, k, stride, pad);
    cbd_path_join(path, sizeof path, prefix, bn_name);
    cbd_batchnorm_create(&u->bn, p, path, out_c);
}

int cbd_resnet_create(cbd_resnet *net, cbd_params *p, const char *arch_name, int in_channels,
                      char *err, size_t err_len) {
    memset(net, 0, sizeof *net);
    const cbd_resnet_arch *arch = cbd_resnet_arch_find(arch_name);
    if (!arch) {
        snprintf(err, err_len, "unknown architecture '%s' (known: %s)", arch_name,
                 cbd_resnet_arch_names());
        return -1;
    }
    if (in_channels != 1 && in_channels != 3) {
        snprintf(err, err_len, "input channels must be 1 or 3, not %d", in_channels);
        return -1;
    }
    net->arch = arch;
    net->in_channels = in_channels;
    const int cifar = arch->family == CBD_RESNET_CIFAR;
    const int stem_c = cifar ? 16 : 64;
    if (cifar)
        conv_bn_create(&net->stem, p, "stem", "conv", "bn", in_channels, stem_c, 3, 1, 1);
    else
        conv_bn_create(&net->stem, p, "stem", "conv", "bn", in_channels, stem_c, 7, 2, 3);
    net->has_maxpool = !cifar;
    net->maxpool = (cbd_maxpool){3, 2, 1};

    for (int s = 0; s < arch->stages; s++) net->block_count += arch->blocks[s];
    net->blocks = cbd_calloc((size_t)net->block_count, sizeof *net->blocks);

    const int expansion = arch->bottleneck ? 4 : 1;
    int in_c = stem_c, bi = 0;
    for (int s = 0; s < arch->stages; s++) {
        const int planes = (cifar ? 16 : 64) << s;
        for (int b = 0; b < arch->blocks[s]; b++, bi++) {
            cbd_resnet_block *blk = &net->blocks[bi];
            const int stride = (b == 0 && s > 0) ? 2 : 1;
            const int out_c = planes * expansion;
            char prefix[64];
            snprintf(prefix, sizeof prefix, "stage%d/block%d", s + 1, b + 1);
            blk->out_c = out_c;
            blk->stride = stride;
            if (arch->bottleneck) {
                blk->units = 3;
                conv_bn_create(&blk->unit[0], p, prefix, "conv1", "bn1", in_c, planes, 1, 1, 0);
                conv_bn_create(&blk->unit[1], p, prefix, "conv2", "bn2", planes, planes, 3, stride, 1);
                conv_bn_create(&blk->unit[2], p, prefix, "conv3", "bn3", planes, out_c, 1, 1, 0);
            } else {
                blk->units = 2;
                conv_bn_create(&blk->unit[0], p, prefix, "conv1", "bn1", in_c, planes, 3, stride, 1);
                conv_bn_create(&blk->unit[1], p, prefix, "conv2", "bn2", planes, out_c, 3, 1, 1);
            }
            if (stride == 1 && in_c == out_c)
                blk->shortcut = CBD_SHORTCUT_IDENTITY;
            else if (cifar)
                blk->shortcut = CBD_SHORTCUT_PAD;
            else {
                blk->shortcut = CBD_SHORTCUT_PROJECTION;
                conv_bn_create(&blk->projection, p, prefix, "shortcut/conv", "shortcut/bn", in_c,
                               out_c, 1, stride, 0);
            }
            in_c = out_c;
        }
    }
    net->feature_dim = in_c;
    return 0;
}

void cbd_resnet_free(cbd_resnet *net) {
    cbd_arena_release(&net->activations);
    for (int i = 0; i < 4; i++)
        if (net->grad_buffers[i]) net->be->ops.release(net->be, net->grad_buffers[i]);
    if (net->maxpool_workspace) net->be->ops.release(net->be, net->maxpool_workspace);
    free(net->blocks);
    memset(net, 0, sizeof *net);
}

int cbd_resnet_input_ok(const cbd_resnet *net, int h, int w, char *err, size_t err_len) {
    if (h < 16 || w < 16) {
        snprintf(err, err_len, "%s needs inputs of at least 16x16, got %dx%d", net->arch->name, h, w);
        return 0;
    }
    return 1;
}

/* ---- planning: shapes and activation memory for one input shape ---------- */

/* An inference plan: activations take turns in RING_SLOTS buffers of the
 * largest activation's size. A tensor is needed at most until the end of its
 * block, and a block plans at most 9 tensors after its input (3 units of 2,
 * a projection of 2, the output), so with 10 slots nothing still needed is
 * overwritten. */
#define RING_SLOTS 10

typedef struct {
    int carve;        /* 0: count only, 1: carve from the arena */
    size_t floats;    /* activation floats needed */
    size_t max_floats; /* largest single activation (sizes the gradient buffers) */
    cbd_arena *arena;
    int ring;         /* inference: tensors rotate through `slots` */
    int next_slot;
    float *slots[RING_SLOTS];
} planner;

/* A tensor of its own in either kind of plan (the feature outlives the pass). */
static cbd_tensor plan_tensor_owned(planner *pl, cbd_shape4 s) {
    size_t n = cbd_shape4_count(s);
    if (n > pl->max_floats) pl->max_floats = n;
    pl->floats += cbd_arena_round(n);
    if (!pl->carve) return cbd_tensor_make(NULL, s);
    return cbd_arena_tensor(pl->arena, s);
}

/* An activation: its own memory in a training plan, a ring slot in an inference plan. */
static cbd_tensor plan_tensor(planner *pl, cbd_shape4 s) {
    if (!pl->ring) return plan_tensor_owned(pl, s);
    size_t n = cbd_shape4_count(s);
    if (n > pl->max_floats) pl->max_floats = n;
    if (!pl->carve) return cbd_tensor_make(NULL, s);
    return cbd_tensor_make(pl->slots[pl->next_slot++ % RING_SLOTS], s);
}

static float *plan_floats(planner *pl, size_t n) {
    pl->floats += cbd_arena_round(n);
    return pl->carve ? cbd_arena_take(pl->arena, n) : NULL;
}

static cbd_shape4 plan_conv_bn(planner *pl, cbd_conv_bn *u, cbd_shape4 in) {
    cbd_shape4 out = cbd_conv2d_output_shape(&u->conv, in);
    u->conv_out = plan_tensor(pl, out);
    u->bn_out = plan_tensor(pl, out);
    u->saved.mean = plan_floats(pl, (size_t)out.c);
    u->saved.var = plan_floats(pl, (size_t)out.c);
    return out;
}

static void plan_network(cbd_resnet *net, planner *pl, cbd_shape4 in) {
    cbd_shape4 s = plan_conv_bn(pl, &net->stem, in);
    const cbd_tensor *prev = &net->stem.bn_out;
    if (net->has_maxpool) {
        s = cbd_maxpool_output_shape(&net->maxpool, s);
        net->pooled = plan_tensor(pl, s);
        prev = &net->pooled;
    }
    for (int i = 0; i < net->block_count; i++) {
        cbd_resnet_block *blk = &net->blocks[i];
        blk->in = prev;
        cbd_shape4 block_in = s;
        for (int u = 0; u < blk->units; u++) s = plan_conv_bn(pl, &blk->unit[u], s);
        if (blk->shortcut == CBD_SHORTCUT_PAD)
            blk->padded = plan_tensor(pl, cbd_shortcut_pad_output_shape(block_in, blk->out_c, blk->stride));
        else if (blk->shortcut == CBD_SHORTCUT_PROJECTION)
            plan_conv_bn(pl, &blk->projection, block_in);
        blk->out = plan_tensor(pl, s);
        prev = &blk->out;
    }
    cbd_shape4 f = {s.n, s.c, 1, 1};
    net->feature = plan_tensor_owned(pl, f);
}

static void plan(cbd_resnet *net, cbd_backend *be, cbd_shape4 in, int inference) {
    net->be = be;
    planner count = {.ring = inference};
    plan_network(net, &count, in);
    const size_t slot_floats = cbd_arena_round(count.max_floats);
    const size_t total = count.floats + (inference ? RING_SLOTS * slot_floats : 0);
    if (total > net->activations.capacity) {
        cbd_arena_release(&net->activations);
        cbd_arena_init(&net->activations, be, total);
    }
    net->activations.used = 0;
    planner carve = {.carve = 1, .arena = &net->activations, .ring = inference};
    if (inference)
        for (int i = 0; i < RING_SLOTS; i++) carve.slots[i] = cbd_arena_take(&net->activations, slot_floats);
    plan_network(net, &carve, in);
    net->planned_inference = inference;
    /* backward's gradient buffers: training plans only */
    if (!inference && count.max_floats > net->grad_floats) {
        for (int i = 0; i < 4; i++) {
            if (net->grad_buffers[i]) be->ops.release(be, net->grad_buffers[i]);
            net->grad_buffers[i] = be->ops.alloc(be, count.max_floats * sizeof(float));
        }
        net->grad_floats = count.max_floats;
    }
    if (net->has_maxpool) {
        size_t ws = cbd_maxpool_workspace_bytes(be, &net->maxpool, cbd_tensor_shape(&net->stem.bn_out));
        if (ws > net->workspace_bytes) {
            if (net->maxpool_workspace) be->ops.release(be, net->maxpool_workspace);
            net->maxpool_workspace = be->ops.alloc(be, ws);
            net->workspace_bytes = ws;
        }
    }
    net->planned = in;
}

size_t cbd_resnet_activation_floats(const cbd_resnet *net) {
    return net->activations.used + 4 * net->grad_floats;
}

/* ---- forward ---------------------------------------------------------------- */

static void conv_bn_forward(cbd_backend *be, cbd_conv_bn *u, const cbd_params *p,
                            const cbd_tensor *x, int training, int relu) {
    cbd_conv2d_forward(be, &u->conv, p, x, &u->conv_out);
    cbd_batchnorm_forward(be, &u->bn, p, training, &u->conv_out, &u->bn_out, &u->saved, relu);
}

void cbd_resnet_forward(cbd_resnet *net, cbd_backend *be, const cbd_params *p, const cbd_tensor *x,
                        int training) {
    cbd_shape4 in = cbd_tensor_shape(x);
    CBD_ASSERT(in.c == net->in_channels, "%s expects %d input channels, got %d", net->arch->name,
               net->in_channels, in.c);
    /* a training pass needs every activation kept; inference reuses any plan */
    if (memcmp(&in, &net->planned, sizeof in) != 0 || net->be != be || (training && net->planned_inference))
        plan(net, be, in, !training);

    net->input = *x;
    conv_bn_forward(be, &net->stem, p, x, training, 1);
    if (net->has_maxpool)
        cbd_maxpool_forward(be, &net->maxpool, &net->stem.bn_out, &net->pooled, net->maxpool_workspace);
    for (int i = 0; i < net->block_count; i++) {
        cbd_resnet_block *blk = &net->blocks[i];
        const cbd_tensor *h = blk->in;
        for (int u = 0; u < blk->units; u++) {
            const int last = u == blk->units - 1;
            conv_bn_forward(be, &blk->unit[u], p, h, training, !last);
            h = &blk->unit[u].bn_out;
        }
        const cbd_tensor *shortcut = blk->in;
        if (blk->shortcut == CBD_SHORTCUT_PAD) {
            cbd_shortcut_pad_forward(be, blk->in, &blk->padded);
            shortcut = &blk->padded;
        } else if (blk->shortcut == CBD_SHORTCUT_PROJECTION) {
            conv_bn_forward(be, &blk->projection, p, blk->in, training, 0);
            shortcut = &blk->projection.bn_out;
        }
        cbd_residual_add_relu(be, h, shortcut, &blk->out);
    }
    cbd_avgpool_global_forward(be, &net->blocks[net->block_count - 1].out, &net->feature);
}

/* ---- backward ----------------------------------------------------------------- */

static cbd_tensor like(float *data, const cbd_tensor *t) {
    return cbd_tensor_make(data, cbd_tensor_shape(t));
}

void cbd_resnet_backward(cbd_resnet *net, cbd_backend *be, const cbd_params *p,
                         const float *d_feature) {
    float *buf[4] = {net->grad_buffers[0], net->grad_buffers[1], net->grad_buffers[2],
                     net->grad_buffers[3]};
    /* buf[0] always holds the gradient of the current block's output. */
    cbd_tensor d_feat = like((float *)d_feature, &net->feature);
    cbd_tensor d_out = like(buf[0], &net->blocks[net->block_count - 1].out);
    cbd_avgpool_global_backward(be, &d_feat, &d_out);

    for (int i = net->block_count - 1; i >= 0; i--) {
        cbd_resnet_block *blk = &net->blocks[i];
        cbd_tensor d_sum = like(buf[0], &blk->out);
        cbd_relu_backward(be, &blk->out, &d_sum, &d_sum);

        /* main path, last unit first; g holds d(unit output) */
        float *g = buf[0], *spare_a = buf[1], *spare_b = buf[2], *d_in = buf[3];
        for (int u = blk->units - 1; u >= 0; u--) {
            cbd_conv_bn *unit = &blk->unit[u];
            cbd_tensor dy = like(g, &unit->bn_out);
            /* every unit but the last has its ReLU fused into batch norm */
            const cbd_tensor *relu_y = u != blk->units - 1 ? &unit->bn_out : NULL;
            cbd_tensor d_conv = like(spare_a, &unit->conv_out);
            cbd_batchnorm_backward(be, &unit->bn, p, &unit->conv_out, &dy, relu_y, &unit->saved, &d_conv);
            const cbd_tensor *unit_in = u == 0 ? blk->in : &blk->unit[u - 1].bn_out;
            float *dst = u == 0 ? d_in : (g == buf[0] ? spare_b : g);
            cbd_tensor dx = like(dst, unit_in);
            cbd_conv2d_backward(be, &unit->conv, p, unit_in, &d_conv, &dx);
            g = dst;
        }
        cbd_tensor d_block_in = like(d_in, blk->in);
        if (blk->shortcut == CBD_SHORTCUT_IDENTITY) {
            cbd_residual_accumulate(be, &d_sum, &d_block_in);
        } else if (blk->shortcut == CBD_SHORTCUT_PAD) {
            cbd_shortcut_pad_backward_add(be, &d_sum, &d_block_in);
        } else {
            cbd_conv_bn *proj = &blk->projection;
            cbd_tensor d_conv = like(spare_a, &proj->conv_out);
            cbd_batchnorm_backward(be, &proj->bn, p, &proj->conv_out, &d_sum, NULL, &proj->saved, &d_conv);
            cbd_tensor d_short = like(spare_b, blk->in);
            cbd_conv2d_backward(be, &proj->conv, p, blk->in, &d_conv, &d_short);
            cbd_residual_accumulate(be, &d_short, &d_block_in);
        }
        /* the block input's gradient becomes the next block's output gradient */
        float *t = buf[0];
        buf[0] = buf[3];
        buf[3] = t;
    }

    /* stem: buf[0] holds d(pooled) or d(stem output) */
    cbd_tensor d_stem = like(buf[0], &net->stem.bn_out);
    if (net->has_maxpool) {
        cbd_tensor d_pooled = like(buf[0], &net->pooled);
        d_stem = like(buf[1], &net->stem.bn_out);
        cbd_maxpool_backward(be, &net->maxpool, &d_pooled, net->maxpool_workspace, &d_stem);
    }
    cbd_tensor d_conv = like(buf[2], &net->stem.conv_out);
    cbd_batchnorm_backward(be, &net->stem.bn, p, &net->stem.conv_out, &d_stem, &net->stem.bn_out,
                           &net->stem.saved, &d_conv);
    cbd_conv2d_backward(be, &net->stem.conv, p, &net->input, &d_conv, NULL);
}
