#!/usr/bin/env bash
# Runs each libFuzzer harness of a CBD_FUZZ build for a while over a scratch
# copy of its committed corpus (what it learns stays in the scratch folder,
# BUILD_DIR/fuzz/HARNESS), then says per harness how many inputs it ran and
# what it found. Exits 1 when any harness found a crash, leak, timeout or
# out-of-memory in our code; the reproducer is in BUILD_DIR/fuzz/HARNESS/artifacts.
#
# Faults inside HDF5 1.10 itself (a corrupt file that makes the library read
# out of bounds, with nothing of ours on the faulting frames) cannot be fixed
# here: they are set apart in BUILD_DIR/fuzz/HARNESS/hdf5/, counted, and the
# harness is started again on its grown corpus for the rest of its time.
#
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]   (default: all five)
# FUZZ_RUNS=N: stop each harness after N inputs in all (SECONDS stays the cap).
# FUZZ_LEAKS=0: no leak checks (the HDF5 harnesses then run about 4x faster:
# the slow unwinder the leak suppressions need is off too).
set -uo pipefail

build=${1:?usage: run.sh BUILD_DIR SECONDS [HARNESS...]}
seconds=${2:?usage: run.sh BUILD_DIR SECONDS [HARNESS...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(config manifest jpeg feature_store checkpoint)

# The harnesses rewrite their input file every run: a disk turns that into
# milliseconds a run, a tmpfs into microseconds.
tmp_root="$build/fuzz"
[[ -d /dev/shm && -w /dev/shm ]] && tmp_root=/dev/shm
# lsan.supp names HDF5 functions, which only the slow unwinder sees through
# (Debian's libhdf5 has no frame pointers); the other harnesses keep the fast one.
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# 0 when the first frame of the report's first stack that is not the
# sanitizers', libFuzzer's or libc's (allocator, memcpy) lies in libhdf5.
inside_hdf5() {
  awk '/^ +#[0-9]+ / && !/__interceptor_|__asan|__sanitizer|fuzzer::| in (malloc|calloc|realloc|strdup|strndup|memcpy|memmove|memset) |libc\.so|string\/|sysdeps\// {
         print; exit }' "$1" | grep -q libhdf5
}

found=0
for h in "${harnesses[@]}"; do
  bin="$build/bin/fuzz_$h"
  [[ -x "$bin" ]] || { echo "fuzz: $bin is missing (configure with -DCBD_FUZZ=ON and build)" >&2; exit 2; }
  scratch="$build/fuzz/$h"
  rm -rf "$scratch" && mkdir -p "$scratch/corpus" "$scratch/artifacts" "$scratch/hdf5"
  cp "$here/corpus/fuzz_$h/"* "$scratch/corpus/"
  tmp=$(mktemp -d "$tmp_root/cbd-fuzz-$h.XXXXXX")
  dict=()
  case $h in
    config) dict=("-dict=$here/ini.dict") ;;
    manifest) dict=("-dict=$here/manifest.dict") ;;
  esac
  # HDF5 sizes some allocations from the file and copes with malloc failing,
  # as it does outside ASan: let ASan return NULL instead of stopping there.
  asan="fast_unwind_on_malloc=1"
  [[ $h == feature_store || $h == checkpoint ]] && asan="fast_unwind_on_malloc=0:allocator_may_return_null=1"
  leaks=()
  if [[ ${FUZZ_LEAKS:-1} == 0 ]]; then
    leaks=(-detect_leaks=0)
    asan="${asan/fast_unwind_on_malloc=0/fast_unwind_on_malloc=1}:detect_leaks=0"
  fi
  limit=()

  runs=0 hdf5=0 verdict="nothing found" start=$SECONDS segment=0
  while left=$((seconds - (SECONDS - start))); ((left > 0)); do
    if [[ -n ${FUZZ_RUNS:-} ]]; then
      ((runs < FUZZ_RUNS)) || break
      limit=(-runs=$((FUZZ_RUNS - runs)))
    fi
    segment=$((segment + 1))
    log="$scratch/log.$segment"
    # One job at a time, niced: the fuzzers share the machine with builds.
    ASAN_OPTIONS="$asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}" TMPDIR="$tmp" nice -n 10 "$bin" "${dict[@]}" "${leaks[@]}" "${limit[@]}" \
        -max_total_time="$left" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" >"$log" 2>&1
    rc=$?
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    runs=$((runs + ${n:-0}))
    artifact=$(ls "$scratch/artifacts" | head -1)
    [[ $rc -eq 0 && -z "$artifact" ]] && break
    if [[ -n "$artifact" ]] && inside_hdf5 "$log"; then
      hdf5=$((hdf5 + 1))
      mv "$scratch/artifacts/$artifact" "$scratch/hdf5/"
      # a leaking input may have entered the corpus first (named by its SHA-1, as
      # the artifact is): the next start would replay it and stop again
      rm -f "$scratch/corpus/${artifact#*-}"
      cp "$log" "$scratch/hdf5/$artifact.log"
      continue
    fi
    found=1
    verdict="FOUND ${artifact:-nothing saved} (exit $rc; log $log)"
    break
  done
  rm -rf "$tmp"
  elapsed=$((SECONDS - start))
  extra=""
  ((hdf5 > 0)) && extra=", $hdf5 inside HDF5 (set apart in $scratch/hdf5)"
  echo "fuzz_$h: $runs runs in ${elapsed}s ($((runs / (elapsed > 0 ? elapsed : 1)))/s): $verdict$extra"
done
exit $found
