#!/usr/bin/env python3
"""What ccbreaker's mod adds to a session's time, on the real Claude Code client (offline, the e2e suite's mock).

  python3 bench/mod-latency.py --bin target/release/ccbreaker [--runs 10] [--turns 8]

Four installs of the same release binary, run in rounds (one run of each per round, so load from elsewhere spreads
over all of them) by the same client on the same machine:

- **none**: nothing installed (the client alone);
- **hooks**: `ccbreaker install` without the mod (its `CLAUDE_CODE_PLUGIN_DIRS` entry taken out): what a client
  without mods runs;
- **passthrough**: the hooks, and in place of ccbreaker's mod one whose `turn.step` hook only passes each request
  on (`return yield* next(e)`): what the client's mod machinery costs by itself, whatever the mod does;
- **mod**: `ccbreaker install` as it is (the mod and the hooks).

Each run is `claude -p` making `--turns` Bash turns plus a final answer on the main thread. From the mock's log:

- **start**: from the client's start to its first request reaching the mock (the mod's worker starts, and the mod
  asks the gate, before it);
- **gap**: from the end of one response to the next request, for every pair in a run (the tool, the hooks, and with
  the mod the gate before the request and the report after the response);
- **gate**: `micros` of the mod's calls in `CCBREAKER_LOG` (the gate's own time, without process start-up).

Two budget settings: **far** (session budget $100: no hook ever waits) and **near** ($1 session budget, $0.0254 a
response: every call is within one response's bound of the budget, so a PreToolUse hook waits until the response
that issued its call is in the transcript; with the mod, the step's report can end that wait).

Prints markdown tables (medians, p90 and the ratio against `hooks`); `--out DIR` keeps the raw numbers.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import harness  # noqa: E402
from harness import CLIENT_VERSION, Context, Scenario, Test  # noqa: E402

VARIANTS = ("none", "hooks", "passthrough", "mod")
PASSTHROUGH = {
    ".claude-plugin/plugin.json": '{"name": "passthrough", "version": "0.0.1", "description": "passes every request on", "license": "MIT"}\n',
    "hooks/hooks.json": '{"hooks": {}, "modules": ["./passthrough.js"]}\n',
    "hooks/passthrough.js": "export function register(on) {\n  on(\"turn.step\", async function* ($, e, next) {\n    return yield* next(e)\n  })\n}\n",
}
BUDGETS = {"far": 100.0, "near": 1.0}


def config(session_usd):
    return {"budget": {"session_usd": session_usd, "daily_usd": 0.0, "timezone": "UTC"}, "policy": {"wait_ms": 1500}}


def one_run(ctx, variant, budget, turns):
    t = Test(ctx, Scenario("mod-latency", "", None))
    box = t.sandbox(config(BUDGETS[budget]), {"tool_calls": turns})
    try:
        if variant != "none":
            box.install(tap=False, mod=variant == "mod")
        if variant == "passthrough":
            for name, text in PASSTHROUGH.items():
                (box.root / "passthrough" / name).parent.mkdir(parents=True, exist_ok=True)
                (box.root / "passthrough" / name).write_text(text)
            settings = box.settings()
            settings.setdefault("env", {})["CLAUDE_CODE_PLUGIN_DIRS"] = str(box.root / "passthrough")
            box.write_settings(settings)
        run = box.claude()
        reqs = box.requests()
        main = sorted((r for r in reqs if r["role"] == "main"), key=lambda r: r["t"])
        gates = [c["micros"] for c in box.gate_calls()]
        return {
            "variant": variant,
            "budget": budget,
            "ok": run.terminal_reason == "completed" and len(main) == turns + 1,
            "start_ms": (main[0]["t"] - run.t0) * 1000 if main else None,
            "gaps_ms": [(b["t"] - a["t_end"]) * 1000 for a, b in zip(main, main[1:])],
            "wall_s": run.wall,
            "gate_us": gates,
            "gate_calls": len(gates),
        }
    finally:
        box.close()
        import shutil

        shutil.rmtree(box.root, ignore_errors=True)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else None


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def report(results, meta):
    lines = [
        f"Claude Code {meta['client_version']}, {meta['runs']} runs of each install, {meta['turns']} Bash turns and a "
        f"final answer each, ccbreaker `{meta['bin']}`; load average at the end {meta['loadavg']}.",
        "",
        "| budget | install | runs ok | start: median ms | start / hooks | gap: median ms | gap: p90 ms | gap / hooks | gate calls per run | gate: median ms | gate: p90 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for budget in BUDGETS:
        med = {}
        for variant in VARIANTS:
            rs = [r for r in results if r["variant"] == variant and r["budget"] == budget]
            starts = [r["start_ms"] for r in rs if r["start_ms"] is not None]
            gaps = [g for r in rs for g in r["gaps_ms"]]
            med[variant] = (statistics.median(starts) if starts else None, statistics.median(gaps) if gaps else None)
        for variant in VARIANTS:
            rs = [r for r in results if r["variant"] == variant and r["budget"] == budget]
            gaps = [g for r in rs for g in r["gaps_ms"]]
            gate = [u / 1000 for r in rs for u in r["gate_us"]]
            start, gap = med[variant]
            base_start, base_gap = med["hooks"]
            ratio = lambda a, b: "–" if a is None or not b else f"{a / b:.2f}x"  # noqa: E731
            calls = statistics.median([r["gate_calls"] for r in rs]) if rs else None
            lines.append(
                f"| {budget} | {variant} | {sum(r['ok'] for r in rs)}/{len(rs)} | {fmt(start)} | {ratio(start, base_start)} | "
                f"{fmt(gap)} | {fmt(pct(gaps, 0.9))} | {ratio(gap, base_gap)} | {fmt(calls, 0)} | "
                f"{fmt(statistics.median(gate) if gate else None, 2)} | {fmt(pct(gate, 0.9), 2)} |"
            )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, required=True, help="a release build of ccbreaker")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--turns", type=int, default=8)
    p.add_argument("--client-version", default=CLIENT_VERSION)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    client = harness.ensure_client(a.client_version)
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-mod-latency-"))
    ctx = Context(a.bin.resolve(), False, client, harness.client_version_of(client, work), work)
    results = []
    t0 = time.time()
    for i in range(a.runs):
        for budget in BUDGETS:
            for variant in VARIANTS:
                r = one_run(ctx, variant, budget, a.turns)
                results.append(r)
                print(
                    f"round {i + 1} {budget:4} {variant:5} {'ok  ' if r['ok'] else 'FAIL'} start {fmt(r['start_ms'])} ms, "
                    f"gap median {fmt(statistics.median(r['gaps_ms']) if r['gaps_ms'] else None)} ms",
                    flush=True,
                )
    meta = {
        "client_version": ctx.client_version,
        "runs": a.runs,
        "turns": a.turns,
        "bin": str(a.bin),
        "wall_s": round(time.time() - t0),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print("\n" + report(results, meta))
    try:
        work.rmdir()
    except OSError:
        pass
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
