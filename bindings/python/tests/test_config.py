"""Server options, RTMPS, errors and logs."""

from __future__ import annotations

import inspect
import logging
import subprocess
import time
from pathlib import Path

import pytest

import rtmp_rs
from rtmp_rs import _native


def test_every_config_field_is_a_keyword_with_the_rust_default() -> None:
    parameters = inspect.signature(rtmp_rs.Server).parameters
    keywords = {n: p.default for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    defaults = _native.server_defaults()
    assert set(keywords) == set(defaults)
    for name, default in keywords.items():
        if name == "fourcc_list":
            assert default is None and "avc1" in defaults[name]  # None = the Rust default list
        elif name in ("forward", "pull", "relay_tls_roots"):
            assert tuple(default) == tuple(defaults[name]) == ()
        else:
            assert default == defaults[name], name


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="bind must be host:port"):
        rtmp_rs.Server(bind="no-such-host.invalid:1935")
    with pytest.raises(ValueError, match="chunk_size must be an integer from 128 to 16777215, not 64"):
        rtmp_rs.Server(bind="127.0.0.1:0", chunk_size=64)
    with pytest.raises(ValueError, match="worker_threads must be an integer from 1 to 1024, not 0"):
        rtmp_rs.Server(bind="127.0.0.1:0", worker_threads=0)
    with pytest.raises(ValueError):
        rtmp_rs.Server(bind="127.0.0.1:0", chunk_size=10)
    with pytest.raises(ValueError):
        rtmp_rs.Server(bind="127.0.0.1:0", publisher_policy="whatever")
    with pytest.raises(ValueError):
        rtmp_rs.Server(bind="127.0.0.1:0", idle_timeout=-1)
    with pytest.raises(ValueError):
        rtmp_rs.Server(bind="127.0.0.1:0", tls_bind="127.0.0.1:0")
    with pytest.raises(ValueError, match="relay_tls_roots /nonexistent.pem: cannot be read"):
        rtmp_rs.Server(bind="127.0.0.1:0", relay_tls_roots=["/nonexistent.pem"])
    with pytest.raises(TypeError):
        _native.NativeServer([], None, {"no_such_option": 1})
    taken = rtmp_rs.Server(bind="127.0.0.1:0")
    with pytest.raises(rtmp_rs.NetworkError):
        rtmp_rs.Server(bind=taken.local_addr)


def test_amf_limits_are_integer_options() -> None:
    defaults = _native.server_defaults()
    assert (defaults["max_amf_depth"], defaults["max_amf_entries"], defaults["max_amf_decoded_bytes"]) == (
        64,
        65536,
        64 << 20,
    )
    rtmp_rs.Server(bind="127.0.0.1:0", max_amf_depth=8, max_amf_entries=1024, max_amf_decoded_bytes=1 << 20)
    # Refused like every integer option: negative numbers (ValueError) and other types (TypeError).
    with pytest.raises(ValueError, match="max_amf_entries must be an integer from 1 to"):
        rtmp_rs.Server(bind="127.0.0.1:0", max_amf_entries=-1)
    with pytest.raises(ValueError, match="max_amf_decoded_bytes must be an integer from 1 to"):
        rtmp_rs.Server(bind="127.0.0.1:0", max_amf_decoded_bytes=-1)
    with pytest.raises(TypeError):
        rtmp_rs.Server(bind="127.0.0.1:0", max_amf_entries="1024")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rtmp_rs.Server(bind="127.0.0.1:0", max_amf_decoded_bytes=1.5)  # type: ignore[arg-type]


def test_amf_limits_take_effect() -> None:
    metadata = {f"field{i}": float(i) for i in range(200)}

    class Record(rtmp_rs.Handler):
        def __init__(self) -> None:
            self.metadata: list[dict[str, object]] = []
            self.reasons: list[rtmp_rs.DisconnectReason] = []

        def on_metadata(self, session: rtmp_rs.Session, key: rtmp_rs.StreamKey, metadata: dict[str, object]) -> None:
            self.metadata.append(metadata)

        def on_disconnect(self, session: rtmp_rs.Session, reason: rtmp_rs.DisconnectReason) -> None:
            self.reasons.append(reason)

    def send(**limits: int) -> Record:
        handler = Record()
        with rtmp_rs.Server(handler, bind="127.0.0.1:0", **limits) as server:
            publisher = rtmp_rs.Publisher(f"{server.url}/live/cam")
            publisher.send_metadata(metadata)
            deadline = time.monotonic() + 5
            while not (handler.metadata or handler.reasons) and time.monotonic() < deadline:
                time.sleep(0.01)
            try:
                publisher.close()
            except rtmp_rs.RtmpError:
                pass  # the server closed it first
        return handler

    accepted = send()
    assert accepted.metadata and accepted.metadata[0]["field199"] == 199.0
    for limits, refusal in (
        ({"max_amf_entries": 32}, "collection of 200 entries"),
        ({"max_amf_decoded_bytes": 8192}, "decoded values would exceed 8192 bytes"),
    ):
        refused = send(**limits)
        assert not refused.metadata, limits
        (reason,) = refused.reasons
        assert reason.kind == "protocol" and refusal in reason.message, (limits, reason.message)


def test_options_take_effect() -> None:
    server = rtmp_rs.Server(
        bind="127.0.0.1:0",
        max_connections=1,
        play_wait_timeout=0,
        publisher_policy="take_over",
        fourcc_list=["avc1"],
        normalize_timestamps=True,
        stats_interval=None,
        worker_threads=1,
        decision_timeout=2,
    )
    with server:
        first = rtmp_rs.Publisher(f"{server.url}/live/cam")
        with pytest.raises(rtmp_rs.RtmpError):
            rtmp_rs.Player(f"{server.url}/live/cam", connect_timeout=2)  # max_connections=1
        assert server.stats().refused_connections == 1
        first.close()
        deadline = time.monotonic() + 5
        while server.stats().connections and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(rtmp_rs.RejectedError) as missing:  # play_wait_timeout=0
            rtmp_rs.Player(f"{server.url}/live/nothing")
        assert "NotFound" in missing.value.code  # type: ignore[attr-defined]


async def test_max_players_per_stream_refuses_a_play_past_it() -> None:
    async with rtmp_rs.Server(bind="127.0.0.1:0", max_players_per_stream=1) as server:
        publisher = await rtmp_rs.Publisher.connect(f"{server.url}/live/cam")
        player = await rtmp_rs.Player.connect(f"{server.url}/live/cam")
        with pytest.raises(rtmp_rs.RejectedError) as refused:
            await rtmp_rs.Player.connect(f"{server.url}/live/cam")
        assert refused.value.description == "Too many players."
        await player.close_async()
        await publisher.close_async()


def test_decision_timeout_rejects() -> None:
    import asyncio

    class Never(rtmp_rs.Handler):
        async def on_connect(self, session: rtmp_rs.Session, params: rtmp_rs.ConnectParams) -> bool:
            await asyncio.sleep(30)
            return True

    with rtmp_rs.Server(Never(), bind="127.0.0.1:0", decision_timeout=0.3) as server:
        started = time.monotonic()
        with pytest.raises(rtmp_rs.RejectedError):
            rtmp_rs.Publisher(f"{server.url}/live/cam")
        assert time.monotonic() - started < 3


def test_read_coalescing_reads_publishers_in_bursts() -> None:
    class Arrivals(rtmp_rs.Handler):
        def __init__(self) -> None:
            self.at: list[float] = []

        def on_video_frame(self, session: rtmp_rs.Session, frame: rtmp_rs.Frame) -> None:
            self.at.append(time.monotonic())

    def bursts(read_coalescing: float | None) -> tuple[int, int]:
        handler = Arrivals()
        with rtmp_rs.Server(handler, bind="127.0.0.1:0", read_coalescing=read_coalescing) as server:
            with rtmp_rs.Publisher(f"{server.url}/live/cam") as publisher:
                started = time.monotonic()
                for i in range(30):  # 1.2 s of 25 fps
                    publisher.send_video(i * 40, b"\x27\x01\x00\x00\x00\x00\x00\x00\x01\xaa")
                    time.sleep(max(0.0, started + (i + 1) * 0.04 - time.monotonic()))
                deadline = time.monotonic() + 3
                while len(handler.at) < 30 and time.monotonic() < deadline:
                    time.sleep(0.01)
        gaps = [b - a for a, b in zip(handler.at, handler.at[1:])]
        return len(handler.at), 1 + sum(gap > 0.02 for gap in gaps)

    frames, plain = bursts(None)
    assert frames == 30 and plain >= 15, (frames, plain)
    frames, merged = bursts(0.2)  # read every 200 ms: 5 frames a read
    assert frames == 30 and merged <= 9, (frames, merged)


def test_stats_objects() -> None:
    with rtmp_rs.Server(bind="127.0.0.1:0") as server:
        with rtmp_rs.Publisher(f"{server.url}/live/cam") as publisher:
            publisher.send_video(0, b"\x17\x00\x00\x00\x00")
            with rtmp_rs.Player(f"{server.url}/live/cam"):
                stats = server.stats()
                assert isinstance(stats, rtmp_rs.ServerStats)
                assert stats.connections == 2 and stats.total_connections == 2
                assert isinstance(stats.bytes_in, int) and isinstance(stats.bytes_out, int)
                (stream,) = stats.streams
                assert isinstance(stream, rtmp_rs.StreamStats)
                assert stream.key == rtmp_rs.StreamKey("live", "cam") and stream.publisher_addr
                assert isinstance(stream.uptime, float) and stream.bitrate_in >= 0
                (player,) = stream.players
                assert isinstance(player, rtmp_rs.PlayerStats)
                assert player.peer_addr.startswith("127.0.0.1:") and player.session_id > 0
                assert player.dropped_video == 0 and player.queue_depth >= 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    folder = tmp_path_factory.mktemp("tls")
    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    cert, key, csr, ext = folder / "cert.pem", folder / "key.pem", folder / "cert.csr", folder / "ext.cnf"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    for args in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=rtmp-rs test CA"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    return ca, cert, key


def test_rtmps_server_and_clients(certificate: tuple[Path, Path, Path]) -> None:
    ca, cert, key = certificate
    server = rtmp_rs.Server(bind="127.0.0.1:0", tls_bind="127.0.0.1:0", tls_cert=str(cert), tls_key=str(key))
    assert server.tls_local_addr is not None
    url = f"rtmps://{server.tls_local_addr}/live/secure"
    with server:
        with rtmp_rs.Publisher(url, tls_ca_file=str(ca)) as publisher:
            with rtmp_rs.Player(url, tls_insecure_skip_verify=True) as player:
                publisher.send_video(7, b"\x17\x01\x00\x00\x00\x00\x00\x00\x01\xaa")
                while True:
                    item = player.read(timeout=5)
                    assert item is not None
                    if isinstance(item, rtmp_rs.Frame) and item.kind == "video":
                        assert item.timestamp == 7 and bytes(item.payload)[-1] == 0xAA
                        break
        with pytest.raises(rtmp_rs.TlsError):
            rtmp_rs.Player(url, connect_timeout=3)  # self-signed: not trusted by default


def test_error_hierarchy_and_client_errors() -> None:
    for error in (
        rtmp_rs.UrlError,
        rtmp_rs.NetworkError,
        rtmp_rs.ProtocolError,
        rtmp_rs.TlsError,
        rtmp_rs.RejectedError,
        rtmp_rs.RtmpTimeoutError,
        rtmp_rs.ClosedError,
        rtmp_rs.InvalidStateError,
    ):
        assert issubclass(error, rtmp_rs.RtmpError) and issubclass(rtmp_rs.RtmpError, Exception)
    assert not issubclass(rtmp_rs.Reject, rtmp_rs.RtmpError)
    with pytest.raises(rtmp_rs.UrlError):
        rtmp_rs.Player("http://example.invalid/live/cam")
    closed = rtmp_rs.Server(bind="127.0.0.1:0")
    url = f"{closed.url}/live/cam"
    del closed
    with pytest.raises(rtmp_rs.NetworkError):
        rtmp_rs.Publisher(url, connect_timeout=2)
    with pytest.raises(TypeError):
        rtmp_rs.Player(url, no_such_option=True)


def test_library_logs_go_to_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rtmp_rs")
    rtmp_rs.sync_log_level()
    try:
        with rtmp_rs.Server(bind="127.0.0.1:0") as server:
            rtmp_rs.Publisher(f"{server.url}/live/logged").close()
            deadline = time.monotonic() + 5
            while not any("publish" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        caplog.set_level(logging.WARNING, logger="rtmp_rs")
        rtmp_rs.sync_log_level()
    records = [r for r in caplog.records if r.name.startswith("rtmp_rs.")]
    assert any(r.levelno == logging.INFO and "key=live/logged" in r.getMessage() for r in records)
    assert all(r.name.startswith("rtmp_rs.") for r in records)
