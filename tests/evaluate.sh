#!/usr/bin/env bash
# cbd-evaluate end to end on a small synthetic set: trains a teacher for one
# epoch, evaluates it (with NCM) and checks the outputs: the JSON parses and
# counts the test images, the per-class CSV has a row per class with the
# group its training count gives, the Markdown report and the confusion
# matrix exist and agree. Also: --split val, and the refusals (a missing
# checkpoint, an unset split, a bad --set key, a bad --name).
# usage: evaluate.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"

synthetic "$work/data" 4 --test-per-class 4

ini_head "$work/x.ini" "$work/run" 2 20 "val = data/val.txt" "test = data/test.txt" "class_names = data/classes.txt"
cat >>"$work/x.ini" <<INI
[train]
epochs = 1
batch_size = 16
lr = 0.05
[teacher.t1]
[eval]
many_threshold = 20
few_threshold = 5
batch_size = 7
INI

"$bin/cbd-train-teacher" --config "$work/x.ini" --teacher t1 --quiet
ckpt=$work/run/teachers/t1.ckpt.h5
[ -f "$ckpt" ] || fail "no teacher checkpoint $ckpt"

# the test split, with NCM
status=0
"$bin/cbd-evaluate" --config "$work/x.ini" --model "$ckpt" --ncm --quiet >"$work/out" 2>"$work/err" || status=$?
[ "$status" -eq 0 ] || fail "cbd-evaluate exited $status: $(cat "$work/err")"
eval_dir=$work/run/eval
for f in t1.json t1.csv t1.md t1.confusion.csv; do
    [ -s "$eval_dir/$f" ] || fail "missing or empty $eval_dir/$f"
done
ls "$eval_dir" | grep -q '\.tmp\.' && fail "a temporary file is left in $eval_dir" || true
python3 -m json.tool "$eval_dir/t1.json" >/dev/null || fail "t1.json does not parse"
grep -q '^| model | many | mid | few | all | top-5 | NCM |$' "$work/out" ||
    fail "no summary table on stdout: $(cat "$work/out")"
grep -q '^| t1 | ' "$work/out" || fail "no row for t1 on stdout"
grep -q '^| t1 | ' "$eval_dir/t1.md" && grep -q '^## Per class' "$eval_dir/t1.md" ||
    fail "t1.md lacks the summary or per-class table"

# JSON content: images, classes, thresholds, groups from counts.csv, sums
python3 - "$eval_dir/t1.json" "$work/data/counts.csv" "$eval_dir/t1.csv" "$eval_dir/t1.confusion.csv" <<'PY' ||
import csv, json, math, sys
j = json.load(open(sys.argv[1]))
counts = {int(r["class"]): int(r["count"]) for r in csv.DictReader(open(sys.argv[2]))}
rows = list(csv.DictReader(open(sys.argv[3])))
conf = list(csv.reader(open(sys.argv[4])))
def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)
check(j["split"] == "test", "split %r" % j["split"])
check(j["images"] == 20, "images %r, expected 20" % j["images"])
check(j["classes"] == 5 and len(j["per_class"]) == 5, "classes %r" % j["classes"])
check(j["thresholds"] == {"many": 20, "few": 5}, "thresholds %r" % j["thresholds"])
check(j["top_k"] == 5 and 0 <= j["top1"] <= j["top5"] <= 1, "top1 %r top5 %r" % (j["top1"], j["top5"]))
check(j["ncm"] is not None and 0 <= j["ncm"]["top1"] <= 1, "ncm %r" % j["ncm"])
check(j["ncm"]["train_images"] == sum(counts.values()), "NCM means from %r training images" % j["ncm"]["train_images"])
check(len(rows) == 5, "t1.csv has %d class rows" % len(rows))
def group(n):
    return "many" if n > 20 else "few" if n < 5 else "mid"
want_groups = {"many": 0, "mid": 0, "few": 0}
for c, n in counts.items():
    want_groups[group(n)] += 1
check(j["group_classes"] == want_groups, "group classes %r, expected %r" % (j["group_classes"], want_groups))
acc = {"many": [], "mid": [], "few": []}
for r, p in zip(rows, j["per_class"]):
    c = int(r["class"])
    check(int(r["train_count"]) == counts[c] == p["train_count"], "class %d train count" % c)
    check(r["group"] == group(counts[c]) == p["group"], "class %d (%d images) is %s" % (c, counts[c], r["group"]))
    check(int(r["test_count"]) == 4 == p["test_count"], "class %d test count %s" % (c, r["test_count"]))
    check(int(r["correct"]) == p["correct"] and abs(float(r["accuracy"]) - p["correct"] / 4) < 1e-6,
          "class %d accuracy" % c)
    acc[r["group"]].append(p["correct"] / 4)
for g, a in acc.items():
    want = sum(a) / len(a) if a else None
    check((j[g] is None and want is None) or abs(j[g] - want) < 1e-9, "%s %r, expected %r" % (g, j[g], want))
check(abs(j["mean_class_accuracy"] - sum(p["correct"] for p in j["per_class"]) / 20) < 1e-9, "mean class accuracy")
check(abs(j["top1"] - sum(p["correct"] for p in j["per_class"]) / 20) < 1e-9, "top1 against per-class hits")
# the confusion matrix: rows sum to the test counts, the diagonal to the hits
check(len(conf) == 6 and conf[0] == ["true", "0", "1", "2", "3", "4"], "confusion header %r" % conf[:1])
for y in range(5):
    cells = [int(v) for v in conf[y + 1][1:]]
    check(sum(cells) == 4 and cells[y] == j["per_class"][y]["correct"], "confusion row %d %r" % (y, cells))
    check(j["confusion"][y] == cells, "JSON and CSV confusion row %d" % y)
PY
    fail "JSON / CSV content"

# counts of this set: 30 17 9 5 3 -> many, mid, mid, mid (5 = few_threshold), few
[ "$(cut -d, -f4 "$eval_dir/t1.csv" | tail -n +2 | tr '\n' ' ')" = "many mid mid mid few " ] ||
    fail "groups $(cut -d, -f4 "$eval_dir/t1.csv" | tail -n +2 | tr '\n' ' ')"

# --split val, another name, without NCM
"$bin/cbd-evaluate" --config "$work/x.ini" --model "$ckpt" --split val --name t1_val --quiet >"$work/out" ||
    fail "--split val failed"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["split"]=="val" and j["images"]==10 and j["ncm"] is None, j' \
    "$eval_dir/t1_val.json" || fail "t1_val.json: wrong split, image count or ncm"
grep -q '| model | many | mid | few | all | top-5 |$' "$work/out" || fail "val summary table: $(cat "$work/out")"

# the same run twice gives the same report
cp "$eval_dir/t1_val.json" "$work/first.json"
"$bin/cbd-evaluate" --config "$work/x.ini" --model "$ckpt" --split val --name t1_val --quiet \
    --set data.workers=0 >/dev/null
cmp -s "$work/first.json" "$eval_dir/t1_val.json" || fail "a second evaluation (0 workers) differs"

# refusals: exit 2 and a message naming the problem
expect_usage() { # expect_usage WHAT PATTERN ARGS...
    local what=$1 pattern=$2 status=0
    shift 2
    "$bin/cbd-evaluate" "$@" >/dev/null 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "$what: exit $status, expected 2: $(cat "$work/err")"
    grep -q -- "$pattern" "$work/err" || fail "$what: the message does not name $pattern: $(cat "$work/err")"
}
expect_usage "missing checkpoint" "nope.ckpt.h5" --config "$work/x.ini" --model "$work/run/nope.ckpt.h5"
expect_usage "bad key" "batch_sise" --config "$work/x.ini" --model "$ckpt" --set eval.batch_sise=4
expect_usage "unset split" "\[data\] test" --config "$work/x.ini" --model "$ckpt" --set data.test=
expect_usage "bad split" "train" --config "$work/x.ini" --model "$ckpt" --split train
expect_usage "bad name" "a/b" --config "$work/x.ini" --model "$ckpt" --name a/b
expect_usage "no model" "usage" --config "$work/x.ini"
printf 'not a checkpoint\n' >"$work/bad.ckpt.h5"
expect_usage "not a checkpoint" "bad.ckpt.h5" --config "$work/x.ini" --model "$work/bad.ckpt.h5"
"$bin/cbd-evaluate" --help | grep -q -- "--ncm" || fail "--help does not list --ncm"
echo "evaluate: ok"
