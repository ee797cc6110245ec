// The C bridge of RANet: oneDNN 2.6 primitives (C API) and the vector kernels of the
// project's own. The oneDNN side works on batches of NCHW images whose channels may
// be a slice of a wider tensor (cranet_batch_view): within an image any channel range
// is contiguous, which is what lets the Swift side concatenate feature maps without
// copying; images follow each other at the wider tensor's size. The lane kernels
// (cranet_lane_*) run a group of images side by side, one per vector lane, in a layout
// that keeps channel ranges contiguous too; the row kernels run one image.
//
// Where each part lives: onednn/primitives.c, kernel_table.c (the per-CPU tables of
// lanes/ and rows/), lanes/lane_layout.c (packing images into lanes), training.c (the
// layers of cranet_training.h: oneDNN's primitives, and rows/row_training.c for
// convolutions of few channels), resize.c (the align-corners resize oneDNN lacks),
// bf16.c and bf16_round.h (the one rounding to bf16, for arrays and for the kernels'
// stores), threads.c (OpenMP's team, shared by every backend).
//
// Functions that can fail return 0 on success and a non-zero status otherwise,
// with a one-line message written into `err` (at most `err_len` bytes).
#ifndef CRANET_H
#define CRANET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A CPU engine. Create one per process (or per model) and share it.
typedef struct cranet_engine cranet_engine;
/// An execution stream. Not thread-safe: one per thread of execution.
typedef struct cranet_stream cranet_stream;
/// A primitive with its constant parameters (weights in the layout it wants).
/// Immutable after creation and safe to bind from several threads.
typedef struct cranet_op cranet_op;
/// An operation bound to concrete source, destination and scratchpad buffers.
typedef struct cranet_bound_op cranet_bound_op;

/// Channels, height and width of one image's tensor (dense NCHW, batch 1).
typedef struct {
    int channels;
    int height;
    int width;
} cranet_shape;

/// `batch` images of channels × height × width, image n starting `image_stride` floats
/// after image n − 1 (a slice of a wider tensor has a stride larger than its size).
typedef struct {
    int batch;
    int channels;
    int height;
    int width;
    size_t image_stride;
} cranet_batch_view;

/// The arithmetic of the layers with weights (convolutions, inner products).
typedef enum {
    /// f32 weights and inputs, f32 sums.
    CRANET_F32 = 0,
    /// bf16 as oneDNN and OpenVINO mean it: weights and every value passed between layers
    /// rounded to bf16 (round to nearest even, denormals flushed to zero, as VCVTNEPS2BF16
    /// does), the exact products summed in f32; the logits stay f32.
    CRANET_BF16 = 1,
} cranet_precision;

/// Rounds `n` floats to the nearest bf16 value (ties to even; denormals to a zero of
/// their sign; infinities and NaNs kept), written as floats. `dst` may be `src`.
void cranet_round_bf16(const float *src, float *dst, size_t n);

/// The kernels a oneDNN convolution or inner product computes with.
typedef enum {
    /// oneDNN's f32 kernels on f32 weights and values: CRANET_F32.
    CRANET_ONEDNN_F32 = 0,
    /// oneDNN's bf16 kernels (AVX-512 only: cranet_onednn_runs_bf16): CRANET_BF16 with the
    /// weights and source held as bf16.
    CRANET_ONEDNN_BF16 = 1,
    /// oneDNN's f32 kernels on bf16 values: CRANET_BF16 on every CPU, and wherever oneDNN's
    /// f32 kernels outrun its bf16 ones (a CPU whose bf16 dot products issue at half the rate
    /// of its f32 multiply-adds). The weights are rounded to bf16 before oneDNN packs them
    /// (held as f32), the source is read as it is (already on the bf16 grid: every CRANET_BF16
    /// layer rounds what it stores), and a convolution's destination is rounded after the
    /// primitive runs (an inner product's, logits, stays f32). The products are exact in f32
    /// either way, so this and CRANET_ONEDNN_BF16 differ only in the order of the sums.
    CRANET_ONEDNN_F32_ON_BF16 = 2,
} cranet_onednn_kernels;

/// Pooling algorithms.
typedef enum {
    CRANET_POOL_MAX = 0,
    CRANET_POOL_AVG = 1,  ///< average over the window, padding excluded
} cranet_pool_kind;

int cranet_engine_create(cranet_engine **out, char *err, size_t err_len);
void cranet_engine_destroy(cranet_engine *engine);

int cranet_stream_create(cranet_engine *engine, cranet_stream **out, char *err, size_t err_len);
void cranet_stream_destroy(cranet_stream *stream);

/// Square convolution `kernel`×`kernel`, symmetric padding, with optional bias
/// (NULL for none) and an optional fused ReLU. `weights` are OIHW, dense;
/// they are copied (and reordered) into the operation.
///
/// Source and destination are views of the same batch; their buffers are plain NCHW
/// unless said otherwise. With `blocked` set, the convolution computes in the layouts
/// oneDNN prefers (blocked, with its fastest kernels) and reorders from and to NCHW
/// around it, in buffers of each binding.
/// Two blocked convolutions in a row can skip both reorders between them: the first is
/// created with `keep_output_blocked` (its destination buffer then holds its blocked
/// layout, cranet_op_dst_bytes long), the second with `input_from` set to the first.
///
/// oneDNN fixes a convolution's thread count when it is created (its kernels split the
/// work for that many OpenMP threads, whatever the caller sets later): create it under
/// the cranet_set_num_threads it will run with. The weights' reorder runs on one thread.
///
/// With CRANET_ONEDNN_BF16 (blocked only; cranet_onednn_runs_bf16 says where) the weights
/// are rounded to bf16 and kept as bf16, the source is rounded by its reorder into the
/// blocked layout, and the destination is bf16 (ReLU applied first): the features the
/// layers after it read are rounded, kept blocked or widened exactly into the plain
/// NCHW buffer, which stays f32. With CRANET_ONEDNN_F32_ON_BF16 the destination, blocked
/// or plain, is rounded after the primitive runs.
int cranet_conv_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                       int kernel, int stride, int pad,
                       const float *weights, const float *bias, int relu, int blocked,
                       const cranet_op *input_from, int keep_output_blocked, cranet_onednn_kernels kernels,
                       cranet_op **out, char *err, size_t err_len);

/// Bytes the destination buffer of a binding must have.
size_t cranet_op_dst_bytes(const cranet_op *op);

/// Square pooling window with symmetric padding, in f32; with CRANET_BF16 its output is
/// then rounded to bf16, as every layer's output but a classifier's.
int cranet_pool_create(cranet_engine *engine, cranet_pool_kind kind,
                       cranet_batch_view src, cranet_batch_view dst,
                       int kernel, int stride, int pad, cranet_precision precision,
                       cranet_op **out, char *err, size_t err_len);

/// Fully connected layer, per image: dst[out_features] = weights[out_features][in_features] · src
/// + bias, where src and dst are views of 1×1 maps with in_features and out_features channels.
/// With CRANET_ONEDNN_BF16, weights and source are rounded to bf16 as cranet_conv_create's;
/// with CRANET_ONEDNN_F32_ON_BF16 the weights are, and the destination stays f32.
int cranet_inner_product_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                                const float *weights, const float *bias, cranet_onednn_kernels kernels,
                                cranet_op **out, char *err, size_t err_len);

/// Bytes of scratchpad the operation needs while it runs (may be 0).
size_t cranet_op_scratchpad_size(const cranet_op *op);

/// Layout reorders the operation runs each time it runs, 0 to 2: one into the blocked
/// layout its kernel computes in and one back, for each side that is plain NCHW in the
/// caller's buffer (a blocked convolution; pooling and inner products compute in place).
int cranet_op_reorders(const cranet_op *op);

void cranet_op_destroy(cranet_op *op);

/// Binds an operation to buffers that stay valid for the bound operation's life.
/// `scratchpad` may be NULL when the scratchpad size is 0.
int cranet_op_bind(cranet_op *op, const float *src, float *dst, void *scratchpad,
                   cranet_bound_op **out, char *err, size_t err_len);
int cranet_bound_op_execute(cranet_bound_op *bound, cranet_stream *stream,
                            char *err, size_t err_len);
void cranet_bound_op_destroy(cranet_bound_op *bound);

/// The widest vectors oneDNN's kernels use on this CPU (after DNNL_MAX_CPU_ISA): 512
/// (AVX-512), 256 (AVX2), 128 (SSE4.1), or 0 for another instruction set (arm64's).
int cranet_onednn_vector_bits(void);

/// 1 when oneDNN 2.6 runs its bf16 kernels (CRANET_ONEDNN_BF16) here: on AVX-512 (natively
/// with AVX512_BF16, emulated without), after DNNL_MAX_CPU_ISA. Below it oneDNN refuses them.
int cranet_onednn_runs_bf16(void);

/// Sets how many OpenMP threads oneDNN uses for primitives executed by the
/// calling thread (OpenMP's per-thread setting). No effect if OpenMP is absent.
void cranet_set_num_threads(int threads);
/// The calling thread's OpenMP setting (what cranet_set_num_threads set; 1 without OpenMP).
int cranet_max_threads(void);
/// Runs fn(ctx, part, parts) on every thread of an OpenMP team of the calling thread's
/// size (cranet_set_num_threads), or once with parts = 1 where OpenMP is absent. The
/// project's own kernels share oneDNN's thread team this way instead of starting threads
/// of their own (two teams on two cores would only wait for each other).
void cranet_parallel(void (*fn)(void *ctx, int part, int parts), void *ctx);
/// Inside cranet_parallel's fn: waits until every part of the team has reached it, so a
/// pass can read what the others wrote in the pass before. Nothing to wait for without OpenMP.
void cranet_barrier(void);
/// Makes the calling thread treat denormal floats as zero (x86 FTZ and DAZ, arm64 FZ). Denormal
/// arithmetic is up to a hundred times slower and changes results by less than 1e-38.
void cranet_flush_denormals(void);

/// Bilinear resize with PyTorch's align_corners=True semantics, per channel:
/// src is channels×in_h×in_w, dst is channels×out_h×out_w (both dense).
/// Uses AVX-512 or AVX2 when the CPU has it, a portable loop otherwise; all give the same
/// bits (each output is (1−λy)·top + λy·bottom of unfused products, as in every resize here).
void cranet_resize_bilinear_align_corners(const float *src, int channels, int in_h, int in_w,
                                          float *dst, int out_h, int out_w);
/// The same on vectors of at most `floats` floats (16: AVX-512, 8: AVX2, where the CPU
/// has them; the portable loop otherwise): the row kernels of a width resize on that
/// width's instruction set, as a CPU of that width would.
void cranet_resize_bilinear_align_corners_vectors(int floats, const float *src, int channels, int in_h, int in_w,
                                                  float *dst, int out_h, int out_w);
/// The portable loop of the same resize (exposed so tests can compare both paths).
void cranet_resize_bilinear_align_corners_portable(const float *src, int channels, int in_h,
                                                   int in_w, float *dst, int out_h, int out_w);
/// 1 if this CPU runs the AVX2 path (where a resize of 8-float vectors, or one without AVX-512, runs).
int cranet_resize_uses_avx2(void);

/// Lane layout: a C×H×W tensor of a group of `lanes` images is stored as
/// [C][H][W][lanes], the values of image l in lane l. A group with fewer images
/// than lanes fills the rest with zeros, which stay finite through every layer.
/// One image (the row kernels) is plain [C][H][W], with vectors along the rows of a
/// map instead.
///
/// A kernel table holds one family of layer kernels: the lane kernels of one width
/// or the row kernels of one vector width. The lane kernels of width W and the row
/// kernels of width W compute every output value with the same operations in the
/// same order (multiply-adds fused at widths 16 and 8 and on arm64, a multiply then
/// an add at the portable width on x86-64; resizing never fused), so an image gets
/// the same bits whichever of the two runs it.
///
/// The layer kernels compute share `part` of `parts` (0 ≤ part < parts) of their
/// output, so that several threads can run one layer together; parts = 1 computes it all.
typedef struct cranet_kernels cranet_kernels;
/// The lane kernels of `lanes` images per group (16: AVX-512, 8: AVX2 with FMA, 4:
/// portable, SSE2 on x86-64 and NEON on arm64), or NULL where this CPU or build
/// cannot run them. With CRANET_BF16 every value a convolution multiplies is a bf16
/// value: cranet_lane_pack_conv_weights rounds the weights (and packs the row kernels'
/// weights by channels as bf16, widened exactly as they are read), cranet_lane_load the
/// network's input, and every layer rounds what it stores (a convolution's features, a
/// pooling's or resize's output) but a classifier's logits (CRANET_OUTPUT_SUMS), so
/// that convolutions read their inputs in place as in f32. The products, exact on bf16
/// values, are summed in the order of VDPBF16PS: input channels in pairs, each pair over
/// the kernel's taps, its odd channel's product added first (cranet_kernels_bf16_dot).
const cranet_kernels *cranet_lane_kernels(int lanes, cranet_precision precision);
/// The row kernels with vectors of `floats` floats (16, 8 or 4, on the same
/// instruction sets as cranet_lane_kernels of that width), or NULL.
const cranet_kernels *cranet_row_kernels(int floats, cranet_precision precision);
/// What a bf16 table's convolutions run their pairs of multiply-adds on: "vdpbf16ps"
/// (width 16 on a CPU with AVX512_BF16 that issues it as fast as its FMAs, timed once
/// per process, unless the environment sets RANET_NO_AVX512_BF16), "fma" (two fused multiply-adds) or "mul-add" (x86-64's portable
/// width); "none" for an f32 table. All give the same bits at one width (VDPBF16PS also
/// flushes a sum that falls below 2⁻¹²⁶ to zero).
const char *cranet_kernels_bf16_dot(const cranet_kernels *k);
/// Images a table's kernels compute at once: its lane count, 1 for row kernels.
int cranet_kernels_images(const cranet_kernels *k);
/// The widest lane width this CPU runs (16, 8 or 4).
int cranet_lanes_best(void);

/// How these kernels run one convolution, decided here once so that callers store it
/// rather than re-derive it.
typedef struct cranet_conv_layout {
    /// 1 when the input is first staged by cranet_lane_stage (it has padding or a
    /// stride); 0 when the convolution reads the input where it is.
    int staged;
    /// The shape cranet_lane_conv reads: the input's, padded when staged.
    cranet_shape read_shape;
    /// Floats of the staged input (0 when not staged), over-read not included.
    size_t staged_floats;
    /// Floats of the weights packed by cranet_lane_pack_conv_weights (bias not included;
    /// row kernels may pad the output channels to whole vectors): the storage, which the
    /// bf16 row kernels' weights by channels take half of, as bf16 values two to a float.
    size_t packed_floats;
    /// Row kernels: 1 when vectors run along output channels (small maps of many
    /// channels); cranet_row_conv_images then computes several images at once.
    int by_channels;
    /// 1 when the staged input holds channels in pairs, two bf16 values to a float (the
    /// even channel's in the low half, as VDPBF16PS reads them): every input of the bf16
    /// row kernels on VDPBF16PS, which then load a vector of pixels' pairs, or broadcast
    /// one pixel's, as one operand, pairing each input once rather than once per tile of
    /// output channels.
    /// Such an input is always staged, `staged_floats` counting one float per pair.
    int paired;
} cranet_conv_layout;
/// The layout of a convolution from `in` to `out` with these kernels.
cranet_conv_layout cranet_lane_conv_layout(const cranet_kernels *k, cranet_shape in, cranet_shape out, int kernel,
                                           int stride, int pad);
/// Repacks OIHW convolution weights (out.channels × in × k × k) for cranet_lane_conv
/// with these kernels, into the layout's packed_floats floats.
void cranet_lane_pack_conv_weights(const cranet_kernels *k, const float *oihw, int in_channels, cranet_shape out,
                                   int kernel, int stride, float *packed);
/// Stages a convolution's input: a copy with `pad` rows and columns of zeros around
/// each channel (its inner loops then never test for edges), in the arrangement the
/// convolution of this stride reads (row kernels split a strided input into phase
/// planes, so that every tap is a contiguous load), in pairs of channels where the
/// layout says `paired`. Planes (channels, or pairs of channels) before `first` are left
/// as they are: an earlier call staged them from the same channels. Share `part` of
/// `parts`: a range of the planes from `first` on.
void cranet_lane_stage(const cranet_kernels *k, const float *src, cranet_shape s, int pad, int stride, int paired,
                       float *dst, int first, int part, int parts);
/// Floats past the end of its input a convolution may read (and ignore): the row
/// kernels read whole vectors even for a map smaller than one. Buffers that inputs
/// live in (staged or not) need this many more floats at their end.
size_t cranet_lane_overread_floats(const cranet_kernels *k);
/// What a lane or row convolution stores.
typedef enum {
    /// Its sums as they are, f32 in every precision: a classifier's logits, a gradient.
    CRANET_OUTPUT_SUMS = 0,
    /// Features for the layers after it: ReLU applied, and rounded to bf16 by CRANET_BF16 kernels.
    CRANET_OUTPUT_FEATURES = 1,
} cranet_conv_output;
/// Square convolution with bias, storing `output`. `src` is the input, staged by
/// cranet_lane_stage where the layout says so, and `s` the layout's read_shape. `dst`
/// must not overlap `src`. Row kernels take kernels up to 8×8.
void cranet_lane_conv(const cranet_kernels *k, const float *src, cranet_shape s, float *dst, cranet_shape d,
                      int kernel, int stride, const float *packed, const float *bias, cranet_conv_output output, int part,
                      int parts);
/// cranet_lane_conv of row kernels over `images` images at once, for a layout with
/// by_channels: src[j] and dst[j] are image j's input (staged where the layout says so)
/// and output. Each weight block is used for every image while it is in cache, so a
/// layer whose weights outweigh an image's map (an ImageNet exit's 3×3 convolutions
/// on 7×7 and 4×4 maps) reads them once for all the images; each image gets the bits
/// cranet_lane_conv gives it alone. Share `part` of `parts`.
void cranet_row_conv_images(const cranet_kernels *k, const float *const *src, cranet_shape s, float *const *dst,
                            cranet_shape d, int images, int kernel, int stride, const float *packed, const float *bias,
                            cranet_conv_output output, int part, int parts);
/// Row kernels: one image's contribution to the weights' gradient of a stride-1
/// convolution with `taps` = 1 or 9 (a 1×1 or 3×3 kernel). `src` is the input staged by
/// cranet_lane_stage (`in_plane` floats per channel, read past its end by up to the
/// largest tap plus cranet_lane_overread_floats), `dout` the output's gradient at the
/// staged pitch with zeros past each row's end (`length` floats per channel), and
/// `tap[t]` tap t's offset in a staged plane. Writes out[(o·in_channels + i)·taps + t].
void cranet_row_conv_weight_gradient(const cranet_kernels *k, const float *dout, int out_channels, size_t length,
                                     const float *src, int in_channels, size_t in_plane, const size_t *tap, int taps,
                                     float *out);
/// Square pooling window with symmetric padding (average: padding excluded); CRANET_BF16
/// kernels round the output to bf16.
void cranet_lane_pool(const cranet_kernels *k, cranet_pool_kind kind, const float *src, cranet_shape s, float *dst,
                      cranet_shape d, int kernel, int stride, int pad, int part, int parts);
/// cranet_resize_bilinear_align_corners in these kernels' layout; CRANET_BF16 kernels round
/// the output to bf16.
void cranet_lane_resize_bilinear_align_corners(const cranet_kernels *k, const float *src, cranet_shape s, float *dst,
                                               cranet_shape d, int part, int parts);
/// Packs `count` ≤ `lanes` tensors of `floats` values each into lane layout; the
/// lanes after `count` are set to zero.
void cranet_lane_pack(int lanes, const float *const *images, int count, size_t floats, float *dst);
/// A network's input as these kernels read it: cranet_lane_pack of `count` images into
/// a group of the table's width, then with CRANET_BF16 rounded to bf16.
void cranet_lane_load(const cranet_kernels *k, const float *const *images, int count, size_t floats, float *dst);
/// Copies lane `lane` of `floats` lane-layout values out to a plain array.
void cranet_lane_unpack(int lanes, const float *src, size_t floats, int lane, float *dst);
/// Spins for `iterations` CPU pause (x86) or yield (arm64) instructions: how a thread that expects work
/// within microseconds waits for it without a trip through the scheduler.
void cranet_spin_pause(int iterations);
/// For each lane l of `dst` with sources[l] ≥ 0, copies lane sources[l] of `src` into
/// it, over `floats` lane-layout values; other lanes are left alone. Early exit moves
/// the images still running into fewer groups with it, one pass per pair of groups.
void cranet_lane_gather(int lanes, const float *src, const int *sources, float *dst, size_t floats);

#ifdef __cplusplus
}
#endif

#endif
