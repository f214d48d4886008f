#!/usr/bin/env bash
# Runs every fuzz target one after another and prints a summary line per target.
#   scripts/fuzz.sh [SECONDS]        each target for SECONDS (default 300) under AddressSanitizer
#   scripts/fuzz.sh --runs N         each target for N executions, without a sanitizer (about 10x the
#                                    speed; the protocol core has no unsafe code, so ASan mostly adds cost)
#   FUZZ_TARGETS="a b" limits the run to those targets.
# Needs `cargo install cargo-fuzz --locked`; RUSTC_BOOTSTRAP lets the stable toolchain accept the
# sanitizer flags cargo-fuzz passes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
if [[ "${1:-}" == "--runs" ]]; then
    limit=(-runs="${2:?--runs needs a count}")
    sanitizer=(-s none)
    what="${2} executions"
else
    limit=(-max_total_time="${1:-300}")
    sanitizer=()
    what="${1:-300}s"
fi
cargo fuzz build "${sanitizer[@]}"
mkdir -p target
for target in ${FUZZ_TARGETS:-$(cargo fuzz list)}; do
    mkdir -p "corpus/$target"
    log="target/fuzz-$target.log"
    start=$(date +%s)
    cargo fuzz run "${sanitizer[@]}" "$target" "corpus/$target" -- "${limit[@]}" -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || { echo "$target: FAILED (see fuzz/$log)"; exit 1; }
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "$target: ${runs:-?} executions in $(($(date +%s) - start))s ($what requested), no crash"
done
