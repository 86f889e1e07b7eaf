#!/usr/bin/env bash
# The `cuda` feature's build check: the headless binary built with `--features cuda`
# against the CUDA toolkit from pinned PyPI wheels (scripts/cuda-toolkit.sh). There is
# no GPU here, so it compiles and links; it does not run (scripts/gpu-bench.sh does
# that on a machine with one).
#
# On 2 cores a cold check takes over 20 minutes, nearly all of it nvcc compiling
# candle's kernels, and its outcome depends only on what the CUDA build is made from:
#   - the locked versions of candle-core and candle-nn and everything they can pull in
#     (their dependency closure in Cargo.lock, with checksums);
#   - the toolkit's pins (scripts/cuda-toolkit.sh) and the `cuda` feature line of
#     Cargo.toml;
#   - the Rust toolchain (rustc -vV);
#   - ti2net's own code that only the cuda build compiles: every source file with a
#     `#[cfg(...)]` attribute naming cuda (today there is none: the code asks
#     `cfg!(feature = "cuda")`, so both builds compile the same Rust).
# Those inputs hash to a key. .ci/cuda-checked records the key of the last build that
# passed. `auto` (what scripts/test.sh runs) builds only when the key differs, so a
# change to any of them is checked before it lands, and a cold CI machine does not pay
# 20 minutes to re-prove an unchanged build; a passing build writes the new key, to be
# committed with the change that needed it.
#
#   scripts/cuda-check.sh key     print this tree's key
#   scripts/cuda-check.sh auto    build when the key differs from .ci/cuda-checked
#   scripts/cuda-check.sh build   build now, and record the key when it passes
#
# TI2NET_CUDA_CHECK=1 makes `auto` build whatever the key; TI2NET_NO_CUDA=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
STAMP=.ci/cuda-checked
# What the check does; bump when the build command below changes.
RECIPE=1

key() {
  {
    echo "recipe $RECIPE"
    python3 - <<'PY'
import tomllib
lock = tomllib.load(open("Cargo.lock", "rb"))
pkgs = {}
for p in lock["package"]:
    pkgs.setdefault(p["name"], []).append(p)
def find(dep):
    # A dependency is "name" or "name version" (when several versions are locked).
    name, _, ver = dep.partition(" ")
    return [p for p in pkgs.get(name, []) if not ver or p["version"] == ver.split(" ")[0]]
seen, todo = set(), ["candle-core", "candle-nn"]
while todo:
    for p in find(todo.pop()):
        k = (p["name"], p["version"])
        if k in seen:
            continue
        seen.add(k)
        print(p["name"], p["version"], p.get("checksum", ""))
        todo.extend(p.get("dependencies", []))
PY
    sha256sum scripts/cuda-toolkit.sh | cut -d' ' -f1
    grep -E '^cuda *=' Cargo.toml
    rustc -vV
    { grep -rlE '#!?\[cfg[^]]*cuda' src || true; } | sort | xargs -r sha256sum
  } | LC_ALL=C sort | sha256sum | cut -d' ' -f1
}

build() {
  local t0=$SECONDS
  echo "== cuda build check (key $(key)): headless, --features cuda" >&2
  (cuda_env=$(scripts/cuda-toolkit.sh) && eval "$cuda_env" &&
    cargo build --release --no-default-features --features cuda --bin ti2net)
  local k
  k=$(key)
  cat >"$STAMP.part" <<EOF
# The last passing \`cuda\` build check (scripts/cuda-check.sh); \`auto\` skips the
# check while this tree's key is the same. Commit this file with the change that made it.
key $k
date $(date -u +%Y-%m-%dT%H:%M:%SZ)
seconds $((SECONDS - t0))
EOF
  mv "$STAMP.part" "$STAMP"
  echo "== cuda build check passed in $((SECONDS - t0)) s; recorded in $STAMP" >&2
}

case "${1:-}" in
  key) key ;;
  build) build ;;
  auto)
    if [[ "${TI2NET_NO_CUDA:-}" == 1 ]]; then
      echo "== cuda build check skipped (TI2NET_NO_CUDA=1)" >&2
      exit 0
    fi
    k=$(key)
    recorded=$(sed -n 's/^key //p' "$STAMP" 2>/dev/null || true)
    if [[ "${TI2NET_CUDA_CHECK:-}" != 1 && "$k" == "$recorded" ]]; then
      echo "== cuda build check: passed for these inputs on $(sed -n 's/^date //p' "$STAMP") (key ${k:0:12}, $STAMP); not rebuilt (TI2NET_CUDA_CHECK=1 forces it)" >&2
    else
      build
    fi
    ;;
  *)
    echo "usage: scripts/cuda-check.sh key|auto|build" >&2
    exit 2
    ;;
esac
