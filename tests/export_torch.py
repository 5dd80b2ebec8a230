#!/usr/bin/env python3
"""cbd-ckpt export checked in PyTorch (`make test-export`; not part of ctest,
it needs Debian's python3-torch and python3-torchvision: tools/install-deps bench).

Trains small teachers with cbd (one epoch on a synthetic set, so that the
batch-norm running statistics are real), makes two more checkpoints with
cbd-ckpt init, exports each with `cbd-ckpt export`, loads the file into the
PyTorch model of docs/export.md with load_state_dict(strict=True), runs the
same images in eval mode and compares the logits with what `cbd-ckpt logits`
prints for them:

  resnet18, linear head, trained      torchvision.models.resnet18 as it is
  resnet18, cosine head, trained      torchvision backbone, fc = Identity, cosine head
  resnet20, cosine head, trained      the CIFAR ResNet of docs/export.md
  resnet20, cosine head + projection  same, projection + ReLU before the head (init)
  resnet50, linear head, 1 channel    torchvision resnet50, conv1 for 1 channel (init)

Each case prints max |cbd - torch| and fails beyond TOLERANCE relative to the
largest logit. The files are read with this script's own reader (json +
struct); where the `safetensors` package is installed, with
safetensors.torch.load_file too, and the two must agree bit for bit.
usage: export_torch.py --bin BUILD/bin --work DIR
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

TOLERANCE = 1e-4  # max |cbd - torch| / max(1, max |logit|), float32 on both sides
IMAGES = 8
SIZE = 32
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """(tensors by name, metadata) of a safetensors file, by its format alone."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[t["dtype"]])
        tensors[name] = flat.reshape(t["shape"]).clone()
    return tensors, meta


def load_export(path):
    tensors, meta = read_safetensors(path)
    try:
        from safetensors.torch import load_file
    except ImportError:
        return tensors, meta, "own reader"
    other = load_file(path)
    assert other.keys() == tensors.keys(), f"{path}: safetensors reads other names"
    for k in tensors:
        assert torch.equal(other[k], tensors[k]) and other[k].shape == tensors[k].shape, \
            f"{path}: safetensors reads {k} otherwise"
    return other, meta, "own reader = safetensors.torch.load_file"


# ---- the PyTorch models of docs/export.md ---------------------------------------

class CifarBlock(nn.Module):
    """A basic block with cbd's parameter-free shortcut (He et al. option A):
    x[:, :, ::2, ::2] with zero channels padded on both sides."""

    def __init__(self, in_c, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.extra = stride, planes - in_c

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x
        if self.stride != 1 or self.extra:
            shortcut = x[:, :, ::self.stride, ::self.stride]
            before = self.extra // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, before, self.extra - before))
        return F.relu(out + shortcut)


class CifarResNet(nn.Module):
    """resnet20/32/44/56/110: blocks = 3/5/7/9/18 per stage; fc as torchvision's."""

    def __init__(self, blocks, in_channels=3, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_c = 16
        for s in range(3):
            planes = 16 << s
            layer = []
            for b in range(blocks):
                layer.append(CifarBlock(in_c, planes, 2 if b == 0 and s > 0 else 1))
                in_c = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*layer))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def cosine_logits(embedding, weight, scale):
    """cbd's cosine head: scale * normalize(e) . normalize(w)."""
    return scale * F.normalize(embedding, dim=1) @ F.normalize(weight, dim=1).T


def torch_logits(sd, meta, x):
    """Builds the model the metadata describes, loads sd strictly, runs x."""
    arch, classes = meta["arch"], int(meta["classes"])
    in_channels, head = int(meta["in_channels"]), meta["head"]
    sd = dict(sd)
    cosine = (sd.pop("cosine.weight"), sd.pop("cosine.scale")) if head == "cosine" else None
    projection = None
    if int(meta["projection_dim"]) > 0:
        w, b = sd.pop("projection.weight"), sd.pop("projection.bias")
        projection = nn.Linear(w.shape[1], w.shape[0])
        projection.load_state_dict({"weight": w, "bias": b}, strict=True)
    if meta["family"] == "imagenet":
        model = getattr(torchvision.models, arch)(num_classes=classes)
        if in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    else:
        blocks = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}[arch]
        model = CifarResNet(blocks, in_channels, classes)
    if cosine is not None or projection is not None:
        model.fc = nn.Identity()  # the head comes after, below
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        e = model(x)
        if projection is not None:
            e = projection(e)
            if int(meta["projection_relu"]):
                e = F.relu(e)
        if cosine is not None:
            return cosine_logits(e, *cosine)
        return e  # with a projection and a linear head, fc would follow here


# ---- cbd's side -----------------------------------------------------------------

def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"export_torch: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def train_teachers(bin_dir, work):
    data = os.path.join(work, "data")
    run(os.path.join(bin_dir, "make-synthetic"), "--out", data, "--classes", "6", "--n-max", "40",
        "--imbalance", "4", "--size", str(SIZE), "--val-per-class", "2", "--test-per-class", "2",
        "--seed", "3")
    ini = os.path.join(work, "export.ini")
    with open(ini, "w") as f:
        f.write(f"""[experiment]
seed = 5
output_dir = {work}/run
[data]
train = {data}/train.txt
channels = 3
image_size = {SIZE}
mean = 0.485, 0.456, 0.406
std = 0.229, 0.224, 0.225
workers = 1
[model]
arch = resnet18
[train]
epochs = 1
batch_size = 16
lr = 0.05
[teacher.r18_linear]
head = linear
[teacher.r18_cosine]
head = cosine
[teacher.r20_cosine]
arch = resnet20
head = cosine
""")
    out = {}
    for name in ("r18_linear", "r18_cosine", "r20_cosine"):
        run(os.path.join(bin_dir, "cbd-train-teacher"), "--config", ini, "--teacher", name, "--quiet")
        out[name] = os.path.join(work, "run", "teachers", f"{name}.ckpt.h5")
    return out


def check(bin_dir, work, label, ckpt, in_channels):
    ckpt_tool = os.path.join(bin_dir, "cbd-ckpt")
    export = os.path.join(work, label + ".safetensors")
    run(ckpt_tool, "export", ckpt, export)
    g = torch.Generator().manual_seed(len(label))
    x = torch.randn(IMAGES, in_channels, SIZE, SIZE, generator=g)
    images = os.path.join(work, label + ".f32")
    with open(images, "wb") as f:
        f.write(x.contiguous().numpy().astype("<f4").tobytes())
    text = run(ckpt_tool, "logits", "--size", str(SIZE), ckpt, images)
    ours = torch.tensor([[float(v) for v in line.split()] for line in text.splitlines()])
    sd, meta, reader = load_export(export)
    theirs = torch_logits(sd, meta, x)
    assert ours.shape == theirs.shape, f"{label}: cbd gives {tuple(ours.shape)}, torch {tuple(theirs.shape)}"
    diff = (ours - theirs).abs().max().item()
    scale = max(1.0, ours.abs().max().item())
    same_top = bool((ours.argmax(1) == theirs.argmax(1)).all())
    tracked = [v.item() for k, v in sd.items() if k.endswith("num_batches_tracked")][:1]
    print(f"{label:28s} {len(sd):4d} tensors  max|logit| {ours.abs().max().item():8.4f}  "
          f"max|cbd - torch| {diff:.3g} (relative {diff / scale:.3g})  top-1 equal: {same_top}  "
          f"step {meta['step']} num_batches_tracked {tracked}  [{reader}]")
    return diff / scale <= TOLERANCE and same_top


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="folder of cbd's executables (build/bin)")
    ap.add_argument("--work", required=True, help="scratch folder (emptied first)")
    a = ap.parse_args()
    a.work = os.path.abspath(a.work)
    torch.set_num_threads(int(os.environ.get("CBD_THREADS", "2")))
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    print(f"export_torch: torch {torch.__version__}, torchvision {torchvision.__version__}")
    ckpts = train_teachers(a.bin, a.work)
    init = os.path.join(a.bin, "cbd-ckpt")
    ckpts["r20_cosine_projection"] = os.path.join(a.work, "r20_projection.ckpt.h5")
    run(init, "init", "--arch", "resnet20", "--classes", "7", "--in-channels", "3", "--head", "cosine",
        "--projection-dim", "24", "--seed", "9", ckpts["r20_cosine_projection"])
    ckpts["r50_linear_1channel"] = os.path.join(a.work, "r50.ckpt.h5")
    run(init, "init", "--arch", "resnet50", "--classes", "5", "--in-channels", "1", "--head", "linear",
        "--seed", "4", ckpts["r50_linear_1channel"])
    ok = True
    for label, ckpt in ckpts.items():
        ok &= check(a.bin, a.work, label, ckpt, 1 if label.startswith("r50") else 3)
    if not ok:
        sys.exit(f"export_torch: FAILED (tolerance {TOLERANCE:g} relative to max(1, max |logit|))")
    print(f"export_torch: ok (every case within {TOLERANCE:g} relative, same top-1)")


if __name__ == "__main__":
    main()
