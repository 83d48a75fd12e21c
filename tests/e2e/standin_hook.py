#!/usr/bin/env python3
"""TEST DOUBLE, NOT ccbreaker: a stand-in that mimics ccbreaker's CLI contract so the end-to-end harness can be
proven before ccbreaker's own hook exists (`suite.py --standin`). Nothing here is shipped or meant to be used.

  standin_hook.py hook                                  (stdin: the hook event JSON)
  standin_hook.py install [--scope user|project|local] [--dry-run]
  standin_hook.py status --json [--session ID]
  standin_hook.py allow --session ID [--add-usd N] [--i-am-human]

The contract it mimics (see tests/e2e/README.md): config TOML at $CCBREAKER_CONFIG ([budget] session_usd,
daily_usd, warn_at, timezone; [policy] on_breach stop|deny|exit-code, on_error allow|block), state under
$CCBREAKER_STATE_DIR. The hook sums the usage of the assistant lines of the session transcript and of
`<transcript without .jsonl>/subagents/*.jsonl` (each message.id + requestId once, the largest copy), prices it at
the Opus 5.5 rates below, and persists a per-session "blocked" flag. At PreToolUse and PostToolBatch it first waits
(up to WAIT_S) for the transcript line that carries the current tool_use_id, so it prices the response that issued
the call. Stop and SubagentStop are never blocked.
"""

import fcntl
import json
import os
import sys
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path

# USD per token: Opus 5.5 (Claude Code 2.1.331's default model against the mock) for any model but Opus 5
# (2.1.240's default).
RATES = {"input": 4e-6, "output": 20e-6, "cache_5m": 5e-6, "cache_1h": 8e-6, "cache_read": 0.2e-6}
MODEL_RATES = {"claude-opus-5": {"input": 5e-6, "output": 25e-6, "cache_5m": 6.25e-6, "cache_1h": 10e-6, "cache_read": 0.5e-6}}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
DEFAULTS = {
    "budget": {"session_usd": 20.0, "daily_usd": 50.0, "warn_at": 0.8, "timezone": "UTC"},
    "policy": {"on_breach": "stop", "on_error": "allow"},
}
HOOK_EVENTS = ("PreToolUse", "PostToolBatch", "UserPromptSubmit", "Stop", "SubagentStop")
BLOCKING_EVENTS = ("PreToolUse", "PostToolBatch", "UserPromptSubmit")
WAIT_S = 3.0
HOOK_TIMEOUT_S = 10


def load_config():
    cfg = {k: dict(v) for k, v in DEFAULTS.items()}
    path = os.environ.get("CCBREAKER_CONFIG")
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for section in cfg:
            cfg[section].update(data.get(section, {}))
    return cfg


def state_dir():
    d = Path(os.environ.get("CCBREAKER_STATE_DIR") or Path.home() / ".local/state/ccbreaker-standin")
    d.mkdir(parents=True, exist_ok=True)
    return d


class Ledger:
    """state.json under an exclusive flock on a sidecar lock file; `with Ledger() as s: s.data[...]`."""

    def __enter__(self):
        d = state_dir()
        self.path = d / "state.json"
        self.lock = open(d / "state.lock", "a")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {"sessions": {}}
        return self

    def save(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)

    def __exit__(self, *exc):
        self.lock.close()


def today(cfg):
    try:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(cfg["budget"]["timezone"])
    except Exception:
        tz = timezone.utc
    return datetime.now(tz).date().isoformat()


def transcript_files(transcript_path):
    main = Path(transcript_path)
    files = [main] if main.exists() else []
    sub_dir = main.with_suffix("") / "subagents"
    if sub_dir.is_dir():
        files += sorted(sub_dir.glob("*.jsonl"))
    return files


def session_usage(transcript_path):
    """Tokens and cost of every response in the session's files, each (message.id, requestId) once."""
    best = {}
    for path in transcript_files(transcript_path):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if '"usage"' not in line:
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            msg = j.get("message") or {}
            u = msg.get("usage")
            if j.get("type") != "assistant" or not isinstance(u, dict):
                continue
            cc = u.get("cache_creation") or {}
            c1h = cc.get("ephemeral_1h_input_tokens") or 0
            c5m = cc.get("ephemeral_5m_input_tokens", (u.get("cache_creation_input_tokens") or 0) - c1h) or 0
            t = {
                "model": msg.get("model"),
                "input": u.get("input_tokens") or 0,
                "output": u.get("output_tokens") or 0,
                "cache_5m": c5m,
                "cache_1h": c1h,
                "cache_read": u.get("cache_read_input_tokens") or 0,
            }
            key = (msg.get("id"), j.get("requestId")) if msg.get("id") else ("line", path, line)
            if key not in best or sum(t[k] for k in RATES) > sum(best[key][k] for k in RATES):
                best[key] = t
    total, cost = {k: 0 for k in RATES}, 0.0
    for t in best.values():
        rates = MODEL_RATES.get(t["model"], RATES)
        for k in total:
            total[k] += t[k]
            cost += t[k] * rates[k]
    return total, cost


def wait_for_ids(transcript_path, agent_id, ids):
    """Waits until the line carrying each tool_use id is in the transcript (the client writes it ~100 ms late)."""
    path = Path(transcript_path)
    if agent_id:
        path = path.with_suffix("") / "subagents" / f"agent-{agent_id}.jsonl"
    deadline = time.monotonic() + WAIT_S
    while ids and time.monotonic() < deadline:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            text = ""
        ids = [i for i in ids if f'"id":"{i}"' not in text]
        if ids:
            time.sleep(0.02)


def tokens_view(total):
    return {
        "input_tokens": total["input"],
        "output_tokens": total["output"],
        "cache_creation_tokens": total["cache_5m"] + total["cache_1h"],
        "cache_read_tokens": total["cache_read"],
    }


def refresh(sessions, sid, transcript_path, date):
    s = sessions.setdefault(sid, {"blocked": None, "warned": [], "extra_usd": 0.0})
    if transcript_path:
        s["transcript_path"] = transcript_path
    if s.get("transcript_path"):
        total, cost = session_usage(s["transcript_path"])
        s.update(tokens_view(total), cost_usd=cost, date=date)
    return s


def day_cost(sessions, date):
    return sum(s.get("cost_usd", 0.0) for s in sessions.values() if s.get("date") == date)


def cmd_hook():
    try:
        event = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        return 0
    name = event.get("hook_event_name")
    sid = event.get("session_id")
    if name not in BLOCKING_EVENTS or not sid:
        return 0  # Stop/SubagentStop are never blocked (exit 2 there would mean "keep going")
    cfg = load_config()
    b, policy = cfg["budget"], cfg["policy"]
    tp = event.get("transcript_path")
    if tp and name != "UserPromptSubmit":
        ids = [event["tool_use_id"]] if event.get("tool_use_id") else []
        ids += [c.get("tool_use_id") for c in event.get("tool_calls") or [] if c.get("tool_use_id")]
        wait_for_ids(tp, event.get("agent_id"), ids)
    date = today(cfg)
    warn = None
    with Ledger() as led:
        sessions = led.data["sessions"]
        s = refresh(sessions, sid, tp, date)
        limit = b["session_usd"] + s["extra_usd"]
        day = day_cost(sessions, date)
        if not s["blocked"]:
            if s["cost_usd"] >= limit:
                s["blocked"] = f"ccbreaker: session budget ${limit:.2f} reached (spent ${s['cost_usd']:.2f})"
            elif day >= b["daily_usd"]:
                s["blocked"] = f"ccbreaker: daily budget ${b['daily_usd']:.2f} reached (spent ${day:.2f})"
            else:
                for scope, spent, budget in (("session", s["cost_usd"], limit), ("day", day, b["daily_usd"])):
                    if spent >= b["warn_at"] * budget and scope not in s["warned"]:
                        s["warned"].append(scope)
                        warn = f"ccbreaker: {scope} spend ${spent:.2f} is past {b['warn_at']:.0%} of ${budget:.2f}"
                        break
        reason = s["blocked"]
        led.save()
    if reason:
        return breach(name, reason, policy["on_breach"])
    if warn:
        print(json.dumps({"systemMessage": warn}))
    return 0


def breach(name, reason, mode):
    if mode == "exit-code":
        sys.stderr.write(reason + "\n")
        return 2
    if name == "UserPromptSubmit":
        out = {"decision": "block", "reason": reason}
    elif mode == "deny":
        if name != "PreToolUse":
            return 0
        out = {"hookSpecificOutput": {"hookEventName": name, "permissionDecision": "deny", "permissionDecisionReason": reason}}
    else:
        out = {"continue": False, "stopReason": reason}
        if name == "PreToolUse":
            out["hookSpecificOutput"] = {"hookEventName": name, "permissionDecision": "deny", "permissionDecisionReason": reason}
    print(json.dumps(out))
    return 0


def cmd_install(args):
    scope = args[args.index("--scope") + 1] if "--scope" in args else "user"
    if scope == "user":
        base = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
        path = base / "settings.json"
    else:
        path = Path.cwd() / ".claude" / ("settings.json" if scope == "project" else "settings.local.json")
    command = f"{Path(__file__).resolve()} hook"
    block = load_config()["policy"]["on_error"] == "block"
    settings = json.loads(path.read_text()) if path.exists() else {}
    hooks = settings.setdefault("hooks", {})
    for ev in HOOK_EVENTS:
        groups = [g for g in hooks.get(ev, []) if not any(h.get("command") == command for h in g.get("hooks", []))]
        entry = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}
        if block and ev in ("PreToolUse", "PostToolBatch"):
            entry["onFailure"] = "block"
        group = {"matcher": "*", "hooks": [entry]} if ev == "PreToolUse" else {"hooks": [entry]}
        hooks[ev] = groups + [group]
    text = json.dumps(settings, indent=2) + "\n"
    if "--dry-run" in args:
        sys.stdout.write(text)
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"installed into {path}")
    return 0


def cmd_status(args):
    cfg = load_config()
    date = today(cfg)
    with Ledger() as led:
        sessions = led.data["sessions"]
        for sid in list(sessions):
            refresh(sessions, sid, None, sessions[sid].get("date", date))
        led.save()
        data = json.loads(json.dumps(sessions))
    b = cfg["budget"]
    rows = []
    for sid, s in data.items():
        if "--session" in args and args[args.index("--session") + 1] != sid:
            continue
        limit = b["session_usd"] + s.get("extra_usd", 0.0)
        state = "blocked" if s.get("blocked") else ("warn" if s.get("cost_usd", 0) >= b["warn_at"] * limit else "ok")
        rows.append({"session_id": sid, "cost_usd": s.get("cost_usd", 0.0), **{k: s.get(k, 0) for k in TOKEN_FIELDS}, "state": state})
    day_rows = [s for s in data.values() if s.get("date") == date]
    day = {"cost_usd": sum(s.get("cost_usd", 0.0) for s in day_rows)}
    day.update({k: sum(s.get(k, 0) for s in day_rows) for k in TOKEN_FIELDS})
    print(json.dumps({"date": date, "timezone": b["timezone"], "day": day, "sessions": rows, "budgets": b, "unknown_models": []}))
    return 0


def cmd_allow(args):
    if "--session" not in args:
        sys.stderr.write("standin: allow needs --session ID\n")
        return 2
    if os.environ.get("CLAUDECODE") and "--i-am-human" not in args:
        sys.stderr.write("standin: refusing to run inside a Claude Code tool call (pass --i-am-human)\n")
        return 2
    sid = args[args.index("--session") + 1]
    add = float(args[args.index("--add-usd") + 1]) if "--add-usd" in args else 0.0
    with Ledger() as led:
        s = led.data["sessions"].setdefault(sid, {"blocked": None, "warned": [], "extra_usd": 0.0})
        s["blocked"] = None
        s["warned"] = []
        s["extra_usd"] = s.get("extra_usd", 0.0) + add
        led.save()
    print(f"session {sid} allowed (+${add:.2f})")
    return 0


def main(argv):
    cmd, args = (argv[0] if argv else ""), argv[1:]
    if cmd == "hook":
        return cmd_hook()
    if cmd == "install":
        return cmd_install(args)
    if cmd == "status":
        return cmd_status(args)
    if cmd == "allow":
        return cmd_allow(args)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
