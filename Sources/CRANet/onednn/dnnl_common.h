// What the inference bridge (primitives.c) and the training layers (../training.c)
// share: the engine and stream wrappers, and how a oneDNN failure becomes the
// one-line message of cranet.h's error convention.
#ifndef CRANET_DNNL_COMMON_H
#define CRANET_DNNL_COMMON_H

#include "cranet.h"

#include <dnnl.h>
#include <stdarg.h>
#include <stdio.h>

struct cranet_engine {
    dnnl_engine_t engine;
};

struct cranet_stream {
    dnnl_stream_t stream;
};

static inline int fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/// The memory descriptor of a batch view. A batch of one gets dense strides: its image
/// stride addresses nothing, and dense descriptors compare equal to oneDNN's plain layouts.
static inline void view_md(dnnl_memory_desc_t *md, cranet_batch_view v) {
    dnnl_dims_t dims = {v.batch, v.channels, v.height, v.width};
    const dnnl_dim_t image = v.batch == 1 ? (dnnl_dim_t)v.channels * v.height * v.width : (dnnl_dim_t)v.image_stride;
    dnnl_dims_t strides = {image, (dnnl_dim_t)v.height * v.width, v.width, 1};
    dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, strides);
}

/// A batch view as the 2-D rows an inner product reads or writes: one row of
/// channels × height × width features per image (dense for a batch of one, as view_md).
static inline void rows_md(dnnl_memory_desc_t *md, cranet_batch_view v) {
    const dnnl_dim_t features = (dnnl_dim_t)v.channels * v.height * v.width;
    dnnl_dims_t dims = {v.batch, features}, strides = {v.batch == 1 ? features : (dnnl_dim_t)v.image_stride, 1};
    dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

/// Whether a view describes at least one image and its images do not overlap.
static inline int valid_view(cranet_batch_view v) {
    return v.batch > 0 && v.channels > 0 && v.height > 0 && v.width > 0 &&
           v.image_stride >= (size_t)v.channels * v.height * v.width;
}

#define DNNL_TRY(call, what)                                                                   \
    do {                                                                                       \
        dnnl_status_t status_ = (call);                                                        \
        if (status_ != dnnl_success)                                                           \
            return fail(err, err_len, "oneDNN: %s failed (status %d)", what, (int)status_);    \
    } while (0)

#endif
