#!/usr/bin/env python3
"""Generate src/pricing/table.rs from LiteLLM's public price table.

ccbreaker prices responses without network access, so the Anthropic rates are embedded at build
time. This script turns two copies of the Anthropic-model entries of LiteLLM's
`model_prices_and_context_window.json` (kept in ../shared/pricing) into a sorted Rust table of
integer pico-dollars (1e-12 USD) per token, and adds the published facts the table lacks (fast
mode multipliers, the end of the long-context premium for 4.6 models, Anthropic's model aliases).

- The late-2026 snapshot wins where both files have a model; the litellm 1.82.0 copy supplies the
  models it dropped and the long-context rates it no longer lists.
- Every place where the table disagrees with Anthropic's published cache rules (5-minute write =
  1.25x input, 1-hour write = 2x input, read = 0.1x input) is printed to stderr. 1-hour writes are
  always stored as 2x input; the other rates keep the table's value.

Usage: scripts/gen-pricing.py [--shared DIR] [--check]
"""

import argparse
import hashlib
import json
import re
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "src" / "pricing" / "table.rs"
LATE = "litellm-claude-models.json"
OLD = "litellm-claude-models-1.82.0.json"
PROVIDER = "anthropic"

PICO_PER_USD = Decimal(10) ** 12
WEB_SEARCH_USD = Decimal("0.01")
US_GEO_MULTIPLIER = Decimal("1.1")

# Anthropic's published cache prices as multiples of the input price: 5-minute write, 1-hour
# write, read.
CACHE_RULES = (Fraction(5, 4), Fraction(2), Fraction(1, 10))

# Fast mode (`usage.speed == "fast"`) multipliers published by Anthropic and used by ccusage; they
# win over the table's `provider_specific_entry.fast`. Keyed by undated model name.
FAST_MULTIPLIERS = {"claude-opus-4-6": 6, "claude-opus-4-7": 6, "claude-opus-4-8": 2}

# 4.6+ models got 1M context at standard price on this date (the >200K premium was removed from
# Anthropic's pricing page); older long-context models keep the premium. Keyed by undated name.
LONG_CONTEXT_UNTIL = {"claude-opus-4-6": (2026, 3, 31), "claude-sonnet-4-6": (2026, 3, 31)}

# Anthropic's documented aliases that LiteLLM does not list: alias -> priced as.
ALIASES = {
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
}

# Anthropic's `-latest` aliases of the Claude 3 models point at a dated model; LiteLLM's own rows for them can
# disagree with it (claude-3-5-haiku-latest: $1/$5 there, $0.80/$4 at Anthropic). The alias wins.
PUBLISHED_LATEST = {
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-3-opus-latest": "claude-3-opus-20240229",
}

# Long-context tiers seen in the table: (prompt-token threshold, field suffix).
TIERS = [(200_000, "_above_200k_tokens"), (100_000, "_above_100k_tokens")]

DATE_SUFFIX = re.compile(r"-\d{8}$")


def warn(message):
    print(f"gen-pricing: {message}", file=sys.stderr)


def fail(message):
    warn(message)
    sys.exit(1)


def undated(name):
    return DATE_SUFFIX.sub("", name)


def pico(usd, where):
    """USD per token (a JSON float) as integer pico-USD per token; refuses to round."""
    exact = Decimal(repr(usd)) * PICO_PER_USD
    if exact != exact.to_integral_value():
        fail(f"{where}: {usd} USD is not a whole number of pico-dollars")
    return int(exact)


def usd(pico_value):
    """Pico-USD per token (possibly a fraction) as USD per token, for messages."""
    return f"{float(Fraction(pico_value) / int(PICO_PER_USD)):g}"


def resolve_shared(shared):
    """Accept either the shared directory (holding pricing/) or the pricing directory itself."""
    for candidate in (shared / "pricing", shared):
        if (candidate / LATE).is_file() and (candidate / OLD).is_file():
            return candidate
    fail(f"could not find {LATE} and {OLD} under {shared}")


def load_provider_entries(path):
    with open(path, encoding="utf-8") as f:
        models = json.load(f)
    return {
        name: entry
        for name, entry in models.items()
        if isinstance(entry, dict) and entry.get("litellm_provider") == PROVIDER
    }


def load_aliases(path):
    """The table's own aliases of Anthropic models (`claude-opus-latest` -> `claude-opus-5-5`): entries named
    without a provider prefix that hold only `alias_of`."""
    with open(path, encoding="utf-8") as f:
        models = json.load(f)
    return {
        name: entry["alias_of"]
        for name, entry in models.items()
        if isinstance(entry, dict) and "alias_of" in entry and "/" not in name and name.startswith("claude-")
    }


def long_context_fields(entry):
    return {key: value for key, value in entry.items() if any(s in key for _, s in TIERS)}


def merge(late, old):
    """The late snapshot wins per model; where its entry has no long-context rates, the old
    entry's fill in."""
    merged = {}
    for name in sorted(set(late) | set(old)):
        if name not in late:
            merged[name] = (dict(old[name]), "1.82.0")
            continue
        entry = dict(late[name])
        carried = long_context_fields(old.get(name, {}))
        if carried and not long_context_fields(entry):
            warn(f"{name}: long-context rates taken from the 1.82.0 table (the late one has none)")
            entry.update(carried)
        merged[name] = (entry, "late")
    return merged


def round_half_up(value):
    return int(value + Fraction(1, 2))


def check_rule(name, source, field, actual, expected, action):
    if actual is not None and actual != expected:
        warn(
            f"{name} ({source}): {field} = {usd(actual)} disagrees with Anthropic's rule "
            f"({usd(expected)}); {action}"
        )


def bucket_rates(name, source, entry, suffix=""):
    """The five per-token rates of one tier, checked against Anthropic's cache rules."""

    def field(base, required=False):
        key = base + suffix
        if key in entry:
            return pico(entry[key], f"{name}.{key}")
        if required:
            fail(f"{name} ({source}): missing {key}")
        return None

    input_rate = field("input_cost_per_token", required=True)
    output_rate = field("output_cost_per_token", required=True)
    write_5m = field("cache_creation_input_token_cost")
    read = field("cache_read_input_token_cost")
    hour = "cache_creation_input_token_cost_above_1hr"
    write_1h = field(hour)
    rule_5m, rule_1h, rule_read = (Fraction(input_rate) * r for r in CACHE_RULES)
    keep = "keeping the table's value"
    check_rule(name, source, "cache_creation_input_token_cost" + suffix, write_5m, rule_5m, keep)
    check_rule(name, source, hour + suffix, write_1h, rule_1h, "using 2x input")
    check_rule(name, source, "cache_read_input_token_cost" + suffix, read, rule_read, keep)
    return {
        "input": input_rate,
        "output": output_rate,
        "cache_write_5m": round_half_up(rule_5m) if write_5m is None else write_5m,
        "cache_write_1h": round_half_up(rule_1h),
        "cache_read": round_half_up(rule_read) if read is None else read,
    }


def long_context(name, source, entry):
    tiers = [(threshold, s) for threshold, s in TIERS if "input_cost_per_token" + s in entry]
    if not tiers:
        return None
    if len(tiers) > 1:
        fail(f"{name} ({source}): more than one long-context tier")
    threshold, suffix = tiers[0]
    tier = bucket_rates(name, source, entry, suffix)
    tier["above_prompt_tokens"] = threshold
    tier["until"] = LONG_CONTEXT_UNTIL.get(undated(name))
    return tier


def fast_multiplier(name, source, entry):
    listed = entry.get("provider_specific_entry", {}).get("fast")
    published = FAST_MULTIPLIERS.get(undated(name))
    if listed is not None and listed != int(listed):
        fail(f"{name} ({source}): fast multiplier {listed} is not a whole number")
    if published is not None and listed is not None and published != listed:
        warn(f"{name} ({source}): fast = {listed} in the table, published x{published}; "
             f"using x{published}")
    if published is not None:
        return published
    return 1 if listed is None else int(listed)


def us_geo_multiplier(name, source, entry):
    listed = entry.get("provider_specific_entry", {}).get("us")
    if listed is not None and Decimal(repr(listed)) != US_GEO_MULTIPLIER:
        fail(f"{name} ({source}): US inference multiplier {listed}, only 1.1 is supported")
    return listed is not None


def check_web_search(name, source, entry):
    per_query = entry.get("search_context_cost_per_query", {})
    for size, cost in sorted(per_query.items()):
        if Decimal(repr(cost)) != WEB_SEARCH_USD:
            warn(f"{name} ({source}): web search {size} = {cost} USD, priced at 0.01 USD anyway")


def rates(name, source, entry):
    row = bucket_rates(name, source, entry)
    row["long_context"] = long_context(name, source, entry)
    row["fast_multiplier"] = fast_multiplier(name, source, entry)
    row["us_geo_multiplier"] = us_geo_multiplier(name, source, entry)
    check_web_search(name, source, entry)
    return row


def build_rows(merged, table_aliases):
    rows = {name: rates(name, source, entry) for name, (entry, source) in merged.items()}
    origins = {name: "Snapshot" if source == "late" else "Retired" for name, (_, source) in merged.items()}
    for alias, target in PUBLISHED_LATEST.items():
        if target not in rows:
            fail(f"alias {alias}: target {target} is not in the table")
        if alias in rows and rows[alias] != rows[target]:
            warn(f"{alias}: the table prices it apart from {target}, which Anthropic's alias names; using {target}")
        rows[alias] = rows[target]
        origins[alias] = "Alias"
    for alias, target in list(ALIASES.items()) + sorted(table_aliases.items()):
        if alias in rows:
            fail(f"alias {alias} is now in the table; drop it from ALIASES")
        if target not in rows:
            fail(f"alias {alias}: target {target} is not in the table")
        rows[alias] = rows[target]
        origins[alias] = "Alias"
    for name in FAST_MULTIPLIERS:
        if name not in rows:
            fail(f"fast multiplier for {name}, which is not in the table")
    return {name: dict(rows[name], origin=origins[name]) for name in sorted(rows)}


def rust_int(value):
    return f"{value:_}"


def render_tier_fields(tier, indent):
    pad = " " * indent
    return [
        f"{pad}input: {rust_int(tier['input'])},",
        f"{pad}output: {rust_int(tier['output'])},",
        f"{pad}cache_write_5m: {rust_int(tier['cache_write_5m'])},",
        f"{pad}cache_write_1h: {rust_int(tier['cache_write_1h'])},",
        f"{pad}cache_read: {rust_int(tier['cache_read'])},",
    ]


def render_long_context(tier):
    if tier is None:
        return ["            long_context: None,"]
    until = "None" if tier["until"] is None else "Some(date({}, {}, {}))".format(*tier["until"])
    return [
        "            long_context: Some(LongContext {",
        f"                above_prompt_tokens: {rust_int(tier['above_prompt_tokens'])},",
        *render_tier_fields(tier, 16),
        f"                until: {until},",
        "            }),",
    ]


def render_row(name, row):
    return [
        "    (",
        f'        "{name}",',
        "        Rates {",
        *render_tier_fields(row, 12),
        *render_long_context(row["long_context"]),
        f"            fast_multiplier: {row['fast_multiplier']},",
        f"            us_geo_multiplier: {'true' if row['us_geo_multiplier'] else 'false'},",
        "        },",
        f"        Origin::{row['origin']},",
        "    ),",
    ]


def render(rows, digests):
    lines = [
        "//! GENERATED by `scripts/gen-pricing.py` from LiteLLM's public price table",
        "//! (`model_prices_and_context_window.json`, the entries with",
        "//! `litellm_provider == \"anthropic\"`), plus the published facts listed in that script.",
        "//! DO NOT EDIT BY HAND: rerun the script.",
        "//!",
    ]
    lines += [f"//! - `{file}` sha256 {digest}" for file, digest in digests]
    lines += [
        "",
        "use super::{LongContext, Origin, Rates, date};",
        "",
        "/// Anthropic API models sorted by name (byte order, for binary search); pico-USD per",
        "/// token; and where each row comes from.",
        "pub(super) static MODELS: &[(&str, Rates, Origin)] = &[",
    ]
    for name, row in rows.items():
        lines += render_row(name, row)
    lines += ["];", ""]
    return "\n".join(lines)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="directory holding pricing/ (default: ../shared from the repo root)")
    parser.add_argument("--check", action="store_true",
                        help="fail if table.rs is not what this script would write")
    args = parser.parse_args()
    pricing = resolve_shared(args.shared)
    late = load_provider_entries(pricing / LATE)
    old = load_provider_entries(pricing / OLD)
    rows = build_rows(merge(late, old), load_aliases(pricing / LATE))
    text = render(rows, [(f, sha256(pricing / f)) for f in (LATE, OLD)])
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            fail(f"{OUTPUT.relative_to(REPO)} is out of date; rerun scripts/gen-pricing.py")
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    warn(f"wrote {OUTPUT.relative_to(REPO)} ({len(rows)} models)")


if __name__ == "__main__":
    main()
