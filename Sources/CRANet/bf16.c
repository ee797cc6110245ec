// Rounding to bf16, the one definition every CRANET_BF16 path uses: the kernels' weights
// and staged inputs, and the weights handed to oneDNN (whose own rounding of a value
// already on the bf16 grid is then exact).
#include "cranet.h"

#include <stdint.h>
#include <string.h>

void cranet_round_bf16(const float *src, float *dst, size_t n) {
    // Branch-free, so that the compiler vectorizes the loop.
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, sizeof u);
        const uint32_t exponent = u & 0x7f800000u;
        const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);  // to nearest, ties to even; may carry to ∞
        const uint32_t special = (u & 0x007fffffu) ? (u | 0x00400000u) : u;  // NaNs stay (quiet) NaNs
        u = exponent == 0 ? u & 0x80000000u : exponent == 0x7f800000u ? special : rounded;
        u &= 0xffff0000u;
        memcpy(dst + i, &u, sizeof u);
    }
}
