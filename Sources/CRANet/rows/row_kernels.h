// The row kernels for one vector width, included by kernel_table.c once per width: the lane
// layout's width 1, one image stored [C][H][W], with vectors along the rows of a map.
//
// A convolution reads its input staged (NAME(stage)): padded, and for a stride s > 1
// split into s×s phase planes (the pixels at rows ≡ ry and columns ≡ rx mod s), so
// that every kernel tap of every stride is one contiguous load, at a fixed offset
// from the output pixel's position in the staged map. Output pixel (y, x) sits at
// y·pitch + x there, pitch being the staged map's (phase plane's) row length. Vectors
// of output pixels are placed
// - along a row (maps at least a vector wide): x = 0, VF, 2·VF…, the last moved
//   back to end at the row's end, storing only the pixels not yet stored;
// - over that pitch-strided index (narrower maps): a vector spans rows, and the
//   lanes that land in the padding columns are computed but not stored.
// A map smaller than one vector takes one vector, which reads past the end of the
// input (cranet_lane_overread_floats). Where such placements would leave most lanes
// idle and there are more output channels than pixels (an exit's 4×4 and 2×2 maps of
// 128 channels, a classifier's 1×1), vectors run along output channels instead
// (row_by_channels in row_common.h): each input value is broadcast, and the weights are
// packed in blocks of VF output channels. The bf16 tables hold those weights as bf16
// pairs (NAME(channel_tile)): these are the layers whose weights outweigh their maps (an
// ImageNet exit holds most of the network's weights), which an image alone reads from
// memory at every pass.
//
// The includer defines VF (floats per vector), OB and PB (output channels and vectors
// per register tile), CP (pixels per tile by output channels: two blocks of CP
// accumulators, plus two weight vectors and a broadcast, must fit the vector registers:
// 8 with AVX-512's and NEON's 32, 6 with the 16 of AVX2 and SSE, where 8 spilled and
// imagenet-1 at batch 8 ran 8% slower), NAME(x), TARGET, MADD (a·b + c on vectors), DOT_NAME
// and optionally DOT_BF16 (as lane_kernels.h), enum store and struct cranet_kernels; this file defines
// NAME(kernels) (one table per cranet_precision) and undefines its parameters.

#define V NAME(vec)
#define VI NAME(ivec)
#define VU NAME(uvec)
typedef float V __attribute__((vector_size(VF * 4), aligned(4)));
typedef int VI __attribute__((vector_size(VF * 4), aligned(4)));
typedef unsigned VU __attribute__((vector_size(VF * 4), aligned(4)));
// Floats of one packed pair of bf16 weights (NAME(conv_tile_pairs)).
#ifdef DOT_BF16
#define PAIR_FLOATS 1
#else
#define PAIR_FLOATS 2
#endif
CRANET_DEFINE_ROUND_BF16(NAME(round_bits), VU, TARGET)

static inline TARGET V NAME(splat)(float x) { return x - (V){0}; }

// Lane-wise max(v, 0), 0 where v is NaN (C has no vector conditional operator).
static inline TARGET V NAME(relu)(V v) { return (V)((VI)v & (v > 0)); }

// What a convolution stores (enum store), from its sums.
static inline TARGET V NAME(epilogue)(V v, int store) {
    if (store != STORE_SUMS) v = NAME(relu)(v);
    if (store == STORE_RELU_BF16) v = (V)NAME(round_bits)((VU)v);
    return v;
}

// Where one vector of output pixels is read from and written to.
struct NAME(spot) {
    size_t in;      // offset of lane 0 in a staged input plane
    size_t out;     // output index of the first lane stored
    unsigned mask;  // the lanes stored, in order to consecutive outputs from `out`
};

static const unsigned NAME(all) = (1u << VF) - 1;

// Stores the lanes of `mask` to consecutive floats from `dst`.
static inline TARGET void NAME(store)(float *dst, V v, unsigned mask) {
    if (mask == NAME(all)) {
        *(V *)dst = v;
        return;
    }
#if VF == 16
    _mm512_mask_compressstoreu_ps(dst, (__mmask16)mask, (__m512)v);
#else
    for (int j = 0; j < VF; j++)
        if (mask >> j & 1) *dst++ = v[j];
#endif
}

// One register tile: O output channels × P vectors of pixels, summed over every input
// channel and the T taps; O, P and T are constants after inlining.
static inline __attribute__((always_inline)) TARGET void NAME(conv_tile)(
    const int O, const int P, const int T, const float *src, int channels, size_t in_plane, const size_t *tap,
    const struct NAME(spot) *spot, const float *w, const float *bias, float *out, size_t out_plane, int store) {
    V acc[OB][PB];
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) acc[o][p] = NAME(splat)(bias[o]);
    for (int i = 0; i < channels; i++) {
        const float *plane = src + (size_t)i * in_plane;
        for (int t = 0; t < T; t++) {
            V x[PB];
            for (int p = 0; p < P; p++) x[p] = *(const V *)(plane + spot[p].in + tap[t]);
            const float *wt = w + ((size_t)i * T + t) * O;
            for (int o = 0; o < O; o++) {
                V wv = NAME(splat)(wt[o]);
                for (int p = 0; p < P; p++) acc[o][p] = MADD(wv, x[p], acc[o][p]);
            }
        }
    }
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) {
            NAME(store)(out + (size_t)o * out_plane + spot[p].out, NAME(epilogue)(acc[o][p], store), spot[p].mask);
        }
}

#include "../pair_step.h"

// The bf16 tables' register tile: NAME(conv_tile)'s sums in the order of VDPBF16PS, as
// the lane kernels' NAME(conv_tile_pairs) (which says how), weights packed
// [pair][tap][o][even, odd]. With DOT_BF16 the input is staged in pairs
// (cranet_conv_layout.paired), each pair of channels in one plane, a vector of it one
// operand of VDPBF16PS; otherwise each vector of pairs is interleaved from the two
// channels' planes (NAME(pair_step)).
static inline __attribute__((always_inline)) TARGET void NAME(conv_tile_pairs)(
    const int O, const int P, const int T, const float *src, int channels, size_t in_plane, const size_t *tap,
    const struct NAME(spot) *spot, const float *w, const float *bias, float *out, size_t out_plane, int store) {
    V acc[OB][PB];
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) acc[o][p] = NAME(splat)(bias[o]);
    for (int i = 0; i < channels; i += 2) {
#ifdef DOT_BF16
        const float *plane = src + (size_t)i / 2 * in_plane;
        for (int t = 0; t < T; t++) {
            VU pairs[PB];
            for (int p = 0; p < P; p++) pairs[p] = *(const VU *)(plane + spot[p].in + tap[t]);
            const unsigned *wt = (const unsigned *)(w + ((size_t)i / 2 * T + t) * O * PAIR_FLOATS);
            for (int o = 0; o < O; o++) {
                const VU wv = (VU){0} + wt[o];
                for (int p = 0; p < P; p++) acc[o][p] = DOT_BF16(acc[o][p], pairs[p], wv);
            }
        }
#else
        const float *plane = src + (size_t)i * in_plane;
        const int odd = i + 1 < channels;
        for (int t = 0; t < T; t++) {
            V even[PB], odds[PB];
            for (int p = 0; p < P; p++) {
                even[p] = *(const V *)(plane + spot[p].in + tap[t]);
                odds[p] = odd ? *(const V *)(plane + in_plane + spot[p].in + tap[t]) : NAME(splat)(0.0f);
            }
            const float *wt = w + ((size_t)i / 2 * T + t) * O * PAIR_FLOATS;
            NAME(pair_step)(O, P, acc, even, odds, wt);
        }
#endif
    }
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) {
            NAME(store)(out + (size_t)o * out_plane + spot[p].out, NAME(epilogue)(acc[o][p], store), spot[p].mask);
        }
}

// Every output channel of one tile of vectors, in blocks of at most OB; with `pairs`, in
// the bf16 tables' order.
static inline __attribute__((always_inline)) TARGET void NAME(conv_vectors)(
    const int P, const int T, const int pairs, const float *src, int channels, size_t in_plane, const size_t *tap,
    const struct NAME(spot) *spot, const float *packed, const float *bias, float *dst, cranet_shape d, int store) {
    const size_t out_plane = (size_t)d.height * d.width;
    const size_t per_output = pairs ? (size_t)(channels + 1) / 2 * T * PAIR_FLOATS : (size_t)channels * T;
    const int blocks = output_blocks(d.channels, OB);
    for (int b = 0; b < blocks; b++) {
        const int o0 = block_start(b, blocks, d.channels), O = block_start(b + 1, blocks, d.channels) - o0;
        const float *w = packed + (size_t)o0 * per_output;
        float *out = dst + (size_t)o0 * out_plane;
        switch (O) {
#define CASE(n)                                                                                                    \
    case n:                                                                                                        \
        if (pairs)                                                                                                 \
            NAME(conv_tile_pairs)(n, P, T, src, channels, in_plane, tap, spot, w, bias + o0, out, out_plane, store);         \
        else                                                                                                       \
            NAME(conv_tile)(n, P, T, src, channels, in_plane, tap, spot, w, bias + o0, out, out_plane, store);       \
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

// The spot of vector `i` of an output map (see the placements above).
static inline TARGET struct NAME(spot) NAME(place)(int i, cranet_shape d, size_t pitch) {
    struct NAME(spot) spot;
    if (d.width >= VF) {
        const int per_row = (d.width + VF - 1) / VF, y = i / per_row, x = i % per_row * VF;
        const int start = x + VF > d.width ? d.width - VF : x;
        spot.in = (size_t)y * pitch + start;
        spot.out = (size_t)y * d.width + x;
        spot.mask = NAME(all) & (NAME(all) << (x - start));
        return spot;
    }
    const size_t span = (size_t)(d.height - 1) * pitch + d.width;
    const size_t q = (size_t)i * VF, start = q + VF <= span ? q : span > VF ? span - VF : 0;
    spot.in = start;
    spot.mask = 0;
    spot.out = (size_t)-1;
    size_t y = q / pitch, x = q % pitch;
    for (size_t j = q - start; j < VF; j++) {
        if (x < (size_t)d.width && y < (size_t)d.height) {
            if (spot.out == (size_t)-1) spot.out = y * d.width + x;
            spot.mask |= 1u << j;
        }
        if (++x == pitch) x = 0, y++;
    }
    if (spot.out == (size_t)-1) spot.out = 0;  // nothing stored (a vector within the padding columns)
    return spot;
}

// Prefetches the weights WEIGHT_PREFETCH_FLOATS (row_common.h) ahead of `at`, one cache
// line per vector of 16 floats. Narrower vectors would prefetch each line two or four
// times, and the AVX2 paths measured 5% slower with it (imagenet-1 in bf16 at batch 8,
// where a block's weights serve every pixel from the cache): they leave it to the hardware.
static inline TARGET void NAME(prefetch_weights)(const float *at) {
#if VF == 16
    __builtin_prefetch(at + WEIGHT_PREFETCH_FLOATS);
#else
    (void)at;
#endif
}

// One register tile by channels: C vectors of VF output channels × P output pixels.
// Pixel p is read from in[p] (its spot in a staged input, of any image) and written
// to out[p] (its spot in the output's first channel). The tile's weights start at
// float `w` of `packed`, blocks `w_block` floats apart. With `pairs` (the bf16 tables)
// input channels go in pairs in the order of VDPBF16PS (NAME(conv_tile_pairs)), and
// the weights are bf16 pairs, [pair][tap][VF][even, odd]. With DOT_BF16 the input is
// staged in pairs too (NAME(stage_pairs)), and VDPBF16PS reads both as they are, a
// pixel's pair broadcast from memory. Without, each vector of weight pairs is widened in
// registers into the even and the odd channels' weights (exactly: a bf16 value is the
// top half of its f32) against the two inputs broadcast from their channel planes: two
// loads that cost less than widening a broadcast pair there (12% of a layer's time).
// Each block's weights are prefetched ahead (NAME(prefetch_weights)).
static inline __attribute__((always_inline)) TARGET void NAME(channel_tile)(
    const int C, const int P, const int T, const int pairs, int channels, size_t in_plane, const size_t *tap,
    const float *const *in, const float *packed, size_t w, size_t w_block, const float *bias, int o0, int outputs,
    float *const *out, size_t out_plane, int store) {
    V acc[2][8];
    for (int c = 0; c < C; c++) {
        float b[VF];
        for (int l = 0; l < VF; l++) b[l] = o0 + c * VF + l < outputs ? bias[o0 + c * VF + l] : 0.0f;
        for (int p = 0; p < P; p++) acc[c][p] = *(const V *)b;
    }
    for (int i = 0; i < channels; i += 1 + pairs) {
        const size_t plane = (size_t)i * in_plane;
#ifndef DOT_BF16
        const int odd = pairs && i + 1 < channels;
#endif
        for (int t = 0; t < T; t++) {
            if (!pairs) {
                V wv[2];
                for (int c = 0; c < C; c++) {
                    const float *at = packed + w + (size_t)c * w_block + ((size_t)i * T + t) * VF;
                    wv[c] = *(const V *)at;
                    NAME(prefetch_weights)(at);
                }
                for (int p = 0; p < P; p++) {
                    const V x = NAME(splat)(in[p][plane + tap[t]]);
                    for (int c = 0; c < C; c++) acc[c][p] = MADD(wv[c], x, acc[c][p]);
                }
                continue;
            }
            VU wv[2];
            for (int c = 0; c < C; c++) {
                const float *at = packed + w + (size_t)c * w_block + ((size_t)i / 2 * T + t) * VF;
                wv[c] = *(const VU *)at;
                NAME(prefetch_weights)(at);
            }
#ifndef DOT_BF16
            V we[2], wo[2];
            for (int c = 0; c < C; c++) we[c] = (V)(wv[c] << 16), wo[c] = (V)(wv[c] & 0xffff0000u);
#endif
            for (int p = 0; p < P; p++) {
#ifdef DOT_BF16
                const VU x = (VU){0} + ((const unsigned *)in[p])[(size_t)i / 2 * in_plane + tap[t]];
                for (int c = 0; c < C; c++) acc[c][p] = DOT_BF16(acc[c][p], wv[c], x);
#else
                const float xe = in[p][plane + tap[t]], xo = odd ? in[p][plane + in_plane + tap[t]] : 0.0f;
                const V ve = NAME(splat)(xe), vo = NAME(splat)(xo);
                for (int c = 0; c < C; c++) acc[c][p] = MADD(we[c], ve, MADD(wo[c], vo, acc[c][p]));
#endif
            }
        }
    }
    for (int c = 0; c < C; c++) {
        const int n = outputs - (o0 + c * VF) < VF ? outputs - (o0 + c * VF) : VF;
        const size_t base = (size_t)(o0 + c * VF) * out_plane;
        for (int p = 0; p < P; p++) {
            float v[VF];
            *(V *)v = NAME(epilogue)(acc[c][p], store);
            for (int l = 0; l < n; l++) out[p][base + (size_t)l * out_plane] = v[l];
        }
    }
}

// Share `part` of `parts` of a convolution by channels, over `images` images at once
// (src[j] and dst[j]: image j's staged input and output): a range of tiles of up to
// two blocks of output channels × up to 8 pixels, the images' pixels one after
// another, so that a block's weights serve every image while they are in cache. A
// tile is the same sums whichever image its pixels come from: each image gets the
// bits it gets alone. With `pairs`, in the bf16 tables' order on bf16 pairs of weights.
static inline __attribute__((always_inline)) TARGET void NAME(conv_channels)(
    const float *const *src, cranet_shape s, float *const *dst, cranet_shape d, int images, int k, int stride,
    const float *packed, const int pairs, const float *bias, int store, int part, int parts) {
    size_t tap[64], in_plane;
    staged_taps(s, k, stride, tap, &in_plane);
    const size_t pitch = (s.width + stride - 1) / stride;
    const int T = k * k, blocks = (d.channels + VF - 1) / VF, pixels = d.height * d.width;
    const int block_pairs = (blocks + 1) / 2, all = images * pixels, tiles = (all + CP - 1) / CP;
    const size_t w_block = (size_t)(pairs ? (s.channels + 1) / 2 : s.channels) * T * VF;
    for (int item = (int)((long)part * block_pairs * tiles / parts); item < (int)((long)(part + 1) * block_pairs * tiles / parts);
         item++) {
        const int b0 = item / tiles * 2, q0 = item % tiles * CP;
        const int C = blocks - b0 < 2 ? 1 : 2, P = all - q0 < CP ? all - q0 : CP;
        // Zeroed: gcc cannot see that a tile reads only its P entries.
        const float *in[8] = {0};
        float *out[8] = {0};
        for (int p = 0; p < P; p++) {
            const int image = (q0 + p) / pixels, q = (q0 + p) % pixels, y = q / d.width, x = q % d.width;
            in[p] = src[image] + (size_t)y * pitch + x;
            out[p] = dst[image] + q;
        }
        const size_t w = (size_t)b0 * w_block;
#define TILE(c, p, t) \
    NAME(channel_tile)(c, p, t, pairs, s.channels, in_plane, tap, in, packed, w, w_block, bias, b0 * VF, d.channels, out, \
                       d.height * (size_t)d.width, store)
#define PIXELS(c, t)                                      \
    switch (P) {                                          \
    case 1: TILE(c, 1, t); break;                         \
    case 2: TILE(c, 2, t); break;                         \
    case 3: TILE(c, 3, t); break;                         \
    case 4: TILE(c, 4, t); break;                         \
    case 5: TILE(c, 5, t); break;                         \
    case 6: TILE(c, 6, t); break;                         \
    case 7: TILE(c, 7, t); break;                         \
    default: TILE(c, 8, t); break;                        \
    }
        if (C == 2 && T == 9) {
            PIXELS(2, 9)
        } else if (C == 2 && T == 1) {
            PIXELS(2, 1)
        } else if (C == 2) {
            PIXELS(2, T)
        } else if (T == 9) {
            PIXELS(1, 9)
        } else if (T == 1) {
            PIXELS(1, 1)
        } else {
            PIXELS(1, T)
        }
#undef PIXELS
#undef TILE
    }
}

// A convolution by channels (row_by_channels) of several images at once.
static TARGET void NAME(conv_images)(const float *const *src, cranet_shape s, float *const *dst, cranet_shape d, int images,
                                     int k, int stride, const float *packed, const float *bias, int store, int part,
                                     int parts) {
    NAME(conv_channels)(src, s, dst, d, images, k, stride, packed, 0, bias, store, part, parts);
}

// The same in the bf16 tables' order on bf16 pairs of weights.
static TARGET void NAME(conv_images_bf16)(const float *const *src, cranet_shape s, float *const *dst, cranet_shape d,
                                          int images, int k, int stride, const float *packed, const float *bias, int store,
                                          int part, int parts) {
    NAME(conv_channels)(src, s, dst, d, images, k, stride, packed, 1, bias, store, part, parts);
}

// Share `part` of `parts` of a convolution over a staged input (`s`: the padded
// size): a range of tiles of vectors; with `pairs`, in the bf16 tables' order.
static inline __attribute__((always_inline)) TARGET void NAME(conv_share)(
    const int pairs, const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
    const float *packed, const float *bias, int store, int part, int parts) {
    if (row_by_channels(VF, d, k, stride)) {
        NAME(conv_channels)(&src, s, &dst, d, 1, k, stride, packed, pairs, bias, store, part, parts);
        return;
    }
    const int pitch = (s.width + stride - 1) / stride;
    size_t tap[64], in_plane;
    const int T = staged_taps(s, k, stride, tap, &in_plane);
    const size_t span = (size_t)(d.height - 1) * pitch + d.width;
    const int vectors = d.width >= VF ? d.height * ((d.width + VF - 1) / VF) : (int)((span + VF - 1) / VF);
    const int tiles = (vectors + PB - 1) / PB;
    for (int t = part * tiles / parts; t < (part + 1) * tiles / parts; t++) {
        const int P = t * PB + PB > vectors ? vectors - t * PB : PB;
        struct NAME(spot) spot[PB];
        for (int p = 0; p < P; p++) spot[p] = NAME(place)(t * PB + p, d, pitch);
        // RANet's kernel sizes as constants, so that their tap loops unroll.
#define VECTORS(p)                                                                                      \
    if (k == 1)                                                                                         \
        NAME(conv_vectors)(p, 1, pairs, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, store); \
    else if (k == 3)                                                                                    \
        NAME(conv_vectors)(p, 9, pairs, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, store); \
    else                                                                                                \
        NAME(conv_vectors)(p, T, pairs, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, store);
        if (P == PB) {
            VECTORS(PB)
        } else if (P == 2) {
            VECTORS(2)
        } else {
            VECTORS(1)
        }
#undef VECTORS
    }
}

#include "../conv_entries.h"

// `n` floats of `src` to `dst`, whole vectors and then what is left.
static inline TARGET void NAME(copy)(float *dst, const float *src, int n) {
    int j = 0;
    for (; j + VF <= n; j += VF) *(V *)(dst + j) = *(const V *)(src + j);
#if VF == 16
    if (j < n) {
        const __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(dst + j, tail, _mm512_maskz_loadu_ps(tail, src + j));
    }
#else
    for (; j < n; j++) dst[j] = src[j];
#endif
}

// Every `stride`-th float of `src` to `n` floats of `dst`: a row of one phase plane.
static inline TARGET void NAME(copy_strided)(float *dst, const float *src, int n, int stride) {
    int j = 0;
#if VF == 16
    if (stride == 2) {
        // Two vectors in, their even lanes out; no load reaches past the last float read.
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        for (; j < n; j += 16) {
            const int floats = 2 * (n - j < 16 ? n - j : 16) - 1;
            const __mmask16 low = (__mmask16)(floats >= 16 ? 0xffff : (1u << floats) - 1);
            const __mmask16 high = (__mmask16)(floats > 16 ? (1u << (floats - 16)) - 1 : 0);
            const __m512 a = _mm512_maskz_loadu_ps(low, src + 2 * j), b = _mm512_maskz_loadu_ps(high, src + 2 * j + 16);
            const __mmask16 out = (__mmask16)(n - j >= 16 ? 0xffff : (1u << (n - j)) - 1);
            _mm512_mask_storeu_ps(dst + j, out, _mm512_permutex2var_ps(a, even, b));
        }
    }
#endif
    for (; j < n; j++) dst[j] = src[(size_t)j * stride];
}

static inline TARGET void NAME(zero)(float *dst, int n) {
    int j = 0;
    for (; j + VF <= n; j += VF) *(V *)(dst + j) = NAME(splat)(0.0f);
#if VF == 16
    if (j < n) _mm512_mask_storeu_ps(dst + j, (__mmask16)((1u << (n - j)) - 1), _mm512_setzero_ps());
#else
    for (; j < n; j++) dst[j] = 0;
#endif
}

// Where column x of map row y lands in a channel's staged block of stride × stride phase
// planes, each `rows` × `pitch`: in phase ((y + pad) mod stride, (x + pad) mod stride), at
// row (y + pad) / stride and column (x + pad) / stride. The row's columns ≡ x (mod stride)
// follow it there.
static inline float *NAME(staged_spot)(float *block, int y, int x, int pad, int stride, int rows, int pitch) {
    const int phase = (y + pad) % stride * stride + (x + pad) % stride;
    return block + ((size_t)phase * rows + (y + pad) / stride) * pitch + (x + pad) / stride;
}

// Stages channels [c0, c1) of a convolution's input (see the top of this file): `pad`
// zeros around each channel, and for stride > 1 the padded map split into
// stride×stride phase planes. Each channel's staged block is zeroed whole, then each
// row of the map is copied in: one or two vector operations per row, which for small
// maps beats writing each staged row in pieces.
static inline __attribute__((always_inline)) TARGET void NAME(stage_channels)(const float *src, cranet_shape s, int pad,
                                                                             const int stride, float *dst, int c0, int c1) {
    const int rows = (s.height + 2 * pad + stride - 1) / stride, pitch = (s.width + 2 * pad + stride - 1) / stride;
    const int block = stride * stride * rows * pitch;
    dst += (size_t)c0 * block;
    for (int c = c0; c < c1; c++, dst += block) {
        NAME(zero)(dst, block);
        const float *plane = src + (size_t)c * s.height * s.width;
        for (int y = 0; y < s.height; y++) {
            const float *row = plane + (size_t)y * s.width;
            for (int r = 0; r < stride && r < s.width; r++) {
                float *out = NAME(staged_spot)(dst, y, r, pad, stride, rows, pitch);
                const int count = (s.width - r + stride - 1) / stride;
                if (stride == 1)
                    NAME(copy)(out, row, count);
                else
                    NAME(copy_strided)(out, row + r, count, stride);
            }
        }
    }
}

// Runs stage(k) with k the stride, RANet's strides as constants: the staging's row loops
// then divide by none.
#define CONSTANT_STRIDE(stage) \
    if (stride == 1)           \
        stage(1);              \
    else if (stride == 2)      \
        stage(2);              \
    else                       \
        stage(stride);

#ifdef DOT_BF16
// `n` bf16 pairs from two rows of values on the bf16 grid: each float of `dst` holds
// odd[j]'s bits in its high half and even[j]'s in its low half, the order VDPBF16PS
// reads. A null `odd` is a row of zeros (the padding channel of an odd count). Only
// the width of VDPBF16PS, 16, stages pairs.
static inline TARGET void NAME(pair_row)(float *dst, const float *even, const float *odd, int n) {
    int j = 0;
    for (; j + VF <= n; j += VF) {
        const VU o = odd ? *(const VU *)(odd + j) : (VU){0};
        *(VU *)(dst + j) = (o & 0xffff0000u) | *(const VU *)(even + j) >> 16;
    }
    if (j < n) {
        const __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        const VU e = (VU)_mm512_maskz_loadu_ps(tail, even + j);
        const VU o = odd ? (VU)_mm512_maskz_loadu_ps(tail, odd + j) : (VU){0};
        _mm512_mask_storeu_ps(dst + j, tail, (__m512)((o & 0xffff0000u) | e >> 16));
    }
}

// NAME(stage_channels) for pairs [p0, p1) of channels, each staged as one plane of bf16
// pairs (NAME(pair_row)). A strided row is paired once, into a short buffer, and its
// phases copied out of that.
static inline __attribute__((always_inline)) TARGET void NAME(stage_pair_channels)(const float *src, cranet_shape s,
                                                                                  int pad, const int stride, float *dst,
                                                                                  int p0, int p1) {
    const int rows = (s.height + 2 * pad + stride - 1) / stride, pitch = (s.width + 2 * pad + stride - 1) / stride;
    const int block = stride * stride * rows * pitch, chunk = 64 / stride * stride;
    const size_t plane_floats = (size_t)s.height * s.width;
    dst += (size_t)p0 * block;
    for (int p = p0; p < p1; p++, dst += block) {
        const float *even = src + (size_t)2 * p * plane_floats;
        const float *odd = 2 * p + 1 < s.channels ? even + plane_floats : NULL;
        if (pad == 0 && stride == 1) {
            // The map as it is (a 1×1 convolution's input): one run of pairs, no padding to zero.
            NAME(pair_row)(dst, even, odd, (int)plane_floats);
            continue;
        }
        NAME(zero)(dst, block);
        for (int y = 0; y < s.height; y++) {
            const size_t row = (size_t)y * s.width;
            if (stride == 1) {
                NAME(pair_row)(NAME(staged_spot)(dst, y, 0, pad, 1, rows, pitch), even + row, odd ? odd + row : NULL, s.width);
                continue;
            }
            float pairs[64];
            for (int j = 0; j < s.width; j += chunk) {
                const int n = s.width - j < chunk ? s.width - j : chunk;
                NAME(pair_row)(pairs, even + row + j, odd ? odd + row + j : NULL, n);
                for (int r = 0; r < stride && r < n; r++)
                    NAME(copy_strided)(NAME(staged_spot)(dst, y, j + r, pad, stride, rows, pitch), pairs + r,
                                       (n - r + stride - 1) / stride, stride);
            }
        }
    }
}

static TARGET void NAME(stage_pairs)(const float *src, cranet_shape s, int pad, int stride, float *dst, int p0, int p1) {
#define STAGE(k) NAME(stage_pair_channels)(src, s, pad, k, dst, p0, p1)
    CONSTANT_STRIDE(STAGE)
#undef STAGE
}
#define STAGE_PAIRS NAME(stage_pairs)
#else
#define STAGE_PAIRS NULL
#endif

static TARGET void NAME(stage)(const float *src, cranet_shape s, int pad, int stride, float *dst, int c0, int c1) {
#define STAGE(k) NAME(stage_channels)(src, s, pad, k, dst, c0, c1)
    CONSTANT_STRIDE(STAGE)
#undef STAGE
}

// The weights' gradient of one image's stride-1 convolution with T taps (a constant
// after inlining): for output channel o, input channel i and tap t, the dot product of
// o's output gradient, laid out at the staged input's pitch with zeros past each row's
// end (`length` floats), with i's staged input from the tap's offset. The T dot products
// of one (o, i) pair share each load of the gradient.
static inline __attribute__((always_inline)) TARGET void NAME(weight_gradient_taps)(
    const int T, const float *dout, int out_channels, size_t length, const float *src, int in_channels,
    size_t in_plane, const size_t *tap, float *out) {
    for (int o = 0; o < out_channels; o++)
        for (int i = 0; i < in_channels; i++) {
            const float *a = dout + (size_t)o * length, *b = src + (size_t)i * in_plane;
            V acc[9];
            for (int t = 0; t < T; t++) acc[t] = NAME(splat)(0.0f);
            size_t j = 0;
            for (; j + VF <= length; j += VF) {
                const V av = *(const V *)(a + j);
                for (int t = 0; t < T; t++) acc[t] = MADD(av, *(const V *)(b + tap[t] + j), acc[t]);
            }
            for (int t = 0; t < T; t++) {
                float sum = 0;
                for (int l = 0; l < VF; l++) sum += acc[t][l];
                for (size_t r = j; r < length; r++) sum += a[r] * b[tap[t] + r];
                out[((size_t)o * in_channels + i) * T + t] = sum;
            }
        }
}

static TARGET void NAME(weight_gradient)(const float *dout, int out_channels, size_t length, const float *src,
                                         int in_channels, size_t in_plane, const size_t *tap, int taps, float *out) {
    // RANet's kernel sizes as constants, so that their tap loops unroll.
    if (taps == 9)
        NAME(weight_gradient_taps)(9, dout, out_channels, length, src, in_channels, in_plane, tap, out);
    else
        NAME(weight_gradient_taps)(1, dout, out_channels, length, src, in_channels, in_plane, tap, out);
}

// On this width's instruction set (row_common.h).
static void NAME(resize)(const float *src, cranet_shape s, float *dst, cranet_shape d, int part, int parts) {
    resize_rows(VF, src, s, dst, d, part, parts);
}

// By cranet_precision, as the lane kernels' tables.
static const struct cranet_kernels NAME(kernels)[2] = {
    {1, VF, OB, NAME(stage), NULL, NAME(conv), NAME(conv_images), pool_rows, NAME(resize), NAME(weight_gradient),
     CRANET_F32, PAIR_FLOATS, DOT_NAME},
    {1, VF, OB, NAME(stage), STAGE_PAIRS, NAME(conv_bf16), NAME(conv_images_bf16), pool_rows, NAME(resize),
     NAME(weight_gradient), CRANET_BF16, PAIR_FLOATS, DOT_NAME},
};

#undef V
#undef VI
#undef VU
#undef NAME
#undef VF
#undef OB
#undef PB
#undef CP
#undef TARGET
#undef MADD
#undef DOT_BF16
#undef DOT_NAME
#undef PAIR_FLOATS
#undef STAGE_PAIRS
#undef CONSTANT_STRIDE
