#!/usr/bin/env bash
# Bounded reads: one `ccbreaker hook` call with hostile files under the transcript root, against the floor
# (bench/floor) in the same hyperfine run, and, with --base, an earlier build with a 10 s limit (the hook's timeout).
#
#   sparse   a 1 TB sparse file, `truncate -s 1T`, named *.jsonl beside the session
#   pagemap  a symlink to /proc/self/pagemap named *.jsonl beside the session
#   many     200,000 empty files in the session's own subagents/ directory (listed on every call)
#
# Each case: a session of 10 responses. The first call (empty state, which walks the root) is timed once; then
# hyperfine times the steady-state call (the state kept between runs). With `--rescan 0`, every call also walks
# the root (the worst case; by default a walk happens at most every 10 s).
#
# Usage: bench/bounded.sh [--bin PATH] [--base PATH] [--floor PATH] [--runs N] [--rescan SECS]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/target/release/ccbreaker
base=
floor=$here/floor/target/release/ccbreaker-floor
runs=30
rescan=10
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --floor) floor=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --rescan) rescan=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
hyperfine=${HYPERFINE:-hyperfine}
work=$(mktemp -d /tmp/ccbreaker-bounded-XXXXXX)
trap 'rm -rf "$work"' EXIT
session=5e55b3a0-0000-4000-8000-00000000b0d5
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)

setup() {
    rm -rf "$work/home" "$work/state"
    local project=$work/home/.claude/projects/-work-bench
    mkdir -p "$project"
    python3 - "$project/$session.jsonl" "$now" <<'PY'
import json, sys
path, now = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    parent = None
    for i in range(10):
        f.write(json.dumps({"parentUuid": parent, "type": "user", "uuid": f"u{i}", "timestamp": now,
                            "message": {"role": "user", "content": "go"}}) + "\n")
        f.write(json.dumps({"parentUuid": f"u{i}", "type": "assistant", "uuid": f"a{i}", "timestamp": now,
                            "requestId": f"req_{i}", "message": {"id": f"msg_{i}", "model": "claude-sonnet-5",
                            "usage": {"input_tokens": 10, "output_tokens": 1000}}}) + "\n")
        parent = f"a{i}"
PY
    case $1 in
        sparse) truncate -s 1T "$project/sparse.jsonl" ;;
        pagemap) ln -s /proc/self/pagemap "$project/pagemap.jsonl" ;;
        many)
            mkdir -p "$project/$session/subagents"
            (cd "$project/$session/subagents" && seq 1 200000 | sed 's/.*/agent-&.jsonl/' | xargs touch)
            ;;
    esac
    printf '[budget]\nsession_usd = 100\ntimezone = "UTC"\n[transcripts]\nrescan_secs = %s\n' "$rescan" > "$work/config.toml"
    printf '{"session_id":"%s","transcript_path":"%s","cwd":"/work/bench","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"t"}' \
        "$session" "$project/$session.jsonl" > "$work/event.json"
}

hook() {
    env -i PATH=/usr/bin:/bin HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/config.toml" \
        CCBREAKER_STATE_DIR="$work/state" "$@" hook < "$work/event.json"
}

echo "CPUs: $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg); transcripts.rescan_secs = $rescan"
echo
echo "| case | first call: ccbreaker | first call: base (10 s limit) | steady call p50 ms | floor p50 ms | ratio | answer |"
echo "|---|---|---|---|---|---|---|"
for case in sparse pagemap many; do
    setup "$case"
    start=$(date +%s%N)
    answer=$(hook "$bin")
    first=$(( ($(date +%s%N) - start) / 1000000 ))
    base_first=-
    if [ -n "$base" ]; then
        rm -rf "$work/state"
        start=$(date +%s%N)
        if timeout 10 env -i PATH=/usr/bin:/bin HOME="$work/home" TZ=UTC CCBREAKER_CONFIG="$work/config.toml" \
            CCBREAKER_STATE_DIR="$work/state" "$base" hook < "$work/event.json" > /dev/null 2>&1; then
            base_first="$(( ($(date +%s%N) - start) / 1000000 )) ms"
        else
            base_first="no answer in 10 s"
        fi
        rm -rf "$work/state"
        hook "$bin" > /dev/null
    fi
    json=$work/$case.json
    "$hyperfine" -N --warmup 3 --runs "$runs" --input "$work/event.json" --export-json "$json" \
        --command-name ccbreaker "env -i PATH=/usr/bin:/bin HOME=$work/home TZ=UTC CCBREAKER_CONFIG=$work/config.toml CCBREAKER_STATE_DIR=$work/state $bin hook" \
        --command-name floor "$floor" > /dev/null 2>&1
    read -r ours theirs < <(python3 -c "
import json, statistics, sys
r = json.load(open(sys.argv[1]))['results']
print(*(statistics.median(x['times']) * 1000 for x in r))" "$json")
    ratio=$(python3 -c "print(f'{$ours / $theirs:.1f}x')")
    printf '| %s | %s ms | %s | %.2f | %.2f | %s | %s |\n' "$case" "$first" "$base_first" "$ours" "$theirs" "$ratio" "${answer:-allow (silent)}"
done
