#!/usr/bin/env python3
"""How many frames a second one stream delivers to a Python loop (``rtmp_rs`` subscriptions).

    python bench/python_subscribe.py [--frames N] [--rounds R]

A local publisher sends N small video frames (a keyframe every 50) in one burst into a stream
whose subscriber has a latency budget and a queue large enough that nothing is dropped; then
the subscriber drains them, timed: with ``for item in sub`` and with ``async for item in sub``.
Then "live": a thread publishes the N frames as fast as it can while the ``for`` loop reads them
(the reader catches up and waits, over and over: the wake-up path, and the two threads share the
GIL). Prints the frames per second of each round and the medians, and the publisher's rate.
Needs the package installed (``maturin develop --release`` in bindings/python for figures worth
quoting: a debug build is several times slower).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import rtmp_rs

AVC_SEQUENCE_HEADER = bytes.fromhex("1700000000" + "0164001fffe1") + b"\x00\x04gd\x00\x1f" + b"\x01\x00\x04h\xee<\x80"


def frame(keyframe: bool, size: int = 100) -> bytes:
    return bytes([0x17 if keyframe else 0x27, 1, 0, 0, 0]) + (size - 9).to_bytes(4, "big") + bytes(size - 9)


def burst(publisher: rtmp_rs.LocalPublisher, count: int, start: int) -> float:
    """Sends ``count`` frames; returns the seconds it took."""
    key, inter = frame(True), frame(False)
    began = time.perf_counter()
    for i in range(count):
        publisher.send_video(start + i, key if i % 50 == 0 else inter)
    return time.perf_counter() - began


def drain_sync(subscription: rtmp_rs.Subscription, count: int) -> float:
    frames = 0
    began = time.perf_counter()
    for item in subscription:
        if isinstance(item, rtmp_rs.Frame) and not item.is_sequence_header:
            frames += 1
            if frames == count:
                break
    return time.perf_counter() - began


async def drain_async(subscription: rtmp_rs.Subscription, count: int) -> float:
    frames = 0
    began = time.perf_counter()
    async for item in subscription:
        if isinstance(item, rtmp_rs.Frame) and not item.is_sequence_header:
            frames += 1
            if frames == count:
                break
    return time.perf_counter() - began


def live(server: rtmp_rs.Server, publisher: rtmp_rs.LocalPublisher, count: int, start: int) -> float:
    """A publisher thread and a reading loop at once; returns the seconds until the last frame
    was read."""
    subscription = server.subscribe("bench/cam", start="live", latency_budget=3600)
    sender = threading.Thread(target=burst, args=(publisher, count, start))
    began = time.perf_counter()
    sender.start()
    drain_sync(subscription, count)
    seconds = time.perf_counter() - began
    sender.join()
    subscription.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description="frames per second from a subscription to a Python loop")
    parser.add_argument("--frames", type=int, default=100_000, help="frames per round (default 100000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each loop (default 5)")
    args = parser.parse_args()
    count = args.frames
    options = {"player_queue_length": min(1 << 20, count + 1024), "stats_interval": None}
    rates: dict[str, list[float]] = {"publish": [], "for": [], "async for": [], "live": []}
    with rtmp_rs.Server(bind="127.0.0.1:0", **options) as server, server.publish("bench/cam") as publisher:
        publisher.send_video(0, AVC_SEQUENCE_HEADER)
        timestamp = 1
        for _ in range(args.rounds):
            for loop in ("for", "async for"):
                # Nothing is dropped: the queue holds the burst and the budget is an hour.
                subscription = server.subscribe("bench/cam", start="live", latency_budget=3600)
                rates["publish"].append(count / burst(publisher, count, timestamp))
                timestamp += count
                if loop == "for":
                    seconds = drain_sync(subscription, count)
                else:
                    seconds = asyncio.run(drain_async(subscription, count))
                subscription.close()
                rates[loop].append(count / seconds)
                print(f"{loop:>9}: {count / seconds:>10,.0f} frames/s", flush=True)
            seconds = live(server, publisher, count, timestamp)
            timestamp += count
            rates["live"].append(count / seconds)
            print(f"{'live':>9}: {count / seconds:>10,.0f} frames/s", flush=True)
    print()
    for name, values in rates.items():
        print(f"{name:>9}: median {statistics.median(values):>10,.0f} frames/s over {len(values)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
