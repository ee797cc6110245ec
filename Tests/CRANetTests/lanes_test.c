// Checks every lane kernel, at every width this CPU runs, against a plain scalar
// computation of the same layer image by image: convolutions over borders,
// strides, paddings and output-channel counts that leave partial register tiles;
// pooling; resizing; packing a partial group; moving images between groups.
#include "cranet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

static float value(int seed, size_t i) { return sinf((float)(i * 7 + seed) * 0.731f) * 2.0f; }

static float *random_floats(size_t n, int seed) {
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = value(seed, i);
    return p;
}

static size_t floats(cranet_shape s) { return (size_t)s.channels * s.height * s.width; }

// Runs `lanes` images through a lane kernel (by `run`) and compares each lane with
// `reference` applied to that image alone.
typedef void (*lane_fn)(int lanes, const float *src, cranet_shape s, float *dst, cranet_shape d, const void *arg);
typedef void (*image_fn)(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *arg);

static void compare(const char *what, int lanes, int images, cranet_shape s, cranet_shape d, lane_fn run,
                    image_fn reference, const void *arg) {
    const float *inputs[16] = {0};
    float *owned[16] = {0};
    for (int l = 0; l < images; l++) inputs[l] = owned[l] = random_floats(floats(s), l * 1000 + 1);
    float *src = malloc(sizeof(float) * floats(s) * lanes), *dst = malloc(sizeof(float) * floats(d) * lanes);
    float *want = malloc(sizeof(float) * floats(d)), *got = malloc(sizeof(float) * floats(d));
    cranet_lane_pack(lanes, inputs, images, floats(s), src);
    run(lanes, src, s, dst, d, arg);
    double worst = 0;
    for (int l = 0; l < images; l++) {
        reference(inputs[l], s, want, d, arg);
        cranet_lane_unpack(lanes, dst, floats(d), l, got);
        for (size_t i = 0; i < floats(d); i++) {
            double err = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
            if (!(err <= worst)) worst = err;
        }
    }
    // Float sums of up to ~1,500 products against a double reference.
    if (!(worst <= 1e-4)) {
        printf("FAIL %s, %d lanes: %dx%dx%d -> %dx%dx%d, error %g\n", what, lanes, s.channels, s.height, s.width,
               d.channels, d.height, d.width, worst);
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
    const float *weights, *packed, *bias;
} conv_arg;

static void lane_conv(int lanes, const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    const conv_arg *c = a;
    float *staged = malloc(sizeof(float) * (cranet_lane_staged_floats(lanes, s, c->pad, c->stride) +
                                            cranet_lane_overread_floats(lanes)));
    for (int part = 0; part < 2; part++) cranet_lane_stage(lanes, src, s, c->pad, c->stride, staged, part, 2);
    cranet_shape p = {s.channels, s.height + 2 * c->pad, s.width + 2 * c->pad};
    // In three shares, as three threads would compute it.
    for (int part = 0; part < 3; part++)
        cranet_lane_conv(lanes, staged, p, dst, d, c->kernel, c->stride, c->packed, c->bias, c->relu, part, 3);
    free(staged);
}

static void image_conv(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    const conv_arg *c = a;
    const int k = c->kernel;
    for (int o = 0; o < d.channels; o++)
        for (int y = 0; y < d.height; y++)
            for (int x = 0; x < d.width; x++) {
                double sum = c->bias[o];
                for (int i = 0; i < s.channels; i++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * c->stride - c->pad + ky, ix = x * c->stride - c->pad + kx;
                            if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                            sum += (double)c->weights[((o * s.channels + i) * k + ky) * k + kx] *
                                   src[((size_t)i * s.height + iy) * s.width + ix];
                        }
                if (c->relu && sum < 0) sum = 0;
                dst[((size_t)o * d.height + y) * d.width + x] = (float)sum;
            }
}

static void test_conv(int lanes) {
    // channels in, out; size in; kernel, stride, pad
    const int cases[][7] = {
        {3, 16, 32, 3, 1, 1}, {5, 5, 32, 3, 1, 1}, {18, 9, 16, 3, 2, 1}, {96, 24, 8, 3, 1, 1},
        {160, 128, 8, 3, 2, 1}, {128, 128, 4, 3, 2, 1}, {64, 12, 8, 1, 1, 0}, {2, 1, 16, 3, 1, 1},
        {7, 6, 11, 5, 2, 2}, {3, 7, 9, 7, 2, 3}, {4, 3, 3, 3, 1, 0}, {128, 10, 1, 1, 1, 0},
        // Maps wider than a vector of every width, with rows that end mid-vector.
        {6, 24, 56, 1, 1, 0}, {24, 6, 56, 3, 1, 1}, {10, 5, 35, 3, 2, 1}, {3, 8, 20, 7, 2, 3},
        // Width 1 by output channels: a partial pair of blocks, a tile of one pixel.
        {12, 40, 4, 3, 2, 1}, {20, 24, 5, 3, 2, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int *c = cases[t];
        const int k = c[3], stride = c[4], pad = c[5], out = (c[2] + 2 * pad - k) / stride + 1;
        cranet_shape s = {c[0], c[2], c[2]}, d = {c[1], out, out};
        size_t nw = (size_t)c[0] * c[1] * k * k;
        float *weights = random_floats(nw, 17), *bias = random_floats(c[1], 5);
        float *packed = malloc(sizeof(float) * cranet_lane_packed_floats(lanes, c[0], d, k, stride));
        cranet_lane_pack_conv_weights(lanes, weights, c[0], d, k, stride, packed);
        for (int relu = 0; relu <= 1; relu++) {
            conv_arg arg = {k, stride, pad, relu, weights, packed, bias};
            compare("convolution", lanes, lanes, s, d, lane_conv, image_conv, &arg);
            if (lanes > 1) compare("convolution, partial group", lanes, lanes / 2 + 1, s, d, lane_conv, image_conv, &arg);
        }
        free(weights);
        free(packed);
        free(bias);
    }
}

typedef struct {
    cranet_pool_kind kind;
    int kernel, stride, pad;
} pool_arg;

static void lane_pool(int lanes, const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    const pool_arg *p = a;
    for (int part = 0; part < 2; part++) cranet_lane_pool(lanes, p->kind, src, s, dst, d, p->kernel, p->stride, p->pad, part, 2);
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

static void test_pool(int lanes) {
    pool_arg max = {CRANET_POOL_MAX, 3, 2, 1}, avg = {CRANET_POOL_AVG, 2, 2, 0}, avg_pad = {CRANET_POOL_AVG, 3, 2, 1};
    compare("max pool", lanes, lanes, (cranet_shape){5, 9, 9}, (cranet_shape){5, 5, 5}, lane_pool, image_pool, &max);
    compare("avg pool", lanes, lanes, (cranet_shape){7, 2, 2}, (cranet_shape){7, 1, 1}, lane_pool, image_pool, &avg);
    compare("avg pool, padded", lanes, lanes, (cranet_shape){3, 6, 6}, (cranet_shape){3, 3, 3}, lane_pool, image_pool,
            &avg_pad);
}

static void lane_resize(int lanes, const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    (void)a;
    cranet_lane_resize_bilinear_align_corners(lanes, src, s, dst, d, 0, 1);
}

static void image_resize(const float *src, cranet_shape s, float *dst, cranet_shape d, const void *a) {
    (void)a;
    cranet_resize_bilinear_align_corners_portable(src, s.channels, s.height, s.width, dst, d.height, d.width);
}

static void test_resize(int lanes) {
    compare("resize up", lanes, lanes, (cranet_shape){4, 8, 8}, (cranet_shape){4, 16, 16}, lane_resize, image_resize, NULL);
    compare("resize odd", lanes, lanes, (cranet_shape){3, 7, 5}, (cranet_shape){3, 4, 11}, lane_resize, image_resize, NULL);
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
    float src[3 * 16], dst[3 * 16];
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

// Width 1 at each of its vector widths this CPU runs.
static int test_rows(void) {
    int tested = 0;
    for (int limit = 16; limit >= 4; limit /= 2) {
        if (cranet_row_vector_floats(limit) != limit) {
            printf("skip rows of %d floats: not supported by this CPU\n", limit);
            continue;
        }
        tested++;
        test_conv(1);
        test_pool(1);
        test_resize(1);
    }
    cranet_row_vector_floats(16);
    return tested;
}

int main(void) {
    int widths = test_rows();
    for (int lanes = 4; lanes <= 16; lanes *= 2) {
        if (!cranet_lanes_supported(lanes)) {
            printf("skip %d lanes: not supported by this CPU\n", lanes);
            continue;
        }
        widths++;
        test_conv(lanes);
        test_pool(lanes);
        test_resize(lanes);
        test_partial_group_is_zero(lanes);
        test_gather(lanes);
    }
    if (cranet_lanes_best() < 4 || !cranet_lanes_supported(cranet_lanes_best())) {
        printf("FAIL best width %d\n", cranet_lanes_best());
        failures++;
    }
    printf("%d widths tested, %d failures\n", widths, failures);
    return failures ? 1 : 0;
}
