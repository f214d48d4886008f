"""Frames: zero-copy payloads, Player/Publisher round trips through our server, FLV files, relays."""

from __future__ import annotations

import asyncio
import ctypes
import gc
from pathlib import Path

import pytest
from conftest import AAC_SEQUENCE_HEADER, AVC_SEQUENCE_HEADER, aac_frame, avc_frame

import rtmp_rs


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


def address(view: memoryview) -> int:
    """Where the bytes behind a buffer live (PyObject_GetBuffer through ctypes)."""
    buffer = _PyBuffer()
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    assert get(view, ctypes.byref(buffer), 0) == 0
    try:
        return int(buffer.buf or 0)
    finally:
        release = ctypes.pythonapi.PyBuffer_Release
        release.argtypes = [ctypes.POINTER(_PyBuffer)]
        release(ctypes.byref(buffer))


async def test_payloads_are_zero_copy_read_only_views() -> None:
    seen: dict[str, list[rtmp_rs.Frame]] = {"tag": [], "video": [], "key": []}
    payload_views: list[memoryview] = []

    class Keep(rtmp_rs.Handler):
        def on_media_tag(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> bool:
            seen["tag"].append(frame)
            return True

        def on_video_frame(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
            seen["video"].append(frame)

        def on_keyframe(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
            seen["key"].append(frame)
            payload_views.append(frame.payload[5:])

    sent = avc_frame(True, 0x5A, size=4096, cts=40)
    async with rtmp_rs.Server(Keep(), bind="127.0.0.1:0") as server:
        async with await rtmp_rs.Publisher.connect(f"{server.url}/live/zc") as publisher:
            await publisher.send_video_async(0, AVC_SEQUENCE_HEADER)
            await publisher.send_video_async(40, sent)
            for _ in range(100):
                if seen["key"]:
                    break
                await asyncio.sleep(0.02)
    key = seen["key"][0]
    video = next(f for f in seen["video"] if f.timestamp == 40)
    tag = next(f for f in seen["tag"] if f.timestamp == 40)
    view = key.payload
    assert isinstance(view, memoryview) and view.readonly and view.format == "B"
    assert bytes(view) == sent and len(key) == len(sent) and bytes(key) == sent
    assert key.codec == "avc1" and key.composition_time == 40 and key.is_keyframe
    assert bytes(key.body) == sent[5:]
    # The same memory in every hook and every view: nothing was copied on the way to Python.
    assert address(view) == address(video.payload) == address(tag.payload)
    assert address(key.body) == address(view) + 5
    with pytest.raises(TypeError):
        view[0] = 0  # type: ignore[index]
    # A view keeps the memory alive after everything else is gone.
    tail = payload_views[0]
    seen.clear()
    del key, video, tag, view
    gc.collect()
    assert bytes(tail) == sent[5:]


async def test_player_and_publisher_round_trip() -> None:
    async with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/rt")
        player = await rtmp_rs.Player.connect(f"{server.url}/live/rt")
        metadata = {"width": 640.0, "height": 360, "encoder": "pytest", "flags": [1, True, None]}
        await publisher.send_metadata_async(metadata)
        await publisher.send_video_async(0, AVC_SEQUENCE_HEADER)
        await publisher.send_audio_async(0, AAC_SEQUENCE_HEADER)
        sent = []
        for i in range(10):
            video = avc_frame(i % 5 == 0, i, size=200 + i)
            audio = aac_frame(i)
            await publisher.send_video_async(40 * i, video)
            await publisher.send_tag_async(8, 40 * i + 20, audio)
            sent += [("video", 40 * i, video), ("audio", 40 * i + 20, audio)]
        received = []
        events = []
        got_metadata = None
        async for item in player:
            if isinstance(item, rtmp_rs.PlayerEvent):
                events.append(item.kind)
            elif item.kind == "metadata":
                got_metadata = item.metadata
            elif item.kind in ("video", "audio") and not item.is_sequence_header:
                received.append((item.kind, item.timestamp, bytes(item.payload)))
                if len(received) == len(sent):
                    break
        assert received == sent
        assert got_metadata == {"width": 640.0, "height": 360.0, "encoder": "pytest", "flags": [1.0, True, None]}
        assert set(events) <= {"stream_begin", "status"}
        await publisher.close_async()
        # The publisher left: the player hears the stream end.
        async for item in player:
            if isinstance(item, rtmp_rs.PlayerEvent) and item.kind == "stream_end":
                break
        await player.close_async()
        assert player.closed
        with pytest.raises(rtmp_rs.ClosedError):
            player.read(0.1)


def test_publish_an_flv_file_and_relay_it(flv_file: Path) -> None:
    """publish_flv → server → Player → Publisher.send_frame (relay) → server → Player."""
    server = rtmp_rs.Server(bind="127.0.0.1:0")
    server.start()
    try:
        source = rtmp_rs.Publisher(f"{server.url}/live/file")
        upstream = rtmp_rs.Player(f"{server.url}/live/file")
        relay = rtmp_rs.Publisher(f"{server.url}/live/relay")
        downstream = rtmp_rs.Player(f"{server.url}/live/relay")
        import threading

        sent: list[int] = []
        feeder = threading.Thread(target=lambda: sent.append(source.publish_flv(flv_file)))
        feeder.start()
        relayed = {"video": 0, "audio": 0, "keyframes": 0}
        while True:
            item = upstream.read(timeout=5)
            assert item is not None
            if isinstance(item, rtmp_rs.PlayerEvent):
                if item.kind == "stream_end":
                    break
                continue
            relay.send_frame(item)
            if item.kind in ("video", "audio"):
                relayed[item.kind] += 1
            relayed["keyframes"] += item.is_keyframe
            if relayed["video"] >= 40 and relayed["audio"] >= 40:
                break
        feeder.join()
        assert sent and sent[0] > 100
        assert relayed["keyframes"] >= 1
        counted = {"video": 0, "audio": 0}
        for item in downstream:
            if isinstance(item, rtmp_rs.Frame) and item.kind in counted:
                counted[item.kind] += 1
                assert item.codec in ("avc1", "mp4a")
            if counted["video"] >= 30 and counted["audio"] >= 30:
                break
        for client in (source, upstream, relay, downstream):
            client.close()
    finally:
        server.stop()


async def test_publish_flv_async(flv_file: Path) -> None:
    async with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        async with await rtmp_rs.Publisher.connect(f"{server.url}/live/a") as publisher:
            tags = await publisher.publish_flv_async(str(flv_file))
        assert tags > 100
