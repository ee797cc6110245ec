#!/bin/sh
# Prints the cores' peak float32 multiply-add rate per vector width, and the bf16
# dot-product rate where the CPU has AVX512_BF16 (scripts/fma_peak.c).
# x86-64 only. OMP_NUM_THREADS sets the threads (default: every core).
set -e
out="${TMPDIR:-/tmp}/ranet-fma-peak"
gcc -O3 -funroll-all-loops -fopenmp "$(dirname "$0")/fma_peak.c" -o "$out"
exec "$out"
