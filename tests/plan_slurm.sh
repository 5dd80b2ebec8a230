#!/usr/bin/env bash
# cbd-plan --slurm on a small experiment: every script is valid bash with
# the asked resources, and submit.sh, run against a stand-in sbatch that
# records its arguments, submits the teachers as one array and every other
# job after exactly the jobs whose outputs it reads. Bad option values are
# refused naming the option.
# usage: plan_slurm.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
cd "$work"
ini_head exp.ini run 1 16 "val = data/val.txt" "test = data/test.txt"
cat >>exp.ini <<'INI'
[train]
epochs = 1
[teacher.t1]
kind = standard
[teacher.t2]
kind = augment
[student]
teachers = t1, t2
[student.crt]
method = crt
from = t2
[student.ens]
method = ensemble
teachers = t1, t2
INI
synthetic "$work/data" 2

"$bin/cbd-plan" --config exp.ini --slurm jobs --ranks 2 --cpus 3 --partition long --time 2:00:00 2>"$work/err"
expect_message "cbd-plan --slurm" "submit with: .*jobs/submit.sh"
for f in jobs/*.sbatch jobs/submit.sh; do bash -n "$f" || fail "$f is not valid bash"; done
[ "$(ls jobs/*.sbatch | wc -l)" -eq 11 ] || fail "expected 11 scripts (teachers, 2 dumps, 2 models, 5 evals, report): $(ls jobs)"
grep -q -- "--array" jobs/teachers.sbatch && fail "the array size belongs to submit.sh" || true
for f in jobs/teachers.sbatch jobs/features-t1.sbatch jobs/model-student.sbatch jobs/eval-student.sbatch; do
    grep -qx "#SBATCH --ntasks=2" "$f" || fail "$f: not 2 tasks"
    grep -qx "#SBATCH --cpus-per-task=3" "$f" || fail "$f: not 3 CPUs a task"
    grep -qx "#SBATCH --partition=long" "$f" || fail "$f: no partition"
    grep -q "^ *srun --mpi=pmix \"\$BIN\"/cbd-" "$f" || fail "$f: no srun of a stage"
done
grep -qx "#SBATCH --ntasks=1" jobs/report.sbatch || fail "the report is not one task"
grep -q "srun" jobs/report.sbatch && fail "the report runs under srun" || true
grep -q 'teacher t2' jobs/teachers.sbatch && grep -q -- "--teacher t2 --resume" jobs/teachers.sbatch ||
    fail "teacher t2 is not an element of the array"

# submit.sh against a stand-in sbatch: job ids 101, 102, ...
mkdir -p fake
cat >fake/sbatch <<'SH'
#!/bin/bash
n=$(($(cat "$FAKE_LOG" 2>/dev/null | wc -l) + 101))
echo "$n $*" >>"$FAKE_LOG"
echo "$n;cluster"
SH
chmod +x fake/sbatch
FAKE_LOG=$work/sbatch.log PATH=$work/fake:$PATH jobs/submit.sh >"$work/out" 2>&1 || fail "submit.sh failed: $(cat "$work/out")"
id() { awk -v f="$1" '$NF == f {print $1}' sbatch.log; }
deps() { awk -v f="$1" '$NF == f {for (i = 2; i < NF; i++) if ($i ~ /^--dependency=/) print $i}' sbatch.log; }
t=$(id teachers.sbatch)
[ -n "$t" ] && grep -q -- "--array=0-1 teachers.sbatch" sbatch.log || fail "teachers not one array of 2: $(cat sbatch.log)"
[ "$(deps features-t1.sbatch)" = "--dependency=afterok:${t}_0" ] || fail "features-t1: $(deps features-t1.sbatch)"
[ "$(deps features-t2.sbatch)" = "--dependency=afterok:${t}_1" ] || fail "features-t2: $(deps features-t2.sbatch)"
[ "$(deps model-student.sbatch)" = "--dependency=afterok:$(id features-t1.sbatch):$(id features-t2.sbatch)" ] ||
    fail "the student: $(deps model-student.sbatch)"
[ "$(deps model-crt.sbatch)" = "--dependency=afterok:${t}_1:$(id features-t2.sbatch)" ] || fail "crt: $(deps model-crt.sbatch)"
[ "$(deps eval-ens.sbatch)" = "--dependency=afterok:${t}_0:${t}_1" ] || fail "the ensemble: $(deps eval-ens.sbatch)"
[ "$(deps eval-student.sbatch)" = "--dependency=afterok:$(id model-student.sbatch)" ] ||
    fail "eval-student: $(deps eval-student.sbatch)"
want="--dependency=afterok:$(id eval-teacher_t1.sbatch):$(id eval-teacher_t2.sbatch):$(id eval-student.sbatch):$(id eval-crt.sbatch):$(id eval-ens.sbatch)"
[ "$(deps report.sbatch)" = "$want" ] || fail "the report: $(deps report.sbatch), expected $want"
[ "$(wc -l <sbatch.log)" -eq 11 ] || fail "submit.sh made $(wc -l <sbatch.log) submissions, expected 11"

# the GPU variant: a GPU a task, training and the dump on all of them
"$bin/cbd-plan" --config exp.ini --slurm gpu --ranks 4 --gpu 2>/dev/null
grep -qx "#SBATCH --gpus-per-task=1" gpu/features-t1.sbatch && grep -qx "#SBATCH --ntasks=4" gpu/features-t1.sbatch ||
    fail "the GPU dump is not 4 tasks with a GPU each"
grep -qx "#SBATCH --ntasks=4" gpu/teachers.sbatch && grep -qx "#SBATCH --gpus-per-task=1" gpu/teachers.sbatch ||
    fail "GPU training is not 4 tasks with a GPU each"
grep -q -- "--set experiment.device=cuda" gpu/model-student.sbatch || fail "the GPU variant does not set device = cuda"

# refusals
expect_exit 2 "--ranks 0" "$bin/cbd-plan" --config exp.ini --slurm bad --ranks 0
expect_message "--ranks 0" "--ranks 0"
expect_exit 2 "--ranks without --slurm" "$bin/cbd-plan" --config exp.ini --ranks 2
expect_message "--ranks without --slurm" "go with --slurm"
echo "plan_slurm: ok"
