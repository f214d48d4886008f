"""Misuse: calls out of order are clear errors, hooks that never return are bounded, servers
dropped while running stop cleanly. The process stays healthy throughout."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

import rtmp_rs


def test_lifecycle_calls_out_of_order() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    server.stop()  # never started: nothing to do
    server.close()
    server.start()
    try:
        with pytest.raises(rtmp_rs.InvalidStateError):
            server.start()
        with pytest.raises(rtmp_rs.InvalidStateError):
            asyncio.run(server.serve())
        rtmp_rs.Publisher(f"{server.url}/live/cam").close()
    finally:
        server.stop()
    server.stop()  # twice: nothing to do
    assert not server.is_serving
    # Started again after a stop, it serves again.
    with server:
        rtmp_rs.Publisher(f"{server.url}/live/cam").close()
    assert not server.is_serving


class Stuck(rtmp_rs.Handler):
    """Hooks that never return: a decision, and a notification."""

    def __init__(self) -> None:
        self.disconnects = 0

    async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
        await asyncio.Event().wait()
        return True

    async def on_disconnect(self, session: rtmp_rs.Session, reason: rtmp_rs.DisconnectReason) -> None:
        self.disconnects += 1
        await asyncio.Event().wait()


def test_hooks_that_never_return_are_bounded() -> None:
    handler = Stuck()
    server = rtmp_rs.Server(handler, bind="127.0.0.1:0", decision_timeout=0.5)
    server.start()
    try:
        started = time.monotonic()
        with pytest.raises(rtmp_rs.RejectedError):
            rtmp_rs.Publisher(f"{server.url}/live/cam")
        assert time.monotonic() - started < 3
        # While those hooks hang, other connections are served.
        with rtmp_rs.Player(f"{server.url}/live/other", connect_timeout=3):
            pass
    finally:
        started = time.monotonic()
        server.stop()
        # Hung hooks are cancelled after decision_timeout: stop() does not wait for them forever.
        assert time.monotonic() - started < 5
    assert handler.disconnects >= 1
    assert not server.is_serving
    assert [t.name for t in threading.enumerate() if t.name == "rtmp-rs-server"] == []


def run_script(source: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 20, "the process took too long to exit"
    return done


def test_a_started_server_dropped_without_stop_keeps_serving_and_exits_cleanly() -> None:
    done = run_script(
        """
import gc
import rtmp_rs
server = rtmp_rs.Server(bind="127.0.0.1:0")
server.start()
url = server.url
del server
gc.collect()
rtmp_rs.Publisher(url + "/live/cam").close()  # its thread still serves it
print("published", flush=True)
# exits without stop(): the server is stopped on the way out
"""
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["published"]
    assert "Traceback" not in done.stderr


BUSY_AT_EXIT = """
import asyncio
import logging
import threading
import time
import rtmp_rs

logging.basicConfig(level=logging.DEBUG, handlers=[logging.NullHandler()])  # every record crosses
seen = {"tags": 0, "items": 0}

class Count(rtmp_rs.Handler):
    def on_media_tag(self, session, frame):  # runs on a library thread, with the GIL
        seen["tags"] += 1
        return True

server = rtmp_rs.Server(Count(), bind="127.0.0.1:0")
server.start()
url = server.url + "/live/cam"
publisher = rtmp_rs.Publisher(url)

def publish() -> None:
    timestamp = 0
    try:
        while True:
            publisher.send_audio(timestamp, b"\\xaf\\x01" + bytes(200))
            timestamp += 1
    except rtmp_rs.RtmpError:
        pass

async def play() -> None:
    player = await rtmp_rs.Player.connect(url)
    async for _ in player:  # an awaitable pending at every moment
        seen["items"] += 1

threading.Thread(target=publish, daemon=True).start()
threading.Thread(target=lambda: asyncio.run(play()), daemon=True).start()
while seen["items"] < 50:
    time.sleep(0.01)
print("exiting", flush=True)
"""


def test_exiting_while_library_threads_are_in_python_is_clean() -> None:
    # Library threads enter Python for on_media_tag, log records and awaitables' results; the
    # interpreter exits under them (an unstopped server, a daemon thread's loop). Before the exit
    # gate about 1 run in 10 aborted here: repeat to catch it.
    for _ in range(12):
        done = run_script(BUSY_AT_EXIT)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["exiting"]
        assert "Fatal Python error" not in done.stderr


def test_a_serve_task_abandoned_at_loop_exit_stops_the_server() -> None:
    done = run_script(
        """
import asyncio
import rtmp_rs

async def main() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    asyncio.get_running_loop().create_task(server.serve())
    while not server.is_serving:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(lambda: rtmp_rs.Publisher(server.url + "/live/cam").close())
    print("published", flush=True)
    # returns without close(): asyncio.run cancels serve(), which stops the server

asyncio.run(main())
print("exited", flush=True)
"""
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["published", "exited"]
    assert "Traceback" not in done.stderr
    assert "was destroyed but it is pending" not in done.stderr


def test_bad_calls_on_clients_are_errors() -> None:
    with pytest.raises(rtmp_rs.RtmpError):
        rtmp_rs.Publisher("not a url")
    with pytest.raises(rtmp_rs.RtmpError):
        rtmp_rs.Player("rtmp://127.0.0.1:1/live/cam", connect_timeout=1)  # nobody listens
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        publisher = rtmp_rs.Publisher(f"{server.url}/live/cam")
        publisher.close()
        publisher.close()  # twice: nothing to do
        with pytest.raises(rtmp_rs.RtmpError):
            publisher.send_video(0, b"\x17\x01\x00\x00\x00")  # after close
