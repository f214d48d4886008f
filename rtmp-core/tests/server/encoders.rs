//! Encoders that send what the core does not expect (issue 23): sequence headers that change
//! mid-stream, sequence headers repeated before every keyframe, audio-only and video-only streams
//! (with and without truthful `onMetaData`), a bare `onMetaData`, and other data messages.
//!
//! Where ffmpeg 9 can produce the case it publishes; otherwise a raw publisher (our client
//! session) sends tags read from FLV files ffmpeg 9 encoded, rearranged the way the named
//! encoders send them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_core::flv::{FlvReader, FlvTag};
use rtmp_core::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use rtmp_core::proto::chunk::encode_shared;
use rtmp_core::proto::media::{AudioTag, VideoTag};
use rtmp_core::proto::message::DataMessage;
use rtmp_core::proto::session::ClientEvent;
use tokio::process::Command;

use crate::support::ffmpeg::{finish, played, spawn_player};
use crate::support::{Hook, TestClient, TestServer, config, eventually, ffmpeg5, ffmpeg9};

const LIMIT: Duration = Duration::from_secs(20);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-encoders-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Encodes `seconds` of lavfi test video (`size`, 25 fps, a keyframe every second) and/or AAC
/// audio into an FLV file with ffmpeg 9, and returns its tags.
async fn encode(dir: &Path, size: &str, seconds: f64, video: bool, audio: bool) -> Vec<FlvTag> {
    let path = dir.join(format!("{size}-{video}-{audio}.flv"));
    let mut cmd = Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"]);
    cmd.args(["-f", "lavfi", "-i", &format!("testsrc=size={size}:rate=25")]);
    cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &seconds.to_string()]);
    cmd.args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p"]);
    cmd.args(["-c:a", "aac", "-b:a", "64k"]);
    if !video {
        cmd.arg("-vn");
    }
    if !audio {
        cmd.arg("-an");
    }
    let status = cmd.arg(&path).status().await.expect("run ffmpeg 9");
    assert!(status.success(), "ffmpeg 9 could not encode {}", path.display());
    let mut reader = FlvReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut tags = Vec::new();
    while let Some(tag) = reader.next_tag().unwrap() {
        tags.push(tag);
    }
    tags
}

fn is_video_header(tag: &FlvTag) -> bool {
    tag.tag_type == 9 && VideoTag::parse(&tag.data).is_ok_and(|t| t.is_sequence_header())
}

fn is_keyframe(payload: &[u8]) -> bool {
    VideoTag::parse(&Bytes::copy_from_slice(payload))
        .is_ok_and(|t| t.is_keyframe() && !t.is_sequence_header() && !t.is_sequence_end())
}

fn is_video_header_payload(payload: &[u8]) -> bool {
    VideoTag::parse(&Bytes::copy_from_slice(payload)).is_ok_and(|t| t.is_sequence_header())
}

/// A publisher on our client session, sending FLV tags as they are.
struct RawPublisher {
    client: TestClient,
    stream_id: u32,
    started: Instant,
}

impl RawPublisher {
    async fn start(server: &TestServer, name: &str) -> Self {
        let mut client = TestClient::connect(server.addr, "live").await;
        let stream_id = client.publish(name, Duration::from_secs(3)).await.expect("publish accepted");
        Self { client, stream_id, started: Instant::now() }
    }

    /// Sends `tag` when its timestamp is due (real-time pace from the start). Script data goes
    /// as the tag holds it: ffmpeg's FLV files hold a bare `onMetaData` (no `@setDataFrame`).
    async fn send(&mut self, tag: &FlvTag) {
        let due = self.started + Duration::from_millis(u64::from(tag.timestamp));
        while self.client.read_until(due).await {}
        let session = self.client.session();
        match tag.tag_type {
            8 => session.send_audio(self.stream_id, tag.timestamp, &tag.data),
            9 => session.send_video(self.stream_id, tag.timestamp, &tag.data),
            18 => {
                let data = DataMessage::decode(&tag.data, &AmfLimits::default()).expect("script tag");
                session.send_data(self.stream_id, tag.timestamp, &data);
            }
            other => panic!("tag type {other}"),
        }
        self.client.flush().await;
    }

    async fn send_all(&mut self, tags: &[FlvTag]) {
        for tag in tags {
            self.send(tag).await;
        }
    }

    /// Unpublishes and closes.
    async fn close(mut self) {
        let stream_id = self.stream_id;
        self.client.session().delete_stream(stream_id);
        self.client.flush().await;
        self.client.pump(Duration::from_millis(100)).await;
    }
}

/// `tags` with timestamps moved by `offset`.
fn shifted(tags: &[FlvTag], offset: u32) -> Vec<FlvTag> {
    tags.iter().map(|t| FlvTag { timestamp: t.timestamp + offset, ..t.clone() }).collect()
}

/// An ffmpeg player printing each decoded video frame's size (`showinfo`) until the stream ends.
fn spawn_size_player(bin: &Path, url: &str) -> tokio::process::Child {
    let mut cmd = Command::new(bin);
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-i", url]);
    cmd.args(["-map", "0:v", "-vf", "showinfo", "-f", "null", "-"]);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::piped()).kill_on_drop(true);
    cmd.spawn().expect("start ffmpeg 9")
}

/// How many decoded frames of each size a [`spawn_size_player`] reported, in order of first
/// appearance.
fn frame_sizes(stderr: &str) -> Vec<(String, usize)> {
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for line in stderr.lines().filter(|l| l.contains("Parsed_showinfo") && l.contains(" n:")) {
        let Some(size) = line.split_whitespace().find_map(|w| w.strip_prefix("s:")) else { continue };
        match sizes.last_mut() {
            Some((last, n)) if last == size => *n += 1,
            _ => sizes.push((size.to_owned(), 1)),
        }
    }
    sizes
}

/// GStreamer's RTMP player decoding H.264 (`rtmp2src ! flvdemux ! h264parse ! openh264dec`), the
/// decoder's caps and each decoded frame printed (`-v`), until the stream ends.
fn spawn_gstreamer_decoder(url: &str) -> tokio::process::Child {
    for element in ["rtmp2src", "flvdemux", "h264parse", "openh264dec"] {
        let ok = std::process::Command::new("gst-inspect-1.0").arg(element).output();
        assert!(
            ok.is_ok_and(|o| o.status.success()),
            "GStreamer element {element} is missing: apt-get install gstreamer1.0-tools \
             gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
        );
    }
    let pipeline = format!(
        "rtmp2src location={url} ! flvdemux name=demux demux.video ! queue ! h264parse ! openh264dec \
         ! fakesink name=video silent=false sync=false"
    );
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.arg("-v").arg("-e").args(pipeline.split_whitespace());
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped()).kill_on_drop(true);
    cmd.spawn().expect("gst-launch-1.0")
}

/// How many frames of each size a [`spawn_gstreamer_decoder`] decoded, in order: the decoder's
/// output caps set the size of the frames the sink reports after them.
fn gstreamer_frame_sizes(stdout: &str) -> Vec<(String, usize)> {
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for line in stdout.lines() {
        if line.contains("openh264dec") && line.contains(".GstPad:src: caps = ") {
            let field = |name: &str| {
                let rest = &line[line.find(&format!("{name}=(int)"))? + name.len() + 6..];
                Some(rest[..rest.find(|c: char| !c.is_ascii_digit())?].to_owned())
            };
            if let (Some(w), Some(h)) = (field("width"), field("height")) {
                let size = format!("{w}x{h}");
                if sizes.last().is_none_or(|(last, _)| *last != size) {
                    sizes.push((size, 0));
                }
            }
        } else if line.contains("GstFakeSink:video: last-message = chain")
            && let Some((_, n)) = sizes.last_mut()
        {
            *n += 1;
        }
    }
    sizes
}

/// The video payloads a player got at or after event `from`.
fn videos(client: &TestClient, from: usize) -> Vec<Bytes> {
    client.media(from).into_iter().filter(|m| m.video).map(|m| m.payload).collect()
}

/// An encoder restarted without reconnecting (OBS after a resolution change in some versions,
/// hardware encoders on an input change): 640x360 then 1280x720 on one connection, timestamps
/// going on. ffmpeg 9 and 5.1 players connected before the change decode frames of both sizes;
/// a joiner between the new header and the new keyframe, and one after, start with the new
/// header and get nothing of the old encoder; the stats follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_change_on_one_connection_reaches_players_and_late_joiners() {
    let dir = temp_dir("resize");
    let small = encode(&dir, "640x360", 2.0, true, true).await;
    let large = encode(&dir, "1280x720", 2.0, true, true).await;
    let offset = small.iter().map(|t| t.timestamp).max().unwrap() + 40;
    let large = shifted(&large, offset);
    let new_header = large.iter().find(|t| is_video_header(t)).unwrap().data.clone();
    let first_key = large.iter().position(|t| t.tag_type == 9 && is_keyframe(&t.data)).unwrap();

    let server = TestServer::start(config());
    let mut publisher = RawPublisher::start(&server, "cam").await;
    publisher.send_all(&small[..small.len() / 4]).await;
    let players = [ffmpeg9(), ffmpeg5()].map(|bin| (spawn_size_player(&bin, &server.url("live/cam")), bin));
    let gstreamer = spawn_gstreamer_decoder(&server.url("live/cam"));
    publisher.send_all(&small[small.len() / 4..]).await;
    let stats = server.stream("cam").unwrap();
    assert_eq!((stats.width, stats.height), (Some(640), Some(360)), "{stats:?}");

    // The new metadata and headers, then a pause before the new keyframe: a joiner now.
    publisher.send_all(&large[..first_key]).await;
    publisher.client.pump(Duration::from_millis(300)).await;
    let mut between = TestClient::connect(server.addr, "live").await;
    let between_from = between.events.len();
    between.play_started("cam").await;
    publisher.send_all(&large[first_key..large.len() / 2]).await;
    let mut late = TestClient::connect(server.addr, "live").await;
    let late_from = late.events.len();
    late.play_started("cam").await;
    publisher.send_all(&large[large.len() / 2..]).await;
    let stats = server.stream("cam").unwrap();
    assert_eq!((stats.width, stats.height), (Some(1280), Some(720)), "{stats:?}");
    assert_eq!(stats.video_codec.as_deref().map(|c| c.starts_with("avc1.")), Some(true), "{stats:?}");
    publisher.close().await;

    for (player, bin) in players {
        let run = finish(player, LIMIT).await;
        let sizes = frame_sizes(&run.stderr);
        assert!(
            matches!(&sizes[..], [(a, n), (b, m)] if a == "640x360" && b == "1280x720" && *n >= 20 && *m >= 40),
            "{} decoded, by size: {sizes:?}\n{}",
            bin.display(),
            run.stderr.lines().filter(|l| !l.contains("showinfo")).collect::<Vec<_>>().join("\n")
        );
    }

    let run = finish(gstreamer, LIMIT).await;
    let sizes = gstreamer_frame_sizes(&run.stdout);
    assert!(
        matches!(&sizes[..], [(a, n), (b, m)] if a == "640x360" && b == "1280x720" && *n >= 20 && *m >= 40),
        "GStreamer decoded, by size: {sizes:?}\n{}",
        run.stderr
    );

    for (who, client, from) in [("between", &mut between, between_from), ("late", &mut late, late_from)] {
        client.pump(Duration::from_millis(300)).await;
        let got = videos(client, from);
        assert!(got.len() > 2, "{who}: {} video messages", got.len());
        assert_eq!(got[0], new_header, "{who}: the first video is the new header");
        assert!(is_keyframe(&got[1]), "{who}: then a keyframe");
        assert_eq!(got.iter().filter(|v| is_video_header_payload(v)).count(), 1, "{who}: one header");
        // Nothing of the old encoder: its frames do not decode with the new header.
        let old: Vec<u32> =
            client.media(from).iter().filter(|m| m.timestamp < offset).map(|m| m.timestamp).collect();
        assert_eq!(old, [], "{who}: media from before the change, after the new headers");
    }
}

/// Hardware encoders (and some IP cameras) send the AVC sequence header again before every
/// keyframe, unchanged: the GOP cache keeps one, players decode every frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_headers_repeated_before_every_keyframe_do_not_pile_up() {
    let dir = temp_dir("repeat");
    let tags = encode(&dir, "320x240", 3.0, true, true).await;
    let header = tags.iter().find(|t| is_video_header(t)).unwrap().clone();
    let mut repeated = Vec::new();
    for tag in &tags {
        if tag.tag_type == 9 && is_keyframe(&tag.data) && tag.timestamp > 0 {
            repeated.push(FlvTag { timestamp: tag.timestamp, ..header.clone() });
        }
        repeated.push(tag.clone());
    }
    let keyframes = tags.iter().filter(|t| t.tag_type == 9 && is_keyframe(&t.data)).count();
    assert!(keyframes >= 3, "{keyframes} keyframes");

    let server = TestServer::start(config());
    let mut publisher = RawPublisher::start(&server, "cam").await;
    publisher.send_all(&repeated[..repeated.len() / 10]).await;
    let player = spawn_player(&ffmpeg9(), &server.url("live/cam"), 2.0);
    let mut live = TestClient::connect(server.addr, "live").await;
    let live_from = live.events.len();
    live.play_started("cam").await;
    // A joiner after the last keyframe's repeated header.
    let last_key = repeated.iter().rposition(|t| t.tag_type == 9 && is_keyframe(&t.data)).unwrap();
    publisher.send_all(&repeated[repeated.len() / 10..=last_key + 3]).await;
    let mut late = TestClient::connect(server.addr, "live").await;
    let late_from = late.events.len();
    late.play_started("cam").await;
    publisher.send_all(&repeated[last_key + 4..]).await;
    publisher.close().await;

    let played = played(player, LIMIT).await;
    assert!(played.video_frames >= 40, "ffmpeg decoded {} video frames", played.video_frames);
    assert!(played.audio_frames >= 40, "ffmpeg decoded {} audio frames", played.audio_frames);
    late.pump(Duration::from_millis(200)).await;
    let got = videos(&late, late_from);
    assert_eq!(got[0], header.data, "the late joiner starts with the header");
    assert!(is_keyframe(&got[1]), "then the keyframe");
    assert_eq!(got.iter().filter(|v| is_video_header_payload(v)).count(), 1, "one header, not one per GOP");
    // Live players get the stream as sent (a repeated identical header is harmless to them).
    live.pump(Duration::from_millis(200)).await;
    assert!(videos(&live, live_from).iter().filter(|v| is_video_header_payload(v)).count() >= 2);
}

/// Waits until `live/{name}` has a publisher (whatever its tracks).
async fn wait_published(server: &TestServer, name: &str) {
    eventually(Duration::from_secs(10), "the publish", || {
        server.stream(name).filter(|s| s.publisher.is_some()).map(|_| ())
    })
    .await;
}

/// ffmpeg 9 publishing 6 s of H.264 (`-an`) or AAC (`-vn`) alone, paced (`-re` on the one input).
fn spawn_one_track(url: &str, video: bool) -> tokio::process::Child {
    let mut cmd = Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-re", "-f", "lavfi"]);
    if video {
        cmd.args(["-i", "testsrc=size=320x240:rate=25", "-an", "-c:v", "libx264", "-preset", "ultrafast"]);
        cmd.args(["-g", "25", "-pix_fmt", "yuv420p"]);
    } else {
        cmd.args(["-i", "sine=frequency=440:sample_rate=48000", "-vn", "-c:a", "aac", "-b:a", "64k"]);
    }
    cmd.args(["-t", "6", "-f", "flv", url]);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::null()).kill_on_drop(true);
    cmd.spawn().expect("start ffmpeg 9")
}

/// ffmpeg 9 publishing video only (`-an`) and audio only (`-vn`): ffmpeg 9 players decode them,
/// a late joiner gets the headers (and the GOP for video) at once, and nothing waits for the
/// missing track.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_video_only_and_audio_only_streams_play() {
    let server = TestServer::start(config());
    for (name, flag) in [("audio-only", "-vn"), ("video-only", "-an")] {
        let _publishing = spawn_one_track(&server.url(&format!("live/{name}")), flag == "-an");
        wait_published(&server, name).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let started = Instant::now();
        let player = spawn_player(&ffmpeg9(), &server.url(&format!("live/{name}")), 2.0);
        let mut late = TestClient::connect(server.addr, "live").await;
        let from = late.events.len();
        late.play_started(name).await;
        late.pump(Duration::from_millis(200)).await;
        let stats = server.stream(name).unwrap();
        let media = late.media(from);
        let played = played(player, LIMIT).await;
        if flag == "-an" {
            assert!(played.video_frames >= 40, "{name}: ffmpeg decoded {played:?}");
            assert_eq!(played.audio_frames, 0, "{name}");
            assert!(media.iter().all(|m| m.video), "{name}: only video");
            assert!(is_video_header_payload(&media[0].payload), "{name}: the header first");
            assert!(is_keyframe(&media[1].payload), "{name}: then the GOP's keyframe");
            assert!(stats.video_codec.is_some() && stats.audio_codec.is_none(), "{stats:?}");
        } else {
            assert!(played.audio_frames >= 40, "{name}: ffmpeg decoded {played:?}");
            assert_eq!(played.video_frames, 0, "{name}");
            assert!(media.iter().all(|m| !m.video), "{name}: only audio");
            let first = AudioTag::parse(&media[0].payload).unwrap();
            assert!(first.is_sequence_header(), "{name}: the header first");
            assert!(media.len() > 3, "{name}: live audio at once, {} messages", media.len());
            assert!(stats.audio_codec.is_some() && stats.video_codec.is_none(), "{stats:?}");
        }
        // ffmpeg asked for 2 s: it did not wait long for a track that never comes.
        eprintln!("{name}: played in {:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(10), "{name}: took {:?}", started.elapsed());
    }
}

/// `onMetaData` that lies about the tracks: it names an audio codec on a video-only stream and a
/// video codec on an audio-only one (encoders that write their configured tracks, not the ones
/// they send, e.g. an encoder whose audio input failed). Players decode what comes, in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_that_lies_about_the_tracks_does_not_stall_players() {
    let dir = temp_dir("lies");
    let server = TestServer::start(config());
    for (name, video, audio) in [("no-audio", true, false), ("no-video", false, true)] {
        let tags = encode(&dir, "320x240", 4.0, video, audio).await;
        let lie: AmfObject = [
            ("width", 320.0),
            ("height", 240.0),
            ("framerate", 25.0),
            ("videocodecid", 7.0),
            ("audiocodecid", 10.0),
            ("audiosamplerate", 48000.0),
            ("audiochannels", 1.0),
        ]
        .into_iter()
        .collect();
        let metadata = DataMessage {
            name: "@setDataFrame".into(),
            values: vec!["onMetaData".into(), Amf0Value::EcmaArray(lie)],
        };
        let mut lying = vec![FlvTag { tag_type: 18, timestamp: 0, data: metadata.encode() }];
        lying.extend(tags.into_iter().filter(|t| t.tag_type != 18));
        let mut publisher = RawPublisher::start(&server, name).await;
        let cut = lying.len() / 3;
        publisher.send_all(&lying[..cut]).await;
        let started = Instant::now();
        let player = spawn_player(&ffmpeg9(), &server.url(&format!("live/{name}")), 1.5);
        publisher.send_all(&lying[cut..]).await;
        publisher.close().await;
        let played = played(player, LIMIT).await;
        if video {
            assert!(played.video_frames >= 25, "{name}: {played:?}");
        } else {
            assert!(played.audio_frames >= 25, "{name}: {played:?}");
        }
        eprintln!("{name}: played in {:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(8), "{name}: took {:?}", started.elapsed());
    }
}

/// A bare `onMetaData` data message, without `@setDataFrame` (what encoders that copy FLV script
/// tags into RTMP messages send, as our raw publisher does with ffmpeg's FLV file): it is
/// metadata: the hook hears it, the cache keeps it and late joiners get it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_on_metadata_is_metadata() {
    let dir = temp_dir("bare");
    let tags = encode(&dir, "320x240", 1.0, true, true).await;
    assert!(
        tags[0].tag_type == 18 && tags[0].data.starts_with(b"\x02\x00\x0aonMetaData"),
        "bare in the file"
    );
    let server = TestServer::start(config());
    let mut publisher = RawPublisher::start(&server, "cam").await;
    publisher.send_all(&tags[..tags.len() / 2]).await;
    let mut late = TestClient::connect(server.addr, "live").await;
    let from = late.events.len();
    late.play_started("cam").await;
    late.pump(Duration::from_millis(200)).await;
    let first = late.events[from..].iter().find_map(|(_, e)| match e {
        ClientEvent::Metadata { metadata, .. } => Some(Some(metadata.clone())),
        ClientEvent::Audio { .. } | ClientEvent::Video { .. } => Some(None),
        _ => None,
    });
    let metadata = first.flatten().expect("the late joiner's first message is the metadata");
    assert_eq!(metadata.get("width").and_then(Amf0Value::as_number), Some(320.0));
    let hooks = server.rec.hooks(|h| matches!(h, Hook::Metadata { .. }));
    assert!(
        matches!(&hooks[..], [Hook::Metadata { width: Some(w), height: Some(h), .. }] if *w == 320.0 && *h == 240.0),
        "{hooks:?}"
    );
    publisher.close().await;
}

/// Data messages on other names, as encoders send them without `@setDataFrame`: `onTextData`
/// (captions from Wirecast and FMLE-era tools, ffmpeg's FLV muxer for subtitle streams),
/// `onCuePoint` (ad markers from broadcast encoders such as Elemental), `onCaption`, and one
/// sent as AMF3 data (type 15). Players get them in order with the media; the handler hears each
/// once; late joiners do not get them (they are moments, not state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_data_messages_reach_players_in_order_and_the_handler() {
    let dir = temp_dir("data");
    let tags = encode(&dir, "320x240", 1.0, true, true).await;
    let text = |name: &str, ts: u32, words: &str| {
        let mut object = AmfObject::default();
        object.insert("text", Amf0Value::String(words.into()));
        let data = DataMessage { name: name.into(), values: vec![Amf0Value::Object(object)] };
        FlvTag { tag_type: 18, timestamp: ts, data: data.encode() }
    };
    let server = TestServer::start(config());
    let mut publisher = RawPublisher::start(&server, "cam").await;
    publisher.send_all(&tags[..10]).await;
    let mut player = TestClient::connect(server.addr, "live").await;
    let from = player.events.len();
    player.play_started("cam").await;
    let rest = &tags[10..];
    let middle = rest.len() / 2;
    publisher.send_all(&rest[..middle]).await;
    let ts = rest[middle - 1].timestamp;
    publisher.send(&text("onTextData", ts, "hello")).await;
    publisher.send(&text("onCuePoint", ts, "ad")).await;
    publisher.send(&text("onCaption", ts, "world")).await;
    // A data message of type 15 (AMF3 data: a format byte, then an AMF0 body), as Flash Player's
    // NetStream.send sends it with AMF3 object encoding: players get it as type 18.
    let mut amf3 = vec![0u8];
    amf3.extend_from_slice(&text("onFI", ts, "12:00:00").data);
    publisher.client.write_raw(&encode_shared(20, ts, 15, publisher.stream_id, &amf3, 128)).await;
    publisher.send_all(&rest[middle..]).await;
    player.pump(Duration::from_millis(300)).await;
    let mut late = TestClient::connect(server.addr, "live").await;
    let late_from = late.events.len();
    late.play_started("cam").await;
    late.pump(Duration::from_millis(200)).await;
    publisher.close().await;

    // In order: after the media sent before them, before the media sent after.
    let order: Vec<String> = player.events[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Data { data, .. } if data.name != "|RtmpSampleAccess" => Some(data.name.clone()),
            ClientEvent::Audio { timestamp, .. } | ClientEvent::Video { timestamp, .. } => {
                Some(if *timestamp <= ts { "before" } else { "after" }.to_owned())
            }
            _ => None,
        })
        .collect();
    let names: Vec<&str> = order.iter().map(String::as_str).filter(|n| n.starts_with("on")).collect();
    assert_eq!(names, ["onTextData", "onCuePoint", "onCaption", "onFI"]);
    let first_data = order.iter().position(|n| n == "onTextData").unwrap();
    assert!(order[..first_data].iter().all(|n| n == "before"), "{order:?}");
    assert!(order[first_data + 4..].iter().all(|n| n == "after"), "{order:?}");
    assert!(order[first_data + 4..].len() > 5, "{order:?}");
    let texts: Vec<Option<String>> = player.events[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Data { data, .. } if data.name != "|RtmpSampleAccess" => Some(
                data.values
                    .first()
                    .and_then(Amf0Value::as_object)
                    .and_then(|o| o.get("text"))
                    .and_then(Amf0Value::as_str)
                    .map(str::to_owned),
            ),
            _ => None,
        })
        .collect();
    let words = ["hello", "ad", "world", "12:00:00"];
    assert_eq!(texts, words.map(|w| Some(w.to_owned())));

    let heard = server.rec.hooks(|h| matches!(h, Hook::Data { .. }));
    let heard: Vec<&str> = heard
        .iter()
        .filter_map(|h| match h {
            Hook::Data { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(heard, ["onTextData", "onCuePoint", "onCaption", "onFI"], "the handler's on_data");
    assert!(
        !late.events[late_from..]
            .iter()
            .any(|(_, e)| matches!(e, ClientEvent::Data { data, .. } if data.name != "|RtmpSampleAccess")),
        "a late joiner does not get past data messages"
    );
}

/// ffmpeg 9 publishing a text subtitle stream (`-c:s text`): its FLV muxer sends each subtitle as
/// an `onTextData` data message. A player gets them with the video, the handler hears them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_subtitles_arrive_as_on_text_data() {
    let dir = temp_dir("subtitles");
    let srt = dir.join("subs.srt");
    std::fs::write(
        &srt,
        "1\n00:00:02,000 --> 00:00:02,500\nhello\n\n2\n00:00:03,000 --> 00:00:03,500\nworld\n",
    )
    .unwrap();
    let server = TestServer::start(config());
    let mut cmd = Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-re", "-f", "lavfi"]);
    cmd.args(["-i", "testsrc=size=320x240:rate=25"]).arg("-i").arg(&srt);
    cmd.args(["-t", "4", "-map", "0:v", "-map", "1:s", "-c:v", "libx264", "-preset", "ultrafast"]);
    cmd.args(["-g", "25", "-pix_fmt", "yuv420p", "-c:s", "text", "-f", "flv", &server.url("live/subs")]);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::piped()).kill_on_drop(true);
    let publisher = cmd.spawn().expect("start ffmpeg 9");
    server.wait_live("subs", Duration::from_secs(10)).await;
    let mut player = TestClient::connect(server.addr, "live").await;
    let from = player.events.len();
    player.play_started("subs").await;
    let run = finish(publisher, LIMIT).await;
    assert!(run.success(), "ffmpeg 9 publishing subtitles: {run:?}");
    player.pump(Duration::from_millis(300)).await;
    let texts: Vec<(u32, String)> = player.events[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Data { data, timestamp, .. } if data.name == "onTextData" => {
                let text = data.values.first().and_then(Amf0Value::as_object)?.get_str("text")?.to_owned();
                Some((*timestamp, text))
            }
            _ => None,
        })
        .collect();
    assert!(
        matches!(&texts[..], [(t1, a), (t2, b)] if a == "hello" && b == "world" && *t1 == 2000 && *t2 == 3000),
        "{texts:?}"
    );
    let heard = server.rec.count(|h| matches!(h, Hook::Data { name, .. } if name == "onTextData"));
    assert_eq!(heard, 2, "on_data");
}
