#!/usr/bin/env bash
# Builds the release server and the harness, then runs the load harness on core 1 (servers run
# on core 0). Arguments go to the harness: e.g. `bench/run.sh --scenario fanout100 --seconds 20`.
# Needs nginx-light + libnginx-mod-rtmp and iproute2 (ss) from apt, and ffmpeg 9 (RTMP_RS_FFMPEG
# or .venv imageio-ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --example server -p rtmp-core
cargo build --release --locked -p rtmp-bench --bins
ulimit -n 65536 2>/dev/null || true
exec taskset -c 1 target/x86_64-unknown-linux-gnu/release/load "$@"
