#!/usr/bin/env python3
"""The hook's hot path against a bare Rust process, with a gigabyte of transcript history (BENCHMARKS.md, "Hook hot
path").

    python3 bench/hook.py [--quick] [--history-mb 1024] [--active-mb 100] [--runs 300] [--work DIR]

It builds ccbreaker and bench/floor in release mode, generates a history with ../shared/tools/gen-transcripts.py
(30 days; every file's mtime set to its last line, as if written over those days) plus one active session with
subagents, then times with hyperfine (`-N --input`), each call preceded (`--prepare`, not timed) by bench/append.py
adding about 10 KB of new lines to the active session:
  - warm calls: `ccbreaker hook` and the floor, same event, same run: p50, p95, p99, ratio;
  - the first call with no state (the state directory removed before each run);
  - how a warm call grows with the number of transcript files (100 / 1,000 / 10,000), with the default rescan
    interval and with a rescan on every call (`transcripts.rescan_secs = 0`), and with the active session's size
    (1 MB / 100 MB / 1 GB);
  - peak RSS of one warm call of each (`/usr/bin/time -v`).
Prints markdown tables. Timings are machine-dependent: compare the ratios.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-24T18:00:00Z"
END = datetime(2026, 11, 24, tzinfo=timezone.utc)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(ROOT / "bench/floor/Cargo.toml")])
    return ROOT / "target/release/ccbreaker", ROOT / "bench/floor/target/release/ccbreaker-floor"


def find_hyperfine(work):
    """Debian's hyperfine (1.15) has no --input; a newer one is installed from crates.io into the work dir."""
    for candidate in (shutil.which("hyperfine"), str(work / "tools/bin/hyperfine")):
        if candidate and os.path.exists(candidate):
            help_text = subprocess.run([candidate, "--help"], capture_output=True, text=True).stdout
            if "--input" in help_text:
                return candidate
    print("installing hyperfine 1.20.0 from crates.io (Debian's has no --input) ...", file=sys.stderr)
    run(["cargo", "install", "--quiet", "--locked", "hyperfine", "--version", "1.20.0", "--root", str(work / "tools")])
    return str(work / "tools/bin/hyperfine")


def set_mtimes(tree):
    """Every transcript gets the mtime of its last timestamped line, as if written over the corpus's days."""
    for path in Path(tree).rglob("*.jsonl"):
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - 65_536))
            last = None
            for line in f.read().splitlines():
                at = line.find(b'"timestamp":"')
                if at >= 0:
                    last = line[at + 13:at + 37].decode(errors="ignore")
        if last:
            try:
                t = datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()
                os.utime(path, (t, t))
            except ValueError:
                pass


def generate(shared, out, size_mb, days, seed):
    marker = out / ".done"
    if marker.exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    start = (END - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    run([sys.executable, str(shared / "tools/gen-transcripts.py"), "--out", str(out), "--size-mb", str(size_mb),
         "--seed", str(seed), "--days", str(days), "--start", start, "--client", "mixed", "--models", "all"],
        stdout=subprocess.DEVNULL)
    set_mtimes(out)
    marker.write_text("")
    return out


def make_active(shared, work, root, size_mb):
    """One session of about size_mb: a generated corpus's main transcripts concatenated, its subagents kept."""
    source = generate(shared, work / f"active-src-{size_mb}", max(1, min(size_mb, 200)), 1, 11)
    project = root / "projects" / "-bench-active"
    main = project / "bench-active.jsonl"
    if main.exists() and main.stat().st_size >= size_mb * 1_000_000 * 0.9:
        return main
    shutil.rmtree(project, ignore_errors=True)
    subagents = project / "bench-active" / "subagents"
    subagents.mkdir(parents=True)
    mains = sorted(p for p in (source / "projects").glob("*/*.jsonl"))
    subs = sorted((source / "projects").glob("*/*/subagents/*.jsonl"))[:8]
    for i, sub in enumerate(subs):
        shutil.copy(sub, subagents / f"agent-a{i:015x}.jsonl")
    with open(main, "wb") as out:
        while out.tell() < size_mb * 1_000_000:
            for p in mains:
                out.write(p.read_bytes())
                if out.tell() >= size_mb * 1_000_000:
                    break
    return main


def files_tree(work, count):
    """A root with `count` small transcripts last written weeks ago: they are stat'ed by a rescan, never read."""
    root = work / f"files-{count}"
    if (root / ".done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    line = json.dumps({"type": "user", "uuid": "u", "timestamp": "2026-10-01T00:00:00Z",
                       "message": {"role": "user", "content": "hi"}}) + "\n"
    old = (END - timedelta(days=20)).timestamp()
    for i in range(count):
        d = root / "projects" / f"-p{i % 50}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"s{i:05d}.jsonl"
        p.write_text(line * 20)
        os.utime(p, (old, old))
    (root / ".done").write_text("")
    return root


class Setup:
    def __init__(self, work, name, root, active, rescan_secs=10):
        self.dir = work / "runs" / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.state = self.dir / "state"
        self.active = active
        config = self.dir / "config.toml"
        config.write_text(f'[budget]\ntimezone = "UTC"\nsession_usd = 1000000\ndaily_usd = 1000000\n'
                          f"[transcripts]\nrescan_secs = {rescan_secs}\n")
        self.event = self.dir / "event.json"
        self.event.write_text(json.dumps({
            "session_id": "bench-active", "transcript_path": str(active), "cwd": "/bench",
            "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "cargo test"},
            "tool_use_id": "toolu_bench_next", "permission_mode": "default"}))
        self.env = dict(os.environ, HOME=str(self.dir / "home"), CLAUDE_CONFIG_DIR=str(root),
                        CCBREAKER_STATE_DIR=str(self.state), CCBREAKER_CONFIG=str(config), CCBREAKER_NOW=NOW)
        self.prepare = f"{sys.executable} {ROOT / 'bench/append.py'} --file {active}"


def hyperfine(hf, setup, commands, runs, warmup, prepare, out):
    cmd = [hf, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--prepare", prepare,
           "--input", str(setup.event), "--export-json", str(out)] + [str(c) for c in commands]
    run(cmd, env=setup.env, stdout=subprocess.DEVNULL)
    results = json.loads(out.read_text())["results"]
    return [stats(r["times"]) for r in results]


def stats(times):
    ms = sorted(t * 1000 for t in times)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return {"p50": statistics.median(ms), "p95": pick(0.95), "p99": pick(0.99), "max": ms[-1], "n": len(ms)}


def peak_rss_kib(setup, binary):
    subprocess.run(setup.prepare, shell=True, env=setup.env, check=True)
    with open(setup.event, "rb") as stdin:
        p = subprocess.run(["/usr/bin/time", "-v", str(binary)] + (["hook"] if binary.name == "ccbreaker" else []),
                           stdin=stdin, env=setup.env, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1])
    return None


def warm(hf, setup, bins, runs, work, label):
    subprocess.run([str(bins[0]), "hook"], stdin=open(setup.event, "rb"), env=setup.env, check=True,
                   stdout=subprocess.DEVNULL)  # the cold call, not timed
    ours, floor = hyperfine(hf, setup, [f"{bins[0]} hook", bins[1]], runs, 10, setup.prepare, work / f"{label}.json")
    return ours, floor


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ccbreaker-bench-hook")
    ap.add_argument("--history-mb", type=int, default=1024)
    ap.add_argument("--active-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="100 MB of history, a 10 MB session, 100 runs")
    a = ap.parse_args()
    if a.quick:
        a.history_mb, a.active_mb, a.runs = 100, 10, 100
    work = a.work
    work.mkdir(parents=True, exist_ok=True)
    hf = find_hyperfine(work)
    bins = build()
    history = generate(a.shared, work / f"history-{a.history_mb}", a.history_mb, 30, 7)
    files = sum(1 for _ in history.rglob("*.jsonl"))
    size = sum(p.stat().st_size for p in history.rglob("*.jsonl")) / 1e6
    active = make_active(a.shared, work, history, a.active_mb)
    print(f"history: {files} transcripts, {size:.0f} MB over 30 days; active session {active.stat().st_size / 1e6:.0f} MB"
          f" with {len(list(active.with_suffix('').joinpath('subagents').glob('*.jsonl')))} subagents")

    main_setup = Setup(work, "main", history, active)
    ours, floor = warm(hf, main_setup, bins, a.runs, work, "warm")
    rss_ours, rss_floor = peak_rss_kib(main_setup, bins[0]), peak_rss_kib(main_setup, bins[1])
    print("\n| call | p50 ms | p95 ms | p99 ms | max ms | peak RSS KiB |\n|---|---|---|---|---|---|")
    print(f"| floor (bench/floor) | {floor['p50']:.2f} | {floor['p95']:.2f} | {floor['p99']:.2f} | {floor['max']:.2f} | {rss_floor} |")
    print(f"| ccbreaker hook, warm | {ours['p50']:.2f} | {ours['p95']:.2f} | {ours['p99']:.2f} | {ours['max']:.2f} | {rss_ours} |")
    print(f"| ratio | {ours['p50'] / floor['p50']:.2f}x | {ours['p95'] / floor['p95']:.2f}x | {ours['p99'] / floor['p99']:.2f}x "
          f"| {ours['max'] / floor['max']:.2f}x | {rss_ours / rss_floor:.2f}x |")

    cold_setup = Setup(work, "cold", history, active)
    cold, cold_floor = hyperfine(hf, cold_setup, [f"{bins[0]} hook", bins[1]], 10, 0,
                                 f"rm -rf {cold_setup.state}", work / "cold.json")
    print(f"\nfirst call with no state: p50 {cold['p50']:.1f} ms, max {cold['max']:.1f} ms "
          f"(floor {cold_floor['p50']:.2f} ms; reads today's transcripts and the whole active session)")

    print("\n| transcript files | warm p50 ms (rescan every 10 s) | p99 | warm p50 ms (rescan every call) | p99 | floor p50 |"
          "\n|---|---|---|---|---|---|")
    small = make_active(a.shared, work, work / "small-root", 1)
    for count in (100, 1_000, 10_000):
        root = files_tree(work, count)
        link = root / "projects" / "-bench-active"
        if not link.exists():
            link.symlink_to(small.parent)
        rows = []
        for rescan in (10, 0):
            s = Setup(work, f"files-{count}-{rescan}", root, link / small.name, rescan_secs=rescan)
            rows.append(warm(hf, s, bins, min(a.runs, 200), work, f"files-{count}-{rescan}"))
        print(f"| {count:,} | {rows[0][0]['p50']:.2f} | {rows[0][0]['p99']:.2f} | {rows[1][0]['p50']:.2f} | "
              f"{rows[1][0]['p99']:.2f} | {rows[0][1]['p50']:.2f} |")

    print("\n| active session | warm p50 ms | p99 | floor p50 | ratio |\n|---|---|---|---|---|")
    for mb in (1, 100, 1000) if not a.quick else (1, 10, 100):
        session = make_active(a.shared, work, work / f"session-root-{mb}", mb)
        s = Setup(work, f"session-{mb}", work / f"session-root-{mb}", session)
        ours, floor = warm(hf, s, bins, min(a.runs, 200), work, f"session-{mb}")
        print(f"| {session.stat().st_size / 1e6:,.0f} MB | {ours['p50']:.2f} | {ours['p99']:.2f} | {floor['p50']:.2f} | "
              f"{ours['p50'] / floor['p50']:.2f}x |")


if __name__ == "__main__":
    main()
