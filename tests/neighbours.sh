#!/usr/bin/env bash
# cbd-evaluate --neighbours and cbd-contact-sheet on a small synthetic set:
# the queries are the first 2 test images of the 5 classes with the fewest
# training images; asked about the training set itself, every query's
# nearest training image is the image itself (cosine 1); neighbours come
# in order of cosine; the sheet is a PNG of the size its layout gives; and
# the refusals (K out of range, an ensemble, files of other K or data).
# usage: neighbours.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"
cd "$work"
synthetic data 4 --classes 7 --test-per-class 3
ini_head x.ini run 2 20 "test = data/test.txt"
cat >>x.ini <<INI
[train]
epochs = 1
batch_size = 16
lr = 0.05
[teacher.t1]
[teacher.t2]
seed = 2
INI
for t in t1 t2; do "$bin/cbd-train-teacher" --config x.ini --teacher $t --quiet; done
ev() { "$bin/cbd-evaluate" --config x.ini --quiet "$@" >/dev/null; }
ev --model run/teachers/t1.ckpt.h5 --neighbours 4
ev --model run/teachers/t2.ckpt.h5 --neighbours 4
csv=run/eval/t1.neighbours.csv
[ "$(head -1 $csv)" = "query_index,query_class,rank,train_index,train_class,cosine" ] || fail "header: $(head -1 $csv)"
[ "$(($(wc -l <$csv) - 1))" -eq 40 ] || fail "$csv: $(($(wc -l <$csv) - 1)) rows, expected 5 classes x 2 queries x 4"
# the 5 classes of fewest training images (make-synthetic: counts fall with the class index)
[ "$(tail -n +2 $csv | cut -d, -f2 | sort -un | tr '\n' ' ')" = "2 3 4 5 6 " ] ||
    fail "the queries' classes are $(tail -n +2 $csv | cut -d, -f2 | sort -un | tr '\n' ' '), expected 2 3 4 5 6"
awk -F, 'NR > 1 { if ($3 > 1 && $6 > prev + 1e-9) bad = 1; if ($6 > 1.000001) bad = 1; prev = $6 } END { exit bad }' $csv ||
    fail "$csv: neighbours not in order of cosine, or a cosine above 1"

# the training set as the split: each query's nearest image is itself
ev --model run/teachers/t1.ckpt.h5 --neighbours 2 --name self --set data.test=data/train.txt
awk -F, 'NR > 1 && $3 == 1 { n++; if ($1 != $4 || $6 < 0.99999) bad = 1 } END { exit bad || n != 10 }' run/eval/self.neighbours.csv ||
    fail "asked about training images, the nearest is not the image itself: $(head -4 run/eval/self.neighbours.csv)"

expect_exit 0 "the sheet" "$bin/cbd-contact-sheet" --config x.ini --out sheet.png A=run/eval/t1.neighbours.csv \
    B=run/eval/t2.neighbours.csv
# width 150 + 56 + 18 + 2 x (4 x 62 - 6 + 18); height 44 + 10 x 76 + 30
check_png sheet.png 744 834
grep -q "A .* of 40" "$work/out" || fail "the same-class share is not printed: $(cat "$work/out")"

expect_exit 2 "--neighbours 0" "$bin/cbd-evaluate" --config x.ini --model run/teachers/t1.ckpt.h5 --neighbours 0
expect_message "--neighbours 0" "expected a whole number from 1 to 64"
expect_exit 2 "an ensemble" "$bin/cbd-evaluate" --config x.ini --model run/teachers/t1.ckpt.h5 \
    --model run/teachers/t2.ckpt.h5 --neighbours 3
expect_message "an ensemble" "--neighbours needs one model"
ev --model run/teachers/t2.ckpt.h5 --neighbours 3 --name k3
expect_exit 2 "other K" "$bin/cbd-contact-sheet" --config x.ini --out bad.png A=run/eval/t1.neighbours.csv \
    B=run/eval/k3.neighbours.csv
expect_message "other K" "same --neighbours K"
expect_exit 2 "other data" "$bin/cbd-contact-sheet" --config x.ini --out bad.png A=run/eval/self.neighbours.csv
expect_message "other data" "belongs to another experiment"
[ ! -e bad.png ] || fail "a refused sheet was written"
echo "neighbours: ok"
