#!/usr/bin/env bash
# Outputs you can trust to be up to date, and finished outputs no run can
# spoil. Each part was a way to get a wrong answer before:
#   1. a changed key makes the model that reads it stale: [data] mean's second
#      channel used to be left out of the student's digest ("cb is up to date");
#   2. a refused run (batch_size larger than the data) leaves every file of the
#      finished teacher and student as it was (their config.ini was rewritten);
#   3. a --force retrain that fails (a full disk) leaves the finished run's
#      metrics, log and config as they were (metrics.csv was replaced);
#   4. a student refuses a store dumped from the teacher's previous checkpoint
#      (it used to distil from it silently; cRT refused);
#   5. images replaced under the same names make the teacher stale, and a run
#      that stops on an error says so in its log too.
# usage: output_trust.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
export CBD_THREADS=${CBD_THREADS:-1}
synthetic "$work/data" 6

ini_head "$work/e.ini" $work/run 2 20
cat >>"$work/e.ini" <<INI
[train]
epochs = 2
batch_size = 16
lr = 0.05
[teacher.t1]
[features]
views = 4
[student]
teachers = t1
[student.cb]
distill = none
[student.crt]
method = crt
from = t1
INI
run=$work/run
teacher_files() { echo "$run"/teachers/t1.{ckpt.h5,metrics.csv,log,config.ini}; }
model_files() { echo "$run"/students/"$1".{ckpt.h5,metrics.csv,log,config.ini}; }
run_stage() { "$bin/$1" --config "$work/e.ini" "${@:2}"; }

# ---- 1. a key that a model reads makes it stale ---------------------------------------------
expect_exit 0 "cb, one epoch" run_stage cbd-train-student --student cb --set student.epochs=1
expect_exit 0 "cb again" run_stage cbd-train-student --student cb --set student.epochs=1
expect_message "cb again, same settings" "cb is up to date"
expect_exit 0 "cb with another mean" run_stage cbd-train-student --student cb --set student.epochs=1 \
    --set data.mean=0.5,0.1,0.1
grep -q "up to date" "$work/err" && fail "cb with [data] mean = 0.5, 0.1, 0.1 was called up to date"
grep -q "cb epoch 1/1" "$work/err" || fail "cb with another mean did not train: $(cat "$work/err")"
echo "output_trust: 1. a changed key retrains: ok"

# ---- the finished outputs the next parts protect --------------------------------------------
run_stage cbd-train-teacher --teacher t1 --quiet
run_stage cbd-dump-features --teacher t1 --quiet
run_stage cbd-train-student --student cb --quiet
run_stage cbd-train-student --student crt --quiet
for f in $(teacher_files) $(model_files cb) $(model_files crt); do [ -s "$f" ] || fail "no $f"; done
before=$(files_digest $(teacher_files) $(model_files cb) $(model_files crt))
unchanged() { [ "$(files_digest $(teacher_files) $(model_files cb) $(model_files crt))" = "$before" ] ||
    fail "$1: a file of a finished output changed"; }

# ---- 2. refused runs ------------------------------------------------------------------------------
expect_exit 2 "teacher, batch of 100000" run_stage cbd-train-teacher --teacher t1 --quiet --set train.batch_size=100000
expect_message "teacher, batch of 100000" "make no batch of 100000"
unchanged "a refused teacher run"
expect_exit 2 "cb, batch of 100000" run_stage cbd-train-student --student cb --quiet --set train.batch_size=100000
unchanged "a refused student run"
[ -z "$(ls "$run"/teachers/*.resume.* "$run"/students/*.resume.* 2>/dev/null)" ] ||
    fail "a refused run left files of a run in progress: $(ls "$run"/teachers "$run"/students)"
echo "output_trust: 2. refused runs leave finished outputs as they were: ok"

# ---- 3. a failed --force retrain (a full disk: 1 MiB files at most; a checkpoint is 2 MB) ----------
expect_exit 1 "teacher --force, full disk" bash -c 'ulimit -f 1024 && exec "$@"' sh \
    "$bin/cbd-train-teacher" --config "$work/e.ini" --teacher t1 --force --quiet
unchanged "a failed --force teacher run"
expect_exit 1 "cb --force, full disk" bash -c 'ulimit -f 1024 && exec "$@"' sh \
    "$bin/cbd-train-student" --config "$work/e.ini" --student cb --force --quiet
unchanged "a failed --force student run"
[ -z "$(leftover_temporaries "$run")" ] || fail "a failed run left $(leftover_temporaries "$run")"
# the finished run is still the one that counts
expect_exit 0 "teacher after the failed retrain" run_stage cbd-train-teacher --teacher t1
expect_message "teacher after the failed retrain" "teacher t1 is up to date"
unchanged "an up-to-date check after a failed retrain"
echo "output_trust: 3. a failed --force retrain keeps the finished run's files: ok"

# ---- 4. a store of the teacher's previous checkpoint ----------------------------------------------
expect_exit 0 "teacher, another seed" run_stage cbd-train-teacher --teacher t1 --quiet --set teacher.t1.seed=77
for model in student crt; do
    expect_exit 2 "$model on the old store" run_stage cbd-train-student --student $model --quiet \
        --set teacher.t1.seed=77
    expect_message "$model on the old store" "t1.h5 was dumped from another checkpoint of teacher t1"
done
expect_exit 0 "dump again" run_stage cbd-dump-features --teacher t1 --quiet --set teacher.t1.seed=77
expect_exit 0 "student on the new store" run_stage cbd-train-student --quiet --set teacher.t1.seed=77
echo "output_trust: 4. a store of another checkpoint is refused: ok"

# ---- 5. replaced images; an error in the log --------------------------------------------------------
first=$(grep -v '^#' "$work/data/train.txt" | head -1 | cut -d' ' -f1)
other=$(grep -v '^#' "$work/data/train.txt" | sed -n 9p | cut -d' ' -f1)
cp "$work/data/$other" "$work/data/$first"
touch -d '2001-01-01' "$work/data/$first"
expect_exit 0 "teacher, an image replaced" run_stage cbd-train-teacher --teacher t1 --set teacher.t1.seed=77
grep -q "up to date" "$work/err" && fail "a teacher whose image was replaced was called up to date"
grep -q "epoch 2/2" "$work/err" || fail "the teacher did not train again: $(cat "$work/err")"
printf 'not a jpeg' >"$work/data/$other"
expect_exit 2 "teacher, an image broken" run_stage cbd-train-teacher --teacher t1 --quiet --force
grep -q "cbd: error: .*$other" "$run/teachers/t1.resume.log" ||
    fail "the error is not in the run's log: $(cat "$run/teachers/t1.resume.log")"
echo "output_trust: 5. replaced images retrain; errors reach the log: ok"
echo "output_trust: ok"
