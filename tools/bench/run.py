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

Last line, for machines: bench: r20_train=R r20_infer=R r50_train=R r50_infer=R
(R = cbd images/s / PyTorch images/s)."""
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

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SCRIPT = os.path.join(HERE, "torch_bench.py")

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


def model_case(args, env, name, steps, warmup, rounds):
    runs = {"cbd": [], "pytorch": []}
    for r in range(rounds):
        for engine in ("cbd", "pytorch") if r % 2 == 0 else ("pytorch", "cbd"):
            if engine == "cbd":
                cmd = [os.path.join(args.bin, "cbd-bench"), "--case", name, "--steps", str(steps),
                       "--warmup", str(warmup), "--threads", str(args.threads), "--json"]
            else:
                cmd = [args.python, TORCH_SCRIPT, "--case", name, "--steps", str(steps), "--warmup",
                       str(warmup), "--threads", str(args.threads)]
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
        }
        if engine == "cbd":
            result["gflop_per_image"] = rs[0]["forward_gflop_per_image"] * (3 if "train" in name else 1)
    return result


def write_bench_ini(path, data_dir, out_dir, teachers):
    lines = [
        "# written by tools/bench/run.py",
        "[experiment]", "seed = 1", f"output_dir = {out_dir}",
        "[data]", f"train = {data_dir}/train.txt", f"test = {data_dir}/test.txt",
        f"class_names = {data_dir}/classes.txt",
        "channels = 3", "image_size = 32", "crop = pad_random", "pad = 4", "workers = 1",
        "[model]", "arch = resnet20",
        "[train]", "epochs = 1", "batch_size = 128", "lr = 0.05", "weight_decay = 5e-4",
    ]
    for i in range(teachers):
        lines += [f"[teacher.t{i + 1}]", "kind = standard", f"seed = {i + 2}"]
    names = ", ".join(f"t{i + 1}" for i in range(teachers))
    lines += [
        "[features]", "views = 2",
        "[student]", f"teachers = {names}", "alpha = 0.4", "beta = 100", "epochs = 2", "views = 2",
        "[student.plain]", "distill = none",
        "[student.online]", f"teachers = {names}", "teacher_source = online",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def student_rate(metrics_path):
    with open(metrics_path) as f:
        rows = list(csv.DictReader(f))
    # the last epoch: the first pays for page faults and primitive creation
    return float(rows[-1]["images_per_s"])


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
    load32 = run_json([b("cbd-bench-load"), "--images", "6000", "--workers", "1", "--json",
                       os.path.join(work, "s32", "train.txt")], env)
    load224 = run_json([b("cbd-bench-load"), "--size", "224", "--crop", "random_resized", "--images",
                        "300", "--workers", "1", "--json", os.path.join(work, "s256", "train.txt")], env)
    out = subprocess.run([b("cbd-bench"), "--arch", "resnet20", "--channels", "3", "--size", "32",
                          "--batch", "128", "--steps", "10", "--threads", str(args.threads)],
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
    write_bench_ini(ini, os.path.join(work, "s32"), os.path.join(exp, "runs"), 4)
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
    students = {}
    for name in ("plain", "student", "online"):
        cmd = [b("cbd-train-student"), "--config", ini, "--quiet"]
        if name != "student":
            cmd += ["--student", name]
        run_stage(cmd, env, os.path.join(exp, f"student-{name}.log"))
        metrics = os.path.join(exp, "runs", "student.metrics.csv" if name == "student"
                               else os.path.join("students", f"{name}.metrics.csv"))
        students[name] = student_rate(metrics)
    res["students"] = students
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--work", default="build/bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=4, help="rounds per engine for resnet20 (resnet50: half)")
    ap.add_argument("--python", default="/usr/bin/python3", help="the python that imports torch")
    ap.add_argument("--skip-pipeline", action="store_true")
    args = ap.parse_args()
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
                     str(args.threads)], env)
    sgemm = max(gemm["gflops"], gemm["dnnl_gflops"])
    print(f"machine: {cpu}, {os.cpu_count()} cores; {args.threads} threads for both engines; "
          f"PyTorch {torch_version}")
    print(f"sgemm 2048^3: oneDNN {gemm['dnnl_gflops']:.1f} GFLOP/s, the engine's GEMM (OpenBLAS, "
          f"{gemm['openblas_core']} kernels) {gemm['gflops']:.1f} GFLOP/s; the practical ceiling: {sgemm:.1f}")
    print()

    models = {}
    for name, title, steps, warmup in MODEL_CASES:
        rounds = args.rounds if name.startswith("r20") else max(2, args.rounds // 2)
        log(f"bench: {title}: {rounds} rounds per engine ...")
        models[name] = model_case(args, env, name, steps, warmup, rounds)
    print("| case | cbd img/s | PyTorch img/s | ratio | cbd GFLOP/s (% of sgemm) | PyTorch GFLOP/s | "
          "peak MiB cbd / PyTorch | step MiB cbd / PyTorch | steps each |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, title, _, _ in MODEL_CASES:
        r = models[name]
        c, t = r["cbd"], r["pytorch"]
        gc, gt = c["images_per_s"] * r["gflop_per_image"], t["images_per_s"] * r["gflop_per_image"]
        print(f"| {title} | {c['images_per_s']:.1f} | {t['images_per_s']:.1f} | "
              f"{c['images_per_s'] / t['images_per_s']:.2f} | {gc:.1f} ({100 * gc / sgemm:.0f}%) | "
              f"{gt:.1f} | {c['peak_rss_mib']:.0f} / {t['peak_rss_mib']:.0f} | "
              f"{c['step_mib']:.0f} / {t['step_mib']:.0f} | {c['steps']} |")
    print("GFLOP/s count convolutions and the classifier; a training step counts 3x the forward pass.")
    print()

    if not args.skip_pipeline:
        log("bench: pipeline pieces ...")
        p = pipeline(args, env, models)
        print("| pipeline piece | images/s | against | images/s | ratio |")
        print("|---|---:|---|---:|---:|")
        load, step = p["load_32"]
        print(f"| loading 32x32 JPEG, pad_random + flip, 1 worker | {load:.0f} | "
              f"resnet20 3x32x32 training step b128 | {step:.0f} | {load / step:.1f} |")
        load, step = p["load_224"]
        print(f"| loading 256px JPEG, random_resized 224 + flip, 1 worker | {load:.0f} | "
              f"resnet50 224 training step b16 | {step:.1f} | {load / step:.1f} |")
        rate, infer, ratio = p["dump"]
        print(f"| feature dump (resnet20 32x32, 2 views + centre, HDF5) | {rate:.0f} | "
              f"the same teacher's inference | {infer:.0f} | {ratio:.2f} |")
        s = p["students"]
        print(f"| student step, K = 4 stored teachers | {s['student']:.0f} | plain class-balanced step | "
              f"{s['plain']:.0f} | {s['student'] / s['plain']:.2f} |")
        print(f"| student step, K = 4 stored teachers | {s['student']:.0f} | K = 4 teachers online | "
              f"{s['online']:.0f} | {s['student'] / s['online']:.2f} |")
        print("Pipeline figures: one run each; the student figures are the last of 2 epochs "
              "(metrics.csv images_per_s).")
        print()
    print(f"bench took {time.time() - started:.0f} s")
    ratios = " ".join(f"{name}={models[name]['cbd']['images_per_s'] / models[name]['pytorch']['images_per_s']:.2f}"
                      for name, _, _, _ in MODEL_CASES)
    print(f"bench: {ratios}")


if __name__ == "__main__":
    main()
