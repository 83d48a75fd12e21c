#!/usr/bin/env python3
"""ccbreaker's end-to-end suite: the real Claude Code client, offline, against a scripted mock API.

  python3 tests/e2e/suite.py --bin target/debug/ccbreaker [SCENARIO...]
  python3 tests/e2e/suite.py --standin [SCENARIO...]     # against the test double standin_hook.py
  python3 tests/e2e/suite.py --list

See tests/e2e/README.md. Exit status: 0 when every check of every selected scenario passed.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    CLIENT_VERSION,
    HERE,
    MOD_SINCE,
    OLDER_CLIENT_VERSION,
    Context,
    Scenario,
    ScenarioError,
    answer_of,
    classify_after,
    classify_mod_after,
    client_version_of,
    cost_of,
    crossing,
    describe,
    ensure_client,
    gate_allowed,
    is_block,
    is_halt,
    LOCKED_UID,
    locked_unavailable,
    price,
    run_scenario,
    short,
    version_tuple,
)

SCENARIOS = []


def scenario(name):
    """Registers a scenario function; the first line of its docstring is its one-line description."""

    def register(fn):
        SCENARIOS.append(Scenario(name, (fn.__doc__ or "").strip().splitlines()[0], fn))
        return fn

    return register


def budget(session_usd=20.0, daily_usd=50.0, warn_at=0.8, on_breach="stop", on_error="allow", **policy):
    return {
        "budget": {"session_usd": session_usd, "daily_usd": daily_usd, "warn_at": warn_at, "timezone": "UTC"},
        "policy": {"on_breach": on_breach, "on_error": on_error, **policy},
    }


BLOCKING_EVENTS = ("PreToolUse", "PostToolBatch", "UserPromptSubmit")
CONTRACT_EVENTS = ("PreToolUse", "PostToolBatch", "UserPromptSubmit", "Stop", "SubagentStop")
# Output tokens that make one response cross a $1 budget: $1.20 at Opus 5.5's $20/MTok, $1.50 at Opus 5's $25. Kept
# small enough that no response looks like a context near 200k tokens: 2.1.240 (whose Opus 5 has a 200k window)
# would compact the conversation on `--resume`.
BIG = 60_000


def spike(role, turn, output=BIG, **more):
    """A usage override: (role, turn)'s response costs `output` output tokens."""
    return {"role": role, "turn": turn, "usage": {"output": output, **more}}


def check_block_persists(t, box, events=BLOCKING_EVENTS):
    """Once a hook has blocked, every later call of a blocking event blocks too: the decision comes from persisted
    state, not from the event at hand. Returns the time of the first block."""
    calls = [c for c in box.hook_calls() if c["event"] in events]
    blocks = [c for c in calls if is_block(c)]
    if not blocks:
        return None
    first = min(c["t1"] for c in blocks)
    leaks = [f"{c['event']} {c.get('tool_name') or ''} {c.get('agent_id') or 'main'}" for c in calls if c["t0"] > first and not is_block(c)]
    t.eq(leaks, [], "hook calls after the first block that let things through")
    return first


def stopped(t, box, run):
    """How a run that spent past a budget ended: "stopped" when a hook stopped it (`hook_stopped`) or the mod halted it
    (its result is ccbreaker's reason, and `status` records the mod's refusal), else its terminal_reason."""
    if run.terminal_reason == "hook_stopped":
        return "stopped"
    halted = ((box.session_status(run.session_id) or {}).get("halted") or {}) if run.session_id else {}
    if halted.get("by") == "mod" and "budget reached" in (run.result.get("result") or ""):
        return "stopped"
    return run.terminal_reason


def check_quiet_otherwise(t, box):
    """Every hook answer that did not block was silent (no output, exit 0)."""
    noisy = [c for c in box.hook_calls() if (c.get("stdout") or c.get("rc") != 0) and not is_block(c)]
    t.eq([(c["event"], c.get("stdout")) for c in noisy], [], "non-blocking hook calls that printed something or failed")


def notifications(box):
    """UserPromptSubmit calls carrying a subagent's <task-notification> (what wakes an idle main session)."""
    return [c for c in box.hook_calls("UserPromptSubmit") if "task-notification" in (c.get("prompt") or "")]


def check_install_contract(t, settings, bin_path, box=None):
    if box is not None:
        # The mod: its folder in user settings' env (a client without mods ignores the variable), its files there.
        dirs = (settings.get("env") or {}).get("CLAUDE_CODE_PLUGIN_DIRS", "")
        t.eq(dirs.split(":"), [str(box.mod_dir)], "env.CLAUDE_CODE_PLUGIN_DIRS")
        path_file = box.mod_dir / "hooks" / "ccbreaker.path"
        t.eq(path_file.read_text().strip() if path_file.exists() else None, str(bin_path), "the binary the mod runs")
    events = {}
    for event, groups in (settings.get("hooks") or {}).items():
        for g in groups:
            for h in g.get("hooks", []):
                if str(bin_path) in (h.get("command") or ""):
                    events.setdefault(event, []).append((g, h))
    t.eq(sorted(events), sorted(CONTRACT_EVENTS), "events ccbreaker install registered")
    for event, entries in events.items():
        t.eq(len(entries), 1, f"{event}: ccbreaker entries")
        g, h = entries[0]
        t.eq(h.get("timeout"), 10, f"{event}: timeout")
        # A hook that crashes, hangs or is killed must not let its call through: written whatever on_error says.
        want = "block" if event in ("PreToolUse", "PostToolBatch") else None
        t.eq(h.get("onFailure"), want, f"{event}: onFailure")
    if "PreToolUse" in events:
        t.check(events["PreToolUse"][0][0].get("matcher") in ("*", "", None), "PreToolUse matcher matches every tool", events["PreToolUse"][0][0].get("matcher"))


@scenario("under-budget")
def under_budget(t):
    """Under budget: the session runs to completion, nothing is denied, the hook prints nothing."""
    box = t.sandbox(budget(), {"tool_calls": 3})
    check_install_contract(t, box.install(), t.ctx.bin, box)
    run = box.claude()
    t.eq(run.terminal_reason, "completed", "terminal_reason")
    t.eq(run.denials, [], "permission_denials")
    t.eq(describe(box.requests()), "main 4", "model requests (3 tool turns + the final text)")
    t.eq(box.markers(), ["ran-A-main-t0-c0", "ran-A-main-t1-c0", "ran-A-main-t2-c0"], "tool calls that ran")
    calls = box.hook_calls()
    t.check(calls, "the hook was called", calls)
    noisy = [(c["event"], c.get("rc"), c.get("stdout"), c.get("stderr")) for c in calls if c.get("stdout") or c.get("stderr") or c.get("rc") != 0]
    t.eq(noisy, [], "hook calls that printed anything or exited non-zero")
    t.eq(box.stray_requests(), [], "requests to anything but /v1/messages")
    steps = [c for c in box.gate_calls() if c["event"] == "turn.step"]
    if mod_loaded(t, box):
        t.eq([gate_allowed(c) for c in steps], [True] * 4, "the mod asked before each of the 4 requests: allowed")
    else:
        t.eq(box.gate_calls(), [], f"Claude Code {t.ctx.client_version} has no mods: calls of the gate")
    t.note("hook calls: " + ", ".join(f"{e} {sum(1 for c in calls if c['event'] == e)}" for e in sorted({c["event"] for c in calls})))
    t.note(f"client cost ${run.cost}, mock's price ${cost_of(box.requests()):.4f}")


@scenario("session-budget")
def session_budget(t):
    """Session budget: the response that crosses it halts the session, and the call it issued never runs."""
    box = t.sandbox(budget(session_usd=1.0), {"tool_calls": 4, "overrides": [spike("main", 2)]})
    box.install()
    run = box.claude()
    t.eq(run.terminal_reason, "hook_stopped", "terminal_reason")
    reqs = box.requests()
    cross, after = crossing(reqs, 1.0)
    t.eq(cross and (cross["role"], cross["turn"]), ("main", 2), "the response that crossed $1 (role, turn)")
    t.eq(box.markers(), ["ran-A-main-t0-c0", "ran-A-main-t1-c0"], "tool calls that ran (main turn 2's is at the halt)")
    t.eq(len(after), 0, "requests after the crossing response")
    first = next((c for c in box.hook_calls() if is_block(c)), None)
    t.eq(first and (first["event"], is_halt(first)), ("PreToolUse", True), "first block (event, halts the loop)")
    check_block_persists(t, box)
    check_quiet_otherwise(t, box)
    t.check(first and "stopReason" in answer_of(first), "the halt carries a stopReason", first and first.get("stdout"))


@scenario("loop")
def loop(t):
    """Loop breaker: the same Bash call over and over is denied at the 3rd repeat and the session stopped at the 6th."""
    config = {**budget(), "breaker.loop": {"repeats": 3, "window_minutes": 10}}
    box = t.sandbox(config, {"tool_calls": 10, "overrides": [{"role": "main", "command": "echo same >> ran-loop"}]})
    box.install()
    run = box.claude()
    t.eq(run.terminal_reason, "hook_stopped", "terminal_reason")
    ran = box.project / "ran-loop"
    t.eq(len(ran.read_text().splitlines()) if ran.exists() else 0, 2, "identical calls that ran (the 3rd is refused)")
    answers = [c for c in box.hook_calls() if c["event"] == "PreToolUse" and c.get("tool_name") == "Bash"]
    kinds = ["halt" if is_halt(c) else "deny" if is_block(c) else "allow" for c in answers]
    t.eq(kinds[:6], ["allow", "allow", "deny", "deny", "deny", "halt"], "PreToolUse answers to the repeated call")
    denied = next((answer_of(c) for c in answers if is_block(c)), {})
    reason = (denied.get("hookSpecificOutput") or {}).get("permissionDecisionReason") or ""
    t.check(reason.startswith("ccbreaker: loop breaker: this Bash call"), "the refusal names the loop", reason)


@scenario("fan-out-cap")
def fan_out_cap(t):
    """Subagent cap: main spawns 4 subagents at once under max_active = 2; 2 start, the other 2 spawns are refused."""
    config = {**budget(), "breaker.subagents": {"max_active": 2, "max_per_session": 50, "max_depth": 2}}
    box = t.sandbox(config, {"agents": 4, "tool_calls": 1, "sub_tool_calls": 1})
    box.install()
    run = box.claude(stream=True)
    subs = sorted({r["role"] for r in box.requests() if r["role"].startswith("sub-")})
    t.eq(len(subs), 2, "subagents that sent a request")
    spawns = [c for c in box.hook_calls() if c["event"] == "PreToolUse" and c.get("tool_name") in ("Agent", "Task")]
    refused = [c for c in spawns if is_block(c)] + [c for c in box.gate_calls() if c["event"] == "agent.spawn" and not gate_allowed(c)]
    t.eq(len(refused), 2, "spawns refused (by the hook or at the mod's agent.spawn)")
    t.eq([c for c in refused if is_halt(c)], [], "refused spawns that stopped the session")
    t.note(f"requests: {describe(box.requests())}; terminal_reason {run.terminal_reason}")


@scenario("burn-rate")
def burn_rate(t):
    """Burn rate: $1 within 10 minutes stops the session at the response that reaches it, far under its budgets."""
    config = {**budget(session_usd=20.0), "breaker.burn_rate": {"usd": 1.0, "minutes": 10}}
    box = t.sandbox(config, {"tool_calls": 4, "overrides": [spike("main", 2)]})
    box.install()
    run = box.claude()
    t.eq(stopped(t, box, run), "stopped", "how the run ended")
    t.eq(box.markers(), ["ran-A-main-t0-c0", "ran-A-main-t1-c0"], "tool calls that ran (main turn 2's is at the stop)")
    first = next((c for c in box.hook_calls() if is_block(c)), None)
    reason = (first and answer_of(first).get("stopReason")) or ""
    t.check(reason.startswith("ccbreaker: burn-rate breaker reached:"), "the stop names the burn rate", reason)


@scenario("exec")
def exec_wrapped(t):
    """`ccbreaker exec -- claude -p`: the client's own exit code when the run completes; 3 and the reason on stderr when the hook halted it."""
    if t.ctx.standin:
        t.note("SKIPPED: the stand-in has no `exec`")
        return
    halt_b = {"role": "main", "turn": 2, "run": "B", "usage": {"output": BIG}}
    box = t.sandbox(budget(session_usd=1.0), {"tool_calls": 3, "overrides": [halt_b]})
    box.install()
    wrap = [str(t.ctx.bin), "exec", "--"]
    done = box.claude(tag="A", wrap=wrap)
    t.eq((done.rc, done.terminal_reason), (0, "completed"), "run A under budget: exit code, terminal_reason")
    t.check("ccbreaker: halted" not in done.stderr, "run A: no halt on stderr", done.stderr[-400:])
    halted = box.claude(tag="B", wrap=wrap)
    t.eq((halted.rc, halted.terminal_reason), (3, "hook_stopped"), "run B over budget: exit code, terminal_reason")
    lines = [l for l in halted.stderr.splitlines() if l.startswith("ccbreaker: halted: ")]
    t.eq(len(lines), 1, "run B: halt lines on stderr (its one session)")
    want = f"ccbreaker: halted: session {halted.session_id} was stopped by ccbreaker's hook at PreToolUse ("
    t.check(lines and lines[0].startswith(want) and "session budget reached" in lines[0], "run B: the halt names its session and the reason", lines)
    t.check(done.session_id not in halted.stderr, "run B names only its own session", halted.stderr[-400:])


@scenario("session-budget-slow-stream")
def session_budget_slow_stream(t):
    """Session budget with slowly streamed responses: the call at the halt still never runs."""
    # 50 ms between SSE events: PreToolUse fires when the tool_use block is complete, while message_delta (the final
    # usage) is still on its way, so the crossing response reaches the transcript well after the hook started.
    script = {"tool_calls": 3, "event_delay": 0.05, "overrides": [spike("main", 1)]}
    box = t.sandbox(budget(session_usd=1.0), script)
    box.install()
    run = box.claude()
    t.eq(run.terminal_reason, "hook_stopped", "terminal_reason")
    cross, after = crossing(box.requests(), 1.0)
    t.eq(cross and (cross["role"], cross["turn"]), ("main", 1), "the response that crossed $1 (role, turn)")
    t.eq(box.markers(), ["ran-A-main-t0-c0"], "tool calls that ran (main turn 1's is at the halt)")
    t.eq(len(after), 0, "requests after the crossing response")
    pre = [c for c in box.hook_calls("PreToolUse")]
    t.note("PreToolUse hook durations (ms): " + ", ".join(f"{(c['t1'] - c['t0']) * 1000:.0f}" for c in pre))
    if cross:
        t.note(f"the crossing response streamed for {(cross['t_end'] - cross['t']) * 1000:.0f} ms")


@scenario("warn")
def warn(t):
    """Warn level: the warning (a systemMessage) reaches the user once, and nothing is blocked."""
    box = t.sandbox(budget(session_usd=1.0, warn_at=0.5), {"tool_calls": 4, "overrides": [spike("main", 1, output=30_000)]})
    box.install()
    run = box.claude(stream=True)
    t.eq(run.terminal_reason, "completed", "terminal_reason")
    t.eq(len(box.markers()), 4, "tool calls that ran")
    warnings = [c for c in box.hook_calls() if "systemMessage" in answer_of(c)]
    t.eq(len(warnings), 1, "hook answers carrying a systemMessage")
    t.eq([c["event"] for c in box.hook_calls() if is_block(c)], [], "blocking hook answers")
    if warnings:
        text = answer_of(warnings[0])["systemMessage"]
        t.note(f"warning at {warnings[0]['event']}: {text!r}")
        # What the user of `-p --output-format stream-json` sees: {"type":"system","subtype":"informational",...}.
        shown = [e for e in run.events if e.get("type") == "system" and text in str(e.get("content"))]
        t.eq(len(shown), 1, "stream events showing the warning to the user")
        t.note("shown as: " + ", ".join(repr(e.get("content")) for e in shown))
        lines = [ln for p in box.transcripts() for ln in box.transcript_lines(p)]
        kept = [a for a in (ln.get("attachment") or {} for ln in lines) if a.get("type") == "hook_system_message" and text in str(a.get("content"))]
        t.eq(len(kept), 1, "transcript hook_system_message attachments with the warning")


@scenario("fan-out")
def fan_out(t):
    """Fan-out: main spawns 3 async subagents, one crosses the budget; every subagent and main stop."""
    script = {"agents": 3, "tool_calls": 3, "sub_tool_calls": 4, "overrides": [spike("sub-1", 1)]}
    box = t.sandbox(budget(session_usd=1.0), script)
    box.install()
    run = box.claude(stream=True)
    reqs, calls = box.requests(), box.hook_calls()
    cross, after = crossing(reqs, 1.0)
    t.eq(cross and (cross["role"], cross["turn"]), ("sub-1", 1), "the response that crossed $1 (role, turn)")
    kinds = classify_after(after, reqs, calls)
    t.note(f"requests: {describe(reqs)}; after the crossing one: {len(after)}" + "".join(f"; {k}: {', '.join(v)}" for k, v in kinds.items() if v))
    t.eq(kinds["let through"] + kinds["past a block"], [], "requests after the crossing that a hook let through or that passed a block")
    t.check("ran-A-sub-1-t1-c0" not in box.markers(), "the call at the crossing (sub-1 turn 1) did not run", box.markers())
    finished = [f"{r['role']} t{r['turn']}" for r in reqs if r["stop_reason"] == "end_turn" and r["role"].startswith(("main", "sub"))]
    t.eq(finished, [], "agents (main or sub) that got to their final text")
    first = check_block_persists(t, box)
    t.check(first is not None, "a hook blocked", first)
    results = [e for e in run.events if e.get("type") == "result"]
    main_result = results[0] if results else {}
    halted = main_result.get("terminal_reason") == "hook_stopped" or (
        mod_loaded(t, box) and main_result.get("terminal_reason") == "completed" and "budget reached" in (main_result.get("result") or "")
    )
    t.check(halted, "the main loop's result: hook_stopped, or completed with the mod's refusal", (main_result.get("terminal_reason"), (main_result.get("result") or "")[:80]))
    woken = [r for r in reqs if r["role"] == "main" and "task-notification" in json.dumps(r["last_user"])]
    t.eq([f"seq {r['seq']}" for r in woken if cross and r["seq"] > cross["seq"]], [], "main requests woken by a task notification after the crossing")
    notes = [c for c in notifications(box) if first and c["t0"] > first]
    t.eq([is_block(c) for c in notes], [True] * len(notes), "task notifications after the block: blocked")
    t.note(f"results in the stream: {len(results)}: " + "; ".join(f"{r.get('terminal_reason')} {(r.get('result') or '')[:45]!r}" for r in results))
    t.note(f"task notifications seen by UserPromptSubmit: {len(notifications(box))}, blocked {sum(1 for c in notifications(box) if is_block(c))}")
    t.note(f"tool calls that ran: {' '.join(m.removeprefix('ran-A-') for m in box.markers())}")
    stats = run.result.get("subagent_stats") or {}
    t.note(f"client's subagent_stats: spawned {stats.get('spawned')}, completed {stats.get('completed')}, killed {stats.get('killed')}")


@scenario("day-budget-sequential")
def day_budget_sequential(t):
    """Day budget, two sessions one after the other: the second stops at the crossing, a third is refused."""
    script = {"tool_calls": 3, "overrides": [spike("main", 1, output=30_000)]}
    box = t.sandbox(budget(session_usd=10.0, daily_usd=1.0, warn_at=0.99), script)
    box.install()
    a = box.claude(tag="A")
    t.eq(a.terminal_reason, "completed", "A: terminal_reason (A costs $0.70 of the $1 day)")
    b = box.claude(tag="B")
    t.eq(b.terminal_reason, "hook_stopped", "B: terminal_reason")
    t.eq(len(box.requests("B")), 2, "B: model requests")
    t.eq(box.markers("B"), ["ran-B-main-t0-c0"], "B: tool calls that ran")
    cross, after = crossing(box.requests(), 1.0)
    t.eq(cross and (cross["run"], cross["role"], cross["turn"]), ("B", "main", 1), "the response that crossed the day budget")
    t.eq(len(after), 0, "requests after the crossing response")
    c = box.claude(tag="C")
    t.eq(len(box.requests("C")), 0, "C (a new session after the day is spent): model requests")
    t.check("UserPromptSubmit" in (c.result.get("result") or ""), "C: the prompt was refused by UserPromptSubmit", c.result.get("result"))
    t.note(f"C: terminal_reason {c.terminal_reason!r}, is_error {c.result.get('is_error')}, result {c.result.get('result')!r}")
    day = box.status().get("day", {}).get("cost_usd")
    t.check(isinstance(day, (int, float)) and day >= 1.0, "status: the day's cost is past the budget", day)


@scenario("day-budget-concurrent")
def day_budget_concurrent(t):
    """Day budget, two sessions at once in one HOME: once the day is spent, both stop."""
    # Enough tool calls that neither session can finish its script before the day is spent, whichever starts first
    # (the clients start about 0.4 s apart; with 4 calls the first one sometimes completed before the other began).
    script = {"tool_calls": 12, "overrides": [spike("main", 1, output=30_000)]}
    box = t.sandbox(budget(session_usd=10.0, daily_usd=1.0, warn_at=0.99), script)
    box.install()
    a, b = box.start_claude(tag="A"), box.start_claude(tag="B")
    a.wait(), b.wait()
    t.check(a.session_id and b.session_id and a.session_id != b.session_id, "two separate sessions", (a.session_id, b.session_id))
    reqs = box.requests()
    cross, after = crossing(reqs, 1.0)
    t.check(cross, "the two sessions together crossed the day budget", cost_of(reqs))
    t.eq([stopped(t, box, r) for r in (a, b)], ["stopped", "stopped"], "A and B: halted (hook_stopped, or halted by the mod)")
    kinds = classify_after(after, reqs, box.hook_calls())
    t.note(f"requests: A {len(box.requests('A'))}, B {len(box.requests('B'))}; after the crossing one: {len(after)}" + "".join(f"; {k}: {', '.join(v)}" for k, v in kinds.items() if v))
    t.eq(kinds["let through"] + kinds["past a block"], [], "requests after the crossing that a hook let through or that passed a block")
    check_block_persists(t, box)
    t.note(f"markers: {' '.join(box.markers())}")
    day = box.status().get("day", {}).get("cost_usd")
    t.check(isinstance(day, (int, float)) and day >= 1.0, "status: the day's cost is past the budget", day)


@scenario("allow-resume")
def allow_resume(t):
    """`ccbreaker allow --session ID --add-usd 1` lifts a halted session; the resumed run goes on to the new limit."""
    script = {"tool_calls": 6, "overrides": [spike("main", 1), spike("main", 4, output=40_000)]}
    box = t.sandbox(budget(session_usd=1.0), script)
    box.install()
    first = box.claude()
    sid = first.session_id
    t.eq(first.terminal_reason, "hook_stopped", "run 1: terminal_reason")
    t.eq(len(box.requests()), 2, "run 1: model requests")
    st = box.session_status(sid)
    t.eq(st and st.get("state"), "blocked", "status after run 1: state")
    n = len(box.requests())
    again = box.claude(resume=sid, prompt="Continue.")
    t.eq(len(box.requests()) - n, 0, "a resume before `allow`: model requests")
    t.note(f"resume before allow: {again.terminal_reason!r}, session {'same' if again.session_id == sid else again.session_id}, {again.result.get('result')!r}")
    box.allow(sid, add_usd=1)
    st = box.session_status(sid)
    t.eq(st and st.get("state"), "ok", "status after allow --add-usd 1: state")
    n = max((r["seq"] for r in box.requests()), default=0)
    third = box.claude(resume=sid, prompt="Continue.")
    new = box.requests(after_seq=n)
    t.note(f"resumed run: session {'same id' if third.session_id == sid else 'NEW id ' + str(third.session_id)}, requests {[(r['role'], r['turn']) for r in new]}")
    t.eq(third.terminal_reason, "hook_stopped", "run 3: terminal_reason (stopped again at the new limit, $2)")
    t.eq([(r["role"], r["turn"]) for r in new], [("main", 2), ("main", 3), ("main", 4)], "run 3: requests (role, turn)")
    t.eq(box.markers(), ["ran-A-main-t0-c0", "ran-A-main-t2-c0", "ran-A-main-t3-c0"], "tool calls that ran over the three runs")
    cross, after = crossing(box.requests(), 2.0)
    t.eq(cross and cross["turn"], 4, "the response that crossed the new $2 limit (turn)")
    t.eq(len(after), 0, "requests after it")
    t.note(f"client's total_cost_usd per run: {[r.cost for r in box.runs]} (a resumed run reports the whole session)")


def breach_mode(t, mode):
    box = t.sandbox(budget(session_usd=1.0, on_breach=mode), {"tool_calls": 4, "overrides": [spike("main", 1)]})
    box.install()
    run = box.claude()
    reqs = box.requests()
    cross, after = crossing(reqs, 1.0)
    t.eq(box.markers(), ["ran-A-main-t0-c0"], "tool calls that ran (none at or after the crossing)")
    blocks = [c for c in box.hook_calls() if is_block(c)]
    t.check(blocks, "the hook blocked", blocks)
    check_block_persists(t, box, events=("PreToolUse", "UserPromptSubmit") if mode == "deny" else BLOCKING_EVENTS)
    t.note(
        f"on_breach={mode}: {len(reqs)} requests ({len(after)} after the crossing), terminal_reason {run.terminal_reason!r}, "
        f"{len(run.denials)} permission_denials, blocks: {', '.join(c['event'] for c in blocks)}"
    )
    return run, reqs, after


@scenario("on-breach-deny")
def on_breach_deny(t):
    """on_breach = "deny": each call past the budget is refused; record what the client then does."""
    breach_mode(t, "deny")


@scenario("on-breach-exit-code")
def on_breach_exit_code(t):
    """on_breach = "exit-code": the hook exits 2; record what the client then does."""
    breach_mode(t, "exit-code")


# The first release whose hooks honour `"onFailure": "block"` (CHANGELOG 2.1.295; measured: 2.1.331 does, 2.1.240
# accepts the key and fails open).
ON_FAILURE_SINCE = (2, 1, 295)


@scenario("on-error-block")
def on_error_block(t):
    """on_error = "block": entries carry onFailure, and a ccbreaker that crashes or times out denies the call."""
    box = t.sandbox(budget(on_error="block"), {"tool_calls": 2})
    installed = box.install(tap=False)
    check_install_contract(t, installed, t.ctx.bin)
    crash = box.root / "fault-exit-1"
    crash.write_text("#!/bin/sh\ncat >/dev/null\necho 'injected fault' >&2\nexit 1\n")
    hang = box.root / "fault-sleep"
    hang.write_text("#!/bin/sh\ncat >/dev/null\nexec sleep 6\n")
    for f in (crash, hang):
        f.chmod(0o755)
    honoured = version_tuple(t.ctx.client_version) >= ON_FAILURE_SINCE
    if not honoured:
        t.note(f"Claude Code {t.ctx.client_version} predates onFailure ({'.'.join(map(str, ON_FAILURE_SINCE))}): expecting it to fail open")
    # A 2 s timeout instead of the installed 10 s keeps the run short; the client's handling is the same.
    for tag, fault, timeout in (("E", crash, None), ("T", hang, 2)):
        box.write_settings(box.rewrite_hooks(json.loads(json.dumps(installed)), replace_bin=fault, timeout=timeout))
        run = box.claude(tag=tag)
        what = "exits 1" if tag == "E" else "times out"
        reqs = box.requests(tag)
        if honoured:
            t.eq(box.markers(tag), [], f"ccbreaker {what}: tool calls that ran")
            t.eq(run.terminal_reason, "hook_stopped", f"ccbreaker {what}: terminal_reason (the failing PostToolBatch halts)")
        else:
            t.eq(len(box.markers(tag)), 2, f"ccbreaker {what}: tool calls that ran (failed open)")
        results = box.tool_results()
        first_call = reqs[0]["tool_uses"][0]["id"] if reqs and reqs[0]["tool_uses"] else None
        t.note(f"ccbreaker {what}: {len(reqs)} requests, terminal_reason {run.terminal_reason!r}, {len(run.denials)} denials, {run.wall:.1f} s")
        t.note(f"  first call's tool_result: {short(results.get(first_call))}")


# What the agent tries in locked mode, one Bash call a turn, spelled so that the text checks (a first line that locked
# mode keeps) do not see them: each must fail at the operating system, or change nothing that matters. A
# `won-<name>` file appears only if an attempt that must fail succeeded; `wrote-<name>` where a write is expected to
# succeed and to change nothing.
LOCKED_ATTEMPTS = [
    ("config", "cd /etc/ccb* && printf '[budget]\\nsession_usd = 0\\n' > c*.toml && touch won-config"),
    ("allowance", "/usr/local/bin/ccb* allow --session \"$(ls ~/.claude/projects/*/ | sed -n 's/[.]jsonl$//p' | head -1)\" --add-usd 100 && touch won-allowance"),
    ("binary", "cp /bin/true /usr/local/bin/ccb*er && touch won-binary"),
    ("state", "rm -rf /var/lib/ccb*/$(id -u)/ledger-*; ls /var/lib/ccb*/$(id -u) && touch won-state"),
    ("lock", "flock -n /var/lib/ccb*/$(id -u)/ledger.lock true && touch won-lock"),
    ("user-settings", "cd ~/.claude && printf '{\"disableAllH%sks\": true}' oo > \"$(printf sett%sgs.json in)\" && touch \"$OLDPWD/wrote-user-settings\""),
    ("project-settings", "mkdir -p .claude && cd .claude && printf '{\"disableAllH%sks\": true}' oo > \"$(printf settings.l%scal.json o)\" && touch ../wrote-project-settings"),
    ("child", "export $(echo CLAUDE_CONF)IG_DIR=$PWD/child-config && \"$CCB_E2E_CLIENT\" -p 'CCB-E2E-RUN-C: a child session' --output-format json > child.json && touch wrote-child"),
]


@scenario("locked-mode")
def locked_mode(t):
    """Locked mode: the agent, an unprivileged user, tries every way out; each fails and the budget still halts."""
    why = locked_unavailable()
    if why:
        t.note(f"SKIPPED: locked mode needs root and mount namespaces ({why}); CI has both")
        return
    n = len(LOCKED_ATTEMPTS)
    overrides = [{"role": "main", "run": "A", "turn": i, "command": cmd} for i, (_, cmd) in enumerate(LOCKED_ATTEMPTS)]
    overrides += [{"run": "C", "stop": True}, spike("main", n)]
    box = t.locked_sandbox({"tool_calls": n + 3, "overrides": overrides})
    box.install_locked("[budget]\nsession_usd = 1.0\ndaily_usd = 50.0\ntimezone = \"UTC\"\n")
    config_before = (box.root / "etc" / "upper" / "ccbreaker" / "config.toml").read_text()
    status = json.loads(box.ccbreaker_as_agent("status", "--json").stdout)
    t.eq(status.get("mode"), "locked", "status: mode")
    t.eq([c["what"] for c in status.get("boundary", []) if not c["ok"]], [], "status: boundary checks that fail")
    run = box.claude()
    t.eq(run.terminal_reason, "hook_stopped", "terminal_reason (the budget still halts the session)")
    reqs = box.requests("A")
    cross, after = crossing(reqs, 1.0)
    t.eq(cross and (cross["role"], cross["turn"]), ("main", n), "the response that crossed $1 (role, turn)")
    t.eq(len(after), 0, "requests after the crossing response")
    won = sorted(p.name for p in box.project.glob("won-*"))
    t.eq(won, [], "attempts that got past the operating system")
    wrote = sorted(p.name for p in box.project.glob("wrote-*"))
    t.note(f"attempts that wrote something harmless: {', '.join(wrote) or 'none'}")
    t.eq((box.root / "etc" / "upper" / "ccbreaker" / "config.toml").read_text(), config_before, "the root config, after the run")
    state = box.root / "var-lib" / "upper" / "ccbreaker" / str(LOCKED_UID)
    t.check(any(state.glob("ledger-*.bin")), "the agent's state, after the run, still holds the ledger", sorted(p.name for p in state.glob("*")))
    results = box.tool_results()
    for (name, _), req in zip(LOCKED_ATTEMPTS, reqs):
        uses = req["tool_uses"]
        text = results.get(uses[0]["id"]) if uses else None
        t.note(f"{name}: {short(text and text[1], 140)}")
    st = json.loads(box.ccbreaker_as_agent("status", "--json").stdout)
    # The managed mod, seated by `install --locked`, asked the locked binary before the session's requests.
    gates = [s.get("gates") for s in st.get("sessions", []) if s.get("session_id") == run.session_id]
    t.eq(gates, ["mod+hooks" if has_mods(t) else "hooks"], "status as the agent: the session's gates")
    child = [r for r in box.requests("C")]
    t.note(f"child claude -p under another CLAUDE_CONFIG_DIR: {len(child)} request(s); day total ${st['day']['cost_usd']}")
    # 2.1.240 files the child under the parent's session id (it inherits CLAUDE_CODE_SESSION_ID), 2.1.331 under its
    # own: either way, everything the mock billed is in the day's total.
    billed = cost_of(box.requests())
    t.check(child and st["day"]["cost_usd"] >= billed - 1e-6, "the child ran, and the day's total holds all that was billed", (st["day"]["cost_usd"], billed))


@scenario("cost-parity")
def cost_parity(t):
    """Cost parity: ccbreaker's cost of the session equals the client's total_cost_usd within 0.1 %."""
    script = {
        "agents": 1,
        "tool_calls": 3,
        "sub_tool_calls": 2,
        "usage": {"input": 2500, "output": 900, "cache_5m": 4000, "cache_1h": 0, "cache_read": 30000},
        "overrides": [
            {"role": "main", "turn": 1, "usage": {"cache_1h": 12000}},
            {"role": "sub", "usage": {"cache_read": 90000, "output": 3000}},
        ],
    }
    box = t.sandbox(budget(), script)
    box.install()
    run = box.claude()
    t.eq(run.terminal_reason, "completed", "terminal_reason")
    reqs = box.requests()
    mock = cost_of(reqs)
    st = box.session_status(run.session_id) or {}
    ours = st.get("cost_usd")
    t.note(f"requests {describe(reqs)}; client ${run.cost}, ccbreaker ${ours}, mock's price ${mock:.6f}")
    ok = isinstance(ours, (int, float)) and isinstance(run.cost, (int, float)) and abs(ours - run.cost) <= 0.001 * run.cost
    t.check(ok, "ccbreaker's session cost is the client's total_cost_usd within 0.1 %", (ours, run.cost))
    t.check(isinstance(run.cost, (int, float)) and abs(run.cost - mock) <= 0.001 * mock, "the client's cost is the mock's price within 0.1 %", (run.cost, mock))
    tokens = {k: sum(r["usage"][u] for r in reqs) for k, u in (("input_tokens", "input"), ("output_tokens", "output"), ("cache_read_tokens", "cache_read"))}
    t.eq({k: st.get(k) for k in tokens}, tokens, "status token counts")


# -- ccbreaker's mod (Claude Code 2.1.331 and later) -------------------------------------------------------------


def has_mods(t):
    return version_tuple(t.ctx.client_version) >= MOD_SINCE


def needs_mods(t):
    """Skips a scenario of the mod on a client without mods (noted); True when it can run."""
    if has_mods(t):
        return True
    t.note(f"SKIPPED: Claude Code {t.ctx.client_version} has no mods ({'.'.join(map(str, MOD_SINCE))} has); the hooks guard alone")
    return False


def refusals(box, event=None):
    return [c for c in box.gate_calls() if (event is None or c["event"] == event) and not gate_allowed(c) and c["event"] != "turn.step end"]


def halted_by_mod(t, box, run, what):
    """A run the mod halted: completed, with ccbreaker's reason (the budget and the lift command) as its result."""
    result = run.result.get("result") or ""
    t.check("ccbreaker" in result and "budget reached" in result and "ccbreaker allow --session" in result,
            f"{what}: the result names ccbreaker, the budget and the lift command", result[:200])
    st = box.session_status(run.session_id) or {}
    t.eq((st.get("halted") or {}).get("by"), "mod", f"{what}: status --json halted.by")


@scenario("mod-validate")
def mod_validate(t):
    """Mod: `claude plugin validate` passes the mod install writes and the repository's plugin, every gate with a .catch."""
    if not needs_mods(t):
        return
    box = t.sandbox(budget(), {})
    box.install()
    for what, folder in (("the installed mod", box.mod_dir), ("the repository's plugin", HERE.parent.parent)):
        p = subprocess.run([str(t.ctx.client), "plugin", "validate", str(folder)], capture_output=True, text=True, timeout=120, env=box.env())
        out = p.stdout + p.stderr
        t.eq(p.returncode, 0, f"{what}: `claude plugin validate` exit code")
        t.check("hooks: turn.step, agent.spawn, session.compact, http.fetch" in out, f"{what}: the four events hooked", out[-600:])
        for gate in ("agent.spawn", "session.compact", "http.fetch"):
            t.check(f"gating hook with .catch: {gate}" in out, f"{what}: {gate} is a gating hook with .catch", None)
        t.check("without .catch" not in out, f"{what}: no gating hook without .catch", None)


# Fan-out: 5 background subagents of 4 Bash turns each, and main's 2: 29 requests at $0.0254 if nothing stops them;
# a $0.30 session budget is crossed mid-way, while the subagents run in parallel.
FAN_OUT_BUDGET = 0.30
FAN_OUT_SCRIPT = {"agents": 5, "tool_calls": 2, "sub_tool_calls": 4}
FAN_OUT_RUNS = 5


def mod_loaded(t, box):
    """Whether the client runs ccbreaker's mod in this sandbox (a client with mods, and the mod's entry installed)."""
    return has_mods(t) and "CLAUDE_CODE_PLUGIN_DIRS" in (box.settings().get("env") or {})


def check_parallel_crossing(t, box, reqs, sessions, what):
    """Requests of agents spending at once against a $0.30 budget. With the mod: every request after the crossing was
    in flight when the crossing response finished, and the total is within one response of the budget
    (reservations); with the hooks alone: none was let through or passed a block (the hooks cannot stop requests in
    flight, so the total is only recorded). Returns a line for the notes."""
    cross, after = crossing(reqs, FAN_OUT_BUDGET)
    if not t.check(cross, f"{what}: the budget of ${FAN_OUT_BUDGET} was crossed", cost_of(reqs)):
        return f"{what}: no crossing"
    total, largest = cost_of(reqs), max(price(r) for r in reqs)
    if mod_loaded(t, box):
        kinds = classify_mod_after(after, reqs, box.allowed_steps(sessions), cross)
        t.eq(kinds["let through"] + kinds["unmatched"], [], f"{what}: requests after the crossing the mod let through after it finished")
        t.check(total <= FAN_OUT_BUDGET + largest + 1e-9, f"{what}: total within one response of the budget (+ ${largest:.4f})", round(total, 4))
        gate = "mod and hooks"
    else:
        kinds = classify_after(after, reqs, box.hook_calls())
        t.eq(kinds["let through"] + kinds["past a block"], [], f"{what}: requests after the crossing a hook let through or that passed a block")
        gate = "hooks alone"
    return f"{what} ({gate}): {len(reqs)} requests ({describe(reqs)}), {len(after)} after the crossing, ${total:.4f}"


@scenario("fan-out-5")
def fan_out_5(t):
    """Fan-out: main spawns 5 background subagents that each spend; the session budget is crossed mid-way."""
    box = t.sandbox(budget(session_usd=FAN_OUT_BUDGET, daily_usd=0.0), FAN_OUT_SCRIPT)
    box.install()
    run = box.claude(stream=True)
    t.note(check_parallel_crossing(t, box, box.requests(), {run.session_id: "A"}, "A"))


@scenario("mod-fan-out")
def mod_fan_out(t):
    """Mod: fan-out-5, 5 runs: after the crossing only requests in flight, and the total within one response, in every run."""
    if not needs_mods(t):
        return
    box = t.sandbox(budget(session_usd=FAN_OUT_BUDGET, daily_usd=0.0), FAN_OUT_SCRIPT)
    box.install()
    runs = [box.claude(tag=f"R{i}", stream=True) for i in range(1, FAN_OUT_RUNS + 1)]
    sessions = {run.session_id: run.tag for run in runs}
    for run in runs:
        line = check_parallel_crossing(t, box, box.requests(run.tag), sessions, run.tag)
        refused = [c["event"] for c in refusals(box) if c.get("session") == run.session_id]
        t.note(f"{line}; the mod refused {len(refused)} request(s) ({', '.join(sorted(set(refused))) or 'the hooks stopped all first'})")


@scenario("mod-spawn-crossing")
def mod_spawn_crossing(t):
    """Mod: the response that spawns 3 subagents crosses the budget; no subagent sends a request (mod alone, then with the hooks)."""
    if not needs_mods(t):
        return
    script = {"agents": 3, "tool_calls": 2, "sub_tool_calls": 2, "overrides": [spike("main", 0)]}
    for hooks in (False, True):
        box = t.sandbox(budget(session_usd=1.0), script)
        box.install()
        if not hooks:
            settings = box.settings()
            settings.pop("hooks", None)
            box.write_settings(settings)
        run = box.claude()
        what = "mod alone" if not hooks else "mod and hooks"
        reqs = box.requests()
        cross, _ = crossing(reqs, 1.0)
        t.eq(cross and (cross["role"], cross["turn"]), ("main", 0), f"{what}: the response that crossed $1")
        t.eq(describe([r for r in reqs if r["role"].startswith("sub")]), "none", f"{what}: subagent requests")
        denied = refusals(box, "agent.spawn")
        t.note(f"{what}: {len(denied)} spawn(s) refused by the mod, {len(refusals(box, 'turn.step'))} step(s); result {run.terminal_reason!r}: {(run.result.get('result') or '')[:90]!r}")
        if not hooks:
            t.eq(len(denied), 3, f"{what}: spawns the mod refused (it waited for the spawning response)")
            tool_results = [text for is_error, text in box.tool_results().values() if "Subagent spawn denied" in text]
            t.note(f"{what}: the model read: {short(tool_results[0] if tool_results else None, 160)}")


@scenario("mod-compaction")
def mod_compaction(t):
    """Mod: a crossing response with a full context; the compaction after it is skipped: 0 compaction requests."""
    if not needs_mods(t):
        return
    # on_breach = "deny": the loop goes on after the crossing (the hook refuses the tool call only), so the client
    # compacts its full context before its next request. A 980,000-token context makes it compact.
    script = {"tool_calls": 4, "overrides": [spike("main", 1, cache_read=980_000)]}
    counts = {}
    for mod in (False, True):
        box = t.sandbox(budget(session_usd=1.0, on_breach="deny"), script)
        box.install(mod=mod)
        run = box.claude()
        reqs = box.requests()
        cross, after = crossing(reqs, 1.0)
        what = "mod and hooks" if mod else "hooks alone"
        t.eq(cross and (cross["role"], cross["turn"]), ("main", 1), f"{what}: the response that crossed $1")
        counts[mod] = describe(after)
        t.note(f"{what}: after the crossing {describe(after)} (${cost_of(after):.4f}); -p: {run.terminal_reason!r}, is_error {run.result.get('is_error')}, result {(run.result.get('result') or '')[:80]!r}")
        if mod:
            t.eq(describe(after), "none", "mod and hooks: requests after the crossing (compactions included)")
            t.eq(len(refusals(box, "session.compact")), 1, "compactions the mod skipped")
    t.check(counts.get(False) != "none", "hooks alone: the compaction after the crossing went out (what the mod stops)", counts.get(False))


@scenario("mod-downgrade")
def mod_downgrade(t):
    """Mod: past policy.downgrade_at, the subagents the crossing response spawns send their requests on downgrade_model."""
    if not needs_mods(t):
        return
    # The spawning response costs $1.20 of a $2 budget (60 %, past 0.5); the hooks are taken out, so only the
    # mod's agent.spawn can change the subagents' model (the hook's Agent rewrite would come first).
    script = {"agents": 2, "tool_calls": 1, "sub_tool_calls": 1, "overrides": [spike("main", 0)]}
    box = t.sandbox(budget(session_usd=2.0, daily_usd=0.0, warn_at=0.0, downgrade_at=0.5, downgrade_model="claude-sonnet-5"), script)
    box.install()
    settings = box.settings()
    settings.pop("hooks", None)
    box.write_settings(settings)
    box.claude()
    reqs = box.requests()
    subs = [r for r in reqs if r["role"].startswith("sub")]
    main = sorted({r["model"] for r in reqs if r["role"] == "main"})
    t.check(len(subs) >= 2, "both subagents sent requests", describe(reqs))
    t.eq(sorted({r["model"] for r in subs}), ["claude-sonnet-5"], "the subagents' models at the mock")
    t.check("claude-sonnet-5" not in main, "main keeps its own model", main)
    answers = [c for c in box.gate_calls() if c["event"] == "agent.spawn"]
    t.note(f"{len(subs)} subagent request(s) on {sorted({r['model'] for r in subs})}; main on {main}; {len(answers)} spawn(s) asked")


@scenario("mod-fails-closed")
def mod_fails_closed(t):
    """Mod: a gate that throws (an answer it cannot read) or times out refuses; no request goes out over budget."""
    if not needs_mods(t):
        return
    faults = {
        "throws": "#!/bin/sh\ncat >/dev/null\necho 'not json'\n",
        "times out": "#!/bin/sh\ncat >/dev/null\nexec sleep 30\n",
    }
    for name, body in faults.items():
        box = t.sandbox(budget(session_usd=1.0), {"tool_calls": 2})
        box.install()
        fault = box.root / "fault-gate"
        fault.write_text(body)
        fault.chmod(0o755)
        (box.mod_dir / "hooks" / "ccbreaker.path").write_text(f"{fault}\n")
        settings = box.settings()
        settings.pop("hooks", None)  # the mod alone: nothing else stands between the prompt and the request
        box.write_settings(settings)
        run = box.claude()
        t.eq(describe(box.requests()), "none", f"a gate that {name}: requests")
        result = run.result.get("result") or ""
        t.check("ccbreaker could not check your budgets" in result, f"a gate that {name}: the run ends with the mod's refusal", result[:160])
        t.note(f"a gate that {name}: {run.terminal_reason!r} in {run.wall:.1f} s: {result[:140]!r}")


@scenario("mod-retry")
def mod_retry(t):
    """Mod: a sibling's request overloaded (529) before the crossing is not retried after it: http.fetch refuses."""
    if not needs_mods(t):
        return
    # sub-0's turn 1 crosses, answered 0.3 s late; sub-1's turn 1 starts meanwhile, is answered 529 and retried about
    # 0.6 s later, after the crossing: a send no step let through.
    overrides = [spike("sub-0", 1), {"role": "sub-0", "turn": 1, "delay": 0.3}, {"role": "sub-1", "turn": 1, "fail": [529]}]
    box = t.sandbox(budget(session_usd=1.0), {"agents": 2, "tool_calls": 1, "sub_tool_calls": 3, "overrides": overrides})
    box.install()
    run = box.claude(stream=True)
    reqs = box.requests()
    cross, after = crossing(reqs, 1.0)
    t.eq(cross and (cross["role"], cross["turn"]), ("sub-0", 1), "the response that crossed $1")
    sends = refusals(box, "http.fetch")
    t.check(sends, "the retry after the crossing was refused at http.fetch", [c["stdout"][:80] for c in box.gate_calls() if c["event"] == "http.fetch"])
    retried = [r["seq"] for r in reqs if r["role"] == "sub-1" and r["turn"] == 1 and r.get("attempt", 0) > 0]
    t.eq(retried, [], "sub-1's retries (after its 529) that reached the mock")
    kinds = classify_mod_after(after, reqs, box.allowed_steps(), cross)
    t.eq(kinds["let through"] + kinds["unmatched"], [], "requests after the crossing the mod let through after it finished")
    t.note(f"requests {describe(reqs)}; after the crossing {describe(after)}; results: " + "; ".join(f"{e.get('terminal_reason')} {(e.get('result') or '')[:50]!r}" for e in run.events if e.get("type") == "result"))


@scenario("day-concurrent-30")
def day_concurrent_30(t):
    """Day budget of $0.30, two sessions spending at once: after the crossing only requests in flight (mod: within one response)."""
    box = t.sandbox(budget(session_usd=10.0, daily_usd=FAN_OUT_BUDGET, warn_at=0.99), {"tool_calls": 12})
    box.install()
    a, b = box.start_claude(tag="A"), box.start_claude(tag="B")
    a.wait(), b.wait()
    t.note(check_parallel_crossing(t, box, box.requests(), {a.session_id: "A", b.session_id: "B"}, "A and B"))


@scenario("mod-halt")
def mod_halt(t):
    """Mod: what `claude -p` prints when the mod halts a run (json and text), and the record `ccbreaker exec` reads."""
    if not needs_mods(t):
        return
    # on_breach = "deny": the hook refuses the call at the crossing, the loop goes on, the mod refuses the next request.
    script = {"tool_calls": 4, "overrides": [spike("main", 1)]}
    for fmt in ("json", "text"):
        box = t.sandbox(budget(session_usd=1.0, on_breach="deny"), script)
        box.install()
        extra = ("--output-format", "text") if fmt == "text" else ()
        run = box.start_claude(extra_args=extra).wait() if fmt == "text" else box.claude()
        reqs = box.requests()
        cross, after = crossing(reqs, 1.0)
        t.eq(len(after), 0, f"{fmt}: requests after the crossing")
        t.eq(len(refusals(box, "turn.step")), 1, f"{fmt}: requests the mod answered itself")
        if fmt == "json":
            r = run.result
            t.eq((run.rc, r.get("terminal_reason"), r.get("is_error"), r.get("subtype")), (0, "completed", False, "success"), "json: exit, terminal_reason, is_error, subtype")
            halted_by_mod(t, box, run, "json")
            st = box.session_status(run.session_id) or {}
            t.eq((st.get("responses"), len(reqs)), (len(reqs), len(reqs)), "status counts the requests sent, not the answered step")
            t.note(f"json: {json.dumps({k: r.get(k) for k in ('terminal_reason', 'is_error', 'subtype', 'num_turns')})}, result {r.get('result')!r}")
        else:
            out = run.stdout_path.read_text()
            t.check(run.rc == 0 and "ccbreaker: session budget reached" in out and "ccbreaker allow --session" in out, "text: exit 0, the reason printed", (run.rc, out[:160]))
            t.note(f"text: exit {run.rc}, stdout {out.strip()[:160]!r}")



# The client writes a line for each attempt it retries since (at the latest) 2.1.331; 2.1.240 writes one only for a
# request whose retries ran out.
RETRY_LINES_SINCE = (2, 1, 331)
API_ERRORS = {**budget(), "breaker.api_errors": {"count": 3, "minutes": 5}}


@scenario("api-error-storm")
def api_error_storm(t):
    """API error breaker: requests refused with 529 again and again stop the session (its retries, or resumed runs)."""
    if version_tuple(t.ctx.client_version) >= RETRY_LINES_SINCE:
        storm_of_retries(t)
    else:
        t.note(f"retried attempts: SKIPPED: Claude Code {t.ctx.client_version} writes no transcript line for a retried attempt")
    storm_of_runs(t)


def storm_of_retries(t):
    """Main turn 1 is answered 529 three times, then with a Bash call: that call is stopped at its PreToolUse."""
    box = t.sandbox(API_ERRORS, {"tool_calls": 3, "overrides": [{"role": "main", "turn": 1, "fail": [529, 529, 529]}]})
    box.install(mod=False)
    run = box.claude()
    t.eq(run.terminal_reason, "hook_stopped", "retries: terminal_reason")
    reqs = box.requests()
    t.eq([(r["turn"], r.get("http_status")) for r in reqs], [(0, None), (1, 529), (1, 529), (1, 529), (1, None)],
         "retries: requests (turn, failed status): turn 1 refused 3 times, then answered, and nothing after it")
    t.eq(sorted(p.name for p in box.project.glob("ran-*")), ["ran-A-main-t0-c0"], "retries: calls that ran (turn 1's is stopped)")
    calls = box.hook_calls()
    first = next((c for c in calls if is_block(c)), None)
    t.eq(first and (first["event"], is_halt(first)), ("PreToolUse", True), "retries: the first block is a PreToolUse halt")
    reason = answer_of(first or {}).get("stopReason") or ""
    t.check(reason.startswith("ccbreaker: API error breaker: the API refused 3 requests of this session in the last 5 minutes (overloaded_error (529) x3)"),
            "retries: the reason names the breaker, the count and the error kinds", reason[:200])
    t.eq(len([c for c in calls if c["event"] == "PreToolUse" and not is_block(c)]), 1, "retries: PreToolUse calls allowed (turn 0's)")
    waits = [r["t"] - reqs[i - 1]["t"] for i, r in enumerate(reqs) if r.get("attempt", 0) > 0]
    t.note(f"retries: the client waited {', '.join(f'{w:.1f} s' for w in waits)} before its retries; run {run.wall:.1f} s")


def storm_of_runs(t):
    """No retries (`CLAUDE_CODE_MAX_RETRIES=0`) and main turn 1 always 529: each run gives up on one request and ends;
    a script resuming the session is stopped at the prompt of the run after the 3rd refusal, with 0 requests."""
    box = t.sandbox(API_ERRORS, {"tool_calls": 3, "overrides": [{"role": "main", "turn": 1, "fail": [529] * 10}]})
    box.install(mod=False)
    settings = box.settings()
    settings["env"] = {**(settings.get("env") or {}), "CLAUDE_CODE_MAX_RETRIES": "0"}
    box.write_settings(settings)
    first = box.claude()
    sid = first.session_id
    runs = [first] + [box.claude(resume=sid, prompt="Continue.") for _ in range(3)]
    t.eq([r.terminal_reason for r in runs[:3]], ["api_error"] * 3, "resumed runs: the first 3 end on the API error")
    reqs = box.requests()
    t.eq([(r["turn"], r.get("http_status")) for r in reqs], [(0, None), (1, 529), (1, 529), (1, 529)],
         "resumed runs: requests (turn, failed status): one refused request a run, and none in the 4th")
    prompts = [c for c in box.hook_calls() if c["event"] == "UserPromptSubmit"]
    t.eq([is_halt(c) or is_block(c) for c in prompts], [False, False, False, True], "resumed runs: UserPromptSubmit blocks the 4th")
    last = answer_of(prompts[-1] if prompts else {})
    reason = last.get("stopReason") or last.get("reason") or ""
    t.check(reason.startswith("ccbreaker: API error breaker: the API refused 3 requests of this session in the last 5 minutes ("),
            "resumed runs: the reason names the breaker and the count", reason[:200])
    t.note(f"resumed runs: the 4th: terminal_reason {runs[-1].terminal_reason!r}, {reason[:150]!r}; runs {', '.join(f'{r.wall:.1f} s' for r in runs)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--bin", type=Path, help="the ccbreaker binary under test")
    who.add_argument("--standin", action="store_true", help="test the harness against the test double standin_hook.py")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--client-version", default=CLIENT_VERSION, help=f"Claude Code version (default {CLIENT_VERSION}; older: {OLDER_CLIENT_VERSION})")
    p.add_argument("--client", type=Path, help="a claude binary to use instead of the cached npm install")
    p.add_argument("--keep", action="store_true", help="keep every sandbox (failed ones are always kept)")
    p.add_argument("--run-timeout", type=float, default=150.0, help="seconds one `claude -p` may take")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    if a.list:
        for s in SCENARIOS:
            print(f"{s.name:28} {s.doc}")
        return 0
    if not a.bin and not a.standin:
        p.error("pass --bin PATH (the ccbreaker binary) or --standin")
    unknown = set(a.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; see --list")
    selected = [s for s in SCENARIOS if not a.scenarios or s.name in a.scenarios]
    binary = (HERE / "standin_hook.py") if a.standin else a.bin.resolve()
    if not binary.exists():
        p.error(f"{binary} does not exist")
    try:
        client = a.client.resolve() if a.client else ensure_client(a.client_version)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-e2e-"))
    version = client_version_of(client, work)
    ctx = Context(binary, a.standin, client, version, work, a.keep, a.verbose, a.run_timeout)
    print(f"ccbreaker e2e: {'STAND-IN ' if a.standin else ''}{binary}\nclient: Claude Code {version} ({client})\n")
    t0 = time.time()
    results = [(s, *run_scenario(ctx, s)) for s in selected]
    failed = [s.name for s, t, _ in results if t.failed]
    print(f"{len(results) - len(failed)}/{len(results)} scenarios passed in {time.time() - t0:.0f} s (Claude Code {version})")
    for s, t, wall in results:
        print(f"  {'FAIL' if t.failed else 'ok  '} {s.name:28} {wall:6.1f} s")
    try:
        work.rmdir()
    except OSError:
        pass
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
