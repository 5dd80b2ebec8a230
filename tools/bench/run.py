"""`make bench`: cbd against PyTorch on the same cores, and the pipeline's pieces.

  /usr/bin/python3 tools/bench/run.py --bin build/bin --work build/bench [--threads 2] [--rounds 4]

1. The machine's sgemm rate through the engine's GEMM (the practical ceiling).
2. resnet20 (1x28x28, training batch 128, inference batch 256) and resnet50
   (3x224x224, batch 16): cbd-bench --case and tools/bench/torch_bench.py
   run the same model, batch and thread count, one process per round, the
   two engines alternating round by round; each round warms up, then times
   its steps one by one. The figure is the median of every timed step of all
   rounds. Peak memory is each engine's largest resident set over its
   rounds; "step memory" is that peak less the process's resident set before
   the model was made (PyTorch's libraries alone take ~240 MiB).
3. Pipeline pieces, cbd only, on a synthetic JPEG set made here: loading
   (decode + augment) against the training step that consumes it; the
   feature dump against plain inference (cbd-dump-features reports both);
   the student's step with K = 4 stored teachers against a plain
   class-balanced step and against the same 4 teachers run online.

4. Ranks (tools/bench/ranks.py): a data-parallel step on 2 ranks x 1 thread
   against 1 rank x 2 threads, and the cost of its exchange between ranks.

On a CPU with bf16 (AVX-512 BF16 or AMX: what oneDNN reports), the two
training cases also run cbd with precision = bf16 and PyTorch with CPU
autocast to bf16, in the same alternating rounds, side by side; the table
adds the ratios cbd bf16 / PyTorch bf16 and cbd bf16 / cbd fp32.

Last lines, for machines: bench: r20_train=R r20_infer=R r50_train=R r50_infer=R
(R = cbd images/s / PyTorch images/s), with bf16 also r20_train_bf16=R
r50_train_bf16=R (cbd bf16 / PyTorch bf16) and bf16_gain=G (cbd bf16 / cbd
fp32, resnet20 training); and bench-ranks: r20=R r50=R.

With --device cuda (tools/gpu-check runs it): the same on the GPU, resnet50
at batch 256, cbd in fp32 (TF32 allowed) and with precision = bf16, against
PyTorch with channels_last in fp32 (TF32 allowed) and with bf16 autocast;
the last line starts `bench-gpu:` and gives the ratios fp32 to fp32 and bf16
to bf16."""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from ranks import ranks_section

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SCRIPT = os.path.join(HERE, "torch_bench.py")

# the training cases that also run in bf16 where the CPU has it
CPU_BF16_CASES = ("r20_train", "r50_train")
CPU_BF16_CBD = {"cbd": [], "cbd bf16": ["--precision", "bf16"]}
CPU_BF16_TORCH = {"pytorch": [], "pytorch bf16": ["--bf16"]}

# (case, title, timed steps per round, warm-up steps per round)
MODEL_CASES = [
    ("r20_train", "resnet20 1x28x28, training step, batch 128", 5, 3),
    ("r20_infer", "resnet20 1x28x28, inference, batch 256", 5, 3),
    ("r50_train", "resnet50 3x224x224, training step, batch 16", 2, 1),
    ("r50_infer", "resnet50 3x224x224, inference, batch 16", 3, 1),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"no JSON line from {' '.join(cmd)}:\n{out}")
    return json.loads(lines[-1])


def model_case(args, env, name, steps, warmup, rounds, batch=0, torch_variants=None, cbd_variants=None):
    """torch_variants: {label: extra torch_bench.py flags}; default one plain PyTorch run.
    cbd_variants: {label: extra cbd-bench flags}; default "cbd" with none."""
    torch_variants = torch_variants or {"pytorch": []}
    cbd_variants = cbd_variants or {"cbd": []}
    engines = list(cbd_variants) + list(torch_variants)
    runs = {e: [] for e in engines}
    common = ["--case", name, "--steps", str(steps), "--warmup", str(warmup), "--threads", str(args.threads)]
    if batch:
        common += ["--batch", str(batch)]
    for r in range(rounds):
        for engine in engines if r % 2 == 0 else list(reversed(engines)):
            if engine in cbd_variants:
                cmd = ([os.path.join(args.bin, "cbd-bench"), "--device", args.device, "--json"] + common +
                       cbd_variants[engine])
            else:
                cmd = [args.python, TORCH_SCRIPT, "--device", args.device] + common + torch_variants[engine]
            runs[engine].append(run_json(cmd, env))
    result = {}
    for engine, rs in runs.items():
        times = [t for r in rs for t in r["times"]]
        med = statistics.median(times)
        batch = rs[0]["batch"]
        result[engine] = {
            "images_per_s": batch / med,
            "median_ms": med * 1e3,
            "steps": len(times),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
            "step_mib": max(r["peak_rss_mib"] - r["base_rss_mib"] for r in rs),
            "device_mib": max(r.get("peak_device_mib", 0.0) for r in rs),
        }
        if engine in cbd_variants:
            result["gflop_per_image"] = rs[0]["forward_gflop_per_image"] * (3 if "train" in name else 1)
    return result


def cpu_bf16_refusal(args, env):
    """None where cbd runs bf16 on this CPU, else cbd's reason."""
    r = subprocess.run([os.path.join(args.bin, "cbd-bench"), "--case", "r20_infer", "--steps", "1", "--warmup", "0",
                        "--precision", "bf16", "--threads", "1", "--json"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]


def print_bf16_rows(models, cases):
    print("| case (bf16) | cbd bf16 img/s | PyTorch bf16 autocast img/s | cbd bf16 / PyTorch bf16 | "
          "cbd fp32 img/s | cbd bf16 / cbd fp32 | PyTorch bf16 / PyTorch fp32 | steps each |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, title, _, _, _ in cases:
        if name not in CPU_BF16_CASES:
            continue
        r = models[name]
        cb, tb, cf, tf = (r[e]["images_per_s"] for e in ("cbd bf16", "pytorch bf16", "cbd", "pytorch"))
        print(f"| {title} | {cb:.1f} | {tb:.1f} | {cb / tb:.2f} | {cf:.1f} | {cb / cf:.2f} | {tb / tf:.2f} | "
              f"{r['cbd bf16']['steps']} |")
    print("bf16: convolutions read bf16 and sum in fp32 (cbd precision = bf16; PyTorch torch.autocast('cpu', "
          "bfloat16)); both in the same alternating rounds as the fp32 rows.")
    print()


def write_bench_ini(path, data_dir, out_dir, teachers, device, workers):
    lines = [
        "# written by tools/bench/run.py",
        "[experiment]", "seed = 1", f"output_dir = {out_dir}", f"device = {device}",
        "[data]", f"train = {data_dir}/train.txt", f"test = {data_dir}/test.txt",
        f"class_names = {data_dir}/classes.txt",
        "channels = 3", "image_size = 32", "crop = pad_random", "pad = 4", f"workers = {workers}",
        "[model]", "arch = resnet20",
        "[train]", "epochs = 1", "batch_size = 128", "lr = 0.05", "weight_decay = 5e-4",
    ]
    for i in range(teachers):
        lines += [f"[teacher.t{i + 1}]", "kind = standard", f"seed = {i + 2}"]
    names = ", ".join(f"t{i + 1}" for i in range(teachers))
    lines += [
        "[features]", "views = 2",
        "[student]", f"teachers = {names}", "alpha = 0.4", "beta = 100", "epochs = 4", "views = 2",
        "[student.plain]", "distill = none",
        "[student.online]", f"teachers = {names}", "teacher_source = online",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def student_rates(metrics_path):
    with open(metrics_path) as f:
        rows = list(csv.DictReader(f))
    # all but the first epoch, which pays for page faults and primitive creation
    return [float(r["images_per_s"]) for r in rows[1:]]


def run_stage(cmd, env, log_path):
    with open(log_path, "w") as f:
        subprocess.run(cmd, env=env, check=True, stdout=f, stderr=subprocess.STDOUT)
    with open(log_path) as f:
        return f.read()


def pipeline(args, env, models):
    work = os.path.abspath(args.work)
    b = lambda tool: os.path.join(args.bin, tool)
    res = {}
    # loading: 32x32 files as the tiny set has, 256-pixel files cropped to 224
    sets = [("s32", 32, 20, 150), ("s256", 256, 4, 60)]
    for name, size, classes, n_max in sets:
        d = os.path.join(work, name)
        if not os.path.exists(os.path.join(d, ".complete")):
            subprocess.run([b("make-synthetic"), "--out", d, "--classes", str(classes), "--n-max",
                            str(n_max), "--imbalance", "2", "--size", str(size)], check=True,
                           stdout=subprocess.DEVNULL, env=env)
    workers = str(args.workers)
    load32 = run_json([b("cbd-bench-load"), "--images", "6000", "--workers", workers, "--json",
                       os.path.join(work, "s32", "train.txt")], env)
    load224 = run_json([b("cbd-bench-load"), "--size", "224", "--crop", "random_resized", "--images",
                        "300" if args.device == "cpu" else "3000", "--workers", workers, "--json",
                        os.path.join(work, "s256", "train.txt")], env)
    out = subprocess.run([b("cbd-bench"), "--arch", "resnet20", "--channels", "3", "--size", "32",
                          "--batch", "128", "--steps", "10", "--threads", str(args.threads),
                          "--device", args.device],
                         env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"train b128\s+([\d.]+) img/s", out)
    r20_32 = float(m.group(1))
    res["load_32"] = (load32["images_per_s"], r20_32)
    res["load_224"] = (load224["images_per_s"], models["r50_train"]["cbd"]["images_per_s"])

    # dump and student steps on the 32x32 set, 4 teachers of one epoch each
    exp = os.path.join(work, "pipeline")
    shutil.rmtree(exp, ignore_errors=True)
    os.makedirs(exp)
    ini = os.path.join(exp, "bench.ini")
    write_bench_ini(ini, os.path.join(work, "s32"), os.path.join(exp, "runs"), 4, args.device, args.workers)
    for t in range(4):
        run_stage([b("cbd-train-teacher"), "--config", ini, "--teacher", f"t{t + 1}", "--quiet"], env,
                  os.path.join(exp, f"teacher{t + 1}.log"))
    text = ""
    for t in range(4):
        text += run_stage([b("cbd-dump-features"), "--config", ini, "--teacher", f"t{t + 1}"], env,
                          os.path.join(exp, f"dump{t + 1}.log"))
    ratios = [float(x) for x in re.findall(r"dump / inference ([\d.]+)", text)]
    rates = [float(x) for x in re.findall(r"images in [\d.]+ s, ([\d.]+) img/s", text)]
    infer = [float(x) for x in re.findall(r"inference alone ([\d.]+) img/s", text)]
    res["dump"] = (statistics.median(rates), statistics.median(infer), statistics.median(ratios))
    # the three students twice, alternating; the median epoch of both runs
    rates = {"plain": [], "student": [], "online": []}
    for r in range(2):
        for name in ("plain", "student", "online") if r == 0 else ("online", "student", "plain"):
            cmd = [b("cbd-train-student"), "--config", ini, "--quiet", "--force"]
            if name != "student":
                cmd += ["--student", name]
            run_stage(cmd, env, os.path.join(exp, f"student-{name}-{r + 1}.log"))
            metrics = os.path.join(exp, "runs", "student.metrics.csv" if name == "student"
                                   else os.path.join("students", f"{name}.metrics.csv"))
            rates[name] += student_rates(metrics)
    res["students"] = {name: statistics.median(v) for name, v in rates.items()}
    return res


GPU_CASES = [
    ("r50_train", "resnet50 3x224x224, training step, batch 256", 10, 3, 256),
    ("r50_infer", "resnet50 3x224x224, inference, batch 256", 10, 3, 256),
    ("r20_train", "resnet20 1x28x28, training step, batch 128", 20, 5, 0),
    ("r20_infer", "resnet20 1x28x28, inference, batch 256", 20, 5, 0),
]
GPU_TORCH = {"PyTorch TF32 channels_last": ["--channels-last"],
             "PyTorch bf16 channels_last": ["--channels-last", "--bf16"]}
GPU_CBD = {"cbd": [], "cbd bf16": ["--precision", "bf16"]}
GPU_PAIRS = [("cbd", "PyTorch TF32 channels_last"), ("cbd bf16", "PyTorch bf16 channels_last")]


def print_pipeline(p, device):
    print("| pipeline piece | images/s | against | images/s | ratio |")
    print("|---|---:|---|---:|---:|")
    load, step = p["load_32"]
    print(f"| loading 32x32 JPEG, pad_random + flip | {load:.0f} | "
          f"resnet20 3x32x32 training step b128 ({device}) | {step:.0f} | {load / step:.1f} |")
    load, step = p["load_224"]
    print(f"| loading 256px JPEG, random_resized 224 + flip | {load:.0f} | "
          f"resnet50 224 training step ({device}) | {step:.1f} | {load / step:.1f} |")
    rate, infer, ratio = p["dump"]
    print(f"| feature dump (resnet20 32x32, 2 views + centre, HDF5) | {rate:.0f} | "
          f"the same teacher's inference | {infer:.0f} | {ratio:.2f} |")
    s = p["students"]
    print(f"| student step, K = 4 stored teachers | {s['student']:.0f} | plain class-balanced step | "
          f"{s['plain']:.0f} | {s['student'] / s['plain']:.2f} |")
    print(f"| student step, K = 4 stored teachers | {s['student']:.0f} | K = 4 teachers online | "
          f"{s['online']:.0f} | {s['student'] / s['online']:.2f} |")
    print("Pipeline figures: loading and dump one run each; the student figures are the median epoch "
          "(metrics.csv images_per_s, epochs 2-4) of two runs each, alternating.")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--work", default="build/bench")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="default: 2 on the cpu, every core with cuda")
    ap.add_argument("--workers", type=int, default=0, help="loader workers (default: 1 on the cpu, cores - 1 with cuda)")
    ap.add_argument("--rounds", type=int, default=4, help="rounds per engine for resnet20 (resnet50: half)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the python that imports torch")
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--skip-ranks", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 2
    if not args.threads:
        args.threads = 2 if args.device == "cpu" else cores
    if not args.workers:
        args.workers = 1 if args.device == "cpu" else max(1, cores - 1)
    env = dict(os.environ, CBD_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    env.pop("OMP_WAIT_POLICY", None)
    os.makedirs(args.work, exist_ok=True)
    started = time.time()

    cpu = "unknown cpu"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    torch_version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                                   check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    gemm = run_json([os.path.join(args.bin, "cbd-bench"), "--sgemm", "--json", "--threads",
                     str(args.threads), "--device", args.device], env)
    sgemm = max(gemm["gflops"], gemm["dnnl_gflops"])
    print(f"machine: {cpu}, {cores} cores; {args.threads} threads for both engines; PyTorch {torch_version}; "
          f"device {args.device}")
    if args.device == "cpu":
        print(f"sgemm 2048^3: oneDNN {gemm['dnnl_gflops']:.1f} GFLOP/s, the engine's GEMM (OpenBLAS, "
              f"{gemm['openblas_core']} kernels) {gemm['gflops']:.1f} GFLOP/s; the practical ceiling: {sgemm:.1f}")
    else:
        print(f"sgemm 2048^3 through cuBLAS (TF32 allowed): {sgemm:.1f} GFLOP/s")
    print()

    models = {}
    bf16_refusal = cpu_bf16_refusal(args, env) if args.device == "cpu" else None
    if args.device == "cpu":
        cases = [(n, t, st, w, 0) for n, t, st, w in MODEL_CASES]
        variants, cbd_variants = {"pytorch": []}, {"cbd": []}
        pairs = [("cbd", "pytorch")]
        if bf16_refusal:
            log(f"bench: no bf16 rows: {bf16_refusal}")
    else:
        cases, variants, cbd_variants = GPU_CASES, GPU_TORCH, GPU_CBD
        pairs = GPU_PAIRS
    for name, title, steps, warmup, batch in cases:
        if args.device == "cuda":  # a GPU of its own is quiet; its time is scarce
            rounds = max(1, args.rounds // 2)
        else:
            rounds = args.rounds if name.startswith("r20") else max(2, args.rounds // 2)
        log(f"bench: {title}: {rounds} round{'s' if rounds != 1 else ''} per engine ...")
        if args.device == "cpu" and not bf16_refusal and name in CPU_BF16_CASES:
            models[name] = model_case(args, env, name, steps, warmup, rounds, batch, CPU_BF16_TORCH, CPU_BF16_CBD)
        else:
            models[name] = model_case(args, env, name, steps, warmup, rounds, batch, variants, cbd_variants)
    head = " | ".join(f"{c} img/s | {'PyTorch' if t == 'pytorch' else t} img/s | ratio" for c, t in pairs)
    print(f"| case | {head} | cbd GFLOP/s (% of sgemm) | peak MiB cbd / PyTorch | "
          f"step MiB cbd / PyTorch | steps each |")
    print("|---|" + "---:|---:|---:|" * len(pairs) + "---:|---:|---:|---:|")
    for name, title, _, _, _ in cases:
        r = models[name]
        c = r["cbd"]
        gc = c["images_per_s"] * r["gflop_per_image"]
        cols = " | ".join(f"{r[cl]['images_per_s']:.1f} | {r[tl]['images_per_s']:.1f} | "
                          f"{r[cl]['images_per_s'] / r[tl]['images_per_s']:.2f}" for cl, tl in pairs)
        t = r[pairs[0][1]]
        mem = (f"{c['peak_rss_mib']:.0f} / {t['peak_rss_mib']:.0f} | {c['step_mib']:.0f} / {t['step_mib']:.0f}"
               if args.device == "cpu" else f"- | - / {t['device_mib']:.0f} (device)")
        print(f"| {title} | {cols} | {gc:.1f} ({100 * gc / sgemm:.0f}%) | {mem} | {c['steps']} |")
    print("GFLOP/s count convolutions and the classifier; a training step counts 3x the forward pass.")
    print("Step MiB: peak resident memory less the process's before the model was made.")
    print()
    if args.device == "cpu":
        if bf16_refusal:
            print(f"bf16: no rows: {bf16_refusal}")
            print()
        else:
            print_bf16_rows(models, cases)

    rank_ratios = None
    if args.device == "cpu" and not args.skip_ranks:
        rank_ratios = ranks_section(args.bin, max(2, args.rounds // 2), log)
    if not args.skip_pipeline:
        log("bench: pipeline pieces ...")
        print_pipeline(pipeline(args, env, models), args.device)
    print(f"bench took {time.time() - started:.0f} s")
    if args.device == "cpu":
        ratios = " ".join(f"{n}={models[n]['cbd']['images_per_s'] / models[n]['pytorch']['images_per_s']:.2f}"
                          for n, _, _, _, _ in cases)
        if not bf16_refusal:
            rate = lambda n, e: models[n][e]["images_per_s"]
            ratios += "".join(f" {n}_bf16={rate(n, 'cbd bf16') / rate(n, 'pytorch bf16'):.2f}" for n in CPU_BF16_CASES)
            ratios += f" bf16_gain={rate('r20_train', 'cbd bf16') / rate('r20_train', 'cbd'):.2f}"
        print(f"bench: {ratios}")
        if rank_ratios:
            print(f"bench-ranks: {rank_ratios} (2 ranks x 1 thread / 1 rank x 2 threads)")
    else:
        ratios = " ".join(f"{n}_{'bf16' if 'bf16' in cl else 'tf32'}="
                          f"{models[n][cl]['images_per_s'] / models[n][tl]['images_per_s']:.2f}"
                          for n, _, _, _, _ in cases for cl, tl in pairs)
        print(f"bench-gpu: {ratios}")


if __name__ == "__main__":
    main()
