#!/usr/bin/env bash
# Start-up of two ccbreaker builds, A/B, on a loaded machine: `--version` and the warm hook call with no [team]
# (bench/hook-latency.sh's fixture, far from every budget, nothing new to read), measured by hyperfine in ROUNDS
# short runs whose order alternates (A first, then B first), so a change in the machine's load between the two
# commands does not decide the result. Prints each round's p50s and the median over rounds of the p50 ratio B/A.
#
# Usage: bench/startup-ab.sh A B [ROUNDS] [RUNS]   (A, B: ccbreaker release binaries; default 10 rounds of 200)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
a=$(realpath "$1")
b=$(realpath "$2")
rounds=${3:-10}
runs=${4:-200}
hyperfine=${HYPERFINE:-hyperfine}
work=$(mktemp -d "${TMPDIR:-/tmp}/ccbreaker-ab-XXXXXX")
trap 'rm -rf "$work"' EXIT
session=5e55b3a0-0000-4000-8000-00000000beef
project=$work/home/.claude/projects/-work-bench
mkdir -p "$project"
python3 "$here/hook-fixture.py" "$work" "$project/$session.jsonl" "$session" 10
cp "$work/base.jsonl" "$project/$session.jsonl"
printf '[budget]\nsession_usd = 100\ndaily_usd = 0\ntimezone = "UTC"\n\n[transcripts]\nrescan_secs = 86400\n' >"$work/config.toml"
# One state directory for both (the two builds keep the same ledger format): each call is the same steady call.
env -i PATH="$PATH" HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/config.toml" CCBREAKER_STATE_DIR="$work/state" \
    "$a" hook <"$work/event-on-disk.json" >/dev/null
round() { # $1, $2: which runs first and second (a or b); $3: version or hook
    local first=$1 second=$2 kind=$3
    local args=()
    for which in $first $second; do
        case $kind in
            version) args+=(--command-name "$which" "${!which} --version") ;;
            hook) args+=(--command-name "$which" "${!which} hook") ;;
        esac
    done
    env -i PATH="$PATH" HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/config.toml" CCBREAKER_STATE_DIR="$work/state" \
        "$hyperfine" -N --warmup 10 --runs "$runs" --input "$work/event-on-disk.json" \
        --export-json "$work/round.json" --style none "${args[@]}" >/dev/null
    python3 -c '
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) for x in json.load(open(sys.argv[1]))["results"]}
print("%.3f %.3f" % (r["a"] * 1e3, r["b"] * 1e3))' "$work/round.json"
}
for kind in version hook; do
    : >"$work/$kind.txt"
    for i in $(seq 1 "$rounds"); do
        if [ $((i % 2)) = 1 ]; then round a b "$kind"; else round b a "$kind"; fi >>"$work/$kind.txt"
    done
    python3 - "$kind" "$work/$kind.txt" <<'PY'
import statistics, sys
kind, rows = sys.argv[1], [tuple(map(float, l.split())) for l in open(sys.argv[2])]
ratios = [b / a for a, b in rows]
print(f"{kind}: p50 A {statistics.median(r[0] for r in rows):.3f} ms, B {statistics.median(r[1] for r in rows):.3f} ms; "
      f"B/A per round {' '.join(f'{x:.3f}' for x in ratios)}; median B/A {statistics.median(ratios):.3f}")
PY
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
