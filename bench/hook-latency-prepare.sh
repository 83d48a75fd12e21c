#!/usr/bin/env bash
# hyperfine's --prepare step for bench/hook-latency.sh: hook-latency-prepare.sh WORK CASE [WHICH]
#
# Waits for the previous run's appender (if any) to finish, restores the transcript and the saved state of CASE
# (as the binary WHICH, `bin` or `base`, left it: the two may keep different state formats),
# and for CASE = arrives starts a background appender that adds the response carrying the call's tool_use_id
# ~100 ms later; for CASE = appended it adds that response at once, so the call reads and counts it. It returns at once; the appender's stdio is closed so hyperfine does not wait for it.
set -eu
work=$1
case=$2
which=${3:-bin}
transcript=$(find "$work/home/.claude/projects" -name '*.jsonl' | head -n 1)
# The previous appender touches appender.done once its line is written (a marker, not its pid: an orphaned
# appender can linger as a zombie until something reaps it).
if [ -f "$work/appender.started" ]; then
    while [ ! -f "$work/appender.done" ]; do sleep 0.002; done
    rm -f "$work/appender.started" "$work/appender.done"
fi
cp "$work/base.jsonl" "$transcript"
rm -rf "$work/state"
cp -a "$work/state-$case-$which" "$work/state"
if [ "$case" = appended ]; then
    cat "$work/pending.jsonl" >>"$transcript"
fi
if [ "$case" = arrives ]; then
    touch "$work/appender.started"
    (sleep 0.1 && cat "$work/pending.jsonl" >>"$transcript"; touch "$work/appender.done") </dev/null >/dev/null 2>&1 &
fi
