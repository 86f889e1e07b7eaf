#!/usr/bin/env python3
"""Makes the committed reference fixtures under tests/fixtures/.

Run once by a developer (needs numpy, pillow, onnxruntime, torch); tests only read
its outputs. The networks here are written from the facts in shared/REFERENCE.md,
not copied from the original code.

  python3 scripts/make_fixtures.py

1. mobilefacenet_obama.npy: onnxruntime's output of fr_feature.onnx on
   obama_aligned.png (a 112x112 crop written by `ti2net embed --crops`) and its
   mirror: float32 (2, 512). Input BGR, (x - 127) / 128.
2. r18_module.pth / r18se_module.pth: resnet_face18 (use_se False / True) with
   deterministic weights, saved from a DataParallel-style state dict (`module.`
   prefix), zip format, entries re-compressed with deflate so they stay small.
   r18_outputs.npy / r18se_outputs.npy: PyTorch's outputs on obama_square.png, its
   mirror and a fixed pattern: float32 (3, 512).
3. r18_legacy.pth: a small state dict in PyTorch's legacy (non-zip) format.
4. ti2net_h64.pth: TI2Net (bidirectional GRU 1024 -> 64, linear_1, linear_2) with
   torch.manual_seed(0) weights, saved with `module.` keys as DataParallel would;
   ti2net_inputs.npy (3, 63, 1024) fixed inputs; ti2net_latent.npy (3, 128) and
   ti2net_probs.npy (3, 2) PyTorch's outputs (eval mode).
   ti2net_ids.npy / ti2net_lens.npy (int32): an identity file of two videos (140 and
   170 frames) and ti2net_clip_probs.npy: PyTorch's fake probability of each clip
   (64 vectors every 2nd frame, differenced, starts 0, 16, 32, ... that fit).
"""
import io
import math
import os
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")


def mobilefacenet():
    import onnxruntime as ort

    onnx = os.path.join(ROOT, "weights", "sources", "fr_feature.onnx")
    from PIL import Image

    crop = np.asarray(Image.open(os.path.join(FIX, "obama_aligned.png")).convert("RGB"), dtype=np.float32)
    batch = []
    for img in (crop, crop[:, ::-1, :]):
        bgr = img[:, :, ::-1]
        batch.append(((bgr - 127.0) / 128.0).transpose(2, 0, 1))
    sess = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    outs = [sess.run(None, {"input": b[None].astype(np.float32)})[0].reshape(512) for b in batch]
    np.save(os.path.join(FIX, "mobilefacenet_obama.npy"), np.stack(outs).astype(np.float32))


def resnet_face18_net(use_se):
    """resnet_face18 (arcface-pytorch's ResNetFace with IRBlocks) as restated in
    REFERENCE.md section 2, in eval mode, with PyTorch's default initialisation."""
    from torch import nn

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(c, c // 16), nn.PReLU(), nn.Linear(c // 16, c), nn.Sigmoid())

        def forward(self, x):
            y = x.mean(dim=(2, 3))
            return x * self.fc(y)[:, :, None, None]

    def conv3(i, o, s=1):
        return nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False)

    class Block(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.bn0 = nn.BatchNorm2d(cin)
            self.conv1 = conv3(cin, cin)
            self.bn1 = nn.BatchNorm2d(cin)
            self.prelu = nn.PReLU()
            self.conv2 = conv3(cin, planes, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.se = SE(planes) if use_se else None
            self.downsample = None
            if stride != 1 or cin != planes:
                self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            y = self.prelu(self.bn1(self.conv1(self.bn0(x))))
            y = self.bn2(self.conv2(y))
            if self.se is not None:
                y = self.se(y)
            r = x if self.downsample is None else self.downsample(x)
            return self.prelu(y + r)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 64, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.prelu = nn.PReLU()
            self.maxpool = nn.MaxPool2d(2, 2)
            layers, cin = [], 64
            for planes, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
                layers.append(nn.Sequential(Block(cin, planes, stride), Block(planes, planes, 1)))
                cin = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.bn4 = nn.BatchNorm2d(512)
            self.dropout = nn.Dropout()
            self.fc5 = nn.Linear(512 * 8 * 8, 512)
            self.bn5 = nn.BatchNorm1d(512)

        def forward(self, x):
            x = self.maxpool(self.prelu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = self.dropout(self.bn4(x))
            return self.bn5(self.fc5(x.flatten(1)))

    return Net().eval()


def resnet_face18(use_se):
    import torch

    net = resnet_face18_net(use_se)
    sd = net.state_dict()
    for k, (name, t) in enumerate(sd.items()):
        if t.dtype != torch.float32:
            continue
        n = t.numel()
        i = np.arange(n) % 1009
        wave = np.sin(0.37 * i + 0.91 * k)
        if name.endswith("running_var"):
            v = 0.6 + 0.3 * (1 + wave)
        elif name.endswith("running_mean") or name.endswith(".bias"):
            v = 0.1 * wave
        elif t.dim() == 1 and ("bn" in name or "downsample.1" in name):
            v = 1.0 + 0.2 * wave  # batch-norm weight
        elif "prelu" in name or name.endswith("fc.1.weight"):
            v = 0.25 + 0.05 * wave
        else:
            fan_in = n // t.shape[0]
            v = wave * (1.7 / math.sqrt(fan_in))
        sd[name] = torch.tensor(v.reshape(t.shape), dtype=torch.float32)
    net.load_state_dict(sd)

    from PIL import Image

    sq = np.asarray(Image.open(os.path.join(FIX, "obama_square.png")).convert("L"), dtype=np.float32)
    pattern = np.sin(np.arange(128 * 128).reshape(128, 128) * 0.05) * 200 + 127.5
    x = np.stack([sq, sq[:, ::-1], pattern])[:, None]
    x = torch.tensor((x - 127.5) / 127.5, dtype=torch.float32)
    with torch.no_grad():
        out = net(x).numpy().astype(np.float32)
    tag = "r18se" if use_se else "r18"
    np.save(os.path.join(FIX, f"{tag}_outputs.npy"), out)

    buf = io.BytesIO()
    torch.save({"module." + k: v for k, v in sd.items()}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(os.path.join(FIX, f"{tag}_module.pth"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    return sd


def legacy(sd):
    import torch

    small = {"module.conv1.weight": sd["conv1.weight"], "module.bn1.weight": sd["bn1.weight"]}
    torch.save(small, os.path.join(FIX, "r18_legacy.pth"), _use_new_zipfile_serialization=False)


def ti2net():
    import torch
    from torch import nn

    class TI2Net(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.rnn = nn.GRU(1024, hidden, batch_first=True, bidirectional=True)
            self.linear_1 = nn.Linear(2 * hidden, 128)
            self.linear_2 = nn.Linear(128, 2)
            self.dropout = nn.Dropout(0.7)

        def forward(self, x):
            out, _ = self.rnn(x)
            latent = out[:, -1, :]
            y = self.linear_2(torch.relu(self.linear_1(self.dropout(latent))))
            return latent, torch.softmax(y, dim=1)

    torch.manual_seed(0)
    net = TI2Net(64).eval()
    sd = net.state_dict()
    torch.save({"module." + k: v for k, v in sd.items()}, os.path.join(FIX, "ti2net_h64.pth"))
    b, t, d = np.meshgrid(np.arange(3), np.arange(63), np.arange(1024), indexing="ij")
    x = (0.5 * np.sin(0.013 * d + 0.7 * t + 1.3 * b)).astype(np.float32)
    np.save(os.path.join(FIX, "ti2net_inputs.npy"), x)
    with torch.no_grad():
        latent, probs = net(torch.tensor(x))
    np.save(os.path.join(FIX, "ti2net_latent.npy"), latent.numpy().astype(np.float32))
    np.save(os.path.join(FIX, "ti2net_probs.npy"), probs.numpy().astype(np.float32))

    rng = np.random.default_rng(7)
    lens = np.array([140, 170], dtype=np.int32)
    ids = rng.normal(0.0, 1.0, (int(lens.sum()), 1024)).astype(np.float32)
    ids = np.cumsum(ids * 0.05, axis=0).astype(np.float32)  # smooth like a real track
    np.save(os.path.join(FIX, "ti2net_ids.npy"), ids)
    np.save(os.path.join(FIX, "ti2net_lens.npy"), lens)
    probs_out, at = [], 0
    for n in lens:
        v = ids[at:at + n]
        at += n
        for s in range(0, n - 127 + 1, 16):
            clip = v[s:s + 127:2]
            with torch.no_grad():
                _, p = net(torch.tensor(np.diff(clip, axis=0)[None]))
            probs_out.append(p[0, 1].item())
    np.save(os.path.join(FIX, "ti2net_clip_probs.npy"), np.array(probs_out, dtype=np.float32))


if __name__ == "__main__":
    os.makedirs(FIX, exist_ok=True)
    mobilefacenet()
    sd = resnet_face18(False)
    resnet_face18(True)
    legacy(sd)
    ti2net()
    print("fixtures written to", FIX, file=sys.stderr)
