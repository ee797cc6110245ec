// The cores' peak float32 multiply-add rate at each vector width this CPU runs, and the
// bf16 dot-product rate (VDPBF16PS: two bf16 products added into each float32 lane) where
// the CPU has AVX512_BF16, to set `ranet bench`'s GFLOP/s against: independent
// accumulators in registers, one thread per core, all cores at once (so that the clock is
// the all-core one).
// Build and run: scripts/fma-peak.sh
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Twelve accumulators: more than latency × issue width on current x86 cores.
#define CHAINS 12

// One kernel per width: CHAINS independent accumulators, n rounds; its FLOP/s.
#define PEAK_KERNEL(name, isa, vec, set1, fmadd, lanes)                                  \
    __attribute__((target(isa))) static double name(long n) {                            \
        vec a[CHAINS], b = set1(0.999f), c = set1(1e-3f);                                \
        for (int i = 0; i < CHAINS; i++) a[i] = set1((float)i);                          \
        double t = seconds();                                                            \
        for (long k = 0; k < n; k++)                                                     \
            for (int i = 0; i < CHAINS; i++) a[i] = fmadd(a[i], b, c);                   \
        t = seconds() - t;                                                               \
        volatile float sink = 0; /* keeps the accumulators live */                       \
        for (int i = 0; i < CHAINS; i++) sink += ((float *)&a[i])[0];                    \
        return n * CHAINS * (lanes) * 2.0 / t;                                           \
    }

PEAK_KERNEL(zmm, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
PEAK_KERNEL(ymm, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)

// VDPBF16PS in the kernel's a = f(a, b, c) shape: b and c reinterpreted as 32 bf16 each;
// 32 multiply-adds per instruction, counted as 2 FLOP each as the float32 ones are.
__attribute__((target("avx512f,avx512bf16"))) static inline __m512 dpbf16(__m512 acc, __m512 b, __m512 c) {
    return _mm512_dpbf16_ps(acc, (__m512bh)b, (__m512bh)c);
}
PEAK_KERNEL(zmm_bf16, "avx512f,avx512bf16", __m512, _mm512_set1_ps, dpbf16, 32)

// Every thread runs the kernel at once; the sum of their rates, best of five rounds.
static double all_cores(double (*kernel)(long), int threads) {
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double total = 0;
        #pragma omp parallel num_threads(threads) reduction(+ : total)
        total += kernel(100000000);
        if (total > best) best = total;
    }
    return best;
}

int main(void) {
    int threads = omp_get_max_threads();
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        printf("AVX-512 (16 lanes): %.0f GFLOP/s on %d threads\n", all_cores(zmm, threads) / 1e9, threads);
    if (__builtin_cpu_supports("avx512bf16"))
        printf("AVX512_BF16 (VDPBF16PS, 32 bf16 products): %.0f GFLOP/s on %d threads\n", all_cores(zmm_bf16, threads) / 1e9, threads);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        printf("AVX2 (8 lanes):     %.0f GFLOP/s on %d threads\n", all_cores(ymm, threads) / 1e9, threads);
    return 0;
}
