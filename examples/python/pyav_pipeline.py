#!/usr/bin/env python3
"""An RTMP server with a video pipeline inside: it decodes a stream, draws on its pictures and
publishes the result as another stream of the same server, all in-process.

    pip install rtmp-rs av numpy
    python pyav_pipeline.py --bind 127.0.0.1:1935
    ffmpeg -re -i in.mp4 -c:v libx264 -c:a aac -f flv rtmp://127.0.0.1:1935/live/cam
    ffplay rtmp://127.0.0.1:1935/live/cam_processed

It subscribes to ``live/cam`` (``--source``; waiting for it to be published), decodes its H.264
video with PyAV into numpy arrays, draws a box with a frame counter on each picture (numpy
only), encodes it again with PyAV's libx264 (ultrafast, zerolatency, a keyframe a second) and
publishes ``live/cam_processed`` (``--output``) through a local publisher, the audio passed
through untouched. Network players of the output get what they would get from any RTMP
publisher: the GOP cache when they join late, UnpublishNotify when the source goes.

stderr: "listening on rtmp://ADDR", then what happens to the streams. stdout, once a second:
"fps decoded=N encoded=M". Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from fractions import Fraction
from types import FrameType
from typing import Optional

import av
import av.codec.context
import numpy as np
import numpy.typing as npt

import rtmp_rs

MS = Fraction(1, 1000)  # FLV timestamps are milliseconds

# A 3x5 bitmap font for the frame counter.
DIGITS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
}
GLYPHS = {d: np.array([[c == "#" for c in row] for row in rows], dtype=bool) for d, rows in DIGITS.items()}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def draw(picture: npt.NDArray[np.uint8], counter: int, scale: int = 4) -> None:
    """A filled box in the top left corner with ``counter`` in it, in place (RGB)."""
    text = str(counter)
    glyph_w, glyph_h, pad = 3 * scale, 5 * scale, scale
    box_w = pad + len(text) * (glyph_w + pad)
    box_h = glyph_h + 2 * pad
    height, width = picture.shape[:2]
    box = picture[8 : min(8 + box_h, height), 8 : min(8 + box_w, width)]
    box[:] = (200, 30, 30)
    for i, digit in enumerate(text):
        mask = np.kron(GLYPHS[digit], np.ones((scale, scale), dtype=bool))
        x = pad + i * (glyph_w + pad)
        area = box[pad : pad + glyph_h, x : x + glyph_w]
        area[mask[: area.shape[0], : area.shape[1]]] = (255, 255, 255)


# ----------------------------------------------------------------------------- H.264 in FLV


def annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (what libx264 writes)."""
    units = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        following = data.find(b"\x00\x00\x01", begin)
        # A unit never ends in a zero byte: trailing zeros belong to the next start code.
        unit = data[begin:] if following < 0 else data[begin:following].rstrip(b"\x00")
        if unit:
            units.append(unit)
        start = following
    return units


def avc_sequence_header(extradata: bytes) -> bytes:
    """The FLV AVC sequence header: an AVCDecoderConfigurationRecord ("avcC") made from the
    encoder's SPS and PPS. libx264's global header is Annex B, as its packets are."""
    units = annexb_units(extradata)
    sps = [u for u in units if u[0] & 0x1F == 7]
    pps = [u for u in units if u[0] & 0x1F == 8]
    if not sps or not pps:
        raise ValueError("the encoder's extradata holds no SPS/PPS")
    record = bytes([1, sps[0][1], sps[0][2], sps[0][3], 0xFC | 3, 0xE0 | len(sps)])
    for unit in sps:
        record += len(unit).to_bytes(2, "big") + unit
    record += bytes([len(pps)])
    for unit in pps:
        record += len(unit).to_bytes(2, "big") + unit
    # Frame type 1 (key) with codec 7 (AVC), AVC packet type 0 (sequence header), CTS 0.
    return bytes([0x17, 0, 0, 0, 0]) + record


def avc_video_tag(packet: bytes, keyframe: bool, composition_time: int) -> bytes:
    """An FLV AVC video tag body: 0x17 (keyframe) or 0x27, AVC packet type 1 (NAL units), the
    composition time (SI24, ms), then the NAL units each prefixed with its 4-byte length."""
    head = bytes([0x17 if keyframe else 0x27, 1]) + (composition_time & 0xFFFFFF).to_bytes(3, "big")
    return head + b"".join(len(u).to_bytes(4, "big") + u for u in annexb_units(packet))


# ----------------------------------------------------------------------------- the pipeline


class Pipeline:
    """One published run of the source: a decoder, an encoder and the output publisher."""

    def __init__(self, server: rtmp_rs.Server, output: str, fps: Optional[float]) -> None:
        self.server = server
        self.output_key = output
        self.fps = fps
        self.decoder: Optional[av.VideoCodecContext] = None
        self.encoder: Optional[av.VideoCodecContext] = None
        self.output: Optional[rtmp_rs.LocalPublisher] = None
        self.audio_header: Optional[rtmp_rs.Frame] = None
        self.pictures = 0  # drawn into the counter
        self.decoded = 0
        self.encoded = 0

    def handle(self, frame: rtmp_rs.Frame) -> None:
        if frame.kind == "metadata":
            metadata = frame.metadata or {}
            if self.fps is None and isinstance(metadata.get("framerate"), float) and metadata["framerate"] > 0:
                self.fps = metadata["framerate"]
        elif frame.kind == "audio":
            if frame.is_sequence_header:
                self.audio_header = frame
            if self.output is not None:
                self.output.send_frame(frame)  # passed through, not copied
        elif frame.kind == "video" and frame.codec == "avc1":
            if frame.is_sequence_header:
                decoder = av.CodecContext.create("h264", "r")
                assert isinstance(decoder, av.VideoCodecContext)
                decoder.extradata = bytes(frame.body)  # the source's avcC
                self.decoder = decoder
            elif self.decoder is not None and len(frame.body) > 0:
                self.decode(frame)

    def decode(self, frame: rtmp_rs.Frame) -> None:
        assert self.decoder is not None
        packet = av.Packet(bytes(frame.body))  # length-prefixed NAL units, as avcC says
        packet.dts = frame.timestamp
        packet.pts = frame.timestamp + frame.composition_time
        packet.time_base = MS
        for picture in self.decoder.decode(packet):
            assert isinstance(picture, av.VideoFrame)
            self.decoded += 1
            pixels = np.asarray(picture.to_ndarray(format="rgb24"), dtype=np.uint8)  # height x width x 3
            self.pictures += 1
            draw(pixels, self.pictures)
            out = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
            out.pts = picture.pts if picture.pts is not None else frame.timestamp
            out.time_base = MS
            self.encode(out)

    def open_encoder(self, width: int, height: int) -> av.VideoCodecContext:
        fps = self.fps or 25.0
        encoder = av.CodecContext.create("libx264", "w")
        assert isinstance(encoder, av.VideoCodecContext)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.time_base = MS
        encoder.framerate = Fraction(fps).limit_denominator(1001)
        encoder.gop_size = max(1, round(fps))  # a keyframe a second: late joiners start fast
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
        encoder.flags |= av.codec.context.Flags.global_header  # SPS/PPS in extradata
        encoder.open()
        extradata = encoder.extradata
        if extradata is None:
            raise RuntimeError("libx264 gave no global header")
        self.output = self.server.publish(self.output_key)
        self.output.send_metadata(
            {"width": width, "height": height, "framerate": fps, "videocodecid": 7, "audiocodecid": 10,
             "encoder": "rtmp_rs pyav_pipeline"}  # fmt: skip
        )
        self.output.send_video(0, avc_sequence_header(bytes(extradata)))
        if self.audio_header is not None:
            self.output.send_frame(self.audio_header)
        say(f"publishing {self.output_key}: {width}x{height} at {fps:g} fps")
        return encoder

    def encode(self, picture: Optional[av.VideoFrame]) -> None:
        if self.encoder is None:
            if picture is None:
                return
            self.encoder = self.open_encoder(picture.width, picture.height)
        for packet in self.encoder.encode(picture):
            if packet.pts is None or packet.dts is None or self.output is None:
                continue
            self.encoded += 1
            tag = avc_video_tag(bytes(packet), packet.is_keyframe, packet.pts - packet.dts)
            self.output.send_video(packet.dts, tag)

    def close(self) -> None:
        """The source went: flush the encoder and unpublish the output."""
        try:
            self.encode(None)
        except av.error.EOFError:
            pass
        if self.output is not None:
            self.output.close()
            say(f"unpublished {self.output_key}")
        self.decoder = self.encoder = self.output = None


def stop_on_sigterm(_signum: int, _frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description="RTMP server that draws on a stream and republishes it")
    parser.add_argument("--bind", required=True, help="address to listen on, IP:PORT")
    parser.add_argument("--source", default="live/cam", help="stream to process (default live/cam)")
    parser.add_argument("--output", default="live/cam_processed", help="stream to publish (default live/cam_processed)")
    parser.add_argument("--fps", type=float, help="output frame rate (default: the source's metadata, else 25)")
    args = parser.parse_args()
    try:
        server = rtmp_rs.Server(bind=args.bind)
    except (rtmp_rs.RtmpError, ValueError) as error:
        print(f"pyav_pipeline: {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    server.start()
    say(f"listening on rtmp://{server.local_addr}")
    pipeline = Pipeline(server, args.output, args.fps)
    subscription: Optional[rtmp_rs.Subscription] = None
    try:
        # Wait for the source, then read it for as long as the server runs; a subscription
        # outlives unpublish and republish.
        while subscription is None:
            try:
                subscription = server.subscribe(args.source, wait=1.0)
            except rtmp_rs.StreamNotFoundError:
                continue
        say(f"subscribed to {args.source}")
        second = time.monotonic() + 1.0
        while True:
            item = subscription.next(timeout=max(0.0, second - time.monotonic()))
            if isinstance(item, rtmp_rs.Frame):
                pipeline.handle(item)
            elif item is not None:
                if item.kind == "unpublished":
                    say(f"{args.source} unpublished")
                    pipeline.close()
                elif item.kind == "published":
                    say(f"{args.source} published again")
                elif item.kind == "dropped":
                    say(f"fell behind: {item.video} video frames dropped")
            if time.monotonic() >= second:
                print(f"fps decoded={pipeline.decoded} encoded={pipeline.encoded}", flush=True)
                pipeline.decoded = pipeline.encoded = 0
                second += 1.0
    except KeyboardInterrupt:
        pass
    except rtmp_rs.ClosedError:
        pass  # the server stopped
    finally:
        pipeline.close()
        if subscription is not None:
            subscription.close()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
