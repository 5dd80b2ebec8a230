#!/usr/bin/env bash
# cbd-curves on small metrics files: a figure per run and one comparing them,
# each as SVG and PNG, the distillation terms only where a run has them,
# validation accuracy only where measured; bad input named with its line.
# usage: curves.sh CBD_CURVES WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 2 "CBD_CURVES WORK_DIR" "$@"
curves=$1
test_work "$2"
cd "$work"

header="epoch,step,lr,loss,ce,distill,cos_to_target,train_acc,val_acc,val_mean_class_acc,images_per_s,load_wait_s,seconds"
{ echo "$header"
  echo "1,10,0.05,14.7,3.16,32.0,0.68,0.13,0.15,0.15,300,0.0,2.0"
  echo "2,20,0.03,8.16,2.34,16.9,0.83,0.22,0.20,0.20,300,0.0,2.0"
  echo "3,30,0.00,6.00,2.00,12.0,0.88,0.30,0.31,0.31,300,0.0,2.0"; } >student.csv
{ echo "$header"
  echo "1,10,0.05,2.20,2.20,0.0,nan,0.37,nan,nan,350,0.0,1.7"
  echo "2,20,0.03,1.00,1.00,0.0,nan,0.70,nan,nan,350,0.0,1.7"; } >teacher.csv

expect_exit 0 "two runs" "$curves" --out figs --title "A & B" student=student.csv t1=teacher.csv
for f in student t1 all; do
    [ -s "figs/$f.svg" ] || fail "no figs/$f.svg"
    tail -n 1 "figs/$f.svg" | grep -q '</svg>$' || fail "figs/$f.svg does not end with </svg>"
done
check_png figs/student.png 790 900
check_png figs/t1.png 790 900
check_png figs/all.png 790 600
grep -q ">distillation term</text>" figs/student.svg || fail "the student's figure has no distillation term"
grep -q ">distillation term</text>" figs/t1.svg && fail "a teacher without distillation shows a distillation term"
grep -q ">validation</text>" figs/student.svg || fail "no validation curve where it was measured"
grep -q ">validation</text>" figs/t1.svg && fail "a validation curve where none was measured"
grep -q "student, epoch 2: loss 8.16" figs/student.svg || fail "the student's epoch-2 loss point is missing"
grep -q ">A &amp; B: student</text>" figs/student.svg || fail "the run's title is missing"
grep -q ">validation accuracy</text>" figs/all.svg || fail "the comparison does not show validation accuracy"
[ -z "$(leftover_temporaries figs)" ] || fail "temporary files left: $(leftover_temporaries figs)"

# bad input
{ echo "$header"; echo "1,10,0.05,oops,3,3,0,0,0,0,0,0,0"; } >bad.csv
expect_exit 1 "a cell that is no number" "$curves" --out bad student=bad.csv
expect_message "a cell that is no number" "bad.csv:2: column loss: 'oops' is not a number"
{ echo "$header"; echo "1,10"; } >short.csv
expect_exit 1 "a short row" "$curves" --out bad student=short.csv
expect_message "a short row" "short.csv:2: 2 fields, the header has 13"
echo "$header" >empty.csv
expect_exit 1 "no epoch yet" "$curves" --out bad student=empty.csv
expect_message "no epoch yet" "no epoch finished yet"
expect_exit 1 "a missing file" "$curves" --out bad student=nothere.csv
expect_message "a missing file" "nothere.csv: cannot open"
expect_exit 2 "a name with a slash" "$curves" --out bad "a/b=student.csv"
expect_exit 2 "the name all" "$curves" --out bad "all=student.csv"
expect_exit 2 "no --out" "$curves" student=student.csv
[ ! -e bad ] || fail "refused runs made the output folder"
echo "curves: ok"
