// OpenMP's runtime as oneDNN uses it: the project's own C steps of training share
// oneDNN's thread team instead of starting threads of their own (two teams on two cores
// would only wait for each other).
#ifndef CRANET_OMP_RUNTIME_H
#define CRANET_OMP_RUNTIME_H

/// Runs fn(ctx, part, parts) on every thread of an OpenMP team of the calling thread's
/// size (cranet_set_num_threads), or once with parts = 1 where OpenMP is absent.
void cranet_parallel(void (*fn)(void *ctx, int part, int parts), void *ctx);

#endif
