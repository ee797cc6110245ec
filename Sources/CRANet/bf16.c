// Rounding arrays to bf16 (bf16_round.h has the one definition): the kernels' weights, a
// network's input, poolings' and resizes' outputs, and the weights handed to oneDNN (whose
// own rounding of a value already on the bf16 grid is then exact).
#include "cranet.h"
#include "bf16_round.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CRANET_X86 1
#endif

// `n` floats of `src` rounded into `dst`, vectors of N lanes at a time: it runs at the
// widest vectors the CPU has. The tail goes through one vector too, padded with zeros,
// so that there is one definition.
#define ROUND_BF16(NAME, N, TARGET)                                        \
    typedef uint32_t NAME##_u __attribute__((vector_size(N * 4), aligned(4))); \
    CRANET_DEFINE_ROUND_BF16(NAME##_one, NAME##_u, TARGET)                 \
    TARGET static void NAME(const float *src, float *dst, size_t n) {     \
        size_t i = 0;                                                     \
        for (; i + N <= n; i += N) {                                      \
            NAME##_u u;                                                   \
            memcpy(&u, src + i, sizeof u);                                \
            u = NAME##_one(u);                                            \
            memcpy(dst + i, &u, sizeof u);                                \
        }                                                                 \
        if (i < n) {                                                      \
            NAME##_u u = {0};                                             \
            memcpy(&u, src + i, (n - i) * 4);                             \
            u = NAME##_one(u);                                            \
            memcpy(dst + i, &u, (n - i) * 4);                             \
        }                                                                 \
    }

#ifdef CRANET_X86
ROUND_BF16(round_16, 16, __attribute__((target("avx512f"))))
ROUND_BF16(round_8, 8, __attribute__((target("avx2"))))
#endif
ROUND_BF16(round_4, 4, )

void cranet_round_bf16(const float *src, float *dst, size_t n) {
#ifdef CRANET_X86
    if (__builtin_cpu_supports("avx512f")) return round_16(src, dst, n);
    if (__builtin_cpu_supports("avx2")) return round_8(src, dst, n);
#endif
    round_4(src, dst, n);
}
