// oneDNN 2.6 C API: primitive creation once, binding to fixed buffers, execution.
// Follows the shape of oneDNN's own C examples: operation descriptor →
// primitive descriptor (with a user-managed scratchpad, so one primitive can run
// from several threads at once) → primitive; constant weights are reordered
// once into the layout the primitive descriptor asks for.
#include "cranet.h"
#include "dnnl_common.h"

#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_CONST_ARGS = 2 };

struct cranet_op {
    dnnl_engine_t engine;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    /// The plain NCHW layouts the caller's buffers have.
    dnnl_memory_desc_t src_md;
    dnnl_memory_desc_t dst_md;
    /// The layouts the primitive computes in, and the reorders from and to the plain
    /// ones (NULL when they are the same).
    dnnl_memory_desc_t inner_src_md;
    dnnl_memory_desc_t inner_dst_md;
    dnnl_primitive_t reorder_in;
    dnnl_primitive_t reorder_out;
    int keep_output_blocked;
    /// In bf16, the output of a pooling or of a convolution on f32 kernels, rounded to bf16
    /// after it runs: `round_images` images of `round_floats` floats, `round_stride` apart
    /// in the caller's destination (no images when nothing is rounded).
    int round_images;
    size_t round_floats;
    size_t round_stride;
    dnnl_memory_desc_t scratchpad_md;
    size_t scratchpad_size;
    int const_count;
    int const_arg[MAX_CONST_ARGS];
    dnnl_memory_t const_mem[MAX_CONST_ARGS];
};

struct cranet_bound_op {
    cranet_op *op;
    void *dst_data;  // the caller's destination buffer
    dnnl_memory_t src;
    dnnl_memory_t dst;
    dnnl_memory_t inner_src;  // this binding's own buffers for the primitive's layouts
    dnnl_memory_t inner_dst;
    dnnl_memory_t scratchpad;
    int nargs;
    dnnl_exec_arg_t args[3 + MAX_CONST_ARGS];
    dnnl_exec_arg_t in_args[2];
    dnnl_exec_arg_t out_args[2];
};

int cranet_engine_create(cranet_engine **out, char *err, size_t err_len) {
    cranet_engine *e = calloc(1, sizeof *e);
    if (!e) return fail(err, err_len, "out of memory creating the engine");
    dnnl_status_t s = dnnl_engine_create(&e->engine, dnnl_cpu, 0);
    if (s != dnnl_success) {
        free(e);
        return fail(err, err_len, "oneDNN: no CPU engine (status %d)", (int)s);
    }
    *out = e;
    return 0;
}

void cranet_engine_destroy(cranet_engine *engine) {
    if (!engine) return;
    dnnl_engine_destroy(engine->engine);
    free(engine);
}

int cranet_stream_create(cranet_engine *engine, cranet_stream **out, char *err, size_t err_len) {
    cranet_stream *s = calloc(1, sizeof *s);
    if (!s) return fail(err, err_len, "out of memory creating a stream");
    dnnl_status_t st = dnnl_stream_create(&s->stream, engine->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        free(s);
        return fail(err, err_len, "oneDNN: stream creation failed (status %d)", (int)st);
    }
    *out = s;
    return 0;
}

void cranet_stream_destroy(cranet_stream *stream) {
    if (!stream) return;
    dnnl_stream_destroy(stream->stream);
    free(stream);
}

static void init_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims) {
    static const dnnl_format_tag_t tags[] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd};
    dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tags[ndims]);
}

static void op_free(cranet_op *op) {
    if (!op) return;
    for (int i = 0; i < op->const_count; i++) dnnl_memory_destroy(op->const_mem[i]);
    if (op->reorder_in) dnnl_primitive_destroy(op->reorder_in);
    if (op->reorder_out) dnnl_primitive_destroy(op->reorder_out);
    if (op->primitive) dnnl_primitive_destroy(op->primitive);
    if (op->pd) dnnl_primitive_desc_destroy(op->pd);
    free(op);
}

// Copies `data` (plain layout `user_md`) into a new memory in the layout the
// primitive descriptor wants for weights argument `weights_index` (0 weights,
// 1 bias), and records it as a constant argument.
static int add_constant(cranet_op *op, int arg, int weights_index, const dnnl_memory_desc_t *user_md,
                        const float *data, char *err, size_t err_len) {
    const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(op->pd, dnnl_query_weights_md, weights_index);
    dnnl_memory_t user = NULL, mem = NULL;
    DNNL_TRY(dnnl_memory_create(&user, user_md, op->engine, (void *)data), "memory for parameters");
    if (dnnl_memory_desc_equal(want, user_md)) {
        // Same layout: still copy, so the caller's buffer may be freed.
        dnnl_status_t s = dnnl_memory_create(&mem, want, op->engine, DNNL_MEMORY_ALLOCATE);
        if (s == dnnl_success) {
            void *dst = NULL;
            dnnl_memory_get_data_handle(mem, &dst);
            memcpy(dst, data, dnnl_memory_desc_get_size(want));
        }
        dnnl_memory_destroy(user);
        if (s != dnnl_success) return fail(err, err_len, "oneDNN: parameter memory (status %d)", (int)s);
    } else {
        dnnl_primitive_desc_t rpd = NULL;
        dnnl_primitive_t reorder = NULL;
        dnnl_stream_t stream = NULL;
        dnnl_status_t s = dnnl_memory_create(&mem, want, op->engine, DNNL_MEMORY_ALLOCATE);
        if (s == dnnl_success)
            s = dnnl_reorder_primitive_desc_create(&rpd, user_md, op->engine, want, op->engine, NULL);
        if (s == dnnl_success) s = dnnl_primitive_create(&reorder, rpd);
        if (s == dnnl_success) s = dnnl_stream_create(&stream, op->engine, dnnl_stream_default_flags);
        if (s == dnnl_success) {
            // The primitive was planned for the caller's thread count, but this tiny reorder
            // runs alone: an OpenMP team made here would stay attached to the loading
            // thread, and its spinning threads slow every later call on a busy CPU.
            int threads = cranet_max_threads();
            cranet_set_num_threads(1);
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem}};
            s = dnnl_primitive_execute(reorder, stream, 2, args);
            if (s == dnnl_success) s = dnnl_stream_wait(stream);
            cranet_set_num_threads(threads);
        }
        if (stream) dnnl_stream_destroy(stream);
        if (reorder) dnnl_primitive_destroy(reorder);
        if (rpd) dnnl_primitive_desc_destroy(rpd);
        dnnl_memory_destroy(user);
        if (s != dnnl_success) {
            if (mem) dnnl_memory_destroy(mem);
            return fail(err, err_len, "oneDNN: reordering parameters failed (status %d)", (int)s);
        }
    }
    op->const_arg[op->const_count] = arg;
    op->const_mem[op->const_count] = mem;
    op->const_count++;
    return 0;
}

// The weights argument: as given in f32; for bf16 values rounded first (cranet_round_bf16),
// so that oneDNN's conversion into its bf16 layout is exact, or its f32 layout holds them
// on the bf16 grid: either way the kernels' values.
static int add_weights(cranet_op *op, const dnnl_memory_desc_t *user_md, const float *weights, cranet_onednn_kernels kernels,
                       char *err, size_t err_len) {
    if (kernels == CRANET_ONEDNN_F32) return add_constant(op, DNNL_ARG_WEIGHTS, 0, user_md, weights, err, err_len);
    const size_t n = dnnl_memory_desc_get_size(user_md) / sizeof(float);
    float *rounded = malloc(n * sizeof *rounded);
    if (!rounded) return fail(err, err_len, "out of memory rounding weights to bf16");
    cranet_round_bf16(weights, rounded, n);
    const int rc = add_constant(op, DNNL_ARG_WEIGHTS, 0, user_md, rounded, err, err_len);
    free(rounded);
    return rc;
}

static int make_reorder(cranet_op *op, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        dnnl_primitive_t *out, char *err, size_t err_len) {
    dnnl_primitive_desc_t rpd = NULL;
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&rpd, from, op->engine, to, op->engine, NULL), "layout reorder");
    dnnl_status_t s = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    if (s != dnnl_success) return fail(err, err_len, "oneDNN: layout reorder creation failed (status %d)", (int)s);
    return 0;
}

// Shared tail of every constructor: primitive descriptor with a user-managed
// scratchpad (and optional fused ReLU), then the primitive itself.
static int finish_op(cranet_op *op, const void *op_desc, int relu, char *err, size_t err_len) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    DNNL_TRY(dnnl_primitive_attr_create(&attr), "attribute creation");
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && relu) {
        s = dnnl_post_ops_create(&post_ops);
        if (s == dnnl_success) s = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, post_ops);
    }
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&op->pd, op_desc, attr, op->engine, NULL);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return fail(err, err_len, "oneDNN: no implementation for this operation (status %d)", (int)s);
    DNNL_TRY(dnnl_primitive_create(&op->primitive, op->pd), "primitive creation");
    op->scratchpad_md = *dnnl_primitive_desc_query_md(op->pd, dnnl_query_scratchpad_md, 0);
    op->scratchpad_size = dnnl_memory_desc_get_size(&op->scratchpad_md);
    op->inner_src_md = *dnnl_primitive_desc_query_md(op->pd, dnnl_query_src_md, 0);
    op->inner_dst_md = *dnnl_primitive_desc_query_md(op->pd, dnnl_query_dst_md, 0);
    if (op->keep_output_blocked) op->dst_md = op->inner_dst_md;
    if (!dnnl_memory_desc_equal(&op->inner_src_md, &op->src_md) &&
        make_reorder(op, &op->src_md, &op->inner_src_md, &op->reorder_in, err, err_len))
        return 1;
    if (!dnnl_memory_desc_equal(&op->inner_dst_md, &op->dst_md) &&
        make_reorder(op, &op->inner_dst_md, &op->dst_md, &op->reorder_out, err, err_len))
        return 1;
    return 0;
}

// Rounds the destination to bf16 after each run (struct cranet_op's round_images).
static void round_after(cranet_op *op, int images, size_t floats, size_t stride) {
    op->round_images = images;
    op->round_floats = floats;
    op->round_stride = stride;
}

static cranet_op *op_alloc(cranet_engine *engine) {
    cranet_op *op = calloc(1, sizeof *op);
    if (op) op->engine = engine->engine;
    return op;
}

int cranet_conv_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                       int kernel, int stride, int pad,
                       const float *weights, const float *bias, int relu, int blocked,
                       const cranet_op *input_from, int keep_output_blocked, cranet_onednn_kernels kernels,
                       cranet_op **out, char *err, size_t err_len) {
    if ((input_from || keep_output_blocked) && !blocked)
        return fail(err, err_len, "convolution: only blocked convolutions chain in blocked layouts");
    if (kernels == CRANET_ONEDNN_BF16 && !blocked)
        return fail(err, err_len, "convolution: bf16 computes in blocked layouts only");
    if (kernels == CRANET_ONEDNN_BF16 && !cranet_onednn_runs_bf16())
        return fail(err, err_len, "convolution: oneDNN runs bf16 only on AVX-512 CPUs");
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || kernel <= 0 || stride <= 0 || pad < 0 ||
        !weights)
        return fail(err, err_len, "convolution: invalid arguments");
    if (src.height + 2 * pad < kernel || src.width + 2 * pad < kernel ||
        (src.height + 2 * pad - kernel) / stride + 1 != dst.height ||
        (src.width + 2 * pad - kernel) / stride + 1 != dst.width)
        return fail(err, err_len, "convolution: output %dx%d does not follow from input %dx%d",
                    dst.height, dst.width, src.height, src.width);
    cranet_op *op = op_alloc(engine);
    if (!op) return fail(err, err_len, "out of memory");
    view_md(&op->src_md, src);
    view_md(&op->dst_md, dst);
    dnnl_dims_t wdims = {dst.channels, src.channels, kernel, kernel};
    dnnl_dims_t bdims = {dst.channels};
    const dnnl_data_type_t operands = kernels == CRANET_ONEDNN_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t w_any, w_user, b_md;
    dnnl_memory_desc_init_by_tag(&w_any, 4, wdims, operands, dnnl_format_tag_any);
    init_plain(&w_user, 4, wdims);
    init_plain(&b_md, 1, bdims);
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    dnnl_memory_desc_t src_any = op->src_md, dst_any = op->dst_md;
    if (blocked) {
        dnnl_dims_t sdims = {src.batch, src.channels, src.height, src.width};
        dnnl_dims_t ddims = {dst.batch, dst.channels, dst.height, dst.width};
        dnnl_memory_desc_init_by_tag(&src_any, 4, sdims, operands, dnnl_format_tag_any);
        // In bf16 the output is bf16 too: the features every later layer reads are rounded
        // (the reorder back to plain NCHW widens them to f32 exactly).
        dnnl_memory_desc_init_by_tag(&dst_any, 4, ddims, operands, dnnl_format_tag_any);
        if (input_from) src_any = input_from->inner_dst_md;
    }
    dnnl_convolution_desc_t desc;
    int rc = 1;
    if (dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                           &src_any, &w_any, bias ? &b_md : NULL, &dst_any,
                                           strides, padding, padding) != dnnl_success)
        fail(err, err_len, "oneDNN: convolution descriptor rejected");
    else {
        // Chained convolutions take and give their blocked layouts as they are.
        if (input_from) op->src_md = input_from->inner_dst_md;
        op->keep_output_blocked = keep_output_blocked;
        if (!finish_op(op, &desc, relu, err, err_len) &&
            !add_weights(op, &w_user, weights, kernels, err, err_len) &&
            (!bias || !add_constant(op, DNNL_ARG_BIAS, 1, &b_md, bias, err, err_len)))
            rc = 0;
        if (!rc && kernels == CRANET_ONEDNN_F32_ON_BF16) {
            // A blocked output kept for the next convolution is rounded whole (its padding
            // channels are zeros, which rounding keeps).
            if (keep_output_blocked)
                round_after(op, 1, dnnl_memory_desc_get_size(&op->dst_md) / sizeof(float), 0);
            else
                round_after(op, dst.batch, (size_t)dst.channels * dst.height * dst.width, dst.image_stride);
        }
    }
    if (rc) {
        op_free(op);
        return 1;
    }
    *out = op;
    return 0;
}

int cranet_pool_create(cranet_engine *engine, cranet_pool_kind kind, cranet_batch_view src, cranet_batch_view dst,
                       int kernel, int stride, int pad, cranet_precision precision, cranet_op **out, char *err,
                       size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || kernel <= 0 || stride <= 0 || pad < 0 ||
        src.channels != dst.channels || src.batch != dst.batch)
        return fail(err, err_len, "pooling: invalid arguments");
    cranet_op *op = op_alloc(engine);
    if (!op) return fail(err, err_len, "out of memory");
    view_md(&op->src_md, src);
    view_md(&op->dst_md, dst);
    if (precision == CRANET_BF16) round_after(op, dst.batch, (size_t)dst.channels * dst.height * dst.width, dst.image_stride);
    dnnl_dims_t strides = {stride, stride}, kernels = {kernel, kernel}, padding = {pad, pad};
    dnnl_pooling_desc_t desc;
    dnnl_alg_kind_t alg = kind == CRANET_POOL_MAX ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
    int rc = 1;
    if (dnnl_pooling_forward_desc_init(&desc, dnnl_forward_inference, alg, &op->src_md, &op->dst_md,
                                       strides, kernels, padding, padding) != dnnl_success)
        fail(err, err_len, "oneDNN: pooling descriptor rejected");
    else
        rc = finish_op(op, &desc, 0, err, err_len);
    if (rc) {
        op_free(op);
        return 1;
    }
    *out = op;
    return 0;
}

int cranet_inner_product_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                                const float *weights, const float *bias, cranet_onednn_kernels kernels,
                                cranet_op **out, char *err, size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || src.height != 1 || src.width != 1 ||
        dst.height != 1 || dst.width != 1 || !weights)
        return fail(err, err_len, "inner product: invalid arguments");
    if (kernels == CRANET_ONEDNN_BF16 && !cranet_onednn_runs_bf16())
        return fail(err, err_len, "inner product: oneDNN runs bf16 only on AVX-512 CPUs");
    cranet_op *op = op_alloc(engine);
    if (!op) return fail(err, err_len, "out of memory");
    const int in_features = src.channels, out_features = dst.channels;
    dnnl_dims_t wdims = {out_features, in_features}, bdims = {out_features};
    rows_md(&op->src_md, src);
    rows_md(&op->dst_md, dst);
    const dnnl_data_type_t operands = kernels == CRANET_ONEDNN_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t w_any, w_user, b_md, src_md = op->src_md;
    dnnl_memory_desc_init_by_tag(&w_any, 2, wdims, operands, dnnl_format_tag_any);
    init_plain(&w_user, 2, wdims);
    init_plain(&b_md, 1, bdims);
    // In bf16 the source is read through a reorder that rounds it (finish_op makes it).
    if (kernels == CRANET_ONEDNN_BF16) dnnl_memory_desc_init_by_tag(&src_md, 2, (dnnl_dims_t){src.batch, in_features}, dnnl_bf16, dnnl_ab);
    dnnl_inner_product_desc_t desc;
    int rc = 1;
    if (dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference, &src_md, &w_any,
                                             bias ? &b_md : NULL, &op->dst_md) != dnnl_success)
        fail(err, err_len, "oneDNN: inner product descriptor rejected");
    else if (!finish_op(op, &desc, 0, err, err_len) &&
             !add_weights(op, &w_user, weights, kernels, err, err_len) &&
             (!bias || !add_constant(op, DNNL_ARG_BIAS, 1, &b_md, bias, err, err_len)))
        rc = 0;
    if (rc) {
        op_free(op);
        return 1;
    }
    *out = op;
    return 0;
}

size_t cranet_op_scratchpad_size(const cranet_op *op) { return op->scratchpad_size; }

int cranet_op_reorders(const cranet_op *op) { return (op->reorder_in != NULL) + (op->reorder_out != NULL); }

size_t cranet_op_dst_bytes(const cranet_op *op) { return dnnl_memory_desc_get_size(&op->dst_md); }

void cranet_op_destroy(cranet_op *op) { op_free(op); }

static void bound_free(cranet_bound_op *b) {
    if (!b) return;
    if (b->src) dnnl_memory_destroy(b->src);
    if (b->dst) dnnl_memory_destroy(b->dst);
    if (b->inner_src) dnnl_memory_destroy(b->inner_src);
    if (b->inner_dst) dnnl_memory_destroy(b->inner_dst);
    if (b->scratchpad) dnnl_memory_destroy(b->scratchpad);
    free(b);
}

int cranet_op_bind(cranet_op *op, const float *src, float *dst, void *scratchpad,
                   cranet_bound_op **out, char *err, size_t err_len) {
    if (!src || !dst || (op->scratchpad_size && !scratchpad))
        return fail(err, err_len, "bind: missing buffer");
    cranet_bound_op *b = calloc(1, sizeof *b);
    if (!b) return fail(err, err_len, "out of memory");
    b->op = op;
    b->dst_data = dst;
    dnnl_status_t s = dnnl_memory_create(&b->src, &op->src_md, op->engine, (void *)src);
    if (s == dnnl_success) s = dnnl_memory_create(&b->dst, &op->dst_md, op->engine, dst);
    if (s == dnnl_success && op->scratchpad_size)
        s = dnnl_memory_create(&b->scratchpad, &op->scratchpad_md, op->engine, scratchpad);
    if (s != dnnl_success) {
        bound_free(b);
        return fail(err, err_len, "oneDNN: binding buffers failed (status %d)", (int)s);
    }
    if (s == dnnl_success && op->reorder_in)
        s = dnnl_memory_create(&b->inner_src, &op->inner_src_md, op->engine, DNNL_MEMORY_ALLOCATE);
    if (s == dnnl_success && op->reorder_out)
        s = dnnl_memory_create(&b->inner_dst, &op->inner_dst_md, op->engine, DNNL_MEMORY_ALLOCATE);
    if (s != dnnl_success) {
        bound_free(b);
        return fail(err, err_len, "oneDNN: binding buffers failed (status %d)", (int)s);
    }
    dnnl_memory_t src_mem = b->inner_src ? b->inner_src : b->src;
    dnnl_memory_t dst_mem = b->inner_dst ? b->inner_dst : b->dst;
    b->in_args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, b->src};
    b->in_args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, src_mem};
    b->out_args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, dst_mem};
    b->out_args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, b->dst};
    b->args[b->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src_mem};
    b->args[b->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst_mem};
    if (b->scratchpad) b->args[b->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, b->scratchpad};
    for (int i = 0; i < op->const_count; i++)
        b->args[b->nargs++] = (dnnl_exec_arg_t){op->const_arg[i], op->const_mem[i]};
    *out = b;
    return 0;
}

int cranet_bound_op_execute(cranet_bound_op *bound, cranet_stream *stream, char *err, size_t err_len) {
    const cranet_op *op = bound->op;
    if (op->reorder_in)
        DNNL_TRY(dnnl_primitive_execute(op->reorder_in, stream->stream, 2, bound->in_args), "layout reorder");
    DNNL_TRY(dnnl_primitive_execute(op->primitive, stream->stream, bound->nargs, bound->args),
             "primitive execution");
    if (op->reorder_out)
        DNNL_TRY(dnnl_primitive_execute(op->reorder_out, stream->stream, 2, bound->out_args), "layout reorder");
    DNNL_TRY(dnnl_stream_wait(stream->stream), "stream wait");
    for (int n = 0; n < op->round_images; n++) {
        float *image = (float *)bound->dst_data + (size_t)n * op->round_stride;
        cranet_round_bf16(image, image, op->round_floats);
    }
    return 0;
}

void cranet_bound_op_destroy(cranet_bound_op *bound) { bound_free(bound); }

int cranet_onednn_runs_bf16(void) {
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

int cranet_onednn_vector_bits(void) {
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core) return 512;
    if ((isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2) return 256;
    if ((isa & dnnl_cpu_isa_sse41) == dnnl_cpu_isa_sse41) return 128;
    return 0;
}
