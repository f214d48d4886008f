#!/usr/bin/env bash
# The Python package's checks, from a fresh machine or a used tree (idempotent; any failure stops
# it with a non-zero exit):
#   1. makes .venv at the repo root if missing and installs the pinned test tools into it;
#   2. finds the test peer ffmpeg (RTMP_RS_FFMPEG, ffmpeg-9 on PATH, or imageio-ffmpeg's) and
#      openssl (for the RTMPS test certificates);
#   3. builds the release artifacts as they would be published: the sdist, then the abi3 wheel
#      from the unpacked sdist (so the sdist is proven to build), checks the wheel's tags with
#      auditwheel, and installs that wheel into .venv;
#   4. installs the same wheel into fresh CPython 3.9 and 3.13 venvs (from ~/.pyenv) with PATH
#      stripped of the Rust toolchain, and runs examples/python/auth_server.py from each against
#      ffmpeg (tests/test_examples.py with RTMP_RS_EXAMPLE_PYTHON);
#   5. runs pytest (bindings/python/tests; "no tests ran" is a failure), stubtest on
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
    "maturin==1.16.0" "auditwheel==6.4.2" "pytest==9.2.0" "pytest-asyncio==1.5.0" "mypy==2.4.1" "imageio-ffmpeg==0.8.1" "av==18.1.0" "numpy==2.4.6"

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

step "build the sdist and, from it, the abi3 wheel"
# An editable build leaves python/rtmp_rs/_native*.so behind; it must not shadow the wheel.
rm -f bindings/python/python/rtmp_rs/_native*.so
DIST=$ROOT/target/dist/python
if [ "${RTMP_RS_PY_DEVELOP:-0}" = 1 ]; then
    (cd bindings/python && maturin develop --locked)
else
    rm -rf "$DIST" && mkdir -p "$DIST"
    (cd bindings/python && maturin sdist --out "$DIST")
    SDIST=$(ls "$DIST"/rtmp_rs-*.tar.gz)
    # -m: the files get the time of unpacking, not the sdist's, so cargo never takes an older
    # build of the same crates for fresh.
    mkdir "$DIST/src" && tar xzmf "$SDIST" -C "$DIST/src"
    # The sdist's workspace has only the crates it needs, so cargo prunes its copy of Cargo.lock
    # (no --locked); the versions stay the ones pinned there. The repo's target dir keeps the
    # compiled dependencies between runs.
    (cd "$DIST"/src/rtmp_rs-* && CARGO_TARGET_DIR=$ROOT/target maturin build --release --out "$DIST")
    WHEEL=$(ls "$DIST"/rtmp_rs-*.whl)
    case $(basename "$WHEEL") in
    rtmp_rs-*-cp39-abi3-manylinux_*_x86_64.whl) ;;
    *) echo "wheel $(basename "$WHEEL") is not tagged abi3 (cp39) + manylinux" >&2; exit 1 ;;
    esac
    # auditwheel reads the glibc symbol versions the extension needs: the tag must claim no more.
    (cd /tmp && auditwheel show "$WHEEL") | tee "$DIST/auditwheel.txt"
    tag=$(basename "$WHEEL" .whl | sed 's/.*-abi3-//')
    if ! tr -s ' \n' '  ' <"$DIST/auditwheel.txt" | grep -q "consistent with the following platform tag: \"$tag\""; then
        echo "auditwheel does not confirm the wheel's platform tag $tag" >&2
        exit 1
    fi
    ls -l "$SDIST" "$WHEEL"
    "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"
fi
(cd /tmp && "$PY" -c 'import rtmp_rs, sys; print("rtmp_rs", rtmp_rs.__version__, "from", rtmp_rs.__file__)')
CARGO_VERSION=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
PY_VERSION=$(cd /tmp && "$PY" -c 'import importlib.metadata as m; print(m.version("rtmp-rs"))')
if [ "$CARGO_VERSION" != "$PY_VERSION" ]; then
    echo "package version $PY_VERSION differs from Cargo's $CARGO_VERSION" >&2
    exit 1
fi

if [ "${RTMP_RS_PY_DEVELOP:-0}" != 1 ]; then
    step "the wheel on CPython 3.9 and 3.13, no Rust toolchain on PATH: examples/python/auth_server.py"
    # PATH without any directory that holds cargo or rustc.
    NO_RUST_PATH=$(printf '%s' "$PATH" | tr ':' '\n' |
        while read -r dir; do [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || printf '%s:' "$dir"; done)
    NO_RUST_PATH=${NO_RUST_PATH%:}
    for version in 3.9.18 3.13.0; do
        base=$HOME/.pyenv/versions/$version/bin/python3
        if [ ! -x "$base" ]; then
            echo "CPython $version is missing at $base (pyenv install $version)" >&2
            exit 1
        fi
        env_dir=$DIST/venv-$version
        "$base" -m venv "$env_dir"
        PATH="$env_dir/bin:$NO_RUST_PATH" bash -c '
            set -euo pipefail
            if command -v cargo || command -v rustc; then echo "the Rust toolchain is still on PATH" >&2; exit 1; fi
            python -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$1"
            cd /tmp && python -c "import rtmp_rs, sys; assert rtmp_rs.__file__.startswith(sys.prefix), rtmp_rs.__file__; print(sys.version.split()[0], \"rtmp_rs\", rtmp_rs.__version__, \"from\", rtmp_rs.__file__)"
        ' _ "$WHEEL"
        (cd bindings/python && PATH="$env_dir/bin:$NO_RUST_PATH" RTMP_RS_EXAMPLE_PYTHON="$env_dir/bin/python" \
            "$PY" -m pytest -q -p no:cacheprovider tests/test_examples.py -k auth_server)
    done
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
