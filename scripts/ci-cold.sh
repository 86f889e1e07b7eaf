#!/usr/bin/env bash
# Measures a cold `.ci/run`: a fresh clone of HEAD, run with an empty HOME (so empty
# ~/.cache, models folder, pip and npm caches and cargo target folder) and an empty
# CARGO_HOME (no crates downloaded), with the Rust toolchain as installed. The Debian
# packages cannot be uninstalled here: on a new machine setup's `apt-get install`
# adds its own time (38 s for the 20 packages a new machine lacks, measured on the
# project's machine).
#
#   scripts/ci-cold.sh        prints each step's time (from scripts/test.sh) and the total
#
# The work folder (several GB) is left in the temporary folder for a look; its path is
# printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d "${TMPDIR:-/tmp}/ti2net-cold.XXXXXX")
git clone -q . "$W/ci"
mkdir -p "$W/home" "$W/cargo"
# The npm client's settings (a registry address) are kept; nothing else of HOME is.
[[ -f "$HOME/.npmrc" ]] && cp "$HOME/.npmrc" "$W/home/"
start=$SECONDS
rc=0
(cd "$W/ci" && env -u CARGO_TARGET_DIR -u XDG_CACHE_HOME -u XDG_DATA_HOME -u TI2NET_HOME \
  -u CXXFLAGS HOME="$W/home" CARGO_HOME="$W/cargo" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}" CI=true bash .ci/run) || rc=$?
t=$((SECONDS - start))
echo "cold .ci/run of $(git rev-parse --short HEAD): exit $rc in $((t / 60)) min $((t % 60)) s (work folder $W)"
exit $rc
