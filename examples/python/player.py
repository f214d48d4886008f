#!/usr/bin/env python3
"""Plays a stream for a while and counts what arrived.

    python player.py rtmp://127.0.0.1:1935/live/cam --duration 5

Ends with "video=N audio=M keyframes=K" on stdout, after the duration or when the stream ends.
"""

from __future__ import annotations

import argparse
import sys
import time

import rtmp_rs


def main() -> int:
    parser = argparse.ArgumentParser(description="count the frames of an RTMP stream")
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to play (default 10)")
    args = parser.parse_args()
    if args.duration <= 0:
        parser.error("--duration must be positive")
    video = audio = keyframes = 0
    try:
        with rtmp_rs.Player(args.url, connect_timeout=5.0) as player:
            deadline = time.monotonic() + args.duration
            while (left := deadline - time.monotonic()) > 0:
                try:
                    item = player.read(timeout=left)
                except rtmp_rs.ClosedError:
                    break
                if item is None:
                    break
                if isinstance(item, rtmp_rs.Frame):
                    if item.kind == "video":
                        video += 1
                        keyframes += item.is_keyframe
                    elif item.kind == "audio":
                        audio += 1
                elif item.kind == "stream_end":
                    break
    except rtmp_rs.RtmpError as error:
        print(f"player: {error}", file=sys.stderr)
        return 1
    print(f"video={video} audio={audio} keyframes={keyframes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
