#!/usr/bin/env python3
"""A scripted, offline mock of the Anthropic Messages API, for driving the real Claude Code client end to end.

The client is pointed at it with ANTHROPIC_BASE_URL. It answers as the real API does, so the client writes real
transcripts and calls real hooks, and it keeps a log of every request so a test can count what each hook answer
cost. Python 3.11 standard library only.

Endpoints
  POST /v1/messages          streaming SSE (`"stream": true`) or one JSON message
  GET  /__mock__/requests    the request log, a JSON list (one entry per request, in arrival order)
  anything else              logged and answered 404, so an unexpected call shows up in the log

Who is asking (decided from the request body alone, so one mock serves several sessions, resumes included)
  * no `tools`                                         -> role "side" (titles, summaries): a short text
  * the last user message asks for TEXT ONLY           -> role "compact" (the client summarising): a short text
  * first user message contains SUBAGENT_MARKER-<i>    -> role "sub-<i>": the i-th subagent spawned by main
  * anything else                                      -> role "main"
  A RUN_MARKER-<tag> anywhere in the first user message names the run (two sessions can share one mock); the
  turn is the number of assistant messages with a tool_use already in `messages` (the client may add text-only
  assistant messages of its own, e.g. "No response requested." when resuming a halted turn).

The script
  main:     [turn 0: `agents` Agent tool_use blocks, one response] + `tool_calls` Bash turns + a final text
  sub-<i>:  `sub_tool_calls` Bash turns + a final text
  Each Bash turn has `parallel` tool_use blocks, each `touch ran-<run>-<role>-t<turn>-c<k>` in the cwd: the side
  effect by which a test sees whether the call really ran. A main turn past the script (e.g. woken by a subagent's
  task notification) gets the final text again.

Usage: `usage` is the default for every response (keys input, output, cache_5m, cache_1h, cache_read), and
`overrides` is a list of {"role": "main"|"sub"|"sub-<i>"|"side"|"*", "turn": N (omit for every turn),
  "command": a shell command that replaces the Bash call's `touch` (the same input every turn it applies to: a
  loop), "stop": true (answer with the final text now),
"run": TAG (omit for every run), "usage": {...}, "delay": s, "event_delay": s, "fail": [status, ...]}; later
entries win. `delay` waits before the answer starts, `event_delay` between SSE events (a slowly streamed
response). `fail` answers the first attempts of that (run, role, turn) with these HTTP statuses (an error body
the client retries on, e.g. 529 "overloaded"), then answers normally: each attempt is logged, the failed ones
with their `status`.

Every response gets a unique `msg_` id, `request-id` header and `toolu_` ids, unique across mock instances too,
so two runs never share a dedupe key.
"""

import argparse
import copy
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SUBAGENT_MARKER = "CCB-E2E-SUBAGENT"
RUN_MARKER = "CCB-E2E-RUN"
_SUB_RE = re.compile(SUBAGENT_MARKER + r"-(\d+)")
_RUN_RE = re.compile(RUN_MARKER + r"-([A-Za-z0-9_]+)")

USAGE_KEYS = ("input", "output", "cache_5m", "cache_1h", "cache_read")
DEFAULT_USAGE = {"input": 1200, "output": 80, "cache_5m": 3000, "cache_1h": 0, "cache_read": 20000}
DEFAULT_SCRIPT = {
    "tool_calls": 2,
    "agents": 0,
    "sub_tool_calls": 2,
    "parallel": 1,
    "text_before_tool": True,
    "final_text": "All done.",
    "usage": DEFAULT_USAGE,
    "overrides": [],
    "delay": 0.0,
    "event_delay": 0.0,
}
# The client's summarising requests (compaction, e.g. on resuming a context it thinks is nearly full) say this.
COMPACT_PHRASE = "Respond with TEXT ONLY"
SECRET_HEADERS = {"x-api-key", "authorization", "proxy-authorization", "cookie"}


def new_id(prefix):
    return f"{prefix}_e2e{uuid.uuid4().hex[:20]}"


def text_of(content):
    """Flattens a message `content` (a string or a list of blocks) to its text, tool results included."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(text_of(block.get("content")))
    return "\n".join(parts)


def has_tool_use(message):
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)


def summarize(content, limit=240):
    """A short, loggable view of a message's content."""
    if isinstance(content, str):
        return [{"type": "text", "text": content[:limit]}]
    out = []
    for block in content or []:
        kind = block.get("type")
        if kind == "text":
            out.append({"type": "text", "text": block.get("text", "")[:limit]})
        elif kind == "tool_result":
            out.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block.get("tool_use_id"),
                    "is_error": bool(block.get("is_error")),
                    "text": text_of(block.get("content"))[:limit],
                }
            )
        elif kind == "tool_use":
            out.append({"type": "tool_use", "id": block.get("id"), "name": block.get("name")})
        else:
            out.append({"type": kind})
    return out


def api_usage(u, output=None):
    """The API's usage object for the script's usage dict; `output` replaces output_tokens (stream start)."""
    return {
        "input_tokens": u["input"],
        "cache_creation_input_tokens": u["cache_5m"] + u["cache_1h"],
        "cache_read_input_tokens": u["cache_read"],
        "cache_creation": {"ephemeral_5m_input_tokens": u["cache_5m"], "ephemeral_1h_input_tokens": u["cache_1h"]},
        "output_tokens": u["output"] if output is None else output,
        "service_tier": "standard",
    }


class Script:
    """What to answer: a pure function of the request body and the script settings."""

    def __init__(self, spec=None):
        spec = {**copy.deepcopy(DEFAULT_SCRIPT), **copy.deepcopy(spec or {})}
        spec["usage"] = {**DEFAULT_USAGE, **spec.get("usage", {})}
        unknown = set(spec["usage"]) - set(USAGE_KEYS)
        if unknown:
            raise ValueError(f"unknown usage keys {sorted(unknown)}; expected {USAGE_KEYS}")
        self.spec = spec

    def who(self, body):
        """(run, role) of a request."""
        msgs = body.get("messages") or []
        first_user = next((m for m in msgs if m.get("role") == "user"), None)
        first_text = text_of(first_user.get("content")) if first_user else ""
        run_match = _RUN_RE.search(first_text)
        run = run_match.group(1) if run_match else ""
        if not body.get("tools"):
            return run, "side"
        last_user = next((m for m in reversed(msgs) if m.get("role") == "user"), {})
        if COMPACT_PHRASE in text_of(last_user.get("content")):
            return run, "compact"
        sub = _SUB_RE.search(first_text)
        return run, (f"sub-{sub.group(1)}" if sub else "main")

    def _settings_for(self, run, role, turn):
        usage = dict(self.spec["usage"])
        delay, event_delay = self.spec["delay"], self.spec["event_delay"]
        command, stop, fail = None, False, []
        for o in self.spec["overrides"]:
            want = o.get("role", "*")
            if want not in ("*", role) and not (want == "sub" and role.startswith("sub-")):
                continue
            if "turn" in o and o["turn"] != turn:
                continue
            if "run" in o and o["run"] != run:
                continue
            usage.update(o.get("usage", {}))
            delay = o.get("delay", delay)
            event_delay = o.get("event_delay", event_delay)
            command = o.get("command", command)
            stop = o.get("stop", stop)
            fail = o.get("fail", fail)
        return usage, delay, event_delay, command, stop, fail

    def plan(self, body):
        """Decides the answer: a dict with run, role, turn, blocks, stop_reason, usage, delay, event_delay."""
        s = self.spec
        run, role = self.who(body)
        turn = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant" and has_tool_use(m))
        usage, delay, event_delay, command, stop, fail = self._settings_for(run, role, turn)
        plan = {"run": run, "role": role, "turn": turn, "usage": usage, "delay": delay, "event_delay": event_delay, "fail": fail}
        tag = run or "x"
        if role in ("side", "compact"):
            return {**plan, "blocks": [{"type": "text", "text": f"Mock {role} answer."}], "stop_reason": "end_turn"}
        steps = (["agents"] if role == "main" and s["agents"] else []) + ["bash"] * (
            s["tool_calls"] if role == "main" else s["sub_tool_calls"]
        )
        if turn >= len(steps) or stop:
            text = f"{s['final_text']} ({tag} {role}, turn {turn})"
            return {**plan, "blocks": [{"type": "text", "text": text}], "stop_reason": "end_turn"}
        blocks = []
        if s["text_before_tool"]:
            blocks.append({"type": "text", "text": f"Mock {role} turn {turn}: calling tools."})
        tool_names = {t.get("name") for t in body.get("tools") or []}
        if steps[turn] == "agents":
            name = "Agent" if "Agent" in tool_names or "Task" not in tool_names else "Task"
            for i in range(s["agents"]):
                prompt = f"{SUBAGENT_MARKER}-{i} {RUN_MARKER}-{tag}: run the scripted shell commands."
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": new_id("toolu"),
                        "name": name,
                        "input": {"description": f"mock subagent {i}", "prompt": prompt, "subagent_type": "general-purpose"},
                    }
                )
        else:
            for k in range(s["parallel"]):
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": new_id("toolu"),
                        "name": "Bash",
                        "input": {
                            "command": command or f"touch ran-{tag}-{role}-t{turn}-c{k}",
                            # A replaced command is the same call every turn (a loop), description included.
                            "description": f"mock {role} call" if command else f"mock {role} call {turn}.{k}",
                        },
                    }
                )
        return {**plan, "blocks": blocks, "stop_reason": "tool_use"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ccbreaker-e2e-mock/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: " + fmt % args + "\n")

    def _send_json(self, code, obj, request_id=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", request_id or new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def _headers(self):
        keep = {}
        for k, v in self.headers.items():
            kl = k.lower()
            if kl in SECRET_HEADERS:
                continue
            if kl.startswith(("x-claude", "anthropic-", "x-app", "user-agent", "x-stainless-retry")):
                keep[kl] = v
        return keep

    def do_GET(self):
        if self.path.startswith("/__mock__/requests"):
            self._send_json(200, self.server.log.snapshot())
            return
        self.server.log.add({"method": "GET", "path": self.path, "note": "unhandled"})
        self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"mock: no {self.path}"}})

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if self.path.split("?")[0] != "/v1/messages" or not isinstance(body, dict):
            self.server.log.add({"method": "POST", "path": self.path, "note": "unhandled"})
            self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"mock: no {self.path}"}})
            return
        self.messages(body)

    def messages(self, body):
        plan = self.server.script.plan(body)
        attempt = self.server.log.attempt((plan["run"], plan["role"], plan["turn"]))
        failing = plan["fail"][attempt] if attempt < len(plan["fail"]) else None
        msg_id, req_id = new_id("msg"), new_id("req")
        model = body.get("model") or "claude-opus-5-5"
        msgs = body.get("messages") or []
        last = msgs[-1] if msgs else {}
        last_user = next((m for m in reversed(msgs) if m.get("role") == "user"), {})
        entry = self.server.log.add(
            {
                "method": "POST",
                "path": self.path,
                "run": plan["run"],
                "role": plan["role"],
                "turn": plan["turn"],
                "model": model,
                "stream": bool(body.get("stream")),
                "n_messages": len(msgs),
                "tools": sorted(t.get("name", "?") for t in body.get("tools") or []),
                "session": self.headers.get("x-claude-code-session-id"),
                "headers": self._headers(),
                "metadata": body.get("metadata"),
                "last_role": last.get("role"),
                "last_user": summarize(last_user.get("content")),
                "id": msg_id,
                "request_id": req_id,
                "stop_reason": plan["stop_reason"],
                "tool_uses": [
                    {"id": b["id"], "name": b["name"], "input": b["input"]} for b in plan["blocks"] if b["type"] == "tool_use"
                ],
                # A failed attempt bills nothing.
                "usage": {k: 0 for k in USAGE_KEYS} if failing else plan["usage"],
                "status": "answering",
                "attempt": attempt,
                **({"http_status": failing} if failing else {}),
            }
        )
        if failing:
            error = {"type": "error", "error": {"type": "overloaded_error" if failing == 529 else "api_error", "message": f"mock: {failing}"}}
            try:
                self._send_json(failing, error, req_id)
            finally:
                self.server.log.finish(entry, f"failed {failing}")
            return
        if self.server.dump_dir:
            path = os.path.join(self.server.dump_dir, f"{entry['seq']:04d}-{plan['role']}.json")
            with open(path, "w") as f:
                json.dump(body, f, indent=1)
        status = "done"
        try:
            if plan["delay"]:
                time.sleep(plan["delay"])
            if body.get("stream"):
                self._stream(plan, msg_id, req_id, model)
            else:
                message = {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": plan["blocks"],
                    "stop_reason": plan["stop_reason"],
                    "stop_sequence": None,
                    "usage": api_usage(plan["usage"]),
                }
                self._send_json(200, message, req_id)
        except (BrokenPipeError, ConnectionResetError):
            status = "client went away"
        finally:
            self.server.log.finish(entry, status)

    def _event(self, name, data, event_delay):
        chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.flush()
        if event_delay:
            time.sleep(event_delay)

    def _stream(self, plan, msg_id, req_id, model):
        delay, usage = plan["event_delay"], plan["usage"]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", req_id)
        self.end_headers()
        start = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": api_usage(usage, output=1),
        }
        self._event("message_start", {"type": "message_start", "message": start}, delay)
        self._event("ping", {"type": "ping"}, delay)
        for i, b in enumerate(plan["blocks"]):
            if b["type"] == "text":
                self._event(
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}},
                    delay,
                )
                words = b["text"].split(" ")
                for j in range(0, len(words), 3):
                    piece = (" " if j else "") + " ".join(words[j : j + 3])
                    delta = {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}
                    self._event("content_block_delta", delta, delay)
            else:
                block = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
                self._event("content_block_start", {"type": "content_block_start", "index": i, "content_block": block}, delay)
                js = json.dumps(b["input"])
                half = len(js) // 2
                for part in (js[:half], js[half:]):
                    delta = {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": part}}
                    self._event("content_block_delta", delta, delay)
            self._event("content_block_stop", {"type": "content_block_stop", "index": i}, delay)
        final = api_usage(usage)
        final.pop("cache_creation")
        final.pop("service_tier")
        self._event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": plan["stop_reason"], "stop_sequence": None}, "usage": final},
            delay,
        )
        self._event("message_stop", {"type": "message_stop"}, 0)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class RequestLog:
    """The request log: in memory for /__mock__/requests, and one JSONL line per request once it is answered."""

    def __init__(self, path=None):
        self.path = path
        self._lock = threading.Lock()
        self._entries = []
        self._attempts = {}
        self._t0 = time.time()

    def add(self, entry):
        with self._lock:
            entry = {"seq": len(self._entries) + 1, "t": round(time.time(), 3), **entry}
            self._entries.append(entry)
        if "note" in entry:
            self._write(entry)
        return entry

    def attempt(self, key):
        """How many requests with this (run, role, turn) came before this one."""
        with self._lock:
            n = self._attempts.get(key, 0)
            self._attempts[key] = n + 1
            return n

    def finish(self, entry, status):
        with self._lock:
            entry["status"] = status
            entry["t_end"] = round(time.time(), 3)
        self._write(entry)

    def _write(self, entry):
        if self.path:
            with self._lock, open(self.path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def snapshot(self):
        with self._lock:
            return copy.deepcopy(self._entries)


class MockServer:
    """The mock in a background thread of the caller: `with MockServer(script) as m: ... m.url, m.requests()`."""

    def __init__(self, script=None, log_path=None, port=0, dump_dir=None, verbose=False):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.script = script if isinstance(script, Script) else Script(script)
        self.httpd.log = RequestLog(log_path)
        self.httpd.dump_dir = dump_dir
        self.httpd.verbose = verbose
        if dump_dir:
            os.makedirs(dump_dir, exist_ok=True)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="mock-api", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self):
        return self.httpd.log.snapshot()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def parse_override(text):
    """`ROLE[:TURN]:key=value,...` (usage keys, delay, event_delay), e.g. `main:2:output=200000`."""
    head, _, kv = text.rpartition(":")
    if not head:
        raise argparse.ArgumentTypeError(f"override {text!r}: expected ROLE[:TURN]:key=value,...")
    role, _, turn = head.partition(":")
    o = {"role": role, "usage": {}}
    if turn:
        o["turn"] = int(turn)
    for pair in kv.split(","):
        k, _, v = pair.partition("=")
        if k in ("delay", "event_delay"):
            o[k] = float(v)
        elif k in USAGE_KEYS:
            o["usage"][k] = int(v)
        else:
            raise argparse.ArgumentTypeError(f"override {text!r}: unknown key {k!r}")
    return o


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--script", help="the script: a JSON file or JSON text (the options below override it)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--log", help="append one JSON line per request here")
    p.add_argument("--dump-bodies", metavar="DIR", help="write each request body here")
    p.add_argument("--tool-calls", type=int, help="Bash turns in the main conversation")
    p.add_argument("--agents", type=int, help="subagents main spawns in its first response")
    p.add_argument("--sub-tool-calls", type=int, help="Bash turns in each subagent")
    p.add_argument("--parallel", type=int, help="tool_use blocks per Bash turn")
    p.add_argument("--usage", help="default usage, e.g. input=1200,output=80,cache_5m=3000,cache_1h=0,cache_read=20000")
    p.add_argument("--override", action="append", type=parse_override, default=[], help="ROLE[:TURN]:key=value,...")
    p.add_argument("--delay", type=float, help="seconds before each answer")
    p.add_argument("--event-delay", type=float, help="seconds between SSE events")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    spec = {}
    if a.script:
        spec = json.loads(open(a.script).read() if os.path.exists(a.script) else a.script)
    for key in ("tool_calls", "agents", "sub_tool_calls", "parallel", "delay", "event_delay"):
        if getattr(a, key) is not None:
            spec[key] = getattr(a, key)
    if a.usage:
        spec["usage"] = {**spec.get("usage", {}), **parse_override(f"*:{a.usage}")["usage"]}
    spec["overrides"] = spec.get("overrides", []) + a.override
    server = MockServer(Script(spec), a.log, a.port, a.dump_bodies, a.verbose)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(server.port))
        os.replace(a.port_file + ".tmp", a.port_file)
    sys.stderr.write(f"mock API listening on {server.url}\n")
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
