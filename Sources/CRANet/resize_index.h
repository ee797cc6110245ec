// Source coordinates of PyTorch's bilinear resize with align_corners=True, shared
// by the per-image kernel (resize.c) and the lane kernels (lane_kernels.h).
//
// For output index o the source coordinate is o·(in−1)/(out−1) (0 when out is 1),
// split into a base index i0 = min(floor(x), in−1), i1 = i0 + (i0 < in−1), and a
// weight λ = x − i0; out = (1−λy)((1−λx)·a + λx·b) + λy((1−λx)·c + λx·d).
#ifndef CRANET_RESIZE_INDEX_H
#define CRANET_RESIZE_INDEX_H

static inline float source_scale(int in, int out) {
    return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
}

static inline void source_index(float scale, int o, int in, int *i0, int *i1, float *lambda) {
    float x = scale * (float)o;
    int i = (int)x;  // x >= 0, so truncation is floor
    if (i > in - 1) i = in - 1;
    float l = x - (float)i;
    if (l < 0.0f) l = 0.0f;
    if (l > 1.0f) l = 1.0f;
    *i0 = i;
    *i1 = i + (i < in - 1 ? 1 : 0);
    *lambda = l;
}

// The source columns outputs o … o+n−1 read, from the first's left one to the last's
// right one: the window the vector paths load instead of gathering (resize.c).
static inline void source_span(float scale, int o, int n, int in, int *first, int *end) {
    int unused;
    float lambda;
    source_index(scale, o, in, first, &unused, &lambda);
    source_index(scale, o + n - 1, in, &unused, end, &lambda);
}

#endif
