#!/usr/bin/env bash
# h5inspect end to end on fixture stores with known values (written by
# h5inspect_make_fixture, see tests/h5inspect_make_fixture.c), a generic HDF5
# file, an image store and a checkpoint made by cbd-ckpt: the tree and summary
# against expected text, --stats values, --verify exit codes and defect lines,
# --row vectors, --json validity (python3 -m json.tool), h5dump -H on the
# fixtures, and the exit codes and messages for bad files and bad usage.
#
# Expected outputs are in tests/h5inspect/. Commands run inside WORK_DIR on
# relative file names, so no path needs masking. Masked before comparing: the
# summary's "size on disk" line (the file size depends on the HDF5 and zlib
# versions).
# usage: h5inspect.sh BIN_DIR WORK_DIR
set -euo pipefail

. "$(dirname "$0")/lib.sh"
test_args 2 "BIN_DIR WORK_DIR" "$@"
expected=$(cd "$(dirname "$0")/h5inspect" && pwd)
test_begin "$@"
inspect=$bin/h5inspect
cd "$work"

# run EXPECTED_STATUS ARGS...: runs h5inspect; stdout/stderr in out, err.
run() {
    local want=$1
    shift
    local status=0
    "$inspect" "$@" >out 2>err || status=$?
    if [ "$status" -ne "$want" ]; then
        echo "--- stdout" >&2; cat out >&2
        echo "--- stderr" >&2; cat err >&2
        fail "h5inspect $* exited $status, expected $want"
    fi
}

expect_in() {
    local file=$1 text=$2
    grep -qF -- "$text" "$file" || {
        cat "$file" >&2
        fail "'$text' not in $file of the last command"
    }
}

# same_as EXPECTED_FILE: out (masked) must equal the expected file.
mask() { sed 's/^\(  size on disk  *\).*/\1(masked)/' "$1"; }
same_as() {
    mask out >out.masked
    diff -u "$expected/$1" out.masked >&2 || fail "output differs from tests/h5inspect/$1"
}

json_ok() {
    python3 -m json.tool out >/dev/null || { cat out >&2; fail "h5inspect $* wrote invalid JSON"; }
}

"$bin/h5inspect_make_fixture" . || fail "h5inspect_make_fixture failed"
"$bin/cbd-ckpt" init --arch resnet20 --classes 10 --in-channels 1 model.ckpt.h5 >/dev/null ||
    fail "cbd-ckpt init failed"

# ---- usage -----------------------------------------------------------------------
run 0 --help
expect_in out "usage: h5inspect"
run 2
expect_in err "cbd: error: missing FILE"
run 2 --frobnicate fs_f32.h5
expect_in err "unknown option '--frobnicate'"
run 2 fs_f32.h5 fs_f16.h5
run 2 --stats --verify fs_f32.h5
run 2 --seed 1 fs_f32.h5
expect_in err "--seed selects the view of --row"
run 2 --row
expect_in err "--row needs a value"

# ---- files that cannot be read -----------------------------------------------------
run 2 missing.h5
expect_in err "cbd: error: missing.h5: cannot open: No such file or directory"
echo "not an HDF5 file" >notes.txt
run 2 notes.txt
expect_in err "cbd: error: notes.txt: not an HDF5 file"
run 2 --verify notes.txt
expect_in err "cbd: error: notes.txt: not an HDF5 file"
run 2 .
expect_in err "cbd: error: .: is a directory"
head -c 3000 fs_f32.h5 >cut.h5
run 2 cut.h5
expect_in err "cbd: error: cut.h5:"

# ---- the tree and the summary --------------------------------------------------------
run 0 fs_f32.h5
same_as fs_f32.txt
run 0 generic.h5
same_as generic.txt
run 0 fs_f16.h5
expect_in out "/features       float16 [2, 6, 4], chunked [1, 6, 4], shuffle, deflate 4, fletcher32"
expect_in out "bytes per row          8 per feature row (d x 2 bytes)"
run 0 fs_incomplete.h5
expect_in out "views done             1 of 2 (missing: 1)"
expect_in out "complete               no"
expect_in out "logits                 no"
run 0 images.h5
same_as images.txt
run 0 model.ckpt.h5
expect_in out "/stage1/block1/conv1/weight"
expect_in out "    kind = \"weight\""
expect_in out "checkpoint: cbd-checkpoint version 1"
expect_in out "  arch                   resnet20"
expect_in out "  classes                10"
expect_in out "  epoch                  0"
expect_in out "  step                   0"
# resnet20, 1 input channel, 10 classes: 269424 trainable values (cbd-ckpt
# says so) plus 1376 batch-norm running means and variances.
expect_in out "  parameters             270800 in 96 datasets"
expect_in out "  optimizer state        269424 values in 58 datasets"

# ---- --stats: the values derived in h5inspect_make_fixture.c -----------------------------
for store in fs_f32 fs_f16; do
    run 0 --stats "$store.h5"
    sed -i 's/float16)$/float32)/; s/fs_f16/fs_f32/' out
    same_as fs_stats.txt
done
run 0 --stats fs_nan.h5
expect_in out "  center  yes        5    2.400000    1.000000    4.000000      0      1"
expect_in out "  1       yes        5    4.300000    1.500000    5.000000      1      0"
expect_in out "mean cosine between the views of an image  0.440000 (5 images, 2 views done)"
expect_in out "NCM accuracy of the center features        0.800000 (4 of 5, training labels)"
run 0 --stats fs_incomplete.h5
expect_in out "  1       no         0           -           -           -      0      0"
expect_in out "mean cosine between the views of an image  - (needs two views done, 1 done)"
run 2 --stats model.ckpt.h5
expect_in err "cbd: error: model.ckpt.h5: --stats works on feature stores; this file's format is 'cbd-checkpoint'"
run 2 --stats generic.h5
expect_in err "no root attribute 'format'"
# rows are read by the library's row reader, which refuses attributes that disagree with the datasets
run 2 --stats fs_badshape.h5
expect_in err "cbd: error: fs_badshape.h5: dataset 'features' has shape [2, 6, 4], the store's attributes say [2, 6, 5]"

# ---- --verify --------------------------------------------------------------------------
run 0 --verify fs_f32.h5
expect_in out "ok: fs_f32.h5: complete feature store, 6 images x 2 views, d = 4, float32, logits"
run 0 --verify fs_f16.h5
expect_in out "ok: fs_f16.h5: complete feature store, 6 images x 2 views, d = 4, float16, logits"
run 1 --verify fs_nan.h5
expect_in out "defect: NaN in /features view 1: 1 value in 1 row, first at row 3"
expect_in out "defect: Inf in /center: 1 value in 1 row, first at row 4"
expect_in out "fs_nan.h5: 2 defects"
run 1 --verify fs_incomplete.h5
expect_in out "defect: incomplete: complete = 0"
expect_in out "defect: incomplete: views not done: 1 (1 of 2 views done)"
run 1 --verify fs_badlabels.h5
expect_in out "defect: labels out of range: 1 label outside 0..2, first at row 4 (7)"
run 1 --verify fs_badshape.h5
expect_in out "defect: shape: attribute d = 5 but /features dimension 2 is 4"
# labels of another integer type: the library's verifier names it, as its reader refuses it
run 1 --verify fs_labels64.h5
expect_in out "defect: type: /labels holds 8-byte integers; a feature store's labels are 4-byte integers (int32)"
expect_in out "fs_labels64.h5: 1 defect"
run 0 --verify model.ckpt.h5
expect_in out "ok: model.ckpt.h5: checkpoint resnet20, 154 datasets"
run 1 --verify generic.h5
expect_in out "defect: not a cbd store: no root attribute 'format'"
# A flipped bit in /center's data (float32 [2 0 0 0 2 0 0 0], Fletcher32): the
# tree still opens; --verify names the dataset; --stats cannot go on (the
# library's row reader names the rows, the dataset and HDF5's reason).
python3 - <<'EOF'
import struct
data = bytearray(open('fs_f32.h5', 'rb').read())
rows = struct.pack('<8f', 2, 0, 0, 0, 2, 0, 0, 0)
at = data.find(rows)
assert at >= 0 and data.find(rows, at + 1) < 0, 'the center rows are not in fs_f32.h5 exactly once'
data[at + 3] ^= 0x01
open('corrupt.h5', 'wb').write(data)
EOF
run 0 corrupt.h5
run 1 --verify corrupt.h5
expect_in out "defect: cannot read /center: data checksum failure in 'center': the file is corrupt"
run 2 --stats corrupt.h5
expect_in err "cbd: error: corrupt.h5: cannot read rows 0..5 of dataset 'center': truncated or corrupt"
expect_in err "Fletcher32 checksum"
run 0 --verify images.h5
expect_in out "ok: images.h5: complete image store, 3 images"
run 1 --verify images_partial.h5
expect_in out "defect: incomplete: complete = 0"

# ---- --row ------------------------------------------------------------------------------
for store in fs_f32 fs_f16; do
    run 0 --row 0 --seed 1 "$store.h5"
    expect_in out "image 0, view 1, label 0"
    expect_in out "features [4]     3 4 0 5.9604645e-08"
    expect_in out "logits [3]       3 -1 -1.5"
    run 0 --row 4 "$store.h5"
    expect_in out "image 4, center view, label 1"
    expect_in out "features [4]     0 1 0 0"
    expect_in out "logits [3]       -1 4 -1"
    run 0 --row 4 --view 1 "$store.h5"
    expect_in out "features [4]     0 -1.5 0 0"
done
run 0 --row 3 --seed 1 fs_nan.h5
expect_in out "features [4]     0 0 nan 0"
run 0 --row 1 --seed 1 fs_incomplete.h5
expect_in out "note: view 1 is not done: these values were never written"
run 2 --row 6 fs_f32.h5
expect_in err "cbd: error: fs_f32.h5: --row 6 is outside 0..5 (the store holds 6 images)"
run 2 --row -1 fs_f32.h5
expect_in err "cbd: error: fs_f32.h5: --row: expected a non-negative integer, got '-1'"
run 2 --row 0 --seed 2 fs_f32.h5
expect_in err "cbd: error: fs_f32.h5: --seed 2 is outside 0..1 (the store holds 2 views)"
run 2 --row 0 model.ckpt.h5
expect_in err "--row works on feature stores"

# ---- --json ----------------------------------------------------------------------------
for f in fs_f32.h5 fs_f16.h5 fs_nan.h5 fs_incomplete.h5 fs_badshape.h5 fs_labels64.h5 generic.h5 images.h5 \
    model.ckpt.h5; do
    run 0 --json "$f"
    json_ok --json "$f"
done
for f in fs_f32.h5 fs_nan.h5 fs_incomplete.h5; do
    run 0 --json --stats "$f"
    json_ok --json --stats "$f"
    run 0 --json --row 3 --seed 1 "$f"
    json_ok --json --row 3 --seed 1 "$f"
done
run 0 --json --verify fs_f32.h5
json_ok --json --verify fs_f32.h5
run 1 --json --verify fs_nan.h5
json_ok --json --verify fs_nan.h5
run 1 --json --verify generic.h5
json_ok --json --verify generic.h5
run 1 --json --verify fs_labels64.h5
json_ok --json --verify fs_labels64.h5
run 0 --json --verify model.ckpt.h5
json_ok --json --verify model.ckpt.h5

# Values, read back by a JSON parser.
check_json() {
    python3 -c "import json, struct, sys; d = json.load(open('out')); sys.exit(0 if ($1) else 1)" ||
        { cat out >&2; fail "JSON check failed: $1"; }
}
run 0 --json --stats fs_f16.h5
check_json "abs(d['ncm']['accuracy'] - 5/6) < 1e-6 and d['ncm']['correct'] == 5"
check_json "abs(d['view_cosine']['mean'] - 2.2/6) < 1e-6 and d['view_cosine']['images'] == 6"
check_json "abs(d['class_stats'][0]['center_cosine'] - 5 ** 0.5 / 3) < 1e-6"
check_json "abs(d['view_stats'][0]['norm_mean'] - 13/6) < 1e-9 and d['view_stats'][1]['norm_mean'] == 3.625"
check_json "d['view_stats'][1]['norm_min'] == 0.25 and d['center']['norm_max'] == 4"
run 0 --json --row 3 --seed 1 fs_nan.h5
check_json "d['features'] == [0, 0, 'NaN', 0] and d['logits'] == [-0.5, 3, -1.5] and d['label'] == 1"
run 0 --json --row 0 --seed 1 fs_f16.h5
# float32 values are written with the fewest digits that read back as the same float32
check_json "[struct.unpack('f', struct.pack('f', x))[0] for x in d['features']] == [3, 4, 0, 2 ** -24] and d['view'] == 1"
run 1 --json --verify fs_incomplete.h5
check_json "d['ok'] is False and 'incomplete: complete = 0' in d['defects']"
run 0 --json fs_f32.h5
check_json "d['summary']['manifest_digest'] == '0123456789abcdef' and d['summary']['views_done'] == 2"
check_json "[o['path'] for o in d['objects']] == ['/', '/center', '/center_logits', '/done', '/features', '/labels', '/logits']"
check_json "d['objects'][4]['filters'] == [{'name': 'shuffle'}, {'name': 'deflate', 'level': 4}, {'name': 'fletcher32'}]"
run 0 --json model.ckpt.h5
check_json "d['summary']['arch'] == 'resnet20' and d['summary']['parameters'] == 270800"
run 0 --json generic.h5
check_json "d['objects'][0]['attributes']['grid'] == [[1, 2, 3], [4, 5, 6]]"
check_json "d['objects'][0]['attributes']['counting']['count'] == 100"

# ---- the fixtures open without custom code ------------------------------------------------
for f in fs_f32.h5 fs_f16.h5 fs_nan.h5 fs_incomplete.h5 fs_badlabels.h5 fs_badshape.h5 fs_labels64.h5; do
    h5dump -H "$f" >dump.txt 2>&1 || { cat dump.txt >&2; fail "h5dump -H $f failed"; }
    expect_in dump.txt 'DATASET "features"'
done
h5dump -H fs_f16.h5 >dump.txt 2>&1
expect_in dump.txt "16-bit little-endian floating-point"
h5dump -d /features fs_f16.h5 >dump.txt 2>&1
expect_in dump.txt "(1,4,0): 0, -1.5, 0, 0"

cd /
rm -rf "$work"
echo "h5inspect: ok"
