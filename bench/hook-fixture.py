#!/usr/bin/env python3
"""The hook benchmarks' fixture (bench/hook-latency.sh, bench/team-latency.sh, bench/startup-ab.sh).

Usage: hook-fixture.py WORK TRANSCRIPT SESSION TURNS

Writes WORK/base.jsonl (a session of TURNS Bash turns on claude-opus-5-5 with today's timestamps, to be copied to
TRANSCRIPT), WORK/pending.jsonl (one more response, carrying toolu_bench_pending) and the two PreToolUse events
WORK/event-on-disk.json and WORK/event-pending.json, and the mod's request WORK/event-gate.json.
"""
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
