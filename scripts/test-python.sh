#!/usr/bin/env bash
# The Python package's checks, from a fresh machine or a used tree (idempotent; any failure stops
# it with a non-zero exit):
#   1. makes .venv at the repo root if missing and installs the pinned test tools into it;
#   2. finds the test peer ffmpeg (RTMP_RS_FFMPEG, ffmpeg-9 on PATH, or imageio-ffmpeg's) and
#      openssl (for the RTMPS test certificates);
#   3. builds and installs the package the way users do: pip install ./bindings/python (release
#      abi3 wheel built by maturin);
#   4. runs pytest (bindings/python/tests; "no tests ran" is a failure), stubtest on
#      rtmp_rs._native, and mypy --strict on the package and the examples.
# Set RTMP_RS_PY_DEVELOP=1 to build with `maturin develop` (debug, faster to rebuild) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
VENV=$ROOT/.venv
PY=$VENV/bin/python
# maturin's build backend runs the `maturin` of the venv: put it first on PATH.
export PATH="$VENV/bin:$PATH"
step() { printf '\n==> %s\n' "$*"; }

step "virtualenv and pinned tools (.venv)"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
"$PY" --version
"$PY" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "pytest-asyncio==1.5.0" "mypy==2.4.1" "imageio-ffmpeg==0.8.1"

step "test peers: ffmpeg and openssl"
FFMPEG=${RTMP_RS_FFMPEG:-}
if [ -z "$FFMPEG" ] && command -v ffmpeg-9 >/dev/null; then
    FFMPEG=$(command -v ffmpeg-9)
fi
if [ -z "$FFMPEG" ]; then
    FFMPEG=$("$PY" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')
fi
export RTMP_RS_FFMPEG=$FFMPEG
"$FFMPEG" -hide_banner -version | sed -n 1p  # not head: its SIGPIPE fails pipefail
if ! command -v openssl >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
    else
        echo "openssl is missing (the RTMPS test makes its certificates with it): install it" >&2
        exit 1
    fi
fi
openssl version

step "build and install the package"
# An editable build leaves python/rtmp_rs/_native*.so behind; it must not shadow the wheel.
rm -f bindings/python/python/rtmp_rs/_native*.so
if [ "${RTMP_RS_PY_DEVELOP:-0}" = 1 ]; then
    (cd bindings/python && maturin develop --locked)
else
    "$PY" -m pip uninstall --quiet --disable-pip-version-check -y rtmp-rs >/dev/null 2>&1 || true
    "$PY" -m pip install --disable-pip-version-check --no-build-isolation ./bindings/python
fi
(cd /tmp && "$PY" -c 'import rtmp_rs, sys; print("rtmp_rs", rtmp_rs.__version__, "from", rtmp_rs.__file__)')
CARGO_VERSION=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
PY_VERSION=$(cd /tmp && "$PY" -c 'import importlib.metadata as m; print(m.version("rtmp-rs"))')
if [ "$CARGO_VERSION" != "$PY_VERSION" ]; then
    echo "package version $PY_VERSION differs from Cargo's $CARGO_VERSION" >&2
    exit 1
fi

step "pytest"
set +e
(cd bindings/python && "$PY" -m pytest -q -p no:cacheprovider tests)
status=$?
set -e
if [ "$status" = 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
elif [ "$status" != 0 ]; then
    echo "pytest failed (exit $status)" >&2
    exit "$status"
fi

step "stubs: mypy.stubtest rtmp_rs._native"
(cd /tmp && "$PY" -m mypy.stubtest rtmp_rs._native)

step "types: mypy --strict on the package and the examples"
(cd bindings/python && "$PY" -m mypy --strict --cache-dir=/dev/null python/rtmp_rs ../../examples/python)

printf '\nPython package: all checks passed in %ss\n' "$(($(date +%s) - START))"
