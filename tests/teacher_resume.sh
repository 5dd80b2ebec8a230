#!/usr/bin/env bash
# cbd-train-teacher end to end on a small synthetic set: trains a teacher,
# then kills a second run with SIGKILL after its first resume checkpoint,
# resumes it (with another thread count) and checks that the resumed run ends
# with exactly the weights of the uninterrupted one. Also: the refusals that
# protect an unfinished run, the up-to-date check, and the metrics CSV.
# usage: teacher_resume.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"

synthetic "$work/data" 3 --classes 6 --n-max 40 --size 24 --val-per-class 4 --test-per-class 4

write_ini() { # write_ini FILE OUTPUT_DIR
    ini_head "$1" "$2" 5 24 "val = data/val.txt"
    cat >>"$1" <<INI
[train]
epochs = 6
batch_size = 16
lr = 0.05
[teacher.t1]
kind = augment
INI
}
write_ini "$work/a.ini" "$work/run_a"
write_ini "$work/b.ini" "$work/run_b"

# uninterrupted, 2 threads
CBD_THREADS=2 "$bin/cbd-train-teacher" --config "$work/a.ini" --teacher t1 --quiet
final_a=$work/run_a/teachers/t1.ckpt.h5
[ -f "$final_a" ] || fail "no final checkpoint $final_a"
[ ! -e "$work/run_a/teachers/t1.resume.ckpt.h5" ] || fail "resume checkpoint left after a finished run"
rows=$(($(wc -l <"$work/run_a/teachers/t1.metrics.csv") - 1))
[ "$rows" -eq 6 ] || fail "metrics CSV has $rows epoch rows, expected 6"

# up to date: a second run does nothing and says so
out=$("$bin/cbd-train-teacher" --config "$work/a.ini" --teacher t1 2>&1)
echo "$out" | grep -q "up to date" || fail "second run did not report up to date: $out"

# interrupted: kill -9 once the first resume checkpoint exists
resume_b=$work/run_b/teachers/t1.resume.ckpt.h5
final_b=$work/run_b/teachers/t1.ckpt.h5
CBD_THREADS=2 "$bin/cbd-train-teacher" --config "$work/b.ini" --teacher t1 --quiet &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$resume_b" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f "$resume_b" ] || fail "no resume checkpoint appeared"
[ ! -e "$final_b" ] || fail "the run finished before it could be killed; make the test run longer"
ls "$work/run_b/teachers" | grep -q '\.tmp\.' && fail "a temporary file looks left behind" || true

# without --resume the unfinished run is protected
status=0
"$bin/cbd-train-teacher" --config "$work/b.ini" --teacher t1 --quiet 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "a run over an unfinished one exited $status, expected 2"
grep -q -- "--resume" "$work/err" || fail "the refusal does not mention --resume: $(cat "$work/err")"

# resume with 1 thread; the result must equal the uninterrupted run bit for bit
CBD_THREADS=1 "$bin/cbd-train-teacher" --config "$work/b.ini" --teacher t1 --resume --quiet
[ -f "$final_b" ] || fail "resumed run wrote no final checkpoint"
"$bin/cbd-ckpt" diff "$final_a" "$final_b" >"$work/diff" || { cat "$work/diff" >&2; fail "resumed weights differ"; }
cmp -s "$work/run_a/teachers/t1.metrics.csv" "$work/run_b/teachers/t1.metrics.csv" ||
    cut -d, -f1-7 "$work/run_a/teachers/t1.metrics.csv" | cmp -s - <(cut -d, -f1-7 "$work/run_b/teachers/t1.metrics.csv") ||
    fail "resumed metrics (loss, accuracy) differ from the uninterrupted run"

# a bad teacher name and a bad config key are usage errors naming the problem
status=0
"$bin/cbd-train-teacher" --config "$work/a.ini" --teacher nope 2>"$work/err" || status=$?
[ "$status" -eq 2 ] && grep -q "nope" "$work/err" || fail "unknown teacher: exit $status, $(cat "$work/err")"
status=0
"$bin/cbd-train-teacher" --config "$work/a.ini" --teacher t1 --set train.epochz=3 2>"$work/err" || status=$?
[ "$status" -eq 2 ] && grep -q "epochz" "$work/err" || fail "unknown key: exit $status, $(cat "$work/err")"
echo "teacher_resume: ok"
