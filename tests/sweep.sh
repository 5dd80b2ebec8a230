#!/usr/bin/env bash
# cbd-sweep on a small synthetic set: a grid of student.alpha (0, 0.5) with
# seeds 1 and 2 trains and evaluates 4 models through cbd-plan's make rules
# and reports 2 rows of 2 seeds; a second run trains nothing; --dry-run runs
# nothing; bad sweep files exit 2 naming the file and line.
# usage: sweep.sh BIN_DIR WORK_DIR
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL  # a make of its own, not a child of the make that runs the tests
. "$(dirname "$0")/lib.sh"
test_begin "$@"
cd "$work"
export CBD_THREADS=${CBD_THREADS:-1}

synthetic data 4 --test-per-class 4
ini_head x.ini run 3 20 "test = data/test.txt"
cat >>x.ini <<INI
[train]
epochs = 1
batch_size = 16
[teacher.t1]
kind = standard
[features]
views = 2
[student]
alpha = 0.4
[eval]
many_threshold = 20
few_threshold = 5
INI
mkdir sweeps
cat >sweeps/alpha.ini <<INI
# a test sweep
[sweep]
base = ../x.ini      ; relative to this file
seeds = 1, 2
[grid]
student.alpha = 0, 0.5
INI

"$bin/cbd-sweep" sweeps/alpha.ini >sweep1.out 2>&1 || { cat sweep1.out >&2; fail "the sweep failed"; }
for i in 1 2 3 4; do
    for f in run/students/alpha-$i.ckpt.h5 run/eval/alpha-$i.json; do
        [ -f "$f" ] || { cat sweep1.out >&2; fail "the sweep did not write $f"; }
    done
done
grep -q '^\[student.alpha-4\]' run/sweeps/alpha.ini || fail "run/sweeps/alpha.ini has no [student.alpha-4]"
md=run/sweeps/alpha.md
[ -f "$md" ] || fail "no report $md"
rows=$(grep -cE '^\| alpha 0(\.5)? \|' "$md" || true)
[ "$rows" -eq 2 ] || { cat "$md" >&2; fail "the report has $rows model rows, not 2"; }
seeded=$(grep -E '^\| alpha 0(\.5)? \|' "$md" | grep -c '| 2 |' || true)
[ "$seeded" -eq 2 ] || { cat "$md" >&2; fail "the report's rows do not each have 2 seeds"; }
csv=run/sweeps/alpha.csv
grep -q '^alpha 0,2,0,' $csv || { cat $csv >&2; fail "the CSV has no row alpha 0 at x 0"; }
grep -q '^alpha 0\.5,2,0\.5,' $csv || { cat $csv >&2; fail "the CSV has no row alpha 0.5 at x 0.5"; }
[ -s run/sweeps/alpha.sweep.svg ] || fail "no sweep plot run/sweeps/alpha.sweep.svg"

# again: nothing to train or evaluate
outputs=(run/teachers/t1.ckpt.h5 run/features/t1.h5 run/students/alpha-*.ckpt.h5 run/eval/alpha-*.json)
before=$(stat -c '%n %y' "${outputs[@]}")
"$bin/cbd-sweep" sweeps/alpha.ini >sweep2.out 2>&1 || { cat sweep2.out >&2; fail "the second sweep failed"; }
if grep -E 'cbd-(train-teacher|dump-features|train-student|evaluate) ' sweep2.out; then
    fail "the second sweep ran a stage"
fi
[ "$before" = "$(stat -c '%n %y' "${outputs[@]}")" ] ||
    fail "the second sweep rewrote a checkpoint, store or evaluation"
grep -q '| alpha 0.5 |' sweep2.out || fail "the second sweep did not print the table"

# --dry-run writes the INI and the plan, prints the make command, runs nothing
sed 's/^seeds = .*/name = dry/' sweeps/alpha.ini >sweeps/dry.ini
"$bin/cbd-sweep" --dry-run sweeps/dry.ini >dry.out 2>&1 || { cat dry.out >&2; fail "--dry-run failed"; }
grep -q '^make --no-print-directory -f build/plans/sweep-dry.mk .*run/eval/dry-2.json' dry.out ||
    { cat dry.out >&2; fail "--dry-run did not print the make command"; }
[ -f run/sweeps/dry.ini ] && [ -f build/plans/sweep-dry.mk ] || fail "--dry-run did not write the INI and the plan"
[ ! -e run/students/dry-1.ckpt.h5 ] || fail "--dry-run trained a model"

# with [data] val: the point chosen on validation, reported on test
sed 's/^test = data\/test.txt/test = data\/test.txt\nval = data\/val.txt/; s/^output_dir = run/output_dir = runv/' x.ini >xv.ini
grep -q '^val = data/val.txt' xv.ini || fail "xv.ini has no val line"
printf '[sweep]\nbase = ../xv.ini\nname = alphav\n[grid]\nstudent.alpha = 0, 0.5\n' >sweeps/alphav.ini
"$bin/cbd-sweep" sweeps/alphav.ini >sweepv.out 2>&1 || { cat sweepv.out >&2; fail "the sweep with val failed"; }
sel=runv/sweeps/alphav.selection.md
[ -f "$sel" ] || { cat sweepv.out >&2; fail "no $sel"; }
[ -f runv/eval/val-alphav-1.json ] && [ -f runv/sweeps/alphav.val.csv ] || fail "the models were not evaluated on val"
python3 - "$sel" runv/sweeps/alphav.val.csv runv/sweeps/alphav.csv <<'EOF' || { cat "$sel" >&2; fail "the selection"; }
import sys, re
sel = open(sys.argv[1]).read()
val = [l.split(',') for l in open(sys.argv[2]).read().splitlines()[1:]]
test = {r[0]: r for r in (l.split(',') for l in open(sys.argv[3]).read().splitlines()[1:])}
best = max(val, key=lambda r: float(r[9]))  # the first of equal ones
first_best = next(r for r in val if float(r[9]) == float(best[9]))
assert re.search(r"chose alpha = %s \(%s\)" % (re.escape(first_best[2]), re.escape(first_best[0])), sel), sel
row = re.search(r"\| test \| reports (.*?) \|(.*)", sel)
assert row and row.group(1) == first_best[0], sel
all_test = row.group(2).split('|')[3].strip()
assert all_test == "%.1f" % (100 * float(test[first_best[0]][9])), (all_test, test[first_best[0]])
EOF
grep -q "chosen on validation" sweepv.out || fail "the selection was not printed"

# bad sweep files: exit 2, naming the file and line
expect_usage_error() { # FILE PATTERN
    local rc=0
    "$bin/cbd-sweep" --dry-run "$1" >bad.out 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || { cat bad.out >&2; fail "$1: exit $rc, not 2"; }
    grep -qE "$2" bad.out || { cat bad.out >&2; fail "$1: the message does not match '$2'"; }
}
printf '[sweep]\nbase = ../x.ini\n[grid]\ntrain.lr = 0.1, 0.2\n' >sweeps/train.ini
expect_usage_error sweeps/train.ini 'sweeps/train\.ini:4: .*train\.lr: only \[student\] keys'
printf '[sweep]\nbase = ../x.ini\n[grid]\nstudent.alpah = 0, 0.5\n' >sweeps/typo.ini
expect_usage_error sweeps/typo.ini 'sweeps/typo\.ini:4: .*student\.alpah: unknown key \(did you mean student\.alpha'
printf '[sweep]\nbase = ../x.ini\n[grid]\nstudent.alpha = 0, 2\n' >sweeps/range.ini
expect_usage_error sweeps/range.ini 'sweeps/range\.ini:4: .*value 2'
printf '[sweep]\nbase = ../x.ini\n[sweeps]\nstudent.alpha = 0\n' >sweeps/section.ini
expect_usage_error sweeps/section.ini 'sweeps/section\.ini:3: \[sweeps\]: unknown section'
echo "sweep: ok"
