// The table's two convolution entries, f32 and bf16, over the includer's
// NAME(conv_share)(pairs, ...): shared by lanes/lane_kernels.h and rows/row_kernels.h and
// included by each once per width (no include guard).

static TARGET void NAME(conv)(const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
                              const float *packed, const float *bias, int store, int part, int parts) {
    NAME(conv_share)(0, src, s, dst, d, k, stride, packed, bias, store, part, parts);
}

static TARGET void NAME(conv_bf16)(const float *src, cranet_shape s, float *dst, cranet_shape d, int k, int stride,
                                   const float *packed, const float *bias, int store, int part, int parts) {
    NAME(conv_share)(1, src, s, dst, d, k, stride, packed, bias, store, part, parts);
}
