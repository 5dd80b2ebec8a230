#!/usr/bin/env bash
# regressions/fuzz_checkpoint/chunk_larger_than_dataset.ckpt.h5 on a real
# model: its defect (a chunk shape of 4 x 4097 x 3 x 3 in the layout message
# of a 4 x 1 x 3 x 3 dataset, which makes HDF5 1.10's H5Dread copy past its
# buffer) put into the committed resnet20 fixture, whose first dataset and
# its momentum are 16 x 1 x 3 x 3; cbd-ckpt verify must refuse the copy.
#
# usage: chunk_regression.sh CBD_CKPT FIXTURE WORK_DIR
set -euo pipefail
ckpt=$1 fixture=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
file="$work/chunk.ckpt.h5"
cp "$fixture" "$file"
# Layout message, version 3, chunked, rank 4 + 1: address, then the chunk
# dimensions 16 1 3 3 and the element size 4, as 32-bit little-endian words.
offsets=$(LC_ALL=C grep -obUaP \
  '\x03\x02\x05[\s\S]{8}\x10\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00' \
  "$file" | cut -d: -f1)
[[ $(echo "$offsets" | wc -w) -eq 2 ]] || { echo "FAIL: expected 2 layout messages to patch, found: $offsets" >&2; exit 1; }
for off in $offsets; do
  # second chunk dimension 1 -> 0x1001 = 4097
  printf '\x10' | dd of="$file" bs=1 seek=$((off + 16)) conv=notrunc status=none
done
exec "$here/regression.sh" "chunk is not the dataset's shape" "$ckpt" verify "$file"
