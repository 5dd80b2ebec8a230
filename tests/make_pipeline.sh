#!/usr/bin/env bash
# The make pipeline on a small synthetic set: cbd-plan's rules run teachers,
# dumps, the student and the evaluations; running make again does nothing;
# changing the [student] section reruns only the student and its evaluation.
# usage: make_pipeline.sh BIN_DIR WORK_DIR
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL  # a make of its own, not a child of the make that runs the tests
. "$(dirname "$0")/lib.sh"
test_begin "$@"
cd "$work"

synthetic data 4 --test-per-class 4
ini_head x.ini run 3 20 "test = data/test.txt"
cat >>x.ini <<INI
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
