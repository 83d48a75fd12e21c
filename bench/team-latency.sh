#!/usr/bin/env bash
# What team mode adds to a hook call: the warm `ccbreaker hook` call with no [team] table, with one pointed at a
# local redis-server (cache_ms = 0: one round trip every call), and with totals reused (cache_ms = 10 minutes: no
# round trip when nothing is new), in one hyperfine run per case, against bench/floor.
#
#   far       the session's transcript has nothing new: the team call pushes nothing and reads the totals
#   appended  one new response (two lines) appended before the call: it is read, counted and pushed
#
# The fixture and the state handling are bench/hook-latency.sh's (a 10-turn session; hyperfine's --prepare
# restores the state each configuration saved, so every timed call is the same steady-state call). In the appended
# case the restored team.json has not pushed the new response, so every run pushes it: the server finds it
# already recorded after the first run, which costs it the same lookups, and the round trip is the same.
#
# Usage: bench/team-latency.sh [--bin PATH] [--floor PATH] [--runs N]
#   needs redis-server (Debian: apt-get install redis-server) and hyperfine >= 1.16 (HYPERFINE to choose one)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/target/release/ccbreaker
floor=$here/floor/target/release/ccbreaker-floor
runs=500
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --floor) floor=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
hyperfine=${HYPERFINE:-hyperfine}
bin=$(realpath "$bin")
floor=$(realpath "$floor")
command -v redis-server >/dev/null || { echo "no redis-server: apt-get install redis-server" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ccbreaker-team-latency-XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$work" >/dev/null 2>&1 &
redis_pid=$!
cleanup() {
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

# The fixture: bench/hook-latency.sh's (a 10-turn session with today's timestamps, one pending response, the
# events).
session=5e55b3a0-0000-4000-8000-00000000beef
project=$work/home/.claude/projects/-work-bench
transcript=$project/$session.jsonl
mkdir -p "$project" "$work/results"
python3 "$here/hook-fixture.py" "$work" "$transcript" "$session" 10

budget='[budget]\nsession_usd = 100\ndaily_usd = 0\ntimezone = "UTC"\n\n[transcripts]\nrescan_secs = 86400\n'
printf "$budget" >"$work/solo.toml"
printf "$budget"'\n[team]\nredis_url = "redis://127.0.0.1:%s/0"\nname = "bench"\nmember = "me"\ndaily_usd = 1000\ncache_ms = 0\n' "$port" >"$work/team.toml"
printf "$budget"'\n[team]\nredis_url = "redis://127.0.0.1:%s/0"\nname = "bench"\nmember = "me"\ndaily_usd = 1000\ncache_ms = 600000\n' "$port" >"$work/cached.toml"

env_of() {
    env -i PATH="$PATH" HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/config.toml" CCBREAKER_STATE_DIR="$work/state" "$@"
}
cp "$bin" "$work/ccbreaker"
event_of() { case $1 in appended) echo "$work/event-pending.json" ;; *) echo "$work/event-on-disk.json" ;; esac; }

# The saved state of each case and configuration: one hook call on the base transcript. The hook-latency prepare
# script restores state-CASE-WHICH; the config is copied in before it.
for case in far appended; do
    for which in solo team cached; do
        rm -rf "$work/state" && cp "$work/base.jsonl" "$transcript" && cp "$work/$which.toml" "$work/config.toml"
        env_of "$work/ccbreaker" hook <"$work/event-on-disk.json" >/dev/null
        cp -a "$work/state" "$work/state-$case-$which"
    done
done
# (hyperfine -N runs --prepare without a shell too: one bash -c command.)
prepare() { echo "bash -c 'cp $work/$2.toml $work/config.toml && bash $here/hook-latency-prepare.sh $work $1 $2'"; }

echo "Checking: one call of each, then what the server holds"
for which in solo team cached; do
    cp "$work/$which.toml" "$work/config.toml" && bash "$here/hook-latency-prepare.sh" "$work" appended "$which"
    out=$(env_of "$work/ccbreaker" hook <"$work/event-pending.json")
    [ -z "$out" ] || { echo "  $which: unexpected answer $out" >&2; exit 1; }
done
echo "  team day total: $(redis-cli -p "$port" get "ccbreaker:{bench}:day:$(date -u +%F)") pico-USD (11 responses)"
echo

for case in far appended; do
    echo "== $case ($runs runs)"
    env_of "$hyperfine" -N --warmup 10 --runs "$runs" --input "$(event_of "$case")" \
        --export-json "$work/results/$case.json" \
        --prepare "$(prepare "$case" solo)" --command-name "no team" "$work/ccbreaker hook" \
        --prepare "$(prepare "$case" team)" --command-name "team, cache_ms 0" "$work/ccbreaker hook" \
        --prepare "$(prepare "$case" cached)" --command-name "team, cache_ms 600000" "$work/ccbreaker hook" \
        --prepare "$(prepare "$case" solo)" --command-name "floor" "$floor"
    echo
done

echo "CPUs: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$work/results" <<'PY'
import json, statistics, sys
from pathlib import Path

print("| case | command | runs | p50 ms | mean ms | p50 - no team p50 | p50 / floor p50 |")
print("|---|---|---|---|---|---|---|")
for case in ("far", "appended"):
    results = {r["command"]: r for r in json.loads((Path(sys.argv[1]) / f"{case}.json").read_text())["results"]}
    solo = statistics.median(results["no team"]["times"])
    floor = statistics.median(results["floor"]["times"])
    for name, r in results.items():
        p50 = statistics.median(r["times"])
        print(f"| {case} | {name} | {len(r['times'])} | {p50 * 1e3:.2f} | {r['mean'] * 1e3:.2f} | "
              f"{(p50 - solo) * 1e3:+.2f} ms | {p50 / floor:.2f}x |")
PY
