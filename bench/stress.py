#!/usr/bin/env python3
"""Stress: many hook processes at once and hooks killed at random points, while a writer appends transcripts;
afterwards the totals must equal the generator's truth exactly (issue "Trust under faults", items 1 and 2).

    python3 bench/stress.py [--bin target/release/ccbreaker] [--sessions 8] [--hooks 64] [--kills 200] [--seed 5]

1. Concurrency: a corpus from ../shared/tools/gen-transcripts.py (mixed clients, subagents, resumes, replays) is
   written into a live ~/.claude/projects tree by a writer thread, in the order Claude Code writes it and in
   random-sized chunks that cut lines anywhere, while waves of --hooks hook processes run at once on the
   corpus's main sessions. Then `status --json` for every
   day: day totals and every session's tokens must equal expected.json.
2. Crashes: the same, with one hook at a time killed (SIGKILL) after a random delay, --kills times, then a clean
   call and the same comparison.
3. A file cut short and grown back: once everything is written and counted, the largest main transcript is
   truncated to half its bytes, waves of hooks run, it is restored with the same content, hooks run again: the
   totals must still equal the truth (before issue 16 they were 3.7 % over).
Prints one line per phase: runs, failures, and whether the totals match. Exit status 1 on any mismatch.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(shared, out, seed, size_mb):
    subprocess.run([sys.executable, str(shared / "tools/gen-transcripts.py"), "--out", str(out), "--size-mb",
                    str(size_mb), "--seed", str(seed), "--days", "1", "--start", "2026-11-20", "--client", "mixed",
                    "--models", "all"], check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "expected.json").read_text())


def writer(source, live, rng, done):
    """Copies every transcript of `source` into `live` as Claude Code would have written them: sessions in the order
    the generator wrote them (a resumed session after the one it copies), each main transcript before its
    subagents' (which replay its lines), every file in chunks of 1 to 20,000 bytes that cut lines anywhere."""
    mains = sorted(source.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    for main in mains:
        subagents = sorted(main.with_suffix("").glob("subagents/**/*.jsonl"))
        for f in [main] + subagents:
            data = f.read_bytes()
            target = live / f.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            while data:
                n = rng.randint(1, 20_000)
                with open(target, "ab") as out:
                    out.write(data[:n])
                data = data[n:]
                time.sleep(rng.random() * 0.002)
    done.set()


class Sandbox:
    def __init__(self, work, binary, name):
        self.dir = work / name
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "home/.claude").mkdir(parents=True)
        self.live = self.dir / "home/.claude"
        (self.dir / "config.toml").write_text('[budget]\nsession_usd = 0\ndaily_usd = 0\ntimezone = "UTC"\n'
                                              "[transcripts]\nrescan_secs = 0\n")
        self.binary = binary
        self.env = dict(os.environ, HOME=str(self.dir / "home"), CCBREAKER_CONFIG=str(self.dir / "config.toml"),
                        CCBREAKER_STATE_DIR=str(self.dir / "state"), CCBREAKER_NOW="2026-11-20T23:59:59Z")
        self.env.pop("CLAUDE_CONFIG_DIR", None)
        self.env.pop("CLAUDECODE", None)

    def event(self, main):
        path = self.live / main
        return json.dumps({"session_id": path.stem, "transcript_path": str(path), "cwd": "/w",
                           "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}})

    def spawn(self, main):
        p = subprocess.Popen([str(self.binary), "hook"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=self.env)
        try:
            p.stdin.write(self.event(main).encode())
            p.stdin.close()
        except BrokenPipeError:
            pass
        return p

    def status(self, day):
        env = dict(self.env, CCBREAKER_NOW=f"{day}T23:59:59Z")
        out = subprocess.run([str(self.binary), "status", "--json"], env=env, capture_output=True, text=True)
        return json.loads(out.stdout)


def compare(sb, expected):
    tokens = lambda r: (r["input_tokens"], r["output_tokens"], r["cache_creation_tokens"], r["cache_read_tokens"])
    truth = lambda r: (r["input_tokens"], r["output_tokens"], r["cache_creation_5m_tokens"]
                       + r["cache_creation_1h_tokens"], r["cache_read_tokens"])
    problems, sessions = [], {}
    for day, want in expected["by_day_utc"].items():
        status = sb.status(day)
        if tokens(status["day"]) != truth(want):
            problems.append(f"day {day}: {tokens(status['day'])} != {truth(want)}")
        for row in status["sessions"]:
            sessions[row["session_id"]] = tokens(row)
    for sid, want in expected["by_session"].items():
        if sessions.get(sid) != truth(want):
            problems.append(f"session {sid[:8]}: {sessions.get(sid)} != {truth(want)}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=ROOT / "target/release/ccbreaker")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--hooks", type=int, default=64)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--size-mb", type=float, default=3)
    ap.add_argument("--seed", type=int, default=30)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-stress-"))
    source = work / "source"
    expected = generate(a.shared, source, a.seed, a.size_mb)
    mains = sorted(str(p.relative_to(source / "projects").as_posix()) for p in source.glob("projects/*/*.jsonl"))
    mains = ["projects/" + m for m in mains]
    rng = random.Random(a.seed)
    failed = False

    sb = Sandbox(work, a.bin, "concurrency")
    done = threading.Event()
    t = threading.Thread(target=writer, args=(source, sb.live, random.Random(a.seed + 1), done))
    t.start()
    runs = errors = 0
    while not done.is_set():
        procs = [sb.spawn(rng.choice(mains)) for _ in range(a.hooks)]
        for p in procs:
            p.wait()
            runs += 1
            errors += p.returncode != 0
    t.join()
    for m in mains:
        sb.spawn(m).wait()
    problems = compare(sb, expected)
    print(f"concurrency: {runs} hook runs in waves of {a.hooks} over {len(mains)} sessions while writing "
          f"{expected['files']} files ({expected['responses']} responses): {errors} failed runs, "
          f"{'totals exact' if not problems else 'MISMATCH: ' + '; '.join(problems)}")
    failed |= bool(problems) or errors > 0

    sb = Sandbox(work, a.bin, "crashes")
    done = threading.Event()
    t = threading.Thread(target=writer, args=(source, sb.live, random.Random(a.seed + 2), done))
    t.start()
    kills = 0
    while kills < a.kills or not done.is_set():
        p = sb.spawn(rng.choice(mains))
        time.sleep(rng.random() * 0.004)
        p.kill()
        p.wait()
        kills += 1
    t.join()
    for m in mains:
        sb.spawn(m).wait()
    problems = compare(sb, expected)
    print(f"crashes: {kills} hooks killed at random points while writing: "
          f"{'totals exact' if not problems else 'MISMATCH: ' + '; '.join(problems)}")
    failed |= bool(problems)

    # 3. On the ledger the crash phase left: cut the largest main transcript to half, hooks, restore, hooks.
    largest = max(mains, key=lambda m: (sb.live / m).stat().st_size)
    path = sb.live / largest
    whole = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(len(whole) // 2)
    for p in [sb.spawn(rng.choice(mains + [largest] * 8)) for _ in range(a.hooks)]:
        p.wait()
    with open(path, "r+b") as f:
        f.seek(len(whole) // 2)
        f.write(whole[len(whole) // 2:])
    for p in [sb.spawn(rng.choice(mains + [largest] * 8)) for _ in range(a.hooks)]:
        p.wait()
    problems = compare(sb, expected)
    print(f"truncate and restore: {largest} cut to {len(whole) // 2} of {len(whole)} bytes and grown back, "
          f"{2 * a.hooks} hooks: {'totals exact' if not problems else 'MISMATCH: ' + '; '.join(problems)}")
    failed |= bool(problems)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
