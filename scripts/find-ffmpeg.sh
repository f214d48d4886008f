# Sourced by the test scripts: sets FFMPEG (and exports RTMP_RS_FFMPEG) to ffmpeg 9 — the
# RTMP_RS_FFMPEG given, ffmpeg-9 on PATH, or PyPI's imageio-ffmpeg installed into .venv.
FFMPEG=${RTMP_RS_FFMPEG:-}
if [ -z "$FFMPEG" ] && command -v ffmpeg-9 >/dev/null; then
    FFMPEG=$(command -v ffmpeg-9)
fi
if [ -z "$FFMPEG" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "imageio-ffmpeg==0.8.1"
    FFMPEG=$(.venv/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')
fi
export RTMP_RS_FFMPEG=$FFMPEG
