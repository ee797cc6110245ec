// What the row kernels of every width share, included once before row_kernels.h:
// the choice between vectors of pixels and vectors of output channels, and the
// pooling and resizing of an image alone.
#ifndef CRANET_ROW_COMMON_H
#define CRANET_ROW_COMMON_H

#include "cranet.h"

// Whether the row kernels (vectors of `vf` floats) compute a convolution with output
// `d` by vectors of output channels rather than of pixels: when that leaves fewer
// lanes idle. Pixel vectors span rows of the staged input's pitch (row_kernels.h):
// width + (k − 1) / stride with RANet's paddings.
static int row_by_channels(int vf, cranet_shape d, int k, int stride) {
    if (d.width >= vf) return 0;
    const int pitch = d.width + (k - 1) / stride;
    const int span = (d.height - 1) * pitch + d.width, pixel_lanes = (span + vf - 1) / vf * vf;
    const int channel_lanes = (d.channels + vf - 1) / vf * vf;
    return (double)d.channels / channel_lanes > (double)d.height * d.width / pixel_lanes;
}

// How far ahead (in floats: 16 KB) the tiles by output channels prefetch each block's
// weights. An image alone reads every weight of an exit's head from memory once or twice:
// left to the hardware's prefetcher, imagenet-1's heads (221 MB of bf16 weights) took
// 12.1 ms per image on one thread of an EPYC Zen 5, 8.7 ms with this distance (4, 8 and
// 32 KB: 10.0, 9.4 and 9.0 ms). With both cores streaming heads at once, memory's
// bandwidth bounds them instead (11.4 → 11.1 ms each).
#define WEIGHT_PREFETCH_FLOATS 4096

// Where each of a k×k kernel's taps reads in a staged input of shape `s` (the padded
// map, split into stride × stride phase planes: row_kernels.h), relative to the output
// pixel's spot, and the floats of one staged channel. Returns the tap count, at most 64
// (cranet.h); `tap` is a fixed array, since a variable one breaks the stack alignment
// vectors need.
static int staged_taps(cranet_shape s, int k, int stride, size_t tap[64], size_t *in_plane) {
    const int rows = (s.height + stride - 1) / stride, pitch = (s.width + stride - 1) / stride;
    const size_t phase = (size_t)rows * pitch;
    *in_plane = phase * stride * stride;
    for (int t = 0; t < k * k; t++) {
        const int ky = t / k, kx = t % k;
        tap[t] = (size_t)(ky % stride * stride + kx % stride) * phase + (size_t)(ky / stride) * pitch + kx / stride;
    }
    return k * k;
}

// Width 1 (one image): pooling and resizing are a small share of its time.
static void pool_rows(cranet_pool_kind kind, const float *src, cranet_shape s, float *dst, cranet_shape d, int k,
                      int stride, int pad, int part, int parts) {
    for (int c = part * d.channels / parts; c < (part + 1) * d.channels / parts; c++) {
        const float *plane = src + (size_t)c * s.height * s.width;
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                const int iy = y * stride - pad, ix = x * stride - pad;
                float acc = kind == CRANET_POOL_MAX ? -__builtin_inff() : 0.0f;
                int count = 0;
                for (int ky = iy < 0 ? -iy : 0; ky < k && iy + ky < s.height; ky++)
                    for (int kx = ix < 0 ? -ix : 0; kx < k && ix + kx < s.width; kx++) {
                        const float v = plane[(size_t)(iy + ky) * s.width + ix + kx];
                        acc = kind == CRANET_POOL_MAX ? (v > acc ? v : acc) : acc + v;
                        count++;
                    }
                dst[((size_t)c * d.height + y) * d.width + x] = kind == CRANET_POOL_AVG ? acc / (float)count : acc;
            }
    }
}

static void resize_rows(int floats, const float *src, cranet_shape s, float *dst, cranet_shape d, int part, int parts) {
    const int c0 = part * d.channels / parts, c1 = (part + 1) * d.channels / parts;
    cranet_resize_bilinear_align_corners_vectors(floats, src + (size_t)c0 * s.height * s.width, c1 - c0, s.height,
                                                 s.width, dst + (size_t)c0 * d.height * d.width, d.height, d.width);
}

#endif
