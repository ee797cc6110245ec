// The rounding to bf16, written once for unsigned vectors of any width: bf16.c rounds
// arrays with it, and the kernels round each vector they store with it.
#ifndef CRANET_BF16_ROUND_H
#define CRANET_BF16_ROUND_H

// Defines `static inline U FN(U u)`: the bits of the floats in `u` rounded to bf16 (to
// nearest, ties to even; denormals to a zero of their sign, as VCVTNEPS2BF16; NaNs kept,
// quiet), their low 16 bits zero. U is a vector of uint32_t.
#define CRANET_DEFINE_ROUND_BF16(FN, U, TARGET)                                                              \
    TARGET static inline U FN(U u) {                                                                      \
        const U exponent = u & 0x7f800000u;                                                               \
        const U tiny = (U)(exponent == 0), special = (U)(exponent == 0x7f800000u);                        \
        const U rounded = u + 0x7fffu + ((u >> 16) & 1u); /* to nearest, ties to even; may carry to inf */ \
        const U quiet = u | ((U)((u & 0x007fffffu) != 0) & 0x00400000u); /* NaNs stay (quiet) NaNs */     \
        return ((rounded & ~(tiny | special)) | (u & 0x80000000u & tiny) | (quiet & special)) & 0xffff0000u; \
    }

#endif
