#!/usr/bin/env bash
# The data tools end to end: make-synthetic (counts, groups, no rewrite when
# up to date, refusals, byte-identical reruns), pack-images (identical reruns,
# bad images under fail and skip), make-lt on a packed store and on a manifest
# (counts against the formula, the same selection for both, determinism;
# --class-order: counts and ranks of an explicit order, random:SEED
# reproducible, a class keeping the same images whatever its rank, refusals),
# import-idx on a tiny IDX pair written here, and the exit codes for bad usage
# and bad input.
# usage: data_tools.sh BIN_DIR WORK_DIR
set -euo pipefail

. "$(dirname "$0")/lib.sh"
test_args 2 "BIN_DIR WORK_DIR" "$@"
test_begin "$@"
py=python3

# run EXPECTED_STATUS TOOL ARGS...: stdout/stderr kept in $work/out, $work/err.
run() {
    local expected=$1 tool=$2
    shift 2
    local status=0
    "$bin/$tool" "$@" >"$work/out" 2>"$work/err" || status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        fail "$tool $* exited $status, expected $expected"
    fi
}

expect_in() {
    local file=$1 text=$2
    grep -qF -- "$text" "$work/$file" || {
        cat "$work/$file" >&2
        fail "'$text' not in $file of the last command"
    }
}

no_leftovers() {
    if find "$1" -name '*.partial' -o -name '*.tmp.*' | grep -q .; then
        fail "temporary files left in $1: $(find "$1" -name '*.partial' -o -name '*.tmp.*')"
    fi
}

entries() { grep -cv '^#' "$1"; }

# digest_of: the digest a tool logged in its last line.
digest_of() { sed -n 's/.*digest \([0-9a-f]\{16\}\).*/\1/p' "$work/err" | tail -1; }

# ---- usage -------------------------------------------------------------------
for tool in make-synthetic pack-images make-lt import-idx; do
    run 0 "$tool" --help
    expect_in out "usage: $tool"
    run 2 "$tool" --no-such-option 1
    expect_in err "cbd: error: unknown option '--no-such-option'"
done
run 2 make-synthetic --classes 4
expect_in err "--out DIR is required"
run 2 make-synthetic --out "$work/x" --channels 2
run 2 make-synthetic --out "$work/x" --imbalance zero
expect_in err "--imbalance: expected a number, got 'zero'"
run 2 pack-images --manifest m.txt --channels 3 --out store.txt
expect_in err "a store's name ends in .h5"
run 2 make-lt --in a.txt --out b.h5 --profile exp --imbalance 10 --n-max 5 --seed 1
expect_in err "--out must be of the same kind as --in"
run 2 make-lt --in a.txt --out b.txt --profile zipf --imbalance 10 --n-max 5 --seed 1
expect_in err "--profile: expected 'exp' or 'pareto'"
run 2 import-idx --images a --out b.h5
expect_in err "--images, --labels and --out are required"

# ---- make-synthetic ----------------------------------------------------------
syn=$work/syn
run 0 make-synthetic --out "$syn"
for f in train.txt val.txt test.txt classes.txt counts.csv .complete images/train/c00/00000.jpg \
         images/test/c19/00019.jpg; do
    [ -f "$syn/$f" ] || fail "make-synthetic did not write $f"
done
no_leftovers "$syn"
[ -f "$syn/.in-progress" ] && fail "make-synthetic left its in-progress marker"
[ "$(entries "$syn/val.txt")" -eq 200 ] || fail "val.txt has $(entries "$syn/val.txt") entries, expected 200"
[ "$(entries "$syn/test.txt")" -eq 400 ] || fail "test.txt has $(entries "$syn/test.txt") entries"
[ "$(head -2 "$syn/classes.txt" | tr '\n' ' ')" = "class00 class01 " ] || fail "classes.txt: $(head -2 "$syn/classes.txt")"
$py - "$syn" <<'EOF' || fail "make-synthetic counts"
import math, sys, collections
d = sys.argv[1]
rows = [l.strip().split(',') for l in open(d + '/counts.csv')]
assert rows[0] == ['class', 'name', 'count'], rows[0]
counts = [int(r[2]) for r in rows[1:]]
expected = [max(1, math.floor(100 * 25 ** (-c / 19) + 0.5)) for c in range(20)]
assert counts == expected, (counts, expected)
train = collections.Counter(int(l.split()[1]) for l in open(d + '/train.txt') if not l.startswith('#'))
assert [train[c] for c in range(20)] == counts, train
many = sum(n > 50 for n in counts); few = sum(n < 15 for n in counts)
assert many >= 2 and few >= 2 and 20 - many - few >= 2, (many, few)
EOF
inode_before=$(stat -c %i "$syn/train.txt" "$syn/images/train/c03/00002.jpg" | tr '\n' ' ')
run 0 make-synthetic --out "$syn"
expect_in err "up to date"
inode_after=$(stat -c %i "$syn/train.txt" "$syn/images/train/c03/00002.jpg" | tr '\n' ' ')
[ "$inode_before" = "$inode_after" ] || fail "an up-to-date set was rewritten"
run 2 make-synthetic --out "$syn" --seed 2
expect_in err "other parameters"
run 0 make-synthetic --out "$work/syn_again"
diff -r "$syn" "$work/syn_again" >/dev/null || fail "make-synthetic is not byte-identical for one seed"

small=$work/small
run 0 make-synthetic --out "$small" --classes 4 --n-max 12 --imbalance 4 --size 16 --channels 1 \
    --val-per-class 2 --test-per-class 3
[ "$(entries "$small/train.txt")" -eq $((12 + 8 + 5 + 3)) ] || fail "small set: $(entries "$small/train.txt") train entries"
run 0 make-synthetic --out "$small" --classes 3 --n-max 5 --imbalance 2 --size 8 --channels 1 \
    --val-per-class 1 --test-per-class 1 --force
[ -d "$small/images/train/c03" ] && fail "--force kept the images of the replaced set"
grep -q "classes=3" "$small/.complete" || fail "marker after --force: $(cat "$small/.complete")"
# --train-counts: another set's shape (make-synthetic's own counts.csv read back gives the same set)
printf 'class,name,count\n0,head,7\n1,mid,3\n2,tail,1\n' >"$work/counts_in.csv"
run 0 make-synthetic --out "$work/shaped" --train-counts "$work/counts_in.csv" --size 8 --val-per-class 1 \
    --test-per-class 1
[ "$(cut -d, -f3 "$work/shaped/counts.csv" | tr '\n' ' ')" = "count 7 3 1 " ] ||
    fail "--train-counts: counts.csv is $(tr '\n' ' ' <"$work/shaped/counts.csv")"
[ "$(entries "$work/shaped/train.txt")" -eq 11 ] || fail "--train-counts: $(entries "$work/shaped/train.txt") train entries"
run 0 make-synthetic --out "$work/shaped_again" --train-counts "$small/counts.csv" --size 8 --channels 1 \
    --val-per-class 1 --test-per-class 1
diff -r "$small/images" "$work/shaped_again/images" >/dev/null ||
    fail "a set made from another's counts.csv differs from it"
printf '0,a,4\n2,b,2\n' >"$work/counts_gap.csv"
run 2 make-synthetic --out "$work/x" --train-counts "$work/counts_gap.csv"
expect_in err "counts_gap.csv:2: class 2 where class 1 was due"
printf '0,a,4\n1,b,none\n' >"$work/counts_bad.csv"
run 2 make-synthetic --out "$work/x" --train-counts "$work/counts_bad.csv"
expect_in err "counts_bad.csv:2: count 'none'"
run 2 make-synthetic --out "$work/x" --train-counts "$work/counts_in.csv" --imbalance 4
expect_in err "--imbalance and --train-counts both set the train counts"
run 2 make-synthetic --out "$work/x" --train-counts "$work/counts_in.csv" --classes 4
expect_in err "--classes 4 but"
run 2 make-synthetic --out "$work/x" --train-counts "$work/no_such.csv"
expect_in err "no_such.csv: No such file"
mkdir -p "$work/foreign" && echo hello >"$work/foreign/notes.txt"
run 2 make-synthetic --out "$work/foreign"
expect_in err "not empty and holds no synthetic set"

# ---- pack-images -------------------------------------------------------------
run 0 pack-images --manifest "$syn/train.txt" --channels 3 --out "$work/train.h5"
expect_in err "621 images (0 skipped) of 32x32x3"
manifest_digest=$(digest_of)
run 0 pack-images --manifest "$syn/train.txt" --channels 3 --out "$work/train_again.h5" --threads 1
cmp -s "$work/train.h5" "$work/train_again.h5" || fail "pack-images is not byte-identical (1 vs 2 threads)"
run 0 pack-images --manifest "$syn/val.txt" --channels 1 --resize 20 --size 16x12 --out "$work/val_gray.h5" \
    --class-names "$syn/classes.txt"
expect_in err "200 images (0 skipped) of 16x12x1"
run 0 pack-images --manifest "$syn/test.txt" --channels 3 --size 24 --out "$work/test24.h5"
expect_in err "24x24x3"
no_leftovers "$work"

mkdir -p "$work/bad"
printf 'not a jpeg\n' >"$work/bad/broken.jpg"
printf 'images/train/c00/00000.jpg 0\n%s/bad/broken.jpg 1\nimages/train/c01/00000.jpg 1\n' "$work" >"$work/bad/list.txt"
run 2 pack-images --manifest "$work/bad/list.txt" --image-root "$syn" --channels 3 --out "$work/bad/out.h5"
expect_in err "list.txt:2: $work/bad/broken.jpg: not a JPEG file"
[ -e "$work/bad/out.h5" ] && fail "a failed pack left its output"
no_leftovers "$work/bad"
run 0 pack-images --manifest "$work/bad/list.txt" --image-root "$syn" --channels 3 --out "$work/bad/out.h5" \
    --on-bad-image skip
expect_in err "list.txt:2: skipped"
expect_in err "2 images (1 skipped)"
printf 'images/train/c00/00000.jpg 0\n' >"$work/bad/wrong_root.txt"
run 2 pack-images --manifest "$work/bad/wrong_root.txt" --channels 3 --out "$work/bad/none.h5"
expect_in err "cannot open"
expect_in err "is --image-root right?"
printf 'a.jpg 0\na.jpg 1\n' >"$work/bad/dup.txt"
run 2 pack-images --manifest "$work/bad/dup.txt" --channels 3 --out "$work/bad/none.h5"
expect_in err "dup.txt:2: duplicate path 'a.jpg' (already listed at line 1)"

# ---- make-lt -----------------------------------------------------------------
lt_args=(--profile exp --imbalance 10 --n-max 50 --seed 3)
run 0 make-lt --in "$work/train.h5" --out "$work/lt.h5" "${lt_args[@]}" --counts "$work/lt_store.csv"
expect_in err "class 19 has 4 images, fewer than the 5 asked"
store_digest=$(digest_of)
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_train.txt" "${lt_args[@]}" --counts "$work/lt_manifest.csv"
manifest_lt_digest=$(digest_of)
[ "$store_digest" = "$manifest_lt_digest" ] || fail "store and manifest kept different images ($store_digest, $manifest_lt_digest)"
cmp -s "$work/lt_store.csv" "$work/lt_manifest.csv" || fail "counts differ between store and manifest"
$py - "$work/lt_store.csv" "$syn/counts.csv" "$syn/lt_train.txt" <<'EOF' || fail "make-lt exp counts"
import math, sys, collections
kept = [int(l.split(',')[2]) for l in open(sys.argv[1]).readlines()[1:]]
have = [int(l.split(',')[2]) for l in open(sys.argv[2]).readlines()[1:]]
want = [min(have[c], max(1, math.floor(50 * 10 ** (-c / 19) + 1e-9))) for c in range(20)]
assert kept == want, (kept, want)
lines = [l.split() for l in open(sys.argv[3]) if not l.startswith('#')]
per = collections.Counter(int(label) for _, label in lines)
assert [per[c] for c in range(20)] == kept, per
train = [l.split()[0] for l in open(sys.argv[3].replace('lt_train', 'train')) if not l.startswith('#')]
positions = [train.index(p) for p, _ in lines]
assert positions == sorted(positions), "kept images are not in input order"
EOF
run 0 make-lt --in "$work/train.h5" --out "$work/lt_again.h5" "${lt_args[@]}" --counts "$work/lt_again.csv"
cmp -s "$work/lt.h5" "$work/lt_again.h5" || fail "make-lt on a store is not byte-identical"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_again.txt" "${lt_args[@]}"
cmp -s "$syn/lt_train.txt" "$syn/lt_again.txt" || fail "make-lt on a manifest is not byte-identical"
# a balanced validation split of the images left out: disjoint, the same long-tailed set
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_val_train.txt" "${lt_args[@]}" --val-out "$syn/lt_val.txt" \
    --val-per-class 3
grep -v '^#' "$syn/lt_val_train.txt" | cmp -s - <(grep -v '^#' "$syn/lt_train.txt") ||
    fail "make-lt --val-out changed the long-tailed set"
$py - "$syn/lt_val.txt" "$syn/lt_train.txt" "$syn/counts.csv" <<'EOF' || fail "make-lt --val-out"
import collections, sys
val = [l.split() for l in open(sys.argv[1]) if not l.startswith('#')]
lt = {l.split()[0] for l in open(sys.argv[2]) if not l.startswith('#')}
have = [int(l.split(',')[2]) for l in open(sys.argv[3]).readlines()[1:]]
kept = collections.Counter(int(l.split()[1]) for l in open(sys.argv[2]) if not l.startswith('#'))
per = collections.Counter(int(label) for _, label in val)
assert not lt & {p for p, _ in val}, "validation images are in the long-tailed set"
assert [per[c] for c in range(20)] == [min(3, have[c] - kept[c]) for c in range(20)], per
EOF
run 2 make-lt --in "$syn/train.txt" --out "$syn/x.txt" "${lt_args[@]}" --val-out "$syn/v.txt"
expect_in err "--val-out and --val-per-class go together"
run 0 make-lt --in "$work/train.h5" --out "$work/lt_seed4.h5" --profile exp --imbalance 10 --n-max 50 --seed 4
[ "$(digest_of)" != "$store_digest" ] || fail "another seed kept the same images"
run 0 make-lt --in "$work/train.h5" --out "$work/pareto.h5" --profile pareto --imbalance 10 --n-max 50 --seed 3 \
    --counts "$work/pareto.csv"
run 0 make-lt --in "$work/train.h5" --out "$work/pareto_again.h5" --profile pareto --imbalance 10 --n-max 50 \
    --seed 3
cmp -s "$work/pareto.h5" "$work/pareto_again.h5" || fail "make-lt pareto is not byte-identical"
$py - "$work/pareto.csv" <<'EOF' || fail "make-lt pareto counts"
import sys
kept = [int(l.split(',')[2]) for l in open(sys.argv[1]).readlines()[1:]]
assert kept[0] == 50 and kept[-1] == 4 and min(kept) >= 1, kept
assert all(a >= b for a, b in zip(kept[:-1], kept[1:-1])), kept
EOF
$py - "$work/lt_store.csv" <<'EOF' || fail "make-lt default rank column"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == ['class', 'name', 'count', 'rank'], rows[0]
assert [int(r[3]) for r in rows[1:]] == list(range(20)), rows
EOF

# --class-order. IF 25, n_max 60: every class of the synthetic set (100 down to
# 4 images) has enough for the rank o1 and o2 give it, so no count is capped.
# o2 gives classes 4..17 their label rank, classes 0..3 their o1 rank, and
# swaps 18 and 19, whose ranks (18, 19) have the same count (2).
order_args=(--profile exp --imbalance 25 --n-max 60 --seed 3)
o1=3,0,1,2,7,4,5,6,11,8,9,10,15,12,13,14,19,16,17,18
o2=3,0,1,2,4,5,6,7,8,9,10,11,12,13,14,15,16,17,19,18
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_label.txt" "${order_args[@]}" --counts "$work/order_label.csv"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_o1.txt" "${order_args[@]}" --class-order "$o1" \
    --counts "$work/order_o1.csv"
expect_in err "make-lt: class order $o1 (largest count first)"
expect_in err "60 (class 3) .. 2 (class 18)"
o1_digest=$(digest_of)
run 0 make-lt --in "$work/train.h5" --out "$work/lt_o1.h5" "${order_args[@]}" --class-order "$o1" \
    --counts "$work/order_o1_store.csv"
[ "$(digest_of)" = "$o1_digest" ] || fail "store and manifest kept different images under --class-order"
cmp -s "$work/order_o1.csv" "$work/order_o1_store.csv" || fail "counts differ between store and manifest (--class-order)"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_o2.txt" "${order_args[@]}" --class-order "$o2" \
    --counts "$work/order_o2.csv"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_r7.txt" "${order_args[@]}" --class-order random:7 \
    --counts "$work/order_r7.csv"
expect_in err "make-lt: class order random:7 = "
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_r7_again.txt" "${order_args[@]}" --class-order random:7 \
    --counts "$work/order_r7_again.csv"
cmp -s "$syn/lt_r7.txt" "$syn/lt_r7_again.txt" || fail "--class-order random:7 is not byte-identical"
cmp -s "$work/order_r7.csv" "$work/order_r7_again.csv" || fail "--class-order random:7 counts differ"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_r8.txt" "${order_args[@]}" --class-order random:8 \
    --counts "$work/order_r8.csv"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_pareto_label.txt" --profile pareto --imbalance 25 --n-max 60 \
    --seed 3 --counts "$work/pareto_label.csv"
run 0 make-lt --in "$syn/train.txt" --out "$syn/lt_pareto_o2.txt" --profile pareto --imbalance 25 --n-max 60 \
    --seed 3 --class-order "$o2" --counts "$work/pareto_o2.csv"
$py - "$work" "$syn" "$o1" "$o2" <<'EOF' || fail "make-lt --class-order"
import collections, csv, math, sys
work, syn = sys.argv[1], sys.argv[2]
o1, o2 = [[int(x) for x in a.split(',')] for a in sys.argv[3:5]]
have = [int(r['count']) for r in csv.DictReader(open(syn + '/counts.csv'))]
want = [math.floor(60 * 25 ** (-r / 19) + 1e-9) for r in range(20)]
def table(name):
    rows = list(csv.reader(open(work + '/' + name)))
    assert rows[0] == ['class', 'name', 'count', 'rank'], (name, rows[0])
    assert [int(r[0]) for r in rows[1:]] == list(range(20)), (name, 'rows not in label order')
    return [int(r[2]) for r in rows[1:]], [int(r[3]) for r in rows[1:]]
def kept(name):
    per = collections.defaultdict(list)
    for line in open(syn + '/' + name):
        if not line.startswith('#'):
            path, label = line.split()
            per[int(label)].append(path)
    return per
# an explicit order: class o1[r] at rank r, with the exp count of rank r
counts, rank = table('order_o1.csv')
assert rank == [o1.index(c) for c in range(20)], rank
assert counts == [want[rank[c]] for c in range(20)], (counts, want)
assert counts[o1[0]] == max(counts) and sorted(counts)[-2] < counts[o1[0]], counts
assert counts[o1[-1]] == min(counts), counts
assert [len(kept('lt_o1.txt')[c]) for c in range(20)] == counts
assert '# class order %s (largest count first)' % sys.argv[3] in open(syn + '/lt_o1.txt').read()
# random:7: a permutation, the counts of its ranks, recorded in the manifest
counts, rank = table('order_r7.csv')
assert sorted(rank) == list(range(20)), rank
assert counts == [min(have[c], want[rank[c]]) for c in range(20)], counts
order = sorted(range(20), key=lambda c: rank[c])
assert '# class order random:7 = %s (largest' % ','.join(map(str, order)) in open(syn + '/lt_r7.txt').read()
assert table('order_r8.csv')[1] != rank, 'random:8 gave the order of random:7'
# what a class keeps depends on its count only: equal counts keep the same
# images (in the same order), a smaller count a subset of a larger one
runs = {n: (table('order_%s.csv' % n)[0], kept('lt_%s.txt' % n)) for n in ('label', 'o1', 'o2', 'r7')}
for a in runs:
    for b in runs:
        for c in range(20):
            na, ka, nb, kb = runs[a][0][c], runs[a][1][c], runs[b][0][c], runs[b][1][c]
            if na == nb: assert ka == kb, (a, b, c)
            elif na < nb: assert set(ka) < set(kb), (a, b, c)
# (classes 18 and 19 swap ranks between label order and o2, same count)
for a, b, classes in (('label', 'o2', range(4, 20)), ('o1', 'o2', range(4))):
    for c in classes:
        assert runs[a][0][c] == runs[b][0][c] and runs[a][1][c] == runs[b][1][c], (a, b, c)
# pareto: the count of rank r goes to the class at rank r
p_label, _ = table('pareto_label.csv')
p_o2, _ = table('pareto_o2.csv')
assert [p_o2[o2[r]] for r in range(20)] == p_label, (p_o2, p_label)
EOF
# refused orders: exit 2, naming --class-order and the problem, nothing written
bad_order() {
    run 2 make-lt --in "$syn/train.txt" --out "$work/refused.txt" "${order_args[@]}" --class-order "$1"
    expect_in err "cbd: error: --class-order: $2"
}
bad_order "" "empty list"
bad_order "3,0,1,2,20,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18" "label 20 (item 5) is out of range: the input has 20 classes"
bad_order "-1,0" "label -1 (item 1) is out of range"
bad_order "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,5" "label 5 is listed twice (items 6 and 20)"
bad_order "1,0,2" "lists 3 of the 20 classes (each must appear once); missing: 3, 4,"
bad_order "0,1,two" "item 3 ('two') is not an integer class label"
bad_order "0,1.5" "item 2 ('1.5') is not an integer class label"
bad_order "0,,1" "item 2 of '0,,1' is empty"
bad_order "random:" "random:SEED needs an integer seed"
bad_order "random:seven" "random:SEED needs an integer seed"
bad_order "random:-7" "random:SEED needs an integer seed"
[ -e "$work/refused.txt" ] && fail "a refused --class-order left an output"
run 2 make-lt --in "$work/missing.h5" --out "$work/x.h5" "${lt_args[@]}"
expect_in err "missing.h5"
run 2 make-lt --in "$syn/train.txt" --out "$work/x.txt" "${lt_args[@]}" --class-names "$work/bad/dup.txt"
expect_in err "2 class names, expected one per class (20)"
no_leftovers "$work"

# ---- import-idx --------------------------------------------------------------
idx=$work/idx
mkdir -p "$idx"
$py - "$idx" <<'EOF'
import gzip, struct, sys
d = sys.argv[1]
n, rows, cols = 5, 4, 3
images = struct.pack('>4I', 0x803, n, rows, cols) + bytes((i * 7 + k) % 256 for i in range(n) for k in range(rows * cols))
labels = struct.pack('>2I', 0x801, n) + bytes([0, 1, 2, 1, 0])
with gzip.open(d + '/images.gz', 'wb') as f: f.write(images)
open(d + '/images', 'wb').write(images)
open(d + '/labels', 'wb').write(labels)
open(d + '/images_cut', 'wb').write(images[:-5])
open(d + '/images_long', 'wb').write(images + b'\0')
open(d + '/labels_6', 'wb').write(struct.pack('>2I', 0x801, 6) + bytes([0, 1, 2, 1, 0, 1]))
gz = gzip.compress(images)
open(d + '/images_cut.gz', 'wb').write(gz[:len(gz) // 2])
open(d + '/names3.txt', 'w').write('red\ngreen\nblue\n')
open(d + '/names2.txt', 'w').write('red\ngreen\n')
EOF
run 0 import-idx --images "$idx/images.gz" --labels "$idx/labels" --out "$idx/a.h5" --class-names "$idx/names3.txt"
expect_in err "5 images of 4x3, 3 classes"
gz_digest=$(digest_of)
run 0 import-idx --images "$idx/images" --labels "$idx/labels" --out "$idx/b.h5"
[ "$(digest_of)" = "$gz_digest" ] || fail "plain and gzip IDX files gave different digests"
run 0 make-lt --in "$idx/a.h5" --out "$idx/lt.h5" --profile exp --imbalance 2 --n-max 2 --seed 1 --counts "$idx/c.csv"
grep -q '^2,blue,1,2$' "$idx/c.csv" || fail "class names of an imported store: $(cat "$idx/c.csv")"
run 2 import-idx --images "$idx/images_cut" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "images_cut: truncated: image 4"
run 2 import-idx --images "$idx/images_cut.gz" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "images_cut.gz"
run 2 import-idx --images "$idx/images_long" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "data continues after the 5 items"
run 2 import-idx --images "$idx/labels" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "1 dimensions, an IDX images file has 3"
run 2 import-idx --images "$idx/images" --labels "$idx/images" --out "$idx/c.h5"
expect_in err "3 dimensions, an IDX labels file has 1"
run 2 import-idx --images "$idx/images" --labels "$idx/labels_6" --out "$idx/c.h5"
expect_in err "holds 5 images but"
run 2 import-idx --images "$idx/images" --labels "$idx/labels" --out "$idx/c.h5" --class-names "$idx/names2.txt"
expect_in err "label 2 of item 2 is out of range (2 classes)"
run 2 import-idx --images "$idx/names3.txt" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "not an IDX file"
run 2 import-idx --images "$idx/nothing.gz" --labels "$idx/labels" --out "$idx/c.h5"
expect_in err "nothing.gz: cannot open"
[ -e "$idx/c.h5" ] && fail "a refused import left its output"
no_leftovers "$idx"

echo "data tools: ok"
