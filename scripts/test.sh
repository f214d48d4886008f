#!/usr/bin/env bash
# Sets up and runs every test of the project. On a fresh machine this is the one command to run;
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustup component list --installed 2>/dev/null | grep -E '^(rustfmt|clippy)' || true

step "format"
cargo fmt --all --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the protocol core is sans-IO: no tokio, sockets or clocks in rtmp-core/src/proto"
if grep -rnE 'tokio|std::net|std::time::(Instant|SystemTime)' rtmp-core/src/proto; then
    echo "rtmp-core/src/proto must not do IO or read clocks" >&2
    exit 1
fi

step "fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked

step "benches compile"
cargo build -p rtmp-core --benches --locked

step "tests"
cargo test --workspace --locked
