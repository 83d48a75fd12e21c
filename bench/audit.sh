#!/usr/bin/env bash
# `ccbreaker audit` against `ccbreaker report daily` on a generated gigabyte of history, in the same hyperfine run:
# report cold (no report cache), audit cold (no report cache: one read per file serves both), audit with the
# report cache warm (every file is read again for the audit's facts), and report warm, as ratios to report cold;
# peak RSS of each (/usr/bin/time -v). Prints a Markdown table for BENCHMARKS.md ("Audit"). A benchmark, not a test.
#
#   bench/audit.sh              # 1 GB
#   bench/audit.sh 300          # another size, in MB
#
# Needs python3, hyperfine (1.20: `cargo install hyperfine --locked --version 1.20.0`) and GNU time, and
# ../shared/tools/gen-transcripts.py. The corpus is made once and shared with bench/report.sh (CCB_REPORT_BENCH_DIR,
# default /tmp/ccbreaker-report-bench; same seed, so the same files).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
generator=$repo/../shared/tools/gen-transcripts.py
work=${CCB_REPORT_BENCH_DIR:-/tmp/ccbreaker-report-bench}
size=${1:-1000}
runs=${CCB_AUDIT_RUNS:-5}

die() {
    echo "bench/audit.sh: $*" >&2
    exit 1
}
for tool in python3 hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done
[ -f "$generator" ] || die "no generator at $generator"

corpus=$work/corpus-$size
if [ ! -f "$corpus/expected.json" ]; then
    echo "generating $size MB (seed $size) in $corpus" >&2
    rm -rf "$corpus"
    python3 "$generator" --out "$corpus" --size-mb "$size" --seed "$size" --client mixed --models all >&2
fi
cargo build --release --locked --quiet
bin=$repo/target/release/ccbreaker
state=$work/audit-state-$size
home=$work/home
mkdir -p "$home" "$state"
cache=$state/report-cache.bin
# ccbreaker with nothing of the user's: an empty HOME, no config file, its own state directory.
run="env -i PATH=$PATH HOME=$home TZ=UTC CCBREAKER_CONFIG=$work/no-config.toml CCBREAKER_STATE_DIR=$state CLAUDE_CONFIG_DIR=$corpus $bin"

# Same dollars: the audit's total is the report's.
$run report daily --json >"$work/audit-report-$size.json"
$run audit --json >"$work/audit-$size.json"
python3 - "$work/audit-report-$size.json" "$work/audit-$size.json" <<'EOF'
import json, sys
report, audit = (json.load(open(p)) for p in sys.argv[1:])
assert report["totals"]["cost_usd"] == audit["total_cost_usd"], (report["totals"]["cost_usd"], audit["total_cost_usd"])
print(f"total ${audit['total_cost_usd']:.2f} in both", file=sys.stderr)
EOF

hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/audit-bench-$size.json" \
    --command-name "report daily, cold" --prepare "rm -f $cache" "$run report daily --json" \
    --command-name "audit, cold" --prepare "rm -f $cache" "$run audit --json" \
    --command-name "audit, report cache warm" --prepare "$run report daily --json" "$run audit --json" \
    --command-name "report daily, warm" --prepare "$run report daily --json" "$run report daily --json" >&2

rss() { # prepare, command... -> peak RSS of one run, MiB
    local prepare=$1
    shift
    eval "$prepare" >/dev/null
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }'
}
rss_report_cold=$(rss "rm -f $cache" $run report daily --json)
rss_audit_cold=$(rss "rm -f $cache" $run audit --json)
rss_audit_warm=$(rss "$run report daily --json" $run audit --json)
rss_report_warm=$(rss "true" $run report daily --json)

files=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["files"], round(e["bytes"]/2**20))' \
    "$corpus/expected.json")
cat <<EOF

$(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
Corpus: $size MB of gen-transcripts.py (seed $size, --client mixed --models all): ${files% *} files.

| command | mean ± σ | ratio to report daily cold | peak RSS |
|---|---|---|---|
EOF
python3 - "$work/audit-bench-$size.json" "$rss_report_cold" "$rss_audit_cold" "$rss_audit_warm" "$rss_report_warm" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rss = sys.argv[2:]
base = results[0]["mean"]
for r, m in zip(results, rss):
    print(f"| {r['command']} | {r['mean'] * 1000:,.0f} ± {r['stddev'] * 1000:,.0f} ms | {r['mean'] / base:.2f}× | {m} MiB |")
EOF
