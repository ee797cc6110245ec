// Whether VDPBF16PS pays on this CPU, measured once (bf16_dot_rate.c).
#ifndef CRANET_BF16_DOT_RATE_H
#define CRANET_BF16_DOT_RATE_H

// 1 when this CPU has AVX512_BF16 and issues VDPBF16PS at least two thirds as fast as an
// f32 FMA of the same width, so that one VDPBF16PS (two multiply-adds per lane, plus the
// interleaving of its inputs) beats the two FMAs it replaces: AMD's Zen 4 and Zen 5 issue
// both at one rate; Intel's Xeons with AVX512_BF16 issue VDPBF16PS at a quarter of it.
// Timed on the first call (about a millisecond), then kept.
int cranet_bf16_dot_pays(void);

#endif
