/* The names a cbd model's parameters take in PyTorch (torchvision's ResNet
 * state_dict), for exports (store/torch_export.h):
 *
 *   stem/conv/weight                     conv1.weight
 *   stem/bn/{weight,bias,running_mean,running_var}
 *                                        bn1.{...}
 *   stageS/blockB/convK/weight           layerS.(B-1).convK.weight
 *   stageS/blockB/bnK/{...}              layerS.(B-1).bnK.{...}
 *   stageS/blockB/shortcut/conv/weight   layerS.(B-1).downsample.0.weight
 *   stageS/blockB/shortcut/bn/{...}      layerS.(B-1).downsample.1.{...}
 *   projection/{weight,bias}             projection.{weight,bias}
 *   classifier/{weight,bias}             fc.{weight,bias}   (linear head)
 *   classifier/weight                    cosine.weight      (cosine head)
 *
 * The CIFAR ResNets take the same names (they have three stages and no
 * downsample: their shortcuts have no parameters). */
#ifndef CBD_TORCH_NAMES_H
#define CBD_TORCH_NAMES_H

#include <stddef.h>

#include "nn/model.h"

/* The PyTorch name of a parameter-table entry of a model with that head into
 * out. Returns 0, or -1 when `entry` is not a name a cbd model has (or does
 * not fit in out). */
int cbd_torch_name(const char *entry, cbd_head_kind head, char *out, size_t out_len);

#endif
