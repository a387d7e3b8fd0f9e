#!/usr/bin/env bash
# Benchmark (not a test): medians for our provider beside HashiCorp's null provider 2.1.2,
# measured in the same run. BENCH_RUNS and BENCH_PLAN_RUNS change the sample sizes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-tools.sh >/dev/null
# Two builds, so the measured provider is exactly what users build (one invocation would
# unify features with the benchmark's own dependencies).
cargo build --release --locked -p terraform-provider-scaling
cargo build --release --locked -p scaling-bench
exec target/release/scaling-bench
