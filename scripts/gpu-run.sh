#!/usr/bin/env bash
# The device half of scripts/gpu-check (copied into gpu-pack/run.sh): runs on the GPU machine,
# with no network and no Rust toolchain. Usage: bash gpu-pack/run.sh OUT_DIR
#
# 1. finds that machine's NVRTC (libnvrtc.so.13 first, then .12) in the CUDA folders and the
#    Python packages (PyTorch's nvidia-* wheels) and puts its folder on LD_LIBRARY_PATH: cudarc
#    dlopens `libnvrtc.so`, then versioned names including `libnvrtc.so.13` and `.so.12`;
# 2. runs the GPU and NVRTC tests with BPRL_REQUIRE_GPU=1 and BPRL_REQUIRE_NVRTC=1 (no skips);
# 3. runs the kernel benchmark, then PyTorch's on the same GPU, and prints both side by side.
# Every step has a timeout (at most 7.5 minutes in all); results are files in OUT_DIR.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/results}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
start=$(date +%s)
echo "bprl gpu-run: commit $(cat "$HERE/COMMIT" 2>/dev/null), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"

find_nvrtc() {
  local roots=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /opt/conda/lib)
  local d
  for d in /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib; do roots+=("$d"); done
  while IFS= read -r d; do roots+=("$d/nvidia"); done < <(python3 - <<'PY' 2>/dev/null
import site, sys
paths = list(getattr(site, "getsitepackages", lambda: [])()) + [site.getusersitepackages()]
print("\n".join(p for p in paths + sys.path if p.endswith("-packages")))
PY
)
  local major r hit
  for major in 13 12; do
    for r in "${roots[@]}"; do
      [ -d "$r" ] || continue
      hit=$(find "$r" -maxdepth 4 -name "libnvrtc.so.$major*" ! -name '*builtins*' ! -name '*alt*' 2>/dev/null | sort | head -1)
      if [ -n "$hit" ]; then echo "$hit"; return 0; fi
    done
  done
  return 1
}

if nvrtc=$(find_nvrtc); then
  echo "NVRTC: $nvrtc"
  export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  echo "NVRTC: not found in the CUDA folders or the Python packages (the tests will fail)"
fi
export BPRL_REQUIRE_GPU=1 BPRL_REQUIRE_NVRTC=1

timeout 20 nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
echo "nvidia-smi: rc $? ($(grep -m1 -o 'Driver Version: [0-9.]*' "$OUT/nvidia-smi.txt" 2>/dev/null))"

echo "== GPU and NVRTC tests =="
timeout 150 "$HERE/bprl-cuda-tests" --test-threads=1 --nocapture gpu:: nvrtc:: > "$OUT/tests.txt" 2>&1
tests_rc=$?
grep -E '^test |test result|kernels |max \|diff\||panicked' "$OUT/tests.txt"
echo "tests: rc $tests_rc"

echo "== bprl kernel benchmark =="
BPRL_BENCH_CSV="$OUT/bench_bprl.csv" timeout 150 "$HERE/bprl-cuda-bench" > "$OUT/bench_bprl.txt" 2>&1
bench_rc=$?
cat "$OUT/bench_bprl.txt"
echo "bench: rc $bench_rc"

echo "== PyTorch, side by side =="
timeout 120 python3 "$HERE/bench_cuda_torch.py" --csv "$OUT/bench_torch.csv" --bprl-csv "$OUT/bench_bprl.csv" > "$OUT/bench_torch.txt" 2>&1
torch_rc=$?
cat "$OUT/bench_torch.txt"
echo "torch: rc $torch_rc"

echo "tests_rc=$tests_rc bench_rc=$bench_rc torch_rc=$torch_rc elapsed_s=$(( $(date +%s) - start ))" | tee "$OUT/summary.txt"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
