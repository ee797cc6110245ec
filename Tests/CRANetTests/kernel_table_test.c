// Checks every lane and row kernel, at every width this CPU runs, against a plain
// scalar computation of the same layer image by image: convolutions over borders,
// strides, paddings and output-channel counts that leave partial register tiles;
// pooling; resizing; packing a partial group; moving images between groups. And that
// the lane and row kernels of one width give every image the same bits, in f32 and in
// bf16 (whose reference rounds inputs and weights with cranet_round_bf16, and whose
// features, poolings and resizes must come out on the bf16 grid); and the rounding
// itself on the values where it can go wrong.
#include "cranet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static float value(int seed, size_t i) { return sinf((float)(i * 7 + seed) * 0.731f) * 2.0f; }

static float *random_floats(size_t n, int seed) {
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = value(seed, i);
    return p;
}

static size_t floats(cranet_shape s) { return (size_t)s.channels * s.height * s.width; }

// Runs images through a kernel table (by `run`) and compares each lane with
// `reference` applied to that image alone. With `rounded` (a bf16 table's features,
// poolings and resizes) every output must be a bf16 value, within one bf16 step of the
// reference's exact one.
typedef void (*lane_fn)(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                        const void *arg);
typedef void (*image_fn)(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *arg);

static void compare(const char *what, const cranet_kernels *k, int images, cranet_shape s, cranet_shape d, lane_fn run,
                    image_fn reference, const void *arg, int rounded) {
    const int lanes = cranet_kernels_images(k);
    const float *inputs[16] = {0};
    float *owned[16] = {0};
    for (int l = 0; l < images; l++) inputs[l] = owned[l] = random_floats(floats(s), l * 1000 + 1);
    // A convolution may read its input where it is, over-read included.
    float *src = calloc(floats(s) * lanes + cranet_lane_overread_floats(k), sizeof(float));
    float *dst = malloc(sizeof(float) * floats(d) * lanes);
    float *want = malloc(sizeof(float) * floats(d)), *got = malloc(sizeof(float) * floats(d));
    cranet_lane_load(k, inputs, images, floats(s), src);
    run(k, src, s, dst, d, arg);
    double worst = 0;
    size_t off_grid = 0;
    for (int l = 0; l < images; l++) {
        reference(inputs[l], s, want, d, arg);
        cranet_lane_unpack(lanes, dst, floats(d), l, got);
        for (size_t i = 0; i < floats(d); i++) {
            double err = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
            if (!(err <= worst)) worst = err;
            unsigned bits;
            memcpy(&bits, &got[i], 4);
            off_grid += rounded && (bits & 0xffffu) != 0;
        }
    }
    // Float sums of up to ~1,500 products against a double reference; rounded to bf16,
    // within one step of 2⁻⁷ relative.
    if (!(worst <= (rounded ? 1.0 / 128 : 1e-4)) || off_grid) {
        printf("FAIL %s, %d lanes: %dx%dx%d -> %dx%dx%d, error %g, %zu values not bf16\n", what, lanes, s.channels, s.height,
               s.width, d.channels, d.height, d.width, worst, off_grid);
        failures++;
    }
    for (int l = 0; l < images; l++) free(owned[l]);
    free(src);
    free(dst);
    free(want);
    free(got);
}

typedef struct {
    int kernel, stride, pad, relu;
    const float *weights, *bias;
    cranet_precision precision;  // of the tables under test: what the reference rounds
} conv_arg;

static void lane_conv(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                      const void *a) {
    const conv_arg *c = a;
    const cranet_conv_layout layout = cranet_lane_conv_layout(k, s, d, c->kernel, c->stride, c->pad);
    // The bf16 row kernels on VDPBF16PS read every input staged in pairs.
    const int paired = cranet_kernels_images(k) == 1 && !strcmp(cranet_kernels_bf16_dot(k), "vdpbf16ps");
    if (layout.staged != (c->pad > 0 || c->stride > 1 || paired) || layout.paired != paired) {
        printf("FAIL layout: staged %d, paired %d with padding %d, stride %d\n", layout.staged, layout.paired, c->pad, c->stride);
        failures++;
    }
    float *packed = malloc(sizeof(float) * layout.packed_floats);
    cranet_lane_pack_conv_weights(k, c->weights, s.channels, d, c->kernel, c->stride, packed);
    float *staged = malloc(sizeof(float) * (layout.staged_floats + cranet_lane_overread_floats(k)));
    if (layout.staged)
        for (int part = 0; part < 2; part++)
            cranet_lane_stage(k, src, s, c->pad, c->stride, layout.paired, staged, 0, part, 2);
    // In three shares, as three threads would compute it.
    for (int part = 0; part < 3; part++)
        cranet_lane_conv(k, layout.staged ? staged : src, layout.read_shape, dst, d, c->kernel, c->stride, packed, c->bias,
                         c->relu ? CRANET_OUTPUT_FEATURES : CRANET_OUTPUT_SUMS, part, 3);
    free(staged);
    free(packed);
}

// In bf16, the products of rounded inputs and weights are exact: the double sum is then
// as close a reference as in f32.
static void image_conv(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    const conv_arg *c = a;
    const int k = c->kernel;
    const size_t weight_count = (size_t)d.channels * s.channels * k * k;
    float *in = malloc(sizeof(float) * floats(s)), *weights = malloc(sizeof(float) * weight_count);
    memcpy(in, src, sizeof(float) * floats(s));
    memcpy(weights, c->weights, sizeof(float) * weight_count);
    if (c->precision == CRANET_BF16) {
        cranet_round_bf16(in, in, floats(s));
        cranet_round_bf16(weights, weights, weight_count);
    }
    for (int o = 0; o < d.channels; o++)
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                double sum = c->bias[o];
                for (int i = 0; i < s.channels; i++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * c->stride - c->pad + ky, ix = x * c->stride - c->pad + kx;
                            if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                            sum += (double)weights[((o * s.channels + i) * k + ky) * k + kx] *
                                   in[((size_t)i * s.height + iy) * s.width + ix];
                        }
                if (c->relu && sum < 0) sum = 0;
                dst[((size_t)o * d.height + y) * d.width + x] = (float)sum;
            }
    free(in);
    free(weights);
}

// channels in, out; size in; kernel, stride, pad
static const int conv_cases[][6] = {
    {3, 16, 32, 3, 1, 1}, {5, 5, 32, 3, 1, 1}, {18, 9, 16, 3, 2, 1}, {96, 24, 8, 3, 1, 1},
    {160, 128, 8, 3, 2, 1}, {128, 128, 4, 3, 2, 1}, {64, 12, 8, 1, 1, 0}, {2, 1, 16, 3, 1, 1},
    {7, 6, 11, 5, 2, 2}, {3, 7, 9, 7, 2, 3}, {4, 3, 3, 3, 1, 0}, {128, 10, 1, 1, 1, 0},
    // Maps wider than a vector of every width, with rows that end mid-vector.
    {6, 24, 56, 1, 1, 0}, {24, 6, 56, 3, 1, 1}, {10, 5, 35, 3, 2, 1}, {3, 8, 20, 7, 2, 3},
    // 1×1 by pixels: an odd count of inputs staged in pairs.
    {41, 40, 20, 1, 1, 0},
    // Row kernels by output channels: a partial pair of blocks, a tile of one pixel, an
    // odd input channel count, a 1×1 kernel on a map staged without padding.
    {12, 40, 4, 3, 2, 1}, {20, 24, 5, 3, 2, 1}, {13, 40, 4, 3, 2, 1}, {97, 40, 7, 1, 1, 0},
};
enum { conv_case_count = sizeof conv_cases / sizeof conv_cases[0] };

// The input and output shapes of a convolution case.
static void conv_shapes(const int *c, cranet_shape *s, cranet_shape *d) {
    const int k = c[3], stride = c[4], pad = c[5], out = (c[2] + 2 * pad - k) / stride + 1;
    *s = (cranet_shape){c[0], c[2], c[2]};
    *d = (cranet_shape){c[1], out, out};
}

// Runs `check` on every convolution case, without and with ReLU, in `precision`.
static void for_each_conv(cranet_precision precision, void (*check)(const void *ctx, cranet_shape s, cranet_shape d, const conv_arg *arg),
                          const void *ctx) {
    for (int t = 0; t < conv_case_count; t++) {
        const int *c = conv_cases[t];
        cranet_shape s, d;
        conv_shapes(c, &s, &d);
        float *weights = random_floats((size_t)c[0] * c[1] * c[3] * c[3], 17), *bias = random_floats(c[1], 5);
        for (int relu = 0; relu <= 1; relu++) {
            conv_arg arg = {c[3], c[4], c[5], relu, weights, bias, precision};
            check(ctx, s, d, &arg);
        }
        free(weights);
        free(bias);
    }
}

static void check_conv(const void *ctx, cranet_shape s, cranet_shape d, const conv_arg *arg) {
    const cranet_kernels *k = ctx;
    const int lanes = cranet_kernels_images(k), rounded = arg->precision == CRANET_BF16 && arg->relu;
    compare("convolution", k, lanes, s, d, lane_conv, image_conv, arg, rounded);
    if (lanes > 1) compare("convolution, partial group", k, lanes / 2 + 1, s, d, lane_conv, image_conv, arg, rounded);
}

static void test_conv(const cranet_kernels *k, cranet_precision precision) { for_each_conv(precision, check_conv, k); }

typedef struct {
    cranet_pool_kind kind;
    int kernel, stride, pad;
} pool_arg;

static void lane_pool(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                      const void *a) {
    const pool_arg *p = a;
    for (int part = 0; part < 2; part++) cranet_lane_pool(k, p->kind, src, s, dst, d, p->kernel, p->stride, p->pad, part, 2);
}

static void image_pool(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    const pool_arg *p = a;
    for (int c = 0; c < d.channels; c++)
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                double acc = p->kind == CRANET_POOL_MAX ? -INFINITY : 0;
                int n = 0;
                for (int ky = 0; ky < p->kernel; ky++)
                    for (int kx = 0; kx < p->kernel; kx++) {
                        int iy = y * p->stride - p->pad + ky, ix = x * p->stride - p->pad + kx;
                        if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                        double v = src[((size_t)c * s.height + iy) * s.width + ix];
                        acc = p->kind == CRANET_POOL_MAX ? fmax(acc, v) : acc + v;
                        n++;
                    }
                dst[((size_t)c * d.height + y) * d.width + x] = (float)(p->kind == CRANET_POOL_MAX ? acc : acc / n);
            }
}

static const pool_arg pool_cases[] = {{CRANET_POOL_MAX, 3, 2, 1}, {CRANET_POOL_AVG, 2, 2, 0}, {CRANET_POOL_AVG, 3, 2, 1}};
static const cranet_shape pool_shapes[][2] = {{{5, 9, 9}, {5, 5, 5}}, {{7, 2, 2}, {7, 1, 1}}, {{3, 6, 6}, {3, 3, 3}}};

static void test_pool(const cranet_kernels *k, cranet_precision precision) {
    for (int i = 0; i < 3; i++)
        compare("pool", k, cranet_kernels_images(k), pool_shapes[i][0], pool_shapes[i][1], lane_pool, image_pool,
                &pool_cases[i], precision == CRANET_BF16);
}

static void lane_resize(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                        const void *a) {
    (void)a;
    cranet_lane_resize_bilinear_align_corners(k, src, s, dst, d, 0, 1);
}

static void image_resize(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    (void)a;
    cranet_resize_bilinear_align_corners_portable(src, s.channels, s.height, s.width, dst, d.height, d.width);
}

static const cranet_shape resize_shapes[][2] = {{{4, 8, 8}, {4, 16, 16}}, {{3, 7, 5}, {3, 4, 11}}};

static void test_resize(const cranet_kernels *k, cranet_precision precision) {
    for (int i = 0; i < 2; i++)
        compare("resize", k, cranet_kernels_images(k), resize_shapes[i][0], resize_shapes[i][1], lane_resize,
                image_resize, NULL, precision == CRANET_BF16);
}

// Runs `lanes` images through the lane kernels and each alone through the row kernels
// of the same width: every output float must be the same bits.
static void expect_identical(const char *what, const cranet_kernels *lane, const cranet_kernels *row, cranet_shape s,
                             cranet_shape d, lane_fn run, const void *arg) {
    const int lanes = cranet_kernels_images(lane);
    const float *inputs[16] = {0};
    float *owned[16] = {0};
    for (int l = 0; l < lanes; l++) inputs[l] = owned[l] = random_floats(floats(s), l * 1000 + 3);
    float *src = malloc(sizeof(float) * floats(s) * lanes);
    float *dst = malloc(sizeof(float) * floats(d) * lanes);
    float *alone = malloc(sizeof(float) * (floats(s) + 16)), *want = malloc(sizeof(float) * floats(d));
    float *got = malloc(sizeof(float) * floats(d));
    cranet_lane_load(lane, inputs, lanes, floats(s), src);
    run(lane, src, s, dst, d, arg);
    size_t differing = 0;
    for (int l = 0; l < lanes; l++) {
        cranet_lane_load(row, &inputs[l], 1, floats(s), alone);
        run(row, alone, s, want, d, arg);
        cranet_lane_unpack(lanes, dst, floats(d), l, got);
        for (size_t i = 0; i < floats(d); i++) differing += memcmp(&got[i], &want[i], sizeof(float)) != 0;
    }
    if (differing) {
        printf("FAIL %s, %d lanes vs rows: %dx%dx%d -> %dx%dx%d, %zu values differ\n", what, lanes, s.channels, s.height,
               s.width, d.channels, d.height, d.width, differing);
        failures++;
    }
    for (int l = 0; l < lanes; l++) free(owned[l]);
    free(src);
    free(dst);
    free(alone);
    free(want);
    free(got);
}

static void test_rows_match_lanes(int width, cranet_precision precision) {
    const cranet_kernels *lane = cranet_lane_kernels(width, precision), *row = cranet_row_kernels(width, precision);
    for (int t = 0; t < conv_case_count; t++) {
        const int *c = conv_cases[t];
        cranet_shape s, d;
        conv_shapes(c, &s, &d);
        float *weights = random_floats((size_t)c[0] * c[1] * c[3] * c[3], 17), *bias = random_floats(c[1], 5);
        conv_arg arg = {c[3], c[4], c[5], 1, weights, bias, precision};
        expect_identical("convolution", lane, row, s, d, lane_conv, &arg);
        free(weights);
        free(bias);
    }
    for (int i = 0; i < 3; i++) expect_identical("pool", lane, row, pool_shapes[i][0], pool_shapes[i][1], lane_pool, &pool_cases[i]);
    for (int i = 0; i < 2; i++) expect_identical("resize", lane, row, resize_shapes[i][0], resize_shapes[i][1], lane_resize, NULL);
}

// Row kernels by output channels over several images at once give each image the bits
// it gets alone (cranet_row_conv_images against cranet_lane_conv).
static void test_row_conv_images(int width, cranet_precision precision) {
    const cranet_kernels *row = cranet_row_kernels(width, precision);
    enum { images = 3 };
    int tested = 0;
    for (int t = 0; t < conv_case_count; t++) {
        const int *c = conv_cases[t];
        cranet_shape s, d;
        conv_shapes(c, &s, &d);
        const cranet_conv_layout layout = cranet_lane_conv_layout(row, s, d, c[3], c[4], c[5]);
        if (!layout.by_channels) continue;
        tested++;
        // bf16 tables hold these weights as bf16 pairs of input channels: half the bytes of
        // f32's, an odd input channel count padded to a pair.
        const cranet_conv_layout f32 = cranet_lane_conv_layout(cranet_row_kernels(width, CRANET_F32), s, d, c[3], c[4], c[5]);
        if (precision == CRANET_BF16 && layout.packed_floats != f32.packed_floats / s.channels * ((s.channels + 1) / 2)) {
            printf("FAIL width %d, case %d: bf16 weights by channels take %zu floats, f32's %zu\n", width, t, layout.packed_floats,
                   f32.packed_floats);
            failures++;
        }
        float *weights = random_floats((size_t)c[0] * c[1] * c[3] * c[3], 17), *bias = random_floats(c[1], 5);
        float *packed = malloc(sizeof(float) * layout.packed_floats);
        cranet_lane_pack_conv_weights(row, weights, s.channels, d, c[3], c[4], packed);
        const size_t staged_floats = layout.staged ? layout.staged_floats : floats(s);
        const float *in[images];
        float *staged[images], *alone[images], *out[images];
        for (int j = 0; j < images; j++) {
            float *src = random_floats(floats(s), 40 + j);
            cranet_lane_load(row, (const float *const *)&src, 1, floats(s), src);
            staged[j] = calloc(staged_floats + cranet_lane_overread_floats(row), sizeof(float));
            if (layout.staged)
                cranet_lane_stage(row, src, s, c[5], c[4], layout.paired, staged[j], 0, 0, 1);
            else
                memcpy(staged[j], src, sizeof(float) * floats(s));
            free(src);
            in[j] = staged[j];
            alone[j] = malloc(sizeof(float) * floats(d));
            out[j] = malloc(sizeof(float) * floats(d));
            cranet_lane_conv(row, in[j], layout.read_shape, alone[j], d, c[3], c[4], packed, bias, CRANET_OUTPUT_FEATURES, 0, 1);
        }
        for (int part = 0; part < 3; part++)
            cranet_row_conv_images(row, in, layout.read_shape, out, d, images, c[3], c[4], packed, bias,
                                   CRANET_OUTPUT_FEATURES, part, 3);
        for (int j = 0; j < images; j++) {
            if (memcmp(alone[j], out[j], sizeof(float) * floats(d)) != 0) {
                printf("FAIL row convolution of %d images, width %d, case %d: image %d differs from its run alone\n",
                       images, width, t, j);
                failures++;
            }
            free(staged[j]);
            free(alone[j]);
            free(out[j]);
        }
        free(packed);
        free(weights);
        free(bias);
    }
    if (tested == 0) {
        printf("FAIL width %d: no convolution case runs by channels\n", width);
        failures++;
    }
}

static void test_partial_group_is_zero(int lanes) {
    if (lanes == 1) return;
    const float a[3] = {1, 2, 3};
    const float *images[1] = {a};
    float packed[3 * 16], back[3];
    cranet_lane_pack(lanes, images, 1, 3, packed);
    for (int e = 0; e < 3; e++)
        for (int l = 1; l < lanes; l++)
            if (packed[e * lanes + l] != 0) {
                printf("FAIL pack: lane %d of element %d is %g, not 0\n", l, e, packed[e * lanes + l]);
                failures++;
            }
    cranet_lane_unpack(lanes, packed, 3, 0, back);
    for (int e = 0; e < 3; e++)
        if (back[e] != a[e]) {
            printf("FAIL unpack: element %d is %g, not %g\n", e, back[e], a[e]);
            failures++;
        }
}

static void test_gather(int lanes) {
    // Lane 0 of dst takes lane lanes-1 of src, lane 2 takes lane 1; the others stay.
    float src[3 * 16] = {0}, dst[3 * 16];
    int sources[16];
    for (int i = 0; i < 3 * lanes; i++) {
        src[i] = (float)i;
        dst[i] = -1.0f - (float)i;
    }
    for (int l = 0; l < lanes; l++) sources[l] = -1;
    sources[0] = lanes - 1;
    sources[2] = 1;
    cranet_lane_gather(lanes, src, sources, dst, 3);
    for (int e = 0; e < 3; e++)
        for (int l = 0; l < lanes; l++) {
            float want = l == 0 ? src[e * lanes + lanes - 1] : l == 2 ? src[e * lanes + 1] : -1.0f - (float)(e * lanes + l);
            if (dst[e * lanes + l] != want) {
                printf("FAIL gather, %d lanes: element %d lane %d is %g, not %g\n", lanes, e, l, dst[e * lanes + l], want);
                failures++;
            }
        }
}

// Bit patterns in and out: ties go to the even neighbour, a carry may reach the exponent
// or infinity, denormals become zeros of their sign, NaNs stay NaNs.
static void test_round_bf16(void) {
    static const unsigned cases[][2] = {
        {0x3f800000u, 0x3f800000u}, {0x3f800001u, 0x3f800000u}, {0x3f808000u, 0x3f800000u},
        {0x3f818000u, 0x3f820000u}, {0x3f808001u, 0x3f810000u}, {0xbf80ffffu, 0xbf810000u},
        {0x3fffffffu, 0x40000000u}, {0x7f7fffffu, 0x7f800000u}, {0x00000001u, 0x00000000u},
        {0x807fffffu, 0x80000000u}, {0x00800000u, 0x00800000u}, {0x7f800000u, 0x7f800000u},
        {0xff800000u, 0xff800000u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float x, y;
        unsigned bits;
        memcpy(&x, &cases[i][0], 4);
        cranet_round_bf16(&x, &y, 1);
        memcpy(&bits, &y, 4);
        if (bits != cases[i][1]) {
            printf("FAIL round to bf16: %08x gave %08x, not %08x\n", cases[i][0], bits, cases[i][1]);
            failures++;
        }
    }
    const unsigned nan_bits = 0x7f800001u;
    float nan, rounded;
    memcpy(&nan, &nan_bits, 4);
    cranet_round_bf16(&nan, &rounded, 1);
    if (rounded == rounded) {
        printf("FAIL round to bf16: a NaN became %g\n", rounded);
        failures++;
    }
}

// Where bf16 convolutions run on VDPBF16PS (cranet_bf16_dot_pays), the same tables on two
// fused multiply-adds (RANET_NO_AVX512_BF16) give the same bits: lanes on one against rows on
// the other.
// The lane kernels of one bf16 dot against the row kernels of the other, both ways.
static void check_dot_variants(const void *ctx, cranet_shape s, cranet_shape d, const conv_arg *arg) {
    const cranet_kernels *const *k = ctx;
    expect_identical("convolution on VDPBF16PS vs FMA", k[0], k[1], s, d, lane_conv, arg);
    expect_identical("convolution on FMA vs VDPBF16PS", k[2], k[3], s, d, lane_conv, arg);
}

static void test_dot_variants_match(int width) {
    const cranet_kernels *lane = cranet_lane_kernels(width, CRANET_BF16), *row = cranet_row_kernels(width, CRANET_BF16);
    setenv("RANET_NO_AVX512_BF16", "1", 1);
    const cranet_kernels *lane_fma = cranet_lane_kernels(width, CRANET_BF16), *row_fma = cranet_row_kernels(width, CRANET_BF16);
    unsetenv("RANET_NO_AVX512_BF16");
    if (strcmp(cranet_kernels_bf16_dot(lane_fma), "vdpbf16ps") == 0 || strcmp(cranet_kernels_bf16_dot(row_fma), "vdpbf16ps") == 0) {
        printf("FAIL width %d: RANET_NO_AVX512_BF16 still gives VDPBF16PS kernels\n", width);
        failures++;
    }
    if (lane == lane_fma) {
        if (width == 16) printf("skip width 16: bf16 on VDPBF16PS (not run on this CPU: no AVX512_BF16, or slower than FMA)\n");
        return;
    }
    const cranet_kernels *pairs[4] = {lane, row_fma, lane_fma, row};
    for_each_conv(CRANET_BF16, check_dot_variants, pairs);
    printf("ok width %d: bf16 on VDPBF16PS and on FMA give the same bits\n", width);
}

// Staging the planes from `first` on writes what staging every channel writes there and
// leaves the planes before it alone (a dense block's 1×1 layers keep their staged input
// and stage only the channels appended since).
static void test_stage_from_first(const cranet_kernels *k) {
    // {channels staged before, channels now, padding, stride}: even and odd counts.
    static const int cases[][4] = {{4, 9, 0, 1}, {5, 8, 0, 1}, {3, 7, 1, 1}, {6, 6, 1, 2}, {7, 11, 0, 1}};
    const int lanes = cranet_kernels_images(k);
    for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++) {
        const int *c = cases[n];
        const cranet_shape before = {c[0], 6, 5}, now = {c[1], 6, 5};
        // A 1×1 layer into 48 channels: staged in pairs where the kernels pair (with a
        // padding or stride, a 3×3 layer's staging).
        const cranet_shape out = {48, (6 + 2 * c[2] - (c[2] ? 3 : 1)) / c[3] + 1, (5 + 2 * c[2] - (c[2] ? 3 : 1)) / c[3] + 1};
        const cranet_conv_layout layout = cranet_lane_conv_layout(k, now, out, c[2] ? 3 : 1, c[3], c[2]);
        if (!layout.staged) continue;
        float *src = random_floats(floats(now) * lanes, 11), *other = random_floats(floats(now) * lanes, 12);
        cranet_round_bf16(src, src, floats(now) * lanes);
        cranet_round_bf16(other, other, floats(now) * lanes);
        float *whole = calloc(layout.staged_floats, sizeof(float)), *grown = calloc(layout.staged_floats, sizeof(float));
        float *kept = malloc(sizeof(float) * layout.staged_floats);
        cranet_lane_stage(k, src, now, c[2], c[3], layout.paired, whole, 0, 0, 1);
        // The planes before `first`, staged from other values, are left as they are; those
        // from `first` on become the whole staging's.
        cranet_lane_stage(k, other, before, c[2], c[3], layout.paired, grown, 0, 0, 1);
        memcpy(kept, grown, sizeof(float) * layout.staged_floats);
        const int first = layout.paired ? c[0] / 2 : c[0], planes = layout.paired ? (c[1] + 1) / 2 : c[1];
        const size_t split = layout.staged_floats / planes * first;
        for (int part = 0; part < 2; part++) cranet_lane_stage(k, src, now, c[2], c[3], layout.paired, grown, first, part, 2);
        if (memcmp(grown, kept, sizeof(float) * split) ||
            memcmp(grown + split, whole + split, sizeof(float) * (layout.staged_floats - split))) {
            printf("FAIL staging %d channels from plane %d (padding %d, stride %d, paired %d): not the whole staging's\n", c[1],
                   first, c[2], c[3], layout.paired);
            failures++;
        }
        free(other);
        free(kept);
        free(src);
        free(whole);
        free(grown);
    }
}

int main(void) {
    int widths = 0;
    test_round_bf16();
    for (int width = 4; width <= 16; width *= 2) {
        const cranet_kernels *lane = cranet_lane_kernels(width, CRANET_F32), *row = cranet_row_kernels(width, CRANET_F32);
        if (!lane || !row) {
            if (lane || row) {
                printf("FAIL width %d: lane and row kernels supported differently\n", width);
                failures++;
            }
            printf("skip width %d: not supported by this CPU\n", width);
            continue;
        }
        widths++;
        for (cranet_precision p = CRANET_F32; p <= CRANET_BF16; p++) {
            for (int family = 0; family < 2; family++) {
                const cranet_kernels *k = family ? cranet_row_kernels(width, p) : cranet_lane_kernels(width, p);
                test_conv(k, p);
                test_pool(k, p);
                test_resize(k, p);
                test_stage_from_first(k);
            }
            test_rows_match_lanes(width, p);
            test_row_conv_images(width, p);
        }
        test_dot_variants_match(width);
        test_partial_group_is_zero(width);
        test_gather(width);
    }
    if (!cranet_lane_kernels(cranet_lanes_best(), CRANET_F32) || cranet_lane_kernels(32, CRANET_F32) || cranet_row_kernels(1, CRANET_F32)) {
        printf("FAIL best width %d, or an unsupported width accepted\n", cranet_lanes_best());
        failures++;
    }
    printf("%d widths tested, %d failures\n", widths, failures);
    return failures ? 1 : 0;
}
