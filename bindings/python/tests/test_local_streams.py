"""Streams in-process (issue 21): ``Server.subscribe`` (a player of kind local, read by a ``for``
or ``async for`` loop), ``Server.publish`` (a ``LocalPublisher``), ``Server.streams()``, against
the real ffmpeg as publisher and as player."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
from pathlib import Path
from typing import Union

import pytest
from conftest import (
    AAC_SEQUENCE_HEADER,
    AVC_SEQUENCE_HEADER,
    aac_frame,
    avc_frame,
    ffmpeg_play,
    ffmpeg_publish,
    played,
)
from test_lifecycle import rss_kib, settle, thread_count
from test_media import address
from test_misuse import run_script

import rtmp_rs

Item = Union[rtmp_rs.Frame, rtmp_rs.StreamEvent]

# ffmpeg_publish's fixture: testsrc at 25 fps (a keyframe a second), AAC at 44.1 kHz.
FPS = 25
AAC_FRAME_SECONDS = 1024 / 44100


def within(count: int, expected: float, share: float = 0.02) -> bool:
    return abs(count - expected) <= expected * share


def coded_video(items: list[Item]) -> list[rtmp_rs.Frame]:
    """The video frames with a picture (no sequence headers)."""
    return [i for i in items if isinstance(i, rtmp_rs.Frame) and i.kind == "video" and not i.is_sequence_header]


def first_video(items: list[Item]) -> list[rtmp_rs.Frame]:
    return [i for i in items if isinstance(i, rtmp_rs.Frame) and i.kind == "video"]


def wait_for(condition: object, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def local_players(server: rtmp_rs.Server, key: str) -> list[rtmp_rs.PlayerStats]:
    for stream in server.stats().streams:
        if str(stream.key) == key:
            return [p for p in stream.players if p.kind == "local"]
    return []


def read_until_unpublished(subscription: rtmp_rs.Subscription, timeout: float = 60.0) -> list[Item]:
    items: list[Item] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = subscription.next(timeout=1.0)
        if item is None:
            continue
        items.append(item)
        if isinstance(item, rtmp_rs.StreamEvent) and item.kind == "unpublished":
            return items
    raise AssertionError("the stream was not unpublished in time")


# ----------------------------------------------------------------------------- subscriptions


async def test_a_subscription_gets_what_ffmpeg_sent(ffmpeg: str) -> None:
    """Subscribed before ffmpeg publishes (``wait``), from the GOP: every frame of a 6 s stream,
    as many as a network player gets, the sequence header first, then a keyframe."""
    seconds = 6
    async with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        pending = asyncio.get_running_loop().create_task(server.subscribe_async("live/cam", wait=30))
        await asyncio.to_thread(wait_for, lambda: local_players(server, "live/cam"), 10, "the waiting subscription")
        await asyncio.sleep(0.3)
        # It waits for the stream without blocking this loop, which starts the publisher.
        assert not pending.done()
        player = await rtmp_rs.Player.connect(f"{server.url}/live/cam")
        publisher = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", seconds)
        subscription = await asyncio.wait_for(pending, 30)
        assert str(subscription.key) == "live/cam" and not subscription.closed

        async def read_subscription() -> list[Item]:
            items: list[Item] = []
            async for item in subscription:
                items.append(item)
                if isinstance(item, rtmp_rs.StreamEvent) and item.kind == "unpublished":
                    break
            return items

        async def read_player() -> list[rtmp_rs.Frame]:
            frames: list[rtmp_rs.Frame] = []
            async for item in player:
                if isinstance(item, rtmp_rs.Frame):
                    frames.append(item)
                elif item.kind == "stream_end" or (item.kind == "status" and "Unpublish" in item.code):
                    break
            return frames

        items, player_frames = await asyncio.wait_for(asyncio.gather(read_subscription(), read_player()), 60)
        assert await asyncio.to_thread(publisher.wait, 30) == 0
        await player.close_async()
        subscription.close()

    frames = [i for i in items if isinstance(i, rtmp_rs.Frame)]
    video = coded_video(items)
    audio = [f for f in frames if f.kind == "audio" and not f.is_sequence_header]
    player_video = [f for f in player_frames if f.kind == "video" and not f.is_sequence_header]
    player_audio = [f for f in player_frames if f.kind == "audio" and not f.is_sequence_header]
    # ffmpeg sent seconds x 25 pictures; a network player of the same stream agrees.
    assert within(len(video), seconds * FPS), len(video)
    assert within(len(video), len(player_video)), (len(video), len(player_video))
    assert within(len(audio), seconds / AAC_FRAME_SECONDS), len(audio)
    assert within(len(audio), len(player_audio)), (len(audio), len(player_audio))
    # From the GOP: the decoder configuration first, then a keyframe.
    videos = first_video(items)
    assert videos[0].is_sequence_header and videos[0].codec == "avc1"
    assert videos[1].is_keyframe
    assert [f for f in frames if f.kind == "audio"][0].is_sequence_header
    assert all(f.key == rtmp_rs.StreamKey("live", "cam") and f.app == "live" and f.name == "cam" for f in frames)
    assert sum(f.is_keyframe for f in video) >= seconds - 1
    # Nothing was dropped for a reader that keeps up.
    assert not [i for i in items if isinstance(i, rtmp_rs.StreamEvent) and i.kind == "dropped"]


def test_start_options_gop_keyframe_live(ffmpeg: str) -> None:
    """Mid-stream: "gop" starts at the cached keyframe (in the past), "keyframe" at the next one,
    "live" with whatever comes next (an inter frame, unless it lands on a keyframe); each after the
    sequence header."""
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        publisher = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 12)
        try:
            watcher = server.subscribe("live/cam", wait=30)
            # Two seconds in: the GOP cache holds a keyframe and some inter frames after it.
            deadline = time.monotonic() + 20
            latest = 0
            while latest < 2000:
                assert time.monotonic() < deadline, "ffmpeg did not publish 2 s"
                item = watcher.next(timeout=1)
                if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                    latest = item.timestamp
            subscriptions: dict[str, list[rtmp_rs.Subscription]] = {"gop": [], "keyframe": [], "live": []}
            for _ in range(4):
                for start in ("gop", "keyframe", "live"):
                    # A budget that keeps them from dropping while they wait to be read.
                    sub = server.subscribe("live/cam", start=start, latency_budget=60)
                    subscriptions[start].append(sub)
                time.sleep(0.37)  # another phase of the GOP
            time.sleep(1.5)  # each has a keyframe by now
            firsts: dict[str, list[tuple[rtmp_rs.Frame, rtmp_rs.Frame]]] = {}
            for start, subs in subscriptions.items():
                for sub in subs:
                    items: list[Item] = []
                    while (item := sub.next(timeout=0)) is not None:
                        items.append(item)
                    sub.close()
                    videos = first_video(items)
                    assert videos and videos[0].is_sequence_header, (start, videos[:2])
                    assert len(videos) >= 2, (start, items[:12], len(items))
                    firsts.setdefault(start, []).append((videos[1], coded_video(items)[-1]))
            watcher.close()
        finally:
            publisher.kill()
            publisher.wait()
    for (gop_first, _), (key_first, _) in zip(firsts["gop"], firsts["keyframe"]):
        # The cached keyframe came before the subscription, the next one after it.
        assert gop_first.is_keyframe and key_first.is_keyframe
        assert gop_first.timestamp < key_first.timestamp <= gop_first.timestamp + 1000 + 100
    # Subscribed at four phases of a 25-frame GOP: "live" started with an inter frame at least once.
    live_firsts = [first for first, _ in firsts["live"]]
    assert any(not f.is_keyframe for f in live_firsts), live_firsts
    for (live_first, _), (key_first, _) in zip(firsts["live"], firsts["keyframe"]):
        assert live_first.timestamp <= key_first.timestamp


def test_a_subscriber_that_reads_nothing_for_5_s_loses_video_not_audio(ffmpeg: str) -> None:
    """Its video is dropped (resuming at a keyframe), its audio kept; the drops are in the stats
    (a player of kind local) and in a "dropped" event; a network player decodes at full rate."""
    with rtmp_rs.Server(bind="127.0.0.1:0", player_latency_budget=1.0) as server:
        publisher = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 12)
        try:
            stalled = server.subscribe("live/cam", wait=30)
            viewer = ffmpeg_play(ffmpeg, f"{server.url}/live/cam", 9)
            time.sleep(5.0)  # reads nothing
            (stats,) = local_players(server, "live/cam")
            assert stats.kind == "local" and stats.peer_addr == "0.0.0.0:0"
            assert stats.dropped_video > 0 and stats.dropped_audio == 0, stats
            items: list[Item] = []
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                item = stalled.next(timeout=0.5)
                if item is not None:
                    items.append(item)
            stalled.close()
            viewer_video, viewer_audio, viewer_err = played(viewer, 40)
        finally:
            publisher.kill()
            publisher.wait()
    dropped = [i for i in items if isinstance(i, rtmp_rs.StreamEvent) and i.kind == "dropped"]
    assert dropped and sum(d.video for d in dropped) > 0 and sum(d.audio for d in dropped) == 0, dropped
    # Audio went on without a gap (AAC frames are 23 ms apart).
    audio = [i.timestamp for i in items if isinstance(i, rtmp_rs.Frame) and i.kind == "audio" and not i.is_sequence_header]
    assert len(audio) > 5 / AAC_FRAME_SECONDS * 0.9, len(audio)
    assert max(b - a for a, b in zip(audio, audio[1:])) <= 50
    # Video resumed at a keyframe.
    after_drop = coded_video(items[items.index(dropped[0]) :])
    assert after_drop and after_drop[0].is_keyframe
    # The network player of the same stream missed nothing: 9 s at 25 fps.
    assert viewer_video >= 9 * FPS * 0.95, (viewer_video, viewer_err)
    assert viewer_audio >= 9 / AAC_FRAME_SECONDS * 0.95, (viewer_audio, viewer_err)


def test_payloads_are_shared_not_copied() -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0") as server, server.publish("live/zc") as publisher:
        one = server.subscribe("live/zc")
        two = server.subscribe("live/zc", start="live")
        sent = avc_frame(True, 0x5A, size=4096, cts=40)
        publisher.send_video(0, AVC_SEQUENCE_HEADER)
        publisher.send_video(40, sent)
        a = [f for f in iter(lambda: one.next(timeout=1), None) if isinstance(f, rtmp_rs.Frame) and f.is_keyframe]
        b = [f for f in iter(lambda: two.next(timeout=1), None) if isinstance(f, rtmp_rs.Frame) and f.is_keyframe]
        assert len(a) == len(b) == 1
        view = a[0].payload
        assert isinstance(view, memoryview) and view.readonly and bytes(view) == sent
        assert a[0].composition_time == 40 and a[0].codec == "avc1" and bytes(a[0].body) == sent[5:]
        # One copy of the bytes for both subscribers.
        assert address(view) == address(b[0].payload)
        # Re-published with send_frame: still the same memory.
        with server.publish("live/relay") as relay:
            third = server.subscribe("live/relay", start="live")
            relay.send_frame(a[0])
            (c,) = [f for f in iter(lambda: third.next(timeout=1), None) if isinstance(f, rtmp_rs.Frame)]
            assert address(c.payload) == address(view) and c.key == rtmp_rs.StreamKey("live", "relay")


# ----------------------------------------------------------------------------- local publisher


def relay(server: rtmp_rs.Server, source: str, target: str, sent_at: list[float]) -> threading.Thread:
    """A thread that re-publishes every frame of ``source`` as ``target`` (send_frame) until the
    source is unpublished; ``sent_at`` gets the wall-clock time of each coded video frame."""
    subscription = server.subscribe(source, wait=30)

    def run() -> None:
        with subscription, server.publish(target) as publisher:
            for item in subscription:
                if isinstance(item, rtmp_rs.Frame):
                    publisher.send_frame(item)
                    if item.kind == "video" and not item.is_sequence_header:
                        sent_at.append(time.monotonic())
                elif item.kind == "unpublished":
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_local_publisher_is_decoded_by_ffmpeg_players_including_a_late_joiner(ffmpeg: str) -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        source = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 10)
        try:
            sent_at: list[float] = []
            relaying = relay(server, "live/cam", "live/out", sent_at)
            early = ffmpeg_play(ffmpeg, f"{server.url}/live/out", 30)
            wait_for(lambda: len(sent_at) >= 4 * FPS, 30, "4 s of relayed video")
            late = ffmpeg_play(ffmpeg, f"{server.url}/live/out", 30)

            def rtmp_players() -> int:
                streams = {str(s.key): s for s in server.streams()}
                return streams["live/out"].players if "live/out" in streams else 0

            wait_for(lambda: rtmp_players() == 2, 20, "the late joiner")
            joined = time.monotonic()  # it plays: every frame from here on reaches it, and the GOP before
            assert source.wait(timeout=60) == 0
            relaying.join(timeout=30)
            assert not relaying.is_alive()
            # The local publisher closed: its players get UnpublishNotify and end.
            early_video, early_audio, early_err = played(early, 30)
            late_video, late_audio, late_err = played(late, 30)
        finally:
            source.kill()
            source.wait()
    sent = len(sent_at)
    assert within(sent, 10 * FPS), sent
    assert early_video >= 0.9 * sent, (early_video, sent, early_err)
    assert early_audio > 0.9 * 10 / AAC_FRAME_SECONDS, (early_audio, early_err)
    # The late joiner got the cached GOP (from the keyframe before it joined), then the rest:
    # from the next keyframe on, it would miss up to a second of what was sent after it joined.
    after_join = len([t for t in sent_at if t >= joined])
    assert late_video >= 0.9 * after_join, (late_video, after_join, late_err)
    assert late_video >= after_join - 2, "the late joiner did not get the cached GOP"


def test_a_local_publisher_from_python_bytes_and_metadata(ffmpeg: str, flv_file: Path) -> None:
    """An FLV file's tags sent from Python (send_metadata/send_video/send_audio at real-time
    pace): an ffmpeg player decodes them; a subscription sees the metadata dict."""
    data = flv_file.read_bytes()
    tags: list[tuple[int, int, bytes]] = []
    offset = 9 + 4  # header, PreviousTagSize0
    while offset + 11 <= len(data):
        kind, size = data[offset], int.from_bytes(data[offset + 1 : offset + 4], "big")
        timestamp = int.from_bytes(data[offset + 4 : offset + 7], "big") | data[offset + 7] << 24
        tags.append((kind, timestamp, data[offset + 11 : offset + 11 + size]))
        offset += 11 + size + 4
    video = [t for t in tags if t[0] == 9]
    with rtmp_rs.Server(bind="127.0.0.1:0") as server, server.publish("live/file") as publisher:
        watcher = server.subscribe("live/file", start="live")
        player = ffmpeg_play(ffmpeg, f"{server.url}/live/file", 30)
        time.sleep(1.0)  # the player is connected and waits
        publisher.send_metadata({"width": 320, "height": 240, "framerate": 25, "encoder": "pytest"})
        started = time.monotonic()
        for kind, timestamp, body in tags:
            time.sleep(max(0.0, started + timestamp / 1000 - time.monotonic()))
            if kind == 9:
                publisher.send_video(timestamp, body)
            elif kind == 8:
                publisher.send_audio(timestamp, body)
        time.sleep(0.5)
        publisher.close()
        decoded, _, err = played(player, 30)
        items = list(iter(lambda: watcher.next(timeout=0.5), None))
    sent = len([t for t in video if t[2][1] == 1])
    assert decoded >= 0.9 * sent, (decoded, sent, err)
    metadata = [i for i in items if isinstance(i, rtmp_rs.Frame) and i.kind == "metadata"]
    assert metadata and metadata[0].metadata == {"width": 320.0, "height": 240.0, "framerate": 25.0, "encoder": "pytest"}
    assert isinstance(items[-1], rtmp_rs.StreamEvent) and items[-1].kind == "unpublished"


def test_takeover_both_ways_with_take_over(ffmpeg: str) -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0", publisher_policy="take_over") as server:
        # 1. An RTMP publisher, then a local one takes the stream over.
        rtmp = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 30)
        try:
            subscription = server.subscribe("live/cam", wait=30, start="live")
            assert [s.publisher_kind for s in server.streams()] == ["rtmp"]
            local = server.publish("live/cam")
            assert local.is_publishing
            assert [s.publisher_kind for s in server.streams()] == ["local"]
            # ffmpeg was kicked: it ends (its publish is over, whatever status it chose).
            rtmp.wait(timeout=15)
            local.send_video(0, AVC_SEQUENCE_HEADER)
            local.send_video(0, avc_frame(True, 1))
            items = list(iter(lambda: subscription.next(timeout=1), None))
            frames = [i for i in items if isinstance(i, rtmp_rs.Frame)]
            assert frames and bytes(frames[-1].payload) == avc_frame(True, 1)
        finally:
            rtmp.kill()
            rtmp.wait()
        # 2. The local publisher holds the stream; an RTMP publisher takes it over.
        rtmp = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 30)
        try:
            wait_for(lambda: [s.publisher_kind for s in server.streams()] == ["rtmp"], 20, "the RTMP takeover")
            assert not local.is_publishing and not local.closed
            with pytest.raises(rtmp_rs.ClosedError, match="took the stream over"):
                local.send_video(40, avc_frame(False, 2))
            # The subscription follows the new publisher.
            deadline = time.monotonic() + 10
            got_rtmp_video = False
            while not got_rtmp_video and time.monotonic() < deadline:
                item = subscription.next(timeout=1)
                got_rtmp_video = isinstance(item, rtmp_rs.Frame) and item.kind == "video" and item.codec == "avc1" and len(item) > 100
            assert got_rtmp_video
            local.close()  # closing a publisher that lost its stream leaves the new one alone
            assert [s.publisher_kind for s in server.streams()] == ["rtmp"]
            subscription.close()
        finally:
            rtmp.kill()
            rtmp.wait()


def test_reject_new_both_ways(ffmpeg: str) -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        rtmp = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 30)
        try:
            server.subscribe("live/cam", wait=30).close()
            with pytest.raises(rtmp_rs.RejectedError, match="already published") as refused:
                server.publish("live/cam")
            assert refused.value.code == "NetStream.Publish.BadName"  # what an RTMP publisher gets
        finally:
            rtmp.kill()
            rtmp.wait()
        wait_for(lambda: not server.streams(), 10, "the stream to go")
        with server.publish("live/cam") as local:
            local.send_video(0, AVC_SEQUENCE_HEADER)
            second = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 5)
            assert second.wait(timeout=30) != 0, "ffmpeg published over a local publisher"
            assert local.is_publishing
            local.send_video(0, avc_frame(True, 1))


# ----------------------------------------------------------------------------- streams, stats


def test_streams_and_stats_show_local_publishers_and_subscribers(ffmpeg: str) -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        assert server.streams() == []
        rtmp = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 30)
        try:
            on_cam = server.subscribe("live/cam", wait=30)
            with server.publish("live/out") as local, rtmp_rs.Player(f"{server.url}/live/cam") as player:
                # ffmpeg's decoder configurations, re-published.
                headers: dict[str, rtmp_rs.Frame] = {}
                while len(headers) < 2:
                    item = on_cam.next(timeout=10)
                    if isinstance(item, rtmp_rs.Frame) and item.is_sequence_header:
                        headers[item.kind] = item
                local.send_frame(headers["video"])
                local.send_frame(headers["audio"])
                on_out = server.subscribe("live/out")
                on_out_too = server.subscribe("live/out", start="keyframe")
                wait_for(lambda: player.read(timeout=1) is not None and server.streams()[0].video_codec is not None)
                cam, out = server.streams()
                assert isinstance(cam, rtmp_rs.StreamInfo)
                assert cam.key == rtmp_rs.StreamKey("live", "cam") and out.key == rtmp_rs.StreamKey("live", "out")
                assert (cam.publisher_kind, cam.players, cam.subscribers) == ("rtmp", 1, 1)
                assert (out.publisher_kind, out.players, out.subscribers) == ("local", 0, 2)
                assert cam.video_codec and cam.video_codec.startswith("avc1.") and cam.audio_codec == "mp4a.40.2"
                assert (out.video_codec, out.audio_codec) == (cam.video_codec, cam.audio_codec)
                assert "publisher_kind='rtmp'" in repr(cam).replace('"', "'")
                stats = {str(s.key): s for s in server.stats().streams}
                assert stats["live/cam"].publisher_kind == "rtmp" and stats["live/out"].publisher_kind == "local"
                assert stats["live/out"].publisher_addr == "0.0.0.0:0"
                assert sorted(p.kind for p in stats["live/cam"].players) == ["local", "rtmp"]
                assert [p.kind for p in stats["live/out"].players] == ["local", "local"]
                on_out.close()
                on_out_too.close()
                assert server.streams()[1].subscribers == 0
            on_cam.close()
            # live/out is gone with its local publisher; live/cam has nobody left but ffmpeg.
            wait_for(lambda: len(server.streams()) == 1 and server.streams()[0].players == 0, 10, "the player to go")
            (cam,) = server.streams()
            assert cam.key == rtmp_rs.StreamKey("live", "cam") and (cam.players, cam.subscribers) == (0, 0)
        finally:
            rtmp.kill()
            rtmp.wait()


# ----------------------------------------------------------------------------- misuse


def test_misuse_is_a_clear_error() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    # Not serving.
    with pytest.raises(rtmp_rs.InvalidStateError, match="not serving"):
        server.subscribe("live/cam")
    with pytest.raises(rtmp_rs.InvalidStateError, match="not serving"):
        server.publish("live/cam")
    with server:
        # Bad keys.
        for bad in ("cam", "/cam", "live/", ""):
            with pytest.raises(ValueError, match="app/name"):
                server.subscribe(bad)
            with pytest.raises(ValueError, match="app/name"):
                server.publish(bad)
        # Bad options.
        with pytest.raises(ValueError, match="start"):
            server.subscribe("live/cam", start="middle")  # type: ignore[arg-type]
        for option in ("wait", "latency_budget"):
            with pytest.raises(ValueError, match=option):
                server.subscribe("live/cam", **{option: -1.0})  # type: ignore[arg-type]
        # Nothing published: not found, at once or after the wait.
        with pytest.raises(rtmp_rs.StreamNotFoundError, match="live/cam"):
            server.subscribe("live/cam")
        started = time.monotonic()
        with pytest.raises(rtmp_rs.StreamNotFoundError):
            server.subscribe("live/cam", wait=0.3)
        assert 0.25 < time.monotonic() - started < 3
        assert issubclass(rtmp_rs.StreamNotFoundError, rtmp_rs.RtmpError)

        # wait=math.inf (or a wait past what a clock holds) lasts until the stream is published.
        for forever in (math.inf, 1e19):
            publishers: list[rtmp_rs.LocalPublisher] = []
            later = threading.Timer(0.3, lambda: publishers.append(server.publish("live/later")))
            later.start()
            with server.subscribe("live/later", wait=forever) as waited:
                assert waited.key == rtmp_rs.StreamKey("live", "later")
            later.join()
            publishers[0].close()

        publisher = server.publish("live/cam")
        subscription = server.subscribe("live/cam")
        # Bad payloads are refused; the stream's players never see them.
        with pytest.raises(ValueError, match="video"):
            publisher.send_video(0, b"")
        with pytest.raises(ValueError, match="audio"):
            publisher.send_audio(0, b"\xaf")
        with pytest.raises(ValueError, match="AMF0"):
            publisher.send_data(0, b"garbage")
        with pytest.raises(ValueError, match="tag type"):
            publisher.send_tag(7, 0, b"")
        with pytest.raises(TypeError):
            publisher.send_metadata({"bad": object()})
        with pytest.raises(TypeError):
            publisher.send_video(0, 42)  # type: ignore[arg-type]
        publisher.send_video(5000, avc_frame(True, 1))
        with pytest.raises(ValueError, match="goes back"):
            publisher.send_video(1000, avc_frame(False, 2))
        publisher.send_video(4500, avc_frame(False, 3))  # a small step back is interleaving: fine
        items = list(iter(lambda: subscription.next(timeout=0.3), None))
        assert [i.timestamp for i in items if isinstance(i, rtmp_rs.Frame)] == [5000, 4500]

        # A closed publisher: ClosedError; closing is idempotent.
        publisher.close()
        publisher.close()
        assert publisher.closed and not publisher.is_publishing
        with pytest.raises(rtmp_rs.ClosedError, match="closed"):
            publisher.send_audio(6000, aac_frame(1))
        with pytest.raises(rtmp_rs.ClosedError):
            publisher.send_metadata({})
        event = subscription.next(timeout=5)
        assert isinstance(event, rtmp_rs.StreamEvent) and event.kind == "unpublished"
        assert (event.video, event.audio) == (0, 0) and "unpublished" in repr(event)

        # A closed subscription: iteration ends, next() raises.
        subscription.close()
        subscription.close()
        assert subscription.closed and list(subscription) == []
        with pytest.raises(rtmp_rs.ClosedError, match="closed"):
            subscription.next()
        with pytest.raises(rtmp_rs.ClosedError):
            subscription.next(timeout=0)

        async def drain() -> list[Item]:
            return [item async for item in subscription]

        assert asyncio.run(drain()) == []
        with server.publish("live/t"), server.subscribe("live/t") as sub:
            with pytest.raises(ValueError, match="timeout"):
                sub.next(timeout=-1)
        assert server.streams() == []
    # The server stopped: no more streams in-process.
    with pytest.raises(rtmp_rs.InvalidStateError):
        server.subscribe("live/cam")
    with pytest.raises(rtmp_rs.InvalidStateError):
        server.publish("live/cam")


def test_close_or_stop_ends_a_reader_that_waits() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    server.start()
    try:
        publisher = server.publish("live/cam")
        ended: list[str] = []

        def read(subscription: rtmp_rs.Subscription, name: str) -> None:
            for _ in subscription:
                pass
            ended.append(name)

        closed_from_elsewhere = server.subscribe("live/cam")
        reader = threading.Thread(target=read, args=(closed_from_elsewhere, "closed"))
        reader.start()
        time.sleep(0.3)
        assert reader.is_alive()
        closed_from_elsewhere.close()
        reader.join(timeout=5)
        assert ended == ["closed"]

        async def read_async(subscription: rtmp_rs.Subscription) -> int:
            count = 0
            async for _ in subscription:
                count += 1
            return count

        stopped_sync = server.subscribe("live/cam")
        stopped_async = server.subscribe("live/cam")
        reader = threading.Thread(target=read, args=(stopped_sync, "stopped"))
        reader.start()
        counted: list[int] = []
        async_reader = threading.Thread(target=lambda: counted.append(asyncio.run(read_async(stopped_async))))
        async_reader.start()
        # And one that waits for a stream nobody publishes.
        outcome: list[BaseException] = []

        def wait_for_nothing() -> None:
            try:
                server.subscribe("live/never", wait=math.inf)
            except rtmp_rs.RtmpError as error:
                outcome.append(error)

        waiter = threading.Thread(target=wait_for_nothing)
        waiter.start()
        time.sleep(0.3)
        publisher.send_video(0, AVC_SEQUENCE_HEADER)
        time.sleep(0.3)
    finally:
        stopped_at = time.monotonic()
        server.stop()
    reader.join(timeout=5)
    async_reader.join(timeout=5)
    waiter.join(timeout=10)
    assert ended == ["closed", "stopped"] and counted == [1]
    assert len(outcome) == 1 and isinstance(outcome[0], rtmp_rs.ClosedError), outcome
    assert time.monotonic() - stopped_at < 5
    assert stopped_sync.closed
    # A local publisher of a stopped server sends no more.
    assert not publisher.is_publishing
    with pytest.raises(rtmp_rs.ClosedError, match="stopped"):
        publisher.send_video(40, avc_frame(True, 1))


async def test_a_stop_ends_subscribe_async_and_async_for() -> None:
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    async with server:
        waiting = asyncio.ensure_future(server.subscribe_async("live/never", wait=math.inf))
        publisher = server.publish("live/cam")
        subscription = await server.subscribe_async("live/cam")

        async def count() -> int:
            return len([item async for item in subscription])

        counting = asyncio.ensure_future(count())
        publisher.send_video(0, AVC_SEQUENCE_HEADER)
        await asyncio.sleep(0.3)
        assert not waiting.done() and not counting.done()
    with pytest.raises(rtmp_rs.ClosedError, match="stopped while waiting"):
        await asyncio.wait_for(waiting, 5)
    assert await asyncio.wait_for(counting, 5) == 1
    assert not publisher.is_publishing


def test_many_subscriptions_and_publishers_leak_nothing() -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0", stats_interval=None) as server:

        def cycle() -> None:
            with server.publish("live/cam") as publisher:
                publisher.send_video(0, AVC_SEQUENCE_HEADER)
                subscriptions = [server.subscribe("live/cam") for _ in range(5)]
                for i in range(20):
                    publisher.send_video(i * 40, avc_frame(i == 0, i, size=2048))
                for subscription in subscriptions[:3]:
                    subscription.next(timeout=1)
                subscriptions[0].close()
            del subscriptions  # the rest closed by garbage collection

        for _ in range(20):
            cycle()
        gc.collect()
        threads_before = settle(0, timeout=0.5)
        rss_before = rss_kib()
        for _ in range(300):
            cycle()
        gc.collect()
        assert server.streams() == [] and server.stats().streams == []
        assert settle(threads_before) <= threads_before
        assert rss_kib() - rss_before < 20 * 1024
        assert thread_count() <= threads_before


# ----------------------------------------------------------------------------- exit

OPEN_AT_EXIT = """
import asyncio, threading, time
import rtmp_rs

server = rtmp_rs.Server(bind="127.0.0.1:0")
server.start()
publisher = server.publish("live/cam")
kept = server.subscribe("live/cam")            # open, never read
blocked = server.subscribe("live/cam")         # a thread's for loop reads it at exit
busy = server.subscribe("live/cam")            # an asyncio loop iterates it at exit
seen = {"items": 0}

def send() -> None:
    ts = 0
    while True:
        try:
            publisher.send_audio(ts, b"\\xaf\\x01" + bytes(100))
        except rtmp_rs.RtmpError:
            return
        ts += 1
        time.sleep(0.001)

async def iterate() -> None:
    async for _ in busy:
        seen["items"] += 1

def read() -> None:
    for _ in blocked:
        pass

threading.Thread(target=read, daemon=True).start()
threading.Thread(target=lambda: asyncio.run(iterate()), daemon=True).start()
threading.Thread(target=send, daemon=True).start()
while seen["items"] < 50:
    time.sleep(0.01)
print("exiting", flush=True)
if VARIANT == "drop-server":
    del server  # the subscriptions outlive their server object
"""


@pytest.mark.parametrize("variant", ["keep-server", "drop-server"])
def test_subscriptions_open_at_exit_are_clean(variant: str) -> None:
    for _ in range(4):
        done = run_script(f"VARIANT = {variant!r}\n" + OPEN_AT_EXIT)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["exiting"]
        assert "Fatal Python error" not in done.stderr and "Traceback" not in done.stderr
