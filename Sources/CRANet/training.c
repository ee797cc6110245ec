// Training layers on oneDNN 2.6 and, for convolutions of few channels, the row kernels
// (rows/row_training.h; conv_on_rows), behind cranet_training.h. Each layer is two lists of
// steps (primitives with their arguments bound once): forward and backward. The
// caller's buffers are memory objects without data whose handles are set per call;
// everything else (the layouts the primitives chose, saved activations, workspaces)
// is owned by the layer. A reorder step appears only where two layouts differ, or
// where a gradient is summed into a view.
#include "cranet_training.h"
#include "onednn/dnnl_common.h"
#include "rows/row_training.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Batch norm's kernels are compiled for the widest vectors the CPU has (chosen once, at
// load time). No multiply-add is fused and the sums keep their order, so every width
// gives the same bits (gcc: -ffp-contract=off in CMakeLists.txt).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CRANET_TSAN 1
#endif
#endif
#ifdef __SANITIZE_THREAD__
#define CRANET_TSAN 1
#endif
// (Not under ThreadSanitizer: the clones' resolver runs before its runtime is up.)
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(CRANET_TSAN)
#define WIDEST_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDEST_VECTORS
#endif

enum slot {
    SLOT_SRC, SLOT_DST, SLOT_WEIGHTS, SLOT_BIAS, SLOT_GAMMA, SLOT_BETA,
    SLOT_DIFF_SRC, SLOT_DIFF_DST, SLOT_DIFF_WEIGHTS, SLOT_DIFF_BIAS, SLOT_DIFF_GAMMA, SLOT_DIFF_BETA,
    SLOT_COUNT
};

enum { MAX_ARGS = 10, MAX_STEPS = 12, MAX_OWNED = 24 };

/// A batch norm of the project's own (see bn_relu_forward).
typedef struct {
    int batch, channels, plane;  // plane = height × width
    size_t image_stride;         // of the output view
    float eps;
    float *mean, *invstd;        // saved by forward for backward
    float *var_sum;              // Σ (x − mean)², for the running variance
} bn_shape;


struct cranet_train_layer;

typedef struct {
    dnnl_primitive_t primitive;
    /// A step of the project's own instead of a primitive.
    void (*function)(struct cranet_train_layer *);
    int nargs;
    dnnl_exec_arg_t args[MAX_ARGS];
    /// Only needed for the gradient of the layer's input (skipped when diff_src is NULL).
    int for_diff_src;
} step;

typedef struct {
    step steps[MAX_STEPS];
    int count;
} step_list;

struct cranet_train_layer {
    dnnl_engine_t engine;
    dnnl_memory_t slot[SLOT_COUNT];
    dnnl_memory_t owned[MAX_OWNED];
    int owned_count;
    step_list forward, backward;
    /// Convolutions: batch norm's shape and saved statistics, and the dense buffers of
    /// the convolution's output and of its gradient (NULL for other layers).
    bn_shape bn;
    dnnl_memory_t conv_out, diff_conv_out;
    /// Convolutions on the row kernels instead of oneDNN (conv_on_rows), else NULL.
    row_conv *rows;
    /// Resizes: the two views.
    cranet_batch_view resize_src, resize_dst;
    int channels;
};

static void destroy_steps(step_list *list) {
    for (int i = 0; i < list->count; i++)
        if (list->steps[i].primitive) dnnl_primitive_destroy(list->steps[i].primitive);
    list->count = 0;
}

void cranet_train_layer_destroy(cranet_train_layer *layer) {
    if (!layer) return;
    destroy_steps(&layer->forward);
    destroy_steps(&layer->backward);
    for (int i = 0; i < SLOT_COUNT; i++)
        if (layer->slot[i]) dnnl_memory_destroy(layer->slot[i]);
    for (int i = 0; i < layer->owned_count; i++) dnnl_memory_destroy(layer->owned[i]);
    row_conv_destroy(layer->rows);
    free(layer);
}

int cranet_train_layer_on_rows(const cranet_train_layer *layer) { return layer->rows != NULL; }

size_t cranet_train_layer_bytes(const cranet_train_layer *layer) {
    size_t bytes = 0;
    for (int i = 0; i < layer->owned_count; i++) {
        const dnnl_memory_desc_t *md = NULL;
        dnnl_memory_get_memory_desc(layer->owned[i], &md);
        bytes += dnnl_memory_desc_get_size(md);
    }
    if (layer->rows) bytes += row_conv_bytes(layer->rows);
    return bytes;
}

static void vector_md(dnnl_memory_desc_t *md, int n) {
    dnnl_dims_t dims = {n};
    dnnl_memory_desc_init_by_tag(md, 1, dims, dnnl_f32, dnnl_a);
}

/// A memory object for one of the caller's buffers (its handle is set per call).
static int user_memory(cranet_train_layer *L, enum slot s, const dnnl_memory_desc_t *md, char *err, size_t err_len) {
    DNNL_TRY(dnnl_memory_create(&L->slot[s], md, L->engine, DNNL_MEMORY_NONE), "memory for a buffer");
    return 0;
}

static int owned_memory(cranet_train_layer *L, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err,
                        size_t err_len) {
    if (L->owned_count == MAX_OWNED) return fail(err, err_len, "training layer: too many buffers");
    DNNL_TRY(dnnl_memory_create(out, md, L->engine, DNNL_MEMORY_ALLOCATE), "memory allocation");
    L->owned[L->owned_count++] = *out;
    // Zeroed once: padded blocked layouts keep zeros in their padding, which some
    // kernels read (a fresh allocation's leftovers would change results run to run).
    void *data = NULL;
    DNNL_TRY(dnnl_memory_get_data_handle(*out, &data), "memory allocation");
    memset(data, 0, dnnl_memory_desc_get_size(md));
    return 0;
}

static int add_step(step_list *list, dnnl_primitive_t primitive, int for_diff_src, int nargs,
                    const dnnl_exec_arg_t *args, char *err, size_t err_len) {
    if (list->count == MAX_STEPS || nargs > MAX_ARGS) {
        dnnl_primitive_destroy(primitive);
        return fail(err, err_len, "training layer: too many steps");
    }
    step *s = &list->steps[list->count++];
    s->primitive = primitive;
    s->nargs = nargs;
    s->for_diff_src = for_diff_src;
    memcpy(s->args, args, sizeof(dnnl_exec_arg_t) * nargs);
    return 0;
}

static int add_function(step_list *list, void (*function)(struct cranet_train_layer *), int for_diff_src, char *err,
                        size_t err_len) {
    if (list->count == MAX_STEPS) return fail(err, err_len, "training layer: too many steps");
    list->steps[list->count++] = (step){.function = function, .for_diff_src = for_diff_src};
    return 0;
}

/// Creates the primitive of `pd` (then destroys `pd`) and appends it as a step.
static int add_primitive(step_list *list, dnnl_primitive_desc_t pd, int for_diff_src, int nargs,
                         const dnnl_exec_arg_t *args, char *err, size_t err_len) {
    dnnl_primitive_t p = NULL;
    dnnl_status_t s = dnnl_primitive_create(&p, pd);
    if (s != dnnl_success) return fail(err, err_len, "oneDNN: primitive creation failed (status %d)", (int)s);
    return add_step(list, p, for_diff_src, nargs, args, err, err_len);
}

static const dnnl_memory_desc_t *md_of(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

/// A reorder step from `from` to `to`; with `accumulate`, `to` += the reordered `from`.
static int add_reorder(cranet_train_layer *L, step_list *list, dnnl_memory_t from, dnnl_memory_t to,
                       int accumulate, int for_diff_src, char *err, size_t err_len) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success && accumulate) {
        s = dnnl_post_ops_create(&ops);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(ops, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, md_of(from), L->engine, md_of(to), L->engine, attr);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return fail(err, err_len, "oneDNN: reorder between layouts rejected (status %d)", (int)s);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    int rc = add_primitive(list, pd, for_diff_src, 2, args, err, err_len);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

/// `source` in layout `want`: itself when it has it, else a buffer of the layer's filled
/// by a reorder step appended to `list`.
static int staged_in(cranet_train_layer *L, step_list *list, dnnl_memory_t source, const dnnl_memory_desc_t *want,
                     int for_diff_src, dnnl_memory_t *out, char *err, size_t err_len) {
    if (dnnl_memory_desc_equal(md_of(source), want)) {
        *out = source;
        return 0;
    }
    if (owned_memory(L, want, out, err, err_len)) return 1;
    return add_reorder(L, list, source, *out, 0, for_diff_src, err, err_len);
}

/// Where a primitive writes an output bound for `target`: `target` itself when it has
/// layout `want`, else a buffer of the layer's (the caller appends the reorder after).
static int staged_out(cranet_train_layer *L, dnnl_memory_t target, const dnnl_memory_desc_t *want, dnnl_memory_t *out,
                      char *err, size_t err_len) {
    if (dnnl_memory_desc_equal(md_of(target), want)) {
        *out = target;
        return 0;
    }
    return owned_memory(L, want, out, err, err_len);
}

static int make_pd(dnnl_primitive_desc_t *pd, const void *desc, dnnl_engine_t engine, const_dnnl_primitive_desc_t hint,
                   const char *what, char *err, size_t err_len) {
    dnnl_status_t s = dnnl_primitive_desc_create(pd, desc, NULL, engine, hint);
    if (s != dnnl_success) return fail(err, err_len, "oneDNN: no implementation for %s (status %d)", what, (int)s);
    return 0;
}

static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index) {
    return dnnl_primitive_desc_query_md(pd, what, index);
}

static cranet_train_layer *layer_alloc(cranet_engine *engine) {
    cranet_train_layer *L = calloc(1, sizeof *L);
    if (L) L->engine = engine->engine;
    return L;
}

static void any_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims) {
    dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, dnnl_format_tag_any);
}

/// The weighted part shared by convolutions and linear layers: forward (src staged,
/// weights staged from torch's layout), backward weights and backward data, given
/// the three operation descriptors. `fwd_dst` receives the forward's output buffer
/// (in the primitive's layout) and `diff_dst` is the gradient in any layout, which is
/// staged for each backward primitive.
typedef struct {
    dnnl_primitive_desc_t fwd, bwd_weights, bwd_data;
} weighted_pds;

static void weighted_pds_destroy(weighted_pds *p) {
    if (p->fwd) dnnl_primitive_desc_destroy(p->fwd);
    if (p->bwd_weights) dnnl_primitive_desc_destroy(p->bwd_weights);
    if (p->bwd_data) dnnl_primitive_desc_destroy(p->bwd_data);
}

static int weighted_create(cranet_train_layer *L, const void *fwd_desc, const void *bwd_weights_desc,
                           const void *bwd_data_desc, int has_bias, dnnl_memory_t fwd_dst, dnnl_memory_t diff_dst,
                           char *err, size_t err_len) {
    weighted_pds p = {0};
    int rc = 1;
    dnnl_memory_t src, weights, dst, bw_src, bw_diff_dst, diff_weights, bd_weights, bd_diff_dst, diff_src;
    if (make_pd(&p.fwd, fwd_desc, L->engine, NULL, "the forward pass", err, err_len) ||
        make_pd(&p.bwd_weights, bwd_weights_desc, L->engine, p.fwd, "the weights' gradient", err, err_len) ||
        make_pd(&p.bwd_data, bwd_data_desc, L->engine, p.fwd, "the input's gradient", err, err_len))
        goto done;
    // Forward: src and weights staged, output into fwd_dst (or a buffer reordered into it).
    if (staged_in(L, &L->forward, L->slot[SLOT_SRC], query(p.fwd, dnnl_query_src_md, 0), 0, &src, err, err_len) ||
        staged_in(L, &L->forward, L->slot[SLOT_WEIGHTS], query(p.fwd, dnnl_query_weights_md, 0), 0, &weights, err,
                  err_len))
        goto done;
    if (staged_out(L, fwd_dst, query(p.fwd, dnnl_query_dst_md, 0), &dst, err, err_len)) goto done;
    {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
                                   {DNNL_ARG_BIAS, L->slot[SLOT_BIAS]}};
        if (add_primitive(&L->forward, p.fwd, 0, has_bias ? 4 : 3, args, err, err_len)) goto done;
    }
    if (dst != fwd_dst && add_reorder(L, &L->forward, dst, fwd_dst, 0, 0, err, err_len)) goto done;
    // Backward weights: reads the forward's staged src.
    if (staged_in(L, &L->backward, src, query(p.bwd_weights, dnnl_query_src_md, 0), 0, &bw_src, err, err_len) ||
        staged_in(L, &L->backward, diff_dst, query(p.bwd_weights, dnnl_query_diff_dst_md, 0), 0, &bw_diff_dst, err,
                  err_len) ||
        staged_out(L, L->slot[SLOT_DIFF_WEIGHTS], query(p.bwd_weights, dnnl_query_diff_weights_md, 0), &diff_weights,
                   err, err_len))
        goto done;
    {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, bw_src}, {DNNL_ARG_DIFF_DST, bw_diff_dst},
                                   {DNNL_ARG_DIFF_WEIGHTS, diff_weights}, {DNNL_ARG_DIFF_BIAS, L->slot[SLOT_DIFF_BIAS]}};
        if (add_primitive(&L->backward, p.bwd_weights, 0, has_bias ? 4 : 3, args, err, err_len)) goto done;
    }
    if (diff_weights != L->slot[SLOT_DIFF_WEIGHTS] &&
        add_reorder(L, &L->backward, diff_weights, L->slot[SLOT_DIFF_WEIGHTS], 0, 0, err, err_len))
        goto done;
    // Backward data: the forward's staged weights, the gradient as staged for the weights'
    // gradient when the layouts agree; the result is summed into diff_src.
    const dnnl_memory_desc_t *bd_diff_dst_md = query(p.bwd_data, dnnl_query_diff_dst_md, 0);
    bd_diff_dst = bw_diff_dst;
    if (staged_in(L, &L->backward, weights, query(p.bwd_data, dnnl_query_weights_md, 0), 1, &bd_weights, err,
                  err_len) ||
        (!dnnl_memory_desc_equal(md_of(bw_diff_dst), bd_diff_dst_md) &&
         staged_in(L, &L->backward, diff_dst, bd_diff_dst_md, 1, &bd_diff_dst, err, err_len)) ||
        owned_memory(L, query(p.bwd_data, dnnl_query_diff_src_md, 0), &diff_src, err, err_len))
        goto done;
    {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_WEIGHTS, bd_weights}, {DNNL_ARG_DIFF_DST, bd_diff_dst},
                                   {DNNL_ARG_DIFF_SRC, diff_src}};
        if (add_primitive(&L->backward, p.bwd_data, 1, 3, args, err, err_len)) goto done;
    }
    rc = add_reorder(L, &L->backward, diff_src, L->slot[SLOT_DIFF_SRC], 1, 1, err, err_len);
done:
    weighted_pds_destroy(&p);
    return rc;
}

// Batch norm on the batch's statistics, then ReLU, as torch computes them on the CPU
// (batch_norm_kernel.cpp): per channel, sums in double, the per-element arithmetic in
// float in torch's order. oneDNN's batch norm sums in float, in an order that follows
// the thread count; RANet's deep chains of batch norms amplify that difference past
// the authors' numbers within a step, so this one is the project's own.

/// Σ p[i] in double, in eight partial sums (which vectorize; the order of double sums
/// of floats changes nothing a float result can show).
static inline double sum_floats(const float *p, int n) {
    double a[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += p[i];
    return s;
}

/// Σ (p[i] − mean)², each square in float as torch computes it, summed in double.
static inline double square_deviations(const float *p, int n, float mean) {
    double a[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            const float d = p[i + j] - mean;
            a[j] += d * d;
        }
    double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) {
        const float d = p[i] - mean;
        s += d * d;
    }
    return s;
}

/// ReLU's backward as torch's threshold_backward: the gradient where the output is not ≤ 0.
static inline float relu_gradient(float y, float g) { return y <= 0.0f ? 0.0f : g; }

WIDEST_VECTORS static void bn_relu_forward(const bn_shape *s, int c0, int c1, const float *x, float *y, const float *gamma,
                            const float *beta) {
    const size_t n = (size_t)s->batch * s->plane;
    for (int c = c0; c < c1; c++) {
        double sum = 0;
        for (int b = 0; b < s->batch; b++) sum += sum_floats(x + ((size_t)b * s->channels + c) * s->plane, s->plane);
        const float mean = (float)(sum / (double)n);
        double var_sum = 0;
        for (int b = 0; b < s->batch; b++)
            var_sum += square_deviations(x + ((size_t)b * s->channels + c) * s->plane, s->plane, mean);
        // torch keeps the sum of squares as a float before deriving 1/σ from it.
        s->var_sum[c] = (float)var_sum;
        const float invstd = (float)(1.0 / sqrt((double)s->var_sum[c] / (double)n + (double)s->eps));
        s->mean[c] = mean;
        s->invstd[c] = invstd;
        const float alpha = invstd * gamma[c], shift = beta[c] - mean * alpha;
        for (int b = 0; b < s->batch; b++) {
            const float *p = x + ((size_t)b * s->channels + c) * s->plane;
            float *q = y + (size_t)b * s->image_stride + (size_t)c * s->plane;
            for (int i = 0; i < s->plane; i++) {
                const float v = p[i] * alpha + shift;
                q[i] = v <= 0.0f ? 0.0f : v;  // torch's threshold: NaN passes
            }
        }
    }
}

/// `y` is the forward's output (ReLU's mask is y > 0, or NaN), `g` the gradient of y.
WIDEST_VECTORS static void bn_relu_backward(const bn_shape *s, int c0, int c1, const float *x, const float *y, const float *g,
                             const float *gamma, float *dx, float *dgamma, float *dbeta) {
    const size_t n = (size_t)s->batch * s->plane;
    for (int c = c0; c < c1; c++) {
        const float mean = s->mean[c], invstd = s->invstd[c];
        double sum = 0, dotp = 0;
        for (int b = 0; b < s->batch; b++) {
            const float *p = x + ((size_t)b * s->channels + c) * s->plane;
            const float *yy = y + (size_t)b * s->image_stride + (size_t)c * s->plane;
            const float *gg = g + (size_t)b * s->image_stride + (size_t)c * s->plane;
            double a[8] = {0}, d[8] = {0};
            int i = 0;
            for (; i + 8 <= s->plane; i += 8)
                for (int j = 0; j < 8; j++) {
                    const float dy = relu_gradient(yy[i + j], gg[i + j]);
                    a[j] += dy;
                    d[j] += (p[i + j] - mean) * dy;
                }
            double plane_sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            double plane_dot = ((d[0] + d[1]) + (d[2] + d[3])) + ((d[4] + d[5]) + (d[6] + d[7]));
            for (; i < s->plane; i++) {
                const float dy = relu_gradient(yy[i], gg[i]);
                plane_sum += dy;
                plane_dot += (p[i] - mean) * dy;
            }
            sum += plane_sum;
            dotp += plane_dot;
        }
        const float k = (float)dotp * invstd * invstd / (float)n;
        const float grad_mean = (float)(sum / (double)n);
        const float scale = invstd * gamma[c];
        for (int b = 0; b < s->batch; b++) {
            const float *p = x + ((size_t)b * s->channels + c) * s->plane;
            float *q = dx + ((size_t)b * s->channels + c) * s->plane;
            const float *yy = y + (size_t)b * s->image_stride + (size_t)c * s->plane;
            const float *gg = g + (size_t)b * s->image_stride + (size_t)c * s->plane;
            for (int i = 0; i < s->plane; i++) q[i] = (relu_gradient(yy[i], gg[i]) - grad_mean - (p[i] - mean) * k) * scale;
        }
        dgamma[c] = (float)(dotp * invstd);
        dbeta[c] = (float)sum;
    }
}

static void *handle(dnnl_memory_t m) {
    void *p = NULL;
    dnnl_memory_get_data_handle(m, &p);
    return p;
}

/// Share `part` of `parts` of `count` items: [*begin, *end).
static void share(int count, int part, int parts, int *begin, int *end) {
    *begin = (int)((long)count * part / parts);
    *end = (int)((long)count * (part + 1) / parts);
}

// Batch norm's channels are independent: each thread takes a range of them, so the
// result does not depend on the thread count.
static void conv_bn_forward_part(void *ctx, int part, int parts) {
    cranet_train_layer *L = ctx;
    int c0, c1;
    share(L->bn.channels, part, parts, &c0, &c1);
    bn_relu_forward(&L->bn, c0, c1, handle(L->conv_out), handle(L->slot[SLOT_DST]), handle(L->slot[SLOT_GAMMA]),
                    handle(L->slot[SLOT_BETA]));
}

static void conv_bn_backward_part(void *ctx, int part, int parts) {
    cranet_train_layer *L = ctx;
    int c0, c1;
    share(L->bn.channels, part, parts, &c0, &c1);
    bn_relu_backward(&L->bn, c0, c1, handle(L->conv_out), handle(L->slot[SLOT_DST]), handle(L->slot[SLOT_DIFF_DST]),
                     handle(L->slot[SLOT_GAMMA]), handle(L->diff_conv_out), handle(L->slot[SLOT_DIFF_GAMMA]),
                     handle(L->slot[SLOT_DIFF_BETA]));
}

static void conv_bn_forward(cranet_train_layer *L) { cranet_parallel(conv_bn_forward_part, L); }
static void conv_bn_backward(cranet_train_layer *L) { cranet_parallel(conv_bn_backward_part, L); }

// The align-corners resize, image by image on each thread's share of the batch (its
// backward sums into each image's own planes, so the shares never meet).
static void resize_forward_part(void *ctx, int part, int parts) {
    cranet_train_layer *L = ctx;
    const cranet_batch_view s = L->resize_src, d = L->resize_dst;
    const float *src = handle(L->slot[SLOT_SRC]);
    float *dst = handle(L->slot[SLOT_DST]);
    int n0, n1;
    share(s.batch, part, parts, &n0, &n1);
    for (int n = n0; n < n1; n++)
        cranet_resize_bilinear_align_corners(src + n * s.image_stride, s.channels, s.height, s.width,
                                             dst + n * d.image_stride, d.height, d.width);
}

static void resize_backward_part(void *ctx, int part, int parts) {
    cranet_train_layer *L = ctx;
    const cranet_batch_view s = L->resize_src, d = L->resize_dst;
    const float *diff_dst = handle(L->slot[SLOT_DIFF_DST]);
    float *diff_src = handle(L->slot[SLOT_DIFF_SRC]);
    int n0, n1;
    share(s.batch, part, parts, &n0, &n1);
    for (int n = n0; n < n1; n++)
        cranet_resize_bilinear_align_corners_backward(diff_dst + n * d.image_stride, s.channels, d.height, d.width,
                                                      diff_src + n * s.image_stride, s.height, s.width);
}

static void resize_forward(cranet_train_layer *L) { cranet_parallel(resize_forward_part, L); }
static void resize_backward(cranet_train_layer *L) { cranet_parallel(resize_backward_part, L); }

int cranet_train_resize_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                               cranet_train_layer **out, char *err, size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || src.channels != dst.channels)
        return fail(err, err_len, "training resize: invalid shapes");
    cranet_train_layer *L = layer_alloc(engine);
    if (!L) return fail(err, err_len, "out of memory");
    dnnl_memory_desc_t src_md, dst_md;
    view_md(&src_md, src);
    view_md(&dst_md, dst);
    L->resize_src = src;
    L->resize_dst = dst;
    if (user_memory(L, SLOT_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DIFF_DST, &dst_md, err, err_len) ||
        add_function(&L->forward, resize_forward, 0, err, err_len) ||
        add_function(&L->backward, resize_backward, 1, err, err_len)) {
        cranet_train_layer_destroy(L);
        return 1;
    }
    *out = L;
    return 0;
}

// The convolution on the row kernels: steps that call row_training.h's passes on the
// layer's buffers.
static void rows_forward(cranet_train_layer *L) {
    row_conv_forward(L->rows, handle(L->slot[SLOT_SRC]), handle(L->slot[SLOT_WEIGHTS]),
                     L->slot[SLOT_BIAS] ? handle(L->slot[SLOT_BIAS]) : NULL, handle(L->conv_out));
}

static void rows_backward_weights(cranet_train_layer *L) {
    row_conv_backward_weights(L->rows, handle(L->diff_conv_out), handle(L->slot[SLOT_DIFF_WEIGHTS]),
                              L->slot[SLOT_DIFF_BIAS] ? handle(L->slot[SLOT_DIFF_BIAS]) : NULL);
}

static void rows_backward_data(cranet_train_layer *L) {
    row_conv_backward_data(L->rows, handle(L->diff_conv_out), handle(L->slot[SLOT_WEIGHTS]),
                           handle(L->slot[SLOT_DIFF_SRC]));
}

/// Whether a convolution runs on the row kernels rather than oneDNN: stride 1, at most
/// 8 output channels. oneDNN pads channels to its blocks of 16 (8 on AVX2) and reorders
/// every input and gradient into them; the row kernels pad nothing. Measured on the
/// Fashion-MNIST model (batch 64, 2 threads, AMD Zen 4, AVX-512, 2026-12-05): training
/// steps at 596 images/s with oneDNN only, 777 with the row kernels up to 3 output
/// channels, 790 up to 4, 794 up to 8, 647 up to 16, 665 for all.
static int conv_on_rows(const cranet_kernels *rows, cranet_batch_view src, cranet_batch_view dst, int kernel,
                        int stride, int pad) {
    return rows && dst.channels <= 8 && row_conv_supports(src, dst, kernel, stride, pad);
}

static int conv_build(cranet_train_layer *L, const cranet_kernels *rows, cranet_batch_view src, cranet_batch_view dst,
                      int kernel, int stride, int pad, int has_bias, float eps, char *err, size_t err_len) {
    dnnl_memory_desc_t src_md, dst_md, w_md, b_md, c_md, dense_md;
    view_md(&src_md, src);
    view_md(&dst_md, dst);
    dnnl_dims_t wdims = {dst.channels, src.channels, kernel, kernel};
    dnnl_memory_desc_init_by_tag(&w_md, 4, wdims, dnnl_f32, dnnl_abcd);
    vector_md(&b_md, dst.channels);
    vector_md(&c_md, dst.channels);
    dnnl_dims_t sdims = {src.batch, src.channels, src.height, src.width};
    dnnl_dims_t ddims = {dst.batch, dst.channels, dst.height, dst.width};
    dnnl_memory_desc_init_by_tag(&dense_md, 4, ddims, dnnl_f32, dnnl_abcd);
    if (user_memory(L, SLOT_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_WEIGHTS, &w_md, err, err_len) || user_memory(L, SLOT_GAMMA, &c_md, err, err_len) ||
        user_memory(L, SLOT_BETA, &c_md, err, err_len) || user_memory(L, SLOT_DIFF_SRC, &src_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_WEIGHTS, &w_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_GAMMA, &c_md, err, err_len) || user_memory(L, SLOT_DIFF_BETA, &c_md, err, err_len))
        return 1;
    if (has_bias && (user_memory(L, SLOT_BIAS, &b_md, err, err_len) ||
                     user_memory(L, SLOT_DIFF_BIAS, &b_md, err, err_len)))
        return 1;
    dnnl_memory_t mean, invstd, var_sum;
    if (owned_memory(L, &dense_md, &L->conv_out, err, err_len) ||
        owned_memory(L, &dense_md, &L->diff_conv_out, err, err_len) ||
        owned_memory(L, &c_md, &mean, err, err_len) || owned_memory(L, &c_md, &invstd, err, err_len) ||
        owned_memory(L, &c_md, &var_sum, err, err_len))
        return 1;
    L->bn = (bn_shape){dst.batch, dst.channels, dst.height * dst.width, dst.image_stride, eps, handle(mean),
                       handle(invstd), handle(var_sum)};
    L->channels = dst.channels;
    // Backward runs batch norm's gradient first, then the convolution's steps.
    if (add_function(&L->backward, conv_bn_backward, 0, err, err_len)) return 1;
    if (conv_on_rows(rows, src, dst, kernel, stride, pad)) {
        if (!(L->rows = row_conv_create(rows, src, dst, kernel, pad, has_bias))) return fail(err, err_len, "out of memory");
        return add_function(&L->forward, rows_forward, 0, err, err_len) ||
               add_function(&L->forward, conv_bn_forward, 0, err, err_len) ||
               add_function(&L->backward, rows_backward_weights, 0, err, err_len) ||
               add_function(&L->backward, rows_backward_data, 1, err, err_len);
    }
    // oneDNN's convolution computes in the layouts it picks; its output and its
    // gradient meet batch norm in the dense NCHW buffers.
    dnnl_memory_desc_t s_any, d_any, w_any;
    any_md(&s_any, 4, sdims);
    any_md(&d_any, 4, ddims);
    any_md(&w_any, 4, wdims);
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    dnnl_convolution_desc_t fwd, bwd_w, bwd_d;
    if (dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &s_any, &w_any,
                                           has_bias ? &b_md : NULL, &d_any, strides, padding, padding) ||
        dnnl_convolution_backward_weights_desc_init(&bwd_w, dnnl_convolution_direct, &s_any, &w_any,
                                                    has_bias ? &b_md : NULL, &d_any, strides, padding, padding) ||
        dnnl_convolution_backward_data_desc_init(&bwd_d, dnnl_convolution_direct, &s_any, &w_any, &d_any, strides,
                                                 padding, padding))
        return fail(err, err_len, "oneDNN: convolution descriptor rejected");
    if (weighted_create(L, &fwd, &bwd_w, &bwd_d, has_bias, L->conv_out, L->diff_conv_out, err, err_len) ||
        add_function(&L->forward, conv_bn_forward, 0, err, err_len))
        return 1;
    return 0;
}

int cranet_train_conv_create(cranet_engine *engine, const cranet_kernels *rows, cranet_batch_view src,
                             cranet_batch_view dst, int kernel, int stride, int pad, int has_bias, float eps,
                             cranet_train_layer **out, char *err, size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || kernel <= 0 || stride <= 0 || pad < 0 ||
        src.height + 2 * pad < kernel || src.width + 2 * pad < kernel ||
        (src.height + 2 * pad - kernel) / stride + 1 != dst.height ||
        (src.width + 2 * pad - kernel) / stride + 1 != dst.width)
        return fail(err, err_len, "training convolution: output %dx%d does not follow from input %dx%d",
                    dst.height, dst.width, src.height, src.width);
    cranet_train_layer *L = layer_alloc(engine);
    if (!L) return fail(err, err_len, "out of memory");
    if (conv_build(L, rows, src, dst, kernel, stride, pad, has_bias, eps, err, err_len)) {
        cranet_train_layer_destroy(L);
        return 1;
    }
    *out = L;
    return 0;
}

int cranet_train_linear_create(cranet_engine *engine, cranet_batch_view src, cranet_batch_view dst,
                               cranet_train_layer **out, char *err, size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || dst.height != 1 || dst.width != 1)
        return fail(err, err_len, "training linear layer: invalid shapes");
    cranet_train_layer *L = layer_alloc(engine);
    if (!L) return fail(err, err_len, "out of memory");
    int in = src.channels * src.height * src.width, classes = dst.channels;
    dnnl_memory_desc_t src_md, dst_md, w_md, b_md, s_any, d_any, w_any;
    dnnl_dims_t sdims = {src.batch, in}, ddims = {dst.batch, classes}, wdims = {classes, in};
    rows_md(&src_md, src);
    rows_md(&dst_md, dst);
    dnnl_memory_desc_init_by_tag(&w_md, 2, wdims, dnnl_f32, dnnl_ab);
    vector_md(&b_md, classes);
    any_md(&s_any, 2, sdims);
    any_md(&d_any, 2, ddims);
    any_md(&w_any, 2, wdims);
    dnnl_inner_product_desc_t fwd, bwd_w, bwd_d;
    int rc = 1;
    if (user_memory(L, SLOT_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_WEIGHTS, &w_md, err, err_len) || user_memory(L, SLOT_BIAS, &b_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DIFF_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_WEIGHTS, &w_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_BIAS, &b_md, err, err_len))
        goto done;
    if (dnnl_inner_product_forward_desc_init(&fwd, dnnl_forward_training, &s_any, &w_any, &b_md, &d_any) ||
        dnnl_inner_product_backward_weights_desc_init(&bwd_w, &s_any, &w_any, &b_md, &d_any) ||
        dnnl_inner_product_backward_data_desc_init(&bwd_d, &s_any, &w_any, &d_any)) {
        fail(err, err_len, "oneDNN: inner product descriptor rejected");
        goto done;
    }
    rc = weighted_create(L, &fwd, &bwd_w, &bwd_d, 1, L->slot[SLOT_DST], L->slot[SLOT_DIFF_DST], err, err_len);
done:
    if (rc) {
        cranet_train_layer_destroy(L);
        return 1;
    }
    *out = L;
    return 0;
}

int cranet_train_pool_create(cranet_engine *engine, cranet_pool_kind kind, cranet_batch_view src,
                             cranet_batch_view dst, int kernel, int stride, int pad, cranet_train_layer **out,
                             char *err, size_t err_len) {
    if (!valid_view(src) || !valid_view(dst) || src.batch != dst.batch || src.channels != dst.channels ||
        kernel <= 0 || stride <= 0 || pad < 0)
        return fail(err, err_len, "training pooling: invalid shapes");
    cranet_train_layer *L = layer_alloc(engine);
    if (!L) return fail(err, err_len, "out of memory");
    dnnl_memory_desc_t src_md, dst_md, dense_src, dense_dst;
    view_md(&src_md, src);
    view_md(&dst_md, dst);
    // Pooling reads and writes dense batches: the views are staged into them.
    dnnl_dims_t sdims = {src.batch, src.channels, src.height, src.width};
    dnnl_dims_t ddims = {dst.batch, dst.channels, dst.height, dst.width};
    dnnl_memory_desc_init_by_tag(&dense_src, 4, sdims, dnnl_f32, dnnl_abcd);
    dnnl_memory_desc_init_by_tag(&dense_dst, 4, ddims, dnnl_f32, dnnl_abcd);
    dnnl_dims_t strides = {stride, stride}, kernels = {kernel, kernel}, padding = {pad, pad};
    dnnl_alg_kind_t alg = kind == CRANET_POOL_MAX ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
    dnnl_pooling_desc_t fwd, bwd;
    dnnl_primitive_desc_t fwd_pd = NULL, bwd_pd = NULL;
    dnnl_memory_t s, d, workspace = NULL, diff_d, diff_s;
    int rc = 1;
    if (user_memory(L, SLOT_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DST, &dst_md, err, err_len) ||
        user_memory(L, SLOT_DIFF_SRC, &src_md, err, err_len) || user_memory(L, SLOT_DIFF_DST, &dst_md, err, err_len))
        goto done;
    if (dnnl_pooling_forward_desc_init(&fwd, dnnl_forward_training, alg, &dense_src, &dense_dst, strides, kernels,
                                       padding, padding) ||
        dnnl_pooling_backward_desc_init(&bwd, alg, &dense_src, &dense_dst, strides, kernels, padding, padding)) {
        fail(err, err_len, "oneDNN: pooling descriptor rejected");
        goto done;
    }
    if (make_pd(&fwd_pd, &fwd, L->engine, NULL, "pooling", err, err_len) ||
        make_pd(&bwd_pd, &bwd, L->engine, fwd_pd, "pooling's gradient", err, err_len) ||
        staged_in(L, &L->forward, L->slot[SLOT_SRC], &dense_src, 0, &s, err, err_len) ||
        staged_out(L, L->slot[SLOT_DST], &dense_dst, &d, err, err_len))
        goto done;
    if (kind == CRANET_POOL_MAX &&
        owned_memory(L, query(fwd_pd, dnnl_query_workspace_md, 0), &workspace, err, err_len))
        goto done;
    {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, d}, {DNNL_ARG_WORKSPACE, workspace}};
        if (add_primitive(&L->forward, fwd_pd, 0, workspace ? 3 : 2, args, err, err_len)) goto done;
    }
    if (d != L->slot[SLOT_DST] && add_reorder(L, &L->forward, d, L->slot[SLOT_DST], 0, 0, err, err_len)) goto done;
    if (staged_in(L, &L->backward, L->slot[SLOT_DIFF_DST], &dense_dst, 1, &diff_d, err, err_len) ||
        owned_memory(L, &dense_src, &diff_s, err, err_len))
        goto done;
    {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, diff_d}, {DNNL_ARG_DIFF_SRC, diff_s},
                                   {DNNL_ARG_WORKSPACE, workspace}};
        if (add_primitive(&L->backward, bwd_pd, 1, workspace ? 3 : 2, args, err, err_len)) goto done;
    }
    rc = add_reorder(L, &L->backward, diff_s, L->slot[SLOT_DIFF_SRC], 1, 1, err, err_len);
done:
    if (fwd_pd) dnnl_primitive_desc_destroy(fwd_pd);
    if (bwd_pd) dnnl_primitive_desc_destroy(bwd_pd);
    if (rc) {
        cranet_train_layer_destroy(L);
        return 1;
    }
    *out = L;
    return 0;
}

/// Points the caller's memory objects at `b`'s buffers: the forward's, or the
/// backward's (the forward's stay bound in between). A buffer the layer needs but `b`
/// lacks is an error naming it; only diff_src may be left out.
static int bind(cranet_train_layer *L, const cranet_train_buffers *b, int backward, char *err, size_t err_len) {
    const void *ptrs[SLOT_COUNT] = {
        b->src, b->dst, b->weights, b->bias, b->gamma, b->beta,
        b->diff_src, b->diff_dst, b->diff_weights, b->diff_bias, b->diff_gamma, b->diff_beta,
    };
    static const char *names[SLOT_COUNT] = {
        "src", "dst", "weights", "bias", "gamma", "beta",
        "diff_src", "diff_dst", "diff_weights", "diff_bias", "diff_gamma", "diff_beta",
    };
    int first = backward ? SLOT_DIFF_SRC : SLOT_SRC, last = backward ? SLOT_COUNT : SLOT_DIFF_SRC;
    for (int i = first; i < last; i++) {
        if (!L->slot[i] || (i == SLOT_DIFF_SRC && !ptrs[i])) continue;
        if (!ptrs[i]) return fail(err, err_len, "training layer: buffer %s missing", names[i]);
        DNNL_TRY(dnnl_memory_set_data_handle(L->slot[i], (void *)ptrs[i]), "setting a buffer");
    }
    return 0;
}

static int run(cranet_train_layer *layer, step_list *list, cranet_stream *stream, int with_diff_src, char *err,
               size_t err_len) {
    for (int i = 0; i < list->count; i++) {
        step *s = &list->steps[i];
        if (s->for_diff_src && !with_diff_src) continue;
        if (s->function) {
            DNNL_TRY(dnnl_stream_wait(stream->stream), "stream wait");
            s->function(layer);
            continue;
        }
        DNNL_TRY(dnnl_primitive_execute(s->primitive, stream->stream, s->nargs, s->args), "training step");
    }
    DNNL_TRY(dnnl_stream_wait(stream->stream), "stream wait");
    return 0;
}

int cranet_train_layer_forward(cranet_train_layer *layer, cranet_stream *stream, const cranet_train_buffers *b,
                               char *err, size_t err_len) {
    if (bind(layer, b, 0, err, err_len) || run(layer, &layer->forward, stream, 1, err, err_len)) return 1;
    if (layer->conv_out && b->batch_mean && b->batch_var_sum) {
        memcpy(b->batch_mean, layer->bn.mean, sizeof(float) * (size_t)layer->channels);
        memcpy(b->batch_var_sum, layer->bn.var_sum, sizeof(float) * (size_t)layer->channels);
    }
    return 0;
}

int cranet_train_layer_backward(cranet_train_layer *layer, cranet_stream *stream, const cranet_train_buffers *b,
                                char *err, size_t err_len) {
    if (bind(layer, b, 1, err, err_len)) return 1;
    return run(layer, &layer->backward, stream, b->diff_src != NULL, err, err_len);
}
