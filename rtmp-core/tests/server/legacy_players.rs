//! Enhanced-RTMP streams to legacy players: a publisher's `avc1`/`mp4a` tags reach players whose
//! connect announced no `fourCcList` (Debian's ffmpeg 5.1, rtmpdump/librtmp, GStreamer's
//! `rtmp2src`) as codec id 7 / sound format 10, track 0 only; players that announced support get
//! the stream untouched; codecs with no legacy form (HEVC) keep their enhanced form.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_core::client::{ClientConfig, PlayerEvent, RtmpPlayer, RtmpPublisher};
use rtmp_core::flv::{FlvReader, FlvTag};
use rtmp_core::proto::media::{VideoCodec, VideoTag};
use tokio::process::Command;

use crate::support::ffmpeg::{finish, played, spawn_player};
use crate::support::{Audio, Hook, Publish, TestServer, Video, config, ffmpeg5, ffmpeg9, gstreamer};

/// Seconds of media the enhanced publisher sends.
const SECONDS: u32 = 9;

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-legacy-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// An H.264 (with one B-frame between references: the B-frames have a composition time of 0, the others not) + AAC FLV made by ffmpeg 9.
async fn legacy_flv(dir: &Path) -> Vec<FlvTag> {
    let path = dir.join("source.flv");
    let mut cmd = Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]);
    cmd.args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]);
    cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
    cmd.args(["-t", &SECONDS.to_string(), "-g", "25", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "1"]);
    cmd.args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv"]).arg(&path);
    let run = finish(
        cmd.stdin(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true).spawn().unwrap(),
        Duration::from_secs(60),
    )
    .await;
    assert!(run.success(), "ffmpeg 9 could not write the FLV: {run:?}");
    let mut reader = FlvReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    std::iter::from_fn(|| reader.next_tag().unwrap()).collect()
}

fn tag(tag_type: u8, timestamp: u32, header: &[u8], body: &[u8]) -> FlvTag {
    FlvTag { tag_type, timestamp, data: Bytes::from([header, body].concat()) }
}

/// The Enhanced-RTMP v2 form of a legacy H.264/AAC tag, as OBS 30+ with Enhanced Broadcasting
/// (multitrack) writes it (plugins/obs-outputs/flv-mux.c): video as `avc1` ExHeader packets
/// (SequenceStart, CodedFrames with its SI24 CTS, CodedFramesX when the CTS is 0, SequenceEnd),
/// every fourth video frame wrapped in a OneTrack multitrack packet of track 0; audio as `mp4a`
/// (SequenceStart, CodedFrames) plus a second rendition as OneTrack track 1, which only E-RTMP
/// players may get. Script tags are sent as they are.
fn enhance(source: &FlvTag, index: usize) -> Vec<FlvTag> {
    let (t, ts, data) = (source.tag_type, source.timestamp, &source.data[..]);
    match t {
        9 => {
            let frame_type = data[0] >> 4;
            let (packet_type, cts, body) = (data[1], &data[2..5], &data[5..]);
            let ex = |packet: u8| 0x80 | (frame_type << 4) | packet;
            let (packet, with_cts) = match packet_type {
                0 => (0, false),
                1 if cts == [0, 0, 0] => (3, false),
                1 => (1, true),
                _ => (2, false),
            };
            let cts: &[u8] = if with_cts { cts } else { &[] };
            if packet != 0 && index.is_multiple_of(4) {
                let header = [&[ex(6), packet][..], b"avc1", &[0], cts].concat();
                vec![tag(9, ts, &header, body)]
            } else {
                vec![tag(9, ts, &[&[ex(packet)][..], b"avc1", cts].concat(), body)]
            }
        }
        8 => {
            let packet = data[1];
            vec![
                tag(8, ts, &[&[0x90 | packet][..], b"mp4a"].concat(), &data[2..]),
                tag(8, ts, &[&[0x95, packet][..], b"mp4a", &[1]].concat(), &data[2..]),
            ]
        }
        _ => vec![source.clone()],
    }
}

/// Publishes `tags` at real-time pace with our client.
async fn publish(url: String, tags: Vec<FlvTag>) {
    let mut publisher = RtmpPublisher::connect(&url, ClientConfig::default()).await.expect("publish");
    let started = Instant::now();
    for tag in &tags {
        tokio::time::sleep_until((started + Duration::from_millis(u64::from(tag.timestamp))).into()).await;
        publisher.send_tag(tag).await.expect("send");
    }
    publisher.close().await.expect("close");
}

/// What one of our players received in `span`: (type, timestamp, payload).
async fn receive(url: &str, enhanced_rtmp: bool, span: Duration) -> Vec<(u8, u32, Bytes)> {
    let config = ClientConfig { enhanced_rtmp, ..ClientConfig::default() };
    let mut player = RtmpPlayer::connect(url, config).await.expect("play");
    let mut got = Vec::new();
    let end = tokio::time::Instant::now() + span;
    while let Ok(Ok(Some(event))) = tokio::time::timeout_at(end, player.next_event()).await {
        match event {
            PlayerEvent::Video { timestamp, payload, .. } => got.push((9, timestamp, payload)),
            PlayerEvent::Audio { timestamp, payload, .. } => got.push((8, timestamp, payload)),
            PlayerEvent::StreamEnd => break,
            _ => {}
        }
    }
    player.close().await;
    got
}

fn by_key(tags: &[FlvTag]) -> HashMap<(u8, u32), Vec<Bytes>> {
    let mut map: HashMap<(u8, u32), Vec<Bytes>> = HashMap::new();
    for tag in tags.iter().filter(|t| t.tag_type != 18) {
        map.entry((tag.tag_type, tag.timestamp)).or_default().push(tag.data.clone());
    }
    map
}

/// Decoded frames' timestamps cover `span_ms`; at least 90 % of the frames sent in it decoded.
fn check_window(name: &str, kind: &str, stamps: &[u64], frame_ms: f64) {
    let (first, last) =
        (stamps.iter().min().copied().unwrap_or(0), stamps.iter().max().copied().unwrap_or(0));
    let span = last - first;
    let sent = span as f64 / frame_ms + 1.0;
    println!("{name}: {} {kind} frames over {span} ms ({sent:.0} sent)", stamps.len());
    assert!(span >= 1_500, "{name}: {kind} covers only {span} ms");
    assert!(stamps.len() as f64 >= 0.9 * sent, "{name}: {} {kind} frames of {sent:.0}", stamps.len());
}

/// `pts` of each decoded frame of `kind` in ffmpeg's framemd5 output, in ms.
fn framemd5_stamps(stdout: &str, kind: &str) -> Vec<u64> {
    let mut streams = HashMap::new();
    let mut bases = HashMap::new();
    let mut stamps = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("#media_type ") {
            if let Some((i, k)) = rest.split_once(": ") {
                streams.insert(i.trim().to_owned(), k.trim().to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("#tb ") {
            if let Some((i, tb)) = rest.split_once(": ")
                && let Some((n, d)) = tb.trim().split_once('/')
            {
                bases.insert(i.trim().to_owned(), n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap());
            }
        } else if !line.starts_with('#') {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() > 2 && streams.get(fields[0]).is_some_and(|k| k == kind) {
                let pts: f64 = fields[2].parse().unwrap();
                stamps.push((pts * bases[fields[0]] * 1000.0) as u64);
            }
        }
    }
    stamps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_players_decode_an_enhanced_h264_aac_stream_and_e_rtmp_players_get_it_untouched() {
    let dir = scratch("h264");
    let source = legacy_flv(&dir).await;
    let mut index = 0;
    let enhanced: Vec<FlvTag> = source
        .iter()
        .flat_map(|t| {
            index += usize::from(t.tag_type == 9);
            enhance(t, index)
        })
        .collect();
    let with_cts = enhanced.iter().filter(|t| t.tag_type == 9 && t.data[0] & 0x0f == 1).count();
    let without = enhanced.iter().filter(|t| t.tag_type == 9 && t.data[0] & 0x0f == 3).count();
    assert!(with_cts > 20 && without > 20, "CodedFrames {with_cts}, CodedFramesX {without}");

    let server = TestServer::start(config());
    let url = server.url("live/cam");
    let publishing = tokio::spawn(publish(url.clone(), enhanced.clone()));
    server.wait_live("cam", Duration::from_secs(10)).await;
    // Late joiners: the GOP cache (1 s GOPs) starts them.
    tokio::time::sleep(Duration::from_millis(1_300)).await;

    let ffmpeg5_player = spawn_player(&ffmpeg5(), &url, 4.0);
    let ffmpeg9_player = spawn_enhanced_ffmpeg9(&url, 4.0);
    let dump = dir.join("rtmpdump.flv");
    let mut rtmpdump = Command::new("rtmpdump")
        .args(["-q", "-r", &url, "--live", "-o"])
        .arg(&dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("rtmpdump (apt-get install rtmpdump)");
    let gst = spawn_gstreamer_decoder(&url);
    let legacy = tokio::spawn({
        let url = url.clone();
        async move { receive(&url, false, Duration::from_secs(4)).await }
    });
    let modern = tokio::spawn({
        let url = url.clone();
        async move { receive(&url, true, Duration::from_secs(4)).await }
    });

    // (b) rtmpdump, killed by its pid after 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    rtmpdump.start_kill().expect("kill rtmpdump");
    let _ = rtmpdump.wait().await;

    // Our own players: exact bytes.
    let published = by_key(&enhanced);
    let original = by_key(&source);
    let modern = modern.await.unwrap();
    assert!(modern.len() > 150, "{} messages", modern.len());
    for (t, ts, payload) in &modern {
        assert!(
            published[&(*t, *ts)].contains(payload),
            "E-RTMP player: ({t}, {ts}) {payload:02x?} was not published"
        );
    }
    assert!(modern.iter().any(|(_, _, p)| p[0] == 0x95), "the E-RTMP player gets track 1 too");
    let legacy = legacy.await.unwrap();
    assert!(legacy.len() > 150, "{} messages", legacy.len());
    for (t, ts, payload) in &legacy {
        assert!(
            original[&(*t, *ts)].contains(payload),
            "legacy player: ({t}, {ts}) {payload:02x?} is not the legacy form"
        );
    }
    // It joined late: headers first, then the cached GOP from its keyframe, all legacy.
    let video: Vec<&Bytes> = legacy.iter().filter(|m| m.0 == 9).map(|m| &m.2).collect();
    assert_eq!(&video[0][..2], &[0x17, 0x00], "the AVC sequence header");
    assert_eq!(&video[1][..2], &[0x17, 0x01], "then a keyframe");
    assert_eq!(legacy.iter().filter(|m| m.0 == 8 && m.2[1] == 0).count(), 1, "one AAC header: track 0's");

    // (a) ffmpeg 5.1 and ffmpeg 9 decode.
    for (name, player) in [("ffmpeg 5.1", ffmpeg5_player), ("ffmpeg 9", ffmpeg9_player)] {
        let played = played(player, Duration::from_secs(20)).await;
        assert!(played.run.success(), "{name}: {:?}", played.run);
        check_window(name, "video", &framemd5_stamps(&played.run.stdout, "video"), 40.0);
        check_window(name, "audio", &framemd5_stamps(&played.run.stdout, "audio"), 1024.0 / 48.0);
        assert_eq!(played.dimensions.as_deref(), Some("320x240"), "{name}");
    }

    // (b) what rtmpdump wrote is legacy FLV that ffmpeg 5.1 decodes.
    let mut reader = FlvReader::new(std::fs::File::open(&dump).unwrap()).expect("rtmpdump wrote an FLV");
    let tags: Vec<FlvTag> = std::iter::from_fn(|| reader.next_tag().ok().flatten()).collect();
    assert!(tags.iter().filter(|t| t.tag_type == 9).all(|t| t.data[0] & 0x0f == 7 && t.data[0] & 0x80 == 0));
    assert!(tags.iter().filter(|t| t.tag_type == 8).all(|t| t.data[0] == 0xaf));
    let decoded =
        played(spawn_player(&ffmpeg5(), dump.to_str().unwrap(), 60.0), Duration::from_secs(20)).await;
    assert!(decoded.run.success(), "ffmpeg 5.1 on rtmpdump's FLV: {:?}", decoded.run);
    check_window("rtmpdump", "video", &framemd5_stamps(&decoded.run.stdout, "video"), 40.0);
    check_window("rtmpdump", "audio", &framemd5_stamps(&decoded.run.stdout, "audio"), 1024.0 / 48.0);

    // (c) GStreamer decodes (it ends at the publisher's end).
    publishing.await.unwrap();
    let run = finish(gst, Duration::from_secs(15)).await;
    assert!(run.success(), "GStreamer: {run:?}");
    let buffers = gstreamer::buffers(&run.stdout);
    let stamps = |sink: &str| buffers.iter().filter(|(s, _)| s == sink).map(|(_, t)| *t).collect::<Vec<_>>();
    check_window("GStreamer", "video", &stamps("video"), 40.0);
    check_window("GStreamer", "audio", &stamps("audio"), 1024.0 / 48.0);

    // Who announced what: our publisher, our E-RTMP player and ffmpeg 9 sent a fourCcList; the
    // legacy ones (ffmpeg 5.1 twice, rtmpdump, GStreamer, our legacy player) did not.
    let fourccs: Vec<bool> = server
        .rec
        .hooks(|h| matches!(h, Hook::Connect { .. }))
        .iter()
        .map(|h| matches!(h, Hook::Connect { fourccs, .. } if !fourccs.is_empty()))
        .collect();
    assert_eq!(fourccs.iter().filter(|e| **e).count(), 3, "{fourccs:?}");
    assert_eq!(fourccs.iter().filter(|e| !**e).count(), 4, "{fourccs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ffmpeg 9 player that announces E-RTMP support: without `-rtmp_enhanced_codecs` its
/// connect has no `fourCcList` (it is a legacy player then).
fn spawn_enhanced_ffmpeg9(url: &str, seconds: f64) -> tokio::process::Child {
    let mut cmd = Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]);
    cmd.args(["-rtmp_enhanced_codecs", "avc1,mp4a", "-i", url]);
    cmd.args(["-t", &seconds.to_string(), "-f", "framemd5", "-"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().expect("ffmpeg 9")
}

/// `rtmp2src ! flvdemux`, decoding H.264 (openh264dec) and AAC (faad) into silent=false
/// fakesinks named `video` and `audio`.
fn spawn_gstreamer_decoder(url: &str) -> tokio::process::Child {
    for element in ["rtmp2src", "flvdemux", "h264parse", "openh264dec", "aacparse", "faad"] {
        let ok = std::process::Command::new("gst-inspect-1.0")
            .arg(element)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "GStreamer element {element} is missing: apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
        );
    }
    let pipeline = format!(
        "rtmp2src location={url} ! flvdemux name=demux \
         demux.video ! queue ! h264parse ! openh264dec ! fakesink name=video silent=false sync=false \
         demux.audio ! queue ! aacparse ! faad ! fakesink name=audio silent=false sync=false"
    );
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.arg("-v").arg("-e").args(pipeline.split_whitespace());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().expect("gst-launch-1.0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_keeps_its_enhanced_form_for_legacy_players() {
    let server = TestServer::start(config());
    let url = server.url("live/cam");
    let publishing = Publish::new(ffmpeg9(), Video::Hevc, Audio::Aac, 5.0).gop(25).spawn(&url);
    server.wait_live("cam", Duration::from_secs(10)).await;
    let (legacy, modern) = tokio::join!(
        receive(&url, false, Duration::from_secs(3)),
        receive(&url, true, Duration::from_secs(3))
    );
    let video = |got: &[(u8, u32, Bytes)]| -> HashMap<u32, Bytes> {
        got.iter().filter(|m| m.0 == 9).map(|m| (m.1, m.2.clone())).collect()
    };
    let (legacy_video, modern_video) = (video(&legacy), video(&modern));
    assert!(legacy_video.len() > 40, "{} video messages", legacy_video.len());
    for (ts, payload) in &legacy_video {
        let tag = VideoTag::parse(payload).expect("parses");
        assert!(tag.is_enhanced() && tag.codec() == VideoCodec::Hevc, "{payload:02x?}");
        if let Some(same) = modern_video.get(ts) {
            assert_eq!(same, payload, "the same bytes at {ts}");
        }
    }
    let run = finish(publishing, Duration::from_secs(15)).await;
    assert!(run.success(), "{run:?}");
}
