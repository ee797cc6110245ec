// How fast this CPU issues VDPBF16PS against f32 FMAs (bf16_dot_rate.h): both timed on
// 12 independent chains, enough to hide either instruction's latency, the faster of 5
// rounds each, so that a busy core misjudges neither.
#include "bf16_dot_rate.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <time.h>

enum { chains = 12, steps = 4000, rounds = 5 };

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f"), noinline)) static double fma_time(float seed) {
    __m512 acc[chains];
    const __m512 a = _mm512_set1_ps(seed), b = _mm512_set1_ps(1.0f - seed);
    for (int c = 0; c < chains; c++) acc[c] = _mm512_set1_ps((float)c);
    const double start = seconds();
    for (int s = 0; s < steps; s++)
        for (int c = 0; c < chains; c++) acc[c] = _mm512_fmadd_ps(a, b, acc[c]);
    const double elapsed = seconds() - start;
    __m512 sum = acc[0];
    for (int c = 1; c < chains; c++) sum = _mm512_add_ps(sum, acc[c]);
    volatile float sink = _mm512_reduce_add_ps(sum);  // keeps the chains
    (void)sink;
    return elapsed;
}

__attribute__((target("avx512f,avx512bf16"), noinline)) static double dot_time(float seed) {
    __m512 acc[chains];
    const __m512bh a = (__m512bh)_mm512_set1_ps(seed), b = (__m512bh)_mm512_set1_ps(1.0f - seed);
    for (int c = 0; c < chains; c++) acc[c] = _mm512_set1_ps((float)c);
    const double start = seconds();
    for (int s = 0; s < steps; s++)
        for (int c = 0; c < chains; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
    const double elapsed = seconds() - start;
    __m512 sum = acc[0];
    for (int c = 1; c < chains; c++) sum = _mm512_add_ps(sum, acc[c]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return elapsed;
}

static int measure(void) {
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) return 0;
    double fma = 1e30, dot = 1e30;
    for (int r = 0; r < rounds; r++) {
        const double f = fma_time(0.5f), d = dot_time(0.5f);
        if (f < fma) fma = f;
        if (d < dot) dot = d;
    }
    return dot * 2 <= fma * 3;
}

int cranet_bf16_dot_pays(void) {
    // 0: not measured yet; 1: no; 2: yes. Two threads may both measure; both store the same.
    static int verdict;
    int v = __atomic_load_n(&verdict, __ATOMIC_ACQUIRE);
    if (v == 0) {
        v = measure() ? 2 : 1;
        __atomic_store_n(&verdict, v, __ATOMIC_RELEASE);
    }
    return v == 2;
}

#else
int cranet_bf16_dot_pays(void) { return 0; }
#endif
