#!/usr/bin/env python3
"""An RTMP server that lets only holders of a token publish; playing is open.

    python auth_server.py --bind 127.0.0.1:1935 --publish-token SECRET [--log LEVEL]
    ffmpeg -re -i in.mp4 -c copy -f flv 'rtmp://127.0.0.1:1935/live/cam?token=SECRET'
    ffplay rtmp://127.0.0.1:1935/live/cam

One line per event on stdout: "connect app=live", "publish live/cam", "keyframe live/cam ts=MS",
"unpublish live/cam", "play live/cam", "disconnect". Refusals and the listening address go to
stderr. Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
"""

from __future__ import annotations

import argparse
import logging
import sys

import rtmp_rs


def say(line: str) -> None:
    print(line, flush=True)


class AuthHandler(rtmp_rs.Handler):
    def __init__(self, token: str) -> None:
        self.token = token

    def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
        say(f"connect app={params.app}")
        return True

    def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
        if params.query_param("token") != self.token:
            print(f"refused publish of {params.stream_name.raw}: bad token", file=sys.stderr, flush=True)
            raise rtmp_rs.Reject("Bad publish token.")
        say(f"publish {params.app}/{params.name}")
        return True

    def on_keyframe(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
        say(f"keyframe {frame.app}/{frame.name} ts={frame.timestamp}")

    def on_unpublish(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        say(f"unpublish {key.app}/{key.name}")

    def on_play(self, session: rtmp_rs.Session, params: rtmp_rs.PlayParams) -> bool:
        say(f"play {params.app}/{params.name}")
        return True

    def on_disconnect(self, session: rtmp_rs.Session, reason: rtmp_rs.DisconnectReason) -> None:
        say("disconnect")


def main() -> int:
    parser = argparse.ArgumentParser(description="RTMP server with a publish token")
    parser.add_argument("--bind", required=True, help="address to listen on, IP:PORT")
    parser.add_argument("--publish-token", required=True, help="the token publishers must send")
    parser.add_argument("--log", choices=["error", "warn", "info", "debug"], help="library log level")
    args = parser.parse_args()
    if args.log:
        level = {"warn": "WARNING"}.get(args.log, args.log.upper())
        logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        server = rtmp_rs.Server(AuthHandler(args.publish_token), bind=args.bind)
    except (rtmp_rs.RtmpError, ValueError) as error:
        print(f"auth_server: {error}", file=sys.stderr)
        return 1
    print(f"listening on rtmp://{server.local_addr}", file=sys.stderr, flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
