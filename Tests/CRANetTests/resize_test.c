// Checks the align_corners=True bilinear resize against values worked out by
// hand and checks that the AVX2 and portable paths give the same bits.
#include "cranet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

static void expect_near(float got, float want, float tol, const char *what) {
    if (!(fabsf(got - want) <= tol)) {
        printf("FAIL %s: got %.7f want %.7f\n", what, got, want);
        failures++;
    }
}

static void test_hand_values(void) {
    // 2×2 → 3×3 with align_corners: corners kept, midpoints averaged.
    const float src[4] = {0, 1, 2, 3};
    float dst[9];
    const float want[9] = {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3};
    cranet_resize_bilinear_align_corners(src, 1, 2, 2, dst, 3, 3);
    for (int i = 0; i < 9; i++) expect_near(dst[i], want[i], 1e-6f, "2x2->3x3");
    // Downsampling 5 → 2 keeps the two end points.
    const float row[5] = {1, 2, 3, 4, 5};
    float out[2];
    cranet_resize_bilinear_align_corners(row, 1, 1, 5, out, 1, 2);
    expect_near(out[0], 1, 1e-6f, "5->2 first");
    expect_near(out[1], 5, 1e-6f, "5->2 last");
    // One output pixel takes the source's first pixel (scale 0).
    float single;
    cranet_resize_bilinear_align_corners(src, 1, 2, 2, &single, 1, 1);
    expect_near(single, 0, 0, "to 1x1");
}

static void test_identity(void) {
    enum { C = 3, H = 7, W = 13 };
    float src[C * H * W], dst[C * H * W];
    for (int i = 0; i < C * H * W; i++) src[i] = (float)((i * 37) % 101) / 7.0f;
    cranet_resize_bilinear_align_corners(src, C, H, W, dst, H, W);
    for (int i = 0; i < C * H * W; i++) expect_near(dst[i], src[i], 0, "identity");
}

static void test_paths_agree(void) {
    // The AVX-512 path permutes a vector's sources where they lie within 32 of its first
    // (upsampling; 56 → 28, the last vector near the row's end), and gathers wider spans
    // (60 → 20, 100 → 40).
    const int sizes[][4] = {{8, 8, 16, 16}, {16, 16, 8, 8}, {7, 5, 32, 29}, {32, 32, 16, 16}, {3, 9, 11, 4},
                            {7, 7, 14, 14}, {14, 14, 28, 28}, {28, 28, 56, 56}, {5, 17, 9, 33}, {4, 40, 8, 79},
                            {56, 56, 28, 28}, {6, 64, 3, 33}, {60, 60, 20, 20}, {9, 100, 5, 40}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int ih = sizes[s][0], iw = sizes[s][1], oh = sizes[s][2], ow = sizes[s][3], c = 5;
        float *src = malloc(sizeof(float) * c * ih * iw);
        float *a = malloc(sizeof(float) * c * oh * ow), *b = malloc(sizeof(float) * c * oh * ow);
        for (int i = 0; i < c * ih * iw; i++) src[i] = sinf((float)i * 0.37f) * 3.0f;
        cranet_resize_bilinear_align_corners_portable(src, c, ih, iw, b, oh, ow);
        for (int floats = 4; floats <= 16; floats *= 2) {
            cranet_resize_bilinear_align_corners_vectors(floats, src, c, ih, iw, a, oh, ow);
            for (int i = 0; i < c * oh * ow; i++) expect_near(a[i], b[i], 0, "vector path vs portable");
        }
        free(src);
        free(a);
        free(b);
    }
}

int main(void) {
    test_hand_values();
    test_identity();
    test_paths_agree();
    printf("resize: %s (AVX2 path %s)\n", failures ? "FAILED" : "ok", cranet_resize_uses_avx2() ? "on" : "off");
    return failures ? 1 : 0;
}
