#!/usr/bin/env bash
# The paper's benchmark INIs (ImageNet-LT, iNaturalist 2018, Places-LT) with
# no data present: cbd-plan gives the full rule set (every teacher, store,
# model, evaluation and the report), and make stops at the data with a line
# saying what to put where.
# usage: benchmark_inis.sh BIN_DIR WORK_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 3 "BIN_DIR WORK_DIR SOURCE_DIR" "$@"
test_begin "$1" "$2"
src=$(cd "$3" && pwd)
cd "$work"
mkdir ini
ln -s "$src/mk" mk
check() { # INI TEACHERS MODELS MESSAGE
    local ini=$1 name
    name=$(basename "$ini" .ini)
    cp "$src/ini/$ini" ini/
    "$bin/cbd-plan" --config "ini/$ini" >"$name.mk" 2>"$name.err" || { cat "$name.err" >&2; fail "cbd-plan $ini"; }
    [ "$(grep -c "^runs/$name/teachers/[a-z0-9]*\.ckpt\.h5:" "$name.mk")" -eq "$2" ] || fail "$ini: not $2 teacher rules"
    [ "$(grep -c "^runs/$name/features/[a-z0-9]*\.h5:" "$name.mk")" -eq "$2" ] || fail "$ini: not $2 store rules"
    [ "$(grep -c "^runs/$name/eval/.*\.json:" "$name.mk")" -eq $(($2 + $3)) ] || fail "$ini: not $(($2 + $3)) evaluations"
    grep -q "^runs/$name/report.md:" "$name.mk" || fail "$ini: no report rule"
    local rc=0
    make --no-print-directory -f "$name.mk" BIN="$bin" teachers >make.out 2>"$work/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "$ini: make ran without the data"
    expect_message "$ini without data" "$4"
}
check imagenet_lt_r50.ini 5 7 "ImageNet-LT: link ImageNet 2012 (the folder holding train/ and val/ with class folders) at data/imagenet"
check inat18_r50.ini 5 7 "iNaturalist 2018: link the folder holding train_val2018/ and train2018.json at data/inat18"
check places_lt_r152.ini 5 7 "Places-LT: link Places365-Standard (the folder holding data_256/ and val_256/) at data/places365"
grep -q "^logits = false" ini/inat18_r50.ini || fail "inat18_r50.ini stores the logits of 8,142 classes"
# the rehearsal's stand-in (tools/rehearsal): plans with no data present
mkdir -p ini/rehearsal
cp "$src/ini/rehearsal/imagenet_lt_standin.ini" ini/rehearsal/
"$bin/cbd-plan" --config ini/rehearsal/imagenet_lt_standin.ini >standin.mk 2>standin.err ||
    { cat standin.err >&2; fail "cbd-plan ini/rehearsal/imagenet_lt_standin.ini"; }
[ "$(grep -c "^runs/imagenet_lt_standin/teachers/[a-z0-9]*\.ckpt\.h5:" standin.mk)" -eq 2 ] ||
    fail "imagenet_lt_standin.ini: not 2 teacher rules"
echo "benchmark_inis: ok"
