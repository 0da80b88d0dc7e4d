// Runs the CUDA kernels compiled as host C++ (kernels/host_shim.h) over a launch grid.
// Usage: run_kernels KERNEL < input > output. Input: u32 n, n u64 scalars (grid blocks, block
// threads, then the kernel's integer arguments, a float as its bits), u32 m, m arrays
// (u64 length, f32 values). Output: u32 k, k arrays in the same form. Non-warp kernels run one
// thread index at a time; the warp kernel runs each warp's 32 lanes as 32 threads so that
// __shfl_down_sync exchanges values as on a GPU.
// The standard headers first: the shim may define the math functions as macros.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "host_shim.h"
#include "bprl_kernels.cu"

dim3 gridDim, blockDim;
thread_local dim3 blockIdx, threadIdx;

namespace {

struct Warp {
    std::mutex mu;
    std::condition_variable cv;
    int waiting = 0;
    unsigned long generation = 0;
    float slots[32];

    void barrier() {
        std::unique_lock<std::mutex> lock(mu);
        unsigned long gen = generation;
        if (++waiting == 32) {
            waiting = 0;
            ++generation;
            cv.notify_all();
        } else {
            cv.wait(lock, [&] { return generation != gen; });
        }
    }
};

thread_local Warp* current_warp = nullptr;

template <class F>
void launch_serial(unsigned int blocks, unsigned int threads, F kernel) {
    gridDim = dim3{blocks, 1, 1};
    blockDim = dim3{threads, 1, 1};
    for (unsigned int b = 0; b < blocks; ++b) {
        for (unsigned int t = 0; t < threads; ++t) {
            blockIdx = dim3{b, 0, 0};
            threadIdx = dim3{t, 0, 0};
            kernel();
        }
    }
}

template <class F>
void launch_warps(unsigned int blocks, unsigned int threads, F kernel) {
    gridDim = dim3{blocks, 1, 1};
    blockDim = dim3{threads, 1, 1};
    for (unsigned int b = 0; b < blocks; ++b) {
        for (unsigned int w = 0; w < threads / 32; ++w) {
            Warp warp;
            std::vector<std::thread> lanes;
            for (unsigned int lane = 0; lane < 32; ++lane) {
                lanes.emplace_back([&, lane] {
                    blockIdx = dim3{b, 0, 0};
                    threadIdx = dim3{w * 32 + lane, 0, 0};
                    current_warp = &warp;
                    kernel();
                });
            }
            for (auto& t : lanes) t.join();
        }
    }
}

void read_exact(void* p, size_t n) {
    if (fread(p, 1, n, stdin) != n) {
        fprintf(stderr, "run_kernels: short input\n");
        exit(2);
    }
}

void write_arrays(const std::vector<std::vector<float>>& out) {
    uint32_t k = (uint32_t)out.size();
    fwrite(&k, 4, 1, stdout);
    for (const auto& a : out) {
        uint64_t n = a.size();
        fwrite(&n, 8, 1, stdout);
        fwrite(a.data(), 4, a.size(), stdout);
    }
}

}  // namespace

float __shfl_down_sync(unsigned int, float value, int offset) {
    Warp& w = *current_warp;
    const int lane = (int)(threadIdx.x & 31);
    w.slots[lane] = value;
    w.barrier();
    float r = lane + offset < 32 ? w.slots[lane + offset] : value;
    w.barrier();
    return r;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: run_kernels KERNEL < input > output\n");
        return 2;
    }
    const std::string k = argv[1];
    uint32_t n;
    read_exact(&n, 4);
    std::vector<uint64_t> sc(n);
    read_exact(sc.data(), 8 * (size_t)n);
    uint32_t m;
    read_exact(&m, 4);
    std::vector<std::vector<float>> in(m);
    for (auto& a : in) {
        uint64_t len;
        read_exact(&len, 8);
        a.resize(len);
        read_exact(a.data(), 4 * len);
    }
    const unsigned int blocks = (unsigned int)sc.at(0), threads = (unsigned int)sc.at(1);
    std::vector<std::vector<float>> out;
    if (k == "diag_gaussian_kl_rows" || k == "diag_gaussian_kl_rows_warp" ||
        k == "diag_gaussian_kl_rows_grad") {
        const int rows = (int)sc.at(2), dim = (int)sc.at(3), log = (int)sc.at(4);
        const size_t nd = (size_t)rows * dim;
        const float *mp = in.at(0).data(), *sp = in.at(1).data(), *mq = in.at(2).data(),
                    *sq = in.at(3).data();
        if (k == "diag_gaussian_kl_rows_grad") {
            out.assign(5, std::vector<float>(nd));
            out[0].assign(rows, 0.0f);
            launch_serial(blocks, threads, [&] {
                diag_gaussian_kl_rows_grad(mp, sp, mq, sq, out[0].data(), out[1].data(),
                                           out[2].data(), out[3].data(), out[4].data(), rows,
                                           dim, log);
            });
        } else if (k == "diag_gaussian_kl_rows_warp") {
            out.assign(1, std::vector<float>(rows));
            launch_warps(blocks, threads, [&] {
                diag_gaussian_kl_rows_warp(mp, sp, mq, sq, out[0].data(), rows, dim, log);
            });
        } else {
            out.assign(1, std::vector<float>(rows));
            launch_serial(blocks, threads, [&] {
                diag_gaussian_kl_rows(mp, sp, mq, sq, out[0].data(), rows, dim, log);
            });
        }
    } else if (k == "sample_diag_gaussian") {
        const int rows = (int)sc.at(2), dim = (int)sc.at(3), samples = (int)sc.at(4);
        const unsigned long long seed = sc.at(5);
        const int squash = (int)sc.at(6), log = (int)sc.at(7);
        out.push_back(std::vector<float>((size_t)samples * rows * dim));
        out.push_back(std::vector<float>((size_t)samples * rows));
        launch_serial(blocks, threads, [&] {
            sample_diag_gaussian(in.at(0).data(), in.at(1).data(), out[0].data(), out[1].data(),
                                 rows, dim, samples, seed, squash, log);
        });
    } else if (k == "fused_policy_head") {
        const int rows = (int)sc.at(2), dim = (int)sc.at(3), samples = (int)sc.at(4);
        const unsigned long long seed = sc.at(5);
        float min_scale;
        const uint32_t bits = (uint32_t)sc.at(6);
        memcpy(&min_scale, &bits, 4);
        const size_t nd = (size_t)rows * dim;
        out.push_back(std::vector<float>(nd));
        out.push_back(std::vector<float>(nd));
        out.push_back(std::vector<float>((size_t)samples * nd));
        out.push_back(std::vector<float>((size_t)samples * rows));
        out.push_back(std::vector<float>(rows));
        launch_serial(blocks, threads, [&] {
            fused_policy_head(in.at(0).data(), in.at(1).data(), in.at(2).data(), min_scale,
                              out[0].data(), out[1].data(), out[2].data(), out[3].data(),
                              out[4].data(), rows, dim, samples, seed);
        });
    } else {
        fprintf(stderr, "run_kernels: unknown kernel %s\n", k.c_str());
        return 2;
    }
    write_arrays(out);
    return 0;
}
