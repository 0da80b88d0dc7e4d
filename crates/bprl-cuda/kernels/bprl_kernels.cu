// bprl CUDA kernels: batched diagonal-Gaussian KL (with gradients), reparameterized sampling
// with Philox4x32-10, and Acme's fused policy head. Header-free (NVRTC has no system headers).
//
// Layouts are row-major: [rows, dim] inputs, [samples, rows, dim] actions, [samples, rows]
// log-probs, [rows] KLs. Every kernel has a CPU reference in src/cpu.rs with the same
// arithmetic in the same order; keep the two in step. The same file also compiles as host C++
// (kernels/host_shim.h, tests/host/run_kernels.cpp) so `cargo test` runs it over the launch
// grids and compares it bit for bit with the CPU references. Compiled with --fmad=false: no
// multiply-add is contracted, so only CUDA's transcendentals can differ from the CPU.
//
// Grid-stride loops count in 64 bits: an `int` index would overflow past 2^31 minus one
// grid's worth of rows.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define HALF_LN_2PI 0.91893853320467274f
#define LN_2 0.69314718055994531f
#define TWO_PI 6.28318530717958648f
#define INV_2_32 2.3283064365386963e-10f

struct u32x4 { unsigned int x, y, z, w; };

__device__ __forceinline__ u32x4 philox_round(u32x4 c, unsigned int k0, unsigned int k1) {
    unsigned int hi0 = __umulhi(PHILOX_M0, c.x);
    unsigned int lo0 = PHILOX_M0 * c.x;
    unsigned int hi1 = __umulhi(PHILOX_M1, c.z);
    unsigned int lo1 = PHILOX_M1 * c.z;
    u32x4 r;
    r.x = hi1 ^ c.y ^ k0;
    r.y = lo1;
    r.z = hi0 ^ c.w ^ k1;
    r.w = lo0;
    return r;
}

// Philox4x32-10 (Salmon et al. 2011, Random123).
__device__ __forceinline__ u32x4 philox4x32_10(u32x4 c, unsigned int k0, unsigned int k1) {
    c = philox_round(c, k0, k1);
    #pragma unroll
    for (int i = 1; i < 10; ++i) {
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
        c = philox_round(c, k0, k1);
    }
    return c;
}

// Four standard normals for (seed, row, sample, quad): dims 4 quad .. 4 quad + 3. Counter
// (quad, sample, row, 0), key (seed low, seed high); Box-Muller on words (x, y) gives dims
// 4q (cosine) and 4q+1 (sine), on words (z, w) dims 4q+2 and 4q+3.
__device__ __forceinline__ void philox_normals4(unsigned long long seed, unsigned int row,
                                                unsigned int sample, unsigned int quad,
                                                float* eps) {
    u32x4 c; c.x = quad; c.y = sample; c.z = row; c.w = 0u;
    u32x4 r = philox4x32_10(c, (unsigned int)(seed & 0xffffffffull), (unsigned int)(seed >> 32));
    float u1 = ((float)r.x + 1.0f) * INV_2_32;  // (0, 1]
    float u2 = (float)r.y * INV_2_32;           // [0, 1)
    float u3 = ((float)r.z + 1.0f) * INV_2_32;
    float u4 = (float)r.w * INV_2_32;
    float rad1 = sqrtf(-2.0f * logf(u1)), th1 = TWO_PI * u2;
    float rad2 = sqrtf(-2.0f * logf(u3)), th2 = TWO_PI * u4;
    eps[0] = rad1 * cosf(th1);
    eps[1] = rad1 * sinf(th1);
    eps[2] = rad2 * cosf(th2);
    eps[3] = rad2 * sinf(th2);
}

__device__ __forceinline__ float softplusf(float x) {
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

// One dimension of KL(p || q): expm1(2l)/2 - l + ((mp - mq)/sq)^2 / 2, l = ln(sp/sq).
__device__ __forceinline__ float kl_term(float mp, float sp, float mq, float sq) {
    float l = logf(sp / sq);
    float dm = (mp - mq) / sq;
    return 0.5f * expm1f(l + l) - l + 0.5f * dm * dm;
}

// Row KLs, one thread per row (dims up to a few dozen). std_is_log: inputs are log-stds.
extern "C" __global__ void diag_gaussian_kl_rows(
    const float* __restrict__ mp, const float* __restrict__ sp,
    const float* __restrict__ mq, const float* __restrict__ sq,
    float* __restrict__ kl, int rows, int dim, int std_is_log) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; row < rows; row += stride) {
        const long long base = row * dim;
        float acc = 0.0f;
        if ((dim & 3) == 0) {
            const float4* a = reinterpret_cast<const float4*>(mp + base);
            const float4* b = reinterpret_cast<const float4*>(sp + base);
            const float4* c = reinterpret_cast<const float4*>(mq + base);
            const float4* d = reinterpret_cast<const float4*>(sq + base);
            for (int i = 0; i < dim / 4; ++i) {
                float4 m1 = a[i], s1 = b[i], m2 = c[i], s2 = d[i];
                if (std_is_log) {
                    s1.x = expf(s1.x); s1.y = expf(s1.y); s1.z = expf(s1.z); s1.w = expf(s1.w);
                    s2.x = expf(s2.x); s2.y = expf(s2.y); s2.z = expf(s2.z); s2.w = expf(s2.w);
                }
                acc += kl_term(m1.x, s1.x, m2.x, s2.x);
                acc += kl_term(m1.y, s1.y, m2.y, s2.y);
                acc += kl_term(m1.z, s1.z, m2.z, s2.z);
                acc += kl_term(m1.w, s1.w, m2.w, s2.w);
            }
        } else {
            for (int i = 0; i < dim; ++i) {
                float s1 = sp[base + i], s2 = sq[base + i];
                if (std_is_log) { s1 = expf(s1); s2 = expf(s2); }
                acc += kl_term(mp[base + i], s1, mq[base + i], s2);
            }
        }
        kl[row] = acc;
    }
}

// Row KLs, one warp per row (wide rows): lanes stride over dims, then a shuffle reduction.
// Summation order differs from the thread-per-row kernel; the CPU reference of this kernel
// reproduces it.
extern "C" __global__ void diag_gaussian_kl_rows_warp(
    const float* __restrict__ mp, const float* __restrict__ sp,
    const float* __restrict__ mq, const float* __restrict__ sq,
    float* __restrict__ kl, int rows, int dim, int std_is_log) {
    const int lane = threadIdx.x & 31;
    const int warps_per_block = blockDim.x >> 5;
    const long long stride = (long long)gridDim.x * warps_per_block;
    for (long long row = (long long)blockIdx.x * warps_per_block + (threadIdx.x >> 5); row < rows;
         row += stride) {
        const long long base = row * dim;
        float acc = 0.0f;
        for (int i = lane; i < dim; i += 32) {
            float s1 = sp[base + i], s2 = sq[base + i];
            if (std_is_log) { s1 = expf(s1); s2 = expf(s2); }
            acc += kl_term(mp[base + i], s1, mq[base + i], s2);
        }
        for (int offset = 16; offset > 0; offset >>= 1) {
            acc += __shfl_down_sync(0xffffffffu, acc, offset);
        }
        if (lane == 0) kl[row] = acc;
    }
}

// Row KLs and their gradients with respect to all four inputs, in one pass. With std_is_log
// the std gradients are with respect to the log-stds.
extern "C" __global__ void diag_gaussian_kl_rows_grad(
    const float* __restrict__ mp, const float* __restrict__ sp,
    const float* __restrict__ mq, const float* __restrict__ sq,
    float* __restrict__ kl, float* __restrict__ d_mp, float* __restrict__ d_sp,
    float* __restrict__ d_mq, float* __restrict__ d_sq, int rows, int dim, int std_is_log) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; row < rows; row += stride) {
        const long long base = row * dim;
        float acc = 0.0f;
        for (int i = 0; i < dim; ++i) {
            const long long j = base + i;
            float s1 = sp[j], s2 = sq[j];
            if (std_is_log) { s1 = expf(s1); s2 = expf(s2); }
            float m1 = mp[j], m2 = mq[j];
            acc += kl_term(m1, s1, m2, s2);
            float r = s1 / s2;
            float u = (m1 - m2) / s2;
            float r2m1 = r * r - 1.0f;
            d_mp[j] = u / s2;
            d_mq[j] = -u / s2;
            if (std_is_log) {
                d_sp[j] = r2m1;
                d_sq[j] = -r2m1 - u * u;
            } else {
                d_sp[j] = r2m1 / s1;
                d_sq[j] = (-r2m1 - u * u) / s2;
            }
        }
        kl[row] = acc;
    }
}

// S reparameterized samples per row: a = mean + std * eps, eps from philox_normals4(seed, row,
// sample, d / 4)[d % 4]; log_prob = sum_d [-eps^2/2 - ln std - ln(2 pi)/2], minus
// sum_d ln(1 - tanh(u)^2) = 2 (ln 2 - u - softplus(-2u)) when squash (then a = tanh(u)).
// std_is_log: the scale input holds ln std (std = expf(scale), ln std = scale).
// One thread per (sample, row).
extern "C" __global__ void sample_diag_gaussian(
    const float* __restrict__ mean, const float* __restrict__ scale,
    float* __restrict__ actions, float* __restrict__ log_prob,
    int rows, int dim, int samples, unsigned long long seed, int squash, int std_is_log) {
    const long long total = (long long)rows * samples;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += stride) {
        const int s = (int)(idx / rows);
        const int row = (int)(idx - (long long)s * rows);
        const long long in_base = (long long)row * dim;
        const long long out_base = idx * dim;
        float lp = 0.0f;
        for (int q = 0; q < dim; q += 4) {
            float eps[4];
            philox_normals4(seed, (unsigned int)row, (unsigned int)s, (unsigned int)(q >> 2), eps);
            const int n = dim - q < 4 ? dim - q : 4;
            for (int k = 0; k < n; ++k) {
                const int d = q + k;
                float m = mean[in_base + d], x = scale[in_base + d];
                float sd = std_is_log ? expf(x) : x;
                float log_sd = std_is_log ? x : logf(x);
                float u = m + sd * eps[k];
                lp += -0.5f * eps[k] * eps[k] - log_sd - HALF_LN_2PI;
                if (squash) {
                    lp -= 2.0f * (LN_2 - u - softplusf(-2.0f * u));
                    u = tanhf(u);
                }
                actions[out_base + d] = u;
            }
        }
        log_prob[idx] = lp;
    }
}

// Acme's head fused with sampling and the KL to a prior, one thread per row:
// mean = tanh(raw[:, :D]), std = softplus(raw[:, D:]) * 0.7 / ln 2 + min_scale;
// S samples and log-probs as sample_diag_gaussian (no squash); kl = KL(head || prior).
extern "C" __global__ void fused_policy_head(
    const float* __restrict__ raw, const float* __restrict__ prior_mean,
    const float* __restrict__ prior_std, float min_scale,
    float* __restrict__ mean_out, float* __restrict__ std_out,
    float* __restrict__ actions, float* __restrict__ log_prob, float* __restrict__ kl,
    int rows, int dim, int samples, unsigned long long seed) {
    const float scale = 0.7f / LN_2;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; row < rows; row += stride) {
        const long long raw_base = row * 2 * dim;
        const long long base = row * dim;
        float acc = 0.0f;
        for (int d = 0; d < dim; ++d) {
            float m = tanhf(raw[raw_base + d]);
            float sd = softplusf(raw[raw_base + dim + d]) * scale + min_scale;
            mean_out[base + d] = m;
            std_out[base + d] = sd;
            acc += kl_term(m, sd, prior_mean[base + d], prior_std[base + d]);
        }
        kl[row] = acc;
        for (int s = 0; s < samples; ++s) {
            const long long out_base = ((long long)s * rows + row) * dim;
            float lp = 0.0f;
            for (int q = 0; q < dim; q += 4) {
                float eps[4];
                philox_normals4(seed, (unsigned int)row, (unsigned int)s, (unsigned int)(q >> 2), eps);
                const int n = dim - q < 4 ? dim - q : 4;
                for (int k = 0; k < n; ++k) {
                    const int d = q + k;
                    float m = mean_out[base + d], sd = std_out[base + d];
                    actions[out_base + d] = m + sd * eps[k];
                    lp += -0.5f * eps[k] * eps[k] - logf(sd) - HALF_LN_2PI;
                }
            }
            log_prob[(long long)s * rows + row] = lp;
        }
    }
}
