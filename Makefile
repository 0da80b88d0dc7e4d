# bprl: the two commands a fresh machine needs.
#   make test   installs missing system packages, then fmt + clippy + the whole test suite
#   make demo   runs the claims experiment at demo size (under 10 minutes) and writes its report
#   make paper  runs it at full size (about an hour; resumable) and refreshes docs/figures/paper
#   make fuzz   runs each coverage-guided fuzz target for FUZZ_SECONDS (nightly + cargo-fuzz)
#   make soak   kills training runs at random moments and checks what resume restores
.PHONY: all deps test fmt clippy unit demo paper doc bench bench-jax bench-gpu test-gpu gpu-check compare-sb3 bench-mujoco quadruped fuzz soak distributed-demo bench-distributed

CARGO ?= cargo
# NVRTC from the PyPI wheel (installed by scripts/install-deps.sh): lets the tests compile every
# CUDA kernel on machines without a GPU.
NVRTC_LIB := $(CURDIR)/.tools/nvrtc/nvidia/cuda_nvrtc/lib
# MuJoCo 3.17.0 from the PyPI wheel (scripts/install-deps.sh): bprl-mujoco links it (mujoco-rs
# reads MUJOCO_DYNAMIC_LINK_DIR at build time) and loads it at run time.
MUJOCO_DYNAMIC_LINK_DIR ?= $(CURDIR)/.tools/mujoco/mujoco
export MUJOCO_DYNAMIC_LINK_DIR
export LD_LIBRARY_PATH := $(NVRTC_LIB):$(MUJOCO_DYNAMIC_LINK_DIR)$(if $(LD_LIBRARY_PATH),:$(LD_LIBRARY_PATH))

all: test

deps:
	@bash scripts/install-deps.sh

fmt:
	$(CARGO) fmt --all --check

clippy: deps
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# BPRL_REQUIRE_NVRTC=1: a missing NVRTC fails the kernel-compilation test instead of skipping.
# BPRL_REQUIRE_REDIS=1: likewise a missing redis-server for bprl-distributed's loopback tests
# (each test starts its own server on a free port and kills it when it ends).
unit: deps
	BPRL_REQUIRE_NVRTC=1 BPRL_REQUIRE_REDIS=1 $(CARGO) test --workspace --all-features

test: deps fmt clippy unit doc

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --exclude bprl-examples --all-features --no-deps

demo: deps
	$(CARGO) run --release -p bprl-examples --bin bprl -- demo --out runs/demo

# Learner + 4 actor processes over a local Redis on the point-mass suite (20k env steps), one
# actor and the learner killed once each mid-run and started again; ends with
# `distributed: E env steps, U updates, R items rejected, 0 lost, 0 duplicated`.
distributed-demo: deps
	$(CARGO) run --release -q -p bprl-examples --bin bprl -- train --distributed --actors 4 \
	  --config configs/distributed-demo.toml --out runs/distributed-demo --overwrite \
	  --stream-cap 500 --kill actor:1@6000 --kill learner@12000

# Collection and learning throughput with 1, 2, 4, 8 actor processes, and the learner's ingest
# ceiling (docs/benchmarks.md).
bench-distributed: deps
	bash scripts/bench-distributed

# The claims experiment at full size (docs/results.md): 10 seeds for the headline comparison,
# 5 for the other variants, about an hour on 2 cores. Resumable: run it again and it skips
# finished runs and resumes interrupted ones (runs/paper/<group>/<variant>/seed<N>/). Then
# copies the summary (the claims table) and the figures that docs/results.md embeds.
paper: deps
	$(CARGO) run --release -p bprl-examples --bin bprl -- demo --preset paper --out runs/paper
	mkdir -p docs/figures/paper
	cp runs/paper/curves_*.png runs/paper/prior_rollouts_*.png docs/figures/paper/
	cp runs/paper/summary.md docs/paper-summary.md

bench: deps
	$(CARGO) bench --workspace --all-features

# The learner update against the JAX/XLA reference, side by side (installs jax into .tools/jax).
bench-jax: deps
	bash scripts/bench-vs-jax 20

# MuJoCo environment steps/s: our environment, the raw mj_step loop, a vector over both cores
# and the official Python bindings on the same MJCF (installs mujoco + numpy into .tools/mujoco-py).
bench-mujoco: deps
	bash scripts/bench-mujoco 4000

# The short quadruped run of docs/results.md: three seeds of configs/quadruped-go-to-target.toml.
quadruped: deps
	for seed in 0 1 2; do \
	  $(CARGO) run --release -q -p bprl-examples --features mujoco --bin bprl -- train \
	    --config configs/quadruped-go-to-target.toml --out runs/quadruped/seed$$seed --seed $$seed --quiet; \
	done

# Learning side by side with Stable-Baselines3 SAC on the same Rust environments (through the
# Python module crates/bprl-py; installs torch, SB3, gymnasium, maturin into .tools/sb3, about
# 5 GB). Resumable: rerun to continue. More options through ARGS, e.g. ARGS="--body reacher".
compare-sb3: deps
	python3 scripts/compare-sb3 --seeds 5 $(ARGS)

# On a machine with an NVIDIA GPU and a Rust toolchain: the GPU tests and the kernel benchmark.
# BPRL_REQUIRE_GPU=1: no GPU is a failure, not a skip. No `deps`: a GPU machine may have no
# network, and its own NVRTC (CUDA 13) must be the one found (put its folder on
# LD_LIBRARY_PATH, e.g. /usr/local/cuda/lib64).
test-gpu:
	BPRL_REQUIRE_GPU=1 BPRL_REQUIRE_NVRTC=1 $(CARGO) test -p bprl-cuda -- --nocapture

bench-gpu:
	BPRL_REQUIRE_GPU=1 bash scripts/bench-cuda

# For a GPU machine with no Rust and no network: builds the GPU tests and the benchmark here
# into gpu-pack/ and prints the one command to run there (scripts/gpu-check).
gpu-check:
	bash scripts/gpu-check

# Coverage-guided fuzzing (libFuzzer through cargo-fuzz, which needs a nightly toolchain; both
# are installed here if missing). Each target runs FUZZ_SECONDS; new inputs join the committed
# corpus in fuzz/corpus/<target>, which `make test` replays on stable. A crash leaves its input
# in fuzz/artifacts/<target>/ and fails the target.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := config_toml checkpoint_state replay_snapshot
fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 || exit 1; \
	done

# Crash recovery: SIGKILL at 10 random moments, resume, compare with an uninterrupted run,
# in the synchronous mode (bit-identical state and replay) and the threaded mode.
soak:
	python3 scripts/soak
	python3 scripts/soak --threads 2 --steps 30000 --no-build
