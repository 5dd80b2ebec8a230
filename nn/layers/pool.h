/* Max pooling (the ImageNet ResNet stem) and global average pooling (the
 * feature at the end of every ResNet). */
#ifndef CBD_POOL_H
#define CBD_POOL_H

#include "nn/backend.h"

typedef struct {
    int kernel, stride, pad;
} cbd_maxpool;

cbd_shape4 cbd_maxpool_output_shape(const cbd_maxpool *mp, cbd_shape4 in);
cbd_pool_shape cbd_maxpool_op_shape(const cbd_maxpool *mp, cbd_shape4 in);
size_t cbd_maxpool_workspace_bytes(cbd_backend *be, const cbd_maxpool *mp, cbd_shape4 in);
void cbd_maxpool_forward(cbd_backend *be, const cbd_maxpool *mp, const cbd_tensor *x, cbd_tensor *y,
                         void *workspace);
void cbd_maxpool_backward(cbd_backend *be, const cbd_maxpool *mp, const cbd_tensor *dy,
                          const void *workspace, cbd_tensor *dx);

/* [N, C, H, W] -> [N, C, 1, 1] */
void cbd_avgpool_global_forward(cbd_backend *be, const cbd_tensor *x, cbd_tensor *y);
void cbd_avgpool_global_backward(cbd_backend *be, const cbd_tensor *dy, cbd_tensor *dx);

#endif
