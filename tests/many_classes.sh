#!/usr/bin/env bash
# The stages at iNaturalist 2018's class count, C = 8,142, on a small set
# (20 classes of 101 training images, 200 of 21, 7,922 of one; a test image
# a class; the pictures are a few synthetic JPEGs used again and again):
# a one-epoch teacher, its dump, an evaluation with NCM and a report. Checks
# every per-class structure at that C: the store holds no logits under the
# default [features] logits = auto (and a logit-distilling student is refused,
# saying why); the evaluation's JSON, CSV and Markdown have a row a class,
# the many/medium/few groups come from the training counts, the confusion
# matrix is written as its nonzero cells (no 66M-cell array); the report's
# per-class plot draws bins, not 8,142 points.
# usage: many_classes.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"

C=8142
"$bin/make-synthetic" --out "$work/pictures" --classes 4 --n-max 4 --imbalance 1 --size 16 --val-per-class 1 \
    --test-per-class 1 --seed 3 >/dev/null 2>&1 || fail "make-synthetic failed"
mapfile -t files < <(awk '!/^#/ && NF == 2 {print $1}' "$work/pictures/train.txt")
[ "${#files[@]}" -ge 8 ] || fail "make-synthetic made ${#files[@]} pictures, expected 16"
# a manifest lists a path once: each row is a link of its own to one of the pictures
/usr/bin/python3 - "$work" "$C" "${files[@]}" <<'PY' || fail "could not write the manifests"
import os, sys
work, C, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
os.makedirs(work + "/data/links")
with open(work + "/data/train.txt", "w") as train, open(work + "/data/test.txt", "w") as test:
    for c in range(C):
        k = 101 if c < 20 else 21 if c < 220 else 1
        for i in range(k + 1):
            link = "%s/data/links/%d_%d.jpg" % (work, c, i)
            os.symlink(os.path.join(work, "pictures", files[(c * 7 + i) % len(files)]), link)
            (train if i < k else test).write("%s %d\n" % (link, c))
PY
n_train=$(wc -l <"$work/data/train.txt")
[ "$n_train" -eq $((20 * 101 + 200 * 21 + 7922)) ] || fail "train manifest has $n_train rows"

ini_head "$work/x.ini" "$work/run" 1 16 "test = data/test.txt"
cat >>"$work/x.ini" <<INI
[train]
epochs = 1
batch_size = 128
lr = 0.05
[features]
views = 1
[teacher.t1]
[student]
distill = logit
[eval]
many_threshold = 100
few_threshold = 20
INI

"$bin/cbd-train-teacher" --config "$work/x.ini" --teacher t1 --quiet || fail "the teacher at C = $C failed"
"$bin/cbd-dump-features" --config "$work/x.ini" --teacher t1 --quiet || fail "the dump at C = $C failed"
store=$work/run/features/t1.h5
"$bin/h5inspect" "$store" >"$work/inspect" 2>&1 || fail "h5inspect $store failed: $(head -5 "$work/inspect")"
grep -Eq "^ *logits +no" "$work/inspect" || fail "logits = auto stored the logits of $C classes: $(grep -i logits "$work/inspect")"
grep -q "\[$C, " "$work/inspect" && fail "a dataset of the store has $C columns: $(grep "\[$C, " "$work/inspect")"
expect_exit 2 "a logit-distilling student, no logits stored" "$bin/cbd-train-student" --config "$work/x.ini" --quiet
expect_message "the refused student" "has no logits"
expect_message "the refused student" "up to 1000 classes"

expect_exit 0 "cbd-evaluate --ncm at C = $C" "$bin/cbd-evaluate" --config "$work/x.ini" --model "$work/run/teachers/t1.ckpt.h5" \
    --ncm --quiet
eval_dir=$work/run/eval
/usr/bin/python3 - "$eval_dir" "$C" <<'PY' || fail "the evaluation at C = $C is wrong (above)"
import csv, json, os, sys
d, C = sys.argv[1], int(sys.argv[2])
j = json.load(open(os.path.join(d, "t1.json")))
def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)
check(j["classes"] == C and len(j["per_class"]) == C, "classes %r, %d per-class rows" % (j["classes"], len(j["per_class"])))
check(j["images"] == C, "images %r" % j["images"])
groups = {}
for r in j["per_class"]:
    groups[r["group"]] = groups.get(r["group"], 0) + 1
want = {"many": 20, "mid": 200, "few": C - 220}
check(groups == want and j["group_classes"] == want, "groups %r / %r" % (groups, j["group_classes"]))
check(j["ncm"] is not None and 0 <= j["ncm"]["top1"] <= 1, "ncm %r" % j["ncm"])
conf = j.get("confusion")
check(not isinstance(conf, list) or len(conf) < C, "the confusion matrix is a %d-row JSON array" % len(conf or []))
rows = list(csv.DictReader(open(os.path.join(d, "t1.csv"))))
check(len(rows) == C, "t1.csv has %d rows" % len(rows))
md = open(os.path.join(d, "t1.md")).read()
check(md.count("\n| ") >= C, "t1.md has fewer than a row a class")
size = os.path.getsize(os.path.join(d, "t1.confusion.csv"))
check(size < 4 * 1024 * 1024, "t1.confusion.csv is %d bytes: the dense matrix?" % size)
head = open(os.path.join(d, "t1.confusion.csv")).readline()
check(head.count(",") < 10, "t1.confusion.csv starts with a %d-column row" % (head.count(",") + 1))
PY

"$bin/cbd-report" --out "$work/rep/many" "teacher=$eval_dir/t1.json" >"$work/out" 2>"$work/err" ||
    fail "cbd-report at C = $C failed: $(head -5 "$work/err")"
markers=$(grep -c "<circle" "$work/rep/many.per_class.svg" || true)
[ "$markers" -le 31 ] && [ "$markers" -ge 2 ] || fail "the per-class plot of $C classes drew $markers markers, not one a bin"
[ -s "$work/rep/many.per_class.png" ] || fail "no per-class PNG"
echo "many classes: ok"
