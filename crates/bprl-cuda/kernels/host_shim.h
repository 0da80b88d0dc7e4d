// Host C++ shim for kernels/bprl_kernels.cu: just enough of CUDA for the kernels to compile
// with a host compiler and run over a launch grid, one thread index at a time. Compile with
// contraction off (-ffp-contract=off) and no fast-math, so float arithmetic is IEEE single
// precision operation by operation, as on the GPU with --fmad=false; the math functions are
// the C library's (the CPU references call the same ones), so results are bit-identical to
// the CPU references. Used by tests/host/run_kernels.cpp.
#pragma once
#include <math.h>

#define __global__
#define __device__
#define __forceinline__ inline

struct dim3 { unsigned int x, y, z; };
struct float4 { float x, y, z, w; };

// The launch being emulated: the grid is shared, the indices are per (emulated) thread.
extern dim3 gridDim, blockDim;
extern thread_local dim3 blockIdx, threadIdx;

// High 32 bits of the 64-bit product, as CUDA's __umulhi.
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * (unsigned long long)b) >> 32);
}

// Warp shuffle: the value of lane (lane + offset) of the calling warp, or the caller's own
// value past lane 31 (CUDA's semantics for a full mask). Implemented by the runner, which
// runs the 32 lanes of a warp as 32 threads.
float __shfl_down_sync(unsigned int mask, float value, int offset);

// With -DBPRL_PERTURB_ULPS=K, every transcendental result is moved by a pseudo-random number
// of ulps in [-K, K]: a stand-in for CUDA's math functions, which are within 1-2 ulp of the
// C library's. tests/host.rs uses it to check that the bounds of the GPU tests hold. sqrtf
// and + - * / stay exact (IEEE on both sides).
#ifdef BPRL_PERTURB_ULPS
static inline float bprl_perturb(float y) {
    static thread_local unsigned long long state = 0x9E3779B97F4A7C15ull;
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    int k = (int)((state >> 33) % (2 * BPRL_PERTURB_ULPS + 1)) - BPRL_PERTURB_ULPS;
    if (!isfinite(y)) return y;
    for (; k > 0; --k) y = nextafterf(y, INFINITY);
    for (; k < 0; ++k) y = nextafterf(y, -INFINITY);
    return y;
}
#define logf(x) bprl_perturb(logf(x))
#define expf(x) bprl_perturb(expf(x))
#define expm1f(x) bprl_perturb(expm1f(x))
#define log1pf(x) bprl_perturb(log1pf(x))
#define sinf(x) bprl_perturb(sinf(x))
#define cosf(x) bprl_perturb(cosf(x))
#define tanhf(x) bprl_perturb(tanhf(x))
#endif
