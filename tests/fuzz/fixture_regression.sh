#!/usr/bin/env bash
# Checkpoint findings of fuzz_checkpoint replayed on a real model: the defect
# of the crasher in regressions/fuzz_checkpoint put into a copy of the
# committed resnet20 fixture (whose first dataset, stem/conv/weight, and its
# momentum are 16 x 1 x 3 x 3), which cbd-ckpt must then refuse.
#
#   chunk  (chunk_larger_than_dataset.ckpt.h5) the layout message's chunk
#          shape 16 x 4097 x 3 x 3, larger than the data stored: HDF5 1.10's
#          H5Dread copies past its buffer. `cbd-ckpt verify` refuses.
#   count  (shape_count_overflow.ckpt.h5) a dataspace of 2^62 x 1 x 3 x 3:
#          the value count overflows int64. `cbd-ckpt info` refuses.
#   size   (type_size_158.ckpt.h5) a float type of 158 bytes over data
#          stored as 4-byte floats: H5Dread reads past the chunk. Every
#          float32 type of the file is changed. `cbd-ckpt verify` refuses.
#
# usage: fixture_regression.sh chunk|count|size CBD_CKPT FIXTURE WORK_DIR
set -euo pipefail
case=$1 ckpt=$2 fixture=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
file="$work/$case.ckpt.h5"
cp "$fixture" "$file"

# Finds the places that match pattern $2 (there must be $1 of them; 0: any
# number but none) and writes the bytes of printf-format $3 at each, $4 ($5
# ...) bytes on.
patch_at() {
  local want=$1 pattern=$2 bytes=$3 offsets n
  shift 3
  offsets=$(LC_ALL=C grep -obUaP "$pattern" "$file" | cut -d: -f1 || true)
  n=$(echo "$offsets" | wc -w)
  [[ $n -gt 0 && ($want -eq 0 || $n -eq $want) ]] || { echo "FAIL: $n places to patch, expected $want" >&2; exit 1; }
  for off in $offsets; do
    for at in "$@"; do printf "$bytes" | dd of="$file" bs=1 seek=$((off + at)) conv=notrunc status=none; done
  done
}

d16='\x10\x00\x00\x00' d1='\x01\x00\x00\x00' d3='\x03\x00\x00\x00' z4='\x00\x00\x00\x00'
case $case in
  chunk)
    # layout message v3, chunked, rank 4 + 1: version, class, rank, address,
    # then the chunk shape and the element size as 32-bit words; 1 -> 0x1001
    patch_at 2 "\\x03\\x02\\x05[\\s\\S]{8}$d16$d1$d3$d3\\x04\\x00\\x00\\x00" '\x10' 16
    exec "$here/regression.sh" "chunk is not the dataset's shape" "$ckpt" verify "$file" ;;
  count)
    # dataspace message v1, rank 4, with maximum dimensions: 8 header bytes,
    # then the dimensions and the maxima as 64-bit words; 16 -> 2^62 in both
    patch_at 2 "\\x01\\x04\\x01\\x00$z4$d16$z4$d1$z4$d3$z4$d3$z4$d16" '\x00\x00\x00\x00\x00\x00\x00\x40' 8 40
    exec "$here/regression.sh" "claims more than 2\\^40 values" "$ckpt" info "$file" ;;
  size)
    # datatype message of IEEE float32 LE: class and bit fields, then the size
    # as a 32-bit word (4 -> 158), then the bit layout
    patch_at 0 '\x11\x20\x1f\x00\x04\x00\x00\x00\x00\x00\x20\x00\x17\x08\x00\x17\x7f\x00\x00\x00' '\x9e' 4
    exec "$here/regression.sh" "bytes stored where its shape and type take" "$ckpt" verify "$file" ;;
  *) echo "usage: fixture_regression.sh chunk|count|size CBD_CKPT FIXTURE WORK_DIR" >&2; exit 2 ;;
esac
