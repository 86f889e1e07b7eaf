#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU and its driver (580 or newer, for
# CUDA 13): builds `ti2net` with `--features cuda` (the CUDA 13.4 toolkit from PyPI
# wheels, scripts/cuda-toolkit.sh, kernels for this GPU's compute capability), then
# `ti2net bench --cuda --batches ...`:
#   - CPU/GPU parity of MobileFaceNet and resnet_face18 on real face crops of the video
#     and of TI2Net on their identity vectors (cosine >= 0.999, p_fake within 1e-3);
#   - each encoder's crops/s on the GPU at batch 1 to 1024 (and on the CPU at 64);
#   - whole-pipeline frames/s with each encoder on the CPU and on the GPU.
# Exits non-zero when a parity check fails.
#
#   scripts/gpu-bench.sh [VIDEO] [more `ti2net bench` options]
#
# VIDEO defaults to the sample clip assets/media/cut.mp4. Environment: FRAMES (300),
# BATCHES (1,2,4,...,1024), CUDA_COMPUTE_CAP (default: the GPU's), CARGO_TARGET_DIR
# (default ~/.cache/ti2net/target-cuda). r18 runs on the tests' random-weight fixture
# unless `--r18-weights FILE` is given; TI2Net on the demo detector when installed.
set -euo pipefail
cd "$(dirname "$0")/.."

VIDEO=assets/media/cut.mp4
if [[ $# -gt 0 && "$1" != -* ]]; then
  VIDEO=$1
  shift
fi
FRAMES=${FRAMES:-300}
BATCHES=${BATCHES:-1,2,4,8,16,32,64,128,256,512,1024}

# 1. A GPU, before anything is built --------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "error: no NVIDIA GPU here (nvidia-smi is not installed): run scripts/gpu-bench.sh on a machine with an NVIDIA GPU and its driver" >&2
  exit 1
fi
if ! gpus=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>&1) || [[ -z "$gpus" ]]; then
  echo "error: no NVIDIA GPU here (nvidia-smi: $(echo "$gpus" | head -1))" >&2
  exit 1
fi
echo "== GPU: $(echo "$gpus" | head -1)" >&2
driver=$(echo "$gpus" | head -1 | cut -d, -f2 | tr -d ' ')
if ((${driver%%.*} < 580)); then
  echo "error: driver $driver is too old for CUDA 13 (the build's toolkit): 580 or newer is needed" >&2
  exit 1
fi
if [[ -z "${CUDA_COMPUTE_CAP:-}" ]]; then
  CUDA_COMPUTE_CAP=$(echo "$gpus" | head -1 | cut -d, -f3 | tr -d ' .')
  export CUDA_COMPUTE_CAP
fi

# 2. The toolkit, the models and the sample media, the build ----------------------------
cuda_env=$(scripts/cuda-toolkit.sh)
eval "$cuda_env"
if [[ ! -s weights/mobilefacenet.safetensors && ! -s "$HOME/.local/share/ti2net/models/mobilefacenet.safetensors" ]] ||
  [[ ! -s "$VIDEO" ]]; then
  echo "== models or sample media missing: scripts/setup.sh --no-run" >&2
  scripts/setup.sh --no-run
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ti2net/target-cuda}"
echo "== cargo build --release --no-default-features --features cuda (kernels for compute capability $CUDA_COMPUTE_CAP)" >&2
cargo build --release --no-default-features --features cuda --bin ti2net

# 3. The check ---------------------------------------------------------------------------
"$CARGO_TARGET_DIR/release/ti2net" bench "$VIDEO" --cuda --frames "$FRAMES" --batches "$BATCHES" "$@"
