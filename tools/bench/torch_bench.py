"""PyTorch side of `make bench`: the same models, batches and threads as
cbd-bench, one case per process, one JSON line on stdout.

  /usr/bin/python3 tools/bench/torch_bench.py --case r20_train --steps 5 --warmup 3 --threads 2
  python3 tools/bench/torch_bench.py --case r50_train --batch 256 --device cuda --channels-last --bf16

The models match nn/resnet.c and nn/model.c: resnet20 (CIFAR stem, basic
blocks, parameter-free shortcut that subsamples and zero-pads channels),
resnet50 (torchvision's bottleneck network); both end in the cosine classifier
(scale 20) that cbd uses by default. A training step is forward, softmax cross
entropy, backward and an SGD update with momentum 0.9 and weight decay 5e-4,
as in cbd-bench."""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

CASES = {
    # name: (arch, channels, size, batch, training)
    "r20_train": ("resnet20", 1, 28, 128, True),
    "r20_infer": ("resnet20", 1, 28, 256, False),
    "r50_train": ("resnet50", 3, 224, 16, True),
    "r50_infer": ("resnet50", 3, 224, 16, False),
}


class PadShortcut(nn.Module):
    def __init__(self, stride, extra_channels):
        super().__init__()
        self.stride, self.extra = stride, extra_channels

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class BasicBlock(nn.Module):
    def __init__(self, in_c, out_c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, out_c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_c)
        self.conv2 = nn.Conv2d(out_c, out_c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_c)
        self.shortcut = (
            nn.Identity() if stride == 1 and in_c == out_c else PadShortcut(stride, out_c - in_c)
        )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, in_c = [], 16
        for stage in range(3):
            planes = 16 << stage
            for block in range(3):
                layers.append(BasicBlock(in_c, planes, 2 if block == 0 and stage > 0 else 1))
                in_c = planes
        self.blocks = nn.Sequential(*layers)
        self.feature_dim = in_c

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class CosineClassifier(nn.Module):
    def __init__(self, dim, classes, scale=20.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, dim) * 0.01)
        self.scale = scale

    def forward(self, v):
        return self.scale * F.linear(F.normalize(v, dim=1), F.normalize(self.weight, dim=1))


def make_model(arch, channels):
    if arch == "resnet20":
        backbone = ResNet20(channels)
        dim = backbone.feature_dim
    else:
        backbone = torchvision.models.resnet50(num_classes=10)
        dim = backbone.fc.in_features
        backbone.fc = nn.Identity()
    return nn.Sequential(backbone, CosineClassifier(dim, 10))


def rss_mib():
    # current resident set, from /proc (ru_maxrss only gives the peak)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--batch", type=int, default=0, help="replace the case's batch")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (mixed precision)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    arch, channels, size, batch, training = CASES[args.case]
    if args.batch:
        batch = args.batch
    dev = torch.device(args.device)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # as cbd's cuda backend: TF32 allowed
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    base_rss = rss_mib()
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = make_model(arch, channels).to(dev, memory_format=fmt)
    x = torch.randn(batch, channels, size, size, device=dev).to(memory_format=fmt)
    labels = torch.randint(0, 10, (batch,), device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train(training)
    autocast = torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.bf16)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    times = []
    for step in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        if training:
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = F.cross_entropy(model(x), labels)
            loss.backward()
            opt.step()
        else:
            with torch.inference_mode(), autocast:
                model(x)
        sync()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            times.append(dt)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {"engine": "pytorch", "case": args.case, "batch": batch, "threads": args.threads,
              "times": times, "peak_rss_mib": peak, "base_rss_mib": base_rss, "version": torch.__version__}
    if args.device == "cuda":
        result["peak_device_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))


if __name__ == "__main__":
    main()
