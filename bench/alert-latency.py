#!/usr/bin/env python3
"""What raising an alert costs a hook call, and how soon the alert arrives.

  python3 bench/alert-latency.py [--bin target/release/ccbreaker] [--runs 200]

A blocked session (3 responses of $7 against a $20 session budget), then `ccbreaker hook` on its PreToolUse, timed
from this script (process start to exit), in turns:

  quiet    no [alerts]: the block is answered, nothing else happens
  cooled   [alerts] with a webhook, inside its cooldown: the hook takes the alerts' lock, sees it sent, sends nothing
  raised   the same with cooldown_minutes = 0: every call raises an alert, starting `ccbreaker-net alert deliver`
           detached (the case of the one call per cooldown that does)

and for `raised`, when the alert reached a local HTTP server on 127.0.0.1 (from the hook's start). Each raised call
waits for its delivery to finish before the next call starts, so deliveries never compete with the timed calls.
The cases alternate call by call, each followed by the same pause, so they see the same machine. Prints a Markdown table.
"""

import argparse
import http.server
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--bin", default="target/release/ccbreaker")
p.add_argument("--runs", type=int, default=200)
a = p.parse_args()
binary = str(Path(a.bin).resolve())

arrivals = []
done = threading.Event()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        arrivals.append(time.perf_counter())
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.end_headers()
        done.set()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/hook"

work = Path(tempfile.mkdtemp(prefix="ccbreaker-alert-latency-"))
project = work / "home/.claude/projects/-work-bench"
project.mkdir(parents=True)
now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
lines, parent = [], None
for i in range(3):
    me = f"uuid-{i}"
    msg = {"id": f"msg_{i}", "model": "claude-sonnet-5", "role": "assistant", "type": "message", "stop_reason": "end_turn",
           "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 0, "output_tokens": 700_000}}
    lines.append(json.dumps({"parentUuid": parent, "type": "assistant", "uuid": me, "requestId": f"req_{i}",
                             "timestamp": now, "message": msg}))
    parent = me
transcript = project / "s1.jsonl"
transcript.write_text("\n".join(lines) + "\n")
event = json.dumps({"session_id": "s1", "transcript_path": str(transcript), "hook_event_name": "PreToolUse",
                    "tool_name": "Bash", "tool_input": {"command": "ls"}}).encode()
budget = "[budget]\nsession_usd = 20\n[transcripts]\nrescan_secs = 86400\n"
configs = {
    "quiet": budget,
    "cooled": budget + f'[alerts]\nwebhook_url = "{url}"\ncooldown_minutes = 10000\n',
    "raised": budget + f'[alerts]\nwebhook_url = "{url}"\ncooldown_minutes = 0\n',
}
for name, text in configs.items():
    (work / f"{name}.toml").write_text(text)
env = {"PATH": os.environ["PATH"], "HOME": str(work / "home"), "CCBREAKER_STATE_DIR": str(work / "state")}


def call(case):
    done.clear()
    t0 = time.perf_counter()
    out = subprocess.run([binary, "hook"], input=event, capture_output=True, env={**env, "CCBREAKER_CONFIG": str(work / f"{case}.toml")})
    t1 = time.perf_counter()
    assert b'"continue":false' in out.stdout, out
    arrival = None
    if case == "raised":
        assert done.wait(10), "no alert arrived"
        arrival = arrivals[-1] - t0
    time.sleep(0.03)  # after every call alike: a deliverer records its result and exits before the next call
    return t1 - t0, arrival


for case in ("quiet", "cooled", "raised", "cooled"):
    call(case)  # warm-up; the first `cooled` call sends, the next ones are within its cooldown
times = {case: [] for case in configs}
arrived = []
for _ in range(a.runs):
    for case in configs:
        took, arrival = call(case)
        times[case].append(took)
        if arrival is not None:
            arrived.append(arrival)

quiet = statistics.median(times["quiet"])
print(f"CPUs: {os.cpu_count()}, load average {' '.join(open('/proc/loadavg').read().split()[:3])}, {a.runs} calls each\n")
print("| case | p50 ms | mean ms | p90 ms | p50 / quiet p50 |")
print("|---|---|---|---|---|")
for case, ts in times.items():
    ts = sorted(ts)
    print(f"| {case} | {statistics.median(ts) * 1e3:.2f} | {statistics.mean(ts) * 1e3:.2f} | {ts[int(len(ts) * 0.9)] * 1e3:.2f} | {statistics.median(ts) / quiet:.2f}x |")
arrived.sort()
print(f"\nalert at the server, from the hook's start: p50 {statistics.median(arrived) * 1e3:.1f} ms, "
      f"p90 {arrived[int(len(arrived) * 0.9)] * 1e3:.1f} ms, max {arrived[-1] * 1e3:.1f} ms")
server.shutdown()
