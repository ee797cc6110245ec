// The lane layout's data movement: images packed into a group's lanes and unpacked
// from them, and images moved between groups (early exit refills groups whose
// images left).
#include "cranet.h"

#if defined(__x86_64__) || defined(__i386__)
#define CRANET_X86 1
#include <immintrin.h>
#endif

void cranet_lane_pack(int lanes, const float *const *images, int count, size_t floats, float *dst) {
    for (size_t e = 0; e < floats; e++) {
        float *v = dst + e * lanes;
        for (int l = 0; l < count; l++) v[l] = images[l][e];
        for (int l = count; l < lanes; l++) v[l] = 0.0f;
    }
}

void cranet_lane_unpack(int lanes, const float *src, size_t floats, int lane, float *dst) {
    for (size_t e = 0; e < floats; e++) dst[e] = src[e * lanes + lane];
}

#ifdef CRANET_X86
// Vector by vector: each element vector is permuted so that lane l holds source lane
// sources[l], then blended into the destination where sources[l] >= 0.
__attribute__((target("avx512f"))) static void gather_16(const float *src, const int *sources, float *dst,
                                                         size_t floats) {
    int index[16];
    __mmask16 take = 0;
    for (int l = 0; l < 16; l++) {
        index[l] = sources[l] >= 0 ? sources[l] : 0;
        if (sources[l] >= 0) take |= (__mmask16)(1u << l);
    }
    const __m512i permutation = _mm512_loadu_si512(index);
    for (size_t e = 0; e < floats; e++) {
        __m512 kept = _mm512_loadu_ps(dst + e * 16);
        _mm512_storeu_ps(dst + e * 16, _mm512_mask_permutexvar_ps(kept, take, permutation, _mm512_loadu_ps(src + e * 16)));
    }
}

__attribute__((target("avx2"))) static void gather_8(const float *src, const int *sources, float *dst, size_t floats) {
    int index[8], mask[8];
    for (int l = 0; l < 8; l++) {
        index[l] = sources[l] >= 0 ? sources[l] : 0;
        mask[l] = sources[l] >= 0 ? -1 : 0;
    }
    const __m256i permutation = _mm256_loadu_si256((const __m256i *)index);
    const __m256 take = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)mask));
    for (size_t e = 0; e < floats; e++) {
        __m256 moved = _mm256_permutevar8x32_ps(_mm256_loadu_ps(src + e * 8), permutation);
        _mm256_storeu_ps(dst + e * 8, _mm256_blendv_ps(_mm256_loadu_ps(dst + e * 8), moved, take));
    }
}

#endif

void cranet_lane_gather(int lanes, const float *src, const int *sources, float *dst, size_t floats) {
#ifdef CRANET_X86
    if (lanes == 16) {
        gather_16(src, sources, dst, floats);
        return;
    }
    if (lanes == 8) {
        gather_8(src, sources, dst, floats);
        return;
    }
#endif
    for (size_t e = 0; e < floats; e++)
        for (int l = 0; l < lanes; l++)
            if (sources[l] >= 0) dst[e * lanes + l] = src[e * lanes + sources[l]];
}
