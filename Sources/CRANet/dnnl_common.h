// What the inference bridge (dnnl_bridge.c) and the training layers (training.c)
// share: the engine and stream wrappers, and how a oneDNN failure becomes the
// one-line message of cranet.h's error convention.
#ifndef CRANET_DNNL_COMMON_H
#define CRANET_DNNL_COMMON_H

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

#define DNNL_TRY(call, what)                                                                   \
    do {                                                                                       \
        dnnl_status_t status_ = (call);                                                        \
        if (status_ != dnnl_success)                                                           \
            return fail(err, err_len, "oneDNN: %s failed (status %d)", what, (int)status_);    \
    } while (0)

#endif
