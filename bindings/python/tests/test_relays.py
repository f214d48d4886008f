"""Relays against nginx-rtmp (a server no one here wrote) and ffmpeg: forwards chosen by
``on_publish`` and added at runtime, pulls located by ``on_locate`` with failover, their
statistics and state hooks, and a locate hook that fails."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Optional

import pytest
from conftest import Nginx, ffmpeg_play, ffmpeg_publish, free_port, played, wait_for

import rtmp_rs


def stream(server: rtmp_rs.Server, key: str) -> Optional[rtmp_rs.StreamStats]:
    return next((s for s in server.stats().streams if str(s.key) == key), None)


def forward_to(server: rtmp_rs.Server, key: str, url: str) -> Optional[rtmp_rs.ForwardStats]:
    found = stream(server, key)
    return next((f for f in found.forwards if f.url == url), None) if found else None


class Router(rtmp_rs.Handler):
    """Forwards each published stream to nginx as ``<name>-copy``; records ``on_forward``."""

    def __init__(self, nginx: Nginx) -> None:
        self.nginx = nginx
        self.forwards: list[tuple[str, str, str]] = []

    async def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> rtmp_rs.Accept:
        await asyncio.sleep(0)  # an async decision
        return rtmp_rs.Accept(forward=[self.nginx.url(f"{params.name}-copy")])

    def on_forward(self, key: rtmp_rs.StreamKey, stats: rtmp_rs.ForwardStats) -> None:
        self.forwards.append((str(key), stats.url, stats.state))


async def test_forwards_chosen_by_on_publish_and_added_at_runtime(ffmpeg: str, nginx: Nginx) -> None:
    handler = Router(nginx)
    copy, second = nginx.url("cam-copy"), nginx.url("cam-second")
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", stats_interval=None) as server:
        with pytest.raises(rtmp_rs.StreamNotFoundError):
            server.add_forward("live/cam", second)  # not published yet
        publisher = ffmpeg_publish(ffmpeg, f"{server.url}/live/cam", 15)
        try:
            await wait_for("the forward live", lambda: ("live/cam", copy, "live") in handler.forwards)
            states = [state for key, url, state in handler.forwards if url == copy]
            assert states[:2] == ["connecting", "live"], handler.forwards

            # At runtime: a second destination; the errors, each its own exception.
            server.add_forward(rtmp_rs.StreamKey("live", "cam"), second)
            with pytest.raises(rtmp_rs.ForwardExistsError):
                server.add_forward("live/cam", second)
            with pytest.raises(rtmp_rs.ForwardExistsError):
                server.add_forward("live/cam", copy)  # the publish decision's
            with pytest.raises(rtmp_rs.StreamNotFoundError):
                server.add_forward("live/nobody", nginx.url("nobody"))
            with pytest.raises(rtmp_rs.UrlError):
                server.add_forward("live/cam", "http://127.0.0.1/live/cam")
            with pytest.raises(ValueError):
                server.add_forward("cam", second)  # not "app/name"
            await wait_for("the second forward live", lambda: ("live/cam", second, "live") in handler.forwards)

            # Players of nginx decode what we forward there, through both destinations.
            players = [ffmpeg_play(ffmpeg, url, 3) for url in (copy, second)]
            (copy_video, copy_audio, copy_err), (second_video, second_audio, second_err) = [
                await asyncio.to_thread(played, player, 40) for player in players
            ]
            assert copy_video >= 25 and copy_audio > 0, (copy_video, copy_audio, copy_err)
            assert second_video >= 25 and second_audio > 0, (second_video, second_audio, second_err)

            stats = stream(server, "live/cam")
            assert stats is not None
            assert {f.url: f.state for f in stats.forwards} == {copy: "live", second: "live"}
            assert all(f.bytes_out > 0 and f.last_error is None for f in stats.forwards), stats.forwards
            assert sum(p.kind == "forward" for p in stats.players) == 2
            info = next(i for i in server.streams() if str(i.key) == "live/cam")
            assert info.forwards == 2

            assert server.remove_forward("live/cam", second)
            await wait_for("the second forward gone", lambda: forward_to(server, "live/cam", second) is None)
            assert not server.remove_forward("live/cam", second)
            assert forward_to(server, "live/cam", copy) is not None
        finally:
            publisher.kill()
            publisher.wait()


async def first_video(url: str) -> None:
    """Waits until ``url`` plays video (retrying while its publisher is not there yet)."""
    while True:
        try:
            async with await rtmp_rs.Player.connect(url) as player:
                async for item in player:
                    if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                        return
        except rtmp_rs.RtmpError:
            pass
        await asyncio.sleep(0.2)


class Locator(rtmp_rs.Handler):
    """Locates every stream on a dead upstream first, then nginx; records the hooks."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.located: list[rtmp_rs.StreamKey] = []
        self.pulls: list[tuple[str, str, str]] = []

    async def on_locate(self, key: rtmp_rs.StreamKey) -> list[str]:
        self.located.append(key)
        return [url.format(name=key.name) for url in self.upstreams]

    def on_pull(self, key: rtmp_rs.StreamKey, stats: rtmp_rs.PullStats) -> None:
        self.pulls.append((str(key), stats.url, stats.state))


async def test_on_locate_pulls_from_the_next_upstream_when_the_first_is_down(ffmpeg: str, nginx: Nginx) -> None:
    origin = ffmpeg_publish(ffmpeg, nginx.url("origin"), 15)  # published only to nginx
    dead = f"rtmp://127.0.0.1:{free_port()}/live/{{name}}"
    handler = Locator([dead, f"rtmp://{nginx.addr}/live/{{name}}"])
    upstream = nginx.url("origin")
    try:
        await asyncio.wait_for(first_video(upstream), 30)  # ffmpeg publishes to nginx
        async with rtmp_rs.Server(handler, bind="127.0.0.1:0", stats_interval=None, pull_start_timeout=10) as server:
            player = ffmpeg_play(ffmpeg, f"{server.url}/live/origin", 3)

            def pulled() -> Optional[rtmp_rs.StreamStats]:
                found = stream(server, "live/origin")
                return found if found is not None and found.pull is not None and found.pull.state == "live" else None

            pull = await wait_for("the pull live", pulled)
            assert pull.publisher_kind == "pull"
            assert pull.pull.url == upstream
            video, audio, err = await asyncio.to_thread(played, player, 40)
            assert video >= 25 and audio > 0, (video, audio, err)
            stats = stream(server, "live/origin")
            assert stats is not None and stats.pull is not None
            assert stats.pull.bytes_in > 0 and stats.pull.reconnects >= 1 and stats.pull.last_error, stats.pull
    finally:
        origin.kill()
        origin.wait()
    assert handler.located == [rtmp_rs.StreamKey("live", "origin")]
    assert ("live/origin", upstream, "live") in handler.pulls, handler.pulls


class FailingLocator(rtmp_rs.Handler):
    def __init__(self, how: str) -> None:
        self.how = how
        self.located = 0
        self.pulls: list[rtmp_rs.PullStats] = []

    def on_locate(self, key: rtmp_rs.StreamKey) -> Any:
        self.located += 1
        if self.how == "raises":
            raise RuntimeError("the directory is down")
        if self.how == "rejects":
            raise rtmp_rs.Reject("unknown stream")
        if self.how == "async raises":

            async def fail() -> list[str]:
                await asyncio.sleep(0)
                raise RuntimeError("the directory is down")

            return fail()
        if self.how == "returns a bad URL":
            return ["http://127.0.0.1/live/origin"]  # not RTMP: refused, logged
        return "rtmp://127.0.0.1/live/not-a-list"  # a lone str: refused, logged

    def on_pull(self, key: rtmp_rs.StreamKey, stats: rtmp_rs.PullStats) -> None:
        self.pulls.append(stats)


async def play_statuses(url: str) -> list[str]:
    """Plays ``url`` with the library's client until it ends; the status codes it got (a
    refusal at connect counts as its code)."""
    codes: list[str] = []
    try:
        async with await rtmp_rs.Player.connect(url) as player:
            async for item in player:
                if isinstance(item, rtmp_rs.Frame):
                    if item.kind in ("audio", "video"):
                        raise AssertionError(f"media of a stream nobody has: {item}")
                    continue  # |RtmpSampleAccess
                if item.kind == "status":
                    codes.append(item.code)
                    if item.level == "error" or "NotFound" in item.code:
                        break
    except rtmp_rs.RejectedError as refused:
        codes.append(refused.code)
    except rtmp_rs.ClosedError:
        pass
    return codes


@pytest.mark.parametrize("how", ["raises", "rejects", "async raises", "returns a str", "returns a bad URL"])
async def test_a_locate_hook_that_fails_names_no_upstream(how: str, caplog: pytest.LogCaptureFixture) -> None:
    handler = FailingLocator(how)
    caplog.set_level(logging.ERROR, logger="rtmp_rs")
    options: dict[str, Any] = {"play_wait_timeout": 1.5, "pull_start_timeout": 1.0, "stats_interval": None}
    async with rtmp_rs.Server(handler, bind="127.0.0.1:0", **options) as server:
        started = time.monotonic()
        codes = await asyncio.wait_for(play_statuses(f"{server.url}/live/nowhere"), 30)
        assert any("StreamNotFound" in code for code in codes), codes
        assert time.monotonic() - started < 15
        found = stream(server, "live/nowhere")
        assert found is None or found.pull is None, found
    assert handler.located >= 1 and handler.pulls == []
    if how != "rejects":
        assert any("on_locate" in r.getMessage() for r in caplog.records), caplog.text


class BadDestination(rtmp_rs.Handler):
    def on_publish(self, session: rtmp_rs.Session, params: rtmp_rs.PublishParams) -> rtmp_rs.Accept:
        return rtmp_rs.Accept(forward=["http://127.0.0.1/live/copy"])


async def test_a_forward_destination_that_is_not_rtmp_refuses_the_publish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not a warning while the publish goes on without it: the typo fails where it was made.
    caplog.set_level(logging.ERROR, logger="rtmp_rs")
    async with rtmp_rs.Server(BadDestination(), bind="127.0.0.1:0", stats_interval=None) as server:
        with pytest.raises(rtmp_rs.RejectedError):
            await rtmp_rs.Publisher.connect(f"{server.url}/live/cam", connect_timeout=10)
        assert stream(server, "live/cam") is None
    assert any("http://127.0.0.1/live/copy" in r.getMessage() for r in caplog.records), caplog.text


def test_accept_checks_its_forward_list() -> None:
    assert rtmp_rs.Accept(forward=["rtmp://a/live/b"]).forward == ("rtmp://a/live/b",)
    assert not rtmp_rs.Accept().has_latency_budget and rtmp_rs.Accept(None).has_latency_budget
    with pytest.raises(TypeError):
        rtmp_rs.Accept(forward="rtmp://a/live/b")  # a str is a sequence of str: refused at run time
    with pytest.raises(TypeError):
        rtmp_rs.Accept(forward=[b"rtmp://a/live/b"])  # type: ignore[list-item]
