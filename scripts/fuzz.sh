#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 300), one after another, and prints a summary
# line per target. Needs `cargo install cargo-fuzz --locked`; RUSTC_BOOTSTRAP lets the stable
# toolchain accept the sanitizer flags cargo-fuzz passes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-300}
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    log="target/fuzz-$target.log"
    mkdir -p target
    cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1 || { echo "$target: FAILED (see fuzz/$log)"; exit 1; }
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "$target: ${runs:-?} executions in ${seconds}s, no crash"
done
