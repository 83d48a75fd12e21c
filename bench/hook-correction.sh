#!/usr/bin/env bash
# The hook with the budget correction on (reconcile.correct_budgets, a factors file for the session's model) against
# the same build with it off, an earlier build (--base) and the floor, far from the budget, in one hyperfine run.
# The fixture is bench/hook-latency.sh's (made with --keep); each command's --prepare restores its own saved state
# and puts its config in place.
#
# Usage: bench/hook-correction.sh --base PATH [--bin PATH] [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../target/release/ccbreaker
base=
runs=300
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -n "$base" ] || { echo "--base is required (an earlier release build)" >&2; exit 2; }
hyperfine=${HYPERFINE:-hyperfine}
floor=$here/floor/target/release/ccbreaker-floor
out=$(bash "$here/hook-latency.sh" --bin "$bin" --base "$base" --runs 3 --slow-runs 2 --keep 2>&1)
work=$(echo "$out" | sed -n 's/^kept //p')
[ -n "$work" ] || { echo "$out" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
cd "$work"
cp far.toml far-off.toml
{ cat far.toml; printf '\n[reconcile]\ncorrect_budgets = true\n'; } >far-on.toml
transcript=$(find home/.claude/projects -name '*.jsonl' | head -n 1)
run() { env -i PATH="$PATH" HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/far.toml" CCBREAKER_STATE_DIR="$work/state" "$@"; }
# The saved state with the correction: one call with the factors in place (the ledger is made on that basis).
rm -rf state && mkdir -p state && cp base.jsonl "$transcript"
cat >state/reconcile-factors.json <<'JSON'
{"version": 1, "computed_at": "2026-11-30T00:00:00Z", "source": "bench", "first_day": "2026-11-16",
 "last_day": "2026-11-29", "fallback": 1.1,
 "models": {"claude-opus-5-5": {"factor": 1.2, "days": 14, "local_usd": 100.0, "billed_usd": 120.0}}}
JSON
cp far-on.toml far.toml
run ./ccbreaker-bin hook <event-on-disk.json
cp -a state state-farcorr-bin
for c in on off base; do
    case $c in on) state=farcorr which=bin toml=on ;; off) state=far which=bin toml=off ;; base) state=far which=base toml=off ;; esac
    printf '#!/bin/sh\ncp %s/far-%s.toml %s/far.toml\nexec bash %s/hook-latency-prepare.sh %s %s %s\n' \
        "$work" "$toml" "$work" "$here" "$work" "$state" "$which" >"prep-$c.sh"
done
run "$hyperfine" -N --warmup 5 --runs "$runs" --input event-on-disk.json --export-json "$work/correction.json" \
    --prepare "sh $work/prep-on.sh" --command-name "correction on" "$work/ccbreaker-bin hook" \
    --prepare "sh $work/prep-off.sh" --command-name "correction off" "$work/ccbreaker-bin hook" \
    --prepare "sh $work/prep-base.sh" --command-name "base" "$work/ccbreaker-base hook" \
    --prepare "sh $work/prep-off.sh" --command-name "floor" "$floor"
# The corrected case did correct: $0.254 at list price, $0.30 with the factor 1.2.
cp far-on.toml far.toml && sh prep-on.sh && run ./ccbreaker-bin hook <event-on-disk.json
run ./ccbreaker-bin status | grep -E '^correction|beef'
python3 - "$work/correction.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
floor = statistics.median(next(r for r in results if r["command"] == "floor")["times"])
print("| command | runs | p50 ms | mean ms | p50 / floor p50 |")
print("|---|---|---|---|---|")
for r in results:
    p50 = statistics.median(r["times"])
    print(f"| {r['command']} | {len(r['times'])} | {p50 * 1e3:.3f} | {r['mean'] * 1e3:.3f} | {p50 / floor:.2f}x |")
PY
