// The threads every backend runs on. oneDNN in Debian runs on OpenMP; libgomp is
// loaded with libdnnl, and the project's kernels share its team (cranet_parallel).
// Looking its functions up at run time avoids depending on omp.h, which Swift's clang
// lacks. Also the floating-point mode every worker sets, and the pause of a spinning one.
#include "cranet.h"

#include <dlfcn.h>
#include <pthread.h>
#if defined(__x86_64__) || defined(__i386__)
#define CRANET_X86 1
#include <immintrin.h>
#endif

static void (*omp_set_threads)(int);
static int (*omp_thread_num)(void);
static int (*omp_threads)(void);
static int (*omp_max_threads)(void);
/// libgomp's entry point of `#pragma omp parallel` (GCC 4.9 and later).
static void (*gomp_parallel)(void (*)(void *), void *, unsigned, unsigned);
/// libgomp's entry point of `#pragma omp barrier`.
static void (*gomp_barrier)(void);
static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;

static void lookup(void) {
    omp_set_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    omp_thread_num = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_thread_num");
    omp_threads = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_num_threads");
    omp_max_threads = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    gomp_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(RTLD_DEFAULT, "GOMP_parallel");
    gomp_barrier = (void (*)(void))dlsym(RTLD_DEFAULT, "GOMP_barrier");
}

void cranet_set_num_threads(int threads) {
    pthread_once(&lookup_once, lookup);
    if (omp_set_threads && threads > 0) omp_set_threads(threads);
}

int cranet_max_threads(void) {
    pthread_once(&lookup_once, lookup);
    return omp_max_threads ? omp_max_threads() : 1;
}

// libgomp is not built with ThreadSanitizer, which therefore does not see that the team
// starts after cranet_parallel's writes and that the caller resumes after the team's: the
// fork and the join are stated to it here.
#if defined(__SANITIZE_THREAD__)
#define CRANET_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CRANET_TSAN 1
#endif
#endif
#ifdef CRANET_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define FORK_JOIN_RELEASE(p) __tsan_release(p)
#define FORK_JOIN_ACQUIRE(p) __tsan_acquire(p)
#else
#define FORK_JOIN_RELEASE(p) ((void)(p))
#define FORK_JOIN_ACQUIRE(p) ((void)(p))
#endif

typedef struct {
    void (*fn)(void *, int, int);
    void *ctx;
} team_task;

static void team_body(void *data) {
    team_task *t = data;
    FORK_JOIN_ACQUIRE(t);
    t->fn(t->ctx, omp_thread_num(), omp_threads());
    FORK_JOIN_RELEASE(t);
}

void cranet_parallel(void (*fn)(void *ctx, int part, int parts), void *ctx) {
    pthread_once(&lookup_once, lookup);
    if (!gomp_parallel || !gomp_barrier || !omp_thread_num || !omp_threads) {
        fn(ctx, 0, 1);
        return;
    }
    team_task t = {fn, ctx};
    FORK_JOIN_RELEASE(&t);
    gomp_parallel(team_body, &t, 0, 0);
    FORK_JOIN_ACQUIRE(&t);
}

void cranet_barrier(void) {
    static char token;  // what ThreadSanitizer sees the team synchronize on
    FORK_JOIN_RELEASE(&token);
    if (gomp_barrier) gomp_barrier();
    FORK_JOIN_ACQUIRE(&token);
}

void cranet_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr));
    csr |= 0x8040;  // flush-to-zero and denormals-are-zero
    __asm__ volatile("ldmxcsr %0" : : "m"(csr));
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= 1ul << 24;  // FZ: flush denormal inputs and results to zero
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
#endif
}

void cranet_spin_pause(int iterations) {
    for (int i = 0; i < iterations; i++) {
#ifdef CRANET_X86
        _mm_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
    }
}
