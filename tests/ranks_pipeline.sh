#!/usr/bin/env bash
# The stages as R ranks under mpirun, against one process on the same
# experiment (a small synthetic set): teachers trained on 2 and 4 ranks,
# the sharded dump, a student, cRT and the sharded evaluation give the
# single-process outputs bit for bit (cbd-ckpt diff, h5diff, cmp). Then the
# faults: a rank killed with SIGKILL stops the job with no final output and
# the run resumes on another number of ranks to the same weights; ranks
# started with different configurations refuse; an unreadable image on one
# rank stops every rank with one line naming the rank and the image.
# usage: ranks_pipeline.sh BIN_DIR WORK_DIR MPIRUN
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 3 "BIN_DIR WORK_DIR MPIRUN" "$@"
test_begin "$1" "$2"
mpirun=$3
ranks() { # ranks R CMD...: the command as R ranks of 1 thread
    local r=$1
    shift
    CBD_THREADS=1 "$mpirun" --oversubscribe --allow-run-as-root -np "$r" "$@"
}
one() { CBD_THREADS=1 "$@"; }

cd "$work"
synthetic "$work/data" 4 --classes 6 --n-max 40 --size 16 --val-per-class 3 --test-per-class 3
write_ini() { # write_ini FILE OUTPUT_DIR
    ini_head "$1" "$2" 3 16 "val = data/val.txt" "test = data/test.txt"
    cat >>"$1" <<INI
[train]
epochs = 2
batch_size = 16
lr = 0.05
checkpoint_every = 1
[features]
views = 2
batch_size = 24
[teacher.t1]
kind = standard
[student]
teachers = t1
[student.crt]
method = crt
from = t1
INI
}
for run in one two four kill; do write_ini "$work/$run.ini" "$work/$run"; done

# teachers: 1 process, 2 ranks, 4 ranks
one "$bin/cbd-train-teacher" --config one.ini --teacher t1 --quiet
ranks 2 "$bin/cbd-train-teacher" --config two.ini --teacher t1 --quiet
ranks 4 "$bin/cbd-train-teacher" --config four.ini --teacher t1 --quiet
for run in two four; do
    "$bin/cbd-ckpt" diff one/teachers/t1.ckpt.h5 $run/teachers/t1.ckpt.h5 >"$work/diff" ||
        { cat "$work/diff" >&2; fail "the teacher of $run ranks differs from one process's"; }
    cut -d, -f1-10 one/teachers/t1.metrics.csv | cmp -s - <(cut -d, -f1-10 $run/teachers/t1.metrics.csv) ||
        fail "the metrics of $run ranks (loss, accuracy) differ from one process's"
done
[ "$(ls two/teachers)" = "$(ls one/teachers)" ] || fail "2 ranks wrote other files: $(ls two/teachers)"
ranks 2 "$bin/cbd-train-teacher" --config two.ini --teacher t1 2>"$work/err"
expect_message "a finished teacher on 2 ranks" "up to date"

# the dump: 2 ranks write the one store a single process writes
one "$bin/cbd-dump-features" --config one.ini --teacher t1 --quiet
ranks 2 "$bin/cbd-dump-features" --config two.ini --teacher t1 --quiet
h5diff one/features/t1.h5 two/features/t1.h5 >"$work/diff" ||
    { head -20 "$work/diff" >&2; fail "the dump of 2 ranks differs from one process's (h5diff)"; }
[ ! -e two/features/t1.h5.partial ] || fail "a partial store is left beside the finished one"

# the student (stored features) and cRT
for s in student crt; do
    one "$bin/cbd-train-student" --config one.ini --student $s --quiet
    ranks 2 "$bin/cbd-train-student" --config two.ini --student $s --quiet
done
"$bin/cbd-ckpt" diff one/student.ckpt.h5 two/student.ckpt.h5 >"$work/diff" ||
    { cat "$work/diff" >&2; fail "the student of 2 ranks differs from one process's"; }
"$bin/cbd-ckpt" diff one/students/crt.ckpt.h5 two/students/crt.ckpt.h5 >"$work/diff" ||
    { cat "$work/diff" >&2; fail "cRT on 2 ranks differs from one process's"; }

# the evaluation: every output the same bytes (but the INI's name, which the JSON records)
one "$bin/cbd-evaluate" --config one.ini --model one/student.ckpt.h5 --name s --ncm --quiet >/dev/null
ranks 2 "$bin/cbd-evaluate" --config two.ini --model one/student.ckpt.h5 --name s --ncm --quiet >/dev/null
for f in s.csv s.md s.confusion.csv; do
    cmp -s one/eval/$f two/eval/$f || fail "eval/$f of 2 ranks differs from one process's"
done
sed 's/two/one/' two/eval/s.json | cmp -s one/eval/s.json - || fail "eval/s.json of 2 ranks differs from one process's"

# kill -9 of one rank once the first resume checkpoint exists: the job stops, nothing final
write_ini "$work/kill.ini" "$work/kill"
sed -i 's/^epochs = 2/epochs = 4/' kill.ini one.ini
one "$bin/cbd-train-teacher" --config one.ini --teacher t1 --quiet --force
resume=kill/teachers/t1.resume.ckpt.h5
ranks 2 "$bin/cbd-train-teacher" --config kill.ini --teacher t1 --quiet >"$work/kill.out" 2>&1 &
job=$!
for _ in $(seq 1 1200); do
    [ -f "$resume" ] && break
    kill -0 $job 2>/dev/null || break
    sleep 0.05
done
victim=""
for pid in $(pgrep -f "cbd-train-teacher --config kill.ini" || true); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
done
[ -n "$victim" ] || fail "no rank 1 to kill (did the run finish before its first resume checkpoint?)"
kill -9 "$victim"
status=0
wait $job || status=$?
[ "$status" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ -f "$resume" ] || fail "no resume checkpoint appeared"
[ ! -e kill/teachers/t1.ckpt.h5 ] || fail "a final checkpoint exists after a rank was killed"
# resumed as one process (another R), then the weights of the uninterrupted run
one "$bin/cbd-train-teacher" --config kill.ini --teacher t1 --resume --quiet
"$bin/cbd-ckpt" diff one/teachers/t1.ckpt.h5 kill/teachers/t1.ckpt.h5 >"$work/diff" ||
    { cat "$work/diff" >&2; fail "after a killed rank and a resume on 1 rank the weights differ"; }

# ranks started with different configurations refuse before any work
expect_exit 2 "ranks with different --set" env CBD_THREADS=1 "$mpirun" --oversubscribe --allow-run-as-root \
    -np 1 "$bin/cbd-train-teacher" --config two.ini --teacher t1 --force --set train.lr=0.05 : \
    -np 1 "$bin/cbd-train-teacher" --config two.ini --teacher t1 --force --set train.lr=0.1
expect_message "ranks with different --set" "rank 1 was started with a different configuration"

# an image that cannot be read, on whichever rank draws it: all stop, one line names it
mkdir -p bad
cp -r data bad/
victim_image=$(awk '!/^#/ {print $1; exit}' bad/data/train.txt)
printf 'not a jpeg' >"bad/data/$victim_image"
write_ini "$work/bad.ini" "$work/bad/out"
sed -i 's|^train = data/train.txt|train = bad/data/train.txt|' bad.ini
expect_exit 2 "an unreadable image on 2 ranks" ranks 2 "$bin/cbd-train-teacher" --config bad.ini --teacher t1 --quiet
expect_message "an unreadable image on 2 ranks" "^rank [01]: cbd: error: .*$(basename "$victim_image")"
[ "$(grep -c 'cbd: error' "$work/err")" -eq 1 ] || fail "more than one error line: $(grep 'cbd: error' "$work/err")"
[ ! -e bad/out/teachers/t1.ckpt.h5 ] || fail "a final checkpoint exists after a failed rank"
# an error every rank meets (no teacher to dump) is said once, by rank 0, on a line of its own
expect_exit 2 "a dump of a missing teacher on 2 ranks" ranks 2 "$bin/cbd-dump-features" --config bad.ini --teacher t1 --quiet
expect_message "a dump of a missing teacher on 2 ranks" "^rank 0: cbd: error: .*t1.ckpt.h5"
[ "$(grep -c 'cbd: error' "$work/err")" -eq 1 ] || fail "an error of every rank said more than once: $(grep 'cbd: error' "$work/err")"
echo "ranks_pipeline: ok"
