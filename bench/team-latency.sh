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

# The fixture: bench/hook-latency.sh's, built by running it with --runs 0 would time nothing; build it the same
# way here (a 10-turn session with today's timestamps, one pending response, the two events).
session=5e55b3a0-0000-4000-8000-00000000beef
project=$work/home/.claude/projects/-work-bench
transcript=$project/$session.jsonl
mkdir -p "$project" "$work/results"
python3 - "$work" "$transcript" "$session" <<'PY'
import json, sys, uuid
from datetime import datetime, timezone

work, transcript, session = sys.argv[1:]
now = datetime.now(timezone.utc)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
usage = {"input_tokens": 1200, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 20000,
         "output_tokens": 80, "service_tier": "standard",
         "cache_creation": {"ephemeral_5m_input_tokens": 3000, "ephemeral_1h_input_tokens": 0}}
common = {"isSidechain": False, "userType": "external", "cwd": "/work/bench", "sessionId": session,
          "version": "2.1.331", "timestamp": stamp}
parent = None

def line(kind, message, **more):
    global parent
    me = str(uuid.uuid4())
    out = {"parentUuid": parent, "type": kind, "message": message, "uuid": me, **common, **more}
    parent = me
    return json.dumps(out)

def response(i, tool_id):
    msg = {"id": f"msg_bench{i:04d}", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
           "stop_reason": "tool_use", "stop_sequence": None, "usage": usage}
    text = line("assistant", {**msg, "content": [{"type": "text", "text": f"Turn {i}."}]}, requestId=f"req_bench{i:04d}")
    call = line("assistant", {**msg, "content": [{"type": "tool_use", "id": tool_id, "name": "Bash",
                                                  "input": {"command": f"echo {i}"}}]}, requestId=f"req_bench{i:04d}")
    return [text, call]

def result(tool_id):
    return line("user", {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": "ok"}]})

lines = [line("user", {"role": "user", "content": "Run the steps."})]
for i in range(10):
    tool = "toolu_bench_last" if i == 9 else f"toolu_bench{i:04d}"
    lines += response(i, tool)
    if i < 9:
        lines.append(result(tool))
open(f"{work}/base.jsonl", "w").write("".join(l + "\n" for l in lines))
open(f"{work}/pending.jsonl", "w").write("".join(l + "\n" for l in [result("toolu_bench_last")] + response(10, "toolu_bench_pending")))
for name, tool in (("on-disk", "toolu_bench_last"), ("pending", "toolu_bench_pending")):
    event = {"session_id": session, "transcript_path": transcript, "cwd": "/work/bench", "permission_mode": "bypassPermissions",
             "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "echo next"}, "tool_use_id": tool}
    open(f"{work}/event-{name}.json", "w").write(json.dumps(event) + "\n")
PY

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
prepare() { echo "cp $work/$2.toml $work/config.toml && bash $here/hook-latency-prepare.sh $work $1 $2"; }

echo "Checking: one call of each, then what the server holds"
for which in solo team cached; do
    bash -c "$(prepare appended "$which")"
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
