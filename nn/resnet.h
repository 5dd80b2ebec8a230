/* ResNet feature extractors, forward and backward written out layer by layer.
 *
 * CIFAR family (resnet20/32/44/56/110): 3x3 stem with 16 channels, three
 * stages of basic blocks at 16/32/64 channels, parameter-free padding
 * shortcuts (He et al. 2016, option A). ImageNet family (resnet18/34/50/101/
 * 152): 7x7 stride-2 stem + 3x3 max pool, four stages at 64..512 channels,
 * basic or bottleneck blocks (stride on the 3x3 conv), projection shortcuts.
 * The output is the globally average-pooled feature v [N, d]. */
#ifndef CBD_RESNET_H
#define CBD_RESNET_H

#include <stddef.h>

#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/pool.h"

typedef enum { CBD_RESNET_CIFAR, CBD_RESNET_IMAGENET } cbd_resnet_family;

typedef struct {
    const char *name;
    cbd_resnet_family family;
    int bottleneck;
    int stages;
    int blocks[4];
} cbd_resnet_arch;

/* Looks up an architecture by name; NULL when unknown. */
const cbd_resnet_arch *cbd_resnet_arch_find(const char *name);
/* Size d of the pooled feature of an architecture (64, 512 or 2048). */
int cbd_resnet_arch_feature_dim(const cbd_resnet_arch *arch);
/* "resnet20, resnet32, ..." for messages. */
const char *cbd_resnet_arch_names(void);

/* A conv followed by batch norm, with the activations of the current batch. */
typedef struct {
    cbd_conv2d conv;
    cbd_batchnorm bn;
    cbd_tensor conv_out, bn_out; /* bn_out holds ReLU(bn) where a ReLU follows */
    cbd_batchnorm_saved saved;
} cbd_conv_bn;

typedef enum { CBD_SHORTCUT_IDENTITY, CBD_SHORTCUT_PAD, CBD_SHORTCUT_PROJECTION } cbd_shortcut_kind;

typedef struct {
    int units; /* 2 (basic) or 3 (bottleneck) */
    cbd_conv_bn unit[3];
    cbd_shortcut_kind shortcut;
    cbd_conv_bn projection;
    int out_c, stride;
    const cbd_tensor *in;
    cbd_tensor padded; /* CBD_SHORTCUT_PAD output */
    cbd_tensor out;    /* ReLU(main + shortcut) */
} cbd_resnet_block;

typedef struct {
    const cbd_resnet_arch *arch;
    int in_channels;
    int feature_dim;
    cbd_conv_bn stem;
    int has_maxpool;
    cbd_maxpool maxpool;
    cbd_tensor pooled;
    void *maxpool_workspace;
    cbd_resnet_block *blocks;
    int block_count;
    cbd_tensor input;   /* the last forward's input: its memory must live until backward */
    cbd_tensor feature; /* [N, d, 1, 1] */

    /* activation memory for the planned input shape */
    cbd_shape4 planned;
    int planned_inference; /* the plan keeps only what a forward pass needs (see resnet.c) */
    cbd_arena activations;
    size_t grad_floats;
    float *grad_buffers[4];
    size_t workspace_bytes;
    cbd_backend *be;
} cbd_resnet;

/* Registers the network's parameters in p. Returns 0, or -1 with a message in err. */
int cbd_resnet_create(cbd_resnet *net, cbd_params *p, const char *arch_name, int in_channels,
                      char *err, size_t err_len);
void cbd_resnet_free(cbd_resnet *net);

/* Output shape of the backbone for an input shape (feature [N, d, 1, 1]). */
int cbd_resnet_input_ok(const cbd_resnet *net, int h, int w, char *err, size_t err_len);

/* Runs the backbone; the feature is net->feature. Activations are (re)planned
 * when the input shape changes, and when a training pass follows a plan made
 * for inference: a network that has only run inference keeps a few rotating
 * buffers instead of every layer's activations (backward needs those). */
void cbd_resnet_forward(cbd_resnet *net, cbd_backend *be, const cbd_params *p, const cbd_tensor *x,
                        int training);
/* Backward from d(feature) [N, d]; writes every parameter gradient. */
void cbd_resnet_backward(cbd_resnet *net, cbd_backend *be, const cbd_params *p,
                         const float *d_feature);

/* Floats of activation memory for the current plan (for reports). */
size_t cbd_resnet_activation_floats(const cbd_resnet *net);

#endif
