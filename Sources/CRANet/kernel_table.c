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
#include "bf16_dot_rate.h"
#include "bf16_round.h"
#include "resize_index.h"

#include <stdint.h>
#include <stdlib.h>
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
    // bf16 row kernels: stages pairs [p0, p1) of channels as bf16 pairs (NULL elsewhere).
    void (*stage_pairs)(const float *src, cranet_shape s, int pad, int stride, float *dst, int p0, int p1);
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
    // Floats of one pair of bf16 weights as the bf16 kernels by pixels read it: 2 (two
    // f32 values) or 1 (two bf16 halves, for VDPBF16PS).
    int pair_floats;
    // What a bf16 convolution's pairs of multiply-adds run on (cranet_kernels_bf16_dot).
    const char *bf16_dot;
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

// VDPBF16PS: per f32 lane, a·b of the odd bf16 pair elements, then of the even ones, added
// to the sum with a rounding each (the bf16 tables' order, which the other widths follow
// with two multiply-adds). a and b are vectors of 32-bit pairs (VU).
#define DOT_AVX512_BF16(acc, a, b) ((V)_mm512_dpbf16_ps((__m512)(acc), (__m512bh)(a), (__m512bh)(b)))

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
#define DOT_NAME "fma"
#include "lanes/lane_kernels.h"

// Width 16 again, its bf16 convolutions on VDPBF16PS (CPUs with AVX512_BF16).
#define NAME(x) x##_16_dpbf16
#define LANES 16
#define OB 6
#define PB 4
#define TARGET __attribute__((target("avx512f,avx512bf16")))
#define MADD MADD_AVX512
#define DOT_BF16 DOT_AVX512_BF16
#define DOT_NAME "vdpbf16ps"
#include "lanes/lane_kernels.h"

#define NAME(x) x##_8
#define LANES 8
#define OB 6
#define PB 2
#define TARGET __attribute__((target("avx2,fma")))
#define MADD MADD_AVX2
#define DOT_NAME "fma"
#include "lanes/lane_kernels.h"
#endif

#if defined(CRANET_X86)
#define DOT_PORTABLE "mul-add"
#else
#define DOT_PORTABLE "fma"
#endif

#define NAME(x) x##_4
#define LANES 4
#define OB 6
#define PB 2
#define TARGET
#define MADD MADD_PORTABLE
#define DOT_NAME DOT_PORTABLE
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
#define DOT_NAME "fma"
#include "rows/row_kernels.h"

#define NAME(x) x##_rows16_dpbf16
#define VF 16
#define OB 8
#define PB 3
#define CP 8
#define TARGET __attribute__((target("avx512f,avx512bf16")))
#define MADD MADD_AVX512
#define DOT_BF16 DOT_AVX512_BF16
#define DOT_NAME "vdpbf16ps"
#include "rows/row_kernels.h"

#define NAME(x) x##_rows8
#define VF 8
#define OB 6
#define PB 2
#define CP 6
#define TARGET __attribute__((target("avx2,fma")))
#define MADD MADD_AVX2
#define DOT_NAME "fma"
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
#define DOT_NAME DOT_PORTABLE
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

// Each width's two families of kernel tables, each indexed by cranet_precision, and
// their twins whose bf16 convolutions run on VDPBF16PS (NULL where there are none).
struct family {
    int width;
    const cranet_kernels *lanes, *rows, *lanes_dpbf16, *rows_dpbf16;
};

static const struct family families[] = {
#ifdef CRANET_X86
    {16, kernels_16, kernels_rows16, kernels_16_dpbf16, kernels_rows16_dpbf16},
    {8, kernels_8, kernels_rows8, NULL, NULL},
#endif
    {4, kernels_4, kernels_rows4, NULL, NULL},
};

// Whether bf16 convolutions run on VDPBF16PS: where the CPU has AVX512_BF16 and issues it
// fast enough to pay (cranet_bf16_dot_pays), unless RANET_NO_AVX512_BF16 is set (to
// anything but 0 or empty), which runs the code of an AVX-512 CPU without it. Both give
// the same bits.
static int dot_bf16(const struct family *f) {
#ifdef CRANET_X86
    const char *off = getenv("RANET_NO_AVX512_BF16");
    return f->lanes_dpbf16 && !(off && *off && strcmp(off, "0") != 0) && cranet_bf16_dot_pays();
#else
    (void)f;
    return 0;
#endif
}

static const struct family *family(int width) {
    if (!width_supported(width)) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].width == width) return &families[i];
    return NULL;
}

static int valid_precision(cranet_precision p) { return p == CRANET_F32 || p == CRANET_BF16; }

const cranet_kernels *cranet_lane_kernels(int lanes, cranet_precision precision) {
    const struct family *f = family(lanes);
    if (!f || !valid_precision(precision)) return NULL;
    return &(precision == CRANET_BF16 && dot_bf16(f) ? f->lanes_dpbf16 : f->lanes)[precision];
}

const cranet_kernels *cranet_row_kernels(int floats, cranet_precision precision) {
    const struct family *f = family(floats);
    if (!f || !valid_precision(precision)) return NULL;
    return &(precision == CRANET_BF16 && dot_bf16(f) ? f->rows_dpbf16 : f->rows)[precision];
}

int cranet_kernels_images(const cranet_kernels *k) { return k->images; }

const char *cranet_kernels_bf16_dot(const cranet_kernels *k) { return k->precision == CRANET_BF16 ? k->bf16_dot : "none"; }

int cranet_lanes_best(void) { return width_supported(16) ? 16 : width_supported(8) ? 8 : 4; }

// Whether a convolution's packed weights are vectors of output channels (row kernels, row_by_channels).
static int by_channels(const cranet_kernels *k, cranet_shape out, int kernel, int stride) {
    return k->row_vector && row_by_channels(k->row_vector, out, kernel, stride);
}

// Floats of a convolution's packed weights. The f32 tables keep one per weight, the row
// kernels by output channels padded to whole vectors. The bf16 tables pack input channels
// in pairs (an odd count padded with a zero channel): by output channels as bf16, one float
// per pair; by pixels, pair_floats per pair.
static size_t packed_floats(const cranet_kernels *k, int in_channels, cranet_shape out, int kernel, int stride) {
    const int vf = k->row_vector, vectors = by_channels(k, out, kernel, stride);
    const size_t channels = vectors ? (size_t)(out.channels + vf - 1) / vf * vf : (size_t)out.channels;
    const size_t taps = (size_t)kernel * kernel;
    if (k->precision != CRANET_BF16) return channels * in_channels * taps;
    return channels * ((in_channels + 1) / 2) * taps * (vectors ? 1 : k->pair_floats);
}

// Weight (o, i, t) of OIHW weights, rounded to bf16 with `bf16`; 0 past the last output
// or input channel (the padding of a vector or a pair).
static float weight(const float *oihw, cranet_shape out, int in_channels, int taps, int o, int i, int t, int bf16) {
    if (o >= out.channels || i >= in_channels) return 0.0f;
    float w = oihw[((size_t)o * in_channels + i) * taps + t];
    if (bf16) cranet_round_bf16(&w, &w, 1);
    return w;
}

// The top half of a float on the bf16 grid: its bf16 value.
static uint16_t bf16_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (uint16_t)(bits >> 16);
}

void cranet_lane_pack_conv_weights(const cranet_kernels *k, const float *oihw, int in_channels, cranet_shape out,
                                   int kernel, int stride, float *packed) {
    const int T = kernel * kernel, vf = k->row_vector, bf16 = k->precision == CRANET_BF16;
    const int pairs = (in_channels + 1) / 2;
    uint16_t *halves = (uint16_t *)packed;
    if (by_channels(k, out, kernel, stride)) {
        // Blocks of vf output channels, the last one padded with zeros: [block][in][tap][vf]
        // in f32; [block][pair][tap][vf][even, odd] as bf16 in the bf16 tables.
        const int blocks = (out.channels + vf - 1) / vf;
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < T; t++)
                for (int l = 0; l < vf; l++) {
                    const int o = b * vf + l;
                    if (!bf16) {
                        for (int i = 0; i < in_channels; i++)
                            packed[(((size_t)b * in_channels + i) * T + t) * vf + l] = weight(oihw, out, in_channels, T, o, i, t, 0);
                        continue;
                    }
                    for (int i = 0; i < 2 * pairs; i++)
                        halves[((((size_t)b * pairs + i / 2) * T + t) * vf + l) * 2 + i % 2] =
                            bf16_bits(weight(oihw, out, in_channels, T, o, i, t, 1));
                }
        return;
    }
    // Blocks of at most output_block output channels: [in][tap][o] in f32; in bf16
    // [pair][tap][o][even, odd], f32 values or (pair_floats 1) bf16 halves.
    const int blocks = output_blocks(out.channels, k->output_block);
    for (int b = 0; b < blocks; b++) {
        const int o0 = block_start(b, blocks, out.channels), n = block_start(b + 1, blocks, out.channels) - o0;
        if (!bf16) {
            float *block = packed + (size_t)o0 * in_channels * T;
            for (int i = 0; i < in_channels; i++)
                for (int t = 0; t < T; t++)
                    for (int o = 0; o < n; o++) block[((size_t)i * T + t) * n + o] = weight(oihw, out, in_channels, T, o0 + o, i, t, 0);
            continue;
        }
        const size_t start = (size_t)o0 * pairs * T * k->pair_floats;
        for (int i = 0; i < 2 * pairs; i++)
            for (int t = 0; t < T; t++)
                for (int o = 0; o < n; o++) {
                    const size_t at = (((size_t)i / 2 * T + t) * n + o) * 2 + i % 2;
                    const float w = weight(oihw, out, in_channels, T, o0 + o, i, t, 1);
                    if (k->pair_floats == 2)
                        packed[start + at] = w;
                    else
                        halves[2 * start + at] = bf16_bits(w);
                }
    }
}

// Floats of an input of shape `s` staged with this padding and stride: the padded map, which
// the row kernels split into stride × stride phase planes of whole rows and columns; one
// float per pair of channels when `paired`.
static size_t staged_floats(const cranet_kernels *k, cranet_shape s, int pad, int stride, int paired) {
    const size_t h = (size_t)s.height + 2 * pad, w = (size_t)s.width + 2 * pad;
    if (k->images > 1) return (size_t)s.channels * h * w * k->images;
    const size_t planes = paired ? (size_t)(s.channels + 1) / 2 : (size_t)s.channels;
    return planes * stride * stride * ((h + stride - 1) / stride) * ((w + stride - 1) / stride);
}

cranet_conv_layout cranet_lane_conv_layout(const cranet_kernels *k, cranet_shape in, cranet_shape out, int kernel,
                                           int stride, int pad) {
    cranet_conv_layout layout = {0};
    layout.by_channels = by_channels(k, out, kernel, stride);
    // The bf16 row kernels on VDPBF16PS read every input staged in pairs: 25–34% faster
    // on 3×3 layers than pairing in registers once per tile of output channels. A 1×1
    // layer into a few channels reads each input about once per 8 outputs, where a pass
    // over the whole input cost more (256→16 at 56×56: 17% slower), but dense blocks keep
    // their staged input from layer to layer and stage only what was appended.
    layout.paired = k->stage_pairs != NULL;
    // Without padding or stride the input is already what the kernels read: no copy (in
    // bf16 too: whatever a layer reads was rounded when it was stored), unless in pairs.
    layout.staged = pad > 0 || stride > 1 || layout.paired;
    layout.read_shape = in;
    if (layout.staged) {
        layout.read_shape.height += 2 * pad;
        layout.read_shape.width += 2 * pad;
        layout.staged_floats = staged_floats(k, in, pad, stride, layout.paired);
    }
    layout.packed_floats = packed_floats(k, in.channels, out, kernel, stride);
    return layout;
}

// One vector of the widest row kernels.
size_t cranet_lane_overread_floats(const cranet_kernels *k) { return k->images == 1 ? 16 : 0; }

void cranet_lane_stage(const cranet_kernels *k, const float *src, cranet_shape s, int pad, int stride, int paired,
                       float *dst, int first, int part, int parts) {
    const int planes = (paired ? (s.channels + 1) / 2 : s.channels) - first;
    (paired ? k->stage_pairs : k->stage)(src, s, pad, stride, dst, first + part * planes / parts,
                                         first + (part + 1) * planes / parts);
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
