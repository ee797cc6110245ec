// Training layers: oneDNN 2.6's forward-training and backward primitives for a
// whole batch, as cnn_training_f32.c uses them, behind one small interface.
//
// Call sequence, per batch (the primitives are created once per batch size):
//   cranet_train_*_create(...)               once: descriptors, primitives, buffers
//   cranet_train_layer_forward(layer, ...)   in network order; keeps what backward needs
//   cranet_train_layer_backward(layer, ...)  in reverse order, after the loss's gradient
//
// Activations are batches of NCHW images whose channels may be a slice of a wider
// tensor (cranet_batch_view): dense blocks concatenate by writing channel ranges, so
// concatenation costs nothing forward and its backward is a sum into the same range.
// Each layer stages its inputs into the layouts its primitives prefer (reorders only
// where the layouts differ) and writes its outputs back into the views.
//
// Gradients: the gradient of a layer's input is *added* to diff_src (several layers
// read the same channels, and their contributions sum), while parameter gradients are
// overwritten. diff_src may be NULL when nothing needs it (the network's input).
#ifndef CRANET_TRAINING_H
#define CRANET_TRAINING_H

#include "cranet.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A layer with its training primitives and the buffers forward keeps for backward.
typedef struct cranet_train_layer cranet_train_layer;

/// Every buffer a training layer may read or write; the ones a layer does not have are
/// NULL. Parameters are in torch's layouts: convolution weights OIHW, linear weights
/// out × in, per-channel vectors of the output's channels.
typedef struct {
    const float *src;        ///< forward input (the view given at creation)
    float *dst;              ///< forward output
    const float *weights;
    const float *bias;
    const float *gamma;      ///< batch norm scale
    const float *beta;       ///< batch norm shift
    float *batch_mean;       ///< forward, batch norm: this batch's mean per channel (out)
    float *batch_var_sum;    ///< forward, batch norm: Σ (x − mean)² per channel (out)
    const float *diff_dst;   ///< backward: the loss's gradient with respect to dst
    float *diff_src;         ///< backward: added to (may be NULL)
    float *diff_weights;     ///< backward: overwritten
    float *diff_bias;
    float *diff_gamma;
    float *diff_beta;
} cranet_train_buffers;

/// Convolution (square kernel, symmetric padding, bias when `has_bias`), then batch norm
/// on the batch's statistics (epsilon `eps`, torch's 1e-5) and ReLU with torch's
/// arithmetic (sums in double; see training.c). The convolution runs on oneDNN, or on
/// the row kernels `rows` where they are faster (few output channels; training.c);
/// `rows` NULL keeps every convolution on oneDNN.
int cranet_train_conv_create(cranet_engine *engine, const cranet_kernels *rows, cranet_batch_view src,
                             cranet_batch_view dst, int kernel, int stride, int pad, int has_bias, float eps,
                             cranet_train_layer **out, char *err, size_t err_len);
/// Square pooling window (max, or average excluding padding) over a batch.
int cranet_train_pool_create(cranet_engine *engine, cranet_pool_kind kind, cranet_batch_view src,
                             cranet_batch_view dst, int kernel, int stride, int pad,
                             cranet_train_layer **out, char *err, size_t err_len);
/// Fully connected layer with bias: the views' channels × height × width are the features.
int cranet_train_linear_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                               cranet_train_layer **out, char *err, size_t err_len);
/// PyTorch's bilinear resize with align_corners=True, forward and backward (the
/// project's own kernel: oneDNN's resampling has other pixel centres).
int cranet_train_resize_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                               cranet_train_layer **out, char *err, size_t err_len);
void cranet_train_layer_destroy(cranet_train_layer *layer);

/// Runs the layer forward in training mode on `b`'s src, weights and statistics outputs.
int cranet_train_layer_forward(cranet_train_layer *layer, cranet_stream *stream,
                               const cranet_train_buffers *b, char *err, size_t err_len);
/// Runs it backward from `b`'s diff_dst, after its forward on the same batch.
int cranet_train_layer_backward(cranet_train_layer *layer, cranet_stream *stream,
                                const cranet_train_buffers *b, char *err, size_t err_len);
/// Bytes the layer holds for its primitives and saved activations.
size_t cranet_train_layer_bytes(const cranet_train_layer *layer);
/// 1 for a convolution that runs on the row kernels, 0 otherwise.
int cranet_train_layer_on_rows(const cranet_train_layer *layer);

/// The backward of cranet_resize_bilinear_align_corners, per channel: adds to each
/// source pixel of `diff_src` (channels × in_h × in_w) its share of `diff_dst`
/// (channels × out_h × out_w), with the forward's weights (as PyTorch's
/// upsample_bilinear2d_backward with align_corners=True).
void cranet_resize_bilinear_align_corners_backward(const float *diff_dst, int channels, int out_h, int out_w,
                                                   float *diff_src, int in_h, int in_w);

#ifdef __cplusplus
}
#endif

#endif
