#!/usr/bin/env bash
# What a stage does when the world goes wrong under it:
#   - a full disk (a file-size limit, ulimit -f) while writing checkpoints and
#     stores: a clear error, exit 1, the previous outputs intact, nothing
#     half-written under a final name;
#   - a read-only output folder: a clear error naming it, exit 1;
#   - two runs writing one output (a make -j mistake): the second refuses
#     (exit 2, naming the first's pid), the first finishes unharmed;
#   - a loss that becomes NaN or Inf: exit 1, a message naming the step and
#     the loss terms, the last good resume checkpoint kept;
#   - on a machine without a GPU: device = cuda stops at start with one line
#     (exit 2) and writes no checkpoint; device = auto with precision = bf16
#     on a CPU without bf16 (oneDNN held to avx2) is refused the same way
#     (auto picked the cpu).
# usage: failure_paths.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
export CBD_THREADS=${CBD_THREADS:-2}

synthetic "$work/data" 6

write_ini() { # write_ini FILE OUTPUT_DIR EPOCHS [EXTRA [TRAIN] LINES]
    ini_head "$1" "$2" 2 20
    cat >>"$1" <<INI
[train]
epochs = $3
batch_size = 16
lr = 0.05
${4:-}
[teacher.t1]
kind = standard
[features]
views = 30
dtype = float32
batch_size = 8
[student]
teachers = t1
INI
}
digest() { sha256sum "$@" | cut -d' ' -f1 | tr '\n' ' '; }

# ---- finished outputs to protect ---------------------------------------------
write_ini "$work/e.ini" "$work/run" 2
"$bin/cbd-train-teacher" --config "$work/e.ini" --teacher t1 --quiet
"$bin/cbd-dump-features" --config "$work/e.ini" --teacher t1 --quiet
"$bin/cbd-train-student" --config "$work/e.ini" --quiet
teacher=$work/run/teachers/t1.ckpt.h5
store=$work/run/features/t1.h5
student=$work/run/student.ckpt.h5
before=$(digest "$teacher" "$store" "$student")

# ---- full disk: each stage forced to redo its output under a 512 KiB file limit
# (a checkpoint is about 2 MB, the store about 1 MB)
for stage in teacher dump student; do
    case $stage in
    teacher) cmd=("$bin/cbd-train-teacher" --config "$work/e.ini" --teacher t1 --force --quiet) ;;
    dump) cmd=("$bin/cbd-dump-features" --config "$work/e.ini" --teacher t1 --force --quiet) ;;
    student) cmd=("$bin/cbd-train-student" --config "$work/e.ini" --force --quiet) ;;
    esac
    expect_exit 1 "full disk, $stage" bash -c 'ulimit -f 512 && exec "$@"' sh "${cmd[@]}"
    expect_message "full disk, $stage" "$work/run/"
    grep -q -i -e "File too large" -e "cannot write" -e "write failed" -e "error writing" "$work/err" ||
        fail "full disk, $stage: the message does not say the write failed: $(cat "$work/err")"
    [ "$(digest "$teacher" "$store" "$student")" = "$before" ] || fail "full disk, $stage: a finished output changed"
    [ -z "$(leftover_temporaries "$work/run")" ] || fail "full disk, $stage: left $(leftover_temporaries "$work/run")"
    "$bin/cbd-ckpt" verify "$teacher" >/dev/null && "$bin/cbd-ckpt" verify "$student" >/dev/null ||
        fail "full disk, $stage: a checkpoint no longer verifies"
done
echo "failure_paths: full disk: ok"

# ---- read-only output folder ---------------------------------------------------
# Root writes through permission bits, so as root the stage runs as nobody.
ro=$(mktemp -d /tmp/cbd-readonly.XXXXXX)
trap 'chmod -R u+w "$ro" 2>/dev/null; rm -rf "$ro"' EXIT
chmod 755 "$ro"
cp -r "$work/data" "$ro/data"
cp "$bin/cbd-train-teacher" "$ro/"
write_ini "$ro/e.ini" "$ro/run" 1
mkdir -p "$ro/run/teachers"
chmod -R a+rX "$ro"
chmod 555 "$ro/run/teachers"
as_user=()
if [ "$(id -u)" -eq 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
expect_exit 1 "read-only output folder" "${as_user[@]}" "$ro/cbd-train-teacher" --config "$ro/e.ini" --teacher t1 --quiet
expect_message "read-only output folder" "$ro/run/teachers"
expect_message "read-only output folder" "ermission denied"
echo "failure_paths: read-only folder: ok"

# ---- two writers of one output ---------------------------------------------------
write_ini "$work/two.ini" "$work/two" 8
"$bin/cbd-train-teacher" --config "$work/two.ini" --teacher t1 --quiet &
first=$!
for _ in $(seq 1 400); do
    [ -f "$work/two/teachers/t1.ckpt.h5.lock" ] && break
    sleep 0.02
done
[ -f "$work/two/teachers/t1.ckpt.h5.lock" ] || fail "two writers: the first run took no lock"
expect_exit 2 "two writers" "$bin/cbd-train-teacher" --config "$work/two.ini" --teacher t1 --resume --quiet
expect_message "two writers" "being written by process $first"
wait $first || fail "two writers: the first run failed after the second was refused"
"$bin/cbd-ckpt" verify "$work/two/teachers/t1.ckpt.h5" >/dev/null || fail "two writers: the first run's checkpoint"
[ ! -e "$work/two/teachers/t1.ckpt.h5.lock" ] || fail "two writers: the lock file was left after a normal exit"
echo "failure_paths: two writers: ok"

# ---- a run that diverges ------------------------------------------------------------
# A cosine schedule rising from lr 0.01 to a huge lr_final trains sanely for
# the first steps, then blows up. With lr_final 1e9 the weights turn
# non-finite in epoch 2 while the loss still reads finite: the epoch's
# checkpoint is refused and epoch 1's stays. With 1e30 the loss itself turns
# NaN within epoch 1: the message names the step and the loss terms.
write_ini "$work/nan.ini" "$work/nan" 8 "lr_final = 1e9"
sed -i 's/^lr = 0.05$/lr = 0.01/' "$work/nan.ini"
expect_exit 1 "diverging weights" "$bin/cbd-train-teacher" --config "$work/nan.ini" --teacher t1 --quiet
expect_message "diverging weights" "after epoch [0-9]*: .*holds [0-9]* non-finite values"
expect_message "diverging weights" "the last good checkpoint is kept"
resume=$work/nan/teachers/t1.resume.ckpt.h5
[ -f "$resume" ] || fail "diverging weights: no resume checkpoint kept"
"$bin/cbd-ckpt" verify "$resume" >/dev/null || fail "diverging weights: the kept checkpoint does not verify"
[ ! -e "$work/nan/teachers/t1.ckpt.h5" ] || fail "diverging weights: a final checkpoint was written"
[ -z "$(leftover_temporaries "$work/nan")" ] || fail "diverging weights: left $(leftover_temporaries "$work/nan")"
echo "failure_paths: diverging weights: ok ($(grep -o 'after epoch.*' "$work/err" | head -c 100)...)"

write_ini "$work/nan2.ini" "$work/nan2" 8 "lr_final = 1e30"
sed -i 's/^lr = 0.05$/lr = 0.01/' "$work/nan2.ini"
expect_exit 1 "diverging loss" "$bin/cbd-train-teacher" --config "$work/nan2.ini" --teacher t1 --quiet
expect_message "diverging loss" "loss is .*nan at epoch [0-9]*, step [0-9]* (cross-entropy part .*, distillation part"
[ ! -e "$work/nan2/teachers/t1.ckpt.h5" ] || fail "diverging loss: a final checkpoint was written"
echo "failure_paths: diverging loss: ok ($(grep -o 'loss is.*' "$work/err" | head -c 100)...)"

# ---- no GPU -------------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "failure_paths: no GPU: skipped (this machine has one)"
else
    write_ini "$work/cuda.ini" "$work/cuda" 1
    sed -i 's/^seed = 2$/seed = 2\ndevice = cuda/' "$work/cuda.ini"
    expect_exit 2 "device = cuda without a GPU" "$bin/cbd-train-teacher" --config "$work/cuda.ini" --teacher t1 --quiet
    expect_message "device = cuda without a GPU" "\[experiment\] device = cuda: "
    [ "$(wc -l <"$work/err")" -eq 1 ] || fail "device = cuda without a GPU: more than one line: $(cat "$work/err")"
    [ ! -e "$work/cuda/teachers/t1.ckpt.h5" ] || fail "device = cuda without a GPU: a checkpoint was written"
    sed -i 's/^device = cuda$/device = auto\nprecision = bf16/' "$work/cuda.ini"
    # auto falls back to the cpu; with oneDNN held to avx2 it has no bf16
    expect_exit 2 "precision = bf16 on auto without a GPU" env DNNL_MAX_CPU_ISA=AVX2 "$bin/cbd-train-teacher" --config "$work/cuda.ini" \
        --teacher t1 --quiet
    expect_message "precision = bf16 on auto without a GPU" "\[experiment\] precision = bf16: no native bf16 on this CPU"
    echo "failure_paths: no GPU: ok ($(head -c 100 "$work/err")...)"
fi
echo "failure_paths: ok"
