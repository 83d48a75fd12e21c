#!/usr/bin/env bash
# Latency of one `ccbreaker hook` call against the floor (bench/floor: a bare Rust process that reads and parses
# the same event and stats the transcript), with hyperfine, in four cases:
#
#   far       session budget $100: the hook never waits
#   near      session budget $1, the call's tool_use_id already on disk: within one response of the budget, no wait
#   arrives   session budget $1, the call's tool_use_id appended ~100 ms after the run starts: the hook waits for it
#   appended  session budget $100, one new response (two lines) appended before the call: it is read, looked up in
#             the key index and counted
#   gate      session budget $100: `ccbreaker gate` asked by the mod about the session's next model request (it
#             reads the session as a hook does, decides, and holds the request's estimate); no --base run (a binary
#             before the mod has no `gate`)
#
# Each case is one hyperfine run of every command, so every ratio compares numbers measured in the same run. With
# --base, an earlier build runs in the same hyperfine run too (each binary with the state it saved itself): the
# before/after figure for a change to the hook path.
#
# Usage: bench/hook-latency.sh [--bin PATH] [--base PATH] [--floor PATH] [--runs N] [--slow-runs N] [--turns N] [--keep]
#   --bin        ccbreaker release binary (default: target/release/ccbreaker)
#   --base       an earlier ccbreaker release binary to compare with (e.g. built from main before the change)
#   --floor      the floor binary (default: bench/floor/target/release/ccbreaker-floor;
#                build it: cargo build --release --manifest-path bench/floor/Cargo.toml)
#   --runs       timed runs of the far and near cases (default 300)
#   --slow-runs  timed runs of the arrives case (default 40; each takes ~100 ms)
#   --turns      responses in the session before the call (default 10; more makes a busier day's key index)
#   --keep       keep the work directory (the fixtures and hyperfine's JSON exports)
#   HYPERFINE    the hyperfine to use (default: hyperfine on PATH); it needs --input, so 1.16 or later
#                (Debian bookworm ships 1.15: cargo install hyperfine --locked --version 1.20.0)
#
# The fixture: a session of 10 Bash turns (30 lines, about 22 KB) on claude-opus-5-5, $0.0254 a response, $0.254
# in all, written with today's timestamps. Before the timed runs, one hook call on it fills the state directory,
# which is then saved; hyperfine's --prepare (bench/hook-latency-prepare.sh) restores that state and the
# transcript before every run, so each timed call is the steady-state call of a running session (it reads no new
# bytes, except the appended line in the arrives case). transcripts.rescan_secs is a day, so no timed call walks
# the transcript directories (by default a hook walks them at most every 10 s).
#
# The arrives case: its --prepare step also starts a background appender (`sleep 0.1; cat line >> transcript`,
# stdio closed) and returns at once; the timed call starts right after, so the response carrying the call's
# tool_use_id lands ~100 ms into the call and the hook, polling every 10 ms, answers soon after. The floor gets
# the same --prepare. Each prepare waits until the previous appender has written its line (it leaves a marker
# file) before it restores anything, so no line from an earlier run lands in a later one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/target/release/ccbreaker
base=
floor=$here/floor/target/release/ccbreaker-floor
runs=300
slow_runs=40
turns=10
keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --floor) floor=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --slow-runs) slow_runs=$2; shift 2 ;;
        --turns) turns=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
hyperfine=${HYPERFINE:-hyperfine}
bin=$(realpath "$bin")
[ -z "$base" ] || base=$(realpath "$base")
floor=$(realpath "$floor")
[ -x "$bin" ] || { echo "no ccbreaker at $bin: cargo build --release" >&2; exit 2; }
[ -x "$floor" ] || { echo "no floor at $floor: cargo build --release --manifest-path bench/floor/Cargo.toml" >&2; exit 2; }
if ! "$hyperfine" --help 2>/dev/null | grep -q -- '--input'; then
    echo "$hyperfine has no --input (needs hyperfine >= 1.16): cargo install hyperfine --locked --version 1.20.0" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ccbreaker-hook-latency-XXXXXX")
cleanup() {
    # Let the last appender, if one was started, write its line before the work dir goes.
    if [ -f "$work/appender.started" ]; then
        while [ ! -f "$work/appender.done" ]; do sleep 0.01; done
    fi
    if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

session=5e55b3a0-0000-4000-8000-00000000beef
project=$work/home/.claude/projects/-work-bench
transcript=$project/$session.jsonl
mkdir -p "$project" "$work/results"

# The fixture: base.jsonl (the session), pending.jsonl (one more response, carrying toolu_bench_pending) and the
# two PreToolUse events.
python3 - "$work" "$transcript" "$session" "$turns" <<'PY'
import json, sys, uuid
from datetime import datetime, timezone

work, transcript, session, turns = sys.argv[1:]
turns = int(turns)
now = datetime.now(timezone.utc)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
usage = {"input_tokens": 1200, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 20000,
         "output_tokens": 80, "service_tier": "standard",
         "cache_creation": {"ephemeral_5m_input_tokens": 3000, "ephemeral_1h_input_tokens": 0}}
common = {"isSidechain": False, "userType": "external", "entrypoint": "sdk-cli", "cwd": "/work/bench",
          "sessionId": session, "version": "2.1.331", "timestamp": stamp}
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
    text = line("assistant", {**msg, "content": [{"type": "text", "text": f"Turn {i}: running a command."}]},
                requestId=f"req_bench{i:04d}")
    call = line("assistant", {**msg, "content": [{"type": "tool_use", "id": tool_id, "name": "Bash",
                                                  "input": {"command": f"echo {i}", "description": "a step"}}]},
                requestId=f"req_bench{i:04d}")
    return [text, call]

def result(tool_id):
    return line("user", {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result",
                                                      "content": "(Bash completed with no output)", "is_error": False}]})

lines = [line("user", {"role": "user", "content": "Run the steps."})]
for i in range(turns):
    tool = "toolu_bench_last" if i == turns - 1 else f"toolu_bench{i:04d}"
    lines += response(i, tool)
    if i < turns - 1:
        lines.append(result(tool))
open(f"{work}/base.jsonl", "w").write("".join(l + "\n" for l in lines))
open(f"{work}/pending.jsonl", "w").write("".join(l + "\n" for l in [result("toolu_bench_last")] + response(turns, "toolu_bench_pending")))
for name, tool in (("on-disk", "toolu_bench_last"), ("pending", "toolu_bench_pending")):
    event = {"session_id": session, "transcript_path": transcript, "cwd": "/work/bench", "permission_mode": "bypassPermissions",
             "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "echo next"}, "tool_use_id": tool}
    open(f"{work}/event-{name}.json", "w").write(json.dumps(event) + "\n")
step = {"op": "step", "session": session, "transcript": transcript, "agent": "", "step": "bench-turn/10", "model": "claude-opus-5-5"}
open(f"{work}/event-gate.json", "w").write(json.dumps(step) + "\n")
PY

cases="far near arrives appended gate"
for case in $cases; do
    case $case in far | appended | gate) usd=100 ;; *) usd=1 ;; esac
    printf '[budget]\nsession_usd = %s\ndaily_usd = 0\nwarn_at = 0.9\ntimezone = "UTC"\n\n[policy]\non_breach = "stop"\n\n[transcripts]\nrescan_secs = 86400\n' \
        "$usd" >"$work/$case.toml"
done

# What every ccbreaker and floor process sees: nothing from the caller's environment but PATH.
env_of() {
    env -i PATH="$PATH" HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/$1.toml" CCBREAKER_STATE_DIR="$work/state" "${@:2}"
}

# The binaries under test, by name: `bin`, and `base` with --base.
cp "$bin" "$work/ccbreaker-bin"
whiches=bin
if [ -n "$base" ]; then
    cp "$base" "$work/ccbreaker-base"
    whiches="bin base"
fi

# The saved state of each case and binary: one hook call on the base transcript.
for case in $cases; do
    for which in $whiches; do
        rm -rf "$work/state" && cp "$work/base.jsonl" "$transcript"
        env_of "$case" "$work/ccbreaker-$which" hook <"$work/event-on-disk.json" >/dev/null
        cp -a "$work/state" "$work/state-$case-$which"
    done
done

event_of() {
    case $1 in
        arrives | appended) echo "$work/event-pending.json" ;;
        gate) echo "$work/event-gate.json" ;;
        *) echo "$work/event-on-disk.json" ;;
    esac
}
subcommand_of() { if [ "$1" = gate ]; then echo gate; else echo hook; fi; }

# Proof that each case is what it says: one call outside hyperfine, then `status --json` shows its wait_us.
echo "Checking the cases (one call each, then ccbreaker status --json):"
for case in $cases; do
    bash "$here/hook-latency-prepare.sh" "$work" "$case" bin
    out=$(env_of "$case" "$bin" "$(subcommand_of "$case")" <"$(event_of "$case")")
    status=$(env_of "$case" "$bin" status --json)
    python3 - "$case" "$out" "$status" <<'PY'
import json, sys
case, out, status = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
hook = status.get("last_hook") or {}
wait = hook.get("wait_us")
want = "> 0" if case == "arrives" else "== 0"
allowed = out == "" or (case == "gate" and json.loads(out) == {"allow": True})
ok = allowed and wait is not None and (wait > 0 if case == "arrives" else wait == 0)
print(f"  {case:8} answer {'allow' if allowed else repr(out)}, wait_us {wait} (want {want}), session ${status['sessions'][0]['cost_usd']}: {'ok' if ok else 'UNEXPECTED'}")
if not ok:
    sys.exit(1)
PY
done
echo

for case in $cases; do
    n=$runs
    [ "$case" = arrives ] && n=$slow_runs
    echo "== $case ($n runs)"
    # One --prepare per command, in order: each binary's own state; the floor needs only the transcript.
    commands=(--prepare "bash $here/hook-latency-prepare.sh $work $case bin" --command-name "ccbreaker hook" "$work/ccbreaker-bin $(subcommand_of "$case")")
    if [ -n "$base" ] && [ "$case" != gate ]; then
        commands+=(--prepare "bash $here/hook-latency-prepare.sh $work $case base" --command-name "base hook" "$work/ccbreaker-base hook")
    fi
    commands+=(--prepare "bash $here/hook-latency-prepare.sh $work $case bin" --command-name "floor" "$floor")
    env_of "$case" "$hyperfine" -N --warmup 5 --runs "$n" \
        --input "$(event_of "$case")" \
        --export-json "$work/results/$case.json" \
        "${commands[@]}"
    echo
done

echo "CPUs: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$work/results" <<'PY'
import json, statistics, sys
from pathlib import Path

what = {
    "far": "(a) far from the budget",
    "near": "(b) near, tool_use_id on disk",
    "arrives": "(c) near, tool_use_id lands after ~100 ms",
    "appended": "(d) far, one new response to read and count",
    "gate": "(e) the mod's gate: a model request, far",
}
print("| case | command | runs | p50 ms | mean ms | max ms | p50 / floor p50 | mean / floor mean |")
print("|---|---|---|---|---|---|---|---|")
for case, label in what.items():
    results = {r["command"]: r for r in json.loads((Path(sys.argv[1]) / f"{case}.json").read_text())["results"]}
    floor = results["floor"]
    for name in ("ccbreaker hook", "base hook", "floor"):
        if name not in results:
            continue
        r = results[name]
        p50, mean = statistics.median(r["times"]), r["mean"]
        ratio = f"{p50 / statistics.median(floor['times']):.2f}x | {mean / floor['mean']:.2f}x" if name != "floor" else "1 | 1"
        print(f"| {label} | {name} | {len(r['times'])} | {p50 * 1e3:.2f} | {mean * 1e3:.2f} | {max(r['times']) * 1e3:.2f} | {ratio} |")
PY
