#!/usr/bin/env bash
# End to end through the C restream example (streams in-process): ffmpeg publishes live/cam to
# it, it re-publishes the video alone as live/cam_video from a subscription (frames passed on
# without copies), and two ffmpeg players decode that: one from the start, one that joins late.
# The source has one keyframe before the late player joins (at 0 s), so it decodes only if the
# local publisher's stream has its GOP cache. Then the source publishes again, and so does restream.
#   e2e_restream.sh BUILD_DIR FFMPEG
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
    for f in restream.out restream.err early.err late.err publish.err; do
        echo "--- $f" >&2; cat "$WORK/$f" >&2 || true
    done
    exit 1
}
wait_for() { # FILE REGEX SECONDS
    for _ in $(seq 1 $(($3 * 10))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# testsrc at 25 fps with one keyframe (-g 250, no scene cuts) and a sine, for SECONDS.
publish() { # URL SECONDS
    "$FFMPEG" -hide_banner -nostdin -loglevel error -re \
        -f lavfi -i "testsrc=size=320x240:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -t "$2" -c:v libx264 -preset ultrafast -tune zerolatency -g 250 -sc_threshold 0 -pix_fmt yuv420p \
        -c:a aac -b:a 64k -f flv "$1"
}
play() { # URL NAME: decodes every frame; the count goes to NAME.progress, stream info to NAME.err
    "$FFMPEG" -hide_banner -nostdin -loglevel info -i "$1" -f null -progress "$WORK/$2.progress" - \
        >/dev/null 2>"$WORK/$2.err"
}
frames() { sed -n 's/^frame=//p' "$WORK/$1.progress" | tail -n 1; }

"$BUILD/restream" --bind 127.0.0.1:0 >"$WORK/restream.out" 2>"$WORK/restream.err" &
SERVER_PID=$!
wait_for "$WORK/restream.err" '^listening on rtmp://' 10 || fail "restream did not start"
ADDR=$(sed -n 's|^listening on rtmp://||p' "$WORK/restream.err")
ok "restream listens on $ADDR"

publish "rtmp://$ADDR/live/cam" 8 2>"$WORK/publish.err" &
PUBLISH_PID=$!
wait_for "$WORK/restream.out" '^published live/cam_video$' 15 || fail "restream did not re-publish"
play "rtmp://$ADDR/live/cam_video" early &
EARLY_PID=$!
# Late: once restream has passed on 100 pictures (4 s), long after the only keyframe.
wait_for "$WORK/restream.out" '^video=(1[0-9][0-9]|[2-9][0-9][0-9]) ' 20 || fail "restream passed on too little"
read -r joined joined_keyframes < <(sed -n 's/^video=\([0-9]*\) keyframes=\([0-9]*\) .*/\1 \2/p' "$WORK/restream.out" | tail -n 1)
[ "$joined_keyframes" -eq 1 ] || fail "more than one keyframe before the late player joined"
play "rtmp://$ADDR/live/cam_video" late &
LATE_PID=$!

wait "$PUBLISH_PID" || fail "ffmpeg publishing failed"
wait_for "$WORK/restream.out" '^unpublished live/cam_video ' 15 || fail "restream did not unpublish the copy"
read -r sent keyframes < <(sed -n 's/^unpublished live\/cam_video video=\([0-9]*\) keyframes=\([0-9]*\)$/\1 \2/p' "$WORK/restream.out")
[ "${sent:-0}" -ge 190 ] || fail "restream passed on $sent pictures"
ok "restream passed on $sent pictures ($keyframes keyframes) of 8 s at 25 fps, then unpublished the copy"

# The players end with the copy's unpublish.
wait "$EARLY_PID" || fail "the early player failed"
wait "$LATE_PID" || fail "the late player failed"
for name in early late; do
    grep -qE 'Stream #0:0.*Video: h264' "$WORK/$name.err" || fail "$name player: no H.264 video stream"
    if grep -qE 'Stream #.*Audio' "$WORK/$name.err"; then fail "$name player: the copy has an audio stream"; fi
done
early=$(frames early)
late=$(frames late)
min=$((sent * 9 / 10))
[ "${early:-0}" -ge 60 ] && [ "${early:-0}" -ge "$min" ] || fail "the early player decoded $early of $sent"
ok "an ffmpeg player of live/cam_video decoded $early of $sent pictures, video only"
[ "${late:-0}" -ge "$min" ] || fail "the late player (joined after $joined pictures) decoded $late of $sent"
# Its first frame is the keyframe at 0 s, which it got from the GOP cache.
grep -qE 'Stream #0:0: Video: .* start 0\.[0-9]+$' "$WORK/late.err" || fail "the late player did not start at 0 s"
ok "an ffmpeg player that joined after $joined pictures (one keyframe, at 0 s) decoded $late of $sent from 0 s: the GOP cache"

# The source comes back: restream re-publishes the copy.
publish "rtmp://$ADDR/live/cam" 3 2>"$WORK/publish.err" || fail "ffmpeg's second publish failed"
wait_for "$WORK/restream.out" '^unpublished live/cam_video .*' 15 || fail "no second unpublish"
[ "$(grep -c '^published live/cam_video$' "$WORK/restream.out")" -eq 2 ] || fail "restream did not re-publish the copy"
[ "$(grep -c '^unpublished live/cam_video ' "$WORK/restream.out")" -eq 2 ] || fail "no second unpublish"
ok "the source published again: restream re-published the copy and unpublished it at the end"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "restream did not exit cleanly"
SERVER_PID=
grep -qE '^restreamed video=[0-9]+ metadata=2$' "$WORK/restream.out" || fail "no final count"
if grep -q panicked "$WORK/restream.err"; then fail "restream reported a Rust panic"; fi
if grep -vE '^(published live/cam_video|unpublished live/cam_video video=[0-9]+ keyframes=[0-9]+|video=[0-9]+ keyframes=[0-9]+ dropped=0|restreamed video=[0-9]+ metadata=2)$' "$WORK/restream.out"; then
    fail "unexpected restream output (above)"
fi
ok "restream: clean exit on SIGTERM, $(tail -n 1 "$WORK/restream.out")"
echo "e2e_restream: $passed passed, 0 failed"
