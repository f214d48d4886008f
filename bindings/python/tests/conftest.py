"""Shared fixtures: the real ffmpeg, media helpers, a recording handler."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "python"

# A legacy AVC sequence header (AVCDecoderConfigurationRecord) and NAL unit frames, enough for
# the server to parse codec, frame type and CTS; the bytes after the header are arbitrary.
AVC_SEQUENCE_HEADER = bytes.fromhex("1700000000" + "0164001fffe1") + b"\x00\x04gd\x00\x1f" + b"\x01\x00\x04h\xee<\x80"
AAC_SEQUENCE_HEADER = bytes.fromhex("af001210")


async def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Polls ``probe`` until it returns something truthy (and returns it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


def avc_frame(keyframe: bool, fill: int, size: int = 64, cts: int = 0) -> bytes:
    head = bytes([0x17 if keyframe else 0x27, 1]) + cts.to_bytes(3, "big")
    return head + (size - 4).to_bytes(4, "big") + bytes([fill]) * (size - 4)


def aac_frame(fill: int, size: int = 32) -> bytes:
    return bytes([0xAF, 1]) + bytes([fill]) * size


def find_ffmpeg() -> str:
    explicit = os.environ.get("RTMP_RS_FFMPEG")
    if explicit:
        return explicit
    found = shutil.which("ffmpeg-9")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return find_ffmpeg()


def ffmpeg_source_args(seconds: float) -> list[str]:
    return [
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k",
    ]  # fmt: skip


def ffmpeg_publish(ffmpeg: str, url: str, seconds: float) -> subprocess.Popen[bytes]:
    """ffmpeg publishing test video (H.264, 25 fps, keyframe every second) and AAC in real time."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", *ffmpeg_source_args(seconds)]
    return subprocess.Popen([*args, "-f", "flv", url], stderr=subprocess.PIPE)


def ffmpeg_play(ffmpeg: str, url: str, seconds: float) -> subprocess.Popen[str]:
    """An ffmpeg player of ``url`` that decodes up to ``seconds`` of media (less if the stream
    ends) to framemd5 on stdout: one line per decoded frame. Count them with ``played``."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-i", url]
    return subprocess.Popen(
        [*args, "-t", str(seconds), "-f", "framemd5", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def played(player: subprocess.Popen[str], timeout: float) -> tuple[int, int, str]:
    """Waits for an ``ffmpeg_play`` player (SIGTERM past ``timeout``: ffmpeg then finishes its
    output) and counts the (video, audio) frames it decoded; also returns its stderr."""
    try:
        out, err = player.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        player.terminate()
        out, err = player.communicate(timeout=10)
    kinds: dict[str, str] = {}
    counts = {"video": 0, "audio": 0}
    for line in out.splitlines():
        if line.startswith("#media_type "):
            index, _, kind = line[len("#media_type ") :].partition(": ")
            kinds[index.strip()] = kind.strip()
        elif line and not line.startswith("#"):
            kind = kinds.get(line.split(",", 1)[0].strip(), "")
            if kind in counts:
                counts[kind] += 1
    return counts["video"], counts["audio"], err


@pytest.fixture(scope="session")
def flv_file(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of H.264 + AAC in an FLV file (made as fast as ffmpeg can)."""
    path = tmp_path_factory.mktemp("media") / "test.flv"
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *ffmpeg_source_args(2), str(path)]
    subprocess.run(args, check=True, timeout=60)
    return path


@pytest.fixture
def python() -> str:
    """The interpreter that runs the examples: this one, or RTMP_RS_EXAMPLE_PYTHON (the test script
    points it at fresh venvs holding only the built wheel)."""
    return os.environ.get("RTMP_RS_EXAMPLE_PYTHON") or sys.executable


@pytest.fixture
def examples() -> Iterator[Path]:
    yield EXAMPLES


NGINX = Path("/usr/sbin/nginx")
NGINX_RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def free_port() -> int:
    """A loopback port nobody listens on now (also a dead upstream: connecting is refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Nginx:
    """nginx-rtmp (a server no one here wrote) with one ``live`` application, on a free
    loopback port with its own config; killed by pid when done."""

    def __init__(self, root: Path) -> None:
        if not (NGINX.exists() and NGINX_RTMP_MODULE.exists()):
            raise RuntimeError(
                "nginx-rtmp is missing: apt-get install nginx-light libnginx-mod-rtmp "
                "(the relay tests need it; they are never skipped)"
            )
        import socket
        import time

        self.port = free_port()
        self.dir = root
        (root / "logs").mkdir(parents=True, exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = root / "nginx.conf"
        conf.write_text(
            f"load_module {NGINX_RTMP_MODULE};\n{user}\nworker_processes 1;\ndaemon off;\nmaster_process off;\n"
            f"error_log {root}/logs/error.log info;\npid {root}/nginx.pid;\n"
            "events { worker_connections 256; }\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{self.port}; chunk_size 4096;\n"
            "application live { live on; record off; } } }\n"
        )
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(root), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start (see {root}/logs)") from None
                time.sleep(0.05)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        """``rtmp://127.0.0.1:PORT/live/NAME``."""
        return f"rtmp://{self.addr}/live/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """A fresh nginx-rtmp for one test."""
    server = Nginx(tmp_path / "nginx")
    try:
        yield server
    finally:
        server.stop()
