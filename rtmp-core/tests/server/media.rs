//! Codec round trips through the server with real encoders and decoders, the late joiner, and the
//! slow player.

use std::path::PathBuf;
use std::time::Duration;

use rtmp_core::proto::media::{AudioTag, VideoTag};
use rtmp_core::proto::session::ClientEvent;
use rtmp_core::server::PlayerStats;

use crate::support::client::Media;
use crate::support::ffmpeg::{played, spawn_player};
use crate::support::{Audio, Hook, Knobs, Publish, TestClient, TestServer, Video, config, ffmpeg5, ffmpeg9};

/// One publish-and-play flow.
struct RoundTrip {
    publisher: PathBuf,
    /// Players run side by side.
    players: Vec<PathBuf>,
    video: Video,
    audio: Audio,
    /// Extra publisher options.
    publisher_args: &'static [&'static str],
    /// The `fourCcList` the publisher's connect carries.
    fourccs: &'static [&'static str],
    /// Prefixes of the stats' codec strings.
    codecs: (&'static str, &'static str),
    audio_frames_per_second: f64,
    /// Whether the tags are Enhanced RTMP (FourCC) ones.
    enhanced: bool,
    /// The server's `read_coalescing`.
    read_coalescing: Option<Duration>,
}

impl RoundTrip {
    /// Publishes 5 s, plays 3 s, and checks the decoded frame counts, the tags the server saw and
    /// the stream statistics.
    async fn run(self) {
        let server = TestServer::start(config().read_coalescing(self.read_coalescing));
        let url = server.url("live/cam");
        let publishing =
            Publish::new(self.publisher, self.video, self.audio, 5.0).extra(self.publisher_args).spawn(&url);
        let stats = server.wait_live("cam", Duration::from_secs(8)).await;
        let players: Vec<_> = self.players.iter().map(|bin| (bin, spawn_player(bin, &url, 3.0))).collect();
        for (bin, player) in players {
            let played = played(player, Duration::from_secs(15)).await;
            let bin = bin.display();
            assert!(played.run.success(), "{bin} failed: {:?}", played.run);
            assert!(played.video_frames >= 60, "{bin} decoded {} video frames of 75", played.video_frames);
            let audio_expected = self.audio_frames_per_second * 3.0;
            assert!(
                played.audio_frames as f64 >= 0.8 * audio_expected,
                "{bin} decoded {} audio frames of {audio_expected}",
                played.audio_frames
            );
            assert_eq!(played.dimensions.as_deref(), Some("320x240"));
        }
        // Byte counters move while the publisher is still live, not only when it leaves.
        let now = server.handle.stats();
        let stream = server.stream("cam").unwrap();
        assert!(stream.publisher.is_some() && stream.bytes_in > 50_000, "{stream:?}");
        assert!(
            now.bytes_in > stream.bytes_in,
            "server bytes_in {} < the live stream's {}",
            now.bytes_in,
            stream.bytes_in
        );
        assert!(now.bytes_out > 50_000, "server bytes_out {}", now.bytes_out);

        let (video_codec, audio_codec) = self.codecs;
        let video_string = stats.video_codec.clone().unwrap_or_default();
        let audio_string = stats.audio_codec.clone().unwrap_or_default();
        assert!(video_string.starts_with(video_codec), "video codec {video_string:?}, want {video_codec}…");
        assert!(
            audio_string.to_ascii_lowercase().starts_with(audio_codec),
            "audio codec {audio_string:?}, want {audio_codec}…"
        );
        assert_eq!((stats.width, stats.height), (Some(320), Some(240)));
        let run = crate::support::ffmpeg::finish(publishing, Duration::from_secs(10)).await;
        assert!(run.success(), "publisher failed: {run:?}");

        let enhanced = self.enhanced;
        let legacy_video =
            server.rec.count(|h| matches!(h, Hook::VideoFrame { enhanced: e, .. } if *e != enhanced));
        let legacy_audio =
            server.rec.count(|h| matches!(h, Hook::AudioFrame { enhanced: e, .. } if *e != enhanced));
        assert_eq!((legacy_video, legacy_audio), (0, 0), "tags that are not enhanced = {enhanced}");
        let connects = server.rec.hooks(|h| matches!(h, Hook::Connect { .. }));
        let fourccs: Vec<&str> = connects
            .iter()
            .flat_map(|h| match h {
                Hook::Connect { fourccs, .. } => fourccs.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(fourccs, self.fourccs, "fourCcList of the publisher's connect (the player sends none)");
    }
}

/// ffmpeg 9's H.264 and AAC, published and played.
fn h264_aac_ffmpeg9() -> RoundTrip {
    RoundTrip {
        publisher: ffmpeg9(),
        players: vec![ffmpeg9()],
        video: Video::H264,
        audio: Audio::Aac,
        publisher_args: &[],
        fourccs: &[],
        codecs: ("avc1.", "mp4a.40.2"),
        audio_frames_per_second: 48_000.0 / 1024.0,
        enhanced: false,
        read_coalescing: None,
    }
}

#[tokio::test]
async fn h264_aac_round_trip_ffmpeg9() {
    h264_aac_ffmpeg9().run().await;
}

/// Merged reads: ffmpeg's stream read every 100 ms, many messages a read, plays as well.
#[tokio::test]
async fn h264_aac_round_trip_ffmpeg9_merged_reads() {
    RoundTrip { read_coalescing: Some(Duration::from_millis(100)), ..h264_aac_ffmpeg9() }.run().await;
}

#[tokio::test]
async fn hevc_opus_round_trip_ffmpeg9_enhanced_rtmp() {
    RoundTrip {
        publisher: ffmpeg9(),
        players: vec![ffmpeg9()],
        video: Video::Hevc,
        audio: Audio::Opus,
        // E-RTMP negotiation in connect (fourCcList); the tags are E-RTMP with or without it.
        publisher_args: &["-rtmp_enhanced_codecs", "hvc1,Opus"],
        fourccs: &["hvc1", "Opus"],
        codecs: ("hvc1.", "opus"),
        audio_frames_per_second: 50.0,
        enhanced: true,
        read_coalescing: None,
    }
    .run()
    .await;
}

#[tokio::test]
async fn av1_opus_round_trip_ffmpeg9_enhanced_rtmp() {
    RoundTrip {
        publisher: ffmpeg9(),
        players: vec![ffmpeg9()],
        video: Video::Av1,
        audio: Audio::Opus,
        publisher_args: &[],
        fourccs: &[],
        codecs: ("av01.", "opus"),
        audio_frames_per_second: 50.0,
        enhanced: true,
        read_coalescing: None,
    }
    .run()
    .await;
}

#[tokio::test]
async fn h264_aac_round_trip_debian_ffmpeg5() {
    RoundTrip {
        publisher: ffmpeg5(),
        // And across versions: ffmpeg 9 plays what ffmpeg 5.1 publishes.
        players: vec![ffmpeg5(), ffmpeg9()],
        video: Video::H264,
        audio: Audio::Aac,
        publisher_args: &[],
        fourccs: &[],
        codecs: ("avc1.", "mp4a.40.2"),
        audio_frames_per_second: 48_000.0 / 1024.0,
        enhanced: false,
        read_coalescing: None,
    }
    .run()
    .await;
}

/// What a received message is, for order checks.
fn kind(event: &ClientEvent) -> Option<&'static str> {
    match event {
        ClientEvent::Metadata { .. } => Some("metadata"),
        ClientEvent::Audio { payload, .. } => Some(match AudioTag::parse(payload) {
            Ok(tag) if tag.is_sequence_header() => "audio header",
            _ => "audio",
        }),
        ClientEvent::Video { payload, .. } => Some(match VideoTag::parse(payload) {
            Ok(tag) if tag.is_sequence_header() => "video header",
            _ => "video",
        }),
        _ => None,
    }
}

#[tokio::test]
async fn late_joiner_gets_headers_then_a_cached_keyframe_at_once() {
    let server = TestServer::start(config());
    let url = server.url("live/cam");
    let _publishing = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 6.0).gop(50).spawn(&url);
    let first = server
        .rec
        .wait_for(Duration::from_secs(5), "first keyframe", |h| matches!(h, Hook::Keyframe { .. }))
        .await;
    tokio::time::sleep_until((first.at + Duration::from_secs(3)).into()).await;

    let mut client = TestClient::connect(server.addr, "live").await;
    let latest_published = server.rec.last_video_timestamp().expect("video published");
    let from = client.events.len();
    client.play("cam").await;
    let first_video = client
        .wait_for(from, Duration::from_secs(3), |e| kind(e) == Some("video"))
        .await
        .expect("no video frame within 3 s");
    let play_sent = *client.stream_command_sent.last().expect("play sent");
    let (arrived, event) = &client.events[first_video];
    let delay = arrived.duration_since(play_sent);
    assert!(delay < Duration::from_millis(50), "first video frame {delay:?} after play");

    let ClientEvent::Video { payload, timestamp, .. } = event else { unreachable!() };
    let tag = VideoTag::parse(payload).expect("video tag parses");
    assert!(tag.is_keyframe(), "first video frame is not a keyframe: {:?}", tag.frame_type());
    // Cached, not live: the GOP started at 2 s and the publisher is past 3 s.
    assert!(
        *timestamp < latest_published && *timestamp >= 1900,
        "keyframe at {timestamp} ms, latest published {latest_published} ms"
    );
    let before: Vec<&str> = client.events[from..first_video].iter().filter_map(|(_, e)| kind(e)).collect();
    assert_eq!(before, ["metadata", "audio header", "video header"]);
}

fn player(server: &TestServer, session: u64) -> PlayerStats {
    let stream = server.stream("cam").expect("stream live/cam");
    stream.players.into_iter().find(|p| p.session_id == session).expect("player in stats")
}

/// Largest timestamp step between consecutive messages.
fn max_gap(media: &[&Media]) -> u32 {
    media.windows(2).map(|w| w[1].timestamp.wrapping_sub(w[0].timestamp)).max().unwrap_or(0)
}

/// A player that stops reading for 5 s, longer than its 2 s budget: it loses video, and audio in
/// one run (the link carried none), and nobody else loses anything.
#[tokio::test]
async fn stalled_player_loses_video_then_audio_in_one_gap_and_others_lose_nothing() {
    stalled_player(Some(Duration::from_secs(2))).await;
}

/// Without a budget (here from the play decision, the server's being 2 s), the same player loses
/// only video while its queue holds the audio.
#[tokio::test]
async fn stalled_player_without_a_budget_loses_video_not_audio() {
    stalled_player(None).await;
}

async fn stalled_player(budget: Option<Duration>) {
    let config = config().socket_send_buffer(Some(16 * 1024)).player_queue_length(384);
    let knobs = Knobs { play_latency_budget: budget.is_none().then_some(None), ..Knobs::default() };
    let server = TestServer::with_knobs(config, knobs);
    let url = server.url("live/cam");
    let _publishing = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 12.0)
        .gop(25)
        .size("640x360")
        .extra(&["-vf", "noise=alls=30:allf=t", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "500k"])
        .spawn(&url);
    server.wait_live("cam", Duration::from_secs(5)).await;

    let mut normal = TestClient::connect(server.addr, "live").await;
    let normal_session = server.rec.session_of(normal.local_addr).expect("normal session");
    normal.play_started("cam").await;
    let normal_task = tokio::spawn(async move {
        normal.pump(Duration::from_secs(9)).await;
        normal
    });

    let mut slow = TestClient::open(server.addr, Some(4096)).await;
    let params = slow.params("live");
    slow.connect_with(params).await.expect("connect");
    let slow_session = server.rec.session_of(slow.local_addr).expect("slow session");
    slow.play_started("cam").await;
    slow.pump(Duration::from_secs(1)).await;

    // Stop reading for 5 s.
    let stall_from = slow.events.len();
    let last_before_stall = slow.media(0).iter().rev().find(|m| m.video).map(|m| m.timestamp).unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let during = player(&server, slow_session);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let end_of_stall = player(&server, slow_session);
    slow.pump(Duration::from_secs(2)).await;
    let slow_stats = player(&server, slow_session);
    let normal_stats = player(&server, normal_session);
    let normal = normal_task.await.unwrap();

    assert!(during.dropped_video > 0, "no video dropped 3.5 s into the stall: {during:?}");
    assert!(end_of_stall.dropped_video > during.dropped_video, "{during:?} then {end_of_stall:?}");
    let media = slow.media(0);
    let audio: Vec<&Media> = media.iter().filter(|m| !m.video && !is_header(m)).collect();
    let video: Vec<&Media> = media.iter().filter(|m| m.video && !is_header(m)).collect();
    let audio_holes = audio.windows(2).filter(|w| w[1].timestamp.wrapping_sub(w[0].timestamp) > 50).count();
    if budget.is_some() {
        assert_eq!(slow_stats.audio_gaps, 1, "{slow_stats:?}");
        assert!(slow_stats.dropped_audio > 0, "{slow_stats:?}");
        assert_eq!(audio_holes, 1, "audio lost in more than one run");
    } else {
        assert_eq!(slow_stats.dropped_audio, 0, "audio dropped: {slow_stats:?}");
        assert_eq!(audio_holes, 0, "audio has a {} ms hole", max_gap(&audio));
    }
    let mut holes = 0;
    for pair in video.windows(2) {
        if pair[1].timestamp.wrapping_sub(pair[0].timestamp) > 45 {
            holes += 1;
            let tag = VideoTag::parse(&pair[1].payload).unwrap();
            assert!(tag.is_keyframe(), "video resumed at {} ms on a non-keyframe", pair[1].timestamp);
        }
    }
    let stamps: Vec<u32> = video.iter().map(|m| m.timestamp).collect();
    assert!(holes > 0, "the slow player lost no video: {slow_stats:?} {stamps:?}");
    let resumed = slow.media(stall_from).iter().filter(|m| m.video).map(|m| m.timestamp).max().unwrap_or(0);
    assert!(resumed > last_before_stall + 4000, "video did not resume: {last_before_stall} → {resumed}");

    assert_eq!((normal_stats.dropped_video, normal_stats.dropped_audio), (0, 0), "{normal_stats:?}");
    let normal_media = normal.media(0);
    let normal_video: Vec<&Media> = normal_media.iter().filter(|m| m.video && !is_header(m)).collect();
    assert!(max_gap(&normal_video) <= 41, "normal player video has a {} ms hole", max_gap(&normal_video));
    let (first, last) = (normal_video[0].timestamp, normal_video.last().unwrap().timestamp);
    let published = server.rec.count(
        |h| matches!(h, Hook::VideoFrame { timestamp, header: false, .. } if (first..=last).contains(timestamp)),
    );
    assert_eq!(
        normal_video.len(),
        published,
        "normal player got {} of {published} frames",
        normal_video.len()
    );
    assert!(normal_video.len() >= 8 * 25, "normal player got only {} frames", normal_video.len());
}

fn is_header(m: &Media) -> bool {
    if m.video {
        VideoTag::parse(&m.payload).is_ok_and(|t| t.is_sequence_header())
    } else {
        AudioTag::parse(&m.payload).is_ok_and(|t| t.is_sequence_header())
    }
}
