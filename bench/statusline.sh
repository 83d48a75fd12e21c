#!/usr/bin/env bash
# Latency of one `ccbreaker statusline` call (Claude Code runs it each time its status line refreshes) against the
# floor (bench/floor: a bare Rust process that reads and parses the same JSON and stats the transcript), with
# hyperfine -N --input and a statusline payload as Claude Code 2.1.331 sends it (rate_limits included), in two
# cases:
#
#   one       the ledger holds the session itself (10 responses)
#   busy      the ledger also holds 50 other sessions active today, 500 transcript files in all
#
# The state is made once by a hook call (and, for busy, `status`, which walks every file); the statusline reads the
# ledger as it is, without the lock, and writes nothing when the payload's rate_limits are unchanged, so every
# timed call is the warm call. With --base, an earlier build runs in the same hyperfine run too.
#
# Usage: bench/statusline.sh [--bin PATH] [--base PATH] [--floor PATH] [--runs N] [--keep]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/target/release/ccbreaker
base=
floor=$here/floor/target/release/ccbreaker-floor
runs=500
keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --floor) floor=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
hyperfine=${HYPERFINE:-hyperfine}
bin=$(realpath "$bin")
floor=$(realpath "$floor")
[ -x "$bin" ] || { echo "no ccbreaker at $bin: cargo build --release" >&2; exit 2; }
[ -x "$floor" ] || { echo "no floor at $floor: cargo build --release --manifest-path bench/floor/Cargo.toml" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ccbreaker-statusline-XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

session=5e55b3a0-0000-4000-8000-00000000beef
python3 - "$work" "$session" <<'PY'
import json, sys, uuid
from datetime import datetime, timezone, timedelta
from pathlib import Path

work, session = Path(sys.argv[1]), sys.argv[2]
now = datetime.now(timezone.utc)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
usage = {"input_tokens": 1200, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 20000,
         "output_tokens": 80, "cache_creation": {"ephemeral_5m_input_tokens": 3000, "ephemeral_1h_input_tokens": 0}}

def transcript(path, sid, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines, parent = [], None
    for i in range(n):
        me = str(uuid.uuid4())
        msg = {"id": f"msg_{sid[:8]}{i:04d}", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
               "stop_reason": "end_turn", "usage": usage, "content": [{"type": "text", "text": "ok"}]}
        lines.append(json.dumps({"parentUuid": parent, "type": "assistant", "message": msg, "uuid": me,
                                 "requestId": f"req_{sid[:8]}{i:04d}", "sessionId": sid, "timestamp": stamp}))
        parent = me
    path.write_text("".join(l + "\n" for l in lines))

for case in ("one", "busy"):
    projects = work / case / "home/.claude/projects"
    main = projects / "-work-bench" / f"{session}.jsonl"
    transcript(main, session, 10)
    if case == "busy":
        for s in range(50):
            sid = str(uuid.uuid4())
            transcript(projects / f"-work-p{s % 5}" / f"{sid}.jsonl", sid, 5)
            for a in range(9):
                transcript(projects / f"-work-p{s % 5}" / sid / "subagents" / f"agent-{a}.jsonl", sid, 2)
    event = {"session_id": session, "transcript_path": str(main), "cwd": "/work/bench", "hook_event_name": "PreToolUse",
             "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_x"}
    (work / case / "event.json").write_text(json.dumps(event) + "\n")
    resets = int((now + timedelta(hours=3)).timestamp())
    payload = {"hook_event_name": "Status", "session_id": session, "transcript_path": str(main), "cwd": "/work/bench",
               "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
               "workspace": {"current_dir": "/work/bench", "project_dir": "/work/bench"}, "version": "2.1.331",
               "output_style": {"name": "default"},
               "cost": {"total_cost_usd": 0.25, "total_duration_ms": 45000, "total_api_duration_ms": 2300,
                        "total_lines_added": 156, "total_lines_removed": 23},
               "context_window": {"total_input_tokens": 15234, "total_output_tokens": 4521, "context_window_size": 200000},
               "exceeds_200k_tokens": False,
               "rate_limits": {"five_hour": {"used_percentage": 42.0, "resets_at": resets},
                               "seven_day": {"used_percentage": 15.0, "resets_at": resets + 86400 * 3}}}
    (work / case / "payload.json").write_text(json.dumps(payload) + "\n")
PY

env_of() {
    local case=$1
    shift
    env -i PATH="$PATH" HOME="$work/$case/home" TZ=UTC COLUMNS=120 CCBREAKER_CONFIG="$work/config.toml" \
        CCBREAKER_STATE_DIR="$work/$case/state" "$@"
}
printf '[budget]\nsession_usd = 20\ndaily_usd = 50\ntimezone = "UTC"\n' >"$work/config.toml"
for case in one busy; do
    env_of "$case" "$bin" status >/dev/null
    env_of "$case" "$bin" hook <"$work/$case/event.json" >/dev/null
    env_of "$case" "$bin" statusline <"$work/$case/payload.json" >/dev/null
    echo "$case: $(env_of "$case" "$bin" statusline <"$work/$case/payload.json")"
    echo "  ledger: $(cat "$work/$case/state"/ledger-?.bin | wc -c) bytes in two slots"
done
echo

mkdir -p "$work/results"
for case in one busy; do
    echo "== $case ($runs runs)"
    commands=(--command-name "ccbreaker statusline" "$bin statusline")
    [ -z "$base" ] || commands+=(--command-name "base statusline" "$(realpath "$base") statusline")
    commands+=(--command-name "floor" "$floor")
    env_of "$case" "$hyperfine" -N --warmup 20 --runs "$runs" --input "$work/$case/payload.json" \
        --export-json "$work/results/$case.json" "${commands[@]}"
    echo
done

echo "CPUs: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$work/results" <<'PY'
import json, statistics, sys
from pathlib import Path

print("| case | command | runs | p50 ms | mean ms | p50 / floor p50 | mean / floor mean |")
print("|---|---|---|---|---|---|---|")
for case in ("one", "busy"):
    results = {r["command"]: r for r in json.loads((Path(sys.argv[1]) / f"{case}.json").read_text())["results"]}
    floor = results["floor"]
    for name, r in results.items():
        p50, mean = statistics.median(r["times"]), r["mean"]
        ratio = "1 | 1" if name == "floor" else f"{p50 / statistics.median(floor['times']):.2f}x | {mean / floor['mean']:.2f}x"
        print(f"| {case} | {name} | {len(r['times'])} | {p50 * 1e3:.2f} | {mean * 1e3:.2f} | {ratio} |")
PY
