"""User name and password publishing (``publish_auth="adobe"``, passwords from
``on_credentials``) against ffmpeg 9 and our own client, ``session.user``, and ``on_data`` with
ffmpeg's subtitle stream (``onTextData``)."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import pytest
from conftest import (
    AAC_SEQUENCE_HEADER,
    AVC_SEQUENCE_HEADER,
    aac_frame,
    avc_frame,
    ffmpeg_play,
    ffmpeg_publish,
    played,
    wait_for,
)

import rtmp_rs


def live(server: rtmp_rs.Server, key: str) -> bool:
    return any(str(s.key) == key and s.publisher_kind is not None for s in server.streams())


def url(server: rtmp_rs.Server, credentials: str, path: str) -> str:
    return f"rtmp://{credentials}127.0.0.1:{server.port}/{path}"


async def finished(process: subprocess.Popen[bytes], timeout: float = 30.0) -> tuple[int, str]:
    """Waits for an ffmpeg (killed past ``timeout``): its exit status and stderr."""
    try:
        _, err = await asyncio.to_thread(process.communicate, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = await asyncio.to_thread(process.communicate)
    return process.returncode, err.decode(errors="replace")


class Users(rtmp_rs.Handler):
    """``alice``'s password is ``s3cret`` (a plain ``def``: it runs on the hook thread pool);
    records the lookups and the user each later hook's session shows."""

    def __init__(self) -> None:
        self.lookups: list[tuple[str, str]] = []
        self.connects: list[Optional[str]] = []
        self.publishers: list[Optional[str]] = []

    def on_credentials(self, app: str, user: str) -> Optional[str]:
        self.lookups.append((app, user))
        return {"alice": "s3cret"}.get(user)

    async def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
        self.connects.append(session.user)
        return True

    async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> bool:
        self.publishers.append(session.user)
        return True


async def test_ffmpeg_publishes_with_a_password_and_a_player_without_one_decodes_it(ffmpeg: str) -> None:
    handler = Users()
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", publish_auth="adobe", stats_interval=None) as server:
        publisher = ffmpeg_publish(ffmpeg, url(server, "alice:s3cret@", "live/cam"), 4)
        try:
            await wait_for("ffmpeg's authenticated publish", lambda: live(server, "live/cam"))
            # ffmpeg's player sends no credentials (and a player's flashVer): not challenged.
            player = ffmpeg_play(ffmpeg, url(server, "", "live/cam"), 1.5)
            video, audio, err = await asyncio.to_thread(played, player, 20)
            assert video >= 20 and audio > 0, (video, audio, err)
            status, err = await finished(publisher)
            assert status == 0, err
        finally:
            publisher.kill()
    assert handler.publishers == ["alice"], "on_publish's session shows the user"
    assert handler.lookups == [("live", "alice")] * 2  # at the challenge and at the answer
    assert handler.connects == ["alice", None], "ffmpeg logged in; the player is anonymous"


class Strict(rtmp_rs.Handler):
    """An ``async`` ``on_credentials``, and the ways it can fail (each means no such user)."""

    def __init__(self) -> None:
        self.connects = 0

    async def on_credentials(self, app: str, user: str) -> Any:
        if user == "raiser":
            raise RuntimeError("the user database is down")
        if user == "number":
            return 42  # not a str
        if user == "slow":
            await asyncio.sleep(30)  # past decision_timeout
        return "s3cret" if user == "alice" else None

    def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
        self.connects += 1
        return True


async def test_ffmpeg_with_a_wrong_password_or_an_unknown_user_is_refused(
    ffmpeg: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="rtmp_rs")
    handler = Strict()
    # ffmpeg's messages for `?reason=authfailed` and `?reason=nosuchuser` (libavformat/rtmpproto.c).
    cases = {
        "alice:wrong@": "Incorrect username/password",
        "bob:s3cret@": "Incorrect username",
        "raiser:x@": "Incorrect username",
        "number:x@": "Incorrect username",
        "slow:x@": "Incorrect username",
        "": "No credentials set",
    }
    options: dict[str, Any] = {"publish_auth": "adobe", "decision_timeout": 1.0, "stats_interval": None}
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", **options) as server:
        started = time.monotonic()
        runs = [ffmpeg_publish(ffmpeg, url(server, credentials, "live/cam"), 2) for credentials in cases]
        results = await asyncio.gather(*(finished(run, 20) for run in runs))
        took = time.monotonic() - started
        assert not live(server, "live/cam")
    for (credentials, message), (status, err) in zip(cases.items(), results):
        assert status != 0, f"{credentials!r}: ffmpeg was not refused: {err}"
        assert re.search(re.escape(message) + r"\s*$", err, re.M), f"{credentials!r}: ffmpeg said {err!r}"
    assert took < 10, f"the refusals took {took:.1f} s"
    assert handler.connects == 0, "no refused connect reached on_connect"
    logged = caplog.text
    assert "on_credentials raised; no such user" in logged and "the user database is down" in logged
    assert "on_credentials must return the password (str) or None, not int" in logged


async def video_frames(player: rtmp_rs.Player, wanted: int, timeout: float = 10.0) -> int:
    """Reads ``player`` until it got ``wanted`` video frames (or ``timeout``); how many it got."""
    count = 0

    async def read() -> None:
        nonlocal count
        async for item in player:
            if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                count += 1
                if count == wanted:
                    return

    try:
        await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        pass
    return count


async def test_our_client_publishes_and_plays_with_credentials_in_the_url() -> None:
    handler = Users()
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", publish_auth="adobe", stats_interval=None) as server:
        publisher = await rtmp_rs.Publisher.connect(url(server, "alice:s3cret@", "live/cam"), connect_timeout=10)

        async def publish() -> None:
            await publisher.send_video_async(0, AVC_SEQUENCE_HEADER)
            await publisher.send_audio_async(0, AAC_SEQUENCE_HEADER)
            for i in range(100):
                await publisher.send_video_async(i * 40, avc_frame(i % 25 == 0, i % 256, 500))
                await publisher.send_audio_async(i * 40, aac_frame(i % 256))
                await asyncio.sleep(0.04)

        publishing = asyncio.ensure_future(publish())
        try:
            await wait_for("our authenticated publish", lambda: live(server, "live/cam"))
            with_credentials = await rtmp_rs.Player.connect(url(server, "alice:s3cret@", "live/cam"))
            without = await rtmp_rs.Player.connect(url(server, "", "live/cam"))
            got = await asyncio.gather(video_frames(with_credentials, 5), video_frames(without, 5))
            assert list(got) == [5, 5], got
            await with_credentials.close_async()
            await without.close_async()
        finally:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
            await publisher.close_async()

        # Refusals: RejectedError, its description naming why.
        for credentials, reason in [("alice:wrong@", "authfailed"), ("bob:x@", "nosuchuser")]:
            with pytest.raises(rtmp_rs.RejectedError) as refused:
                await rtmp_rs.Publisher.connect(url(server, credentials, "live/other"), connect_timeout=10)
            assert refused.value.code == "NetConnection.Connect.Rejected", credentials
            assert refused.value.description.startswith(f"{reason}:"), refused.value.description
            assert reason in str(refused.value)
        # A player that asks to log in with a wrong password is refused too.
        with pytest.raises(rtmp_rs.RejectedError) as refused:
            await rtmp_rs.Player.connect(url(server, "alice:wrong@", "live/cam"), connect_timeout=10)
        assert refused.value.description.startswith("authfailed:"), refused.value.description
        # Not challenged at connect (a player's flashVer), a publish is refused.
        with pytest.raises(rtmp_rs.RejectedError) as refused:
            await rtmp_rs.Publisher.connect(url(server, "", "live/other"), flash_ver="LNX 9,0,124,2")
        assert refused.value.code == "NetStream.Publish.Denied", refused.value.code
    assert handler.publishers == ["alice"]
    # Our client names the user in its first connect: the player with credentials logged in.
    assert handler.connects[:3] == ["alice", "alice", None], handler.connects


class Captions(rtmp_rs.Handler):
    def __init__(self) -> None:
        self.data: list[tuple[rtmp_rs.Session, rtmp_rs.StreamKey, rtmp_rs.DataMessage]] = []

    async def on_data(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey, data: rtmp_rs.DataMessage) -> None:
        self.data.append((session, key, data))


async def test_ffmpeg_subtitles_arrive_in_on_data_as_on_text_data(ffmpeg: str, tmp_path: Path) -> None:
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:01,400\nhello\n\n2\n00:00:01,500 --> 00:00:01,900\nworld\n")
    handler = Captions()
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", stats_interval=None) as server:
        args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re"]
        args += ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", str(srt), "-t", "2.5"]
        args += ["-map", "0:v", "-map", "1:s", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]
        args += ["-pix_fmt", "yuv420p", "-c:s", "text", "-f", "flv", url(server, "", "live/subs")]
        status, err = await finished(subprocess.Popen(args, stderr=subprocess.PIPE))
        assert status == 0, err
        await wait_for("two onTextData", lambda: len(handler.data) >= 2, timeout=5)
    texts = [(str(key), data.name, data.values[0]["text"]) for _, key, data in handler.data]
    assert texts == [("live/subs", "onTextData", "hello"), ("live/subs", "onTextData", "world")], handler.data
    session, _, data = handler.data[0]
    assert session.app == "live" and session.user is None
    assert data.values[0]["type"] == "Text" and len(data.values) == 1
    assert repr(data).startswith("DataMessage(name=\"onTextData\", values=[{")
