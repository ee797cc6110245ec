// Training convolutions on the row kernels against oneDNN's: the same layer (convolution,
// batch norm, ReLU) built both ways on the same views, weights and gradients must agree
// forward and backward, for 1×1 and 3×3 kernels, with and without bias, over maps as
// small as 2×2 (where the row kernels run along output channels) and channel slices of
// wider tensors.
#include "cranet_training.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX * 2.0f - 1.0f;
    return p;
}

/// Largest |a − b| relative to the largest |b|.
static double difference(const float *a, const float *b, size_t n) {
    double most = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (d > most || isnan(d)) most = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return most / scale;
}

static void expect_close(const char *what, const float *a, const float *b, size_t n, const char *shape) {
    const double d = difference(a, b, n);
    if (!(d < 1e-4)) {
        printf("FAIL %s %s: relative difference %g\n", shape, what, d);
        failures++;
    }
}

/// One layer both ways: input channels `ic` of a tensor of `ic + 2` (a slice from
/// channel 1), output channels `oc` of a tensor of `oc + 1` (from channel 1).
static void compare(cranet_engine *engine, const cranet_kernels *rows, int batch, int ic, int oc, int size,
                    int kernel, int has_bias) {
    char shape[96], err[256];
    snprintf(shape, sizeof shape, "batch %d, %d→%d channels, %dx%d, kernel %d%s", batch, ic, oc, size, size, kernel,
             has_bias ? ", bias" : "");
    const int plane = size * size, pad = kernel / 2;
    const size_t in_image = (size_t)(ic + 2) * plane, out_image = (size_t)(oc + 1) * plane;
    cranet_batch_view src = {batch, ic, size, size, in_image}, dst = {batch, oc, size, size, out_image};
    unsigned seed = (unsigned)(ic * 131 + oc * 17 + size * 7 + kernel + has_bias);
    float *x = random_floats(in_image * batch, &seed), *w = random_floats((size_t)oc * ic * kernel * kernel, &seed);
    float *bias = random_floats((size_t)oc, &seed), *gamma = random_floats((size_t)oc, &seed);
    float *beta = random_floats((size_t)oc, &seed), *dy = random_floats(out_image * batch, &seed);
    float *y[2], *dx[2], *dw[2], *db[2], *dgamma[2], *dbeta[2], mean[2][64], var[2][64];
    for (int way = 0; way < 2; way++) {
        y[way] = calloc(out_image * batch, sizeof(float));
        dx[way] = calloc(in_image * batch, sizeof(float));
        dw[way] = calloc((size_t)oc * ic * kernel * kernel, sizeof(float));
        db[way] = calloc((size_t)oc, sizeof(float));
        dgamma[way] = calloc((size_t)oc, sizeof(float));
        dbeta[way] = calloc((size_t)oc, sizeof(float));
        cranet_train_layer *layer = NULL;
        cranet_stream *stream = NULL;
        if (cranet_stream_create(engine, &stream, err, sizeof err) ||
            cranet_train_conv_create(engine, way ? rows : NULL, src, dst, kernel, 1, pad, has_bias, 1e-5f, &layer,
                                     err, sizeof err)) {
            printf("FAIL %s: %s\n", shape, err);
            failures++;
            return;
        }
        cranet_train_buffers b = {0};
        b.src = x + plane;
        b.dst = y[way] + plane;
        b.weights = w;
        b.bias = has_bias ? bias : NULL;
        b.gamma = gamma;
        b.beta = beta;
        b.batch_mean = mean[way];
        b.batch_var_sum = var[way];
        b.diff_dst = dy + plane;
        b.diff_src = dx[way] + plane;
        b.diff_weights = dw[way];
        b.diff_bias = has_bias ? db[way] : NULL;
        b.diff_gamma = dgamma[way];
        b.diff_beta = dbeta[way];
        if (cranet_train_layer_forward(layer, stream, &b, err, sizeof err) ||
            cranet_train_layer_backward(layer, stream, &b, err, sizeof err)) {
            printf("FAIL %s: %s\n", shape, err);
            failures++;
        }
        cranet_train_layer_destroy(layer);
        cranet_stream_destroy(stream);
    }
    expect_close("output", y[1], y[0], out_image * batch, shape);
    expect_close("batch means", mean[1], mean[0], (size_t)oc, shape);
    expect_close("input gradient", dx[1], dx[0], in_image * batch, shape);
    expect_close("weights gradient", dw[1], dw[0], (size_t)oc * ic * kernel * kernel, shape);
    // Batch norm's input gradient sums to zero over the batch, so the bias's gradient is
    // that sum's rounding: both ways must leave it as small as float sums of
    // batch × plane terms of about 1 can.
    for (int o = 0; o < oc && has_bias; o++)
        if (!(fabs(db[0][o]) < 1e-5 * batch * plane && fabs(db[1][o]) < 1e-5 * batch * plane)) {
            printf("FAIL %s bias gradient: %g and %g, not about 0\n", shape, db[0][o], db[1][o]);
            failures++;
        }
    expect_close("gamma gradient", dgamma[1], dgamma[0], (size_t)oc, shape);
    expect_close("beta gradient", dbeta[1], dbeta[0], (size_t)oc, shape);
    for (int way = 0; way < 2; way++) {
        free(y[way]);
        free(dx[way]);
        free(dw[way]);
        free(db[way]);
        free(dgamma[way]);
        free(dbeta[way]);
    }
    free(x);
    free(w);
    free(bias);
    free(gamma);
    free(beta);
    free(dy);
}

int main(void) {
    cranet_engine *engine = NULL;
    char err[256];
    if (cranet_engine_create(&engine, err, sizeof err)) {
        printf("FAIL engine: %s\n", err);
        return 1;
    }
    const int widths[] = {16, 8, 4};
    int tested = 0;
    for (int i = 0; i < 3; i++) {
        const cranet_kernels *rows = cranet_row_kernels(widths[i], CRANET_F32);
        if (!rows) continue;
        tested++;
        compare(engine, rows, 5, 3, 3, 32, 3, 0);
        compare(engine, rows, 4, 2, 1, 16, 3, 1);
        compare(engine, rows, 3, 12, 4, 8, 3, 0);
        compare(engine, rows, 3, 28, 4, 4, 3, 1);
        compare(engine, rows, 2, 40, 2, 2, 3, 0);
        compare(engine, rows, 3, 24, 3, 32, 1, 0);
        compare(engine, rows, 2, 36, 4, 8, 1, 1);
        compare(engine, rows, 1, 5, 3, 7, 3, 0);
    }
    cranet_engine_destroy(engine);
    if (!tested) {
        printf("FAIL no row kernels on this CPU\n");
        return 1;
    }
    printf(failures ? "%d failures\n" : "training: row kernels agree with oneDNN\n", failures);
    return failures ? 1 : 0;
}
