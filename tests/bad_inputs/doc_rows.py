#!/usr/bin/env python3
"""Prints the rows of the bad-input table of docs/robustness.md from a run of
tests/bad_inputs.sh: every case of cases.tsv with the message it printed
(the first 'cbd: error:', 'cbd: interrupted:', 'defect:' or 'cbd: warning:'
line holding the start of the expected text), the case folder shortened to
CASE. usage: doc_rows.py WORK_DIR (the bad_inputs.sh work folder)"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
work = os.path.realpath(sys.argv[1])
PREFIXES = ("cbd: error:", "cbd: interrupted:", "defect:", "cbd: warning:")
for line in open(os.path.join(here, "cases.tsv")):
    if not line.strip() or line.startswith("#"):
        continue
    name, files, step, command, expect, message, what = line.rstrip("\n").split("\t")
    folder = os.path.join(work, "cases", name)
    text = ""
    for stream in ("stderr", "stdout"):
        path = os.path.join(folder, stream)
        if os.path.exists(path):
            text += open(path, errors="replace").read()
    first = message.split("*")[0] if message != "-" else ""
    shown = ""
    lines = text.splitlines()
    for out in lines:
        if out.startswith(PREFIXES) and first in out:
            shown = out
            break
    if not shown and first:  # a plain progress line ("nothing to resume")
        shown = next((out for out in lines if first.split("*")[0] in out), "")
    shown = shown.replace(folder, "CASE").replace(os.path.join(work, "base", "data"), "CASE/data")
    cell = "`" + shown.replace("|", "\\|") + "`" if shown else "(none)"
    cmd = command[len("interrupted "):] + " (then SIGINT)" if command.startswith("interrupted ") else command
    print("| `%s` | %s | `%s` | %s | %s |" % (name, what, cmd, expect, cell))
