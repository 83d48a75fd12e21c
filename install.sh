#!/bin/sh
# Builds ccbreaker, installs its two binaries (ccbreaker, ccbreaker-net) into ${CCBREAKER_INSTALL_DIR:-$HOME/.local/bin},
# and registers its hooks in Claude Code's settings with `ccbreaker install`. Arguments go to `ccbreaker install`:
#
#   ./install.sh                     # user settings (~/.claude/settings.json, or $CLAUDE_CONFIG_DIR)
#   ./install.sh --scope project     # .claude/settings.json of the current directory
#   ./install.sh --dry-run           # build and copy the binaries, but only print the settings it would write
set -eu

# The minimum Rust version, from Cargo.toml's `rust-version`.
MIN_RUST_MINOR=89

case "${1:-}" in
-h | --help)
    cat <<'USAGE'
Usage: ./install.sh [ccbreaker install arguments]

Builds ccbreaker (cargo build --release --locked), copies `ccbreaker` and `ccbreaker-net` into
$CCBREAKER_INSTALL_DIR (default ~/.local/bin), and runs `ccbreaker install` with the arguments given:

  ./install.sh                         register the hooks in your user settings (~/.claude/settings.json)
  ./install.sh --statusline            ... and set Claude Code's statusline to `ccbreaker statusline`
  ./install.sh --scope project         .claude/settings.json of the current directory (runs `ccbreaker` by name)
  ./install.sh --dry-run               build and copy, but only print the settings it would write

For locked mode, build as yourself and run `sudo ./target/release/ccbreaker install --locked` (see the README).
After installing, `ccbreaker doctor` checks that everything holds.
USAGE
    exit 0
    ;;
esac

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

# A relative CCBREAKER_INSTALL_DIR is taken from the caller's directory.
if [ -n "${CCBREAKER_INSTALL_DIR:-}" ]; then
    dir=$CCBREAKER_INSTALL_DIR
else
    [ -n "${HOME:-}" ] || die "HOME is not set; set CCBREAKER_INSTALL_DIR to the directory to install into"
    dir=$HOME/.local/bin
fi
# The repository this script sits in: it is built there, wherever the script is run from. `ccbreaker install` itself
# runs in the caller's directory, which `--scope project` and `--scope local` write under.
repo=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

if ! command -v cargo >/dev/null 2>&1; then
    die "cargo was not found on PATH. Install Rust (1.$MIN_RUST_MINOR or newer) from https://rustup.rs, or on
Debian/Ubuntu with \`sudo apt install cargo\` if your release ships 1.$MIN_RUST_MINOR or newer; then run ./install.sh again."
fi
version=$(cargo --version 2>/dev/null | sed -n 's/^cargo 1\.\([0-9][0-9]*\)\..*/\1/p')
if [ -n "$version" ] && [ "$version" -lt "$MIN_RUST_MINOR" ]; then
    die "$(cargo --version) is too old: ccbreaker needs Rust 1.$MIN_RUST_MINOR or newer (\`rustup update\`, or Rust from https://rustup.rs)."
fi

say "building the release binary (cargo build --release --locked) in $repo"
(cd -- "$repo" && cargo build --release --locked)
# Where cargo put it: CARGO_TARGET_DIR (relative to the repository) if set, else target/.
target=${CARGO_TARGET_DIR:-target}
case $target in
    /*) ;;
    *) target=$repo/$target ;;
esac
mkdir -p -- "$dir"
dir=$(CDPATH='' cd -- "$dir" && pwd)
# ccbreaker, and beside it ccbreaker-net: the commands that use the network (`ccbreaker reconcile` and
# `ccbreaker prices update --from URL` run it).
# Copy then rename, so a ccbreaker that Claude Code is running right now is replaced, not overwritten in place.
for name in ccbreaker ccbreaker-net; do
    built=$target/release/$name
    [ -x "$built" ] || die "the build finished but $built is missing"
    tmp=$dir/.$name.install.$$
    trap 'rm -f -- "$tmp"' EXIT
    cp -- "$built" "$tmp"
    chmod 0755 "$tmp"
    mv -f -- "$tmp" "$dir/$name"
    trap - EXIT
    say "installed $dir/$name"
done
# The plugin's wrapper (hooks/ccbreaker-hook) runs only the binary recorded here, by its absolute path.
printf '%s\n' "$dir/ccbreaker" > "$repo/hooks/ccbreaker.path"

on_path=no
case ":${PATH:-}:" in
    *":$dir:"*) on_path=yes ;;
esac
if [ "$on_path" = no ]; then
    say "warning: $dir is not on your PATH. The hook does not need it (it is registered by its full path), but"
    say "to run \`ccbreaker status\` by name, add this to your shell profile:  export PATH=\"$dir:\$PATH\""
fi

"$dir/ccbreaker" install "$@"

if [ "$on_path" = yes ]; then
    say "done. See today's spend and budgets with: ccbreaker status; check the install with: ccbreaker doctor"
else
    say "done. See today's spend and budgets with: $dir/ccbreaker status; check the install with: $dir/ccbreaker doctor"
fi
