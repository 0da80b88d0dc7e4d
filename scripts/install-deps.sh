#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make test` and `make demo`. Idempotent: checks first,
# installs only what is missing. Debian packages need root (CI and the dev machines run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  echo "install-deps: installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

# The `lapack` feature links a system OpenBLAS (which carries LAPACK).
need_apt=()
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\b'; then need_apt+=(libopenblas-dev); fi
if ! command -v pkg-config >/dev/null 2>&1; then need_apt+=(pkg-config); fi
# bprl-cuda's tests compile the CUDA kernels as host C++ and compare them with the CPU references.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then need_apt+=(g++); fi
if ! python3 -m pip --version >/dev/null 2>&1; then need_apt+=(python3-pip); fi
# A TTF font for the labels of the demo's plots.
if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then need_apt+=(fonts-dejavu-core); fi
# bprl-distributed's tests and `make distributed-demo` start their own redis-server (7.x).
if ! command -v redis-server >/dev/null 2>&1; then need_apt+=(redis-server); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  # No service may start on install (a system redis on port 6379 would outlive the tests):
  # policy-rc.d answers 101 ("action forbidden") for the duration of the install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install "${need_apt[@]}"
fi

# NVRTC from PyPI, so the test suite compiles every CUDA kernel without a GPU (DESIGN.md
# section 5). Installed into a project-local folder; the Makefile puts it on LD_LIBRARY_PATH.
NVRTC_DIR=.tools/nvrtc
if [ ! -e "$NVRTC_DIR/nvidia/cuda_nvrtc/lib/libnvrtc.so.12" ]; then
  echo "install-deps: installing nvidia-cuda-nvrtc-cu12 into $NVRTC_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --target "$NVRTC_DIR" \
    "nvidia-cuda-nvrtc-cu12==12.9.*"
fi

# MuJoCo 3.17.0 (the C library mujoco-rs 7.0.0 is built against) from the PyPI wheel `mujoco`,
# which ships `mujoco/libmujoco.so.3.17.0` (it needs only libc, libm and libdl). Only the library
# is needed (`--no-deps`); `libmujoco.so` is the name the linker looks for. bprl-mujoco links it
# through MUJOCO_DYNAMIC_LINK_DIR (set by the Makefile and by .cargo/config.toml).
MUJOCO_DIR=.tools/mujoco/mujoco
if [ ! -e "$MUJOCO_DIR/libmujoco.so.3.17.0" ]; then
  echo "install-deps: installing the MuJoCo 3.17.0 library (PyPI wheel mujoco) into .tools/mujoco"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target .tools/mujoco \
    "mujoco==3.17.0"
fi
ln -sf libmujoco.so.3.17.0 "$MUJOCO_DIR/libmujoco.so"
