#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe, no port, no websocket)
for the dashboard test. Usage: cdp.py CHROMIUM PROFILE_DIR URL. Prints {"ready": true} once the page is opening,
then reads one command per line on stdin and answers one JSON line each on stdout:

  eval EXPR     the value of the JavaScript expression EXPR in the page
  shot PATH     a PNG screenshot of the 1280x900 viewport, written to PATH
  quit          close the browser
"""
import base64
import fcntl
import json
import os
import subprocess
import sys


def main():
    chromium, profile, url = sys.argv[1:4]
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def wire():
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        a, b = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.dup2(a, 3)
        os.dup2(b, 4)

    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
         "--remote-debugging-pipe", "--window-size=1280,900", "--user-data-dir=" + profile, "about:blank"],
        preexec_fn=wire, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(to_r)
    os.close(from_w)
    send_to, read_from = os.fdopen(to_w, "wb", buffering=0), os.fdopen(from_r, "rb", buffering=0)
    pending = b""
    next_id = 0

    def message():
        nonlocal pending
        while b"\0" not in pending:
            chunk = read_from.read(65536)
            if not chunk:
                raise SystemExit("chromium closed the pipe")
            pending += chunk
        raw, _, pending = pending.partition(b"\0")
        return json.loads(raw)

    def call(method, params=None, session=None):
        nonlocal next_id
        next_id += 1
        msg = {"id": next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        send_to.write(json.dumps(msg).encode() + b"\0")
        while True:
            answer = message()
            if answer.get("id") == next_id:
                if "error" in answer:
                    raise SystemExit(f"{method}: {answer['error']}")
                return answer["result"]

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Emulation.setDeviceMetricsOverride",
             {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        call("Page.navigate", {"url": url}, session)
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            command, _, arg = line.rstrip("\n").partition(" ")
            if command == "eval":
                result = call("Runtime.evaluate", {"expression": arg, "returnByValue": True}, session)
                print(json.dumps(result["result"].get("value")), flush=True)
            elif command == "shot":
                data = call("Page.captureScreenshot", {"format": "png"}, session)["data"]
                with open(arg, "wb") as f:
                    f.write(base64.b64decode(data))
                print("true", flush=True)
            elif command == "quit":
                break
    finally:
        browser.kill()
        browser.wait()


if __name__ == "__main__":
    main()
