#!/usr/bin/env python3
"""The seed's face pipeline re-created, the baseline that `scripts/seed-bench.sh` times
`ti2net analyze` against on the same machine, in the same run.

What it does is what REFERENCE.md sections 1-2 say the original's preprocessing did,
written from those facts (none of the original's code):

1. frames read with OpenCV, seeking to each one (`CAP_PROP_POS_FRAMES`) before reading;
2. dlib's frontal HOG detector, upsampled once, on every frame; every face's square box
   (centre of the detection, side = 1.3 x max(width, height), clamped) written as PNG;
3. each PNG read back, grey, 128 x 128, (x - 127.5) / 127.5, with its mirror through
   resnet_face18 in PyTorch (eval, no grad), one face at a time: 1024-d per face.

  python3 scripts/seed_baseline.py VIDEO R18_WEIGHTS.pth OUT_DIR

Prints one JSON line: frames, faces and seconds of each stage and in all. Needs
opencv-python-headless, dlib (dlib-bin), torch and numpy (seed-bench.sh installs them).
"""
import json
import os
import sys
import time

import cv2
import dlib
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import resnet_face18_net  # noqa: E402


def crops(video, out_dir):
    """Steps 1 and 2: the PNG crops of every face of every frame, and the frame count."""
    detector = dlib.get_frontal_face_detector()
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        sys.exit(f"error: OpenCV cannot open {video}")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    paths, frames = [], 0
    for i in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, bgr = cap.read()
        if not ok:
            break
        frames += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        for k, r in enumerate(detector(rgb, 1)):
            cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
            side = 1.3 * max(r.width(), r.height())
            x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
            x1, y1 = min(w, int(cx + side / 2)), min(h, int(cy + side / 2))
            if x1 <= x0 or y1 <= y0:
                continue
            p = os.path.join(out_dir, f"{i:06d}_{k}.png")
            cv2.imwrite(p, bgr[y0:y1, x0:x1])
            paths.append(p)
    return paths, frames


def embed(paths, weights):
    """Step 3: one 1024-d vector per crop."""
    net = resnet_face18_net(False)
    sd = torch.load(weights, map_location="cpu")
    net.load_state_dict({k.removeprefix("module."): v for k, v in sd.items()})
    out = []
    with torch.no_grad():
        for p in paths:
            g = cv2.resize(cv2.imread(p, cv2.IMREAD_GRAYSCALE), (128, 128)).astype(np.float32)
            x = np.stack([g, g[:, ::-1]])[:, None]
            x = torch.from_numpy((x - 127.5) / 127.5)
            out.append(net(x).reshape(-1).numpy())
    return np.stack(out) if out else np.zeros((0, 1024), np.float32)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    video, weights, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    paths, frames = crops(video, out_dir)
    t1 = time.perf_counter()
    vecs = embed(paths, weights)
    t2 = time.perf_counter()
    np.save(os.path.join(out_dir, "vectors.npy"), vecs)
    print(json.dumps({
        "frames": frames,
        "faces": len(paths),
        "crops_s": round(t1 - t0, 2),
        "embed_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "torch_threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
