#!/usr/bin/env bash
# The C API's checks, from a clean or a used tree (idempotent; any failure stops it):
#   1. builds the release librtmp_rs (.so and .a), which regenerates include/rtmp_rs.h,
#      and fails when the committed header is stale;
#   2. compiles the header as C11 and C++17;
#   3. builds examples/c (shared and static) with -Wall -Wextra -Werror -pedantic;
#   4. runs the C API test (rtmp-ffi/tests/c/test_api.c) with ASan+UBSan, statically linked,
#      and under valgrind (no errors, no definite/indirect/possible leaks);
#   5. runs the end-to-end tests: ffmpeg ↔ C auth_server ↔ C player and relay; streams in-process
#      (subscriptions and local publishers) against ffmpeg publishers and players, with
#      ASan/UBSan (rtmp-ffi/tests/c/streams_e2e.c); ffmpeg ↔ the C restream example ↔ ffmpeg
#      players; relays against nginx-rtmp and ffmpeg, with ASan/UBSan
#      (rtmp-ffi/tests/c/relay_e2e.c); publish authentication (authmod=adobe) and data messages
#      against ffmpeg and our clients, with ASan/UBSan (rtmp-ffi/tests/c/auth_e2e.c).
# Needs gcc, g++, pkg-config, valgrind, nginx with the RTMP module (nginx-light and
# libnginx-mod-rtmp, which scripts/test.sh installs) and an ffmpeg with libx264 (RTMP_RS_FFMPEG, ffmpeg-9 on
# PATH, or imageio-ffmpeg installed into .venv as scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
# cargo's target directory: CARGO_TARGET_DIR when set (a separate build tree), else ./target.
TARGET_ROOT=$(realpath -m "${CARGO_TARGET_DIR:-target}")
REL=$TARGET_ROOT/x86_64-unknown-linux-gnu/release
OUT=$TARGET_ROOT/c-tests
# examples/c/Makefile finds the library and writes rtmp_rs.pc there too.
export TARGET_DIR=$REL
mkdir -p "$OUT"
STEPS=0
step() { printf '\n==> %s\n' "$*"; }
done_step() { STEPS=$((STEPS + 1)); }

step "tools"
missing=()
for tool in gcc g++ pkg-config valgrind make; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        pkgs=()
        for tool in "${missing[@]}"; do
            case $tool in g++) pkgs+=(g++) ;; *) pkgs+=("$tool") ;; esac
        done
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    else
        echo "missing tools: ${missing[*]} (install them, or run this script as root)" >&2
        exit 1
    fi
fi
# shellcheck source=scripts/find-ffmpeg.sh
source scripts/find-ffmpeg.sh
if [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
    echo "nginx-rtmp is missing: apt-get install nginx-light libnginx-mod-rtmp (scripts/test.sh does this as root)" >&2
    exit 1
fi
gcc --version | sed -n 1p
valgrind --version
/usr/sbin/nginx -v 2>&1
"$FFMPEG" -hide_banner -version | sed -n 1p  # not head: its SIGPIPE fails pipefail

step "release library and header (cargo build --release -p rtmp-ffi)"
cargo build --release --locked -p rtmp-ffi
# The SONAME's link, so that programs linked in the build tree run from it.
MAJOR=$(sed -n 's/^#define RTMP_RS_VERSION_MAJOR \(.*\)/\1/p' include/rtmp_rs.h)
ln -sf librtmp_rs.so "$REL/librtmp_rs.so.$MAJOR"
ls -l "$REL/librtmp_rs.so" "$REL/librtmp_rs.a"
if [ -n "$(git status --porcelain -- include/rtmp_rs.h)" ]; then
    git --no-pager diff --stat -- include/rtmp_rs.h || true
    echo "include/rtmp_rs.h is stale or uncommitted: the build regenerated it; commit it" >&2
    exit 1
fi
git diff --exit-code --quiet -- include/rtmp_rs.h
echo "include/rtmp_rs.h is up to date"
done_step

step "the ABI guard: the exported symbols are the C API's, as listed in rtmp-ffi/abi/symbols.txt"
nm -D --defined-only "$REL/librtmp_rs.so" | awk '{print $3}' | LC_ALL=C sort >"$OUT/symbols.txt"
if grep -v '^rtmp_' "$OUT/symbols.txt"; then
    echo "librtmp_rs.so exports symbols outside the C API (above)" >&2
    exit 1
fi
if ! diff -u rtmp-ffi/abi/symbols.txt "$OUT/symbols.txt"; then
    echo "the exported symbols changed: a removal breaks the ABI; an addition must be listed" >&2
    echo "(cp $OUT/symbols.txt rtmp-ffi/abi/symbols.txt, and say so in CHANGELOG.md)" >&2
    exit 1
fi
echo "$(wc -l <"$OUT/symbols.txt") symbols, all rtmp_*, as listed"
done_step

step "the header compiles as C11 and C++17"
printf '#include "rtmp_rs.h"\nint main(void) { return rtmp_version() == 0; }\n' >"$OUT/header.c"
cp "$OUT/header.c" "$OUT/header.cpp"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -I include -c "$OUT/header.c" -o "$OUT/header_c.o"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -I include -c "$OUT/header.cpp" -o "$OUT/header_cpp.o"
done_step

step "examples/c (shared and static, -Wall -Wextra -Werror -pedantic)"
make -C examples/c all static
done_step

step "the README example builds through pkg-config"
# The README's only C block, in its "C API" section.
sed -n '/^## C API$/,/^## [^C]/p' README.md | sed -n '/^```c$/,/^```$/p' | sed '1d;$d' >"$OUT/readme_example.c"
[ "$(wc -l <"$OUT/readme_example.c")" -le 30 ] || { echo "the README example grew past 30 lines" >&2; exit 1; }
PKG_CONFIG_PATH=$REL/pkgconfig
gcc -std=c11 -Wall -Wextra -Werror "$OUT/readme_example.c" -o "$OUT/readme_example" \
    $(PKG_CONFIG_PATH=$PKG_CONFIG_PATH pkg-config --cflags --libs rtmp_rs) \
    -Wl,-rpath,"$(PKG_CONFIG_PATH=$PKG_CONFIG_PATH pkg-config --variable=libdir rtmp_rs)"
done_step

WARN=(-std=c11 -Wall -Wextra -Werror -pedantic -g -I include)
TEST=rtmp-ffi/tests/c/test_api.c

step "C API test with ASan + UBSan"
gcc "${WARN[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    "$TEST" -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/test_api_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    timeout 300 "$OUT/test_api_asan"
done_step

step "C API test linked statically (librtmp_rs.a)"
gcc "${WARN[@]}" "$TEST" "$REL/librtmp_rs.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -o "$OUT/test_api_static"
timeout 300 "$OUT/test_api_static"
done_step

step "C API test under valgrind"
gcc "${WARN[@]}" "$TEST" -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/test_api"
set +e
timeout 600 valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --log-file="$OUT/valgrind.log" "$OUT/test_api"
status=$?
set -e
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|in use at exit" "$OUT/valgrind.log" |
    sed 's/^==[0-9]*== *//'
if [ "$status" -ne 0 ]; then
    cat "$OUT/valgrind.log" >&2
    echo "valgrind: exit status $status" >&2
    exit 1
fi
done_step

step "conformance cases (bindings/embed/conformance), C runner"
gcc "${WARN[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    rtmp-ffi/tests/c/conformance.c -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/conformance"
ASAN_OPTIONS=detect_leaks=1 timeout 120 "$OUT/conformance" bindings/embed/conformance/cases.txt
done_step

step "installed under a prefix: SONAME, links, pkg-config, a program that loads the installed .so"
PREFIX=$OUT/prefix
rm -rf "$PREFIX"
make -C examples/c install PREFIX="$PREFIX" >/dev/null
VERSION=$(sed -n 's/^#define RTMP_RS_VERSION "\(.*\)"/\1/p' include/rtmp_rs.h)
for file in "lib/librtmp_rs.so.$VERSION" "lib/librtmp_rs.so.$MAJOR" lib/librtmp_rs.so lib/librtmp_rs.a \
    include/rtmp_rs.h lib/pkgconfig/rtmp_rs.pc; do
    [ -e "$PREFIX/$file" ] || { echo "not installed: $file" >&2; exit 1; }
done
soname=$(readelf -d "$PREFIX/lib/librtmp_rs.so.$VERSION" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "librtmp_rs.so.$MAJOR" ] || { echo "SONAME is '$soname', not librtmp_rs.so.$MAJOR" >&2; exit 1; }
printf '#include <stdio.h>\n#include <rtmp_rs.h>\nint main(void) { puts(rtmp_version()); return 0; }\n' \
    >"$OUT/installed.c"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
gcc -std=c11 -Wall -Wextra -Werror "$OUT/installed.c" -o "$OUT/installed" $(pkg-config --cflags --libs rtmp_rs) \
    -Wl,-rpath,"$(pkg-config --variable=libdir rtmp_rs)"
unset PKG_CONFIG_PATH
ldd "$OUT/installed" | grep -F "librtmp_rs.so.$MAJOR => $PREFIX/lib/librtmp_rs.so.$MAJOR" ||
    { ldd "$OUT/installed" >&2; echo "the program does not load the installed library" >&2; exit 1; }
[ "$("$OUT/installed")" = "$VERSION" ] || { echo "the installed library reports another version" >&2; exit 1; }
echo "SONAME $soname; $(ls "$PREFIX/lib" | tr '\n' ' ')"
done_step

step "end to end: ffmpeg, C auth_server, C player, C relay"
timeout 120 bash rtmp-ffi/tests/c/e2e.sh "$ROOT/examples/c/build" "$FFMPEG"
done_step

step "end to end: streams in-process against ffmpeg (subscriptions, local publishers), ASan + UBSan"
gcc "${WARN[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    rtmp-ffi/tests/c/streams_e2e.c -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/streams_e2e"
# ffmpeg's logs stay in $OUT/streams-e2e for a look after a failure.
rm -rf "$OUT/streams-e2e"
mkdir -p "$OUT/streams-e2e"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    timeout 240 "$OUT/streams_e2e" "$FFMPEG" "$OUT/streams-e2e"
done_step

step "end to end: relays against nginx-rtmp and ffmpeg (forward routes, runtime forwards, pull located by the hook), ASan + UBSan"
gcc "${WARN[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    rtmp-ffi/tests/c/relay_e2e.c -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/relay_e2e"
# nginx's and ffmpeg's logs stay in $OUT/relay-e2e for a look after a failure.
rm -rf "$OUT/relay-e2e"
mkdir -p "$OUT/relay-e2e"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    timeout 180 "$OUT/relay_e2e" "$FFMPEG" "$OUT/relay-e2e"
done_step

step "end to end: publish authentication (authmod=adobe) and on_data against ffmpeg and our clients, ASan + UBSan"
gcc "${WARN[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    rtmp-ffi/tests/c/auth_e2e.c -L"$REL" -lrtmp_rs -Wl,-rpath,"$REL" -lpthread -o "$OUT/auth_e2e"
# ffmpeg's logs stay in $OUT/auth-e2e for a look after a failure.
rm -rf "$OUT/auth-e2e"
mkdir -p "$OUT/auth-e2e"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    timeout 120 "$OUT/auth_e2e" "$FFMPEG" "$OUT/auth-e2e"
done_step

step "end to end: ffmpeg, C restream (subscribe + re-publish in-process), ffmpeg players"
timeout 120 bash rtmp-ffi/tests/c/e2e_restream.sh "$ROOT/examples/c/build" "$FFMPEG"
done_step

echo
echo "C API checks took $(($(date +%s) - START)) s"
echo "test-c: $STEPS passed, 0 failed"
