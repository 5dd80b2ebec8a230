#!/usr/bin/env bash
# cbd-convert on small hand-written inputs in each format: ImageNet-LT and
# Places-LT list files, an iNaturalist 2018 JSON; manifests and class names
# as the sources give them; and the broken cases users meet: a root one
# folder too deep, a flat val/ where the list wants class folders, paths
# simply missing (how many, the first few), a label in two folders, an iNat
# file without annotations, malformed JSON.
# usage: convert.sh CBD_CONVERT WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_args 2 "CBD_CONVERT WORK_DIR" "$@"
convert=$1
test_work "$2"
cd "$work"
touch_all() { local p; for p in "$@"; do mkdir -p "$(dirname "$p")"; : >"$p"; done; }

# ---- ImageNet-LT ----
touch_all in/train/n01440764/a.JPEG in/train/n01440764/b.JPEG in/train/n01443537/c.JPEG \
    in/val/n01440764/v1.JPEG in/val/n01443537/v2.JPEG
printf 'train/n01440764/a.JPEG 0\ntrain/n01440764/b.JPEG 0\ntrain/n01443537/c.JPEG 1\n' >ImageNet_LT_train.txt
printf 'val/n01440764/v1.JPEG 0\nval/n01443537/v2.JPEG 1\n' >ImageNet_LT_val.txt
expect_exit 0 "imagenet-lt train" "$convert" imagenet-lt --in ImageNet_LT_train.txt --root in --out train.txt \
    --class-names-out classes.txt
[ "$(grep -v '^#' train.txt)" = "$(cat ImageNet_LT_train.txt)" ] || fail "the manifest's entries: $(cat train.txt)"
grep -q "image_root = in" train.txt || fail "the manifest does not say its image root"
[ "$(cat classes.txt)" = "$(printf 'n01440764\nn01443537')" ] || fail "class names: $(cat classes.txt)"
expect_exit 0 "imagenet-lt val" "$convert" imagenet-lt --in ImageNet_LT_val.txt --root in --out val.txt

# a root one folder too deep
expect_exit 2 "root too deep" "$convert" imagenet-lt --in ImageNet_LT_train.txt --root in/train --out x.txt
expect_message "root too deep" "3 of 3 image paths are not files under in/train"
expect_message "root too deep" "the paths start with 'train/' and in/train holds them without it"
# val/ flat, the list wants class folders
touch_all flat/val/v1.JPEG flat/val/v2.JPEG
expect_exit 2 "flat val" "$convert" imagenet-lt --in ImageNet_LT_val.txt --root flat --out x.txt
expect_message "flat val" "flat/val holds its images flat, the list wants them in class folders"
# some paths missing: how many, the first few with their lines
printf 'train/n01440764/a.JPEG 0\ntrain/n01440764/gone1.JPEG 0\ntrain/n01440764/gone2.JPEG 0\n' >missing.txt
expect_exit 2 "missing images" "$convert" imagenet-lt --in missing.txt --root in --out x.txt
expect_message "missing images" "2 of 3 image paths are not files under in, e.g. train/n01440764/gone1.JPEG (line 2), train/n01440764/gone2.JPEG (line 3): is --root right?"
# one label in two folders
printf 'train/n01440764/a.JPEG 0\ntrain/n01443537/c.JPEG 0\n' >mixed.txt
expect_exit 2 "mixed label" "$convert" imagenet-lt --in mixed.txt --root in --out x.txt --class-names-out n.txt
expect_message "mixed label" "mixed.txt:2: label 0 is in folder n01443537 here and n01440764 before"
[ ! -e x.txt ] && [ ! -e n.txt ] || fail "a refused conversion wrote a file"

# ---- Places-LT: a leading '/', nested class folders ----
touch_all places/a/airfield/1.jpg places/b/bakery/shop/2.jpg places/val/Places365_val_1.jpg
printf '/a/airfield/1.jpg 0\n/b/bakery/shop/2.jpg 1\n' >Places_LT_train.txt
expect_exit 0 "places-lt" "$convert" places-lt --in Places_LT_train.txt --root places --out p.txt --class-names-out pn.txt
[ "$(grep -v '^#' p.txt)" = "$(printf 'a/airfield/1.jpg 0\nb/bakery/shop/2.jpg 1')" ] || fail "places manifest: $(cat p.txt)"
[ "$(cat pn.txt)" = "$(printf 'airfield\nbakery/shop')" ] || fail "places names: $(cat pn.txt)"
printf 'Places365_val_1.jpg 0\n' >Places_LT_val.txt
# --prefix: the splits' sibling folders under one root
expect_exit 0 "places-lt --prefix" "$convert" places-lt --in Places_LT_val.txt --root places --prefix val --out pv.txt
[ "$(grep -v '^#' pv.txt)" = "val/Places365_val_1.jpg 0" ] || fail "--prefix: $(cat pv.txt)"
expect_exit 2 "flat names" "$convert" places-lt --in Places_LT_val.txt --root places/val --out pv.txt --class-names-out q.txt
expect_message "flat names" "names no class folder"

# ---- iNaturalist 2018 ----
touch_all inat/train_val2018/Plantae/7477/x.jpg inat/train_val2018/Aves/2/y.jpg inat/train_val2018/Aves/2/z.jpg
cat >train2018.json <<'JSON'
{"info": {"year": 2018},
 "images": [{"id": 10, "file_name": "train_val2018/Plantae/7477/x.jpg", "width": 800, "height": 600},
            {"id": 3, "file_name": "train_val2018/Aves/2/y.jpg"},
            {"id": 7, "file_name": "train_val2018/Aves/2/z.jpg"}],
 "annotations": [{"id": 1, "image_id": 3, "category_id": 0}, {"id": 2, "image_id": 10, "category_id": 1},
                 {"id": 3, "image_id": 7, "category_id": 0}],
 "categories": [{"id": 1, "name": "Plantae 7477", "supercategory": "Plantae"},
                {"id": 0, "name": "Aves 2", "supercategory": "Aves"}]}
JSON
expect_exit 0 "inat2018" "$convert" inat2018 --in train2018.json --root inat --out i.txt --class-names-out in.txt
[ "$(grep -v '^#' i.txt)" = "$(printf 'train_val2018/Plantae/7477/x.jpg 1\ntrain_val2018/Aves/2/y.jpg 0\ntrain_val2018/Aves/2/z.jpg 0')" ] ||
    fail "inat manifest: $(cat i.txt)"
[ "$(cat in.txt)" = "$(printf 'Aves 2\nPlantae 7477')" ] || fail "inat names: $(cat in.txt)"
expect_exit 2 "inat root too deep" "$convert" inat2018 --in train2018.json --root inat/train_val2018 --out x.txt
expect_message "inat root too deep" "give the folder above inat/train_val2018 as --root"
printf '{"images": [], "categories": []}' >test2018.json
expect_exit 2 "no annotations" "$convert" inat2018 --in test2018.json --root inat --out x.txt
expect_message "no annotations" "test2018.json has no labels"
printf '{"images": [1, 2,' >bad.json
expect_exit 2 "malformed json" "$convert" inat2018 --in bad.json --root inat --out x.txt
expect_message "malformed json" "bad.json"
expect_exit 2 "unknown format" "$convert" coco --in bad.json --root inat --out x.txt
[ ! -e x.txt ] || fail "a refused conversion wrote x.txt"
echo "convert: ok"
