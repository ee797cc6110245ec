// The row kernels for one vector width, included by lanes.c once per width: the lane
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
// input (cranet_lane_overread_floats).
//
// The includer defines VF (floats per vector), OB and PB (output channels and vectors
// per register tile), NAME(x), TARGET and struct lane_kernels; this file defines
// NAME(kernels) and undefines its parameters.

#define V NAME(vec)
#define VI NAME(ivec)
typedef float V __attribute__((vector_size(VF * 4), aligned(4)));
typedef int VI __attribute__((vector_size(VF * 4), aligned(4)));

static inline TARGET V NAME(splat)(float x) { return x - (V){0}; }

// Lane-wise max(v, 0), 0 where v is NaN (C has no vector conditional operator).
static inline TARGET V NAME(relu)(V v) { return (V)((VI)v & (v > 0)); }

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
    const struct NAME(spot) *spot, const float *w, const float *bias, float *out, size_t out_plane, int relu) {
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
                for (int p = 0; p < P; p++) acc[o][p] += wv * x[p];
            }
        }
    }
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) {
            V v = acc[o][p];
            if (relu) v = NAME(relu)(v);
            NAME(store)(out + (size_t)o * out_plane + spot[p].out, v, spot[p].mask);
        }
}

// Every output channel of one tile of vectors, in blocks of at most OB.
static inline __attribute__((always_inline)) TARGET void NAME(conv_vectors)(
    const int P, const int T, const float *src, int channels, size_t in_plane, const size_t *tap,
    const struct NAME(spot) *spot, const float *packed, const float *bias, float *dst, cranet_shape d, int relu) {
    const size_t out_plane = (size_t)d.height * d.width;
    const int blocks = output_blocks(d.channels, OB);
    for (int b = 0; b < blocks; b++) {
        const int o0 = block_start(b, blocks, d.channels), O = block_start(b + 1, blocks, d.channels) - o0;
        const float *w = packed + (size_t)o0 * channels * T;
        float *out = dst + (size_t)o0 * out_plane;
        switch (O) {
#define CASE(n) \
    case n: NAME(conv_tile)(n, P, T, src, channels, in_plane, tap, spot, w, bias + o0, out, out_plane, relu); break;
            CASE(1) CASE(2) CASE(3) CASE(4)
#if OB == 8
            CASE(5) CASE(6) CASE(7) CASE(8)
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

// Share `part` of `parts` of a convolution over a staged input (`s`: the padded
// size): a range of tiles of vectors.
static TARGET void NAME(conv)(const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
                              const float *packed, const float *bias, int relu, int part, int parts) {
    const int rows = (s.height + stride - 1) / stride, pitch = (s.width + stride - 1) / stride;
    const size_t phase = (size_t)rows * pitch, in_plane = phase * stride * stride;
    const int T = k * k;  // at most 64 (cranet.h); a fixed array, since a variable one breaks the stack alignment vectors need
    size_t tap[64];
    for (int t = 0; t < T; t++) {
        const int ky = t / k, kx = t % k;
        tap[t] = (size_t)(ky % stride * stride + kx % stride) * phase + (size_t)(ky / stride) * pitch + kx / stride;
    }
    const size_t span = (size_t)(d.height - 1) * pitch + d.width;
    const int vectors = d.width >= VF ? d.height * ((d.width + VF - 1) / VF) : (int)((span + VF - 1) / VF);
    const int tiles = (vectors + PB - 1) / PB;
    for (int t = part * tiles / parts; t < (part + 1) * tiles / parts; t++) {
        const int P = t * PB + PB > vectors ? vectors - t * PB : PB;
        struct NAME(spot) spot[PB];
        for (int p = 0; p < P; p++) spot[p] = NAME(place)(t * PB + p, d, pitch);
        // RANet's kernel sizes as constants, so that their tap loops unroll.
#define VECTORS(p)                                                                                           \
    if (k == 1)                                                                                              \
        NAME(conv_vectors)(p, 1, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, relu);           \
    else if (k == 3)                                                                                         \
        NAME(conv_vectors)(p, 9, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, relu);           \
    else                                                                                                     \
        NAME(conv_vectors)(p, T, src, s.channels, in_plane, tap, spot, packed, bias, dst, d, relu);
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

// Stages channels [c0, c1) of a convolution's input (see the top of this file): `pad`
// zeros around each channel, and for stride > 1 the padded map split into
// stride×stride phase planes.
static TARGET void NAME(stage)(const float *src, cranet_shape s, int pad, int stride, float *dst, int c0, int c1) {
    const int rows = (s.height + 2 * pad + stride - 1) / stride, pitch = (s.width + 2 * pad + stride - 1) / stride;
    dst += (size_t)c0 * stride * stride * rows * pitch;
    for (int c = c0; c < c1; c++) {
        const float *plane = src + (size_t)c * s.height * s.width;
        for (int ry = 0; ry < stride; ry++)
            for (int rx = 0; rx < stride; rx++) {
                // Columns j of this phase inside the map: 0 ≤ j·stride + rx − pad < width.
                const int j0 = rx >= pad ? 0 : (pad - rx + stride - 1) / stride;
                const int j1 = s.width + pad - rx <= 0 ? 0 : (s.width + pad - rx + stride - 1) / stride;
                const int first = j0 < pitch ? j0 : pitch, last = j1 < pitch ? j1 : pitch;
                for (int i = 0; i < rows; i++, dst += pitch) {
                    const int y = i * stride + ry - pad;
                    if (y < 0 || y >= s.height || first >= last) {
                        NAME(zero)(dst, pitch);
                        continue;
                    }
                    // Column j reads map column j·stride + rx − pad.
                    const float *row = plane + (size_t)y * s.width + (first * stride + rx - pad);
                    NAME(zero)(dst, first);
                    if (stride == 1)
                        NAME(copy)(dst + first, row, last - first);
                    else
                        NAME(copy_strided)(dst + first, row, last - first, stride);
                    NAME(zero)(dst + last, pitch - last);
                }
            }
    }
}

static const struct lane_kernels NAME(kernels) = {OB, NAME(stage), NAME(conv), pool_rows, resize_rows};

#undef V
#undef VI
#undef NAME
#undef VF
#undef OB
#undef PB
#undef TARGET
