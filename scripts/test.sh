#!/usr/bin/env bash
# Runs the whole test suite: makes sure the system packages, models and sample media
# are installed (scripts/setup.sh --no-run, fast when they are), checks formatting
# and lints, checks the CUDA build when its inputs changed (scripts/cuda-check.sh),
# then runs the tests in the release profile (the one setup builds, so dependencies
# are compiled once): the headless build's tests (library and command line, no GUI
# stack), then the workbench's.
#
# Extra arguments go to both cargo test runs (e.g. `scripts/test.sh -- --nocapture`).
# Each step prints the minutes since the start, so a slow step shows.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo's own target/ in the clone unless CARGO_TARGET_DIR is set (.ci/run sets it).
# The same C++ flags as setup's build (dlib for this CPU), so nothing is rebuilt.
export CXXFLAGS="${CXXFLAGS:--march=native}"
T0=$SECONDS
step() { printf '\033[1m== [%d:%02d] %s\033[0m\n' $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)) "$*" >&2; }

step "setup (packages, models, media, release build)"
scripts/setup.sh --no-run
step "formatting (cargo fmt --check)"
cargo fmt --check
step "the cuda build (when its inputs changed)"
scripts/cuda-check.sh auto
# Lints over every target of both builds. Clippy's check builds are metadata only,
# and share no artifacts with the release profile.
step "lints (cargo clippy, headless and with the workbench)"
cargo clippy --release --quiet --no-default-features --all-targets -- -D warnings
cargo clippy --release --quiet --all-targets -- -D warnings
status=0
# Every test runs once: the headless build runs the library's and the command line's
# tests (the workbench's tests need `gui` and are left out of it), then the default
# build runs the library's unit tests with the GUI modules and the workbench's tests.
step "headless tests (cargo test --no-default-features)"
cargo test --release --no-default-features --all-targets --no-fail-fast "$@" || status=$?
step "workbench tests (cargo test --lib --test 'gui*')"
cargo test --release --lib --test 'gui*' --no-fail-fast "$@" || status=$?
step "done (exit $status)"
exit $status
