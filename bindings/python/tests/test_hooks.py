"""Every hook fires with the right data; decisions (sync, async, Reject, exceptions)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

import pytest
from conftest import AAC_SEQUENCE_HEADER, AVC_SEQUENCE_HEADER, aac_frame, avc_frame, ffmpeg_publish

import rtmp_rs


class Recorder(rtmp_rs.Handler):
    """Overrides the 19 hooks of a server without relays (test_relays.py has on_forward,
    on_locate and on_pull) or logins (test_auth.py has on_credentials and on_data), half of
    them async, and records every call."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.media_tags = 0

    def on_connection(self, peer_addr: str) -> bool:
        self.calls["on_connection"].append((peer_addr,))
        return True

    async def on_handshake_complete(self, session: rtmp_rs.Session) -> None:
        self.calls["on_handshake_complete"].append((session,))

    async def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
        await asyncio.sleep(0.01)
        self.calls["on_connect"].append((session, params))
        return True

    def on_fc_publish(self, session: rtmp_rs.Session, name: rtmp_rs.StreamName) -> None:
        self.calls["on_fc_publish"].append((session, name))

    async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
        self.calls["on_publish"].append((session, params))
        return params.query_param("token") == "t0ken"

    async def on_unpublish(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        self.calls["on_unpublish"].append((session, key))

    def on_publish_interrupted(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        self.calls["on_publish_interrupted"].append((session, key))

    async def on_publish_resumed(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey, outage: float) -> None:
        self.calls["on_publish_resumed"].append((session, key, outage))

    def on_play(self, session: rtmp_rs.Session, params: rtmp_rs.PlayParams) -> bool:
        self.calls["on_play"].append((session, params))
        return True

    def on_play_stop(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        self.calls["on_play_stop"].append((session, key))

    async def on_pause(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        self.calls["on_pause"].append((session, key))

    def on_unpause(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey) -> None:
        self.calls["on_unpause"].append((session, key))

    def on_metadata(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey, metadata: dict) -> None:
        self.calls["on_metadata"].append((session, key, metadata))

    def on_media_tag(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> bool:
        # A library thread: count only (lists are appended from the loop thread).
        self.media_tags += 1
        return True

    def on_video_frame(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
        self.calls["on_video_frame"].append((session, frame))

    async def on_audio_frame(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
        self.calls["on_audio_frame"].append((session, frame))

    def on_keyframe(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
        self.calls["on_keyframe"].append((session, frame))

    async def on_disconnect(self, session: rtmp_rs.Session, reason: rtmp_rs.DisconnectReason) -> None:
        self.calls["on_disconnect"].append((session, reason))

    def on_stats(self, stats: rtmp_rs.ServerStats) -> None:
        self.calls["on_stats"].append((stats,))


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_killed_publisher_is_interrupted_then_resumed(ffmpeg: str) -> None:
    handler = Recorder()
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", stats_interval=None) as server:
        url = f"{server.url}/live/cam?token=t0ken"
        first = ffmpeg_publish(ffmpeg, url, 20)
        await wait_for(lambda: handler.calls["on_keyframe"])
        first.kill()  # no unpublish: a network failure as the server sees it
        first.wait()
        await wait_for(lambda: handler.calls["on_publish_interrupted"])
        held = server.stats().streams[0]
        assert (held.publisher_addr, held.interruptions, held.resumptions) == (None, 1, 0)
        second = ffmpeg_publish(ffmpeg, url, 1)
        await wait_for(lambda: handler.calls["on_publish_resumed"])
        stats = server.stats().streams[0]
        assert (stats.interruptions, stats.resumptions) == (1, 1)
        assert await asyncio.to_thread(second.wait, 30) == 0
    calls = handler.calls
    (interrupted, key), (resumed, key2, outage) = calls["on_publish_interrupted"][0], calls["on_publish_resumed"][0]
    assert str(key) == str(key2) == "live/cam" and interrupted.id != resumed.id
    assert 0 < outage < 10
    assert [s.id for s, _ in calls["on_unpublish"]][0] == interrupted.id


async def test_every_hook_fires_with_ffmpeg(ffmpeg: str) -> None:
    handler = Recorder()
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", stats_interval=0.2) as server:
        publisher = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam?token=t0ken", 2.5)
        await wait_for(lambda: handler.calls["on_keyframe"])
        player = await rtmp_rs.Player.connect(f"{server.url}/live/cam?who=me")
        got_video = 0
        async for item in player:
            if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                got_video += 1
                if got_video == 5:
                    break
        await asyncio.to_thread(player.pause, True)
        await wait_for(lambda: handler.calls["on_pause"])
        await asyncio.to_thread(player.pause, False)
        await wait_for(lambda: handler.calls["on_unpause"])
        await player.close_async()
        await wait_for(lambda: handler.calls["on_play_stop"])
        assert await asyncio.to_thread(publisher.wait, 30) == 0
        await wait_for(lambda: handler.calls["on_unpublish"] and len(handler.calls["on_disconnect"]) >= 2)
    port = server.port
    calls = handler.calls
    reconnect = ("on_media_tag", "on_publish_interrupted", "on_publish_resumed")  # the next test's
    relays = ("on_forward", "on_locate", "on_pull")  # test_relays.py
    auth = ("on_credentials", "on_data")  # test_auth.py
    others = reconnect + relays + auth
    missing = [name for name in rtmp_rs._native.hook_names() if name not in others and not calls[name]]
    assert not missing
    assert handler.media_tags > 50

    (peer,) = calls["on_connection"][0]
    assert peer.startswith("127.0.0.1:")
    session, params = calls["on_connect"][0]
    assert session.id > 0 and session.peer_addr.startswith("127.0.0.1:")
    assert session.user is None  # no publish_auth: nobody logs in
    assert params.app == "live" and session.app == "live"
    assert params.tc_url is not None and str(port) in params.tc_url
    assert "flashVer" in params.properties or params.flash_ver is not None
    _, name = calls["on_fc_publish"][0]
    assert name.name == "cam" and name.query == {"token": "t0ken"} and name.raw == "cam?token=t0ken"
    session, pub = calls["on_publish"][0]
    assert (pub.app, pub.name, pub.publish_type) == ("live", "cam", "live")
    assert pub.query_param("token") == "t0ken" and pub.key == rtmp_rs.StreamKey("live", "cam")
    _, key, metadata = calls["on_metadata"][0]
    assert str(key) == "live/cam" and metadata["width"] == 320.0 and metadata["height"] == 240.0
    _, frame = calls["on_video_frame"][0]
    assert frame.kind == "video" and frame.codec == "avc1" and frame.app == "live" and frame.name == "cam"
    assert calls["on_video_frame"][0][1].is_sequence_header
    _, frame = calls["on_audio_frame"][0]
    assert frame.kind == "audio" and frame.codec == "mp4a" and frame.track == 0
    keyframes = [f for _, f in calls["on_keyframe"]]
    assert all(f.is_keyframe and not f.is_sequence_header for f in keyframes)
    assert [f.timestamp // 1000 for f in keyframes[:2]] == [0, 1]
    _, play = calls["on_play"][0]
    assert (play.app, play.name, play.query_param("who")) == ("live", "cam", "me")
    assert [str(k) for _, k in calls["on_pause"] + calls["on_unpause"] + calls["on_play_stop"]] == ["live/cam"] * 3
    assert [str(k) for _, k in calls["on_unpublish"]] == ["live/cam"]
    reasons = {r.kind for _, r in calls["on_disconnect"]}
    assert reasons <= {"client_closed", "io", "shutdown"}
    stats = [s for (s,) in calls["on_stats"]]
    assert isinstance(stats[0], rtmp_rs.ServerStats) and any(s.total_connections >= 1 for s in stats)
    live = [st for s in stats for st in s.streams if st.publisher_addr]
    assert live and live[0].key == rtmp_rs.StreamKey("live", "cam")
    assert any(st.width == 320 and st.height == 240 and st.video_codec for st in live)


async def test_sync_and_async_decisions_with_reject_reasons() -> None:
    class Decide(rtmp_rs.Handler):
        def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
            return params.app != "closed"

        async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
            await asyncio.sleep(0.05)
            if params.query_param("token") != "good":
                raise rtmp_rs.Reject("Bad token.")
            return True

        async def on_play(self, session: rtmp_rs.Session, params: rtmp_rs.PlayParams) -> bool:
            return params.name != "secret"

    async with rtmp_rs.Server(Decide(), bind="127.0.0.1:0") as server:
        with pytest.raises(rtmp_rs.RejectedError) as refused:
            await rtmp_rs.Publisher.connect(f"{server.url}/closed/cam")
        assert refused.value.code == "NetConnection.Connect.Rejected"  # type: ignore[attr-defined]
        with pytest.raises(rtmp_rs.RejectedError) as refused:
            await rtmp_rs.Publisher.connect(f"{server.url}/live/cam?token=bad")
        assert refused.value.code == "NetStream.Publish.Denied"  # type: ignore[attr-defined]
        assert refused.value.description == "Bad token."  # type: ignore[attr-defined]
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam?token=good")
        with pytest.raises(rtmp_rs.RejectedError):
            await rtmp_rs.Player.connect(f"{server.url}/live/secret")
        player = await rtmp_rs.Player.connect(f"{server.url}/live/cam")
        await player.close_async()
        await publisher.close_async()


async def test_a_play_accepted_with_its_own_latency_budget() -> None:
    class Budgets(rtmp_rs.Handler):
        def on_play(self, session: rtmp_rs.Session, params: rtmp_rs.PlayParams) -> rtmp_rs.Accept:
            return rtmp_rs.Accept(latency_budget=None if params.query_param("budget") == "none" else 0.5)

    with pytest.raises(ValueError, match="latency_budget"):
        rtmp_rs.Accept(latency_budget=-1.0)
    async with rtmp_rs.Server(Budgets(), bind="127.0.0.1:0") as server:
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
        for query in ("", "?budget=none"):
            player = await rtmp_rs.Player.connect(f"{server.url}/live/cam{query}")
            await player.close_async()
        await publisher.close_async()


async def test_a_hook_that_raises_is_logged_and_rejects(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(rtmp_rs.Handler):
        def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
            if params.app == "boom":
                raise ValueError("database down")
            return True

        async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
            if params.name == "boom":
                raise KeyError("async boom")
            return True

        def on_video_frame(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
            raise RuntimeError("notification boom")

        def on_media_tag(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> bool:
            if frame.timestamp == 666:
                raise RuntimeError("filter boom")
            return True

    caplog.set_level(logging.ERROR, logger="rtmp_rs")
    async with rtmp_rs.Server(Broken(), bind="127.0.0.1:0") as server:
        with pytest.raises(rtmp_rs.RejectedError):
            await rtmp_rs.Publisher.connect(f"{server.url}/boom/cam")
        with pytest.raises(rtmp_rs.RejectedError):
            await rtmp_rs.Publisher.connect(f"{server.url}/live/boom")
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
        player = await rtmp_rs.Player.connect(f"{server.url}/live/cam")
        await publisher.send_video_async(0, AVC_SEQUENCE_HEADER)
        await publisher.send_video_async(666, avc_frame(True, 1))
        await publisher.send_video_async(700, avc_frame(True, 2))
        timestamps = []
        async for item in player:
            if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                timestamps.append(item.timestamp)
                if item.timestamp == 700:
                    break
        assert 666 in timestamps  # the filter raised: the message was kept (the event policy)
        await player.close_async()
        await publisher.close_async()
        assert server.is_serving
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "hook on_connect raised" in messages and "hook on_publish raised" in messages
    assert "hook on_video_frame raised" in messages and "hook on_media_tag raised" in messages
    assert any(r.exc_info and "database down" in str(r.exc_info[1]) for r in caplog.records)


async def test_a_slow_async_decision_does_not_block_other_connections() -> None:
    release = asyncio.Event()

    class Slow(rtmp_rs.Handler):
        async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
            if params.name == "slow":
                await release.wait()
            return True

    async with rtmp_rs.Server(Slow(), bind="127.0.0.1:0") as server:
        slow = asyncio.ensure_future(rtmp_rs.Publisher.connect(f"{server.url}/live/slow"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        fast = await rtmp_rs.Publisher.connect(f"{server.url}/live/fast")
        fast_player = await rtmp_rs.Player.connect(f"{server.url}/live/fast")
        elapsed = time.monotonic() - started
        assert not slow.done()
        assert elapsed < 1.0
        release.set()
        slow_publisher = await asyncio.wait_for(slow, 5)
        for client in (fast, fast_player, slow_publisher):
            await client.close_async()


async def test_blocking_plain_decisions_run_side_by_side() -> None:
    """A plain ``def on_play`` that blocks 0.5 s (a database call) runs on the hook pool: 20
    plays at once are all answered in about 0.5 s, not one after the other (10 s)."""

    class Blocking(rtmp_rs.Handler):
        def on_play(self, session: rtmp_rs.Session, params: rtmp_rs.PlayParams) -> bool:
            time.sleep(0.5)
            return params.name == "cam"

    async with rtmp_rs.Server(Blocking(), bind="127.0.0.1:0") as server:
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
        started = time.monotonic()

        async def play() -> float:
            player = await rtmp_rs.Player.connect(f"{server.url}/live/cam")
            answered = time.monotonic() - started
            await player.close_async()
            return answered

        answered = sorted(await asyncio.gather(*(play() for _ in range(20))))
        with pytest.raises(rtmp_rs.RejectedError):
            await rtmp_rs.Player.connect(f"{server.url}/live/other")
        await publisher.close_async()
    print(f"20 blocking plays answered: p50 {answered[10]:.2f} s, max {answered[-1]:.2f} s")
    assert answered[0] >= 0.5
    assert answered[-1] < 1.5, answered


def test_decisions_on_the_server_thread() -> None:
    """start()/stop(): hooks run on the server's thread; blocking clients from this one."""
    import threading

    seen: list[str] = []

    class Threaded(rtmp_rs.Handler):
        async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
            await asyncio.sleep(0.01)
            seen.append(threading.current_thread().name)
            return params.name != "no"

    server = rtmp_rs.Server(Threaded(), bind="127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(rtmp_rs.RejectedError):
            rtmp_rs.Publisher(f"{server.url}/live/no")
        with rtmp_rs.Publisher(f"{server.url}/live/yes") as publisher:
            publisher.send_video(0, AVC_SEQUENCE_HEADER)
            publisher.send_audio(0, AAC_SEQUENCE_HEADER)
            publisher.send_audio(10, aac_frame(3))
    finally:
        server.stop()
    assert seen == ["rtmp-rs-server", "rtmp-rs-server"]
    assert not server.is_serving
