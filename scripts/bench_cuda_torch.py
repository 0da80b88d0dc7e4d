"""PyTorch counterpart of `cargo bench -p bprl-cuda`: the same sizes (B*D from 2^16 to 2^26,
D = 8, 10 samples), timed the same way (warm-up, then the mean over repeats with a sync).

KL: torch.distributions.kl_divergence(Normal, Normal).sum(-1).
Sampling: Normal.rsample((10,)) then log_prob(...).sum(-1).
"""
import sys
import time

try:
    import torch
except ImportError:
    print("torch is not installed")
    sys.exit(1)
if not torch.cuda.is_available():
    print("torch has no CUDA device")
    sys.exit(1)

D, S = 8, 10
dev = torch.device("cuda")
print(f"device: {torch.cuda.get_device_name(0)}  torch {torch.__version__}")
print(f"{'B*D':>10} {'kl us':>11} {'kl GB/s':>9} {'sample us':>11} {'smp GB/s':>9}")


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


for log2 in range(16, 27):
    n = 1 << log2
    rows = n // D
    reps = max(10, min(2000, (1 << 28) >> log2))
    p = torch.distributions.Normal(torch.full((rows, D), 0.1, device=dev), torch.full((rows, D), 1.2, device=dev))
    q = torch.distributions.Normal(torch.full((rows, D), -0.1, device=dev), torch.full((rows, D), 0.8, device=dev))
    t_kl = timed(lambda: torch.distributions.kl_divergence(p, q).sum(-1), reps)

    def sample():
        a = p.rsample((S,))
        return a, p.log_prob(a).sum(-1)

    t_s = timed(sample, reps)
    kl_bw = (16 * n + 4 * rows) / t_kl / 1e9
    s_bw = (8 * n + 4 * (S * n + S * rows)) / t_s / 1e9
    print(f"{n:>10} {t_kl * 1e6:>11.2f} {kl_bw:>9.1f} {t_s * 1e6:>11.2f} {s_bw:>9.1f}")
