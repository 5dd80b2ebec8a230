#!/usr/bin/env bash
# tools/rehearsal end to end at a small size: 12 classes of ImageNet-LT's
# counts, resnet20 teachers and student (the stand-in INI with [model] arch
# and the pictures' size changed). Checks that every stage has its row with
# a time, images and memory, the stores' reader figures are there, and a
# second run measures nothing again and leaves the rows as they were.
# usage: rehearsal.sh BIN_DIR WORK_DIR SOURCE_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 3 "BIN_DIR WORK_DIR SOURCE_DIR" "$@"
test_begin "$1" "$2"
src=$(cd "$3" && pwd)
cd "$work"
mkdir -p ini/rehearsal
sed -e 's/^arch = resnet50/arch = resnet20/' -e 's/^batch_size = 256/batch_size = 64/' \
    "$src/ini/rehearsal/imagenet_lt_standin.ini" >ini/rehearsal/imagenet_lt_standin.ini
grep -q "^arch = resnet20" ini/rehearsal/imagenet_lt_standin.ini || fail "the INI has no [model] arch to change"
run() { BIN=$bin REHEARSAL_CLASSES=12 "$src/tools/rehearsal" >"$work/out" 2>"$work/err" ||
    fail "tools/rehearsal failed: $(tail -5 "$work/err")"; }
run
out=runs/imagenet_lt_standin/rehearsal
md=$out/rehearsal.md
[ -s "$md" ] || fail "no $md"
for stage in make-synthetic convert teacher-std1 teacher-aug1 dump-std1 dump-aug1 student evaluate-std1 \
             evaluate-aug1 evaluate-student; do
    grep -Eq "^\| $stage \| [0-9]+ s \| [0-9]+ \| [0-9]+ \| [0-9]+ MiB \| [^|]*[0-9.]+ [KM]iB" "$md" ||
        fail "no full row for $stage in $md: $(grep "$stage" "$md")"
done
grep -q "12 classes" "$md" || fail "$md does not say 12 classes"
[ "$(grep -c 'from disk (cold)' "$md")" -eq 2 ] || fail "not two cold reader figures in $md"
grep -q "A GPU student at 3000 img/s would need" "$md" || fail "no GPU comparison in $md"
ls "$out" | grep -q store-copy && fail "the store copies were left in $out"
cp "$out/stages.tsv" "$work/first.tsv"
run
grep -q "measured before" "$work/err" || fail "the second run measured again: $(head -3 "$work/err")"
cmp -s "$out/stages.tsv" "$work/first.tsv" || fail "the second run changed the rows"
echo "rehearsal: ok"
