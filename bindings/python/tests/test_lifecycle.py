"""Start/stop, restarts, Ctrl-C and resource use."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rtmp_rs


# The awaitable runtime's pool (1 worker + at most 4 helpers, idle ones exit after 10 s) is
# shared by the process; it is bounded, not per server.
SHARED_POOL = "rtmp-rs-asyncio"
SHARED_POOL_MAX = 5


def thread_names() -> list[str]:
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except FileNotFoundError:
            pass  # exited meanwhile
    return names


def thread_count() -> int:
    """Threads of this process (from /proc/self/task), the shared pool aside."""
    names = thread_names()
    assert names.count(SHARED_POOL) <= SHARED_POOL_MAX
    return len([n for n in names if n != SHARED_POOL])


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def settle(expected: int, timeout: float = 5.0) -> int:
    """Threads of a stopped server's runtime may take a moment to exit."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        count = thread_count()
        if count <= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def cycle(with_client: bool) -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0", stats_interval=None)
    server.start()
    if with_client:
        with rtmp_rs.Publisher(f"{server.url}/live/cam") as publisher:
            publisher.send_video(0, b"\x17\x00\x00\x00\x00\x01")
    server.stop()


def test_start_stop_50_times_leaks_no_threads_or_memory() -> None:
    for _ in range(5):  # warm up: the client runtime, the awaitable runtime, allocator pools
        cycle(with_client=True)
    threads_before = settle(0, timeout=0.5)
    python_threads_before = threading.active_count()
    rss_before = rss_kib()
    started = time.monotonic()
    for i in range(50):
        cycle(with_client=i % 5 == 0)
    elapsed = time.monotonic() - started
    threads_after = settle(threads_before)
    rss_after = rss_kib()
    assert threads_after <= threads_before, (threads_before, threads_after)
    assert threading.active_count() == python_threads_before
    assert rss_after - rss_before < 20 * 1024, f"RSS grew by {rss_after - rss_before} KiB"
    assert elapsed < 30


async def test_serve_and_stop_repeatedly_in_asyncio() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    for _ in range(10):
        task = asyncio.ensure_future(server.serve())
        while not server.is_serving:
            await asyncio.sleep(0.005)
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
        server.close()
        await asyncio.wait_for(task, 10)
        assert not server.is_serving
        with pytest.raises(rtmp_rs.RtmpError):
            await publisher.send_video_async(0, b"\x17\x00\x00\x00\x00")
        await publisher.close_async()


async def test_cancelling_serve_stops_gracefully() -> None:
    events: list[str] = []

    class Record(rtmp_rs.Handler):
        def on_unpublish(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
            events.append(f"unpublish {key}")

        async def on_disconnect(self, session: rtmp_rs.Session, reason: rtmp_rs.DisconnectReason) -> None:
            await asyncio.sleep(0.01)
            events.append(f"disconnect {reason.kind}")

    server = rtmp_rs.Server(Record(), bind="127.0.0.1:0")
    task = asyncio.ensure_future(server.serve())
    while not server.is_serving:
        await asyncio.sleep(0.005)
    publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["unpublish live/cam", "disconnect shutdown"]
    await publisher.close_async()


def test_stop_from_a_hook_and_context_manager() -> None:
    class StopOnPublish(rtmp_rs.Handler):
        def __init__(self) -> None:
            self.server: rtmp_rs.Server | None = None

        def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
            assert self.server is not None
            self.server.stop()  # only asks: it cannot wait for itself
            return True

    handler = StopOnPublish()
    with rtmp_rs.Server(handler, bind="127.0.0.1:0") as server:
        handler.server = server
        try:
            rtmp_rs.Publisher(f"{server.url}/live/cam").close()
        except rtmp_rs.RtmpError:
            pass  # the stop may beat the answer
        deadline = time.monotonic() + 5
        while server.is_serving and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not server.is_serving


def test_a_running_server_can_be_dropped() -> None:
    before = settle(0, timeout=0.2)
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    server.start()
    server.stop()
    server = rtmp_rs.Server(bind="127.0.0.1:0")  # bound, never started
    del server
    assert settle(before) <= before


def test_ctrl_c_stops_the_example_cleanly(python: str, examples: Path) -> None:
    process = subprocess.Popen(
        [python, str(examples / "auth_server.py"), "--bind", "127.0.0.1:0", "--publish-token", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        addr = line.strip().split("rtmp://", 1)[1]
        publisher = rtmp_rs.Publisher(f"rtmp://{addr}/live/cam?token=k")
        player = rtmp_rs.Player(f"rtmp://{addr}/live/cam")
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["connect app=live", "publish live/cam", "connect app=live"]
    assert "play live/cam" in lines and "unpublish live/cam" in lines
    assert lines.count("disconnect") == 2
    assert "Traceback" not in err
    publisher.close()
    player.close()


def test_sigterm_stops_the_example_cleanly(python: str, examples: Path) -> None:
    process = subprocess.Popen(
        [python, str(examples / "auth_server.py"), "--bind", "127.0.0.1:0", "--publish-token", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    addr = process.stderr.readline().strip().split("rtmp://", 1)[1]
    # A connect answered by the handler: the server's loop runs (and handles SIGTERM).
    publisher = rtmp_rs.Publisher(f"rtmp://{addr}/live/cam?token=k")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.splitlines()[-2:] == ["unpublish live/cam", "disconnect"]
    publisher.close()


def test_starting_twice_is_an_error() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(rtmp_rs.InvalidStateError):
            server.start()
    finally:
        server.stop()
    assert not server.is_serving
