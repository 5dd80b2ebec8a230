#!/usr/bin/env bash
# The baselines of [student] method, end to end on a small synthetic set, run
# by make from one INI with several [student.NAME] models:
#  - crt keeps the teacher's backbone bit for bit and trains a new classifier;
#  - lws rescales each row (and bias) of the teacher's linear classifier;
#  - tau_norm leaves unit rows and no bias;
#  - finetune starts from the teacher (its weights move, but little);
#  - an ensemble of one model twice scores exactly as the model alone;
#  - make report writes one table with a row per label (seeds merged);
#  - the class-balanced student beats chance by a wide margin.
# usage: baselines.sh BIN_DIR WORK_DIR
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL
. "$(dirname "$0")/lib.sh"
test_begin "$@"
cd "$work"

synthetic data 4 --n-max 40 --test-per-class 8
ini_head x.ini run 3 20 "test = data/test.txt"
cat >>x.ini <<INI
[train]
epochs = 3
batch_size = 16
lr = 0.05
[teacher.t1]
label = Instance
[teacher.lin]
head = linear
[features]
views = 3
[student]
distill = none
label = CB
[student.cb2]
distill = none
seed = 7
label = CB
[student.crt]
method = crt
from = t1
[student.lws]
method = lws
from = lin
[student.tau]
method = tau_norm
from = lin
[student.ft]
method = finetune
from = t1
lr = 0.002
epochs = 1
[student.ens]
method = ensemble
teachers = t1, lin
[eval]
many_threshold = 20
few_threshold = 8
INI
"$bin/cbd-plan" --config x.ini >plan.mk
CBD_THREADS=1 make --no-print-directory -f plan.mk BIN="$bin" all >make.out 2>&1 || { cat make.out >&2; fail "make failed"; }

check=${BASELINE_WEIGHTS:-$(dirname "$bin")/tests/baseline_weights}
"$check" crt run/teachers/t1.ckpt.h5 run/students/crt.ckpt.h5 || fail "crt"
"$check" lws run/teachers/lin.ckpt.h5 run/students/lws.ckpt.h5 || fail "lws"
"$check" tau run/teachers/lin.ckpt.h5 run/students/tau.ckpt.h5 || fail "tau_norm"
"$check" ft run/teachers/t1.ckpt.h5 run/students/ft.ckpt.h5 || fail "finetune"

top1() { sed -n 's/^  "top1": \([0-9.]*\),$/\1/p' "$1"; }
"$bin/cbd-evaluate" --config x.ini --model run/teachers/t1.ckpt.h5 --model run/teachers/t1.ckpt.h5 \
    --name twice --quiet >/dev/null
[ -n "$(top1 run/eval/twice.json)" ] || fail "no top1 in run/eval/twice.json"
[ "$(top1 run/eval/twice.json)" = "$(top1 run/eval/teacher-t1.json)" ] ||
    fail "an ensemble of t1 with itself scores $(top1 run/eval/twice.json), t1 alone $(top1 run/eval/teacher-t1.json)"
[ -f run/eval/ens.json ] || fail "the ensemble t1 + lin was not evaluated"
if "$bin/cbd-evaluate" --config x.ini --model run/teachers/t1.ckpt.h5 --model run/teachers/lin.ckpt.h5 --ncm \
    --quiet >err.out 2>&1; then fail "--ncm with an ensemble was accepted"; fi

[ -f run/report.md ] && [ -f run/report.csv ] && [ -f run/report.per_class.svg ] || fail "make report wrote no report"
check_png run/report.per_class.png 790 480
check_png run/curves/all.png 790 600
for run in t1 lin crt lws ft; do check_png run/curves/$run.png 790 900; done
[ ! -e run/curves/tau.png ] && [ ! -e run/curves/ens.png ] || fail "curves drawn for a model that did not train"
grep -q '^| CB | 2 |' run/report.md || { cat run/report.md >&2; fail "the two CB seeds are not one row of 2 seeds"; }
for label in Instance 'teacher lin' crt lws tau ft ens; do
    grep -q "^| $label | 1 |" run/report.md || { cat run/report.md >&2; fail "no report row for $label"; }
done
cb=$(top1 run/eval/student.json)
awk -v a="$cb" 'BEGIN { exit !(a > 0.4) }' || fail "the class-balanced student has top-1 $cb (chance 0.2)"

# the baselines are up to date: a second make runs nothing
CBD_THREADS=1 make --no-print-directory -f plan.mk BIN="$bin" all >make2.out 2>&1
grep -q "Nothing to be done" make2.out || { cat make2.out >&2; fail "a second make ran something"; }
echo "baselines: ok (class-balanced top-1 $cb)"
