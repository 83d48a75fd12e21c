#!/usr/bin/env python3
"""The fan-out storm (issue 18): one session's 300 subagent transcripts growing at once, each subagent firing its
hook, in waves as the client fires them, with the subagent caps and a burn-rate breaker set. Reports the hook's
p50/p99 under the storm against the quiet p50 measured in the same run (the same session and state, one call at a
time), checks that every call answered, that the spawns past max_active were refused exactly, and that the total is
the truth.

    python3 bench/storm.py [--bin target/release/ccbreaker] [--agents 300] [--waves 10] [--threads 16]

Each call's time is the wall-clock time of its process (spawn, answer, exit), as the client waits for it.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-24T12:00:00Z"
PROJECT = "-work-proj"


def response(rid, at, output=1000):
    return json.dumps({"parentUuid": None, "isSidechain": True, "type": "assistant", "uuid": f"u-{rid}",
                       "timestamp": at, "sessionId": "s1", "version": "2.1.331", "requestId": f"req_{rid}",
                       "message": {"model": "claude-sonnet-5", "id": f"msg_{rid}", "type": "message",
                                   "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                                   "stop_reason": "end_turn",
                                   "usage": {"input_tokens": 0, "output_tokens": output,
                                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/ccbreaker"))
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--waves", type=int, default=10)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--quiet-runs", type=int, default=200)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-storm-"))
    home, state, config = work / "home", work / "state", work / "config.toml"
    project = home / ".claude/projects" / PROJECT
    (project / "s1/subagents").mkdir(parents=True)
    main = project / "s1.jsonl"
    main.write_text(response("main-0", "2026-11-24T11:00:00Z") + "\n")
    config.write_text("[budget]\nsession_usd = 0\ndaily_usd = 0\n[breaker.subagents]\nmax_active = 8\n"
                      "max_per_session = 100000\n[breaker.burn_rate]\nusd = 100000\nminutes = 10\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TZ": "UTC", "CCBREAKER_CONFIG": str(config),
           "CCBREAKER_STATE_DIR": str(state), "CCBREAKER_NOW": NOW}

    def hook(event):
        started = time.perf_counter()
        out = subprocess.run([args.bin, "hook"], input=json.dumps(event).encode(), env=env, capture_output=True)
        return time.perf_counter() - started, out

    def event(name="PreToolUse", agent=None, tool="Bash", tool_input=None):
        e = {"session_id": "s1", "transcript_path": str(main), "cwd": "/work/proj", "hook_event_name": name,
             "tool_name": tool, "tool_input": tool_input or {"command": "ls"}}
        if agent:
            e["agent_id"] = agent
        return e

    hook(event("UserPromptSubmit"))
    # Quiet: the same session, one call at a time (its files as they are: nothing new to read).
    for a in range(args.agents):
        (project / f"s1/subagents/agent-a{a}.jsonl").write_text(response(f"seed-{a}", "2026-11-24T11:58:00Z") + "\n")
    hook(event())
    quiet = sorted(hook(event())[0] for _ in range(args.quiet_runs))
    # The fan-out: 40 spawns at once against max_active = 8.
    with ThreadPoolExecutor(40) as pool:
        spawns = list(pool.map(lambda _: hook(event(tool="Agent")), range(40)))
    started = sum(1 for _, out in spawns if out.returncode == 0 and not out.stdout.strip())
    # The storm: waves in which every subagent appends a response and fires its hook, `threads` at a time.
    times, failures = [], 0
    lock = threading.Lock()

    def one(wave, a):
        nonlocal failures
        with open(project / f"s1/subagents/agent-a{a}.jsonl", "a") as f:
            f.write(response(f"w{wave}-a{a}", "2026-11-24T11:59:00Z") + "\n")
        took, out = hook(event(agent=f"a{a}", tool_input={"command": f"step {wave}"}))
        with lock:
            times.append(took)
            if out.returncode != 0 or out.stdout.strip():
                failures += 1

    storm_started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        for wave in range(args.waves):
            list(pool.map(lambda a: one(wave, a), range(args.agents)))
    storm_secs = time.perf_counter() - storm_started
    status = json.loads(subprocess.run([args.bin, "status", "--json", "--session", "s1"], env=env,
                                       capture_output=True, check=True).stdout)
    row = next(s for s in status["sessions"] if s["session_id"] == "s1")
    truth = 1000 * (1 + args.agents + args.agents * args.waves)
    times.sort()

    def pct(xs, p):
        return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

    q50 = pct(quiet, 0.5)
    print(f"quiet: {len(quiet)} calls, p50 {q50:.2f} ms, p99 {pct(quiet, 0.99):.2f} ms")
    print(f"storm: {len(times)} calls in {storm_secs:.1f} s ({len(times) / storm_secs:.0f}/s, {args.threads} at once), "
          f"p50 {pct(times, 0.5):.2f} ms ({pct(times, 0.5) / q50:.2f}x quiet p50), "
          f"p99 {pct(times, 0.99):.2f} ms ({pct(times, 0.99) / q50:.2f}x), max {times[-1] * 1000:.0f} ms; "
          f"failures {failures}")
    print(f"spawns: 40 at once, {started} started (max_active 8)")
    print(f"total: {row['output_tokens']} output tokens, truth {truth}: {'exact' if row['output_tokens'] == truth else 'WRONG'}")
    shutil.rmtree(work)
    sys.exit(0 if failures == 0 and started == 8 and row["output_tokens"] == truth else 1)


if __name__ == "__main__":
    main()
