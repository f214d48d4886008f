"""examples/python end to end with the real ffmpeg: auth_server.py and player.py."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from conftest import ffmpeg_publish


def test_auth_server_and_player_with_ffmpeg(python: str, examples: Path, ffmpeg: str, tmp_path: Path) -> None:
    server_err = (tmp_path / "server.err").open("w+")
    server = subprocess.Popen(
        [python, str(examples / "auth_server.py"), "--bind", "127.0.0.1:0", "--publish-token", "s3cret"],
        stdout=subprocess.PIPE,
        stderr=server_err,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        addr = None
        while addr is None and time.monotonic() < deadline:
            server_err.seek(0)
            found = re.search(r"^listening on rtmp://(\S+)$", server_err.read(), re.M)
            addr = found.group(1) if found else None
            time.sleep(0.05)
        assert addr, "auth_server did not start"

        wrong = ffmpeg_publish(ffmpeg, f"rtmp://{addr}/live/cam?token=wrong", 1)
        assert wrong.wait(timeout=30) != 0, "ffmpeg published with a wrong token"

        right = ffmpeg_publish(ffmpeg, f"rtmp://{addr}/live/cam?token=s3cret", 3)
        time.sleep(1.0)
        player = subprocess.run(
            [python, str(examples / "player.py"), f"rtmp://{addr}/live/cam", "--duration", "1.5"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert player.returncode == 0, player.stderr
        counts = re.fullmatch(r"video=(\d+) audio=(\d+) keyframes=(\d+)\n", player.stdout)
        assert counts, player.stdout
        video, audio, keyframes = map(int, counts.groups())
        assert video >= 20 and audio >= 20 and keyframes >= 1

        assert right.wait(timeout=30) == 0
        time.sleep(0.3)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert server.returncode == 0
    lines = out.splitlines()
    server_err.seek(0)
    assert "refused publish of cam?token=wrong: bad token" in server_err.read()
    assert lines[0] == "connect app=live"
    assert "publish live/cam" in lines and "play live/cam" in lines and "unpublish live/cam" in lines
    keyframes_seen = [line for line in lines if line.startswith("keyframe ")]
    assert keyframes_seen and all(re.fullmatch(r"keyframe live/cam ts=\d+", k) for k in keyframes_seen)
    assert lines.count("disconnect") == 3  # wrong publisher, right publisher, player
    known = re.compile(r"connect app=live|publish live/cam|keyframe live/cam ts=\d+|unpublish live/cam|play live/cam|disconnect")
    assert all(known.fullmatch(line) for line in lines), lines
