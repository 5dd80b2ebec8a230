#!/usr/bin/env bash
# cbd-train-student end to end on a small synthetic set:
#  - teacher_source = store (float32, S large enough that no view repeats)
#    and teacher_source = online give the same losses epoch by epoch (1e-4);
#  - alpha = 0 with one teacher equals the plain class-balanced student
#    (distill = none) from the same seed;
#  - distillation pulls the student's features toward the teacher's (the
#    cosine to the target rises);
#  - a killed student resumes to the same weights.
# usage: student_stage.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"

synthetic "$work/data" 4 --test-per-class 4
ini_head "$work/x.ini" "$work/run" 9 20
cat >>"$work/x.ini" <<INI
[train]
epochs = 2
batch_size = 16
[teacher.t1]
kind = standard
[features]
views = 24
dtype = float32
batch_size = 16
[student]
teachers = t1
epochs = 3
INI
q=--quiet
"$bin/cbd-train-teacher" --config "$work/x.ini" --teacher t1 $q
"$bin/cbd-dump-features" --config "$work/x.ini" --teacher t1 $q

run_student() { # run_student OUTPUT_DIR [--set ...]
    local out=$1
    shift
    mkdir -p "$out"
    cp -r "$work/run/teachers" "$work/run/features" "$out/"
    "$bin/cbd-train-student" --config "$work/x.ini" --set experiment.output_dir="$out" "$@" $q
}
run_student "$work/store"
run_student "$work/online" --set student.teacher_source=online
run_student "$work/alpha0" --set student.alpha=0
run_student "$work/none" --set student.distill=none

python3 - "$work" <<'PY'
import csv, math, sys
work = sys.argv[1]
def rows(name):
    with open(f"{work}/{name}/student.metrics.csv") as f:
        return list(csv.DictReader(f))
store, online, alpha0, none = rows("store"), rows("online"), rows("alpha0"), rows("none")
for a, b in zip(store, online):
    for key in ("loss", "ce", "distill"):
        x, y = float(a[key]), float(b[key])
        if abs(x - y) > 1e-4 * max(abs(x), abs(y), 1e-12):
            sys.exit(f"FAIL: epoch {a['epoch']}: {key} {x} from the store, {y} online")
for a, b in zip(alpha0, none):
    if a["ce"] != b["ce"] or a["train_acc"] != b["train_acc"]:
        sys.exit(f"FAIL: epoch {a['epoch']}: alpha = 0 gives ce {a['ce']}, distill = none {b['ce']}")
cos = [float(r["cos_to_target"]) for r in store]
if not cos[-1] > cos[0]:
    sys.exit(f"FAIL: the cosine to the teacher did not rise: {cos}")
print("store vs online: same losses; alpha = 0 equals no distillation; cosine", " -> ".join(f"{c:.3f}" for c in cos))
PY

# a killed student resumes to the same weights
rm -rf "$work/killed"
mkdir -p "$work/killed"
cp -r "$work/run/teachers" "$work/run/features" "$work/killed/"
"$bin/cbd-train-student" --config "$work/x.ini" --set experiment.output_dir="$work/killed" --set train.checkpoint_every=1 $q &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$work/killed/student.resume.ckpt.h5" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.02
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f "$work/killed/student.resume.ckpt.h5" ] || fail "no resume checkpoint appeared"
[ ! -e "$work/killed/student.ckpt.h5" ] || fail "the student finished before it could be killed"
CBD_THREADS=1 "$bin/cbd-train-student" --config "$work/x.ini" --set experiment.output_dir="$work/killed" \
    --set train.checkpoint_every=1 --resume $q
"$bin/cbd-ckpt" diff "$work/store/student.ckpt.h5" "$work/killed/student.ckpt.h5" >/dev/null ||
    fail "the resumed student differs from the uninterrupted one"
echo "student_stage: ok"
