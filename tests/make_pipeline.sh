#!/usr/bin/env bash
# The make pipeline on a small synthetic set: cbd-plan's rules run teachers,
# dumps, the student and the evaluations; running make again does nothing;
# changing the [student] section reruns only the student and its evaluation.
# usage: make_pipeline.sh BIN_DIR WORK_DIR
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL  # a make of its own, not a child of the make that runs the tests
[ $# -eq 2 ] || { echo "usage: $0 BIN_DIR WORK_DIR" >&2; exit 2; }
bin=$(cd "$1" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin/make-synthetic" --out data --classes 5 --n-max 30 --imbalance 10 --size 20 \
    --val-per-class 2 --test-per-class 4 --seed 4 2>/dev/null
cat >x.ini <<INI
[experiment]
seed = 3
output_dir = run
[data]
train = data/train.txt
test = data/test.txt
channels = 3
image_size = 20
workers = 1
[model]
arch = resnet20
[train]
epochs = 1
batch_size = 16
[teacher.t1]
kind = standard
[features]
views = 2
[student]
alpha = 0.4
[eval]
many_threshold = 20
few_threshold = 5
INI
run_make() {
    "$bin/cbd-plan" --config x.ini >plan.mk
    make --no-print-directory -f plan.mk BIN="$bin" all >make.out 2>&1 || { cat make.out >&2; fail "make failed"; }
}

run_make
for f in run/teachers/t1.ckpt.h5 run/features/t1.h5 run/student.ckpt.h5 run/eval/student.json run/eval/teacher-t1.json \
    run/report.md; do
    [ -f "$f" ] || fail "the pipeline did not write $f"
done

run_make
grep -q "Nothing to be done" make.out || { cat make.out >&2; fail "a second make ran something"; }

sed -i 's/^alpha = 0.4/alpha = 0.2/' x.ini
run_make
grep -q "cbd-train-student" make.out || fail "changing [student] did not retrain the student"
grep -q "cbd-evaluate.*student.ckpt.h5" make.out || fail "changing [student] did not re-evaluate the student"
if grep -qE "cbd-train-teacher|cbd-dump-features|cbd-evaluate.*teacher-t1" make.out; then
    cat make.out >&2
    fail "changing [student] reran a teacher, a dump or a teacher's evaluation"
fi
echo "make_pipeline: ok"
