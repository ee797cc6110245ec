// A training convolution on the row kernels (row_training.h). Forward stages each
// image (padding, as inference does) and keeps the staged copies for the weights'
// gradient. The input's gradient of a stride-1 convolution is itself a convolution:
// of the output's gradient, padded by k − 1 − pad, with the weights' channels swapped
// and their taps reversed, so the same kernels compute it. The weights' gradient is
// a dot product per (output channel, input channel, tap) over the staged input
// (cranet_row_conv_weight_gradient).
#include "row_training.h"

#include <stdlib.h>
#include <string.h>

struct row_conv {
    const cranet_kernels *k;
    cranet_batch_view src, dst;
    int kernel, pad, has_bias, taps;
    cranet_shape in, out;           // one image's input and output
    cranet_shape in_staged;         // the input padded by pad: what forward's kernels read
    cranet_shape out_staged;        // the output padded by kernel − 1 − pad: what backward data's read
    size_t in_staged_floats, out_staged_floats;  // per image, over-read included
    size_t pitch, length;           // a staged input row; floats per channel of the padded gradient
    size_t tap[9];                  // each tap's offset in a staged input plane
    float *staged;                  // batch × in_staged_floats, kept from forward for backward
    float *packed, *packed_back;    // forward's packed weights; backward data's
    float *flipped;                 // backward data's weights in OIHW: channels swapped, taps reversed
    float *zeros;                   // a bias of zeros
    int scratch_sets;               // one per thread of the team at creation
    size_t scratch_floats;          // per set: a padded or staged gradient, then an input gradient
    float *scratch;
    size_t partial_floats;          // per image: out × in × taps weights, then out biases
    float *partials;
    // The call in progress, for its parallel parts.
    const float *arg_in, *arg_bias;
    float *arg_out, *arg_bias_out;
};

int row_conv_supports(cranet_batch_view src, cranet_batch_view dst, int kernel, int stride, int pad) {
    return stride == 1 && (kernel == 1 || kernel == 3) && 2 * pad == kernel - 1 && src.height == dst.height &&
           src.width == dst.width;
}

static size_t padded_floats(cranet_shape s, int pad) {
    return (size_t)s.channels * (size_t)(s.height + 2 * pad) * (size_t)(s.width + 2 * pad);
}

static cranet_shape padded(cranet_shape s, int pad) {
    return (cranet_shape){s.channels, s.height + 2 * pad, s.width + 2 * pad};
}

row_conv *row_conv_create(const cranet_kernels *k, cranet_batch_view src, cranet_batch_view dst, int kernel, int pad,
                          int has_bias) {
    row_conv *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->k = k;
    c->src = src;
    c->dst = dst;
    c->kernel = kernel;
    c->pad = pad;
    c->has_bias = has_bias;
    c->taps = kernel * kernel;
    c->in = (cranet_shape){src.channels, src.height, src.width};
    c->out = (cranet_shape){dst.channels, dst.height, dst.width};
    c->in_staged = padded(c->in, pad);
    c->out_staged = padded(c->out, kernel - 1 - pad);
    // Over-read: the kernels' whole vectors, and the weights' gradient's last tap.
    const size_t over = cranet_lane_overread_floats(k) + (size_t)kernel;
    c->in_staged_floats = padded_floats(c->in, pad) + over;
    c->out_staged_floats = padded_floats(c->out, kernel - 1 - pad) + over;
    c->pitch = (size_t)c->in_staged.width;
    c->length = (size_t)c->out.height * c->pitch;
    for (int t = 0; t < c->taps; t++) c->tap[t] = (size_t)(t / kernel) * c->pitch + (size_t)(t % kernel);
    const size_t in_floats = (size_t)c->in.channels * c->in.height * c->in.width;
    const size_t weights = (size_t)c->out.channels * c->in.channels * c->taps;
    const size_t for_weights = (size_t)c->out.channels * c->length;
    const size_t for_data = c->out_staged_floats + in_floats;
    c->scratch_sets = cranet_max_threads() > 0 ? cranet_max_threads() : 1;
    c->scratch_floats = for_weights > for_data ? for_weights : for_data;
    c->partial_floats = weights + (size_t)c->out.channels;
    const cranet_conv_layout fwd = cranet_lane_conv_layout(k, c->in, c->out, kernel, 1, pad);
    const cranet_conv_layout back = cranet_lane_conv_layout(k, c->out, c->in, kernel, 1, kernel - 1 - pad);
    const int zeros = c->in.channels > c->out.channels ? c->in.channels : c->out.channels;
    c->staged = calloc((size_t)src.batch * c->in_staged_floats, sizeof(float));
    c->packed = calloc(fwd.packed_floats, sizeof(float));
    c->packed_back = calloc(back.packed_floats, sizeof(float));
    c->flipped = calloc(weights, sizeof(float));
    c->zeros = calloc((size_t)zeros, sizeof(float));
    c->scratch = calloc((size_t)c->scratch_sets * c->scratch_floats, sizeof(float));
    c->partials = calloc((size_t)src.batch * c->partial_floats, sizeof(float));
    if (!c->staged || !c->packed || !c->packed_back || !c->flipped || !c->zeros || !c->scratch || !c->partials) {
        row_conv_destroy(c);
        return NULL;
    }
    return c;
}

void row_conv_destroy(row_conv *c) {
    if (!c) return;
    free(c->staged);
    free(c->packed);
    free(c->packed_back);
    free(c->flipped);
    free(c->zeros);
    free(c->scratch);
    free(c->partials);
    free(c);
}

size_t row_conv_bytes(const row_conv *c) {
    const cranet_conv_layout fwd = cranet_lane_conv_layout(c->k, c->in, c->out, c->kernel, 1, c->pad);
    const cranet_conv_layout back = cranet_lane_conv_layout(c->k, c->out, c->in, c->kernel, 1, c->kernel - 1 - c->pad);
    const size_t weights = (size_t)c->out.channels * c->in.channels * c->taps;
    const size_t floats = (size_t)c->src.batch * (c->in_staged_floats + c->partial_floats) + fwd.packed_floats +
                          back.packed_floats + weights + (size_t)c->scratch_sets * c->scratch_floats;
    return floats * sizeof(float);
}

/// The images of `part`: every part gets a share, up to the scratch sets there are.
static void images(const row_conv *c, int part, int parts, int *n0, int *n1) {
    const int sets = parts < c->scratch_sets ? parts : c->scratch_sets;
    if (part >= sets) {
        *n0 = *n1 = 0;
        return;
    }
    *n0 = (int)((long)c->src.batch * part / sets);
    *n1 = (int)((long)c->src.batch * (part + 1) / sets);
}

static size_t out_floats(const row_conv *c) { return (size_t)c->out.channels * c->out.height * c->out.width; }

static void forward_part(void *ctx, int part, int parts) {
    row_conv *c = ctx;
    int n0, n1;
    images(c, part, parts, &n0, &n1);
    for (int n = n0; n < n1; n++) {
        float *staged = c->staged + (size_t)n * c->in_staged_floats;
        // Unpaired: training runs the f32 tables, whose weight gradient reads channel planes.
        cranet_lane_stage(c->k, c->arg_in + (size_t)n * c->src.image_stride, c->in, c->pad, 1, 0, staged, 0, 0, 1);
        cranet_lane_conv(c->k, staged, c->in_staged, c->arg_out + (size_t)n * out_floats(c), c->out, c->kernel, 1,
                         c->packed, c->arg_bias, 0, 0, 1);
    }
}

void row_conv_forward(row_conv *c, const float *src, const float *weights, const float *bias, float *out) {
    cranet_lane_pack_conv_weights(c->k, weights, c->in.channels, c->out, c->kernel, 1, c->packed);
    c->arg_in = src;
    c->arg_bias = bias ? bias : c->zeros;
    c->arg_out = out;
    cranet_parallel(forward_part, c);
}

static void backward_weights_part(void *ctx, int part, int parts) {
    row_conv *c = ctx;
    const int O = c->out.channels, H = c->out.height, W = c->out.width;
    const size_t weights = (size_t)O * c->in.channels * c->taps;
    int n0, n1;
    images(c, part, parts, &n0, &n1);
    for (int n = n0; n < n1; n++) {
        float *gradient = c->scratch + (size_t)part * c->scratch_floats;
        const float *d = c->arg_in + (size_t)n * out_floats(c);
        float *partial = c->partials + (size_t)n * c->partial_floats;
        // The gradient at the staged pitch, zeros past each row's end.
        memset(gradient, 0, (size_t)O * c->length * sizeof(float));
        for (int o = 0; o < O; o++)
            for (int y = 0; y < H; y++)
                memcpy(gradient + (size_t)o * c->length + (size_t)y * c->pitch, d + ((size_t)o * H + y) * W,
                       (size_t)W * sizeof(float));
        cranet_row_conv_weight_gradient(c->k, gradient, O, c->length, c->staged + (size_t)n * c->in_staged_floats,
                                        c->in.channels, c->pitch * (size_t)c->in_staged.height, c->tap, c->taps,
                                        partial);
        for (int o = 0; o < O && c->has_bias; o++) {
            float sum = 0;
            for (int i = 0; i < H * W; i++) sum += d[(size_t)o * H * W + i];
            partial[weights + o] = sum;
        }
    }
    cranet_barrier();
    // The images' contributions, added in image order.
    const size_t count = c->has_bias ? c->partial_floats : weights;
    const size_t j0 = count * (size_t)part / (size_t)parts, j1 = count * (size_t)(part + 1) / (size_t)parts;
    for (size_t j = j0; j < j1; j++) {
        float sum = 0;
        for (int n = 0; n < c->src.batch; n++) sum += c->partials[(size_t)n * c->partial_floats + j];
        if (j < weights)
            c->arg_out[j] = sum;
        else
            c->arg_bias_out[j - weights] = sum;
    }
}

void row_conv_backward_weights(row_conv *c, const float *diff_out, float *diff_weights, float *diff_bias) {
    c->arg_in = diff_out;
    c->arg_out = diff_weights;
    c->arg_bias_out = diff_bias;
    cranet_parallel(backward_weights_part, c);
}

static void backward_data_part(void *ctx, int part, int parts) {
    row_conv *c = ctx;
    const size_t in_floats = (size_t)c->in.channels * c->in.height * c->in.width;
    int n0, n1;
    images(c, part, parts, &n0, &n1);
    for (int n = n0; n < n1; n++) {
        float *staged = c->scratch + (size_t)part * c->scratch_floats, *image = staged + c->out_staged_floats;
        cranet_lane_stage(c->k, c->arg_in + (size_t)n * out_floats(c), c->out, c->kernel - 1 - c->pad, 1, 0, staged, 0, 0, 1);
        cranet_lane_conv(c->k, staged, c->out_staged, image, c->in, c->kernel, 1, c->packed_back, c->zeros, 0, 0, 1);
        float *d = c->arg_out + (size_t)n * c->src.image_stride;
        for (size_t j = 0; j < in_floats; j++) d[j] += image[j];
    }
}

void row_conv_backward_data(row_conv *c, const float *diff_out, const float *weights, float *diff_src) {
    const int O = c->out.channels, I = c->in.channels, T = c->taps;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int t = 0; t < T; t++)
                c->flipped[((size_t)i * O + o) * T + (T - 1 - t)] = weights[((size_t)o * I + i) * T + t];
    cranet_lane_pack_conv_weights(c->k, c->flipped, O, c->in, c->kernel, 1, c->packed_back);
    c->arg_in = diff_out;
    c->arg_out = diff_src;
    cranet_parallel(backward_data_part, c);
}
