#!/usr/bin/env bash
# Parity with ccusage 20.0.24 on the real transcripts of ../shared/corpus/real.
#
# Lays the corpus out as a projects/ tree (a file's directory path is its project, `a/b/x.jsonl` going to
# `projects/a-b/x.jsonl`, except `<project>/<session>/subagents/...`, which keeps its session directory), checks
# that it equals the committed copy in tests/data/corpus-real, runs ccusage on it again, and runs the test that
# compares ccusage's days with `ccbreaker report daily` (README, "Differences from ccusage"):
#
#   bench/parity.sh            # compare with the committed ccusage output, and with a fresh one
#   bench/parity.sh --update   # also replace the committed ccusage output with the fresh one
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source=../shared/corpus/real
committed=tests/data/corpus-real
ccusage_dir=${CCB_CCUSAGE_DIR:-$HOME/.cache/ccbreaker-bench/ccusage-20.0.24}
ccusage=$ccusage_dir/node_modules/.bin/ccusage
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -d "$source" ] || { echo "bench/parity.sh: no $source" >&2; exit 1; }
if [ ! -x "$ccusage" ]; then
    mkdir -p "$ccusage_dir"
    (cd "$ccusage_dir" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
        npm install --no-audit --no-fund ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24 >&2)
fi

(cd "$source" && find . -name '*.jsonl' | sed 's|^\./||' | sort) | while read -r file; do
    case "$file" in
    */subagents/*) project=${file%%/*} rest=${file#*/} ;;
    *) dir=$(dirname "$file") project=${dir//\//-} rest=$(basename "$file") ;;
    esac
    mkdir -p "$out/tree/projects/$project/$(dirname "$rest")"
    cp "$source/$file" "$out/tree/projects/$project/$rest"
done
diff -r "$out/tree/projects" "$committed/projects" >&2 ||
    { echo "bench/parity.sh: $committed differs from $source" >&2; exit 1; }
echo "tests/data/corpus-real/projects = $source, laid out" >&2

CLAUDE_CONFIG_DIR=$out/tree "$ccusage" claude daily --json --offline --timezone UTC --breakdown >"$out/ccusage.json"
if python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
    "$out/ccusage.json" "$committed/ccusage-20.0.24-daily.json"; then
    echo "ccusage 20.0.24 says what the committed output says" >&2
elif [ "${1:-}" = --update ]; then
    cp "$out/ccusage.json" "$committed/ccusage-20.0.24-daily.json"
    echo "replaced $committed/ccusage-20.0.24-daily.json" >&2
else
    echo "bench/parity.sh: ccusage's output differs from $committed/ccusage-20.0.24-daily.json (--update replaces it)" >&2
    exit 1
fi
cargo test --locked --test integration -- report::real_transcripts_match_ccusage_except_where_documented
