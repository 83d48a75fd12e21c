#!/usr/bin/env python3
"""Overshoot and hook latency of ccbreaker on the real Claude Code client.

  python3 bench/overshoot.py --bin target/release/ccbreaker [--runs 5] [--client-version 2.1.331] [SCENARIO...]

Runs each budget scenario of the end-to-end suite (tests/e2e/suite.py, imported, not copied) `--runs` times, in
rounds (round 1 runs every scenario once, then round 2, ...) so that a burst of load from elsewhere spreads over all
of them. It builds nothing: pass a release binary. For every run it records:

- **overshoot**: the model requests that arrived after the crossing response (harness.crossing: the first request,
  in arrival order, whose response takes the harness's running price of the mock's log to the budget or past it),
  and their USD at the harness's own rates (harness.price). When the scenario lifts the budget with `ccbreaker
  allow --add-usd X`, each budget counts as its own episode: the requests after episode k's crossing and before
  the allow, then the requests after the crossing of the raised budget (budget + X).
- **passed**: whether every check of the suite's scenario passed.
- **hook latency**: `micros` of every line ccbreaker writes to `$CCBREAKER_LOG` (set for each sandbox here). It is
  the hook's own time from the start of `hook` to its answer: it leaves out process start-up and reading stdin
  (bench/hook-latency.sh measures those, against a bare Rust process).

Hook calls are classed from outside the binary, by the spend a call could see when it started (its log line's
`at`): the harness's price of the responses the mock had finished streaming by then (`t_end <= at`), of the
call's session (the mock's `x-claude-code-session-id`) for the session budget and of the whole HOME for the day
budget, against the limits in force (budget plus allowances granted so far):

- **past**: the spend already reached a budget (ccbreaker answers from its verdict and never waits);
- **near**: the spend plus the largest response the client could be writing reaches a budget: this is the window
  in which a PreToolUse hook waits for its own response. "Largest" is ccbreaker's own bound, recomputed from the
  mock's log: the session's last prompt (input + cache writes + cache reads) priced as 5-minute cache writes plus
  128,000 output tokens, at the model's rates, and never less than the session's largest response so far ($9.60,
  128,000 output tokens of the dearest known model, before the session's first response). At Opus 5.5's rates the
  bound is at least $2.56, so under a $1 budget every call is near or past: the far calls come from the reference
  run of `under-budget` (session budget $20), measured in the same rounds;
- **far**: every other call (never waits).

A call's actual wait (`wait_us`) is not observable from outside: `CCBREAKER_LOG` has no such field, and `ccbreaker
status --json` shows it for the last hook call only. The classes above are the closest proxy.

Writes results.json and one log per run (what suite.py would print) to `--out` (default: a new temp directory),
then prints markdown tables. Exit status 0 when every run of every scenario passed its checks.
"""

import argparse
import contextlib
import io
import json
import re
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import harness  # noqa: E402
import suite  # noqa: E402
from harness import CLIENT_VERSION, RATES, Context, Scenario, ScenarioError, cost_of, crossing, price  # noqa: E402

# The suite's budget scenarios, in the suite's order.
SCENARIOS = [
    "session-budget",
    "session-budget-slow-stream",
    "fan-out",
    "day-budget-sequential",
    "day-budget-concurrent",
    "allow-resume",
    "on-breach-deny",
    "on-breach-exit-code",
]
# Scenarios in which more than one agent spends at once (main and 3 subagents; two sessions): a request already
# in flight when another agent crosses the budget cannot be stopped by any hook, so the goal is at most 1.
CONCURRENT = {"fan-out", "day-budget-concurrent"}
# ccbreaker's bound on the output of the response being written (hook/run.rs MAX_OUTPUT_TOKENS, the max_tokens of
# Claude Code 2.1.331; 2.1.240 asks for 64,000).
MAX_OUTPUT_TOKENS = 128_000
# ccbreaker's bound for a session with no response yet: MAX_OUTPUT_TOKENS priced as an unknown model, which costs
# as much as the dearest known one ($75 per million output tokens).
FIRST_BOUND_USD = MAX_OUTPUT_TOKENS * 75e-6


def goal_of(name):
    return "<= 1" if name in CONCURRENT else "0"


# -- running -------------------------------------------------------------------------------------------------------


def install_probes():
    """Sets CCBREAKER_LOG in every sandbox's environment (hooks inherit it from the client) and records each
    `ccbreaker allow` (when, how much) on its sandbox. Both wrap harness.Sandbox methods; nothing else changes."""
    env, allow = harness.Sandbox.env, harness.Sandbox.allow

    def env_with_log(self):
        e = env(self)
        e["CCBREAKER_LOG"] = str(self.root / "ccbreaker.log")
        return e

    def recorded_allow(self, session, add_usd=None):
        p = allow(self, session, add_usd)
        self.__dict__.setdefault("allowances", []).append({"t": time.time(), "session": session, "add_usd": add_usd})
        return p

    harness.Sandbox.env = env_with_log
    harness.Sandbox.allow = recorded_allow


def snapshot(box):
    """What a sandbox left, read before the harness closes and deletes it."""
    log_path = box.root / "ccbreaker.log"
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    return {
        "config": tomllib.loads(box.config_path.read_text()),
        "requests": box.requests(),
        "hook_log": [json.loads(x) for x in lines if x.strip()],
        "allowances": box.__dict__.get("allowances", []),
        "runs": [{"t0": r.t0, "tag": r.tag, "terminal_reason": r.terminal_reason} for r in box.runs],
    }


def observed(scenario, sink):
    """The suite's scenario, unchanged, plus a snapshot of each sandbox taken when it ends (pass or fail)."""

    def fn(t):
        try:
            scenario.fn(t)
        finally:
            sink.extend(snapshot(box) for box in t.boxes)

    return Scenario(scenario.name, scenario.doc, fn)


def run_once(ctx, scenario, log_path):
    boxes = []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t, wall = harness.run_scenario(ctx, observed(scenario, boxes))
    log_path.write_text(out.getvalue())
    return {"passed": not t.failed, "failed": [c.what for c in t.failed], "wall_s": round(wall, 2), "boxes": boxes}


# -- analysis ------------------------------------------------------------------------------------------------------


def limits_of(config):
    b = config.get("budget", {})
    return float(b.get("session_usd") or 0) or None, float(b.get("daily_usd") or 0) or None


def overshoot(box):
    """Requests after the crossing response of each budget episode (see the module doc), and their USD."""
    reqs = box["requests"]
    session_usd, daily_usd = limits_of(box["config"])
    # Every budget scenario has one binding limit: the session (one session) or the day (sessions of one HOME).
    budget = min(x for x in (session_usd, daily_usd) if x)
    cuts = sorted(box["allowances"], key=lambda a: a["t"])
    after, crossings = [], []
    for k in range(len(cuts) + 1):
        limit = budget + sum(a["add_usd"] or 0 for a in cuts[:k])
        end = cuts[k]["t"] if k < len(cuts) else float("inf")
        episode = [r for r in reqs if r["t"] < end]
        cross, later = crossing(episode, limit)
        if cross is None:
            continue
        crossings.append({"limit": limit, "seq": cross["seq"], "run": cross["run"], "role": cross["role"], "turn": cross["turn"]})
        after += later
    return {
        "crossings": crossings,
        "after": [{"seq": r["seq"], "run": r["run"], "role": r["role"], "turn": r["turn"], "usd": price(r)} for r in after],
        "n_after": len(after) if crossings else None,
        "usd_after": cost_of(after) if crossings else None,
    }


def epoch(rfc3339):
    """chrono's to_rfc3339 (up to 9 fractional digits) as seconds since the epoch."""
    s = re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")
    return datetime.fromisoformat(s).timestamp()


def bound(session_done):
    """ccbreaker's bound on the response being written (hook/run.rs next_response_bound), from the mock's log."""
    if not session_done:
        return FIRST_BOUND_USD
    last = session_done[-1]
    rates = RATES[last["model"]]
    u = last["usage"]
    prompt = sum(u.get(k, 0) for k in ("input", "cache_5m", "cache_1h", "cache_read"))
    return max(prompt * rates["cache_5m"] + MAX_OUTPUT_TOKENS * rates["output"], max(price(r) for r in session_done))


def classify_calls(box):
    """[(class, event, micros)] for each line of the hook log: "past", "near" or "far" (see the module doc)."""
    session_usd, daily_usd = limits_of(box["config"])
    reqs = sorted((r for r in box["requests"] if r.get("t_end")), key=lambda r: r["t_end"])
    out = []
    for line in box["hook_log"]:
        if "micros" not in line or not line.get("at"):
            continue
        at = epoch(line["at"])
        done = [r for r in reqs if r["t_end"] <= at]
        mine = [r for r in done if r.get("session") in (None, line.get("session"))]
        extra = sum(a["add_usd"] or 0 for a in box["allowances"] if a["t"] <= at and a["session"] == line.get("session"))
        day, spent, nxt = cost_of(done), cost_of(mine), bound(mine)
        limits = [(spent, session_usd + extra if session_usd else None), (day, daily_usd + extra if daily_usd else None)]
        limits = [(s, lim) for s, lim in limits if lim]
        if any(s >= lim for s, lim in limits):
            cls = "past"
        elif any(s + nxt >= lim for s, lim in limits):
            cls = "near"
        else:
            cls = "far"
        out.append((cls, line.get("event"), line["micros"]))
    return out


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def ms(us):
    return "–" if us is None else f"{us / 1000:.1f}"


def spread(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return " / ".join(fmt(v) for v in (min(xs), statistics.median(xs), max(xs)))


# -- the report ----------------------------------------------------------------------------------------------------


def tables(results, meta):
    lines = [
        f"Claude Code {meta['client_version']}, {meta['runs']} runs per scenario, ccbreaker `{meta['bin']}`.",
        "",
        "| scenario | goal | checks passed | requests after the crossing: min / median / max | per run | USD after the crossing: min / median / max |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        n = [r["overshoot"]["n_after"] for r in runs]
        usd = [r["overshoot"]["usd_after"] for r in runs]
        passed = sum(r["passed"] for r in runs)
        per_run = " ".join("–" if x is None else str(x) for x in n)
        lines.append(
            f"| {name} | {goal_of(name)} | {passed}/{len(runs)} | {spread(n, str)} | {per_run} | {spread(usd, lambda v: f'${v:.4f}')} |"
        )
    lines += [
        "",
        "Hook latency (`micros` from `CCBREAKER_LOG`, ms; the hook's own time, without process start-up):",
        "",
        "| scenario | near: calls | near: p50 | near: max | far: calls | far: p50 | far: max | past: calls | past: p50 | past: max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    pooled = {"near": [], "far": [], "past": [], "near PreToolUse": []}
    for name, runs in list(results.items()) + [("under-budget (far reference)", meta.get("reference") or [])]:
        if not runs:
            continue
        calls = [c for r in runs for c in r["calls"]]
        by = {k: [us for cls, _, us in calls if cls == k] for k in ("near", "far", "past")}
        if not name.startswith("under-budget"):
            for k in by:
                pooled[k] += by[k]
            pooled["near PreToolUse"] += [us for cls, ev, us in calls if cls == "near" and ev == "PreToolUse"]
        cells = " | ".join(f"{len(by[k])} | {ms(pct(by[k], 0.5))} | {ms(max(by[k], default=None))}" for k in ("near", "far", "past"))
        lines.append(f"| {name} | {cells} |")
    cells = " | ".join(f"{len(pooled[k])} | {ms(pct(pooled[k], 0.5))} | {ms(max(pooled[k], default=None))}" for k in ("near", "far", "past"))
    lines.append(f"| **all budget scenarios** | {cells} |")
    p = pooled["near PreToolUse"]
    lines += ["", f"Near calls that are PreToolUse (the only event that waits): {len(p)}, p50 {ms(pct(p, 0.5))} ms, p90 {ms(pct(p, 0.9))} ms, max {ms(max(p, default=None))} ms."]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, required=True, help="a release build of ccbreaker")
    p.add_argument("--runs", type=int, default=5, help="runs of each scenario (default 5)")
    p.add_argument("--client-version", default=CLIENT_VERSION, help=f"Claude Code version (default {CLIENT_VERSION})")
    p.add_argument("--reference-runs", type=int, default=None, help="runs of under-budget, the far reference (default: --runs)")
    p.add_argument("--out", type=Path, help="directory for results.json and the run logs (default: a new temp dir)")
    p.add_argument("--run-timeout", type=float, default=150.0, help="seconds one `claude -p` may take")
    p.add_argument("scenarios", nargs="*", help=f"a subset of: {', '.join(SCENARIOS)}")
    a = p.parse_args(argv)
    unknown = set(a.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"not a budget scenario: {', '.join(sorted(unknown))}")
    names = [s for s in SCENARIOS if not a.scenarios or s in a.scenarios]
    by_name = {s.name: s for s in suite.SCENARIOS}
    binary = a.bin.resolve()
    if not binary.is_file():
        p.error(f"{binary} does not exist (build it: cargo build --release)")
    try:
        client = harness.ensure_client(a.client_version)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = a.out or Path(tempfile.mkdtemp(prefix="ccbreaker-overshoot-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-e2e-"))
    version = harness.client_version_of(client, work)
    ctx = Context(binary, False, client, version, work, run_timeout=a.run_timeout)
    install_probes()
    ref_runs = a.runs if a.reference_runs is None else a.reference_runs
    print(f"ccbreaker {binary}\nClaude Code {version}\n{a.runs} runs x {len(names)} scenarios (+ {ref_runs} of under-budget); logs in {out}\n", flush=True)

    results = {n: [] for n in names}
    reference = []
    t0 = time.time()
    for i in range(max(a.runs, ref_runs)):
        todo = (names if i < a.runs else []) + (["under-budget"] if i < ref_runs else [])
        for name in todo:
            r = run_once(ctx, by_name[name], out / f"{name}-{i + 1}.log")
            box = r["boxes"][0] if r["boxes"] else None
            r["overshoot"] = overshoot(box) if box else {"n_after": None, "usd_after": None, "crossings": [], "after": []}
            r["calls"] = [c for b in r["boxes"] for c in classify_calls(b)]
            del r["boxes"]
            (reference if name == "under-budget" else results[name]).append(r)
            o = r["overshoot"]
            after = "no crossing" if o["n_after"] is None else f"{o['n_after']} after (${o['usd_after']:.4f})"
            fail = "" if r["passed"] else f"  FAILED: {'; '.join(r['failed'])[:200]}"
            print(f"round {i + 1} {name:28} {'ok  ' if r['passed'] else 'FAIL'} {r['wall_s']:5.1f} s  {after}{fail}", flush=True)
    meta = {"client_version": version, "runs": a.runs, "bin": str(binary), "wall_s": round(time.time() - t0), "reference": reference}
    (out / "results.json").write_text(json.dumps({"meta": {k: v for k, v in meta.items() if k != "reference"}, "results": results, "reference": reference}, indent=1))
    try:
        work.rmdir()
    except OSError:
        pass
    print(f"\n{tables(results, meta)}\n\ntotal {meta['wall_s']} s; results in {out / 'results.json'}")
    ok = all(r["passed"] for runs in results.values() for r in runs) and all(r["passed"] for r in reference)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
