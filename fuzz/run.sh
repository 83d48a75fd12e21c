#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after the other, growing fuzz/corpus/<target>/.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 enables the nightly flags
# it uses. A crash stops the run and leaves its input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seconds="${1:-600}"
for target in transcript_line hook_event config; do
    echo "== $target, ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds" -max_len=65536 2>&1 | tail -n 5
done
