"""PyTorch counterpart of `cargo bench -p bprl-cuda`: the same sizes (B*D from 2^16 to 2^26,
D = 8, 10 samples), timed the same way (warm-up, then the mean over repeats with a sync), and
the same device-to-device copy bandwidth measured with PyTorch as the reference.

KL: torch.distributions.kl_divergence(Normal, Normal).sum(-1).
Sampling: Normal.rsample((10,)) then log_prob(...).sum(-1).

Options: --csv PATH writes this table as CSV; --bprl-csv PATH (the CSV the bprl benchmark
writes with BPRL_BENCH_CSV) also prints bprl and PyTorch side by side, with each one's
fraction of the copy bandwidth and bprl's speed-up.
"""
import argparse
import csv
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--csv")
parser.add_argument("--bprl-csv")
args = parser.parse_args()

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
print(f"device: {torch.cuda.get_device_name(0)}  torch {torch.__version__}  CUDA {torch.version.cuda}")
print(f"{'B*D':>10} {'copy GB/s':>9} {'kl us':>11} {'kl GB/s':>9} {'sample us':>11} {'smp GB/s':>9}")


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


rows_out = []
for log2 in range(16, 27):
    n = 1 << log2
    rows = n // D
    reps = max(10, min(2000, (1 << 28) >> log2))
    src = torch.zeros(4 * n, device=dev)
    dst = torch.empty_like(src)
    t_copy = timed(lambda: dst.copy_(src), reps)
    copy_bw = 2 * 16 * n / t_copy / 1e9
    del src, dst
    p = torch.distributions.Normal(torch.full((rows, D), 0.1, device=dev), torch.full((rows, D), 1.2, device=dev))
    q = torch.distributions.Normal(torch.full((rows, D), -0.1, device=dev), torch.full((rows, D), 0.8, device=dev))
    t_kl = timed(lambda: torch.distributions.kl_divergence(p, q).sum(-1), reps)

    def sample():
        a = p.rsample((S,))
        return a, p.log_prob(a).sum(-1)

    t_s = timed(sample, reps)
    kl_bw = (16 * n + 4 * rows) / t_kl / 1e9
    s_bw = (8 * n + 4 * (S * n + S * rows)) / t_s / 1e9
    print(f"{n:>10} {copy_bw:>9.0f} {t_kl * 1e6:>11.2f} {kl_bw:>9.1f} {t_s * 1e6:>11.2f} {s_bw:>9.1f}")
    rows_out.append(dict(n=n, copy_gbps=copy_bw, kl_us=t_kl * 1e6, kl_gbps=kl_bw, sample_us=t_s * 1e6, sample_gbps=s_bw))

if args.csv:
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows_out[0]))
        w.writeheader()
        w.writerows(rows_out)

if args.bprl_csv:
    try:
        with open(args.bprl_csv) as f:
            bprl = {int(r["n"]): r for r in csv.DictReader(f)}
    except OSError as e:
        print(f"no bprl figures to compare ({e})")
        sys.exit(0)
    print()
    print("side by side (us per call; % of the device-to-device copy bandwidth bprl measured; speed-up = torch / bprl)")
    print(f"{'B*D':>10} {'copy':>6} | {'bprl kl':>9} {'%cp':>5} {'torch kl':>9} {'%cp':>5} {'x':>6} | "
          f"{'bprl smp':>9} {'%cp':>5} {'torch smp':>9} {'%cp':>5} {'x':>6}")
    for t in rows_out:
        b = bprl.get(t["n"])
        if b is None:
            continue
        copy = float(b["copy_gbps"])
        bk, bs = float(b["kl_us"]), float(b["sample_us"])
        print(f"{t['n']:>10} {copy:>6.0f} | {bk:>9.2f} {100 * float(b['kl_gbps']) / copy:>4.0f}% "
              f"{t['kl_us']:>9.2f} {100 * t['kl_gbps'] / copy:>4.0f}% {t['kl_us'] / bk:>5.1f}x | "
              f"{bs:>9.2f} {100 * float(b['sample_gbps']) / copy:>4.0f}% "
              f"{t['sample_us']:>9.2f} {100 * t['sample_gbps'] / copy:>4.0f}% {t['sample_us'] / bs:>5.1f}x")
