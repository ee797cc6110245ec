// The lane kernels for one vector width, included by kernel_table.c once per width.
//
// Layout: a tensor of C×H×W for a group of LANES images is stored as [C][H][W][LANES]:
// every scalar of the per-image NCHW tensor becomes one vector holding that scalar
// for each image of the group. Channel ranges stay contiguous (concatenation still
// costs nothing) and every kernel is the plain scalar algorithm with vectors in
// place of floats, so a convolution with 3 or 5 channels runs the vector units as
// fully as one with 256.
//
// The includer defines LANES, OB (at most 8) and PB (output channels and pixels per
// register tile), NAME(x) (a width-specific function name), TARGET (the target
// attribute), MADD (a·b + c on vectors), DOT_NAME (what bf16 pairs of products run on),
// optionally DOT_BF16 (VDPBF16PS on vectors of bf16 pairs), enum store and struct
// cranet_kernels; this file defines
// NAME(kernels) (one table per cranet_precision) and undefines its parameters, ready for the next width.

#define V NAME(vec)
#define VI NAME(ivec)
#define VU NAME(uvec)
// Floats of one packed pair of bf16 weights (NAME(conv_tile_pairs)).
#ifdef DOT_BF16
#define PAIR_FLOATS 1
#else
#define PAIR_FLOATS 2
#endif
typedef float V __attribute__((vector_size(LANES * 4), aligned(4)));
typedef int VI __attribute__((vector_size(LANES * 4), aligned(4)));
typedef unsigned VU __attribute__((vector_size(LANES * 4), aligned(4)));
CRANET_DEFINE_ROUND_BF16(NAME(round_bits), VU, TARGET)

// x − 0 is x for every float (−0 included), so this folds to one broadcast.
static inline TARGET V NAME(splat)(float x) { return x - (V){0}; }

// Lane-wise a > b ? a : b (C has no vector conditional operator).
static inline TARGET V NAME(max)(V a, V b) {
    VI take_a = a > b;
    return (V)(((VI)a & take_a) | ((VI)b & ~take_a));
}

// What a convolution stores (enum store), from its sums.
static inline TARGET V NAME(epilogue)(V v, int store) {
    if (store != STORE_SUMS) v = NAME(max)(v, NAME(splat)(0.0f));
    if (store == STORE_RELU_BF16) v = (V)NAME(round_bits)((VU)v);
    return v;
}

// One register tile of a convolution: O output channels × P output pixels, summed
// over every input channel and kernel tap. The input has no padding left to apply
// (see NAME(pad)); base[p] points at channel 0 of pixel p's window's top-left corner.
// Pixels before `first` are computed but not stored (another tile stores them).
// O and P are constants after inlining, so the accumulators live in registers.
static inline __attribute__((always_inline)) TARGET void NAME(conv_tile)(
    const int O, const int P, const float *const *base, int channels, size_t in_plane, size_t in_row, int k,
    const float *w, const float *bias, float *out, const size_t *out_pixel, size_t out_plane, int store, int first) {
    V acc[OB][PB];
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) acc[o][p] = NAME(splat)(bias[o]);
    for (int i = 0; i < channels; i++) {
        for (int ky = 0; ky < k; ky++) {
            const size_t row = (size_t)i * in_plane + (size_t)ky * in_row;
            const float *wk = w + ((size_t)(i * k + ky) * k) * O;
            for (int kx = 0; kx < k; kx++) {
                V x[PB];
                for (int p = 0; p < P; p++) x[p] = *(const V *)(base[p] + row + (size_t)kx * LANES);
                for (int o = 0; o < O; o++) {
                    V wv = NAME(splat)(wk[kx * O + o]);
                    for (int p = 0; p < P; p++) acc[o][p] = MADD(wv, x[p], acc[o][p]);
                }
            }
        }
    }
    for (int o = 0; o < O; o++)
        for (int p = first; p < P; p++) {
            *(V *)(out + (size_t)o * out_plane + out_pixel[p]) = NAME(epilogue)(acc[o][p], store);
        }
}

#include "../pair_step.h"

// The bf16 tables' register tile: the same sums as NAME(conv_tile), in the order of
// VDPBF16PS. Input channels go in pairs (2j, 2j + 1), each pair over the kernel taps,
// the odd channel's product added first, then the even one's, each with one rounding;
// an odd channel count ends with a pair whose odd channel and weight are zeros. The
// weights are packed [pair][tap][o][even, odd]: f32, or bf16 with DOT_BF16 (one 32-bit
// pair per output channel and tap, broadcast). With DOT_BF16 the tile interleaves two
// input vectors into one vector of bf16 pairs (exact: features are bf16 values, the
// low half of each f32 zero) and VDPBF16PS does both multiply-adds; without it, two
// fused multiply-adds in that order give the same bits (VDPBF16PS also flushes a
// denormal sum to zero, which the two do not).
static inline __attribute__((always_inline)) TARGET void NAME(conv_tile_pairs)(
    const int O, const int P, const float *const *base, int channels, size_t in_plane, size_t in_row, int k,
    const float *w, const float *bias, float *out, const size_t *out_pixel, size_t out_plane, int store, int first) {
    V acc[OB][PB];
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) acc[o][p] = NAME(splat)(bias[o]);
    for (int i = 0; i < channels; i += 2) {
        const int odd = i + 1 < channels;
        for (int ky = 0; ky < k; ky++) {
            const size_t row = (size_t)i * in_plane + (size_t)ky * in_row;
            const float *wk = w + ((size_t)(i / 2 * k + ky) * k) * O * PAIR_FLOATS;
            for (int kx = 0; kx < k; kx++) {
                V even[PB], odds[PB];
                for (int p = 0; p < P; p++) {
                    even[p] = *(const V *)(base[p] + row + (size_t)kx * LANES);
                    odds[p] = odd ? *(const V *)(base[p] + row + in_plane + (size_t)kx * LANES) : NAME(splat)(0.0f);
                }
                const float *wt = wk + (size_t)kx * O * PAIR_FLOATS;
                NAME(pair_step)(O, P, acc, even, odds, wt);
            }
        }
    }
    for (int o = 0; o < O; o++)
        for (int p = first; p < P; p++) {
            *(V *)(out + (size_t)o * out_plane + out_pixel[p]) = NAME(epilogue)(acc[o][p], store);
        }
}

// Every output channel of one tile of pixels, in blocks of at most OB
// (output_blocks, in kernel_table.c). The tile's input stays in cache while the weights stream past.
static inline __attribute__((always_inline)) TARGET void NAME(conv_pixels)(
    const int P, const int pairs, const float *const *base, cranet_shape s, float *dst, cranet_shape d, int k,
    const float *packed, const float *bias, int store, const size_t *out_pixel, int first) {
    const size_t in_plane = (size_t)s.height * s.width * LANES, in_row = (size_t)s.width * LANES;
    const size_t out_plane = (size_t)d.height * d.width * LANES;
    const size_t taps = pairs ? (size_t)(s.channels + 1) / 2 * k * k * PAIR_FLOATS : (size_t)s.channels * k * k;
    const int blocks = output_blocks(d.channels, OB);
    for (int b = 0; b < blocks; b++) {
        const int o0 = block_start(b, blocks, d.channels), O = block_start(b + 1, blocks, d.channels) - o0;
        const float *w = packed + (size_t)o0 * taps;
        float *out = dst + (size_t)o0 * out_plane;
        switch (O) {
#define CASE(n)                                                                                                   \
    case n:                                                                                                       \
        if (pairs)                                                                                                \
            NAME(conv_tile_pairs)(n, P, base, s.channels, in_plane, in_row, k, w, bias + o0, out, out_pixel, out_plane, \
                                  store, first);                                                                  \
        else                                                                                                      \
            NAME(conv_tile)(n, P, base, s.channels, in_plane, in_row, k, w, bias + o0, out, out_pixel, out_plane, store, \
                            first);                                                                               \
        break;
            CASE(1) CASE(2) CASE(3) CASE(4)
#if OB > 4
            CASE(5) CASE(6)
#endif
#if OB > 6
            CASE(7) CASE(8)
#endif
#undef CASE
        }
    }
}

// Copies channels [c0, c1) of a tensor into `dst` with `pad` rows and columns of zeros
// around each channel (the lane convolutions read strides in place).
static TARGET void NAME(pad)(const float *src, cranet_shape s, int pad, int stride, float *dst, int c0, int c1) {
    (void)stride;
    // Vector by vector: rows are a few vectors long, too short for memcpy's calls to pay.
    const V zero = NAME(splat)(0.0f);
    const int w = s.width + 2 * pad;
    V *out = (V *)dst + (size_t)c0 * (s.height + 2 * pad) * w;
    const V *in = (const V *)src + (size_t)c0 * s.height * s.width;
    for (int c = c0; c < c1; c++) {
        for (int i = 0; i < pad * w; i++) *out++ = zero;
        for (int y = 0; y < s.height; y++) {
            for (int i = 0; i < pad; i++) *out++ = zero;
            for (int x = 0; x < s.width; x++) *out++ = *in++;
            for (int i = 0; i < pad; i++) *out++ = zero;
        }
        for (int i = 0; i < pad * w; i++) *out++ = zero;
    }
}

// Share `part` of `parts` of a convolution without padding (see NAME(pad)): a
// contiguous range of pixel tiles; with `pairs`, in the bf16 tables' order.
static inline __attribute__((always_inline)) TARGET void NAME(conv_share)(
    const int pairs, const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
    const float *packed, const float *bias, int store, int part, int parts) {
    // Pixels go in row-major tiles of PB (a tile may span rows); the last tile of a
    // map whose size PB does not divide is moved back to end at the last pixel, and
    // stores only the pixels the tile before it did not (that one may be another
    // thread's share). Small
    // maps that PB does not divide (an exit's 4×4 and 2×2) take tiles of 2 instead, so
    // as not to compute a third of their pixels twice.
    const int pixels = d.height * d.width;
    const int P = pixels % PB == 0 || pixels > 3 * PB ? PB : pixels % 2 == 0 ? 2 : 1;
    const int tiles = (pixels + P - 1) / P;
    for (int t = part * tiles / parts; t < (part + 1) * tiles / parts; t++) {
        const int q0 = t * P + P > pixels ? pixels - P : t * P, first = t * P - q0;
        const float *base[PB];
        size_t out_pixel[PB];
        for (int p = 0; p < P; p++) {
            const int y = (q0 + p) / d.width, x = (q0 + p) % d.width;
            base[p] = src + ((size_t)y * stride * s.width + (size_t)x * stride) * LANES;
            out_pixel[p] = (size_t)(q0 + p) * LANES;
        }
        // RANet's kernel sizes as constants, so that their tap loops unroll.
        if (P == PB && k == 1)
            NAME(conv_pixels)(PB, pairs, base, s, dst, d, 1, packed, bias, store, out_pixel, first);
        else if (P == PB && k == 3)
            NAME(conv_pixels)(PB, pairs, base, s, dst, d, 3, packed, bias, store, out_pixel, first);
        else if (P == PB)
            NAME(conv_pixels)(PB, pairs, base, s, dst, d, k, packed, bias, store, out_pixel, first);
        else if (P == 2 && k == 3)
            NAME(conv_pixels)(2, pairs, base, s, dst, d, 3, packed, bias, store, out_pixel, first);
        else if (P == 2)
            NAME(conv_pixels)(2, pairs, base, s, dst, d, k, packed, bias, store, out_pixel, first);
        else
            NAME(conv_pixels)(1, pairs, base, s, dst, d, k, packed, bias, store, out_pixel, first);
    }
}

#include "../conv_entries.h"

// Share `part` of `parts` of a pooling layer: a range of channels.
static TARGET void NAME(pool)(cranet_pool_kind kind, const float *src, cranet_shape s, float *dst, cranet_shape d,
                              int k, int stride, int pad, int part, int parts) {
    for (int c = part * d.channels / parts; c < (part + 1) * d.channels / parts; c++) {
        const float *plane = src + (size_t)c * s.height * s.width * LANES;
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                const int iy = y * stride - pad, ix = x * stride - pad;
                V acc = NAME(splat)(kind == CRANET_POOL_MAX ? -__builtin_inff() : 0.0f);
                int count = 0;
                for (int ky = 0; ky < k; ky++) {
                    if (iy + ky < 0 || iy + ky >= s.height) continue;
                    for (int kx = 0; kx < k; kx++) {
                        if (ix + kx < 0 || ix + kx >= s.width) continue;
                        V v = *(const V *)(plane + ((size_t)(iy + ky) * s.width + ix + kx) * LANES);
                        acc = kind == CRANET_POOL_MAX ? NAME(max)(v, acc) : acc + v;
                        count++;
                    }
                }
                if (kind == CRANET_POOL_AVG) acc = acc / NAME(splat)((float)count);
                *(V *)(dst + (((size_t)c * d.height + y) * d.width + x) * LANES) = acc;
            }
    }
}

// Share `part` of `parts` of a resize: a range of channels.
static TARGET void NAME(resize)(const float *src, cranet_shape s, float *dst, cranet_shape d, int part, int parts) {
    const int c0 = part * d.channels / parts, c1 = (part + 1) * d.channels / parts;
    const float sy = source_scale(s.height, d.height), sx = source_scale(s.width, d.width);
    for (int oy = 0; oy < d.height; oy++) {
        int y0, y1;
        float ly;
        source_index(sy, oy, s.height, &y0, &y1, &ly);
        const V vly = NAME(splat)(ly), vhy = NAME(splat)(1.0f - ly);
        for (int ox = 0; ox < d.width; ox++) {
            int x0, x1;
            float lx;
            source_index(sx, ox, s.width, &x0, &x1, &lx);
            const V vlx = NAME(splat)(lx), vhx = NAME(splat)(1.0f - lx);
            for (int c = c0; c < c1; c++) {
                const float *plane = src + (size_t)c * s.height * s.width * LANES;
                const float *r0 = plane + (size_t)y0 * s.width * LANES, *r1 = plane + (size_t)y1 * s.width * LANES;
                V top = vhx * *(const V *)(r0 + (size_t)x0 * LANES) + vlx * *(const V *)(r0 + (size_t)x1 * LANES);
                V bottom = vhx * *(const V *)(r1 + (size_t)x0 * LANES) + vlx * *(const V *)(r1 + (size_t)x1 * LANES);
                *(V *)(dst + (((size_t)c * d.height + oy) * d.width + ox) * LANES) = vhy * top + vly * bottom;
            }
        }
    }
}

// By cranet_precision: bf16 convolutions sum in pairs of input channels.
static const struct cranet_kernels NAME(kernels)[2] = {
    {LANES, 0, OB, NAME(pad), NULL, NAME(conv), NULL, NAME(pool), NAME(resize), NULL, CRANET_F32, PAIR_FLOATS, DOT_NAME},
    {LANES, 0, OB, NAME(pad), NULL, NAME(conv_bf16), NULL, NAME(pool), NAME(resize), NULL, CRANET_BF16, PAIR_FLOATS, DOT_NAME},
};

#undef V
#undef VU
#undef VI
#undef NAME
#undef LANES
#undef OB
#undef PB
#undef TARGET
#undef MADD
#undef DOT_BF16
#undef DOT_NAME
#undef PAIR_FLOATS
