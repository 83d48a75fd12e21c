#!/usr/bin/env bash
# `ccbreaker report daily --json` against ccusage 20.0.24 on generated corpora of 300 MB and 1 GB, in the same run:
# time (hyperfine), peak RSS (/usr/bin/time -v), and token parity per day with ccusage and with the generator's
# truth. Prints a Markdown table for BENCHMARKS.md ("Reports"). A benchmark, not a test.
#
#   bench/report.sh                 # both corpora
#   bench/report.sh 300             # one of them
#
# Needs python3, node/npm, hyperfine and GNU time, and ../shared/tools/gen-transcripts.py. The corpora are made once
# and reused (CCB_REPORT_BENCH_DIR, default /tmp/ccbreaker-report-bench); ccusage is installed once into
# CCB_CCUSAGE_DIR (default ~/.cache/ccbreaker-bench/ccusage-20.0.24).
#
# Cold: no report cache (`--prepare` deletes it). Warm: the cache of the previous run, nothing changed.
# ccusage runs as documented: CLAUDE_CONFIG_DIR=DIR ccusage claude daily --json --offline.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
generator=$repo/../shared/tools/gen-transcripts.py
work=${CCB_REPORT_BENCH_DIR:-/tmp/ccbreaker-report-bench}
ccusage_dir=${CCB_CCUSAGE_DIR:-$HOME/.cache/ccbreaker-bench/ccusage-20.0.24}
sizes=("${@:-300 1000}")
read -r -a sizes <<<"${sizes[*]}"

die() {
    echo "bench/report.sh: $*" >&2
    exit 1
}
for tool in python3 npm hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done
[ -f "$generator" ] || die "no generator at $generator"

mkdir -p "$work"
ccusage=$ccusage_dir/node_modules/.bin/ccusage
if [ ! -x "$ccusage" ]; then
    echo "installing ccusage 20.0.24 into $ccusage_dir" >&2
    mkdir -p "$ccusage_dir"
    (cd "$ccusage_dir" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
        npm install --no-audit --no-fund ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24 >&2)
fi
[ "$("$ccusage" --version)" = "ccusage 20.0.24" ] || die "$ccusage is not ccusage 20.0.24"

cargo build --release --locked --quiet
bin=$repo/target/release/ccbreaker
empty_home=$work/home
mkdir -p "$empty_home"

# ccbreaker with nothing of the user's: an empty HOME, no config file, its own state directory.
ccb() {
    local corpus=$1 state=$2
    shift 2
    env -i PATH="$PATH" HOME="$empty_home" TZ=UTC CCBREAKER_CONFIG="$work/no-config.toml" \
        CCBREAKER_STATE_DIR="$state" CLAUDE_CONFIG_DIR="$corpus" "$bin" "$@"
}

peak_rss_mib() { # command... -> peak RSS of one run, MiB
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }'
}

rows=()
for size in "${sizes[@]}"; do
    seed=$size
    corpus=$work/corpus-$size
    if [ ! -f "$corpus/expected.json" ]; then
        echo "generating $size MB (seed $seed) in $corpus" >&2
        rm -rf "$corpus"
        python3 "$generator" --out "$corpus" --size-mb "$size" --seed "$seed" --client mixed --models all >&2
    fi
    state=$work/state-$size
    rm -rf "$state"
    files=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["files"], round(e["bytes"]/2**20))' \
        "$corpus/expected.json")

    # Token parity first (also warms the page cache for both tools).
    ccb "$corpus" "$state" report daily --json --timezone UTC >"$work/ours-$size.json"
    CLAUDE_CONFIG_DIR=$corpus "$ccusage" claude daily --json --offline --timezone UTC >"$work/ccusage-$size.json"
    parity=$(python3 - "$work/ours-$size.json" "$work/ccusage-$size.json" "$corpus/expected.json" <<'EOF'
import json, sys
ours, theirs, truth = (json.load(open(p)) for p in sys.argv[1:])
keys = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
def mine(r): return tuple(r[k] for k in keys)
def cc(r): return (r["inputTokens"], r["outputTokens"], r["cacheCreationTokens"], r["cacheReadTokens"])
def tr(r): return (r["input_tokens"], r["output_tokens"],
                   r["cache_creation_5m_tokens"] + r["cache_creation_1h_tokens"], r["cache_read_tokens"])
o = {r["date"]: mine(r) for r in ours["daily"]}
c = {r["date"]: cc(r) for r in theirs["daily"]}
t = {d: tr(r) for d, r in truth["by_day_utc"].items()}
print(f"{'=' if o == c else '≠'} ccusage, {'=' if o == t else '≠'} truth ({len(o)} days)")
EOF
)
    echo "$size MB: tokens per day $parity" >&2

    ccb_cold="env -i PATH=$PATH HOME=$empty_home TZ=UTC CCBREAKER_CONFIG=$work/no-config.toml CCBREAKER_STATE_DIR=$state CLAUDE_CONFIG_DIR=$corpus $bin report daily --json"
    cc_cmd="env CLAUDE_CONFIG_DIR=$corpus $ccusage claude daily --json --offline"
    runs=$([ "$size" -ge 1000 ] && echo 3 || echo 5)
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/cold-$size.json" \
        --command-name "ccusage 20.0.24" "$cc_cmd" \
        --command-name "ccbreaker cold" --prepare "rm -f $state/report-cache.bin" "$ccb_cold" >&2
    ccb "$corpus" "$state" report daily --json >/dev/null # leaves the cache
    hyperfine -N --warmup 3 --runs 30 --export-json "$work/warm-$size.json" \
        --command-name "ccbreaker warm" "$ccb_cold" >&2

    rss_cc=$(peak_rss_mib env CLAUDE_CONFIG_DIR="$corpus" "$ccusage" claude daily --json --offline)
    rm -f "$state/report-cache.bin"
    rss_cold=$(peak_rss_mib env -i PATH="$PATH" HOME="$empty_home" TZ=UTC CCBREAKER_CONFIG="$work/no-config.toml" \
        CCBREAKER_STATE_DIR="$state" CLAUDE_CONFIG_DIR="$corpus" "$bin" report daily --json)
    rss_warm=$(peak_rss_mib env -i PATH="$PATH" HOME="$empty_home" TZ=UTC CCBREAKER_CONFIG="$work/no-config.toml" \
        CCBREAKER_STATE_DIR="$state" CLAUDE_CONFIG_DIR="$corpus" "$bin" report daily --json)

    row=$(python3 - "$work/cold-$size.json" "$work/warm-$size.json" "$files" "$rss_cc" "$rss_cold" "$rss_warm" "$parity" <<'EOF'
import json, sys
cold, warm = (json.load(open(p))["results"] for p in sys.argv[1:3])
files, size = sys.argv[3].split()
rss_cc, rss_cold, rss_warm = map(float, sys.argv[4:7])
cc, ours = cold[0], cold[1]
ms = lambda r: f"{r['mean'] * 1000:,.0f} ± {r['stddev'] * 1000:,.0f} ms"
print(f"| {size} MB, {files} files | {ms(cc)} | {ms(ours)} | {cc['mean'] / ours['mean']:.1f}× "
      f"| {ms(warm[0])} | {rss_cc:.0f} MiB | {rss_cold:.0f} MiB ({rss_cc / rss_cold:.1f}× less) "
      f"| {rss_warm:.0f} MiB | {sys.argv[7]} |")
EOF
)
    rows+=("$row")
done

cat <<EOF

$(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)

| corpus | ccusage 20.0.24 | ccbreaker cold | speed-up | ccbreaker warm | peak RSS ccusage | peak RSS ccbreaker cold | peak RSS warm | tokens per day |
|---|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${rows[@]}"
