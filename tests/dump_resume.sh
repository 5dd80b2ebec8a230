#!/usr/bin/env bash
# cbd-dump-features end to end on a small synthetic set: a dump killed with
# SIGKILL resumes from the views it finished and ends with a store whose
# content equals an uninterrupted dump's (h5diff); the student's views equal
# the dumped ones (test_view_contract); the up-to-date check; the store opens
# in h5dump with no custom code.
# usage: dump_resume.sh BIN_DIR WORK_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
test_begin "$@"

synthetic "$work/data" 4
write_ini() { # write_ini FILE OUTPUT_DIR DTYPE VIEWS
    ini_head "$1" "$2" 9 20
    cat >>"$1" <<INI
[train]
epochs = 1
batch_size = 16
[teacher.t1]
kind = standard
[features]
views = $4
dtype = $3
batch_size = 8
INI
}
write_ini "$work/a.ini" "$work/run" float32 40
"$bin/cbd-train-teacher" --config "$work/a.ini" --teacher t1 --quiet

# uninterrupted
"$bin/cbd-dump-features" --config "$work/a.ini" --teacher t1 --quiet
store=$work/run/features/t1.h5
[ -f "$store" ] || fail "no store written"
cp "$store" "$work/uninterrupted.h5"
out=$("$bin/cbd-dump-features" --config "$work/a.ini" --teacher t1 2>&1)
echo "$out" | grep -q "up to date" || fail "second dump did not report up to date: $out"

# killed part-way, then resumed
rm -f "$store"
"$bin/cbd-dump-features" --config "$work/a.ini" --teacher t1 --quiet &
pid=$!
for _ in $(seq 1 400); do
    [ -f "$store.partial" ] && break
    sleep 0.02
done
sleep 0.5
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f "$store.partial" ] || fail "no partial store after the kill"
[ ! -e "$store" ] || fail "the dump finished before it could be killed; make the test dump longer"
"$bin/cbd-dump-features" --config "$work/a.ini" --teacher t1 --quiet
[ ! -e "$store.partial" ] || fail "partial store left after the resumed dump"
h5diff "$work/uninterrupted.h5" "$store" >"$work/h5diff.txt" 2>&1 || { cat "$work/h5diff.txt" >&2; fail "resumed store differs"; }

# the store opens in h5dump as plain HDF5
h5dump -H "$store" >/dev/null || fail "h5dump cannot read the store"

# the student's views are the dumped views
"$bin/test_view_contract" "$work/a.ini" t1
echo "dump_resume: ok"
