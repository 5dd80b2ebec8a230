#!/usr/bin/env bash
# cbd-report end to end on small evaluation files: the mean ± sd of seeds, the
# CSV, well-formed SVG and its PNG, the sweep plot, a legend that wraps long
# labels instead of cutting them, and the exit codes of bad input.
# usage: test_report.sh CBD_REPORT WORK_DIR
set -euo pipefail

. "$(dirname "$0")/lib.sh"
test_args 2 "CBD_REPORT WORK_DIR" "$@"
report=$1
test_work "$2"

# run_report EXPECTED_STATUS ARGS...: keeps stdout/stderr in $work/out and
# $work/err, fails unless cbd-report exits with EXPECTED_STATUS.
run_report() {
    local expected=$1
    shift
    local status=0
    "$report" "$@" >"$work/out" 2>"$work/err" || status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        fail "cbd-report $* exited $status, expected $expected"
    fi
}

expect_in() {
    local file=$1 text=$2
    grep -qF -- "$text" "$file" || {
        cat "$file" >&2
        fail "'$text' not in $file"
    }
}

# An SVG must be well-formed XML.
check_svg() {
    [ -s "$1" ] || fail "$1 missing or empty"
    if command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$1" || fail "$1 is not well-formed XML"
    else
        head -c 4 "$1" | grep -q '^<svg' || fail "$1 does not start with <svg"
        tail -n 1 "$1" | grep -q '</svg>$' || fail "$1 does not end with </svg>"
    fi
}

# eval_json FILE NAME TOP1 TOP5 MANY MID FEW NCM_TOP1|none ACC0 ACC1 ACC2
# Three classes: 500 training images (many), 50 (mid), 5 (few).
eval_json() {
    local ncm=""
    if [ "$8" != none ]; then
        ncm="\"ncm\": {\"top1\": $8, \"many\": 0.5, \"mid\": 0.5, \"few\": 0.5, \"mean_class_accuracy\": 0.5},"
    fi
    cat >"$1" <<JSON
{
  "format": "cbd-eval",
  "format_version": 1,
  "name": "$2",
  "classes": 3,
  "thresholds": {"many": 100, "few": 20},
  "group_classes": {"many": 1, "mid": 1, "few": 1},
  "top1": $3, "top5": $4, "many": $5, "mid": $6, "few": $7,
  "mean_class_accuracy": $3,
  $ncm
  "per_class": [
    {"class": 0, "name": "cat & <dog>", "train_count": 500, "group": "many", "accuracy": $9},
    {"class": 1, "name": "bird", "train_count": 50, "group": "mid", "accuracy": ${10}},
    {"class": 2, "name": "fish", "train_count": 5, "group": "few", "accuracy": ${11}}
  ],
  "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
}
JSON
}

# Model A, two seeds: many 0.80 and 0.84 -> 82.0 ± 2.8 (sd = sqrt(0.0008) = 0.028284);
# mid 0.60, 0.64 -> 62.0 ± 2.8; few 0.30, 0.40 -> 35.0 ± 7.1 (sd 0.070711);
# all 0.70, 0.74 -> 72.0 ± 2.8; top-5 0.95, 0.99 -> 97.0 ± 2.8; NCM 0.66, 0.70 -> 68.0 ± 2.8.
eval_json "$work/a1.json" a_seed1 0.70 0.95 0.80 0.60 0.30 0.66 0.80 0.60 0.30
eval_json "$work/a2.json" a_seed2 0.74 0.99 0.84 0.64 0.40 0.70 0.84 0.64 0.40
# Model B, one seed, no NCM.
eval_json "$work/b1.json" b_seed1 0.50 0.90 0.60 0.45 0.25 none 0.60 0.45 0.25

run_report 0 --help
expect_in "$work/out" "usage: cbd-report"

out=$work/rep/sub/cmp
run_report 0 --out "$out" --title "A & B" "model A=$work/a1.json" "B (base)=$work/b1.json" \
    "model A=$work/a2.json"
md=$out.md
expect_in "$md" "# A & B"
expect_in "$md" "many-shot more than 100 (1 class), mid-shot 20 to 100 (1), few-shot fewer than 20 (1)"
expect_in "$md" "| model | seeds | many | mid | few | all | top-5 | NCM |"
expect_in "$md" "| model A | 2 | 82.0 ± 2.8 | 62.0 ± 2.8 | 35.0 ± 7.1 | 72.0 ± 2.8 | 97.0 ± 2.8 | 68.0 ± 2.8 |"
expect_in "$md" "| B (base) | 1 | 60.0 | 45.0 | 25.0 | 50.0 | 90.0 | – |"
expect_in "$md" "## Per class (top-1 %, mean over seeds)"
expect_in "$md" "| class (train images) | model A | B (base) |"
expect_in "$md" "| cat & <dog> (500) | 82.0 | 60.0 |"
expect_in "$md" "| fish (5) | 35.0 | 25.0 |"
# model A comes first (first appearance), and stdout holds the model table
sed -n '/^| model /,/^$/p' "$md" | sed -n 3p | grep -q '^| model A |' || fail "model A is not the first row"
expect_in "$work/out" "| model A | 2 | 82.0 ± 2.8 |"

csv=$out.csv
[ "$(head -n 1 "$csv")" = "model,seeds,x,many_mean,many_sd,mid_mean,mid_sd,few_mean,few_sd,all_mean,all_sd,top5_mean,top5_sd,ncm_mean,ncm_sd" ] ||
    fail "csv header: $(head -n 1 "$csv")"
expect_in "$csv" "model A,2,,0.820000,0.028284,0.620000,0.028284,0.350000,0.070711,0.720000,0.028284,0.970000,0.028284,0.680000,0.028284"
expect_in "$csv" "B (base),1,,0.600000,,0.450000,,0.250000,,0.500000,,0.900000,,,"
[ "$(wc -l <"$csv")" -eq 3 ] || fail "csv has $(wc -l <"$csv") lines, expected 3"

check_svg "$out.per_class.svg"
check_png "$out.per_class.png" 790 480
expect_in "$out.per_class.svg" "cat &amp; &lt;dog&gt;"
[ -e "$out.sweep.svg" ] && fail "a sweep plot without @X rows"
[ -e "$out.sweep.png" ] && fail "a sweep PNG without @X rows"
# a long label wraps onto a second legend line, whole
run_report 0 --out "$work/rep/long" "CBD + logit adjustment (tau 1)=$work/a1.json"
expect_in "$work/rep/long.per_class.svg" ">CBD + logit adjustment</text>"
expect_in "$work/rep/long.per_class.svg" ">(tau 1)</text>"
grep -q "…" "$work/rep/long.per_class.svg" && fail "the legend cut a label of two lines"
# many classes (iNaturalist has 8,142): the per-class plot draws bins of training count, not a point a class
/usr/bin/python3 - "$work/a1.json" "$work/many.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
one = j["per_class"][0]
j["classes"] = 500
j["per_class"] = [dict(one, **{"class": c, "name": "c%d" % c, "train_count": 2 + c * 3}) for c in range(500)]
j["confusion"] = None
json.dump(j, open(sys.argv[2], "w"))
EOF
run_report 0 --out "$work/rep/many" "A=$work/many.json"
markers=$(grep -c "<circle" "$work/rep/many.per_class.svg")
[ "$markers" -le 31 ] && [ "$markers" -ge 10 ] || fail "500 classes drew $markers markers, not one a bin (at most 30 + the legend's)"
expect_in "$work/rep/many.per_class.svg" "classes of"
expect_in "$work/rep/many.per_class.svg" "500 classes: each point the"
ls "$work/rep/sub" | grep -q '\.tmp' && fail "a temporary file was left behind"

# a class with no image in the split (a validation split without the head
# class): its accuracy is null, shown as not measured, and the plot leaves it out
eval_json "$work/nohead.json" nohead 0.70 0.95 null 0.60 0.30 none null 0.60 0.30
run_report 0 --out "$work/rep/nohead" --class "cat & <dog>" "A=$work/nohead.json" "B=$work/b1.json"
expect_in "$work/rep/nohead.md" "| cat & <dog> (500) | – | 60.0 |"
expect_in "$work/rep/nohead.md" "| A | 1 | – | 60.0 | 30.0 | 70.0 | 95.0 | – | – |"
grep -q "nan" "$work/rep/nohead.md" "$work/rep/nohead.csv" "$work/rep/nohead.per_class.svg" &&
    fail "a class without images printed as nan"
[ "$(grep -c "<circle" "$work/rep/nohead.per_class.svg")" -eq 7 ] ||
    fail "not 2 + 3 points and 2 legend markers: $(grep -c "<circle" "$work/rep/nohead.per_class.svg")"

# --class: a class's top-1 as a column, mean ± sd over seeds (fish: 0.30, 0.40 -> 35.0 ± 7.1)
cls=$work/rep/classes
run_report 0 --out "$cls" --class fish --class bird "model A=$work/a1.json" "model A=$work/a2.json" "B=$work/b1.json"
expect_in "$cls.md" "| model | seeds | many | mid | few | all | top-5 | NCM | fish (5) | bird (50) |"
expect_in "$cls.md" "| 97.0 ± 2.8 | 68.0 ± 2.8 | 35.0 ± 7.1 | 62.0 ± 2.8 |"
expect_in "$work/out" "| fish (5) | bird (50) |"
expect_in "$cls.csv" "ncm_mean,ncm_sd,class2_mean,class2_sd,class1_mean,class1_sd"
expect_in "$cls.csv" "B,1,,0.600000,,0.450000,,0.250000,,0.500000,,0.900000,,,,0.250000,,0.450000,"
run_report 2 --out "$work/rep/bad" --class shark "A=$work/a1.json"
expect_in "$work/err" "--class shark: $work/a1.json has no such class (its classes: cat & <dog>, bird, fish)"
[ -e "$work/rep/bad.md" ] && fail "a refused report wrote its Markdown"

# A sweep: X on every row.
sweep=$work/rep/sweep
run_report 0 --out "$sweep" --x-name "K teachers" "k1@1=$work/a1.json" "k1@1=$work/a2.json" "k4@4=$work/b1.json"
check_svg "$sweep.sweep.svg"
check_png "$sweep.sweep.png" 790 480
check_svg "$sweep.per_class.svg"
expect_in "$sweep.sweep.svg" "K teachers"
expect_in "$sweep.csv" "k4,1,4,0.600000,"
expect_in "$sweep.md" "| model | K teachers | seeds |"

# Bad input: exit 1, the file named.
bad=$work/bad.json
printf '{"name": "x", "top1": 0.5,, }\n' >"$bad"
run_report 1 --out "$work/rep/bad" "A=$bad"
expect_in "$work/err" "$bad: malformed JSON: line 1"
[ -e "$work/rep/bad.md" ] && fail "a refused report wrote its Markdown"
printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' >"$bad"
run_report 1 --out "$work/rep/bad" "A=$bad"
expect_in "$work/err" "nested deeper than"
run_report 1 --out "$work/rep/bad" "A=$work/missing.json"
expect_in "$work/err" "$work/missing.json: cannot open"
sed 's/"top5"/"top_5"/' "$work/a1.json" >"$bad"
run_report 1 --out "$work/rep/bad" "A=$bad"
expect_in "$work/err" "$bad: line 1: missing key \"top5\""
sed 's/"few": 20/"few": 10/' "$work/a1.json" >"$bad"
run_report 1 --out "$work/rep/bad" "A=$work/a1.json" "B=$bad"
expect_in "$work/err" "$bad: thresholds"
expect_in "$work/err" "$work/a1.json"
grep -v '"fish"' "$work/a1.json" | sed 's/"class": 1, \(.*\)},$/"class": 1, \1}/' >"$bad"
run_report 1 --out "$work/rep/bad" "A=$work/a1.json" "B=$bad"
expect_in "$work/err" "$bad: per_class has 2 classes"

# A set with no many-shot class: cbd-evaluate writes "many": null; the report says "not measured".
sed 's/"many": 0.80,/"many": null,/; s/"many": 0.5,/"many": null,/' "$work/a1.json" >"$work/nomany.json"
grep -q '"many": null' "$work/nomany.json" || fail "the no-many-shot fixture was not made"
run_report 0 --out "$work/rep/nomany" "C=$work/nomany.json"
expect_in "$work/rep/nomany.md" "| C | 1 | – | 60.0 | 30.0 | 70.0 | 95.0 | 66.0 |"
run_report 0 --out "$work/rep/nomany_sweep" --x-name alpha "S1@1=$work/nomany.json" "S2@2=$work/a2.json"
sweep_svg=$work/rep/nomany_sweep.sweep.svg
[ -f "$sweep_svg" ] || fail "no $sweep_svg"
if grep -qi "nan" "$sweep_svg" || grep -q "(alpha = 1): many" "$sweep_svg"; then
    fail "$sweep_svg draws the many-shot group at alpha = 1, which has no many-shot class"
fi
grep -q "(alpha = 2): many 84.0%" "$sweep_svg" || fail "$sweep_svg lost the many-shot point at alpha = 2"

# Bad usage: exit 2.
run_report 2 --out "$work/rep/bad" "A$work/a1.json"
expect_in "$work/err" "has no '='"
run_report 2 --out "$work/rep/bad" "A@1=$work/a1.json" "B=$work/b1.json"
run_report 2 --out "$work/rep/bad" "A@one=$work/a1.json"
run_report 2 --out "$work/rep/bad" "=$work/a1.json"
run_report 2 --out "$work/rep/bad" "A;B=$work/a1.json"
run_report 2 "A=$work/a1.json"
run_report 2 --out "$work/rep/bad"
run_report 2 --frobnicate --out "$work/rep/bad" "A=$work/a1.json"
[ -e "$work/rep/bad.md" ] && fail "a refused report wrote its Markdown"

rm -rf "$work"
echo "report: ok"
