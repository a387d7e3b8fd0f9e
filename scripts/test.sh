#!/usr/bin/env bash
# Installs the pinned test tools, then runs every test: unit, property, and end-to-end tests
# that drive the real terraform binary against moto. Ends with one summary line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh
# kube-apiserver for the scaling_profile tests: built from Debian's source package the first
# time (about 7 to 11 minutes on 2 cores), then reused from ~/.cache.
scripts/install-kube.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --no-fail-fast --color never 2>&1 | tee "$log" || status=$?

# Style and lints gate too: formatting as rustfmt.toml says, clippy without warnings.
cargo fmt --all --check || status=1
cargo clippy --workspace --tests --locked --color never -- -D warnings || status=1

summary=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { printf "%d passed, %d failed", p, f }' "$log")
echo
echo "$summary"
exit "$status"
