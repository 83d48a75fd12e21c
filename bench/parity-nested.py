#!/usr/bin/env python3
"""Tokens per day, ccbreaker against ccusage 20.0.24, on generated corpora and on the same corpora laid out as
users keep them: transcripts moved into folders below the project level (session only in their lines) and
exported copies filed deeper still. Prints one line per tree and exits 1 unless every tree's days are equal in
both tools (and equal to the generator's truth). A parity check, not a test: it needs ../shared and npm.

    python3 bench/parity-nested.py [--bin target/release/ccbreaker] [--size-mb 20] [--seeds 41 42]

ccusage runs as documented: CLAUDE_CONFIG_DIR=DIR ccusage claude daily --json --offline --timezone UTC; it is
installed once into CCB_CCUSAGE_DIR (default ~/.cache/ccbreaker-bench/ccusage-20.0.24).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ccusage_bin():
    where = Path(os.environ.get("CCB_CCUSAGE_DIR", Path.home() / ".cache/ccbreaker-bench/ccusage-20.0.24"))
    binary = where / "node_modules/.bin/ccusage"
    if not binary.exists():
        where.mkdir(parents=True, exist_ok=True)
        if not (where / "package.json").exists():
            (where / "package.json").write_text('{"private":true}')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "ccusage@20.0.24",
                        "@ccusage/ccusage-linux-x64@20.0.24"], cwd=where, check=True, stdout=subprocess.DEVNULL)
    return binary


def days_ccusage(binary, tree):
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(tree))
    out = subprocess.run([str(binary), "claude", "daily", "--json", "--offline", "--timezone", "UTC"], env=env,
                         capture_output=True, text=True, check=True)
    return {d["date"]: (d["inputTokens"], d["outputTokens"], d["cacheCreationTokens"], d["cacheReadTokens"])
            for d in json.loads(out.stdout)["daily"]}


def days_ccbreaker(binary, tree, work):
    state = Path(tempfile.mkdtemp(dir=work, prefix="state-"))
    env = {"PATH": os.environ["PATH"], "HOME": str(work / "home"), "TZ": "UTC", "CLAUDE_CONFIG_DIR": str(tree),
           "CCBREAKER_CONFIG": str(work / "none.toml"), "CCBREAKER_STATE_DIR": str(state)}
    out = subprocess.run([str(binary), "report", "daily", "--json", "--timezone", "UTC"], env=env,
                         capture_output=True, text=True, check=True)
    return {d["date"]: (d["input_tokens"], d["output_tokens"], d["cache_creation_tokens"], d["cache_read_tokens"])
            for d in json.loads(out.stdout)["daily"]}


def days_truth(expected):
    return {day: (t["input_tokens"], t["output_tokens"], t["cache_creation_5m_tokens"] + t["cache_creation_1h_tokens"],
                  t["cache_read_tokens"]) for day, t in expected["by_day_utc"].items()}


def nest(source, target, rng):
    """The corpus, with a third of the main transcripts moved two folders below their project (their subagents
    stay under <project>/<session>/), a fifth of all transcripts also copied into exports/<a>/<b>/ (duplicates),
    and one copied right under the projects root."""
    shutil.copytree(source, target)
    projects = target / "projects"
    mains = sorted(projects.glob("*/*.jsonl"))
    moved = copied = 0
    for main in mains:
        if rng.random() < 1 / 3:
            dest = main.parent / "archive" / "2026" / f"{main.stem}-archived.jsonl"
            dest.parent.mkdir(parents=True, exist_ok=True)
            main.rename(dest)
            moved += 1
    for f in sorted(projects.rglob("*.jsonl")):
        if "exports" not in f.parts and rng.random() < 0.2:
            dest = f.parents[len(f.relative_to(projects).parts) - 2] / "exports" / "deep" / f"n{copied}" / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
            copied += 1
    first = sorted(projects.rglob("*.jsonl"))[0]
    shutil.copy2(first, projects / "loose-copy.jsonl")
    return moved, copied + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=ROOT / "target/release/ccbreaker")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--size-mb", type=float, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[41, 42])
    a = ap.parse_args()
    ccusage = ccusage_bin()
    work = Path(tempfile.mkdtemp(prefix="ccbreaker-parity-"))
    (work / "home").mkdir()
    failed = False
    for seed in a.seeds:
        client = "mixed" if seed % 2 else "classic"
        flat = work / f"seed{seed}"
        subprocess.run([sys.executable, str(a.shared / "tools/gen-transcripts.py"), "--out", str(flat),
                        "--size-mb", str(a.size_mb), "--seed", str(seed), "--client", client, "--models", "all"],
                       check=True, stdout=subprocess.DEVNULL)
        truth = days_truth(json.loads((flat / "expected.json").read_text()))
        nested = work / f"seed{seed}-nested"
        moved, copies = nest(flat, nested, random.Random(seed))
        for name, tree, about in [(f"seed {seed} ({client})", flat, "as generated"),
                                  (f"seed {seed} nested", nested, f"{moved} transcripts moved below the project, "
                                                                  f"{copies} copies filed deeper")]:
            ours, theirs = days_ccbreaker(a.bin, tree, work), days_ccusage(ccusage, tree)
            equal = ours == theirs
            exact = ours == truth
            failed |= not (equal and exact)
            differing = sorted(d for d in set(ours) | set(theirs) if ours.get(d) != theirs.get(d))
            print(f"{name}: {about}; {len(ours)} days; tokens per day "
                  f"{'= ccusage' if equal else '!= ccusage on ' + ', '.join(differing)}, "
                  f"{'= truth' if exact else '!= truth'}")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
