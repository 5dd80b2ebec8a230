#!/usr/bin/env bash
# cbd-ckpt end to end: init, info, verify, and the exit codes and messages for
# refused files and bad usage.
# usage: checkpoint_cli.sh CBD_CKPT WORK_DIR
set -euo pipefail

. "$(dirname "$0")/lib.sh"
test_args 2 "CBD_CKPT WORK_DIR" "$@"
ckpt=$1
test_work "$2"

# run_ckpt EXPECTED_STATUS ARGS...: runs cbd-ckpt, keeps stdout/stderr in
# $work/out and $work/err, fails unless the exit status is EXPECTED_STATUS.
run_ckpt() {
    local expected=$1
    shift
    local status=0
    "$ckpt" "$@" >"$work/out" 2>"$work/err" || status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        fail "cbd-ckpt $* exited $status, expected $expected"
    fi
}

expect_in() {
    local file=$1 text=$2
    grep -qF -- "$text" "$work/$file" || {
        cat "$work/$file" >&2
        fail "'$text' not in $file of the last command"
    }
}

good=$work/model.ckpt.h5

run_ckpt 0 --help
expect_in out "usage: cbd-ckpt"

run_ckpt 0 init --arch resnet20 --classes 10 --in-channels 1 --seed 7 "$good"
[ -f "$good" ] || fail "init did not write $good"
ls "$work" | grep -q '\.tmp\.' && fail "init left a temporary file"

run_ckpt 0 verify "$good"
expect_in out "ok: $good"

run_ckpt 0 info "$good"
expect_in out "resnet20"
expect_in out "stage1/block1/conv1/weight"
expect_in out "optimizer/momentum/classifier/weight"
expect_in out "seed            7"

# A truncated copy is refused with the file named.
cut=$work/cut.ckpt.h5
head -c 2000 "$good" >"$cut"
run_ckpt 2 verify "$cut"
expect_in err "cbd: error: $cut:"
expect_in err "truncated or corrupt"
run_ckpt 2 info "$cut"
expect_in err "cbd: error: $cut:"

# Text, missing files, a directory.
text=$work/notes.txt
echo "not a checkpoint" >"$text"
run_ckpt 2 verify "$text"
expect_in err "cbd: error: $text: not an HDF5 file"
run_ckpt 2 verify "$work/missing.ckpt.h5"
expect_in err "cbd: error: $work/missing.ckpt.h5:"
run_ckpt 2 info "$work"
expect_in err "cbd: error: $work:"

# Wrong usage.
run_ckpt 2
run_ckpt 2 frobnicate "$good"
run_ckpt 2 verify
run_ckpt 2 verify "$good" "$good"
run_ckpt 2 info --stats "$good"
run_ckpt 2 init --arch resnet20 --classes 10 "$work/x.ckpt.h5"
expect_in err "--in-channels"
run_ckpt 2 init --arch resnet20 --classes ten --in-channels 1 "$work/x.ckpt.h5"
expect_in err "--classes"
run_ckpt 2 init --arch resnet7 --classes 10 --in-channels 1 "$work/x.ckpt.h5"
expect_in err "resnet7"
[ -e "$work/x.ckpt.h5" ] && fail "a refused init wrote a file"

# A write that cannot happen is a failure, not a usage error.
run_ckpt 1 init --arch resnet20 --classes 10 --in-channels 1 "$work/no/such/dir/x.ckpt.h5"
expect_in err "cbd: error: $work/no/such/dir/x.ckpt.h5:"

# export: safetensors with PyTorch's names; a refused checkpoint is exit 2, a
# write that cannot happen exit 1, both naming the file.
st=$work/model.safetensors
run_ckpt 0 export "$good" "$st"
expect_in out "wrote $st"
[ -f "$st" ] || fail "export did not write $st"
ls "$work" | grep -q '\.tmp\.' && fail "export left a temporary file"
grep -qaF '"layer3.2.bn2.num_batches_tracked"' "$st" || fail "no CIFAR-layout names in $st"
run_ckpt 2 export "$cut" "$work/cut.safetensors"
expect_in err "cbd: error: $cut:"
[ -e "$work/cut.safetensors" ] && fail "a refused export wrote a file"
run_ckpt 1 export "$good" "$work/no/such/dir/x.safetensors"
expect_in err "cbd: error: $work/no/such/dir/x.safetensors:"
run_ckpt 2 export "$good"
run_ckpt 2 export --fp16 "$good" "$st"

# logits: one line of 10 per image; an images file of the wrong size is refused.
head -c $((2 * 16 * 16 * 4)) /dev/zero >"$work/two.f32"
run_ckpt 0 logits --size 16 "$good" "$work/two.f32"
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "logits printed $(wc -l <"$work/out") lines for 2 images"
[ "$(head -1 "$work/out" | wc -w)" -eq 10 ] || fail "logits printed no 10 values per line"
head -c 100 /dev/zero >"$work/odd.f32"
run_ckpt 2 logits --size 16 "$good" "$work/odd.f32"
expect_in err "cbd: error: $work/odd.f32:"
run_ckpt 2 logits "$good" "$work/two.f32"
expect_in err "--size"

rm -rf "$work"
echo "checkpoint_cli: ok"
