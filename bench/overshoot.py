#!/usr/bin/env python3
"""Overshoot and hook latency of ccbreaker on the real Claude Code client, with its mod and with the hooks alone.

  python3 bench/overshoot.py --bin target/release/ccbreaker [--runs 5] [--client-version 2.1.331] [SCENARIO...]

Runs each budget scenario of the end-to-end suite (tests/e2e/suite.py, imported, not copied) `--runs` times, in
rounds (round 1 runs every scenario once, then round 2, ...) so that a burst of load from elsewhere spreads over all
of them. On a client with mods (2.1.331) every scenario runs twice a round: as `ccbreaker install` sets it up (the
mod and the hooks), and with the mod's entry taken out (`--variants` picks; `hooks` is what a client without mods
runs). It builds nothing: pass a release binary. For every run it records:

- **overshoot**: the model requests that arrived after the crossing response (harness.crossing: the first request,
  in arrival order, whose response takes the harness's running price of the mock's log to the budget or past it),
  and their USD at the harness's own rates (harness.price). When the scenario lifts the budget with `ccbreaker
  allow --add-usd X`, each budget counts as its own episode: the requests after episode k's crossing and before
  the allow, then the requests after the crossing of the raised budget (budget + X). Each such request is
  classed as the suite does (harness.classify_after): **in flight** when the hook calls that let it be sent (its
  gate) had all answered before any hook blocked; and in flight requests whose gate answered even before the
  crossing response had finished streaming from the mock are counted apart: that response did not exist yet.
- **passed**: whether every check of the suite's scenario passed.
- **hook latency**: `total_us` of every line ccbreaker writes to `$CCBREAKER_LOG` (set for each sandbox here). It is
  the hook's own time from the start of `hook` to its answer: it leaves out process start-up and reading stdin
  (bench/hook-latency.sh measures those, against a bare Rust process).

Hook calls are classed from outside the binary, by the spend a call could see when it started (its log line's
`at`): the harness's price of the responses the mock had finished streaming by then (`t_end <= at`), of the
call's session (the mock's `x-claude-code-session-id`) for the session budget and of the whole HOME for the day
budget, against the limits in force (budget plus the allowances granted so far):

- **near**: the spend plus the largest response the client could be writing reaches a budget, or the spend is
  already past one. This is the window in which a PreToolUse hook waits for the response that issued its call.
  "Largest" is ccbreaker's own bound, recomputed from the mock's log: the session's last prompt (input + cache
  writes + cache reads) priced as 5-minute cache writes plus 128,000 output tokens at the model's rates, and never
  less than the session's largest response so far ($9.60, 128,000 output tokens of the dearest known model, before
  the session's first response). At Opus 5.5's rates the bound is at least $2.56, so under the scenarios' $1
  budgets every call is near: the far calls come from `under-budget` (session budget $20), run as a reference in
  the same rounds. Near calls are split by the hook's answer (in the log): allowed, or blocked.
- **far**: every other call (the hook never waits).
- **first block**: the first blocking answer of a run, the call that caught the crossing response.

A call's actual wait (`wait_us`) is not observable from outside: `CCBREAKER_LOG` has no such field, and `ccbreaker
status --json` shows it for the last hook call only. The classes above are the closest proxy.

Writes to `--out` (default: a new temp directory) one log per run (what suite.py would print), one JSON snapshot per
run (the mock's log, the hook log, the config, the allowances), and results.json; then prints markdown tables.
`--from DIR` analyses the snapshots of an earlier run again without running anything. Exit status 0 when every run
of every scenario passed its checks.
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
import traceback
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
    "fan-out-5",
    "day-concurrent-30",
]
# Scenarios in which more than one agent spends at once (main and 3 or 5 subagents; two sessions): a request
# already in flight when another agent crosses the budget cannot be stopped by any hook, so the goal is at most 1
# (with the hooks alone); with the mod, whatever was in flight, and the total within one response of the budget.
CONCURRENT = {"fan-out", "day-budget-concurrent", "fan-out-5", "day-concurrent-30"}
# How a scenario's sandbox is installed: the mod and the hooks (as `ccbreaker install` writes them), or the hooks
# alone (the mod's entry taken out).
VARIANTS = ("mod", "hooks")
VARIANT = {"mod": True}
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
    """Sets CCBREAKER_LOG in every sandbox's environment (hooks inherit it from the client), records each `ccbreaker
    allow` (when, how much) on its sandbox, and installs the mod or not as the variant being run says. They wrap
    harness.Sandbox methods; nothing else changes."""
    env, allow, install = harness.Sandbox.env, harness.Sandbox.allow, harness.Sandbox.install

    def install_variant(self, tap=True, extra_settings=None, mod=True):
        return install(self, tap, extra_settings, mod and VARIANT["mod"])

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
    harness.Sandbox.install = install_variant


def snapshot(box):
    """What a sandbox left, read before the harness closes and deletes it."""
    log_path = box.root / "ccbreaker.log"
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    return {
        "config": tomllib.loads(box.config_path.read_text()),
        "requests": box.requests(),
        "hook_log": [json.loads(x) for x in lines if x.strip()],
        "taps": box.hook_calls(),
        "allowances": box.__dict__.get("allowances", []),
        "runs": [{"t0": r.t0, "tag": r.tag, "terminal_reason": r.terminal_reason, "session": r.session_id} for r in box.runs],
        "gates": box.gate_calls(),
        "roles": box.agent_roles(),
        "mod": "CLAUDE_CODE_PLUGIN_DIRS" in (box.settings().get("env") or {}),
    }


def observed(scenario, sink):
    """The suite's scenario, unchanged, plus a snapshot of each sandbox taken when it ends (pass or fail)."""

    def fn(t):
        try:
            scenario.fn(t)
        finally:
            for box in t.boxes:
                try:
                    sink.append(snapshot(box))
                except Exception:
                    # Said whole in the run's log (a check's text is cut short), then failed as any error is.
                    print(traceback.format_exc(), flush=True)
                    raise

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
        after += [(r, cross) for r in later]
    rows = []
    sessions = {run["session"]: run["tag"] for run in box.get("runs", []) if run.get("session")}
    steps = harness.allowed_steps(box.get("gates", []), box.get("roles", {}), sessions)
    for r, cross in after:
        # What let the request through (harness.classify_after; with the mod, harness.classify_mod_after), and whether
        # its gate answered before the crossing response had finished streaming from the mock: then that response did
        # not exist yet for any hook.
        if box.get("mod") and steps:
            kind = next(k for k, v in harness.classify_mod_after([r], reqs, steps, cross).items() if v)
        else:
            kind = next(k for k, v in harness.classify_after([r], reqs, box["taps"]).items() if v)
        gate = harness.gate_of(r, reqs, box["taps"])
        gate_t1 = max((c["t1"] for c in gate), default=None)
        early = gate_t1 is not None and gate_t1 < (cross.get("t_end") or float("inf"))
        rows.append({"seq": r["seq"], "run": r["run"], "role": r["role"], "turn": r["turn"], "usd": price(r), "kind": kind, "gate_before_crossing_end": early})
    return {
        "crossings": crossings,
        "after": rows,
        "n_after": len(rows) if crossings else None,
        "n_in_flight": sum(x["kind"] == "in flight" for x in rows) if crossings else None,
        "n_gate_before_end": sum(x["gate_before_crossing_end"] for x in rows) if crossings else None,
        "usd_after": sum(x["usd"] for x in rows) if crossings else None,
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


def blocked(line):
    """Whether the hook's answer in a log line blocks (harness.is_block, on the log's exit code and stdout)."""
    return harness.is_block({"rc": line.get("exit"), "stdout": line.get("stdout") or ""})


def classify_calls(box):
    """One dict per line of the hook log: its class ("near" or "far", see the module doc), event, micros, whether
    it blocked, and whether it is the sandbox's first blocking answer."""
    session_usd, daily_usd = limits_of(box["config"])
    reqs = sorted((r for r in box["requests"] if r.get("t_end")), key=lambda r: r["t_end"])
    # `total_us` (`micros` in logs written before the JSON times and units were made one format).
    for x in box["hook_log"]:
        if "total_us" in x:
            x["micros"] = x["total_us"]
    lines = sorted((x for x in box["hook_log"] if "micros" in x and x.get("at")), key=lambda x: epoch(x["at"]))
    first_block = next((x for x in lines if blocked(x)), None)
    out = []
    for line in lines:
        at = epoch(line["at"])
        done = [r for r in reqs if r["t_end"] <= at]
        mine = [r for r in done if r.get("session") in (None, line.get("session"))]
        extra = sum(a["add_usd"] or 0 for a in box["allowances"] if a["t"] <= at and a["session"] == line.get("session"))
        day, spent, nxt = cost_of(done), cost_of(mine), bound(mine)
        scopes = [(spent, session_usd), (day, daily_usd)]
        near = any(s + nxt >= lim + extra for s, lim in scopes if lim)
        out.append(
            {
                "class": "near" if near else "far",
                "event": line.get("event"),
                "micros": line["micros"],
                "blocked": blocked(line),
                "first_block": line is first_block,
            }
        )
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


def cells(xs):
    return f"{len(xs)} | {ms(pct(xs, 0.5))} | {ms(max(xs, default=None))}"


def comparison(results, meta):
    """One row per scenario: the requests and USD after the crossing with the hooks alone and with the mod."""
    variants = [v for v in VARIANTS if any(key[1] == v for key in results)]
    head = " | ".join(f"{v}: checks passed | {v}: requests after the crossing: min / median / max | {v}: per run | {v}: USD after the crossing: min / median / max" for v in variants)
    lines = [
        f"Claude Code {meta['client_version']}, {meta['runs']} runs per scenario and install, ccbreaker `{meta['bin']}`. "
        "`mod`: the mod and the hooks, as `ccbreaker install` sets them up; `hooks`: the hooks alone.",
        "",
        f"| scenario | goal | {head} |",
        "|---|---|" + "---|---|---|---|" * len(variants),
    ]
    for name in SCENARIOS:
        cells_ = []
        for v in variants:
            runs = results.get((name, v))
            if not runs:
                cells_.append("– | – | – | –")
                continue
            o = [r["overshoot"] for r in runs]
            n = [x["n_after"] for x in o]
            per_run = " ".join("–" if x is None else str(x) for x in n)
            usd = spread([x["usd_after"] for x in o], lambda x: f"${x:.4f}")
            cells_.append(f"{sum(r['passed'] for r in runs)}/{len(runs)} | {spread(n, lambda x: f'{x:g}')} | {per_run} | {usd}")
        if any(results.get((name, v)) for v in variants):
            lines.append(f"| {name} | {goal_of(name)} | {' | '.join(cells_)} |")
    gates = [c["micros"] for (name, v), runs in results.items() if v == "mod" for r in runs for c in r.get("gate_us", [])]
    if gates:
        lines += ["", f"The mod's calls of `ccbreaker gate` (`micros` in `CCBREAKER_LOG`, the gate's own time): {len(gates)}, p50 {ms(pct(gates, 0.5))} ms, p90 {ms(pct(gates, 0.9))} ms, max {ms(max(gates))} ms."]
    return "\n".join(lines)


def tables(results, meta, reference):
    lines = [
        f"Claude Code {meta['client_version']}, {meta['runs']} runs per scenario, ccbreaker `{meta['bin']}`.",
        "",
        "| scenario | goal | checks passed | requests after the crossing: min / median / max | per run | in flight (gate answered before the crossing response ended) | USD after the crossing: min / median / max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        o = [r["overshoot"] for r in runs]
        n = [x["n_after"] for x in o]
        passed = sum(r["passed"] for r in runs)
        per_run = " ".join("–" if x is None else str(x) for x in n)
        total = sum(x or 0 for x in n)
        flight = f"{sum(x['n_in_flight'] or 0 for x in o)} of {total} ({sum(x['n_gate_before_end'] or 0 for x in o)})" if total else "–"
        usd = spread([x["usd_after"] for x in o], lambda v: f"${v:.4f}")
        lines.append(f"| {name} | {goal_of(name)} | {passed}/{len(runs)} | {spread(n, lambda v: f'{v:g}')} | {per_run} | {flight} | {usd} |")
    lines += [
        "",
        "Hook latency: `total_us` from `CCBREAKER_LOG` (the hook's own time, without process start-up), ms. Near: the",
        "spend plus the largest response the client could be writing reaches a budget. First block: the first",
        "blocking answer of each run (the call that caught the crossing response), median and max over the runs.",
        "",
        "| scenario | far: calls | far: p50 | far: max | near: calls | near: p50 | near: max | near, allowed: calls | p50 | max | near, blocked: calls | p50 | max | first block: median | first block: max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    pooled = {"far": [], "near": [], "allowed": [], "blocked": [], "first": [], "near PreToolUse": []}
    rows = list(results.items()) + ([("under-budget (far reference)", reference)] if reference else [])
    for name, runs in rows:
        calls = [c for r in runs for c in r["calls"]]
        by = {
            "far": [c["micros"] for c in calls if c["class"] == "far"],
            "near": [c["micros"] for c in calls if c["class"] == "near"],
            "allowed": [c["micros"] for c in calls if c["class"] == "near" and not c["blocked"]],
            "blocked": [c["micros"] for c in calls if c["class"] == "near" and c["blocked"]],
            "first": [c["micros"] for c in calls if c["first_block"]],
            "near PreToolUse": [c["micros"] for c in calls if c["class"] == "near" and c["event"] == "PreToolUse"],
        }
        if runs is not reference:
            for k in pooled:
                pooled[k] += by[k]
        first = f"{ms(statistics.median(by['first']) if by['first'] else None)} | {ms(max(by['first'], default=None))}"
        lines.append(f"| {name} | {cells(by['far'])} | {cells(by['near'])} | {cells(by['allowed'])} | {cells(by['blocked'])} | {first} |")
    p = pooled
    first = f"{ms(statistics.median(p['first']) if p['first'] else None)} | {ms(max(p['first'], default=None))}"
    lines.append(f"| **all budget scenarios** | {cells(p['far'])} | {cells(p['near'])} | {cells(p['allowed'])} | {cells(p['blocked'])} | {first} |")
    q = p["near PreToolUse"]
    lines += ["", f"Near calls that are PreToolUse (the only event that waits): {len(q)}, p50 {ms(pct(q, 0.5))} ms, p90 {ms(pct(q, 0.9))} ms, max {ms(max(q, default=None))} ms."]
    return "\n".join(lines)


def analyse(raw):
    """The per-run results of a run's raw record (as run_once returns it)."""
    box = raw["boxes"][0] if raw["boxes"] else None
    empty = {"n_after": None, "n_in_flight": None, "n_gate_before_end": None, "usd_after": None, "crossings": [], "after": []}
    return {
        "round": raw["round"],
        "passed": raw["passed"],
        "failed": raw["failed"],
        "wall_s": raw["wall_s"],
        "overshoot": overshoot(box) if box else empty,
        "calls": [c for b in raw["boxes"] for c in classify_calls(b)],
        "gate_us": [{"micros": c["micros"], "event": c["event"]} for b in raw["boxes"] for c in b.get("gates", [])],
    }


def report(raws, meta, out):
    results = {}
    references = {}
    for raw in raws:
        r = analyse(raw)
        variant = raw.get("variant", "hooks")
        if raw["name"] == "under-budget":
            references.setdefault(variant, []).append(r)
        else:
            results.setdefault((raw["name"], variant), []).append(r)
    dump = {"meta": meta, "results": {f"{n} ({v})": runs for (n, v), runs in results.items()}, "reference": references}
    (out / "results.json").write_text(json.dumps(dump, indent=1))
    print(f"\n{comparison(results, meta)}")
    for variant in VARIANTS:
        by_name = {n: runs for (n, v), runs in results.items() if v == variant}
        if by_name:
            print(f"\n### {variant}\n\n{tables(by_name, meta, references.get(variant, []))}")
    print(f"\nresults in {out / 'results.json'}")
    ok = all(r["passed"] for runs in results.values() for r in runs)
    return 0 if ok and all(r["passed"] for rs in references.values() for r in rs) else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, help="a release build of ccbreaker")
    p.add_argument("--runs", type=int, default=5, help="runs of each scenario (default 5)")
    p.add_argument("--client-version", default=CLIENT_VERSION, help=f"Claude Code version (default {CLIENT_VERSION})")
    p.add_argument("--reference-runs", type=int, default=None, help="runs of under-budget, the far reference (default: --runs)")
    p.add_argument("--out", type=Path, help="directory for the logs, snapshots and results.json (default: a new temp dir)")
    p.add_argument("--from", dest="source", type=Path, help="analyse the snapshots in this --out directory again; run nothing")
    p.add_argument("--run-timeout", type=float, default=150.0, help="seconds one `claude -p` may take")
    p.add_argument("--variants", default=",".join(VARIANTS), help="installs to run: mod (the mod and the hooks), hooks (the hooks alone); a client without mods runs hooks only")
    p.add_argument("scenarios", nargs="*", help=f"a subset of: {', '.join(SCENARIOS)}")
    a = p.parse_args(argv)
    if a.source:
        meta = json.loads((a.source / "meta.json").read_text())
        raws = [json.loads(f.read_text()) for f in sorted(a.source.glob("*.json")) if f.name not in ("meta.json", "results.json")]
        raws.sort(key=lambda r: (r["round"], SCENARIOS.index(r["name"]) if r["name"] in SCENARIOS else len(SCENARIOS), r.get("variant", "")))
        return report(raws, meta, a.source)
    if not a.bin:
        p.error("pass --bin PATH (a release ccbreaker), or --from DIR")
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
    variants = [v for v in a.variants.split(",") if v in VARIANTS]
    if harness.version_tuple(version) < harness.MOD_SINCE:
        variants = ["hooks"]
    ref_runs = a.runs if a.reference_runs is None else a.reference_runs
    print(f"ccbreaker {binary}\nClaude Code {version}\n{a.runs} runs x {len(names)} scenarios x {', '.join(variants)} (+ {ref_runs} of under-budget); logs in {out}\n", flush=True)

    raws = []
    t0 = time.time()
    for i in range(max(a.runs, ref_runs)):
        todo = (names if i < a.runs else []) + (["under-budget"] if i < ref_runs else [])
        for name in todo:
            for variant in variants:
                VARIANT["mod"] = variant == "mod"
                stem = f"{name}-{variant}-{i + 1}"
                raw = {"name": name, "variant": variant, "round": i + 1, **run_once(ctx, by_name[name], out / f"{stem}.log")}
                (out / f"{stem}.json").write_text(json.dumps(raw))
                raws.append(raw)
                o = analyse(raw)["overshoot"]
                after = "no crossing" if o["n_after"] is None else f"{o['n_after']} after (${o['usd_after']:.4f})"
                fail = "" if raw["passed"] else f"  FAILED: {'; '.join(raw['failed'])[:200]}"
                print(f"round {i + 1} {name:28} {variant:5} {'ok  ' if raw['passed'] else 'FAIL'} {raw['wall_s']:5.1f} s  {after}{fail}", flush=True)
    meta = {"client_version": version, "runs": a.runs, "bin": str(binary), "variants": variants, "wall_s": round(time.time() - t0), "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
    (out / "meta.json").write_text(json.dumps(meta))
    try:
        work.rmdir()
    except OSError:
        pass
    print(f"\ntotal {meta['wall_s']} s, load average at the end {' '.join(meta['loadavg'])}")
    return report(raws, meta, out)


if __name__ == "__main__":
    sys.exit(main())
