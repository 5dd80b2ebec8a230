# What the shell tests share; each sources it first:
#   . "$(dirname "$0")/lib.sh"
#   test_begin "$@"               # BIN_DIR WORK_DIR [more]: sets bin, work (absolute, emptied)
#   test_args N USAGE "$@"        # exactly N arguments, else the usage line and exit 2
#   test_work DIR                 # sets work (absolute, emptied)
#   synthetic DIR SEED [OPTIONS]  # a small long-tailed set (5 classes, 30 down to 3 images, 20 px)
#   ini_head FILE OUTPUT_DIR SEED SIZE [LINE...]
#                                 # [experiment], [data] (train = data/train.txt, the LINEs, 3
#                                 # channels, SIZE px, 1 worker) and [model] (resnet20) of an INI
#   expect_exit CODE WHAT CMD...  # runs CMD (stderr in $work/err), fails unless it exits CODE
#   expect_message WHAT PATTERN   # fails unless $work/err matches PATTERN (grep)
#   files_digest FILE...          # one line that changes when any of the files does
#   leftover_temporaries DIR      # the *.tmp.PID files under DIR
#   check_png FILE WIDTH HEIGHT   # fails unless FILE is a PNG of that size
# `fail MESSAGE` ends the test.

fail() { echo "FAIL: $*" >&2; exit 1; }

test_args() {
    local n=$1 usage=$2
    shift 2
    [ $# -eq "$n" ] || { echo "usage: $0 $usage" >&2; exit 2; }
}

test_work() {
    rm -rf "$1"
    mkdir -p "$1"
    work=$(cd "$1" && pwd)
}

test_begin() {
    [ $# -ge 2 ] || { echo "usage: $0 BIN_DIR WORK_DIR ..." >&2; exit 2; }
    bin=$(cd "$1" && pwd)
    test_work "$2"
}

synthetic() {
    local dir=$1 seed=$2
    shift 2
    "$bin/make-synthetic" --out "$dir" --classes 5 --n-max 30 --imbalance 10 --size 20 --val-per-class 2 \
        --test-per-class 2 --seed "$seed" "$@" >/dev/null 2>&1 || fail "make-synthetic --out $dir failed"
}

ini_head() {
    local file=$1 out=$2 seed=$3 size=$4 line
    shift 4
    {
        printf '[experiment]\nseed = %s\noutput_dir = %s\n[data]\ntrain = data/train.txt\n' "$seed" "$out"
        for line in "$@"; do printf '%s\n' "$line"; done
        printf 'channels = 3\nimage_size = %s\nworkers = 1\n[model]\narch = resnet20\n' "$size"
    } >"$file"
}

expect_exit() {
    local want=$1 what=$2
    shift 2
    local got=0
    "$@" >"$work/out" 2>"$work/err" || got=$?
    [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want: $(head -c 600 "$work/err")"
}

expect_message() {
    grep -q -e "$2" "$work/err" || fail "$1: the message does not say '$2': $(head -c 600 "$work/err")"
}

files_digest() {
    local f
    for f in "$@"; do
        if [ -e "$f" ]; then cksum <"$f" | tr '\n' ' '; else printf 'missing '; fi
    done
    echo
}

leftover_temporaries() { find "$1" -name '*.tmp.*' 2>/dev/null || true; }

check_png() {
    local file=$1 want="$2 $3"
    [ -s "$file" ] || fail "no $file"
    [ "$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$file is not a PNG"
    # IHDR: width and height, big-endian, at bytes 16..23
    local size
    size=$(od -An -j16 -N8 -tu1 "$file" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
    [ "$size" = "$want" ] || fail "$file is $size pixels, expected $want"
}
