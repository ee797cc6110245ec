// The project's kernel tables, one per family and vector width, each width compiled
// with its own target attribute and the table chosen for this CPU at run time
// (cranet_lane_kernels, cranet_row_kernels). Lane kernels (lanes/lane_kernels.h)
// compute RANet's layers for a group of images side by side, one image per vector
// lane: oneDNN's per-image kernels reach only a fraction of the vector units on
// RANet's convolutions of a few channels over small maps, and a channel slice of a
// batched tensor is a strided descriptor, which sends oneDNN 2.6 to its reference
// kernels; with the batch in the lanes every layer is dense vector work. Row kernels
// (rows/row_kernels.h) compute one image with vectors along its rows.
#include "cranet.h"
#include "bf16_round.h"
#include "resize_index.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CRANET_X86 1
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

// Every multiply-add is written out (MADD below), fused or not as each width says,
// so that the compiler fuses nothing by itself: the lane and row kernels of one width
// then give the same bits for the same image, however differently they are arranged.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF  // gcc: -ffp-contract=off (CMakeLists.txt)
#endif

// Output channels go through the convolution kernels in blocks of at most `most`
// (the register tile's height), as even as possible: 18 channels as 6+6+6 rather
// than 8+8+2, whose last block would leave the vector units waiting.
static inline int output_blocks(int channels, int most) { return (channels + most - 1) / most; }
static inline int block_start(int b, int blocks, int channels) { return b * channels / blocks; }

// What a convolution kernel stores: its sums (CRANET_OUTPUT_SUMS), or features
// (CRANET_OUTPUT_FEATURES) after ReLU, rounded to bf16 by a CRANET_BF16 table.
enum store { STORE_SUMS, STORE_RELU, STORE_RELU_BF16 };

// One family's kernels, as lane_kernels.h and row_kernels.h define them.
struct cranet_kernels {
    int images;        // images computed at once: the lane count, 1 for row kernels
    int row_vector;    // row kernels: floats per vector (0 for the lane kernels)
    int output_block;  // output channels per register tile, and so per block of packed weights
    void (*stage)(const float *src, cranet_shape s, int pad, int stride, float *dst, int c0, int c1);
    void (*conv)(const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
                 const float *packed, const float *bias, int store, int part, int parts);
    // Row kernels: a convolution by output channels over several images (NULL for lanes).
    void (*conv_images)(const float *const *src, cranet_shape s, float *const *dst, cranet_shape d, int images, int k,
                        int stride, const float *packed, const float *bias, int store, int part, int parts);
    void (*pool)(cranet_pool_kind kind, const float *src, cranet_shape s, float *dst, cranet_shape d, int k,
                 int stride, int pad, int part, int parts);
    void (*resize)(const float *src, cranet_shape s, float *dst, cranet_shape d, int part, int parts);
    // Row kernels: the weights' gradient of a stride-1 convolution (NULL for lanes).
    void (*weight_gradient)(const float *dout, int out_channels, size_t length, const float *src, int in_channels,
                            size_t in_plane, const size_t *tap, int taps, float *out);
    // CRANET_BF16: weights are rounded as they are packed, every layer's output but a
    // classifier's as it is stored, and a network's input as it is loaded.
    cranet_precision precision;
};

// a·b + c per lane, for vectors of type V: fused where the instruction set has a
// fused multiply-add, which every width but x86-64's portable one has.
#define MADD_AVX512(a, b, c) ((V)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define MADD_AVX2(a, b, c) ((V)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#if defined(__aarch64__)
#define MADD_PORTABLE(a, b, c) ((V)vfmaq_f32((float32x4_t)(c), (float32x4_t)(a), (float32x4_t)(b)))
#else
#define MADD_PORTABLE(a, b, c) ((a) * (b) + (c))
#endif

// Register tiles (OB output channels × PB pixels or vectors) are sized to the vector
// registers with one to spare: 6 × 4 in AVX-512's 32; 6 × 2 in the 16 of AVX2 and SSE
// (12 accumulators, 2 inputs, a weight), where 4 × 3 used all 16 and the compiler
// spilled an accumulator on every tap, halving the 8-lane kernels' speed. NEON has 32
// but keeps the portable tile, unmeasured on arm64 beyond its tests.
#ifdef CRANET_X86
#define NAME(x) x##_16
#define LANES 16
#define OB 6
#define PB 4
#define TARGET __attribute__((target("avx512f")))
#define MADD MADD_AVX512
#include "lanes/lane_kernels.h"

#define NAME(x) x##_8
#define LANES 8
#define OB 6
#define PB 2
#define TARGET __attribute__((target("avx2,fma")))
#define MADD MADD_AVX2
#include "lanes/lane_kernels.h"
#endif

#define NAME(x) x##_4
#define LANES 4
#define OB 6
#define PB 2
#define TARGET
#define MADD MADD_PORTABLE
#include "lanes/lane_kernels.h"

#include "rows/row_common.h"

#ifdef CRANET_X86
#define NAME(x) x##_rows16
#define VF 16
#define OB 8
#define PB 3
#define CP 8
#define TARGET __attribute__((target("avx512f")))
#define MADD MADD_AVX512
#include "rows/row_kernels.h"

#define NAME(x) x##_rows8
#define VF 8
#define OB 6
#define PB 2
#define CP 6
#define TARGET __attribute__((target("avx2,fma")))
#define MADD MADD_AVX2
#include "rows/row_kernels.h"
#endif

#define NAME(x) x##_rows4
#define VF 4
#define OB 6
#define PB 2
#ifdef __aarch64__
#define CP 8
#else
#define CP 6
#endif
#define TARGET
#define MADD MADD_PORTABLE
#include "rows/row_kernels.h"

// Whether this CPU runs the instructions of vector width 16, 8 or 4.
static int width_supported(int width) {
    switch (width) {
#ifdef CRANET_X86
    case 16: return __builtin_cpu_supports("avx512f");
    case 8: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    case 4: return 1;
    default: return 0;
    }
}

// Each width's two families of kernel tables, each indexed by cranet_precision.
struct family {
    int width;
    const cranet_kernels *lanes, *rows;
};

static const struct family families[] = {
#ifdef CRANET_X86
    {16, kernels_16, kernels_rows16},
    {8, kernels_8, kernels_rows8},
#endif
    {4, kernels_4, kernels_rows4},
};

static const struct family *family(int width) {
    if (!width_supported(width)) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].width == width) return &families[i];
    return NULL;
}

static int valid_precision(cranet_precision p) { return p == CRANET_F32 || p == CRANET_BF16; }

const cranet_kernels *cranet_lane_kernels(int lanes, cranet_precision precision) {
    const struct family *f = family(lanes);
    return f && valid_precision(precision) ? &f->lanes[precision] : NULL;
}

const cranet_kernels *cranet_row_kernels(int floats, cranet_precision precision) {
    const struct family *f = family(floats);
    return f && valid_precision(precision) ? &f->rows[precision] : NULL;
}

int cranet_kernels_images(const cranet_kernels *k) { return k->images; }

int cranet_lanes_best(void) { return width_supported(16) ? 16 : width_supported(8) ? 8 : 4; }

// Whether a convolution's packed weights are vectors of output channels (row kernels, row_by_channels).
static int by_channels(const cranet_kernels *k, cranet_shape out, int kernel, int stride) {
    return k->row_vector && row_by_channels(k->row_vector, out, kernel, stride);
}

// Floats of a convolution's packed weights: row kernels by output channels pad them to whole
// vectors, and in bf16 hold them as bf16, two to a float.
static size_t packed_floats(const cranet_kernels *k, int in_channels, cranet_shape out, int kernel, int stride) {
    const int vf = k->row_vector, vectors = by_channels(k, out, kernel, stride);
    const int channels = vectors ? (out.channels + vf - 1) / vf * vf : out.channels;
    const size_t values = (size_t)channels * in_channels * kernel * kernel;
    return vectors && k->precision == CRANET_BF16 ? (values + 1) / 2 : values;
}

void cranet_lane_pack_conv_weights(const cranet_kernels *k, const float *oihw, int in_channels, cranet_shape out,
                                   int kernel, int stride, float *packed) {
    const int taps = in_channels * kernel * kernel, vf = k->row_vector;
    if (by_channels(k, out, kernel, stride)) {
        // Blocks of vf output channels, the last one padded with zeros: [block][tap][vf],
        // rounded and kept as bf16 (the top half of each f32) in the bf16 tables.
        const int blocks = (out.channels + vf - 1) / vf, bf16 = k->precision == CRANET_BF16;
        uint16_t *halves = (uint16_t *)packed;
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < taps; t++) {
                float vector[16];
                for (int l = 0; l < vf; l++) {
                    const int o = b * vf + l;
                    vector[l] = o < out.channels ? oihw[(size_t)o * taps + t] : 0.0f;
                }
                const size_t at = ((size_t)b * taps + t) * vf;
                if (!bf16) {
                    memcpy(packed + at, vector, sizeof(float) * vf);
                    continue;
                }
                cranet_round_bf16(vector, vector, vf);
                for (int l = 0; l < vf; l++) {
                    uint32_t bits;
                    memcpy(&bits, &vector[l], sizeof bits);
                    halves[at + l] = (uint16_t)(bits >> 16);
                }
            }
        return;
    }
    const int blocks = output_blocks(out.channels, k->output_block);
    for (int b = 0; b < blocks; b++) {
        const int o0 = block_start(b, blocks, out.channels), n = block_start(b + 1, blocks, out.channels) - o0;
        float *block = packed + (size_t)o0 * taps;
        for (int t = 0; t < taps; t++)
            for (int o = 0; o < n; o++) block[(size_t)t * n + o] = oihw[(size_t)(o0 + o) * taps + t];
    }
    if (k->precision == CRANET_BF16) cranet_round_bf16(packed, packed, packed_floats(k, in_channels, out, kernel, stride));
}

// Floats of an input of shape `s` staged with this padding and stride: the padded map, which
// the row kernels split into stride × stride phase planes of whole rows and columns.
static size_t staged_floats(const cranet_kernels *k, cranet_shape s, int pad, int stride) {
    const size_t h = (size_t)s.height + 2 * pad, w = (size_t)s.width + 2 * pad;
    if (k->images > 1) return (size_t)s.channels * h * w * k->images;
    return (size_t)s.channels * stride * stride * ((h + stride - 1) / stride) * ((w + stride - 1) / stride);
}

cranet_conv_layout cranet_lane_conv_layout(const cranet_kernels *k, cranet_shape in, cranet_shape out, int kernel,
                                           int stride, int pad) {
    cranet_conv_layout layout = {0};
    // Without padding or stride the input is already what the kernels read: no copy (in
    // bf16 too: whatever a layer reads was rounded when it was stored).
    layout.staged = pad > 0 || stride > 1;
    layout.read_shape = in;
    if (layout.staged) {
        layout.read_shape.height += 2 * pad;
        layout.read_shape.width += 2 * pad;
        layout.staged_floats = staged_floats(k, in, pad, stride);
    }
    layout.packed_floats = packed_floats(k, in.channels, out, kernel, stride);
    layout.by_channels = by_channels(k, out, kernel, stride);
    return layout;
}

// One vector of the widest row kernels.
size_t cranet_lane_overread_floats(const cranet_kernels *k) { return k->images == 1 ? 16 : 0; }

void cranet_lane_stage(const cranet_kernels *k, const float *src, cranet_shape s, int pad, int stride, float *dst,
                       int part, int parts) {
    k->stage(src, s, pad, stride, dst, part * s.channels / parts, (part + 1) * s.channels / parts);
}

void cranet_lane_load(const cranet_kernels *k, const float *const *images, int count, size_t floats, float *dst) {
    cranet_lane_pack(k->images, images, count, floats, dst);
    if (k->precision == CRANET_BF16) cranet_round_bf16(dst, dst, floats * (size_t)k->images);
}

static enum store store(const cranet_kernels *k, cranet_conv_output output) {
    if (output == CRANET_OUTPUT_SUMS) return STORE_SUMS;
    return k->precision == CRANET_BF16 ? STORE_RELU_BF16 : STORE_RELU;
}

// In bf16, rounds what share `part` of `parts` of a pooling or resize wrote: its range of
// channels, as those kernels share their work, right after it is written.
static void round_channels(const cranet_kernels *k, float *dst, cranet_shape d, int part, int parts) {
    if (k->precision != CRANET_BF16) return;
    const size_t channel = (size_t)d.height * d.width * k->images;
    const int c0 = part * d.channels / parts, c1 = (part + 1) * d.channels / parts;
    cranet_round_bf16(dst + channel * c0, dst + channel * c0, channel * (size_t)(c1 - c0));
}

void cranet_lane_conv(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                      int kernel, int stride, const float *packed, const float *bias, cranet_conv_output output, int part,
                      int parts) {
    k->conv(src, s, dst, d, kernel, stride, packed, bias, store(k, output), part, parts);
}

void cranet_row_conv_images(const cranet_kernels *k, const float *const *src, cranet_shape s, float *const *dst,
                            cranet_shape d, int images, int kernel, int stride, const float *packed, const float *bias,
                            cranet_conv_output output, int part, int parts) {
    k->conv_images(src, s, dst, d, images, kernel, stride, packed, bias, store(k, output), part, parts);
}

void cranet_row_conv_weight_gradient(const cranet_kernels *k, const float *dout, int out_channels, size_t length,
                                     const float *src, int in_channels, size_t in_plane, const size_t *tap, int taps,
                                     float *out) {
    k->weight_gradient(dout, out_channels, length, src, in_channels, in_plane, tap, taps, out);
}

void cranet_lane_pool(const cranet_kernels *k, cranet_pool_kind kind, const float *src, cranet_shape s, float *dst,
                      cranet_shape d, int kernel, int stride, int pad, int part, int parts) {
    k->pool(kind, src, s, dst, d, kernel, stride, pad, part, parts);
    round_channels(k, dst, d, part, parts);
}

void cranet_lane_resize_bilinear_align_corners(const cranet_kernels *k, const float *src, cranet_shape s, float *dst,
                                               cranet_shape d, int part, int parts) {
    k->resize(src, s, dst, d, part, parts);
    round_channels(k, dst, d, part, parts);
}
