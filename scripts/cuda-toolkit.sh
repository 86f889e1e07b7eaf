#!/usr/bin/env bash
# The CUDA 13.4 toolkit that `cargo build --features cuda` needs, from NVIDIA's PyPI
# wheels (no system CUDA install, no GPU): nvcc and its helpers, the headers, and the
# runtime libraries candle links to (cudart, nvrtc, cuBLAS, cuBLASLt, cuRAND). Each
# wheel is pinned by version and sha256 (pip checks them), unpacked once into
# ~/.cache/ti2net/cuda/13.4.92/root, a CUDA_ROOT layout (bin/nvcc, include/, nvvm/,
# lib/); the second run does nothing but print the environment.
#
#   cuda_env=$(scripts/cuda-toolkit.sh) && eval "$cuda_env"
#
# prints, on standard output, the exports the build and the binary need:
#   CUDA_ROOT / CUDA_HOME / CUDA_PATH, PATH (nvcc), CUDA_COMPUTE_CAP (the kernels'
#   target: 80 unless already set; PTX built for 8.0 runs on every later GPU),
#   CUDAFORGE_THREADS (nvcc processes candle-kernels runs at once: one per core, not
#   the default half), LD_LIBRARY_PATH (the wheels' libraries, for running a cuda build).
#
# candle 0.11 links cudarc with `dynamic-linking`, so the link needs a libcuda.so. The
# real one comes with the NVIDIA driver, never with the toolkit; like the toolkit's own
# lib/stubs/libcuda.so, a stub (every cu* symbol of the driver API that cudarc declares,
# SONAME libcuda.so.1) is built into lib/stubs for the link. It is not on
# LD_LIBRARY_PATH: at run time the driver's libcuda.so.1 is used.
#
# Why 13.4: cudarc 0.19 (candle 0.11) knows CUDA 11.4 to 13.4; the -cu12 nvcc wheels
# hold no nvcc (only ptxas and libnvvm). Running a build needs a driver for CUDA 13
# (580 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."

CUDA_VERSION=13.4.92
CACHE="${TI2NET_CUDA_CACHE:-$HOME/.cache/ti2net/cuda}/$CUDA_VERSION"
ROOT="$CACHE/root"
# name==version sha256 of the one x86_64 Linux wheel.
WHEELS=(
  "nvidia-cuda-nvcc==13.4.92 a1f3bfb27299e060b444d5df1f4bcd762501326cf0fd3141ed61756816ab9a0e"
  "nvidia-cuda-crt==13.4.92 731ce3de11df8add8306404417a1edaede225dbe27eb233aed37c8de9d4fe720"
  "nvidia-nvvm==13.4.92 e4c81cb321dd9743bcf871c5e7e8fecd7f05dea607944426e102bdda8d49e137"
  "nvidia-cuda-runtime==13.4.92 9641f797da20ce1dd8e779b6e96d08cf9ba564cec8e8225458811ee26423f3a5"
  "nvidia-cuda-cccl==13.3.5.0.6 d5230098fa2df5021e1a00c0c4eee41797671a91119d31e892463e5ccf3ee326"
  "nvidia-cuda-nvrtc==13.4.92 5ce8c97b00b232c4f50c8c4b5a3b68cafee08bdb82ea86f2052ff01d03194f4a"
  "nvidia-curand==10.4.4.72 25c3457ae7a224fdd484dab90b0fc5dc0e842fab5db3012afa4a5bd2af4eb7e5"
  "nvidia-cublas==13.6.2.16 3968bb7940ed0690769b2918132ca1368b2806321b7c9d94a89c649a03e3b788"
)

say() { printf '== %s\n' "$*" >&2; }
PIN=$(printf '%s\n' "${WHEELS[@]}" | sha256sum | cut -c1-16)

if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  echo "error: scripts/cuda-toolkit.sh fetches the x86_64 Linux wheels; this is $(uname -sm)" >&2
  exit 1
fi

# 1. The wheels, unpacked into root/ (skipped when root/ was made from these pins) -----
if [[ "$(cat "$ROOT/.ti2net-wheels" 2>/dev/null)" != "$PIN" ]]; then
  PIP=$(command -v pip3 || command -v pip) || { echo "error: pip is missing (apt-get install python3-pip)" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "error: unzip is missing (apt-get install unzip)" >&2; exit 1; }
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  for w in "${WHEELS[@]}"; do echo "${w% *} --hash=sha256:${w#* }"; done >"$tmp/requirements.txt"
  say "fetching the CUDA $CUDA_VERSION wheels (about 700 MB)"
  "$PIP" download --quiet --no-deps --only-binary=:all: --require-hashes \
    -r "$tmp/requirements.txt" -d "$tmp/wheels" >&2
  n=$(ls "$tmp/wheels"/*.whl | wc -l)
  [[ $n -eq ${#WHEELS[@]} ]] || { echo "error: expected ${#WHEELS[@]} wheels, got $n" >&2; exit 1; }
  say "unpacking"
  for w in "$tmp/wheels"/*.whl; do unzip -q -o "$w" 'nvidia/cu13/*' -d "$tmp/x"; done
  new="$tmp/x/nvidia/cu13"
  # Unversioned names for the linker (-lcudart, -lcublas, ...).
  for so in "$new"/lib/lib*.so.*; do
    base=$(basename "$so")
    [[ -e "$new/lib/${base%%.so.*}.so" ]] || ln -s "$base" "$new/lib/${base%%.so.*}.so"
  done
  chmod +x "$new"/bin/* "$new"/nvvm/bin/* 2>/dev/null || true
  "$new/bin/nvcc" --version >/dev/null
  echo "$PIN" >"$new/.ti2net-wheels"
  rm -rf "$ROOT"
  mv "$new" "$ROOT"
fi

# 2. The libcuda.so stub, from the cudarc that Cargo.lock pins --------------------------
CUDARC=$(awk '/^name = "cudarc"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[[ -n "$CUDARC" ]] || { echo "error: Cargo.lock has no cudarc (is the cuda feature in Cargo.toml?)" >&2; exit 1; }
STUB="$ROOT/lib/stubs/libcuda.so"
if [[ "$(cat "$STUB.cudarc" 2>/dev/null)" != "$CUDARC stub 3" ]]; then
  REG="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  src=$(ls -d "$REG"/*/"cudarc-$CUDARC" 2>/dev/null | head -1 || true)
  if [[ -z "$src" ]]; then
    cargo fetch --quiet --target "$(rustc -vV | sed -n 's/^host: //p')" >&2
    src=$(ls -d "$REG"/*/"cudarc-$CUDARC" 2>/dev/null | head -1 || true)
  fi
  if [[ -z "$src" ]]; then # fetched but not unpacked: the .crate is a .tar.gz
    crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"cudarc-$CUDARC.crate" | head -1)
    mkdir -p "$CACHE/src"
    tar -xzf "$crate" -C "$CACHE/src"
    src="$CACHE/src/cudarc-$CUDARC"
  fi
  mkdir -p "$ROOT/lib/stubs"
  # The stub only has to name the symbols for the linker; should it be loaded at run
  # time all the same, every call returns CUDA_ERROR_STUB_LIBRARY (34), as NVIDIA's does.
  grep -ohP '^pub unsafe fn \Kcu\w+(?=\()' "$src/src/driver/sys/mod.rs" | sort -u |
    sed 's/.*/int &(void) { return 34; }/' >"$ROOT/lib/stubs/libcuda.c"
  n=$(wc -l <"$ROOT/lib/stubs/libcuda.c")
  ((n > 100)) || { echo "error: found only $n driver functions in $src" >&2; exit 1; }
  cc -shared -fPIC -fno-builtin -Wl,-soname,libcuda.so.1 -o "$STUB" "$ROOT/lib/stubs/libcuda.c"
  # (For trying a cuda build where there is no driver: LD_LIBRARY_PATH=.../lib/stubs.)
  ln -sf libcuda.so "$ROOT/lib/stubs/libcuda.so.1"
  echo "$CUDARC stub 3" >"$STUB.cudarc"
fi

# 3. The environment -------------------------------------------------------------------
cat <<EOF
export CUDA_ROOT='$ROOT'
export CUDA_HOME='$ROOT'
export CUDA_PATH='$ROOT'
export PATH='$ROOT/bin':"\$PATH"
export CUDA_COMPUTE_CAP='${CUDA_COMPUTE_CAP:-80}'
export CUDAFORGE_THREADS='${CUDAFORGE_THREADS:-$(nproc)}'
export LD_LIBRARY_PATH='$ROOT/lib'"\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
