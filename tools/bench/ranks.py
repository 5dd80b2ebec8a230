"""The ranks part of `make bench`: a data-parallel training step on 2 ranks x
1 thread against the same global batch on 1 rank x 2 threads (the same two
cores), and what the step's exchange between ranks costs: its time (waiting
for the other rank included), the bytes each rank sends, and one message of
the whole gradient for comparison. cbd-bench-ranks runs the step; the two
layouts alternate round by round and every timed step of a layout is pooled
(the figure is the median)."""
import json
import os
import shutil
import statistics
import subprocess

CASES = [  # name, title, arch, channels, size, batch, steps, warmup
    ("r20", "resnet20 1x28x28, batch 128", "resnet20", 1, 28, 128, 6, 2),
    ("r50", "resnet50 3x224x224, batch 16", "resnet50", 3, 224, 16, 3, 1),
]


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def ranks_section(bin_dir, rounds, log):
    """Prints the table; returns the `bench-ranks:` figures, or None without mpirun."""
    mpirun = shutil.which("mpirun")
    if not mpirun:
        log("bench: no mpirun: the ranks figures are left out (tools/install-deps installs Open MPI)")
        return None
    tool = os.path.join(bin_dir, "cbd-bench-ranks")
    rows, ratios = [], []
    for name, title, arch, ch, size, batch, steps, warmup in CASES:
        args = ["--arch", arch, "--channels", str(ch), "--size", str(size), "--batch", str(batch),
                "--steps", str(steps), "--warmup", str(warmup), "--json"]
        one, two = [], []
        log(f"bench: ranks, {title}: {rounds} rounds per layout ...")
        for _ in range(rounds):
            one.append(_run([tool] + args, dict(os.environ, CBD_THREADS="2", OMP_NUM_THREADS="2")))
            two.append(_run([mpirun, "--oversubscribe", "--allow-run-as-root", "-np", "2", tool] + args,
                            dict(os.environ, CBD_THREADS="1", OMP_NUM_THREADS="1")))
        step1 = statistics.median([s for r in one for s in r["step_s"]])
        step2 = statistics.median([s for r in two for s in r["step_s"]])
        exchange = statistics.median([s for r in two for s in r["exchange_s"]])
        flat = statistics.median([s for r in two for s in r["flat_s"]])
        ratio = step1 / step2
        ratios.append(f"{name}={ratio:.2f}")
        rows.append(f"| {title} | {batch / step1:.1f} | {batch / step2:.1f} | {ratio:.2f} | {exchange * 1000:.1f} "
                    f"({100 * exchange / step2:.0f}%) | {two[0]['exchange_bytes'] / 1048576:.2f} "
                    f"({two[0]['exchange_calls']}) | {two[0]['gradient_bytes'] / 1048576:.2f} in {flat * 1000:.1f} ms |")
    print("| data-parallel step | 1 rank x 2 threads img/s | 2 ranks x 1 thread img/s | ratio | exchange ms "
          "(% of step) | MiB sent a rank (messages) | the gradient in one message |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    print("The exchange is every allgather of a step: weight gradients layer by layer and batch-norm "
          "statistics, waiting for the other rank included. Target: 2 ranks x 1 thread >= 0.9x 1 rank x 2 threads.")
    print()
    return " ".join(ratios)
