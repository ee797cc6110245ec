// One step of a bf16 register tile by pixels, shared by lanes/lane_kernels.h and
// rows/row_kernels.h and included by each once per width (no include guard): O output
// channels × P vectors, one pair of input channels at one kernel tap, in the order of
// VDPBF16PS (the odd channel's product first). `even` and `odds` hold the pair's input
// vectors (bf16 values; zeros for the missing odd channel of an odd count), `wt` the
// tap's packed weights, [o][even, odd]: f32 values, or with DOT_BF16 bf16 halves, which
// VDPBF16PS reads against the two inputs interleaved (exact: a bf16 value's low half is
// zero). Uses the includer's NAME, V, VU, OB, PB, MADD and DOT_BF16.

static inline __attribute__((always_inline)) TARGET void NAME(pair_step)(const int O, const int P, V acc[OB][PB],
                                                                        const V *even, const V *odds, const float *wt) {
#ifdef DOT_BF16
    VU pairs[PB];
    for (int p = 0; p < P; p++) pairs[p] = (VU)odds[p] | (VU)even[p] >> 16;
    for (int o = 0; o < O; o++) {
        const VU wv = (VU){0} + ((const unsigned *)wt)[o];
        for (int p = 0; p < P; p++) acc[o][p] = DOT_BF16(acc[o][p], pairs[p], wv);
    }
#else
    for (int o = 0; o < O; o++) {
        const V we = NAME(splat)(wt[2 * o]), wo = NAME(splat)(wt[2 * o + 1]);
        for (int p = 0; p < P; p++) acc[o][p] = MADD(we, even[p], MADD(wo, odds[p], acc[o][p]));
    }
#endif
}
