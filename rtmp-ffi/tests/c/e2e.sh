#!/usr/bin/env bash
# End to end through the C examples: ffmpeg publishes to the C auth_server with a wrong token
# (refused) and the right one (accepted), ffmpeg plays the stream back, the C player counts its
# frames, and the C relay copies it to a second stream that another C player reads.
#   e2e.sh BUILD_DIR FFMPEG
set -euo pipefail
BUILD=$1
FFMPEG=$2
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
passed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() {
    echo "FAIL $*" >&2
    echo "--- auth_server stdout" >&2; cat "$WORK/server.out" >&2 || true
    echo "--- auth_server stderr" >&2; cat "$WORK/server.err" >&2 || true
    exit 1
}
wait_for() { # FILE REGEX SECONDS
    for _ in $(seq 1 $(($3 * 10))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
publish() { # URL SECONDS
    "$FFMPEG" -hide_banner -nostdin -loglevel error -re \
        -f lavfi -i "testsrc=size=320x240:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k \
        -f flv "$1"
}

"$BUILD/auth_server" --bind 127.0.0.1:0 --publish-token s3cret --log warn >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
wait_for "$WORK/server.err" '^listening on rtmp://' 10 || fail "auth_server did not start"
ADDR=$(sed -n 's|^listening on rtmp://||p' "$WORK/server.err")
ok "auth_server listens on $ADDR"

if publish "rtmp://$ADDR/live/cam?token=wrong" 2 2>"$WORK/wrong.err"; then
    fail "ffmpeg published with a wrong token"
fi
grep -q "refused publish of cam?token=wrong" "$WORK/server.err" || fail "no refusal logged for the wrong token"
grep -q "^publish " "$WORK/server.out" && fail "a publish with a wrong token was accepted"
ok "wrong token refused ($(grep -o 'Server error: .*' "$WORK/wrong.err" | head -n 1))"

publish "rtmp://$ADDR/live/cam?token=s3cret" 8 2>"$WORK/publish.err" &
PUBLISH_PID=$!
wait_for "$WORK/server.out" '^publish live/cam$' 15 || fail "the right token was not accepted"
ok "right token accepted"
wait_for "$WORK/server.out" '^keyframe live/cam ts=[0-9]+$' 10 || fail "no keyframe event"

"$FFMPEG" -hide_banner -nostdin -loglevel error -i "rtmp://$ADDR/live/cam" -t 2 -c copy -f flv "$WORK/play.flv" &
PLAY_PID=$!
"$BUILD/player" "rtmp://$ADDR/live/cam" --duration 3 >"$WORK/player.out" 2>"$WORK/player.err" &
PLAYER_PID=$!
"$BUILD/relay" "rtmp://$ADDR/live/cam" "rtmp://$ADDR/live/copy?token=s3cret" --duration 4 >"$WORK/relay.out" 2>"$WORK/relay.err" &
RELAY_PID=$!
wait_for "$WORK/server.out" '^publish live/copy$' 10 || fail "the relay did not publish"
"$BUILD/player" "rtmp://$ADDR/live/copy" --duration 2 >"$WORK/copy.out" 2>"$WORK/copy.err" || fail "player of the relayed stream failed"

wait "$PLAY_PID" || fail "ffmpeg could not play the stream back"
size=$(stat -c %s "$WORK/play.flv")
[ "$size" -gt 20000 ] || fail "ffmpeg played back only $size bytes"
ok "ffmpeg played the stream back ($size bytes of FLV in 2 s)"

wait "$PLAYER_PID" || fail "the C player failed"
read -r video audio keyframes < <(sed -n 's/^video=\([0-9]*\) audio=\([0-9]*\) keyframes=\([0-9]*\)$/\1 \2 \3/p' "$WORK/player.out")
[ "${video:-0}" -ge 50 ] && [ "${audio:-0}" -ge 50 ] && [ "${keyframes:-0}" -ge 2 ] ||
    fail "the C player counted too little: $(cat "$WORK/player.out")"
ok "C player: $(cat "$WORK/player.out") in 3 s"

wait "$RELAY_PID" || fail "the relay failed"
read -r cvideo caudio _ < <(sed -n 's/^video=\([0-9]*\) audio=\([0-9]*\) keyframes=\([0-9]*\)$/\1 \2 \3/p' "$WORK/copy.out")
[ "${cvideo:-0}" -ge 20 ] && [ "${caudio:-0}" -ge 20 ] || fail "relayed stream too thin: $(cat "$WORK/copy.out")"
ok "C relay: $(cat "$WORK/relay.out"); its copy played: $(cat "$WORK/copy.out")"

wait "$PUBLISH_PID" || fail "ffmpeg publishing failed"
wait_for "$WORK/server.out" '^unpublish live/cam$' 10 || fail "no unpublish event"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "auth_server did not exit cleanly"
SERVER_PID=
if grep -l "panicked" "$WORK"/*.err; then
    fail "a C example reported a Rust panic (files above)"
fi
# Every line is one of the documented events.
if grep -vE '^(connect app=live|publish live/(cam|copy)|keyframe live/(cam|copy) ts=[0-9]+|unpublish live/(cam|copy)|play live/(cam|copy)|disconnect)$' "$WORK/server.out"; then
    fail "unexpected auth_server output (above)"
fi
for event in 'connect app=live' 'publish live/cam' 'play live/cam' 'unpublish live/cam' 'disconnect'; do
    grep -qx "$event" "$WORK/server.out" || fail "auth_server never printed '$event'"
done
connects=$(grep -cx 'connect app=live' "$WORK/server.out")
disconnects=$(grep -cx 'disconnect' "$WORK/server.out")
[ "$connects" -eq "$disconnects" ] || fail "$connects connects but $disconnects disconnects"
ok "auth_server events: $connects connects, $(grep -c '^keyframe' "$WORK/server.out") keyframes, $disconnects disconnects; clean exit"
echo "e2e: $passed passed, 0 failed"
