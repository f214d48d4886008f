#!/usr/bin/env bash
# The Node package's checks, from a fresh machine or a used tree (idempotent; any failure stops it):
#   1. npm ci in bindings/node (npm install when there is no lock yet);
#   2. npm run build (napi build --platform: the debug addon, index.js and index.d.ts), and fails
#      when the generated index.js / index.d.ts differ from the committed ones;
#   3. tsc --noEmit on the TypeScript example (examples/node/ingest.ts) and the type test;
#   4. node --test (bindings/node/__test__) against the real ffmpeg, with no test skipped;
#   5. the npm packages as they would be published (napi-rs's layout: the main package and
#      npm/linux-x64-gnu, named in optionalDependencies by `napi pre-publish`): a stripped release
#      addon, `npm pack` of both, installed offline into a fresh project with no Rust toolchain on
#      PATH, where examples/node/auth_server.js (require('rtmp-rs')) accepts an ffmpeg publisher.
# Needs Rust, Node >= 20.17 with npm, and ffmpeg 9 with libx264 (RTMP_RS_FFMPEG, ffmpeg-9 on
# PATH, or imageio-ffmpeg installed into .venv as scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
PKG=$ROOT/bindings/node
LOG=$ROOT/target/node-tests.log
STEPS=0
step() { printf '\n==> %s\n' "$*"; }
done_step() { STEPS=$((STEPS + 1)); }

step "tools"
command -v node >/dev/null && command -v npm >/dev/null || {
    echo "node and npm are needed (Node >= 20.17)" >&2
    exit 1
}
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)' || {
    echo "Node $(node --version) is too old: @napi-rs/cli 3 needs >= 20.17" >&2
    exit 1
}
echo "node $(node --version), npm $(npm --version)"
cargo --version
# shellcheck source=scripts/find-ffmpeg.sh
source scripts/find-ffmpeg.sh
"$FFMPEG" -hide_banner -version | sed -n 1p  # not head: its SIGPIPE fails pipefail
done_step

cd "$PKG"
step "dependencies (npm ci)"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
else
    npm install --no-audit --no-fund
fi
done_step

step "examples/node links the package (npm ci there)"
(cd "$ROOT/examples/node" && npm ci --no-audit --no-fund)
done_step

step "build (npm run build: napi build --platform)"
npm run build
ls -l rtmp-rs.*.node
done_step

step "the generated index.js and index.d.ts are committed and up to date"
if [ -n "$(git status --porcelain -- index.js index.d.ts)" ]; then
    git --no-pager diff --stat -- index.js index.d.ts || true
    git status --short -- index.js index.d.ts
    echo "bindings/node/index.js or index.d.ts is stale or uncommitted: the build regenerated it; commit it" >&2
    exit 1
fi
git diff --exit-code --quiet -- index.js index.d.ts
echo "index.js and index.d.ts are up to date"
done_step

step "TypeScript: tsc --noEmit (examples/node/ingest.ts, __test__/types.ts, index.d.ts)"
npx --no-install tsc -p tsconfig.json
done_step

step "node --test"
mkdir -p "$(dirname "$LOG")"
set +e
npm test -- --test-timeout=180000 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "node --test failed (exit status $status; log in $LOG)" >&2
    exit 1
fi
for counter in fail cancelled skipped todo; do
    if ! grep -qE "^# $counter 0$" "$LOG"; then
        echo "node --test reported $(grep -E "^# $counter " "$LOG" || echo "no '$counter' count"): nothing may be skipped" >&2
        exit 1
    fi
done
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$LOG" | tail -n 1)
[ "${passed:-0}" -gt 0 ] || { echo "node --test ran no test" >&2; exit 1; }
done_step

step "npm packages: release addon, napi-rs layout, npm pack, install with no Rust toolchain"
DIST=$ROOT/target/dist/node
rm -rf "$DIST" && mkdir -p "$DIST/build" "$DIST/stage" "$DIST/tarballs" "$DIST/project/examples"
# --no-js: the committed index.js is the loader; only the addon is wanted here.
npx --no-install napi build --platform --release --strip --no-js --output-dir "$DIST/build"
# A copy of the package, so pre-publish's edit of package.json (optionalDependencies) stays out
# of the tree; -L: the licence links become files (npm packs no symlinks).
cp -rL package.json index.js index.d.ts README.md LICENSE-MIT LICENSE-APACHE npm "$DIST/stage/"
cp -L LICENSE-MIT LICENSE-APACHE "$DIST/stage/npm/linux-x64-gnu/"
napi=$PKG/node_modules/.bin/napi
(cd "$DIST/stage" && "$napi" artifacts --output-dir "$DIST/build" --npm-dir npm &&
    "$napi" pre-publish -t npm --skip-optional-publish && rm -f ./*.node)
node -e '
    const pkg = require(process.argv[1])
    const want = { [`${pkg.name}-linux-x64-gnu`]: pkg.version }
    if (JSON.stringify(pkg.optionalDependencies) !== JSON.stringify(want)) {
        console.error("optionalDependencies:", pkg.optionalDependencies, "wanted", want)
        process.exit(1)
    }' "$DIST/stage/package.json"
(cd "$DIST/stage" && npm pack --pack-destination "$DIST/tarballs")
(cd "$DIST/stage/npm/linux-x64-gnu" && npm pack --pack-destination "$DIST/tarballs")
ls -l "$DIST/build"/*.node "$DIST/tarballs"
main_tgz=$(ls "$DIST"/tarballs/rtmp-rs-[0-9]*.tgz)
if tar tzf "$main_tgz" | grep -q '\.node$'; then
    echo "the main package must not carry the addon (the platform package does)" >&2
    exit 1
fi
NO_RUST_PATH=$(printf '%s' "$PATH" | tr ':' '\n' |
    while read -r dir; do [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || printf '%s:' "$dir"; done)
NO_RUST_PATH=${NO_RUST_PATH%:}
cp "$ROOT"/examples/node/*.js "$DIST/project/examples/"
(cd "$DIST/project" && PATH=$NO_RUST_PATH bash -c '
    set -euo pipefail
    if command -v cargo || command -v rustc; then echo "the Rust toolchain is still on PATH" >&2; exit 1; fi
    npm init -y >/dev/null
    npm install --offline --no-audit --no-fund "$@"
    node -e "const p = require.resolve(\"rtmp-rs\"); if (!p.startsWith(process.cwd())) process.exit(1); console.log(\"rtmp-rs from\", p)"
' _ "$DIST"/tarballs/*.tgz)
# Every examples test, the examples requiring the installed package (none filtered out: a run
# that skipped some would prove less than it says).
PATH=$NO_RUST_PATH RTMP_RS_NODE_EXAMPLES=$DIST/project/examples \
    node --test __test__/examples.test.mjs 2>&1 | tee "$DIST/examples.log"
grep -qE '^# pass 5$' "$DIST/examples.log" && grep -qE '^# skipped 0$' "$DIST/examples.log" ||
    { echo "the packaged examples tests did not all pass" >&2; exit 1; }
done_step

echo
echo "Node checks took $(($(date +%s) - START)) s ($passed node tests)"
echo "test-node: $passed passed, 0 failed"
