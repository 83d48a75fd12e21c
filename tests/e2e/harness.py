"""The end-to-end harness: runs the real Claude Code client offline, against mock_api.py, with ccbreaker installed as
its hook, and collects what happened (the client's result, the mock's request log, the transcripts, every hook
answer) so a scenario can assert on it. Python 3.11 standard library only; scenarios live in suite.py.

One scenario = one or more Sandboxes. A Sandbox is a temp directory holding a HOME, a project cwd, a ccbreaker
config and state dir, plus a mock API on a free loopback port. `install()` runs `<bin> install --scope user` with
that HOME and then puts hook_tap.py in front of each installed hook command; `claude()` runs
`claude -p PROMPT --output-format json --dangerously-skip-permissions` in the project and returns a Run.
"""

import fcntl
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mock_api import RUN_MARKER, MockServer, Script  # noqa: E402

CLIENT_VERSION = "2.1.331"
# About three months older than CLIENT_VERSION (2026-08-22 vs 2026-11-23 on npm); `--client-version` picks it.
OLDER_CLIENT_VERSION = "2.1.240"
CLIENT_PACKAGE = "@anthropic-ai/claude-code"

# USD per token of the models the clients ask for by default (2.1.331: claude-opus-5-5; 2.1.240: claude-opus-5):
# the harness's own price list, kept apart from ccbreaker's so the two check each other.
RATES = {
    "claude-opus-5-5": {"input": 4e-6, "output": 20e-6, "cache_5m": 5e-6, "cache_1h": 8e-6, "cache_read": 0.2e-6},
    "claude-opus-5": {"input": 5e-6, "output": 25e-6, "cache_5m": 6.25e-6, "cache_1h": 10e-6, "cache_read": 0.5e-6},
}

FAKE_API_KEY = "sk-ant-e2e-0000000000000000-not-a-real-key"
DEAD_PROXY = "http://127.0.0.1:9"


class ScenarioError(Exception):
    """A scenario cannot go on (e.g. `ccbreaker install` wrote nothing): reported as one failed check."""


# -- the client -------------------------------------------------------------------------------------------------


def cache_dir():
    return Path(os.environ.get("CCBREAKER_E2E_CACHE") or Path.home() / ".cache" / "ccbreaker-e2e")


def native_package():
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if sys.platform != "linux" or not arch:
        raise ScenarioError(f"the e2e suite runs the client's linux native binary; this is {sys.platform}/{platform.machine()}")
    return f"{CLIENT_PACKAGE}-linux-{arch}"


def client_path(version):
    return cache_dir() / version / "node_modules" / native_package() / "claude"


def ensure_client(version, say=print):
    """The path of the pinned client's native binary, installed with npm into the cache on first use."""
    binary = client_path(version)
    if os.access(binary, os.X_OK):
        return binary
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two suites starting at once install once
        if os.access(binary, os.X_OK):
            return binary
        d = root / version
        d.mkdir(exist_ok=True)
        (d / "package.json").write_text('{"name": "ccbreaker-e2e-client", "private": true}\n')
        say(f"installing {CLIENT_PACKAGE}@{version} into {d} (once; about 400 MB) ...")
        cmd = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"{CLIENT_PACKAGE}@{version}"]
        p = subprocess.run(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0 or not os.access(binary, os.X_OK):
            raise ScenarioError(f"`{' '.join(cmd)}` in {d} failed (exit {p.returncode}):\n{p.stdout[-2000:]}")
    return binary


def version_tuple(version):
    try:
        return tuple(int(x) for x in version.split("."))
    except ValueError:
        return (0,)


def client_version_of(binary, scratch):
    """`claude --version` ("2.1.331 (Claude Code)"), run with a throwaway HOME under `scratch`."""
    home = Path(tempfile.mkdtemp(prefix="version-home-", dir=scratch))
    try:
        p = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, env=base_env(home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return p.stdout.split()[0] if p.stdout.strip() else "?"


# -- pricing and request-log analysis ----------------------------------------------------------------------------


def price(request):
    """USD of one logged request's response, at its model's rates."""
    rates = RATES.get(request["model"])
    if rates is None:
        raise ScenarioError(f"the harness has no price for model {request['model']!r}; add it to RATES")
    return sum(request["usage"].get(k, 0) * rate for k, rate in rates.items())


def cost_of(requests):
    return sum(price(r) for r in requests)


def crossing(requests, budget, spent_before=0.0):
    """The first request (in arrival order) whose response takes the running cost to `budget` or past it, and the
    requests that arrived after it: (request or None, [requests after])."""
    total = spent_before
    for i, r in enumerate(requests):
        total += price(r)
        if total >= budget:
            return r, requests[i + 1 :]
    return None, []


def describe(requests):
    """`main 3, sub-0 2`: requests per role."""
    counts = {}
    for r in requests:
        counts[r["role"]] = counts.get(r["role"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def answer_of(call):
    try:
        return json.loads(call.get("stdout") or "{}")
    except ValueError:
        return {}


def is_block(call):
    """Whether a tapped hook answer blocks (halts, denies or rejects) under any of the contract's on_breach modes."""
    if call.get("rc") == 2:
        return True
    a = answer_of(call)
    hso = a.get("hookSpecificOutput") or {}
    return a.get("continue") is False or a.get("decision") == "block" or hso.get("permissionDecision") == "deny"


def is_halt(call):
    """Whether a tapped answer ends the agent loop (continue:false), not just refuses one call."""
    return answer_of(call).get("continue") is False


def gate_of(request, requests, calls):
    """The hook calls that let `request` be sent: those on the tool calls of the same agent's previous response
    (PreToolUse, PostToolBatch) when the request carries their results, else the UserPromptSubmit before it (a new
    prompt, e.g. a subagent's task notification)."""
    prev = [r for r in requests if r["run"] == request["run"] and r["role"] == request["role"] and r["seq"] < request["seq"]]
    ids = {u["id"] for u in prev[-1]["tool_uses"]} if prev else set()
    answered = {b.get("tool_use_id") for b in request["last_user"] if b.get("type") == "tool_result"}
    if ids & answered:
        return [c for c in calls if c.get("tool_use_id") in ids or ids & set(c.get("tool_calls") or [])]
    prompts = [c for c in calls if c["event"] == "UserPromptSubmit" and c["t1"] <= request["t"]]
    return prompts[-1:]


def classify_after(after, requests, calls):
    """Sorts the requests that came after the crossing one by what let them through:
    "in flight" (their last gate answered before any hook had blocked: nothing could have stopped them),
    "let through" (a gate answered "go on" after a hook had already blocked: a leak), and
    "past a block" (their gate blocked, and the client sent the request anyway)."""
    blocks = [c["t1"] for c in calls if is_block(c)]
    first_block = min(blocks) if blocks else float("inf")
    out = {"in flight": [], "let through": [], "past a block": []}
    for r in after:
        gate = gate_of(r, requests, calls)
        label = f"{r['run']} {r['role']} t{r['turn']}"
        if any(is_block(c) for c in gate):
            out["past a block"].append(label)
        elif gate and max(c["t1"] for c in gate) >= first_block:
            out["let through"].append(label)
        else:
            out["in flight"].append(label)
    return out


# -- ccbreaker's mod -------------------------------------------------------------------------------------------------

# The first client with mods (function hooks) the suite knows: 2.1.331 has them, 2.1.240 has none.
MOD_SINCE = (2, 1, 331)
# The events of the mod's requests to `ccbreaker gate`, as CCBREAKER_LOG names them.
GATE_EVENTS = ("turn.step", "turn.step end", "agent.spawn", "session.compact", "http.fetch")


def epoch(rfc3339):
    """chrono's to_rfc3339 (up to 9 fractional digits) as seconds since the epoch."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def gate_allowed(line):
    """Whether a CCBREAKER_LOG line of the gate let the mod's request through."""
    try:
        return json.loads(line.get("stdout") or "{}").get("allow") is True
    except ValueError:
        return False


def allowed_steps(gate_calls, roles, run_of_session=None):
    """{(run, role): [when the gate let each `turn.step` through]}, from the gate's calls (Sandbox.gate_calls), the
    subagents' roles (Sandbox.agent_roles) and the run tag of each session (default: "A")."""
    steps = {}
    for c in gate_calls:
        if c["event"] != "turn.step" or not gate_allowed(c):
            continue
        role = roles.get(c.get("agent_id") or "", "main" if not c.get("agent_id") else "?")
        run = (run_of_session or {}).get(c.get("session"), "A")
        steps.setdefault((run, role), []).append(c["t1"])
    return steps


def classify_mod_after(after, requests, steps, cross):
    """Sorts the requests after the crossing one by when the mod's `turn.step` let each through: "in flight" (before
    the crossing response had finished streaming: nothing could stop them) or "let through" (after it). The k-th
    request of an agent (role `main` or `sub-<i>`; failed attempts and their retries are one step) is its k-th step
    the gate allowed (`steps`: {role: [decision times]})."""
    out = {"in flight": [], "let through": [], "unmatched": []}
    seen = {}
    for r in requests:
        if r["role"] != "main" and not r["role"].startswith("sub-"):
            continue
        if r.get("attempt", 0) > 0 and any(
            p["role"] == r["role"] and p["run"] == r["run"] and p["turn"] == r["turn"] and p.get("http_status")
            for p in requests
            if p["seq"] < r["seq"]
        ):
            continue  # a retry of a step already matched
        k = seen.get((r["run"], r["role"]), 0)
        seen[(r["run"], r["role"])] = k + 1
        if r not in after:
            continue
        label = f"{r['run']} {r['role']} t{r['turn']}"
        times = steps.get((r["run"], r["role"]), [])
        if k >= len(times):
            out["unmatched"].append(label)
        elif times[k] < cross["t_end"]:
            out["in flight"].append(label)
        else:
            out["let through"].append(label)
    return out


# -- a scenario's sandbox ----------------------------------------------------------------------------------------


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def toml_text(config):
    lines = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def base_env(home):
    """The whole environment of every process the harness starts: nothing leaks in from the caller's (no
    CLAUDE_*, no real key, no proxy), and any traffic not bound for 127.0.0.1 goes to a dead port."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "USER": os.environ.get("USER", "e2e"),
        "LANG": "C.UTF-8",
        "SHELL": "/bin/bash",
        "TERM": "dumb",
        "ANTHROPIC_API_KEY": FAKE_API_KEY,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "https_proxy": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"  # root + --dangerously-skip-permissions is refused without it
    return env


@dataclass
class Context:
    """What every scenario shares: the binary under test and the client."""

    bin: Path
    standin: bool
    client: Path
    client_version: str
    work: Path
    keep: bool = False
    verbose: bool = False
    run_timeout: float = 150.0


class Sandbox:
    def __init__(self, t, name, config=None, script=None):
        self.t, self.ctx = t, t.ctx
        self.root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.ctx.work))
        self.home, self.project, self.state = self.root / "home", self.root / "project", self.root / "state"
        self.tmp = self.root / "tmp"
        for d in (self.home, self.project, self.state, self.tmp):
            d.mkdir()
        self.config_path = self.root / "ccbreaker.toml"
        self.config_path.write_text(toml_text(config or {}))
        self.tap_log = self.root / "hooks.jsonl"
        # Every call of the binary under test, hooks and the mod's gate: what the mod asked and was answered.
        self.ccb_log = self.root / "ccbreaker.log"
        # Where `ccbreaker install` writes the mod (user mode).
        self.mod_dir = self.home / ".local" / "share" / "ccbreaker" / "mod"
        self.settings_path = self.home / ".claude" / "settings.json"
        self.installed = None
        self.runs = []
        dump = self.root / "bodies" if os.environ.get("CCB_E2E_DUMP_BODIES") else None
        self.mock = MockServer(Script(script), log_path=self.root / "requests.jsonl", dump_dir=dump).start()

    # environment and ccbreaker ---------------------------------------------------------------------------------

    def env(self):
        env = base_env(self.home)
        env.update(
            {
                "TMPDIR": str(self.tmp),
                "ANTHROPIC_BASE_URL": self.mock.url,
                "CCBREAKER_CONFIG": str(self.config_path),
                "CCBREAKER_STATE_DIR": str(self.state),
                "CCBREAKER_LOG": str(self.ccb_log),
                "CCB_E2E_TAP_LOG": str(self.tap_log),
            }
        )
        return env

    def ccbreaker(self, *args, check=True):
        """Runs the binary under test outside any Claude Code session (as a user at a shell would)."""
        argv = [str(self.ctx.bin), *args]
        p = subprocess.run(argv, cwd=self.project, env=self.env(), capture_output=True, text=True, timeout=60)
        self.t.log(f"$ ccbreaker {' '.join(args)} -> exit {p.returncode}")
        if check and p.returncode != 0:
            raise ScenarioError(f"`ccbreaker {' '.join(args)}` exited {p.returncode}: {(p.stderr or p.stdout).strip()[-800:]}")
        return p

    def status(self, session=None):
        args = ["status", "--json"] + (["--session", session] if session else [])
        p = self.ccbreaker(*args)
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise ScenarioError(f"`ccbreaker status --json` printed no JSON: {p.stdout[:300]!r}") from None

    def session_status(self, session):
        rows = [s for s in self.status(session).get("sessions", []) if s.get("session_id") == session]
        return rows[0] if rows else None

    def allow(self, session, add_usd=None):
        args = ["allow", "--session", session] + (["--add-usd", str(add_usd)] if add_usd is not None else [])
        return self.ccbreaker(*args)

    # settings.json ----------------------------------------------------------------------------------------------

    def settings(self):
        return json.loads(self.settings_path.read_text()) if self.settings_path.exists() else {}

    def write_settings(self, settings):
        self.settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.settings_path.write_text(json.dumps(settings, indent=2))

    def our_entries(self, settings=None):
        """[(event, handler entry)] of the hooks that run the binary under test."""
        settings = settings if settings is not None else self.settings()
        me = str(self.ctx.bin)
        out = []
        for event, groups in (settings.get("hooks") or {}).items():
            for g in groups:
                for h in g.get("hooks", []):
                    if me in (h.get("command") or ""):
                        out.append((event, h))
        return out

    def install(self, tap=True, extra_settings=None, mod=True):
        """`ccbreaker install --scope user` into this HOME; then the tap in front of each of its hooks. `mod=False`
        takes the mod's entry out again: the command hooks alone, as on a client without mods."""
        self.ccbreaker("install", "--scope", "user")
        if not self.settings_path.exists():
            raise ScenarioError(f"`ccbreaker install --scope user` wrote no {self.settings_path}")
        self.installed = self.settings()
        if not self.our_entries(self.installed):
            raise ScenarioError(f"{self.settings_path} has no hook running {self.ctx.bin}")
        settings = json.loads(json.dumps(self.installed))
        if not mod:
            (settings.get("env") or {}).pop("CLAUDE_CODE_PLUGIN_DIRS", None)
        if tap:
            self.rewrite_hooks(settings, prefix=[sys.executable, str(HERE / "hook_tap.py")])
        settings.update(extra_settings or {})
        self.write_settings(settings)
        return self.installed

    def rewrite_hooks(self, settings, prefix=None, replace_bin=None, timeout=None):
        """Edits the installed entries in place: put `prefix` in front, or run `replace_bin` instead of ccbreaker."""
        me = str(self.ctx.bin)
        for _, h in self.our_entries(settings):
            if replace_bin:
                h["command"] = h["command"].replace(me, str(replace_bin))
            if prefix:
                if "args" in h:  # exec form: command is the program
                    h["args"] = [*prefix[1:], h["command"], *h["args"]]
                    h["command"] = prefix[0]
                else:
                    h["command"] = " ".join(shlex.quote(p) for p in prefix) + " " + h["command"]
            if timeout is not None:
                h["timeout"] = timeout
        return settings

    # running the client -------------------------------------------------------------------------------------------

    def start_claude(self, tag="A", prompt=None, resume=None, stream=False, extra_args=(), timeout=None, wrap=()):
        """Starts `claude -p` (does not wait); `tag` names the conversation in the mock's log and the markers.
        `stream` asks for `--output-format stream-json --verbose`: every event the user would see, one per line.
        `wrap` is put in front of the command line (`ccbreaker exec --`)."""
        prompt = prompt or f"{RUN_MARKER}-{tag}: do the scripted task."
        fmt = ["stream-json", "--verbose"] if stream else ["json"]
        argv = [*wrap, str(self.ctx.client), "-p", prompt, "--output-format", *fmt, "--dangerously-skip-permissions"]
        if resume:
            argv += ["--resume", resume]
        argv += list(extra_args)
        run = Run(self, tag, argv, timeout or self.ctx.run_timeout)
        self.runs.append(run)
        return run

    def claude(self, **kw):
        return self.start_claude(**kw).wait()

    # what happened ------------------------------------------------------------------------------------------------

    def requests(self, tag=None, role=None, after_seq=0):
        """The mock's /v1/messages requests, in arrival order, optionally of one conversation or role prefix."""
        out = []
        for r in self.mock.requests():
            if "role" not in r or r["seq"] <= after_seq:
                continue
            if tag is not None and r["run"] != tag:
                continue
            if role is not None and not r["role"].startswith(role):
                continue
            out.append(r)
        return out

    def stray_requests(self):
        """Requests to anything but /v1/messages (the client should make none)."""
        return [r for r in self.mock.requests() if "role" not in r]

    def hook_calls(self, event=None, session=None):
        if not self.tap_log.exists():
            return []
        calls = []
        for line in self.tap_log.read_text().splitlines():
            try:
                calls.append(json.loads(line))
            except ValueError:
                pass  # a line a tap is still writing
        calls.sort(key=lambda c: c["t0"])
        return [c for c in calls if (event is None or c["event"] == event) and (session is None or c["session_id"] == session)]

    def ccb_calls(self, events=None):
        """The lines ccbreaker wrote to CCBREAKER_LOG (every hook call and every request of the mod), each with
        `t0` and `t1` (when the call started and answered, seconds since the epoch), in order of `t0`."""
        if not self.ccb_log.exists():
            return []
        out = []
        for line in self.ccb_log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if events is not None and entry.get("event") not in events:
                continue
            entry["t0"] = epoch(entry["at"])
            entry["t1"] = entry["t0"] + entry.get("micros", 0) / 1e6
            out.append(entry)
        return sorted(out, key=lambda e: e["t0"])

    def gate_calls(self):
        """The mod's requests to `ccbreaker gate`."""
        return self.ccb_calls(GATE_EVENTS)

    def agent_roles(self):
        """{subagent id: "sub-<i>"}, from each subagent transcript's first prompt (the mock's marker)."""
        roles = {}
        for path in (self.home / ".claude" / "projects").rglob("agent-*.jsonl"):
            match = re.search(r"CCB-E2E-SUBAGENT-(\d+)", path.read_text(errors="replace")[:20000])
            if match:
                roles[path.stem.removeprefix("agent-")] = f"sub-{match.group(1)}"
        return roles

    def allowed_steps(self, run_of_session=None):
        """{(run, role): [when the gate let each `turn.step` through]}; `run_of_session` maps a session id to the run
        tag (default: every session is run "A")."""
        return allowed_steps(self.gate_calls(), self.agent_roles(), run_of_session)

    def markers(self, tag=None):
        """Names of the `ran-...` files the scripted Bash calls touched: the calls that really ran."""
        names = sorted(p.name for p in self.project.glob("ran-*"))
        return [n for n in names if tag is None or n.startswith(f"ran-{tag}-")]

    def transcripts(self):
        return sorted((self.home / ".claude" / "projects").rglob("*.jsonl"))

    def tool_results(self):
        """{tool_use_id: (is_error, text)} of every tool result in the transcripts."""
        out = {}
        for path in self.transcripts():
            for line in self.transcript_lines(path):
                content = (line.get("message") or {}).get("content")
                for b in content if isinstance(content, list) else []:
                    if isinstance(b, dict) and b.get("type") == "tool_result":
                        text = b.get("content")
                        text = text if isinstance(text, str) else json.dumps(text)
                        out[b.get("tool_use_id")] = (bool(b.get("is_error")), text)
        return out

    def transcript_lines(self, path):
        out = []
        for line in Path(path).read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def close(self):
        self.mock.stop()
        for r in self.runs:
            r.kill()


# -- locked mode: a private mount namespace and an unprivileged agent ----------------------------------------------

LOCKED_UID = 4243
LOCKED_USER = "ccb-agent"
# Overlays over what `install --locked` writes, kept in the sandbox: the host's /etc, /usr/local and /var/lib are
# never changed.
LOCKED_LAYERS = (("etc", "/etc"), ("usr-local", "/usr/local"), ("var-lib", "/var/lib"))


def locked_unavailable():
    """Why locked mode cannot be tested here, or None (it needs root and mount namespaces; CI has both)."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        return "no unshare or setpriv"
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        return "`unshare -m` is not permitted"
    return None


class LockedSandbox(Sandbox):
    """A sandbox whose commands run in a private mount namespace with overlays on /etc, /usr/local and /var/lib,
    where `ccbreaker install --locked` puts the managed settings, the root-owned config and binary, and the state;
    the client runs as an unprivileged user created (inside the /etc overlay) for the test."""

    def __init__(self, t, name, script=None):
        super().__init__(t, name, None, script)
        for d in (self.ctx.work, self.root):
            d.chmod(0o755)
        for layer, _ in LOCKED_LAYERS:
            (self.root / layer / "upper").mkdir(parents=True)
            (self.root / layer / "work").mkdir()
        # The cached client lives under root's home: the namespace binds it where the agent can run it.
        self.client = self.root / "claude"
        self.client.touch(mode=0o755)
        self.in_ns(["useradd", "-u", str(LOCKED_UID), "-M", "-d", str(self.home), "-s", "/bin/sh", LOCKED_USER])
        for d in (self.home, self.project, self.tmp):
            os.chown(d, LOCKED_UID, LOCKED_UID)

    def ns_argv(self, argv, user=False, env=None):
        mounts = [
            f"mount -t overlay overlay -o lowerdir={target},upperdir={self.root / layer / 'upper'},workdir={self.root / layer / 'work'} {target}"
            for layer, target in LOCKED_LAYERS
        ]
        mounts.append(f"mount --bind {shlex.quote(str(self.ctx.client))} {shlex.quote(str(self.client))}")
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", " && ".join(mounts) + ' && exec "$@"', "sh"]
        if user:
            prefix += ["setpriv", f"--reuid={LOCKED_UID}", f"--regid={LOCKED_UID}", "--init-groups", "env", "-i"]
            prefix += [f"{k}={v}" for k, v in (env or {}).items()]
        return prefix + [str(a) for a in argv]

    def in_ns(self, argv, user=False, check=True):
        p = subprocess.run(self.ns_argv(argv, user, self.env() if user else None), cwd=self.project, capture_output=True, text=True, timeout=120)
        self.t.log(f"$ [{'agent' if user else 'root'}] {' '.join(map(str, argv))} -> exit {p.returncode}")
        if check and p.returncode != 0:
            raise ScenarioError(f"`{' '.join(map(str, argv))}` exited {p.returncode}: {(p.stderr or p.stdout).strip()[-800:]}")
        return p

    def env(self):
        env = base_env(self.home)
        env.pop("IS_SANDBOX", None)
        env.update({"TMPDIR": str(self.tmp), "ANTHROPIC_BASE_URL": self.mock.url, "USER": LOCKED_USER, "LOGNAME": LOCKED_USER})
        env["CCB_E2E_CLIENT"] = str(self.client)  # for the agent's own child `claude -p`
        return env

    def install_locked(self, config_toml):
        self.in_ns([self.ctx.bin, "install", "--locked"])
        (self.root / "etc" / "upper" / "ccbreaker" / "config.toml").write_text(config_toml)

    def ccbreaker_as_agent(self, *args, check=True):
        """The locked binary, run by the agent's user (as `ccbreaker status` in its own terminal would be)."""
        return self.in_ns(["/usr/local/bin/ccbreaker", *args], user=True, check=check)

    def start_claude(self, tag="A", prompt=None, resume=None, stream=False, extra_args=(), timeout=None):
        prompt = prompt or f"{RUN_MARKER}-{tag}: do the scripted task."
        argv = [str(self.client), "-p", prompt, "--output-format", "json", "--dangerously-skip-permissions"]
        run = Run(self, tag, self.ns_argv(argv, user=True, env=self.env()), timeout or self.ctx.run_timeout)
        self.runs.append(run)
        return run


class Run:
    """One `claude -p` process: its exit code, the result JSON and the wall time."""

    def __init__(self, box, tag, argv, timeout):
        self.box, self.tag, self.argv, self.timeout = box, tag, argv, timeout
        n = self.n = len(box.runs) + 1
        self.resume = "--resume" in argv
        self.stdout_path = box.root / f"claude-{n}-{tag}.stdout"
        self.stderr_path = box.root / f"claude-{n}-{tag}.stderr"
        self.t0 = time.time()
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                argv, cwd=box.project, env=box.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        self.rc, self.wall, self.result, self.events, self.timed_out = None, None, {}, [], False

    def wait(self):
        if self.rc is not None:
            return self
        try:
            self.rc = self.proc.wait(timeout=max(1.0, self.t0 + self.timeout - time.time()))
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.kill()
            self.rc = self.proc.wait()
        self.wall = time.time() - self.t0
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass
        results = [e for e in self.events if isinstance(e, dict) and e.get("type") == "result"]
        self.result = results[-1] if results else {}
        return self

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group holds only this client and its children
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    @property
    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    @property
    def terminal_reason(self):
        return self.result.get("terminal_reason")

    @property
    def session_id(self):
        return self.result.get("session_id")

    @property
    def cost(self):
        return self.result.get("total_cost_usd")

    @property
    def denials(self):
        return self.result.get("permission_denials") or []

    def summary(self):
        name = f"claude #{self.n} ({self.tag}{', --resume' if self.resume else ''})"
        if self.timed_out:
            return f"{name}: TIMED OUT after {self.timeout:.0f} s"
        if not self.result:
            return f"{name}: exit {self.rc}, no result JSON; stderr: {self.stderr.strip()[-300:]!r}"
        r = self.result
        sid = (r.get("session_id") or "?")[:8]
        cost = r.get("total_cost_usd")
        cost_s = f"${cost:.4f}" if isinstance(cost, (int, float)) else "?"
        results = [e for e in self.events if e.get("type") == "result"]
        reasons = " / ".join(str(e.get("terminal_reason")) for e in results) if len(results) > 1 else r.get("terminal_reason")
        return (
            f"{name}: exit {self.rc}, {reasons}, {r.get('num_turns')} turns, client cost {cost_s}, "
            f"{len(self.denials)} denials, session {sid}, {self.wall:.1f} s"
        )


# -- scenarios, checks and the report ----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    doc: str
    fn: object


@dataclass
class Check:
    ok: bool
    what: str
    got: object = None


@dataclass
class Test:
    """What a scenario function receives: sandboxes, checks, notes."""

    ctx: Context
    scenario: Scenario
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    boxes: list = field(default_factory=list)

    def sandbox(self, config=None, script=None):
        box = Sandbox(self, self.scenario.name, config, script)
        self.boxes.append(box)
        return box

    def locked_sandbox(self, script=None):
        box = LockedSandbox(self, self.scenario.name, script)
        self.boxes.append(box)
        return box

    def check(self, ok, what, got=None):
        self.checks.append(Check(bool(ok), what, got))
        return bool(ok)

    def eq(self, got, want, what):
        return self.check(got == want, f"{what} == {want!r}", got)

    def note(self, text):
        self.notes.append(text)

    def log(self, text):
        if self.ctx.verbose:
            print(f"     {text}", flush=True)

    @property
    def failed(self):
        return [c for c in self.checks if not c.ok]


def short(v, n=160):
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= n else s[: n - 3] + "..."


def run_scenario(ctx, scenario):
    t = Test(ctx, scenario)
    t0 = time.time()
    print(f"== {scenario.name}: {scenario.doc}", flush=True)
    try:
        scenario.fn(t)
    except ScenarioError as e:
        t.check(False, "scenario ran to its end", str(e))
    except Exception:
        t.check(False, "scenario ran to its end", traceback.format_exc())
    finally:
        for box in t.boxes:
            box.close()
    for box in t.boxes:
        for run in box.runs:
            if run.timed_out:
                t.check(False, f"claude #{run.n} finished within {run.timeout:.0f} s (--run-timeout)")
    wall = time.time() - t0
    for box in t.boxes:
        for run in box.runs:
            print(f"   {run.summary()}")
    for n in t.notes:
        print(f"   - {n}")
    for c in t.checks:
        got = "" if c.ok or c.got is None else f"  (got {short(c.got)})"
        print(f"   {'ok  ' if c.ok else 'FAIL'} {c.what}{got}")
    keep = ctx.keep or t.failed
    for box in t.boxes:
        if keep:
            print(f"   kept {box.root}")
        else:
            shutil.rmtree(box.root, ignore_errors=True)
    verdict = "FAILED" if t.failed else "passed"
    print(f"   {verdict}: {len(t.checks) - len(t.failed)}/{len(t.checks)} checks, {wall:.1f} s\n", flush=True)
    return t, wall
