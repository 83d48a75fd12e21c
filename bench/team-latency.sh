#!/usr/bin/env bash
# What team mode adds to a hook call: the warm `ccbreaker hook` call with no [team] table, with one pointed at a
# local redis-server (cache_ms = 0: one round trip every call), and with totals reused (cache_ms = 10 minutes: no
# round trip when nothing is new), against bench/floor, in rounds (see below).
#
#   far       the session's transcript has nothing new: the team call pushes nothing and reads the totals
#   appended  one new response (two lines) appended before the call: it is read, counted and pushed
#
# The fixture and the state handling are bench/hook-latency.sh's (a 10-turn session; hyperfine's --prepare
# restores the state each configuration saved, so every timed call is the same steady-state call). In the appended
# case the restored team.json has not pushed the new response, so every run pushes it: the server finds it
# already recorded after the first run, which costs it the same lookups, and the round trip is the same.
#
# Usage: bench/team-latency.sh [--bin PATH] [--floor PATH] [--runs N] [--rounds N]   (default 8 rounds of 100)
#   needs redis-server (Debian: apt-get install redis-server) and hyperfine >= 1.16 (HYPERFINE to choose one)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/target/release/ccbreaker
floor=$here/floor/target/release/ccbreaker-floor
runs=100
rounds=8
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --floor) floor=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
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

# Rounds of short runs, the order of the four commands rotated each round, so that a change of the machine's load
# between commands does not decide the result: the table gives the median over rounds of each p50, and of each
# round's difference from the no-team p50.
names=("no team" "team, cache_ms 0" "team, cache_ms 600000" "floor")
whiches=(solo team cached solo)
for case in far appended; do
    echo "== $case ($rounds rounds of $runs runs)"
    for round in $(seq 1 "$rounds"); do
        args=()
        for k in 0 1 2 3; do
            i=$(( (k + round) % 4 ))
            command="$work/ccbreaker hook"
            [ "$i" = 3 ] && command=$floor
            args+=(--prepare "$(prepare "$case" "${whiches[$i]}")" --command-name "${names[$i]}" "$command")
        done
        env_of "$hyperfine" -N --warmup 5 --runs "$runs" --input "$(event_of "$case")" --style none \
            --export-json "$work/results/$case-$round.json" "${args[@]}" >/dev/null
    done
done

echo "CPUs: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$work/results" "$rounds" <<'PY'
import json, statistics, sys
from pathlib import Path

rounds = int(sys.argv[2])
print("| case | command | p50 ms (median of rounds) | p50 - no team p50 (median of rounds) | p50 / floor p50 | CPU ms (user + sys, mean) |")
print("|---|---|---|---|---|---|")
for case in ("far", "appended"):
    results = [{r["command"]: r for r in json.loads((Path(sys.argv[1]) / f"{case}-{i}.json").read_text())["results"]}
               for i in range(1, rounds + 1)]
    per = [{name: statistics.median(r["times"]) for name, r in res.items()} for res in results]
    for name in ("no team", "team, cache_ms 0", "team, cache_ms 600000", "floor"):
        p50 = statistics.median(p[name] for p in per)
        diff = statistics.median(p[name] - p["no team"] for p in per)
        ratio = statistics.median(p[name] / p["floor"] for p in per)
        cpu = statistics.mean(res[name]["user"] + res[name]["system"] for res in results)
        print(f"| {case} | {name} | {p50 * 1e3:.2f} | {diff * 1e3:+.2f} ms | {ratio:.2f}x | {cpu * 1e3:.2f} |")
PY
