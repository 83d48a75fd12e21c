#!/usr/bin/env python3
"""Appends about --bytes of new transcript lines to a session file: what one model turn adds between two hook calls.

Each call writes a user line (a tool result) and one response split over two assistant lines (text, tool_use) with
fresh ids, chained by parentUuid as Claude Code 2.1.331 writes them. A counter file beside the transcript keeps ids
unique across calls. Used as hyperfine's --prepare step by bench/hook.py.
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--bytes", type=int, default=10_240)
    ap.add_argument("--session", default="bench-active")
    ap.add_argument("--timestamp", default="2026-11-24T11:00:00.000Z")
    a = ap.parse_args()
    counter = a.file + ".counter"
    n = int(open(counter).read()) if os.path.exists(counter) else 0
    with open(counter, "w") as f:
        f.write(str(n + 1))
    parent = f"bench-{n - 1}-c" if n else None
    base = {"isSidechain": False, "sessionId": a.session, "timestamp": a.timestamp, "version": "2.1.331", "cwd": "/bench"}
    filler = "x" * max(0, a.bytes - 2_000)
    user = dict(base, parentUuid=parent, type="user", uuid=f"bench-{n}-u",
                message={"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_bench_{n - 1}",
                                                      "content": filler}]})
    usage = {"input_tokens": 5, "cache_creation_input_tokens": 800, "cache_read_input_tokens": 90_000,
             "output_tokens": 400, "cache_creation": {"ephemeral_5m_input_tokens": 800, "ephemeral_1h_input_tokens": 0},
             "service_tier": "standard", "speed": "standard"}
    message = {"id": f"msg_bench_{n}", "type": "message", "role": "assistant", "model": "claude-opus-5-5", "usage": usage}
    text = dict(base, parentUuid=user["uuid"], type="assistant", uuid=f"bench-{n}-b", requestId=f"req_bench_{n}",
                message=dict(message, content=[{"type": "text", "text": "Running the tests now."}]))
    tool = dict(base, parentUuid=text["uuid"], type="assistant", uuid=f"bench-{n}-c", requestId=f"req_bench_{n}",
                message=dict(message, content=[{"type": "tool_use", "id": f"toolu_bench_{n}", "name": "Bash",
                                                "input": {"command": "cargo test"}}]))
    with open(a.file, "a") as f:
        for line in (user, text, tool):
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
