#!/usr/bin/env bash
# `make test-slurm`: a one-machine Slurm cluster (tools/slurm/local-cluster:
# munged, slurmctld, slurmd), an experiment submitted with the scripts of
# cbd-plan --slurm (2 tasks a stage job), every job finishing, and its
# outputs equal to those of the make run of the same experiment (checkpoints
# by cbd-ckpt diff, the store by h5diff, evaluations and report by bytes).
# usage: slurm_local.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
here=$(cd "$(dirname "$0")/.." && pwd)
cluster=$work/cluster
trap '"$here/tools/slurm/local-cluster" stop "$cluster" >/dev/null 2>&1 || true' EXIT
"$here/tools/slurm/local-cluster" start "$cluster" >/dev/null || fail "the local cluster did not start"
export SLURM_CONF=$cluster/slurm.conf
cd "$work"
synthetic "$work/data" 5 --classes 6 --n-max 40 --size 16 --val-per-class 3 --test-per-class 3
write_ini() { # write_ini FILE OUTPUT_DIR
    ini_head "$1" "$2" 2 16 "val = data/val.txt" "test = data/test.txt"
    cat >>"$1" <<INI
[train]
epochs = 2
batch_size = 16
[features]
views = 2
[teacher.t1]
kind = standard
[teacher.t2]
kind = augment
[student]
teachers = t1, t2
label = CBD_ENS
[student.crt]
method = crt
from = t1
label = cRT
INI
}
write_ini make.ini by_make
write_ini slurm.ini by_slurm

# the make run, one process a stage
"$bin/cbd-plan" --config make.ini >plan.mk
CBD_THREADS=1 make -s -f plan.mk BIN="$bin" >make.log 2>&1 || fail "the make run failed: $(tail -5 make.log)"

# the Slurm run
"$bin/cbd-plan" --config slurm.ini --slurm jobs --ranks 2 --bin "$bin" 2>/dev/null
jobs/submit.sh >submit.log || fail "submit.sh failed: $(cat submit.log)"
for _ in $(seq 1 1200); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
    sleep 0.5
done
[ -z "$(squeue -h -o %i)" ] || fail "jobs still queued after 10 minutes: $(squeue)"
grep -l "cbd: error\|DependencyNeverSatisfied\|CANCELLED" jobs/logs/* 2>/dev/null && fail "a job failed: $(cat jobs/logs/*)" || true
[ "$(ls jobs/logs | wc -l)" -eq 11 ] || fail "expected 11 job logs (2 teacher array elements, 2 dumps, 2 models, 4 evaluations, the report): $(ls jobs/logs)"

for f in teachers/t1.ckpt.h5 teachers/t2.ckpt.h5 student.ckpt.h5 students/crt.ckpt.h5; do
    [ -f "by_slurm/$f" ] || fail "the Slurm run wrote no $f"
    "$bin/cbd-ckpt" diff "by_make/$f" "by_slurm/$f" >diff.txt || { cat diff.txt >&2; fail "$f differs from the make run's"; }
done
for t in t1 t2; do
    h5diff "by_make/features/$t.h5" "by_slurm/features/$t.h5" >/dev/null || fail "features/$t.h5 differs from the make run's"
done
for f in by_make/eval/*.json by_make/report.md; do
    g=by_slurm/${f#by_make/}
    sed 's/by_slurm/by_make/g; s/slurm\.ini/make.ini/g; s/"slurm"/"make"/g; s/^# slurm/# make/' "$g" | cmp -s "$f" - ||
        fail "$g differs from the make run's: $(sed 's/by_slurm/by_make/g; s/slurm/make/g' "$g" | diff "$f" - | head -5)"
done
echo "slurm_local: ok ($(ls jobs/logs | wc -l) jobs, outputs equal to the make run's)"
