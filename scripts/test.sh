#!/usr/bin/env bash
# Runs the whole test suite: makes sure the system packages, models and sample media
# are installed (scripts/setup.sh --no-run, fast when they are), then cargo test in the
# release profile (the one setup builds, so dependencies are built once).
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo's own target/ in the clone unless CARGO_TARGET_DIR is set (.ci/run sets it).
# The same C++ flags as setup's build (dlib for this CPU), so nothing is rebuilt.
export CXXFLAGS="${CXXFLAGS:--march=native}"
scripts/setup.sh --no-run
# The headless library and CLI (no GUI stack) must build too.
cargo build --release --no-default-features --bin ti2net
# The GPU build compiles too (no GPU here, so it is not run): headless, with the CUDA
# toolkit from pinned PyPI wheels (scripts/cuda-toolkit.sh, cached). Before cargo test,
# which puts the default build back at target/release/ti2net. TI2NET_NO_CUDA=1 skips it.
if [[ "${TI2NET_NO_CUDA:-}" != 1 ]]; then
  (cuda_env=$(scripts/cuda-toolkit.sh) && eval "$cuda_env" &&
    cargo build --release --no-default-features --features cuda --bin ti2net)
fi
cargo test --release --all-targets --no-fail-fast "$@"
