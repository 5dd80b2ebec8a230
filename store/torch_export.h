/* A model's parameters as a safetensors file (store/safetensors.h) under the
 * names PyTorch gives them (store/torch_names.h): what `cbd-ckpt export`
 * writes. An ImageNet-style ResNet with a linear head loads into
 * torchvision.models.resnetNN(num_classes=C) with load_state_dict(strict=True)
 * and gives the same logits (docs/export.md).
 *
 * Beside the table's entries, the file holds:
 *   <bn>.num_batches_tracked   I64 scalar after each batch norm's running_var,
 *                              as torchvision has it: the checkpoint's step
 *                              count (cbd updates the running statistics once
 *                              per optimizer step; PyTorch reads the value
 *                              only when a batch norm's momentum is None)
 *   cosine.scale               F32 scalar, the cosine head's fixed scale gamma:
 *                              logits = gamma * normalize(e) @ normalize(cosine.weight).T
 * and "__metadata__" strings: format ("pt"), producer, arch, family
 * ("imagenet": torchvision's layout; "cifar": the CIFAR layout of
 * docs/export.md), classes, in_channels, head, cosine_scale (cosine head),
 * projection_dim and projection_relu (with a projection), epoch, step, seed,
 * config_digest, params_digest (when recorded), image_size, mean and std
 * (when the checkpoint records its input; mean and std as JSON arrays),
 * bn_eps. */
#ifndef CBD_TORCH_EXPORT_H
#define CBD_TORCH_EXPORT_H

#include <stddef.h>

#include "nn/params.h"
#include "store/checkpoint.h"

/* Returned when the table has an entry without a PyTorch name or the meta
 * does not describe a known architecture (a bad input, not an I/O failure). */
#define CBD_TORCH_EXPORT_REFUSED (-2)

/* Writes every entry of p (values only: no gradients, no momentum) and meta
 * to `path` atomically. Returns 0; -1 when the file cannot be written;
 * CBD_TORCH_EXPORT_REFUSED; a message naming the file in err. */
int cbd_torch_export(const char *path, const cbd_params *p, const cbd_checkpoint_meta *meta, char *err,
                     size_t err_len);

#endif
