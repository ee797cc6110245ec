// A training convolution on the row kernels: stride 1, few channels, one image at a
// time on each thread. oneDNN's kernels compute in channel blocks of 8 or 16, so a layer
// of 3 channels in and 3 out does 28 times its work, and reorders every input and
// gradient between the views' NCHW and those blocks; the row kernels read and write
// NCHW as it is (training.c picks which layers come here).
//
// Per batch: row_conv_forward (input views → dense output), then after the output's
// gradient is known, row_conv_backward_weights and row_conv_backward_data. Each runs on
// the calling thread's OpenMP team (cranet_parallel), images shared between threads;
// the weights' gradient adds the images' contributions in image order, so no result
// depends on the thread count.
#ifndef CRANET_ROW_TRAINING_H
#define CRANET_ROW_TRAINING_H

#include "cranet.h"

typedef struct row_conv row_conv;

/// A convolution from `src` to `dst` on row kernels `k` (a shape row_conv_supports
/// takes, bias when `has_bias`), or NULL when out of memory.
row_conv *row_conv_create(const cranet_kernels *k, cranet_batch_view src, cranet_batch_view dst, int kernel, int pad,
                          int has_bias);
void row_conv_destroy(row_conv *c);
/// Bytes it holds: the staged inputs kept for the weights' gradient, packed weights, scratch.
size_t row_conv_bytes(const row_conv *c);
/// Whether the row kernels take this convolution (stride 1, kernel 1 or 3, 'same' size).
int row_conv_supports(cranet_batch_view src, cranet_batch_view dst, int kernel, int stride, int pad);

/// The batch's output (dense batch × channels × height × width) from the input view
/// `src`; keeps the staged inputs for row_conv_backward_weights.
void row_conv_forward(row_conv *c, const float *src, const float *weights, const float *bias, float *out);
/// The weights' and bias's gradients (overwritten; bias NULL without one) from the
/// output's gradient `diff_out` (dense, as row_conv_forward's output), after a forward.
void row_conv_backward_weights(row_conv *c, const float *diff_out, float *diff_weights, float *diff_bias);
/// Adds the input's gradient into the view `diff_src`.
void row_conv_backward_data(row_conv *c, const float *diff_out, const float *weights, float *diff_src);

#endif
