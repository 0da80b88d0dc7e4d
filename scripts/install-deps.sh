#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make test` and `make demo`. Idempotent: checks first,
# installs only what is missing. Debian packages need root (CI and the dev machines run as root).
set -euo pipefail

need_apt=()
# The `lapack` feature links a system OpenBLAS (which carries LAPACK).
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\b'; then
  need_apt+=(libopenblas-dev)
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  need_apt+=(pkg-config)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${need_apt[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
