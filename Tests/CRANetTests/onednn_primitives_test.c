// Runs each oneDNN operation of the bridge on small inputs and compares it
// with a direct loop, in f32 and in bf16: on oneDNN's f32 kernels everywhere, on its bf16
// kernels where it runs them (against the loop on inputs and weights rounded by
// cranet_round_bf16, its output on the bf16 grid); checks that invalid arguments, and
// bf16 kernels where oneDNN cannot run them, are refused with a message.
#include "cranet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static char err[256];

#define CHECK(cond, ...)                 \
    do {                                 \
        if (!(cond)) {                   \
            printf("FAIL: " __VA_ARGS__); \
            printf("\n");                \
            failures++;                  \
        }                                \
    } while (0)

static float value(int i) { return sinf((float)i * 0.731f) * 0.5f; }

/// One dense image.
static cranet_batch_view one(int channels, int height, int width) {
    return (cranet_batch_view){1, channels, height, width, (size_t)channels * height * width};
}

/// Whether every value is a bf16 value, and within one bf16 step (2⁻⁷ relative) of `want`.
static int near_bf16(const float *got, const float *want, int n) {
    for (int i = 0; i < n; i++) {
        unsigned bits;
        memcpy(&bits, &got[i], 4);
        if ((bits & 0xffffu) != 0 || !(fabsf(got[i] - want[i]) <= fabsf(want[i]) / 128 + 1e-6f)) return 0;
    }
    return 1;
}

static void run(cranet_engine *engine, cranet_op *op, const float *src, float *dst) {
    cranet_stream *stream = NULL;
    cranet_bound_op *bound = NULL;
    void *scratch = cranet_op_scratchpad_size(op) ? malloc(cranet_op_scratchpad_size(op)) : NULL;
    CHECK(!cranet_stream_create(engine, &stream, err, sizeof err), "stream: %s", err);
    CHECK(!cranet_op_bind(op, src, dst, scratch, &bound, err, sizeof err), "bind: %s", err);
    CHECK(!cranet_bound_op_execute(bound, stream, err, sizeof err), "execute: %s", err);
    cranet_bound_op_destroy(bound);
    cranet_stream_destroy(stream);
    free(scratch);
}

static void test_conv(cranet_engine *engine, int relu, int stride, int blocked, cranet_onednn_kernels kernels) {
    enum { CI = 5, H = 9, W = 7, CO = 4, K = 3, P = 1 };
    int oh = (H + 2 * P - K) / stride + 1, ow = (W + 2 * P - K) / stride + 1;
    float src[CI * H * W], w[CO * CI * K * K], b[CO], dst[CO * H * W], want[CO * H * W];
    float rsrc[CI * H * W], rw[CO * CI * K * K];  // what the reference multiplies
    for (int i = 0; i < CI * H * W; i++) src[i] = rsrc[i] = value(i);
    for (int i = 0; i < CO * CI * K * K; i++) w[i] = rw[i] = value(i + 1000);
    for (int i = 0; i < CO; i++) b[i] = value(i + 2000);
    const int bf16 = kernels != CRANET_ONEDNN_F32;
    if (bf16) {
        cranet_round_bf16(rsrc, rsrc, CI * H * W);
        cranet_round_bf16(rw, rw, CO * CI * K * K);
    }
    for (int o = 0; o < CO; o++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = b[o];
                for (int c = 0; c < CI; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = y * stride - P + ky, ix = x * stride - P + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            acc += (double)rw[((o * CI + c) * K + ky) * K + kx] * rsrc[(c * H + iy) * W + ix];
                        }
                want[(o * oh + y) * ow + x] = relu && acc < 0 ? 0.0f : (float)acc;
            }
    cranet_op *op = NULL;
    cranet_batch_view s = one(CI, H, W), d = one(CO, oh, ow);
    if (cranet_conv_create(engine, s, d, K, stride, P, w, b, relu, blocked, NULL, 0, kernels, &op, err, sizeof err)) {
        CHECK(0, "conv create: %s", err);
        return;
    }
    // f32 kernels on bf16 values read their source as it is: a bf16 network's features are rounded.
    run(engine, op, kernels == CRANET_ONEDNN_F32_ON_BF16 ? rsrc : src, dst);
    if (bf16)
        CHECK(near_bf16(dst, want, CO * oh * ow), "bf16 conv (kernels %d) relu=%d stride=%d blocked=%d: output not bf16 or off",
              kernels, relu, stride, blocked);
    else
        for (int i = 0; i < CO * oh * ow; i++)
            CHECK(fabsf(dst[i] - want[i]) < 1e-5f, "conv relu=%d stride=%d blocked=%d at %d: %f vs %f", relu, stride, blocked, i,
                  dst[i], want[i]);
    cranet_op_destroy(op);
}

/// Two convolutions chained in blocked layout give what the two give one after the other:
/// through NCHW in f32; on bf16 kernels (blocked only) each with its own reorders, the
/// first's bf16 output widened to NCHW and read back exactly, while the chain's
/// intermediate takes half the bytes; on f32 kernels on bf16 values through NCHW, the
/// chain's f32 intermediate rounded whole.
static void test_chained_convs(cranet_engine *engine, cranet_onednn_kernels kernels) {
    enum { C0 = 20, H = 6, W = 6, C1 = 24, C2 = 8 };
    float src[C0 * H * W], w1[C1 * C0], b1[C1], w2[C2 * C1 * 9], b2[C2];
    for (int i = 0; i < C0 * H * W; i++) src[i] = value(i);
    if (kernels == CRANET_ONEDNN_F32_ON_BF16) cranet_round_bf16(src, src, C0 * H * W);
    for (int i = 0; i < C1 * C0; i++) w1[i] = value(i + 300);
    for (int i = 0; i < C1; i++) b1[i] = value(i + 600);
    for (int i = 0; i < C2 * C1 * 9; i++) w2[i] = value(i + 900);
    for (int i = 0; i < C2; i++) b2[i] = value(i + 1900);
    cranet_batch_view s0 = one(C0, H, W), s1 = one(C1, H, W), s2 = one(C2, H, W);
    const int bf16 = kernels != CRANET_ONEDNN_F32, plain = kernels != CRANET_ONEDNN_BF16;  // how the unchained pair runs
    cranet_op *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
    CHECK(!cranet_conv_create(engine, s0, s1, 1, 1, 0, w1, b1, 1, 1, NULL, 1, kernels, &a, err, sizeof err), "chain a: %s", err);
    CHECK(!cranet_conv_create(engine, s1, s2, 3, 1, 1, w2, b2, 1, 1, a, 0, kernels, &b, err, sizeof err), "chain b: %s", err);
    CHECK(!cranet_conv_create(engine, s0, s1, 1, 1, 0, w1, b1, 1, !plain, NULL, 0, kernels, &pa, err, sizeof err), "alone a: %s", err);
    CHECK(!cranet_conv_create(engine, s1, s2, 3, 1, 1, w2, b2, 1, !plain, NULL, 0, kernels, &pb, err, sizeof err), "alone b: %s", err);
    if (a && b && pa && pb) {
        if (kernels == CRANET_ONEDNN_BF16)
            CHECK(cranet_op_dst_bytes(a) < sizeof(float) * C1 * H * W, "a bf16 intermediate takes half the bytes");
        else {
            CHECK(cranet_op_dst_bytes(a) >= sizeof(float) * C1 * H * W, "blocked size");
            CHECK(cranet_op_reorders(pa) == 0 && cranet_op_reorders(pb) == 0, "plain convolutions reorder nothing");
        }
        CHECK(cranet_op_reorders(a) <= 1 && cranet_op_reorders(b) <= 1, "a chain reorders only at its two ends: %d + %d",
              cranet_op_reorders(a), cranet_op_reorders(b));
        float *mid = calloc(1, cranet_op_dst_bytes(a)), alone_mid[C1 * H * W], out[C2 * H * W], want[C2 * H * W];
        run(engine, a, src, mid);
        run(engine, b, mid, out);
        run(engine, pa, src, alone_mid);
        run(engine, pb, alone_mid, want);
        if (kernels == CRANET_ONEDNN_F32_ON_BF16) {
            CHECK(near_bf16(mid, mid, (int)(cranet_op_dst_bytes(a) / sizeof(float))), "the chain's f32 intermediate is rounded");
            CHECK(near_bf16(alone_mid, alone_mid, C1 * H * W), "f32 kernels on bf16 values store rounded features");
        }
        if (bf16)
            CHECK(near_bf16(out, want, C2 * H * W), "chained bf16 convs differ from the pair run alone beyond one bf16 step");
        else
            for (int i = 0; i < C2 * H * W; i++)
                CHECK(fabsf(out[i] - want[i]) < 1e-4f, "chained conv at %d: %f vs %f", i, out[i], want[i]);
        free(mid);
    }
    cranet_op_destroy(a);
    cranet_op_destroy(b);
    cranet_op_destroy(pa);
    cranet_op_destroy(pb);
}

/// Pooling in f32, and in bf16 (on every CPU: f32 pooling, then its output rounded).
static void test_pool(cranet_engine *engine) {
    float src[2 * 4 * 4], dst[2 * 2 * 2], want[2 * 2 * 2];
    for (int i = 0; i < 32; i++) src[i] = value(i);
    cranet_batch_view s = one(2, 4, 4), d = one(2, 2, 2);
    cranet_op *op = NULL;
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                const float *p = src + c * 16 + y * 8 + x * 2;
                want[(c * 2 + y) * 2 + x] = (p[0] + p[1] + p[4] + p[5]) / 4;
            }
    CHECK(!cranet_pool_create(engine, CRANET_POOL_AVG, s, d, 2, 2, 0, CRANET_F32, &op, err, sizeof err), "avg pool: %s", err);
    if (!op) return;
    CHECK(cranet_op_reorders(op) == 0, "pooling reorders nothing");
    run(engine, op, src, dst);
    for (int i = 0; i < 8; i++) CHECK(fabsf(dst[i] - want[i]) < 1e-6f, "avg pool");
    cranet_op_destroy(op);
    CHECK(!cranet_pool_create(engine, CRANET_POOL_AVG, s, d, 2, 2, 0, CRANET_BF16, &op, err, sizeof err), "bf16 avg pool: %s", err);
    if (!op) return;
    run(engine, op, src, dst);
    CHECK(near_bf16(dst, want, 8), "bf16 avg pool: output not bf16 or off");
    cranet_op_destroy(op);
    // Max pool 3/2/1 as in the ImageNet stem: 4×4 → 2×2.
    CHECK(!cranet_pool_create(engine, CRANET_POOL_MAX, s, d, 3, 2, 1, CRANET_F32, &op, err, sizeof err), "max pool: %s", err);
    if (!op) return;
    run(engine, op, src, dst);
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                float m = -INFINITY;
                for (int ky = -1; ky <= 1; ky++)
                    for (int kx = -1; kx <= 1; kx++) {
                        int iy = y * 2 + ky, ix = x * 2 + kx;
                        if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4 && src[c * 16 + iy * 4 + ix] > m) m = src[c * 16 + iy * 4 + ix];
                    }
                CHECK(dst[(c * 2 + y) * 2 + x] == m, "max pool");
            }
    cranet_op_destroy(op);
}

static void test_inner_product(cranet_engine *engine) {
    enum { IN = 6, OUT = 3 };
    float w[OUT * IN], b[OUT], src[IN], dst[OUT];
    for (int i = 0; i < OUT * IN; i++) w[i] = value(i + 77);
    for (int i = 0; i < OUT; i++) b[i] = value(i + 99);
    for (int i = 0; i < IN; i++) src[i] = value(i + 5);
    cranet_op *op = NULL;
    CHECK(!cranet_inner_product_create(engine, one(IN, 1, 1), one(OUT, 1, 1), w, b, CRANET_ONEDNN_F32, &op, err, sizeof err), "ip: %s", err);
    if (!op) return;
    run(engine, op, src, dst);
    for (int o = 0; o < OUT; o++) {
        float want = b[o];
        for (int i = 0; i < IN; i++) want += w[o * IN + i] * src[i];
        CHECK(fabsf(dst[o] - want) < 1e-5f, "inner product %d", o);
    }
    cranet_op_destroy(op);
}

/// A batch of channel slices of wider tensors (images a wider tensor's size apart) gives, in
/// every layer kind, what each image alone gives, and leaves the channels outside the slices alone.
static void test_batched_slices(cranet_engine *engine) {
    enum { N = 3, CW = 7, C0 = 2, CI = 4, H = 5, W = 5, DW = 9, D0 = 3, CO = 5 };
    enum { SRC = CW * H * W, DST = DW * H * W };
    float src[N * SRC], w[CO * CI * 9], b[CO], dst[N * DST], alone[CO * H * W];
    for (int i = 0; i < N * SRC; i++) src[i] = value(i + 4000);
    for (int i = 0; i < CO * CI * 9; i++) w[i] = value(i + 5000);
    for (int i = 0; i < CO; i++) b[i] = value(i + 6000);
    for (int i = 0; i < N * DST; i++) dst[i] = -7;
    cranet_batch_view s = {N, CI, H, W, SRC}, d = {N, CO, H, W, DST};
    cranet_op *batched = NULL, *single = NULL;
    CHECK(!cranet_conv_create(engine, s, d, 3, 1, 1, w, b, 1, 1, NULL, 0, CRANET_ONEDNN_F32, &batched, err, sizeof err), "batched conv: %s", err);
    CHECK(!cranet_conv_create(engine, one(CI, H, W), one(CO, H, W), 3, 1, 1, w, b, 1, 1, NULL, 0, CRANET_ONEDNN_F32, &single, err, sizeof err),
          "conv: %s", err);
    if (!batched || !single) return;
    run(engine, batched, src + C0 * H * W, dst + D0 * H * W);
    for (int n = 0; n < N; n++) {
        run(engine, single, src + n * SRC + C0 * H * W, alone);
        for (int i = 0; i < CO * H * W; i++)
            CHECK(fabsf(dst[n * DST + D0 * H * W + i] - alone[i]) < 1e-5f, "batched conv image %d at %d", n, i);
        for (int i = 0; i < D0 * H * W; i++) CHECK(dst[n * DST + i] == -7, "batched conv wrote outside its slice");
        for (int i = (D0 + CO) * H * W; i < DST; i++) CHECK(dst[n * DST + i] == -7, "batched conv wrote outside its slice");
    }
    cranet_op_destroy(batched);
    cranet_op_destroy(single);
    // An exit's classifier: features a wider vector's slice, logits one exit's slice of every image's row.
    enum { IN = 6, OUT = 3, ROW = 10, LOGITS = 8, AT = 4 };
    float fw[OUT * IN], fb[OUT], features[N * ROW], logits[N * LOGITS];
    for (int i = 0; i < OUT * IN; i++) fw[i] = value(i + 7000);
    for (int i = 0; i < OUT; i++) fb[i] = value(i + 8000);
    for (int i = 0; i < N * ROW; i++) features[i] = value(i + 9000);
    cranet_batch_view fs = {N, IN, 1, 1, ROW}, fd = {N, OUT, 1, 1, LOGITS};
    cranet_op *ip = NULL;
    CHECK(!cranet_inner_product_create(engine, fs, fd, fw, fb, CRANET_ONEDNN_F32, &ip, err, sizeof err), "batched ip: %s", err);
    if (!ip) return;
    run(engine, ip, features + 1, logits + AT);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OUT; o++) {
            float want = fb[o];
            for (int i = 0; i < IN; i++) want += fw[o * IN + i] * features[n * ROW + 1 + i];
            CHECK(fabsf(logits[n * LOGITS + AT + o] - want) < 1e-5f, "batched inner product image %d output %d", n, o);
        }
    cranet_op_destroy(ip);
}

/// A classifier in bf16 gives the sums of the rounded weights and features, f32 logits: on
/// bf16 kernels (which round the features themselves), and on f32 kernels (given rounded ones).
static void test_bf16_inner_product(cranet_engine *engine, cranet_onednn_kernels kernels) {
    enum { IN = 40, OUT = 7 };
    float w[OUT * IN], bias[OUT], features[IN], logits[OUT], rw[OUT * IN], rf[IN];
    for (int i = 0; i < OUT * IN; i++) w[i] = value(i + 77);
    for (int i = 0; i < OUT; i++) bias[i] = value(i + 99);
    for (int i = 0; i < IN; i++) features[i] = value(i + 111);
    cranet_round_bf16(w, rw, OUT * IN);
    cranet_round_bf16(features, rf, IN);
    cranet_op *ip = NULL;
    CHECK(!cranet_inner_product_create(engine, one(IN, 1, 1), one(OUT, 1, 1), w, bias, kernels, &ip, err, sizeof err),
          "bf16 inner product (kernels %d): %s", kernels, err);
    if (!ip) return;
    run(engine, ip, kernels == CRANET_ONEDNN_BF16 ? features : rf, logits);
    for (int o = 0; o < OUT; o++) {
        double want = bias[o];
        for (int i = 0; i < IN; i++) want += (double)rw[o * IN + i] * rf[i];
        CHECK(fabs(logits[o] - want) < 1e-5, "bf16 inner product (kernels %d) output %d: %f vs %f", kernels, o, logits[o], want);
    }
    cranet_op_destroy(ip);
}

/// oneDNN's bf16 kernels where it runs them: blocked convolutions only. Elsewhere creation
/// fails with a message.
static void test_bf16_kernels_refused(cranet_engine *engine) {
    enum { C = 4, H = 5 };
    float src_w[C * C], src_b[C];
    for (int i = 0; i < C * C; i++) src_w[i] = value(i + 300);
    for (int i = 0; i < C; i++) src_b[i] = value(i + 600);
    cranet_op *op = NULL;
    err[0] = 0;
    if (!cranet_onednn_runs_bf16()) {
        CHECK(cranet_conv_create(engine, one(C, H, H), one(C, H, H), 1, 1, 0, src_w, src_b, 1, 1, NULL, 0, CRANET_ONEDNN_BF16, &op,
                                 err, sizeof err) != 0, "bf16 kernels accepted where oneDNN does not run them");
        CHECK(strstr(err, "AVX-512") != NULL, "message names the problem: %s", err);
        printf("bf16: oneDNN does not run its bf16 kernels on this CPU (refusal checked)\n");
        return;
    }
    CHECK(cranet_conv_create(engine, one(C, H, H), one(C, H, H), 1, 1, 0, src_w, src_b, 1, 0, NULL, 0, CRANET_ONEDNN_BF16, &op, err,
                             sizeof err) != 0, "bf16 kernels in plain NCHW accepted");
    CHECK(strstr(err, "blocked") != NULL, "message names the problem: %s", err);
}

static void test_rejections(cranet_engine *engine) {
    float w[9] = {0};
    cranet_op *op = NULL;
    cranet_batch_view s = one(1, 4, 4), bad = one(1, 3, 3);
    err[0] = 0;
    CHECK(cranet_conv_create(engine, s, bad, 3, 1, 1, w, NULL, 0, 0, NULL, 0, CRANET_ONEDNN_F32, &op, err, sizeof err) != 0, "mismatched output accepted");
    CHECK(strstr(err, "does not follow") != NULL, "message names the problem: %s", err);
    cranet_batch_view zero = one(0, 4, 4);
    CHECK(cranet_pool_create(engine, CRANET_POOL_MAX, zero, zero, 2, 2, 0, CRANET_F32, &op, err, sizeof err) != 0, "empty pool accepted");
    CHECK(cranet_inner_product_create(engine, one(0, 1, 1), one(3, 1, 1), w, NULL, CRANET_ONEDNN_F32, &op, err, sizeof err) != 0, "empty ip accepted");
    cranet_batch_view two = {2, 1, 4, 4, 16}, three = {3, 1, 4, 4, 16};
    CHECK(cranet_conv_create(engine, two, three, 3, 1, 1, w, NULL, 0, 1, NULL, 0, CRANET_ONEDNN_F32, &op, err, sizeof err) != 0, "batches of two sizes accepted");
    cranet_batch_view overlapping = {2, 2, 4, 4, 16};
    CHECK(cranet_pool_create(engine, CRANET_POOL_MAX, overlapping, overlapping, 1, 1, 0, CRANET_F32, &op, err, sizeof err) != 0, "overlapping images accepted");
}

int main(void) {
    cranet_engine *engine = NULL;
    if (cranet_engine_create(&engine, err, sizeof err)) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    for (int blocked = 0; blocked <= 1; blocked++) {
        test_conv(engine, 0, 1, blocked, CRANET_ONEDNN_F32);
        test_conv(engine, 1, 1, blocked, CRANET_ONEDNN_F32);
        test_conv(engine, 1, 2, blocked, CRANET_ONEDNN_F32);
        test_conv(engine, 1, 1, blocked, CRANET_ONEDNN_F32_ON_BF16);
        test_conv(engine, 0, 2, blocked, CRANET_ONEDNN_F32_ON_BF16);
    }
    if (cranet_onednn_runs_bf16()) {
        test_conv(engine, 0, 1, 1, CRANET_ONEDNN_BF16);
        test_conv(engine, 1, 2, 1, CRANET_ONEDNN_BF16);
    }
    test_bf16_kernels_refused(engine);
    test_bf16_inner_product(engine, CRANET_ONEDNN_F32_ON_BF16);
    if (cranet_onednn_runs_bf16()) test_bf16_inner_product(engine, CRANET_ONEDNN_BF16);
    test_chained_convs(engine, CRANET_ONEDNN_F32);
    test_chained_convs(engine, CRANET_ONEDNN_F32_ON_BF16);
    if (cranet_onednn_runs_bf16()) test_chained_convs(engine, CRANET_ONEDNN_BF16);
    test_pool(engine);
    test_inner_product(engine);
    test_batched_slices(engine);
    test_rejections(engine);
    cranet_engine_destroy(engine);
    printf("onednn_primitives: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
