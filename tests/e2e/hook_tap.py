#!/usr/bin/env python3
"""A transparent tap the harness puts in front of the hook under test: `hook_tap.py PROGRAM ARGS...`.

It passes stdin to PROGRAM, replays PROGRAM's stdout, stderr and exit code unchanged, and appends one JSON line
per call to $CCB_E2E_TAP_LOG: when it started and ended, the event (name, session, agent, tool), and exactly what
the hook answered. That is how a scenario sees "the hook printed nothing" or "the warning was sent once" without
trusting the hook's own account. If the client kills the tap (hook timeout), the line says so.
"""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time


def record(entry):
    path = os.environ.get("CCB_E2E_TAP_LOG")
    if not path:
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(entry) + "\n")


def main(argv):
    t0 = time.time()
    raw = sys.stdin.buffer.read()
    try:
        event = json.loads(raw)
    except ValueError:
        event = {}
    entry = {
        "t0": round(t0, 3),
        "event": event.get("hook_event_name"),
        "session_id": event.get("session_id"),
        "agent_id": event.get("agent_id"),
        "tool_name": event.get("tool_name"),
        "tool_use_id": event.get("tool_use_id"),
        "tool_calls": [c.get("tool_use_id") for c in event.get("tool_calls") or []],
        "prompt": (event.get("prompt") or "")[:300] if "prompt" in event else None,
        "argv": argv,
    }
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def killed(signum, _frame):
        child.kill()
        record({**entry, "t1": round(time.time(), 3), "rc": f"tap killed by signal {signum}"})
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, killed)
    signal.signal(signal.SIGINT, killed)
    out, err = child.communicate(raw)
    record({**entry, "t1": round(time.time(), 3), "rc": child.returncode, "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")})
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.buffer.write(err)
    sys.stderr.flush()
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
