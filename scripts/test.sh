#!/usr/bin/env bash
# Sets up and runs every test of the project. On a fresh machine this is the one command to run;
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test peers: ffmpeg 9 (PyPI imageio-ffmpeg, in .venv), Debian's ffmpeg 5.1, nginx-rtmp and GStreamer"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "imageio-ffmpeg==0.8.1"
RTMP_RS_FFMPEG=$(.venv/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')
export RTMP_RS_FFMPEG
# Debian peers: ffmpeg 5.1, nginx-rtmp (a server no one here wrote, for the client tests) and
# GStreamer's rtmp2src player (for the publisher reconnect tests), rtmpdump (librtmp, a legacy
# player of enhanced streams).
debian_peers="ffmpeg nginx-light libnginx-mod-rtmp gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad rtmpdump"
if [ ! -x /usr/bin/ffmpeg ] || [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] ||
    [ ! -x /usr/bin/rtmpdump ] ||
    ! gst-inspect-1.0 rtmp2src >/dev/null 2>&1 || ! gst-inspect-1.0 flvdemux >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $debian_peers >/dev/null
    else
        echo "Debian test peers are missing: run 'sudo apt-get install $debian_peers' (or this script as root)" >&2
        exit 1
    fi
fi
# `sed -n 1p`, not `head -n 1`: head may leave the writer a SIGPIPE, fatal under pipefail.
"$RTMP_RS_FFMPEG" -hide_banner -version | sed -n 1p
/usr/bin/ffmpeg -hide_banner -version | sed -n 1p
gst-launch-1.0 --version | sed -n 1p

step "toolchain"
cargo --version
rustup component list --installed 2>/dev/null | grep -E '^(rustfmt|clippy)' || true

step "format"
cargo fmt --all --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the protocol core is sans-IO: no tokio, sockets or clocks in rtmp-core/src/proto"
# Code lines only (comments may name what the core avoids).
if grep -rnE 'tokio::|std::net|Instant::now|SystemTime' rtmp-core/src/proto | grep -vE '^[^:]+:[0-9]+:\s*//'; then
    echo "rtmp-core/src/proto must not do IO or read clocks" >&2
    exit 1
fi

step "the protocol core builds without the tokio layer"
cargo build -p rtmp-core --no-default-features --locked

step "fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked

step "benches compile"
cargo build -p rtmp-core --benches --locked

step "Rust crate: cargo package, strict docs"
# The crate as crates.io would get it must build on its own (the verify build shares target/, so
# it is quick). --allow-dirty: this checks the tree as it is, not a release. The integration tests
# and the bench are left out of the package on purpose (they need the test peers): cargo warns
# that it ignores them. The README examples are doctests, run in the tests step below.
cargo package -p rtmp-core --locked --allow-dirty
# Every public item documented, no broken links, with and without the tokio layer.
for features in --all-features --no-default-features; do
    RUSTDOCFLAGS="-D missing_docs -D rustdoc::broken_intra_doc_links" \
        cargo doc --no-deps -p rtmp-core --locked "$features"
done

step "tests"
cargo test --workspace --locked

step "C API: header, examples, ASan/UBSan, valgrind, end to end"
bash scripts/test-c.sh

step "Python package: pip install into .venv, pytest, stubtest, mypy"
bash scripts/test-python.sh

step "Node package: npm ci, napi build, generated files, tsc, node --test"
bash scripts/test-node.sh
