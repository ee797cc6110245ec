// The lane kernels for one vector width, included by lanes.c once per width.
//
// Layout: a tensor of C×H×W for a group of LANES images is stored as [C][H][W][LANES]:
// every scalar of the per-image NCHW tensor becomes one vector holding that scalar
// for each image of the group. Channel ranges stay contiguous (concatenation still
// costs nothing) and every kernel is the plain scalar algorithm with vectors in
// place of floats, so a convolution with 3 or 5 channels runs the vector units as
// fully as one with 256.
//
// The includer defines LANES, OB and PB (output channels and pixels per register
// tile), NAME(x) (a width-specific function name) and TARGET (the target attribute).

#define V NAME(vec)
#define VI NAME(ivec)
typedef float V __attribute__((vector_size(LANES * 4), aligned(4)));
typedef int VI __attribute__((vector_size(LANES * 4), aligned(4)));

// x − 0 is x for every float (−0 included), so this folds to one broadcast.
static inline TARGET V NAME(splat)(float x) { return x - (V){0}; }

// Lane-wise a > b ? a : b (C has no vector conditional operator).
static inline TARGET V NAME(max)(V a, V b) {
    VI take_a = a > b;
    return (V)(((VI)a & take_a) | ((VI)b & ~take_a));
}

// One register tile of a convolution: O output channels × P output pixels of one
// row, summed over every input channel and over kernel rows [ky0, ky1) and columns
// [kx0, kx1) (the window positions inside the input). `in` points at channel 0,
// input row `iy`, column `ix` of the window's top-left corner; `out` at channel 0
// of the first output pixel. O and P are constants after inlining, so the
// accumulators live in registers.
static inline __attribute__((always_inline)) TARGET void NAME(conv_tile)(
    const int O, const int P, const float *in, int in_channels, size_t in_plane, int iy, int ix,
    int in_w, int stride, int k, int ky0, int ky1, int kx0, int kx1, const float *w,
    const float *bias, float *out, size_t out_plane, int relu) {
    V acc[OB][PB];
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) acc[o][p] = NAME(splat)(bias[o]);
    for (int i = 0; i < in_channels; i++) {
        const float *plane = in + (size_t)i * in_plane;
        for (int ky = ky0; ky < ky1; ky++) {
            const float *row = plane + ((size_t)(iy + ky) * in_w) * LANES;
            const float *wk = w + ((size_t)(i * k + ky) * k) * O;
            for (int kx = kx0; kx < kx1; kx++) {
                V x[PB];
                for (int p = 0; p < P; p++) x[p] = *(const V *)(row + (size_t)(ix + kx + p * stride) * LANES);
                for (int o = 0; o < O; o++) {
                    V wv = NAME(splat)(wk[kx * O + o]);
                    for (int p = 0; p < P; p++) acc[o][p] += wv * x[p];
                }
            }
        }
    }
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) {
            V v = acc[o][p];
            if (relu) v = NAME(max)(v, NAME(splat)(0.0f));
            *(V *)(out + (size_t)o * out_plane + (size_t)p * LANES) = v;
        }
}

// Output channels [o0, o0 + O) of a convolution; O ≤ OB is a constant after inlining.
static inline __attribute__((always_inline)) TARGET void NAME(conv_channels)(
    const int O, const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
    int pad, const float *w, const float *bias, int relu) {
    const size_t in_plane = (size_t)s.height * s.width * LANES, out_plane = (size_t)d.height * d.width * LANES;
    // Output columns whose whole window lies inside the input: [x_lo, x_hi).
    int x_lo = (pad + stride - 1) / stride, x_hi = (s.width + pad - k) / stride + 1;
    if (x_hi > d.width) x_hi = d.width;
    if (x_lo > x_hi) x_lo = x_hi;
    for (int y = 0; y < d.height; y++) {
        const int iy = y * stride - pad;
        const int ky0 = iy < 0 ? -iy : 0, ky1 = iy + k > s.height ? s.height - iy : k;
        float *row_out = dst + (size_t)y * d.width * LANES;
        for (int x = 0; x < d.width;) {
            const int ix = x * stride - pad;
            if (x >= x_lo && x + PB <= x_hi) {
                NAME(conv_tile)(O, PB, src, s.channels, in_plane, iy, ix, s.width, stride, k, ky0, ky1, 0, k, w,
                                bias, row_out + (size_t)x * LANES, out_plane, relu);
                x += PB;
            } else {
                const int kx0 = ix < 0 ? -ix : 0, kx1 = ix + k > s.width ? s.width - ix : k;
                NAME(conv_tile)(O, 1, src, s.channels, in_plane, iy, ix, s.width, stride, k, ky0, ky1, kx0, kx1, w,
                                bias, row_out + (size_t)x * LANES, out_plane, relu);
                x += 1;
            }
        }
    }
}

static TARGET void NAME(conv)(const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
                              int pad, const float *packed, const float *bias, int relu) {
    const size_t out_plane = (size_t)d.height * d.width * LANES, block = (size_t)s.channels * k * k;
    for (int o0 = 0; o0 < d.channels; o0 += OB) {
        const int O = d.channels - o0 < OB ? d.channels - o0 : OB;
        const float *w = packed + (size_t)o0 * block;
        float *out = dst + (size_t)o0 * out_plane;
        switch (O) {
#define CASE(n) \
    case n: NAME(conv_channels)(n, src, s, out, d, k, stride, pad, w, bias + o0, relu); break;
            CASE(1) CASE(2) CASE(3)
#if OB >= 4
            CASE(4)
#endif
#if OB >= 5
            CASE(5)
#endif
#if OB >= 6
            CASE(6)
#endif
#undef CASE
        }
    }
}

static TARGET void NAME(pool)(cranet_pool_kind kind, const float *src, cranet_shape s, float *dst, cranet_shape d,
                              int k, int stride, int pad) {
    for (int c = 0; c < d.channels; c++) {
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

static TARGET void NAME(resize)(const float *src, cranet_shape s, float *dst, cranet_shape d) {
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
            for (int c = 0; c < d.channels; c++) {
                const float *plane = src + (size_t)c * s.height * s.width * LANES;
                const float *r0 = plane + (size_t)y0 * s.width * LANES, *r1 = plane + (size_t)y1 * s.width * LANES;
                V top = vhx * *(const V *)(r0 + (size_t)x0 * LANES) + vlx * *(const V *)(r0 + (size_t)x1 * LANES);
                V bottom = vhx * *(const V *)(r1 + (size_t)x0 * LANES) + vlx * *(const V *)(r1 + (size_t)x1 * LANES);
                *(V *)(dst + (((size_t)c * d.height + oy) * d.width + ox) * LANES) = vhy * top + vly * bottom;
            }
        }
    }
}

#undef V
#undef VI
