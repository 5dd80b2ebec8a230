#!/usr/bin/env bash
# A fuzz finding replayed on the ordinary build: COMMAND must refuse its input
# cleanly, exiting 1 or 2 (neither 0 nor a signal or sanitizer abort) with a
# message matching PATTERN (grep -E) on stderr.
#
# usage: regression.sh PATTERN COMMAND [ARG...]
set -uo pipefail
pattern=${1:?usage: regression.sh PATTERN COMMAND [ARG...]}
shift
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$@" >/dev/null 2>"$err"
rc=$?
if [[ $rc -ne 1 && $rc -ne 2 ]]; then
  echo "FAIL: exit $rc (expected a refusal, 1 or 2): $*" >&2
  cat "$err" >&2
  exit 1
fi
if ! grep -Eq -- "$pattern" "$err"; then
  echo "FAIL: exit $rc, but no message matching '$pattern': $*" >&2
  cat "$err" >&2
  exit 1
fi
echo "ok: exit $rc: $(head -1 "$err")"
