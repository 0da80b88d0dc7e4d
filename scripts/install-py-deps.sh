#!/usr/bin/env bash
# Installs what `make compare-sb3` needs on top of `make test`'s tools, into the project-local
# folder .tools/sb3 (pip --target; nothing system-wide). Idempotent: a marker file names the
# pinned set, and a matching marker means nothing to do. Only PyPI is used, so torch is PyPI's
# default Linux build (about 5 GB with its CUDA libraries; it runs on the CPU here, and
# `import torch` needs those libraries present even without a GPU).
# Usage: scripts/install-py-deps.sh   (prints the folder to put on PYTHONPATH)
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=.tools/sb3
PINS=(
  "torch==2.15.0"
  "stable-baselines3==2.9.2"
  "gymnasium==1.4.0"
  "numpy==2.4.6"
  "maturin==1.16.0"
)
MARKER="$DIR/.installed"
want="${PINS[*]}"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ]; then
  echo "$DIR"
  exit 0
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "install-py-deps: python3 with pip is required (Debian: python3-pip)" >&2
  exit 1
fi
echo "install-py-deps: installing ${PINS[*]} into $DIR (several GB the first time)" >&2
rm -rf "$DIR"
python3 -m pip install --quiet --disable-pip-version-check --target "$DIR" "${PINS[@]}" >&2
echo "$want" > "$MARKER"
echo "$DIR"
