//! The handler: decisions that reject, every hook with its data, and slow decisions.

use std::time::{Duration, Instant};

use rtmp_core::proto::media::{AudioCodec, VideoCodec};
use rtmp_core::proto::message::status;
use rtmp_core::proto::session::ClientEvent;
use rtmp_core::server::{DisconnectReason, MediaKind, StreamKey};

use crate::support::ffmpeg::finish;
use crate::support::{Audio, Hook, Knobs, Publish, TestClient, TestServer, Video, config, ffmpeg9, play};

fn h264(seconds: f64) -> Publish {
    Publish::new(ffmpeg9(), Video::H264, Audio::Aac, seconds)
}

fn cam() -> StreamKey {
    StreamKey::new("live", "cam")
}

#[tokio::test]
async fn on_connect_reject_fails_ffmpeg_and_closes() {
    let knobs = Knobs { reject_connect_token: Some("bad".into()), ..Knobs::default() };
    let server = TestServer::with_knobs(config(), knobs);
    let tc_url = format!("rtmp://{}/live?token=bad", server.addr);
    let run = finish(
        h264(2.0).extra(&["-rtmp_tcurl", &tc_url]).spawn(&server.url("live/cam")),
        Duration::from_secs(6),
    )
    .await;
    assert!(run.failed(), "ffmpeg was not refused: {run:?}");
    assert!(run.took < Duration::from_millis(1500), "refusal took {:?}", run.took);
    let connects = server.rec.hooks(|h| matches!(h, Hook::Connect { .. }));
    let [Hook::Connect { session, token, .. }] = &connects[..] else { panic!("{connects:?}") };
    assert_eq!(token.as_deref(), Some("bad"));
    let reason = server.rec.wait_disconnect(*session, Duration::from_secs(1)).await;
    assert_eq!(reason, DisconnectReason::Rejected("bad connect token".into()));

    let mut client = TestClient::open(server.addr, None).await;
    let mut params = client.params("live");
    params.tc_url = Some(tc_url);
    assert_eq!(client.connect_with(params).await, Err(status::CONNECT_REJECTED.into()));
    assert!(client.wait_closed(Duration::from_secs(1)).await.is_some(), "rejected connection left open");
    assert_eq!(server.rec.count(|h| matches!(h, Hook::Publish { .. })), 0);
}

#[tokio::test]
async fn on_publish_reject_by_token() {
    let knobs = Knobs { publish_token: Some("good".into()), ..Knobs::default() };
    let server = TestServer::with_knobs(config(), knobs);
    let mut client = TestClient::connect(server.addr, "live").await;
    let refused = client.publish("cam?token=bad", Duration::from_secs(2)).await;
    assert_eq!(refused, Err(status::PUBLISH_DENIED.into()));

    let bad = finish(h264(2.0).spawn(&server.url("live/cam?token=bad")), Duration::from_secs(6)).await;
    assert!(bad.failed(), "ffmpeg with a bad token was not refused: {bad:?}");
    assert!(bad.took < Duration::from_millis(1500), "refusal took {:?}", bad.took);
    assert!(server.stream("cam").is_none_or(|s| s.publisher.is_none()));

    let good = h264(2.0).spawn(&server.url("live/cam?token=good"));
    server.wait_live("cam", Duration::from_secs(5)).await;
    let good = finish(good, Duration::from_secs(6)).await;
    assert!(good.success(), "ffmpeg with the right token failed: {good:?}");
    let tokens: Vec<Option<String>> = server
        .rec
        .hooks(|h| matches!(h, Hook::Publish { .. }))
        .into_iter()
        .map(|h| match h {
            Hook::Publish { token, .. } => token,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(tokens, [Some("bad".into()), Some("bad".into()), Some("good".into())]);
}

#[tokio::test]
async fn on_play_reject_fails_ffmpeg_play() {
    let knobs = Knobs { reject_play_token: Some("bad".into()), ..Knobs::default() };
    let server = TestServer::with_knobs(config(), knobs);
    let publishing = h264(5.0).spawn(&server.url("live/cam"));
    server.wait_live("cam", Duration::from_secs(5)).await;
    let bad = play(&ffmpeg9(), &server.url("live/cam?token=bad"), 1.0, Duration::from_secs(6)).await;
    assert!(bad.run.failed() && bad.video_frames == 0, "ffmpeg play was not refused: {bad:?}");
    let good = play(&ffmpeg9(), &server.url("live/cam?token=ok"), 1.0, Duration::from_secs(8)).await;
    assert!(good.run.success() && good.video_frames >= 20, "{good:?}");

    let mut client = TestClient::connect(server.addr, "live").await;
    let from = client.events.len();
    client.play("cam?token=bad").await;
    let failed = client
        .wait_for(
            from,
            Duration::from_secs(2),
            |e| matches!(e, ClientEvent::Status { level, .. } if level == "error"),
        )
        .await
        .map(|i| client.events[i].1.clone());
    assert!(
        matches!(&failed, Some(ClientEvent::Status { code, description, .. }) if code == status::PLAY_FAILED && description == "bad play token"),
        "{failed:?}"
    );
    assert!(finish(publishing, Duration::from_secs(8)).await.success());
}

#[tokio::test]
async fn every_hook_fires_with_its_data() {
    let server = TestServer::start(config().stats_interval(Some(Duration::from_millis(300))));
    let publishing = h264(4.0).spawn(&server.url("live/cam?token=t1"));
    server.wait_live("cam", Duration::from_secs(5)).await;
    let publisher = server.rec.publish_session(0);

    let mut client = TestClient::connect(server.addr, "live").await;
    let player = server.rec.session_of(client.local_addr).unwrap();
    let stream_id = client.play_started("cam").await;
    client.pump(Duration::from_millis(800)).await;
    client.pause(stream_id, true).await;
    let paused = client
        .wait_for(
            0,
            Duration::from_secs(1),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::PAUSE_NOTIFY),
        )
        .await
        .expect("no Pause.Notify");
    client.pump(Duration::from_millis(600)).await;
    let settle = client.events[paused].0 + Duration::from_millis(100);
    let during_pause = client.media(paused).iter().filter(|m| m.at > settle).count();
    assert_eq!(during_pause, 0, "media arrived while paused");
    client.pause(stream_id, false).await;
    let unpaused = client
        .wait_for(
            paused,
            Duration::from_secs(1),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::UNPAUSE_NOTIFY),
        )
        .await
        .expect("no Unpause.Notify");
    client.pump(Duration::from_millis(600)).await;
    let resumed = client.media(unpaused).iter().filter(|m| !m.video).count();
    assert!(resumed >= 15, "only {resumed} audio messages after unpause");
    client.session().delete_stream(stream_id);
    client.flush().await;
    server
        .rec
        .wait_for(
            Duration::from_secs(1),
            "on_play_stop",
            |h| matches!(h, Hook::PlayStop { session, .. } if *session == player),
        )
        .await;
    // Media sent before the server stopped the stream may still be unread; closing over unread
    // data sends a reset instead of a FIN (seen once under load: Io(ECONNRESET)).
    client.pump(Duration::from_millis(100)).await;
    drop(client);
    assert!(finish(publishing, Duration::from_secs(8)).await.success());
    let publisher_reason = server.rec.wait_disconnect(publisher, Duration::from_secs(2)).await;
    let player_reason = server.rec.wait_disconnect(player, Duration::from_secs(2)).await;

    let rec = &server.rec;
    let addr = server.addr;
    // Connection-level hooks.
    assert_eq!(rec.count(|h| matches!(h, Hook::Connection { peer } if peer.ip() == addr.ip())), 2);
    assert_eq!(rec.count(|h| matches!(h, Hook::HandshakeComplete { .. })), 2);
    let connects = rec.hooks(|h| matches!(h, Hook::Connect { session, .. } if *session == publisher));
    let tc_url = format!("rtmp://{addr}/live");
    assert!(
        matches!(&connects[..], [Hook::Connect { app, tc_url: Some(t), .. }] if app == "live" && *t == tc_url),
        "{connects:?}"
    );
    // Publishing.
    let fc = rec.hooks(|h| matches!(h, Hook::FcPublish { .. }));
    assert!(
        matches!(&fc[..], [Hook::FcPublish { name, token: Some(t), .. }] if name == "cam" && t == "t1"),
        "{fc:?}"
    );
    let publish = rec.hooks(|h| matches!(h, Hook::Publish { .. }));
    assert!(
        matches!(&publish[..], [Hook::Publish { key, token: Some(t), publish_type, .. }] if *key == cam() && t == "t1" && publish_type == "live"),
        "{publish:?}"
    );
    let metadata = rec.hooks(|h| matches!(h, Hook::Metadata { .. }));
    assert!(
        matches!(&metadata[..], [Hook::Metadata { key, width: Some(w), height: Some(h), .. }] if *key == cam() && *w == 320.0 && *h == 240.0),
        "{metadata:?}"
    );
    // Per-frame hooks.
    let frame =
        |h: &Hook| matches!(h, Hook::VideoFrame { header: false, end: false, codec: VideoCodec::Avc, .. });
    let video_frames = rec.count(frame);
    let video_headers =
        rec.count(|h| matches!(h, Hook::VideoFrame { header: true, codec: VideoCodec::Avc, .. }));
    let sequence_ends = rec.count(|h| matches!(h, Hook::VideoFrame { end: true, .. }));
    let all_video = rec.count(|h| matches!(h, Hook::VideoFrame { .. }));
    let keyframes = rec.hooks(|h| matches!(h, Hook::Keyframe { session, .. } if *session == publisher));
    let key_video = rec.count(|h| frame(h) && matches!(h, Hook::VideoFrame { keyframe: true, .. }));
    assert!((95..=101).contains(&video_frames), "{video_frames} video frames for 4 s at 25 fps");
    // ffmpeg ends H.264 with an end-of-sequence tag: a video message, not a frame.
    assert_eq!((video_headers, sequence_ends, all_video), (1, 1, video_frames + 2));
    assert!(keyframes.len() == 2 && key_video == 2, "GOP 2 s: {key_video} key video frames, {keyframes:?}");
    let audio_frames =
        rec.count(|h| matches!(h, Hook::AudioFrame { header: false, codec: AudioCodec::Aac, .. }));
    let audio_headers =
        rec.count(|h| matches!(h, Hook::AudioFrame { header: true, codec: AudioCodec::Aac, .. }));
    let all_audio = rec.count(|h| matches!(h, Hook::AudioFrame { .. }));
    assert!((180..=190).contains(&audio_frames), "{audio_frames} AAC frames for 4 s");
    assert_eq!((audio_headers, all_audio), (1, audio_frames + 1));
    let tags = |kind: MediaKind| rec.count(|h| matches!(h, Hook::MediaTag { kind: k, .. } if *k == kind));
    assert_eq!((tags(MediaKind::Video), tags(MediaKind::Audio)), (all_video, all_audio));
    assert!(tags(MediaKind::Data) >= 1);
    // Playing.
    let plays = rec.hooks(|h| matches!(h, Hook::Play { .. }));
    assert!(
        matches!(&plays[..], [Hook::Play { session, key, token: None }] if *session == player && *key == cam()),
        "{plays:?}"
    );
    for (what, found) in [
        (
            "pause",
            rec.count(|h| matches!(h, Hook::Pause { session, key } if *session == player && *key == cam())),
        ),
        (
            "unpause",
            rec.count(|h| matches!(h, Hook::Unpause { session, key } if *session == player && *key == cam())),
        ),
        (
            "play stop",
            rec.count(
                |h| matches!(h, Hook::PlayStop { session, key } if *session == player && *key == cam()),
            ),
        ),
        (
            "unpublish",
            rec.count(
                |h| matches!(h, Hook::Unpublish { session, key } if *session == publisher && *key == cam()),
            ),
        ),
    ] {
        assert_eq!(found, 1, "{what}");
    }
    assert_eq!(player_reason, DisconnectReason::ClientClosed);
    assert!(
        matches!(publisher_reason, DisconnectReason::ClientClosed | DisconnectReason::Io(_)),
        "{publisher_reason:?}"
    );
    // on_stats every 300 ms, with the live stream in it.
    let stats: Vec<(Instant, usize)> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e.hook {
            Hook::Stats { stats } => {
                Some((e.at, stats.streams.iter().filter(|s| s.publisher.is_some()).count()))
            }
            _ => None,
        })
        .collect();
    assert!(stats.len() >= 10, "{} on_stats calls", stats.len());
    let span = stats.last().unwrap().0.duration_since(stats[0].0);
    let mean = span / (stats.len() as u32 - 1);
    assert!(
        mean > Duration::from_millis(270) && mean < Duration::from_millis(330),
        "on_stats every {mean:?}"
    );
    for pair in stats.windows(2) {
        let gap = pair[1].0.duration_since(pair[0].0);
        assert!(gap < Duration::from_millis(600), "on_stats {gap:?} apart");
    }
    assert!(stats.iter().any(|(_, live)| *live == 1));
}

#[tokio::test]
async fn on_media_tag_false_drops_the_tag() {
    let knobs = Knobs { drop_kinds: vec![MediaKind::Video], ..Knobs::default() };
    let server = TestServer::with_knobs(config(), knobs);
    let publishing = h264(3.0).spawn(&server.url("live/cam"));
    server
        .rec
        .wait_for(Duration::from_secs(5), "audio", |h| matches!(h, Hook::AudioFrame { header: false, .. }))
        .await;
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    client.pump(Duration::from_millis(1500)).await;
    let media = client.media(0);
    let (video, audio) =
        (media.iter().filter(|m| m.video).count(), media.iter().filter(|m| !m.video).count());
    assert_eq!(video, 0, "the player got video that on_media_tag dropped");
    assert!(audio >= 50, "only {audio} audio messages");
    let tagged = server.rec.count(|h| matches!(h, Hook::MediaTag { kind: MediaKind::Video, .. }));
    assert!(tagged >= 40);
    assert_eq!(server.rec.count(|h| matches!(h, Hook::VideoFrame { .. } | Hook::Keyframe { .. })), 0);
    assert_eq!(server.stream("cam").unwrap().video_codec, None);
    assert!(finish(publishing, Duration::from_secs(6)).await.success());
}

#[tokio::test]
async fn a_slow_publish_decision_delays_only_its_own_connection() {
    let knobs = Knobs { slow_publish: Some(("slow".into(), Duration::from_secs(2))), ..Knobs::default() };
    let server = TestServer::with_knobs(config(), knobs);
    let mut slow = TestClient::connect(server.addr, "live").await;
    let asked = Instant::now();
    let slow_task = tokio::spawn(async move {
        let result = slow.publish("slow", Duration::from_secs(5)).await;
        (result, asked.elapsed())
    });
    server
        .rec
        .wait_for(Duration::from_secs(1), "the slow on_publish", |h| matches!(h, Hook::Publish { .. }))
        .await;

    let started = Instant::now();
    let mut player = TestClient::connect(server.addr, "live").await;
    player.play_started("other").await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "connect + play took {took:?} behind a slow decision");
    let started = Instant::now();
    let mut publisher = TestClient::connect(server.addr, "live").await;
    assert!(publisher.publish("fast", Duration::from_secs(1)).await.is_ok());
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "connect + publish took {took:?} behind a slow decision");

    let (result, slow_took) = slow_task.await.unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(slow_took >= Duration::from_millis(1900), "the slow decision took only {slow_took:?}");
}
