// Bilinear resize with align_corners=True, as PyTorch's F.interpolate computes
// it on the CPU. oneDNN's resampling only offers half-pixel centres, so RANet's
// fusion layers need this kernel of their own, and training its backward
// (coordinates: resize_index.h).
#include "cranet.h"
#include "resize_index.h"

#if defined(__x86_64__) || defined(__i386__)
#define CRANET_X86 1
#include <immintrin.h>
#endif

// No multiply-add is fused, here as in the lane and row kernels' resizes: every
// path then gives the same bits (resize_index.h has the formula).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF  // gcc: -ffp-contract=off (CMakeLists.txt)
#endif

void cranet_resize_bilinear_align_corners_portable(const float *src, int channels, int in_h, int in_w,
                                                   float *dst, int out_h, int out_w) {
    const float sy = source_scale(in_h, out_h), sx = source_scale(in_w, out_w);
    for (int c = 0; c < channels; c++) {
        const float *plane = src + (size_t)c * in_h * in_w;
        float *out = dst + (size_t)c * out_h * out_w;
        for (int oy = 0; oy < out_h; oy++) {
            int y0, y1;
            float ly;
            source_index(sy, oy, in_h, &y0, &y1, &ly);
            const float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
            for (int ox = 0; ox < out_w; ox++) {
                int x0, x1;
                float lx;
                source_index(sx, ox, in_w, &x0, &x1, &lx);
                float top = (1.0f - lx) * r0[x0] + lx * r0[x1];
                float bottom = (1.0f - lx) * r1[x0] + lx * r1[x1];
                out[(size_t)oy * out_w + ox] = (1.0f - ly) * top + ly * bottom;
            }
        }
    }
}

#ifdef CRANET_X86
__attribute__((target("avx2"))) static void resize_avx2(const float *src, int channels, int in_h,
                                                            int in_w, float *dst, int out_h, int out_w) {
    const float sy = source_scale(in_h, out_h), sx = source_scale(in_w, out_w);
    const __m256 vsx = _mm256_set1_ps(sx), one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256i last = _mm256_set1_epi32(in_w - 1), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int oy = 0; oy < out_h; oy++) {
        int y0, y1;
        float ly;
        source_index(sy, oy, in_h, &y0, &y1, &ly);
        const __m256 vly = _mm256_set1_ps(ly), vhy = _mm256_set1_ps(1.0f - ly);
        int ox = 0;
        for (; ox + 8 <= out_w; ox += 8) {
            __m256 x = _mm256_mul_ps(vsx, _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(ox), lane)));
            __m256i x0 = _mm256_min_epi32(_mm256_cvttps_epi32(x), last);
            __m256 lx = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)), zero), one);
            __m256i x1 = _mm256_add_epi32(x0, _mm256_and_si256(_mm256_cmpgt_epi32(last, x0), _mm256_set1_epi32(1)));
            __m256 hx = _mm256_sub_ps(one, lx);
            for (int c = 0; c < channels; c++) {
                const float *plane = src + (size_t)c * in_h * in_w;
                const float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
                __m256 top = _mm256_add_ps(_mm256_mul_ps(hx, _mm256_i32gather_ps(r0, x0, 4)),
                                           _mm256_mul_ps(lx, _mm256_i32gather_ps(r0, x1, 4)));
                __m256 bottom = _mm256_add_ps(_mm256_mul_ps(hx, _mm256_i32gather_ps(r1, x0, 4)),
                                              _mm256_mul_ps(lx, _mm256_i32gather_ps(r1, x1, 4)));
                __m256 v = _mm256_add_ps(_mm256_mul_ps(vhy, top), _mm256_mul_ps(vly, bottom));
                _mm256_storeu_ps(dst + ((size_t)c * out_h + oy) * out_w + ox, v);
            }
        }
        for (; ox < out_w; ox++) {
            int x0, x1;
            float lx;
            source_index(sx, ox, in_w, &x0, &x1, &lx);
            for (int c = 0; c < channels; c++) {
                const float *plane = src + (size_t)c * in_h * in_w;
                const float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
                float top = (1.0f - lx) * r0[x0] + lx * r0[x1];
                float bottom = (1.0f - lx) * r1[x0] + lx * r1[x1];
                dst[((size_t)c * out_h + oy) * out_w + ox] = (1.0f - ly) * top + ly * bottom;
            }
        }
    }
}

#endif

int cranet_resize_uses_avx2(void) {
#ifdef CRANET_X86
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

void cranet_resize_bilinear_align_corners(const float *src, int channels, int in_h, int in_w,
                                          float *dst, int out_h, int out_w) {
#ifdef CRANET_X86
    if (cranet_resize_uses_avx2()) {
        resize_avx2(src, channels, in_h, in_w, dst, out_h, out_w);
        return;
    }
#endif
    cranet_resize_bilinear_align_corners_portable(src, channels, in_h, in_w, dst, out_h, out_w);
}

void cranet_resize_bilinear_align_corners_backward(const float *diff_dst, int channels, int out_h, int out_w,
                                                   float *diff_src, int in_h, int in_w) {
    const float sy = source_scale(in_h, out_h), sx = source_scale(in_w, out_w);
    for (int c = 0; c < channels; c++) {
        const float *g = diff_dst + (size_t)c * out_h * out_w;
        float *plane = diff_src + (size_t)c * in_h * in_w;
        for (int oy = 0; oy < out_h; oy++) {
            int y0, y1;
            float ly;
            source_index(sy, oy, in_h, &y0, &y1, &ly);
            float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
            for (int ox = 0; ox < out_w; ox++) {
                int x0, x1;
                float lx;
                source_index(sx, ox, in_w, &x0, &x1, &lx);
                const float v = g[(size_t)oy * out_w + ox];
                r0[x0] += (1.0f - ly) * (1.0f - lx) * v;
                r0[x1] += (1.0f - ly) * lx * v;
                r1[x0] += ly * (1.0f - lx) * v;
                r1[x1] += ly * lx * v;
            }
        }
    }
}
