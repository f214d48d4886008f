"""examples/python/pyav_pipeline.py end to end: ffmpeg publishes live/cam, the example decodes,
draws and re-encodes it with PyAV into live/cam_processed of the same server, ffmpeg players
decode that."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import ffmpeg_play, ffmpeg_publish, played


def test_pyav_pipeline_with_ffmpeg(examples: Path, ffmpeg: str, tmp_path: Path) -> None:
    err_file = (tmp_path / "pipeline.err").open("w+")
    # This interpreter: it has av and numpy (the fresh example venvs hold only the wheel).
    example = subprocess.Popen(
        [sys.executable, str(examples / "pyav_pipeline.py"), "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=err_file,
        text=True,
    )

    def stderr() -> str:
        err_file.seek(0)
        return err_file.read()

    try:
        deadline = time.monotonic() + 20
        addr = None
        while addr is None and time.monotonic() < deadline:
            found = re.search(r"^listening on rtmp://(\S+)$", stderr(), re.M)
            addr = found.group(1) if found else None
            time.sleep(0.05)
        assert addr, f"pyav_pipeline did not start: {stderr()}"

        source = ffmpeg_publish(ffmpeg, f"rtmp://{addr}/live/cam", 8)
        # Plays from the start (it waits for the stream to be published).
        player = ffmpeg_play(ffmpeg, f"rtmp://{addr}/live/cam_processed", 30)
        time.sleep(3.0)
        # One picture, mid-stream, as RGB: the box the example draws is there.
        args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", f"rtmp://{addr}/live/cam_processed"]
        args += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        picture = subprocess.run(args, capture_output=True, timeout=30).stdout
        assert source.wait(timeout=60) == 0
        video, audio, player_err = played(player, 30)
    finally:
        example.terminate()
        out, _ = example.communicate(timeout=20)
    assert example.returncode == 0, stderr()
    log = stderr()
    assert "subscribed to live/cam" in log and "publishing live/cam_processed: 320x240 at 25 fps" in log, log
    assert "Traceback" not in log, log
    # ffmpeg sent 8 s at 25 fps; the processed stream decodes (its sound passed through).
    assert video >= 60, (video, player_err, log)
    assert audio >= 60, (audio, player_err, log)
    assert len(picture) == 320 * 240 * 3
    at = (9 * 320 + 9) * 3  # inside the box, left of the counter
    red, green, blue = picture[at : at + 3]
    assert red > 150 and green < 90 and blue < 90, (red, green, blue)  # the box: (200, 30, 30)
    rates = [tuple(map(int, m)) for m in re.findall(r"^fps decoded=(\d+) encoded=(\d+)$", out, re.M)]
    assert rates and max(d for d, _ in rates) >= 20 and max(e for _, e in rates) >= 20, out
