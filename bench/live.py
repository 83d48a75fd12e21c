#!/usr/bin/env python3
"""What the live views cost (issue 21), with a gigabyte of history (../shared/tools/gen-transcripts.py, 30 days,
last written weeks ago) and 20 sessions active today (a response a minute each over the last 20 minutes):

1. watch's idle CPU: `ccbreaker watch` full screen in tmux (80x24), left alone for --seconds after it settled; its
   CPU time (user + system, from /proc/<pid>/stat, which is what pidstat reads) over that time as a share of one
   core. Its start-up (the first refresh, which sums every transcript once for the 5-hour block and fills the
   report cache) is reported apart, as /usr/bin/time -v would count it.
2. The dashboard's SSE latency: a response appended to an active session's transcript, to the `frame` event that
   carries the new total, --samples times; beside it, in the same run, `ccbreaker status --json` (one refresh
   with a walk of every root: what the dashboard does when a transcript changed) as the reference.

Usage: bench/live.py [--bin-dir target/release] [--work DIR] [--seconds 60] [--samples 20] [--size-mb 1024]
                     [--rescan-secs 10] [--no-dashboard]
Needs tmux, python3 and a release build (cargo build --release). The machine it ran on is in BENCHMARKS.md.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ACTIVE = 20


def history(work, size_mb):
    """The generated history, every file's time set weeks back: a walk stats it and reads none of it."""
    out = work / f"history-{size_mb}"
    if not (out / ".done").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, str(SHARED / "tools/gen-transcripts.py"), "--out", str(out), "--size-mb",
                        str(size_mb), "--seed", "21", "--days", "30", "--start", "2026-10-01", "--client", "mixed",
                        "--models", "all"], check=True, stdout=subprocess.DEVNULL)
        old = time.time() - 20 * 86400
        for path in (out / "projects").rglob("*.jsonl"):
            os.utime(path, (old, old))
        (out / ".done").write_text("")
    return out


def line(session, i, at, output=2000):
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "type": "assistant", "uuid": f"{session}-u{i}",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "sessionId": session, "requestId": f"req_{session}_{i}",
        "version": "2.1.331",
        "message": {"model": "claude-sonnet-4-5", "id": f"msg_{session}_{i}", "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1000, "output_tokens": output, "cache_read_input_tokens": 50000}}}) + "\n"


def setup(work, size_mb, rescan_secs):
    src = history(work, size_mb)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    (home / ".claude").mkdir(parents=True)
    os.symlink(src / "projects", home / ".claude" / "projects")
    active = work / "active"
    shutil.rmtree(active, ignore_errors=True)
    now = datetime.now(timezone.utc)
    transcripts = []
    for s in range(ACTIVE):
        project = active / "projects" / f"-bench-live-{s % 4}"
        project.mkdir(parents=True, exist_ok=True)
        path = project / f"live-{s:02d}.jsonl"
        path.write_text("".join(line(f"live-{s:02d}", i, now - timedelta(minutes=20 - i)) for i in range(20)))
        transcripts.append(path)
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    config = work / "config.toml"
    config.write_text(f'[budget]\nsession_usd = 50\ndaily_usd = 500\n\n[transcripts]\nextra_roots = ["{active}"]\n'
                      f'rescan_secs = {rescan_secs}\n')
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "TZ": "UTC", "CCBREAKER_CONFIG": str(config),
           "CCBREAKER_STATE_DIR": str(state), "TERM": "xterm-256color"}
    return env, transcripts


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def watch_idle(bin_dir, env, seconds):
    sock = f"ccbreaker-bench-{os.getpid()}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    started = time.monotonic()
    subprocess.run(tmux + ["new-session", "-d", "-s", "w", "-x", "80", "-y", "24", str(bin_dir / "ccbreaker"),
                           "watch"], env=env, check=True)
    try:
        while b"q quit" not in subprocess.run(tmux + ["capture-pane", "-p", "-t", "w"], capture_output=True).stdout:
            time.sleep(0.05)
        first_frame = time.monotonic() - started
        pid = int(subprocess.run(tmux + ["list-panes", "-t", "w", "-F", "#{pane_pid}"], capture_output=True,
                                 text=True).stdout.split()[0])
        # `ccbreaker watch` execs ccbreaker-net, which keeps the pane's pid.
        startup_ticks = cpu_ticks(pid)
        time.sleep(5)
        before, t0 = cpu_ticks(pid), time.monotonic()
        time.sleep(seconds)
        after, elapsed = cpu_ticks(pid), time.monotonic() - t0
        rss = next(int(l.split()[1]) for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if l.startswith("VmHWM:"))
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    hz = os.sysconf("SC_CLK_TCK")
    return {"first_frame_s": round(first_frame, 2), "startup_cpu_s": startup_ticks / hz,
            "idle_cpu_percent_of_one_core": round((after - before) / hz / elapsed * 100, 3),
            "idle_seconds": round(elapsed, 1), "max_rss_kb": rss}


def sse_latency(bin_dir, env, transcripts, samples):
    proc = subprocess.Popen([str(bin_dir / "ccbreaker"), "dashboard"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split("http://", 1)[1].strip()
        addr, token = url.split("/?token=")
        host, port = addr.split(":")
        conn = socket.create_connection((host, int(port)))
        conn.sendall(f"GET /events?token={token} HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode())
        stream = conn.makefile("rb")

        def next_frame():
            name = None
            while True:
                raw = stream.readline()
                if not raw:
                    raise SystemExit("the event stream ended")
                if raw.startswith(b"event: "):
                    name = raw[7:].strip()
                elif raw.startswith(b"data: ") and name == b"frame":
                    return json.loads(raw[6:])

        total = next_frame()["status"]["day"]["cost_usd"]
        latencies = []
        for n in range(samples):
            time.sleep(1.3)  # not in step with the view's 1 s tick
            path = transcripts[n % len(transcripts)]
            session = path.stem
            t0 = time.monotonic()
            with open(path, "a") as f:
                f.write(line(session, 1000 + n, datetime.now(timezone.utc), output=5000))
            while True:
                frame = next_frame()
                if frame["status"]["day"]["cost_usd"] != total:
                    total = frame["status"]["day"]["cost_usd"]
                    break
            latencies.append((time.monotonic() - t0) * 1000)
    finally:
        proc.kill()
        proc.wait()
    status = []
    for _ in range(10):
        t0 = time.monotonic()
        subprocess.run([str(bin_dir / "ccbreaker"), "status", "--json"], env=env, check=True, capture_output=True)
        status.append((time.monotonic() - t0) * 1000)
    q = statistics.quantiles(latencies, n=20)
    return {"samples": samples, "latency_ms_p50": round(statistics.median(latencies), 1), "latency_ms_p95": round(q[18], 1),
            "latency_ms_max": round(max(latencies), 1), "status_json_ms_p50": round(statistics.median(status), 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", type=Path, default=REPO / "target/release")
    p.add_argument("--work", type=Path, default=Path("/tmp/ccbreaker-bench-live"))
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--rescan-secs", type=int, default=10, help="transcripts.rescan_secs (the default: 10)")
    p.add_argument("--no-dashboard", action="store_true", help="measure watch only")
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    env, transcripts = setup(a.work, a.size_mb, a.rescan_secs)
    files = sum(1 for _ in (a.work / f"history-{a.size_mb}" / "projects").rglob("*.jsonl"))
    print(json.dumps({"history_mb": a.size_mb, "history_files": files, "active_sessions": ACTIVE,
                      "rescan_secs": a.rescan_secs, "load_average": os.getloadavg()[0]}))
    print(json.dumps({"watch": watch_idle(a.bin_dir.resolve(), env, a.seconds)}))
    if not a.no_dashboard:
        print(json.dumps({"dashboard": sse_latency(a.bin_dir.resolve(), env, transcripts, a.samples)}))


if __name__ == "__main__":
    main()
