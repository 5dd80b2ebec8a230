#!/usr/bin/env bash
# A catalogue of bad inputs: every case of tests/bad_inputs/cases.tsv runs the
# stage or tool a user would run on one damaged input and must end with the
# expected exit status (2 bad usage, configuration or input; 1 runtime
# failure; 0 for inputs that are accepted), without a crash (no signal, no
# sanitizer report), and with a message that names the file and the line, key
# or dataset at fault; and the case's row in docs/robustness.md must show the
# same exit status and message. Prints "ok  CASE" or "FAIL CASE: why" per case.
#
# The base setup is made once: a tiny synthetic set, tests/bad_inputs/base.ini
# (one teacher, one epoch), the teacher and its feature store. Each case runs
# in its own folder holding base.ini, a link to the data, the fixture files the
# table names and, for store and checkpoint cases, a copy of the base run
# changed in one place by the setup step named in the table.
# usage: bad_inputs.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 2 "BIN_DIR WORK_DIR" "$@"
here=$(cd "$(dirname "$0")/bad_inputs" && pwd)
test_begin "$@"
export CBD_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
edit=$bin/bad-inputs-h5edit
doc=$here/../../docs/robustness.md
[ -f "$doc" ] || { echo "FAIL: $doc is missing" >&2; exit 1; }

# ---- the base setup ---------------------------------------------------------------------
base=$work/base
mkdir -p "$base"
"$bin/make-synthetic" --out "$base/data" --classes 3 --n-max 8 --imbalance 2 --size 16 \
    --val-per-class 1 --test-per-class 2 --seed 3 >/dev/null 2>&1
cp "$here/base.ini" "$base/"
(cd "$base" && "$bin/cbd-train-teacher" --config base.ini --teacher t1 --quiet &&
    "$bin/cbd-dump-features" --config base.ini --teacher t1 --quiet) ||
    { echo "FAIL base setup: the valid setup does not run" >&2; exit 1; }

# ---- setup steps named in the table (run in the case folder) ------------------------------
copy_run() { cp -r "$base/run" run; }
store=run/features/t1.h5
ckpt=run/teachers/t1.ckpt.h5
setup() {
    case $1 in
        -) ;;
        run) copy_run ;;
        teacher_skipping_bad) # a teacher that skipped the bad image, up to date for the dump
            "$bin/cbd-train-teacher" --config base.ini --teacher t1 --quiet \
                --set data.train=manifest_truncated_image.txt --set data.on_bad_image=skip ;;
        crlf) grep -v '^#' "$base/data/train.txt" | sed 's#^#data/#; s#$#\r#' >manifest_crlf.txt ;;
        long_line) # line 4: a path of 1000008 characters
            { grep -v '^#' "$base/data/train.txt" | sed 's#^#data/#' | head -2
              printf '# the next line is 1 MB long\n'
              printf 'data/%s.jpg 0\n' "$(head -c 999999 /dev/zero | tr '\0' a)"
              grep -v '^#' "$base/data/train.txt" | sed 's#^#data/#' | tail -n +3; } >manifest_long_line.txt ;;
        store_wrong_version) copy_run && "$edit" set-int $store format_version 2 ;;
        store_wrong_digest) copy_run && "$edit" set-uint64 $store manifest_digest 12345 ;;
        store_truncated) copy_run && truncate -s 3000 $store ;;
        store_nan_rows) copy_run && "$edit" nan $store /features 4 ;;
        store_wrong_d) copy_run && "$edit" set-int $store d 32 ;;
        store_missing_dataset) copy_run && "$edit" delete $store /labels ;;
        store_labels_int64) copy_run && "$edit" labels-int64 $store ;;
        store_incomplete) copy_run && "$edit" set-int $store complete 0 ;;
        store_interrupted) copy_run && mv $store $store.partial && "$edit" set-int $store.partial complete 0 ;;
        ckpt_truncated) copy_run && truncate -s 5000 $ckpt ;;
        ckpt_other_arch) copy_run && rm $ckpt &&
            "$bin/cbd-ckpt" init --arch resnet32 --classes 3 --in-channels 3 run/teachers/t1.resume.ckpt.h5 >/dev/null ;;
        ckpt_missing_tensor) copy_run && "$edit" delete $ckpt stage1/block1/conv1/weight ;;
        ckpt_nan_weights) copy_run && "$edit" nan $ckpt classifier/weight 1 ;;
        dump_running) # a dump in progress: its .partial, and its lock held by another process
            copy_run && mv $store $store.partial && "$edit" set-int $store.partial complete 0 &&
                { flock -o -x $store.lock sleep 60 >/dev/null 2>&1 & echo $! >holder.pid; } && sleep 0.5 ;;
        *) echo "no setup step '$1'" >&2; return 1 ;;
    esac
}

# contains TEXT PATTERN: PATTERN's pieces between '*' occur in TEXT in order.
contains() {
    local rest=$1 piece
    local IFS='*'
    for piece in $2; do
        [[ $rest == *"$piece"* ]] || return 1
        rest=${rest#*"$piece"}
    done
}

# ---- the cases ---------------------------------------------------------------------------
failed=0
count=0
while IFS=$'\t' read -r name files step command expect message input; do
    [[ -z $name || $name == \#* ]] && continue
    count=$((count + 1))
    dir=$work/cases/$name
    mkdir -p "$dir"
    cp "$here/base.ini" "$dir/"
    ln -s "$base/data" "$dir/data"
    why=
    if [ "$files" != - ]; then
        IFS=, read -ra list <<<"$files"
        for f in "${list[@]}"; do cp "$here/$f" "$dir/" || why="fixture $f missing"; done
    fi
    [ -z "$why" ] && { (cd "$dir" && setup "$step") </dev/null >"$dir/setup.log" 2>&1 || why="setup '$step' failed: $(tail -1 "$dir/setup.log")"; }
    if [ -z "$why" ]; then
        read -ra argv <<<"$command"
        envs=()
        while [[ ${argv[0]} == [A-Z_]*=* ]]; do envs+=("${argv[0]}"); argv=("${argv[@]:1}"); done
        status=0
        if [ "${argv[0]}" = interrupted ]; then
            # SIGINT once the run has started its first epoch: one line, the lock removed, killed by SIGINT
            (cd "$dir" && exec "$bin/${argv[1]}" "${argv[@]:2}") </dev/null >"$dir/stdout" 2>"$dir/stderr" &
            pid=$!
            for _ in $(seq 200); do grep -q "epoch" "$dir/stderr" 2>/dev/null && break; sleep 0.05; done
            kill -INT $pid
            wait $pid || status=$?
            [ -z "$(find "$dir" -name '*.lock')" ] || why="the interrupted run left $(find "$dir" -name '*.lock')"
        else
            (cd "$dir" && exec env "${envs[@]}" "$bin/${argv[0]}" "${argv[@]:1}") </dev/null >"$dir/stdout" 2>"$dir/stderr" || status=$?
        fi
        [ -f "$dir/holder.pid" ] && kill "$(cat "$dir/holder.pid")" 2>/dev/null || true
        err=$(cat "$dir/stderr")
        all=$err$'\n'$(cat "$dir/stdout")
        if [ -n "$why" ]; then
            :
        elif [ "$status" -gt 128 ] && [ "$status" -ne "$expect" ]; then
            why="killed by signal $((status - 128))"
        elif grep -qE 'Sanitizer|runtime error:|Assertion|internal error' "$dir/stderr"; then
            why="crash report: $(grep -m1 -E 'Sanitizer|runtime error:|Assertion|internal error' "$dir/stderr")"
        elif [ "$status" -ne "$expect" ]; then
            why="exit $status, expected $expect: $(head -c 300 "$dir/stderr")"
        elif [ "$message" != - ] && ! contains "$all" "$message"; then
            why="message '$message' not in: $(head -c 300 "$dir/stderr")"
        elif [ "$expect" -ne 0 ] && ! grep -q '^cbd: error: \|^cbd: interrupted: \|^defect: ' "$dir/stderr" "$dir/stdout"; then
            why="no 'cbd: error:' line"
        fi
    fi
    # the case's row in the doc: same exit status, and the expected text
    if [ -z "$why" ]; then
        row=$(grep -F "| \`$name\` |" "$doc" | head -1) || true
        if [ -z "$row" ]; then
            why="no row in docs/robustness.md"
        elif ! contains "$row" "| $expect |" || { [ "$message" != - ] && ! contains "$row" "$message"; }; then
            why="its row in docs/robustness.md differs from the table (exit $expect, '$message')"
        fi
    fi
    if [ -n "$why" ]; then
        echo "FAIL $name: $why"
        failed=$((failed + 1))
    else
        echo "ok  $name"
    fi
done <"$here/cases.tsv"

[ "$count" -ge 34 ] || { echo "FAIL: only $count cases in cases.tsv"; failed=$((failed + 1)); }
if [ "$failed" -ne 0 ]; then
    echo "bad_inputs: $failed of $count cases failed"
    exit 1
fi
echo "bad_inputs: $count cases ok"
