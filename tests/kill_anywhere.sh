#!/usr/bin/env bash
# Kill anywhere, lose nothing: each stage (teacher, dump, student) is killed
# with SIGKILL at a random moment of its run, TRIALS times, then run again
# the way make runs it. Checked after each kill: a file under a final name is
# complete (it equals the uninterrupted run's), the metrics CSV holds only
# finished epochs, earlier stages' outputs are untouched. Checked after the
# rerun: it succeeds; its outputs equal the uninterrupted run's bit for bit
# (weights, store content, metrics but their timing columns); nothing
# temporary is left behind.
# usage: kill_anywhere.sh BIN_DIR WORK_DIR [TRIALS]   (TRIALS per stage, default 20)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
trials=${3:-20}
export CBD_THREADS=${CBD_THREADS:-2}

synthetic "$work/data" 11 --classes 6 --n-max 40 --size 24 --val-per-class 3 --test-per-class 3

write_ini() { # write_ini FILE OUTPUT_DIR
    ini_head "$1" "$2" 3 24 "val = data/val.txt"
    cat >>"$1" <<INI
[train]
epochs = 4
batch_size = 16
lr = 0.05
[teacher.t1]
kind = standard
[features]
views = 12
dtype = float32
batch_size = 8
[student]
teachers = t1
epochs = 4
INI
}

now_ms() { date +%s%3N; }
# the deterministic part of a metrics CSV: every column but images/s, wait and seconds
metrics_body() { cut -d, -f1-10 "$1"; }
# a resolved config copy, less what differs between the reference and a trial by construction
config_body() { grep -v -e '^name *=' -e '^output_dir *=' "$1"; }

# The stages as make runs them: --resume continues an unfinished run. The
# stage replaces the subshell it runs in, so $! is the stage's own pid.
run_stage() { # (run_stage STAGE INI)
    case $1 in
    teacher) exec "$bin/cbd-train-teacher" --config "$2" --teacher t1 --resume --quiet ;;
    dump) exec "$bin/cbd-dump-features" --config "$2" --teacher t1 --quiet ;;
    student) exec "$bin/cbd-train-student" --config "$2" --resume --quiet ;;
    esac
}

# ---- the uninterrupted reference, and each stage's duration -----------------
ref=$work/ref
write_ini "$work/ref.ini" "$ref"
declare -A duration
for stage in teacher dump student; do
    t0=$(now_ms)
    (run_stage $stage "$work/ref.ini") || fail "reference $stage run failed"
    duration[$stage]=$(($(now_ms) - t0))
done
ref_teacher=$ref/teachers/t1.ckpt.h5
ref_store=$ref/features/t1.h5
ref_student=$ref/student.ckpt.h5
for f in "$ref_teacher" "$ref_store" "$ref_student"; do [ -f "$f" ] || fail "reference run wrote no $f"; done

# ---- checks ------------------------------------------------------------------
same_ckpt() { "$bin/cbd-ckpt" diff "$1" "$2" >/dev/null 2>&1; }
same_store() { h5diff "$1" "$2" >/dev/null 2>&1; }
metrics_prefix_ok() { # the killed run's CSV: finished epochs only, each equal to the reference's
    local got=$1 want=$2
    [ -f "$got" ] || return 0
    local n
    n=$(wc -l <"$got")
    [ "$n" -ge 1 ] || return 1
    cmp -s <(metrics_body "$got") <(metrics_body "$want" | head -n "$n")
}
final_files_ok() { # STAGE RUN: whatever exists under a final name is complete
    local run=$2
    case $1 in
    teacher)
        [ ! -e "$run/teachers/t1.ckpt.h5" ] || same_ckpt "$run/teachers/t1.ckpt.h5" "$ref_teacher" || return 1
        [ ! -e "$run/teachers/t1.resume.ckpt.h5" ] || "$bin/cbd-ckpt" verify "$run/teachers/t1.resume.ckpt.h5" >/dev/null 2>&1 || return 1
        metrics_prefix_ok "$run/teachers/t1.metrics.csv" "$ref/teachers/t1.metrics.csv" || return 1
        [ ! -e "$run/teachers/t1.config.ini" ] || cmp -s <(config_body "$run/teachers/t1.config.ini") <(config_body "$ref/teachers/t1.config.ini") || return 1 ;;
    dump)
        [ ! -e "$run/features/t1.h5" ] || same_store "$run/features/t1.h5" "$ref_store" || return 1 ;;
    student)
        [ ! -e "$run/student.ckpt.h5" ] || same_ckpt "$run/student.ckpt.h5" "$ref_student" || return 1
        [ ! -e "$run/student.resume.ckpt.h5" ] || "$bin/cbd-ckpt" verify "$run/student.resume.ckpt.h5" >/dev/null 2>&1 || return 1
        metrics_prefix_ok "$run/student.metrics.csv" "$ref/student.metrics.csv" || return 1
        [ ! -e "$run/student.config.ini" ] || cmp -s <(config_body "$run/student.config.ini") <(config_body "$ref/student.config.ini") || return 1 ;;
    esac
}
outputs_equal() { # STAGE RUN: the rerun's outputs are the reference's
    local run=$2
    case $1 in
    teacher)
        same_ckpt "$run/teachers/t1.ckpt.h5" "$ref_teacher" &&
            cmp -s <(metrics_body "$run/teachers/t1.metrics.csv") <(metrics_body "$ref/teachers/t1.metrics.csv") ;;
    dump) same_store "$run/features/t1.h5" "$ref_store" ;;
    student)
        same_ckpt "$run/student.ckpt.h5" "$ref_student" &&
            cmp -s <(metrics_body "$run/student.metrics.csv") <(metrics_body "$ref/student.metrics.csv") ;;
    esac
}
leftovers() { # what a finished stage must not leave behind
    find "$1" \( -name '*.tmp.*' -o -name '*.partial' -o -name '*.resume.ckpt.h5' -o -name '*.lock' \) -print
}
earlier_digest() { # STAGE RUN: checksums of the earlier stages' outputs
    case $1 in
    teacher) echo none ;;
    dump) sha256sum "$2/teachers/t1.ckpt.h5" | cut -d' ' -f1 ;;
    student) cat "$2/teachers/t1.ckpt.h5" "$2/features/t1.h5" | sha256sum | cut -d' ' -f1 ;;
    esac
}

# ---- the trials --------------------------------------------------------------
index=0
for stage in teacher dump student; do
    index=$((index + 1))
    killed_mid=0
    finished_first=0
    for trial in $(seq 1 "$trials"); do
        run=$work/trial
        rm -rf "$run"
        mkdir -p "$run/teachers" "$run/features"
        [ $stage = teacher ] || cp "$ref_teacher" "$run/teachers/"
        [ $stage != student ] || cp "$ref_store" "$run/features/"
        write_ini "$work/trial.ini" "$run"
        before=$(earlier_digest $stage "$run")
        # a moment anywhere from start-up to just past the uninterrupted run's end
        delay=$(awk -v s=$((index * 1000 + trial)) -v d="${duration[$stage]}" \
            'BEGIN { srand(s); printf "%.3f", rand() * d * 1.1 / 1000 }')
        (run_stage $stage "$work/trial.ini") >/dev/null 2>"$work/killed.err" &
        pid=$!
        sleep "$delay"
        kill -9 $pid 2>/dev/null || true
        status=0
        wait $pid 2>/dev/null || status=$?
        if [ $status -eq 137 ]; then killed_mid=$((killed_mid + 1)); else finished_first=$((finished_first + 1)); fi
        final_files_ok $stage "$run" || fail "$stage trial $trial (killed after ${delay} s): a file under a final name is not the finished one"
        [ "$(earlier_digest $stage "$run")" = "$before" ] || fail "$stage trial $trial: the kill changed an earlier stage's output"
        (run_stage $stage "$work/trial.ini") >/dev/null 2>"$work/rerun.err" ||
            fail "$stage trial $trial (killed after ${delay} s): the rerun failed: $(cat "$work/rerun.err")"
        outputs_equal $stage "$run" || fail "$stage trial $trial (killed after ${delay} s): the rerun's outputs differ from the uninterrupted run's"
        [ "$(earlier_digest $stage "$run")" = "$before" ] || fail "$stage trial $trial: the rerun changed an earlier stage's output"
        left=$(leftovers "$run")
        [ -z "$left" ] || fail "$stage trial $trial: left behind: $left"
    done
    echo "kill_anywhere: $stage: $trials trials ($killed_mid killed mid-run, $finished_first had finished), run ${duration[$stage]} ms: ok"
done
echo "kill_anywhere: ok"
