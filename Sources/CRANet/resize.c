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
        for (int ox = 0; ox < out_w; ox += 8) {
            // The last vector of a row stores its first n lanes (the others read within the row).
            const int n = out_w - ox >= 8 ? 8 : out_w - ox;
            const __m256i stored = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
            __m256 x = _mm256_mul_ps(vsx, _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(ox), lane)));
            __m256i x0 = _mm256_min_epi32(_mm256_cvttps_epi32(x), last);
            __m256 lx = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)), zero), one);
            __m256i x1 = _mm256_add_epi32(x0, _mm256_and_si256(_mm256_cmpgt_epi32(last, x0), _mm256_set1_epi32(1)));
            __m256 hx = _mm256_sub_ps(one, lx);
            // As the AVX-512 path below: where a vector's source values span less than 16 from
            // its first lane's, a window of two vectors, two permutes and a blend per gather.
            int first, end;
            source_span(sx, ox, n, in_w, &first, &end);
            const int permuted = end - first < 16, window = in_w - first;
            const __m256i low = _mm256_cmpgt_epi32(_mm256_set1_epi32(window), lane);
            const __m256i high = _mm256_cmpgt_epi32(_mm256_set1_epi32(window - 8), lane);
            const __m256i i0 = _mm256_sub_epi32(x0, _mm256_set1_epi32(first)), i1 = _mm256_sub_epi32(x1, _mm256_set1_epi32(first));
            const __m256 high0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i0, _mm256_set1_epi32(7)));
            const __m256 high1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i1, _mm256_set1_epi32(7)));
            for (int c = 0; c < channels; c++) {
                const float *plane = src + (size_t)c * in_h * in_w;
                const float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
                __m256 a, b, c0, d;
                if (permuted) {
                    const __m256 lo0 = _mm256_maskload_ps(r0 + first, low), hi0 = _mm256_maskload_ps(r0 + first + 8, high);
                    const __m256 lo1 = _mm256_maskload_ps(r1 + first, low), hi1 = _mm256_maskload_ps(r1 + first + 8, high);
                    a = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo0, i0), _mm256_permutevar8x32_ps(hi0, i0), high0);
                    b = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo0, i1), _mm256_permutevar8x32_ps(hi0, i1), high1);
                    c0 = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo1, i0), _mm256_permutevar8x32_ps(hi1, i0), high0);
                    d = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo1, i1), _mm256_permutevar8x32_ps(hi1, i1), high1);
                } else {
                    a = _mm256_i32gather_ps(r0, x0, 4), b = _mm256_i32gather_ps(r0, x1, 4);
                    c0 = _mm256_i32gather_ps(r1, x0, 4), d = _mm256_i32gather_ps(r1, x1, 4);
                }
                __m256 top = _mm256_add_ps(_mm256_mul_ps(hx, a), _mm256_mul_ps(lx, b));
                __m256 bottom = _mm256_add_ps(_mm256_mul_ps(hx, c0), _mm256_mul_ps(lx, d));
                __m256 v = _mm256_add_ps(_mm256_mul_ps(vhy, top), _mm256_mul_ps(vly, bottom));
                _mm256_maskstore_ps(dst + ((size_t)c * out_h + oy) * out_w + ox, stored, v);
            }
        }
    }
}

// 16 outputs per vector, the last of a row masked. Where the source values a vector
// needs lie within 32 of its first one (every upsampling, and downsampling by up to
// about 2: RANet's 56×56 maps resized to 28×28), two vectors loaded from there hold
// them all, and one permute picks each output's source value: four permutes instead of
// four gathers (5.7 times faster on 352 channels from 56×56 to 28×28). Wider spans are
// gathered.
__attribute__((target("avx512f"))) static void resize_avx512(const float *src, int channels, int in_h, int in_w,
                                                              float *dst, int out_h, int out_w) {
    const float sy = source_scale(in_h, out_h), sx = source_scale(in_w, out_w);
    const __m512 vsx = _mm512_set1_ps(sx), one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512i last = _mm512_set1_epi32(in_w - 1), lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int oy = 0; oy < out_h; oy++) {
        int y0, y1;
        float ly;
        source_index(sy, oy, in_h, &y0, &y1, &ly);
        const __m512 vly = _mm512_set1_ps(ly), vhy = _mm512_set1_ps(1.0f - ly);
        for (int ox = 0; ox < out_w; ox += 16) {
            const int n = out_w - ox >= 16 ? 16 : out_w - ox;
            const __mmask16 m = (__mmask16)((1u << n) - 1);
            const __m512 x = _mm512_mul_ps(vsx, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_set1_epi32(ox), lane)));
            const __m512i x0 = _mm512_min_epi32(_mm512_cvttps_epi32(x), last);
            const __m512 lx = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(x, _mm512_cvtepi32_ps(x0)), zero), one);
            const __m512i x1 = _mm512_mask_add_epi32(x0, _mm512_cmpgt_epi32_mask(last, x0), x0, _mm512_set1_epi32(1));
            const __m512 hx = _mm512_sub_ps(one, lx);
            int first, end;
            source_span(sx, ox, n, in_w, &first, &end);
            const int permuted = end - first < 32, window = in_w - first;
            const __mmask16 low = (__mmask16)(window >= 16 ? 0xffff : (1u << window) - 1);
            const __mmask16 high = (__mmask16)(window >= 32 ? 0xffff : window > 16 ? (1u << (window - 16)) - 1 : 0);
            const __m512i base = _mm512_set1_epi32(first);
            const __m512i i0 = _mm512_sub_epi32(x0, base), i1 = _mm512_sub_epi32(x1, base);
            for (int c = 0; c < channels; c++) {
                const float *plane = src + (size_t)c * in_h * in_w;
                const float *r0 = plane + (size_t)y0 * in_w, *r1 = plane + (size_t)y1 * in_w;
                __m512 a, b, c0, d;
                if (permuted) {
                    const __m512 lo0 = _mm512_maskz_loadu_ps(low, r0 + first), hi0 = _mm512_maskz_loadu_ps(high, r0 + first + 16);
                    const __m512 lo1 = _mm512_maskz_loadu_ps(low, r1 + first), hi1 = _mm512_maskz_loadu_ps(high, r1 + first + 16);
                    a = _mm512_permutex2var_ps(lo0, i0, hi0), b = _mm512_permutex2var_ps(lo0, i1, hi0);
                    c0 = _mm512_permutex2var_ps(lo1, i0, hi1), d = _mm512_permutex2var_ps(lo1, i1, hi1);
                } else {
                    a = _mm512_mask_i32gather_ps(zero, m, x0, r0, 4), b = _mm512_mask_i32gather_ps(zero, m, x1, r0, 4);
                    c0 = _mm512_mask_i32gather_ps(zero, m, x0, r1, 4), d = _mm512_mask_i32gather_ps(zero, m, x1, r1, 4);
                }
                const __m512 top = _mm512_add_ps(_mm512_mul_ps(hx, a), _mm512_mul_ps(lx, b));
                const __m512 bottom = _mm512_add_ps(_mm512_mul_ps(hx, c0), _mm512_mul_ps(lx, d));
                const __m512 v = _mm512_add_ps(_mm512_mul_ps(vhy, top), _mm512_mul_ps(vly, bottom));
                _mm512_mask_storeu_ps(dst + ((size_t)c * out_h + oy) * out_w + ox, m, v);
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

void cranet_resize_bilinear_align_corners_vectors(int floats, const float *src, int channels, int in_h, int in_w,
                                                  float *dst, int out_h, int out_w) {
#ifdef CRANET_X86
    if (floats >= 16 && __builtin_cpu_supports("avx512f")) {
        resize_avx512(src, channels, in_h, in_w, dst, out_h, out_w);
        return;
    }
    if (floats >= 8 && cranet_resize_uses_avx2()) {
        resize_avx2(src, channels, in_h, in_w, dst, out_h, out_w);
        return;
    }
#endif
    cranet_resize_bilinear_align_corners_portable(src, channels, in_h, in_w, dst, out_h, out_w);
}

void cranet_resize_bilinear_align_corners(const float *src, int channels, int in_h, int in_w,
                                          float *dst, int out_h, int out_w) {
    cranet_resize_bilinear_align_corners_vectors(16, src, channels, in_h, in_w, dst, out_h, out_w);
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
