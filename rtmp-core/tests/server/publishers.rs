//! Publisher lifecycle: duplicates, takeover, drop and republish, query stripping.

use std::time::Duration;

use rtmp_core::proto::media::VideoTag;
use rtmp_core::proto::message::status;
use rtmp_core::proto::session::ClientEvent;
use rtmp_core::server::{DisconnectReason, PublisherPolicy, StreamKey};

use crate::support::ffmpeg::{finish, played, spawn_player};
use crate::support::{Audio, Hook, Publish, TestClient, TestServer, Video, config, ffmpeg9};

fn h264(seconds: f64) -> Publish {
    Publish::new(ffmpeg9(), Video::H264, Audio::Aac, seconds)
}

/// Codes of the statuses at or after event `from`, keeping only those in `wanted`.
fn codes_among(client: &TestClient, from: usize, wanted: &[&str]) -> Vec<String> {
    client
        .events
        .iter()
        .skip(from)
        .filter_map(|(_, e)| match e {
            ClientEvent::Status { code, .. } if wanted.contains(&code.as_str()) => Some(code.clone()),
            _ => None,
        })
        .collect()
}

/// Video frames (not sequence headers) at or after event `from`: (timestamp, keyframe).
fn video_frames(client: &TestClient, from: usize) -> Vec<(u32, bool)> {
    client
        .media(from)
        .into_iter()
        .filter(|m| m.video)
        .filter_map(|m| VideoTag::parse(&m.payload).ok().map(|t| (m.timestamp, t)))
        .filter(|(_, t)| !t.is_sequence_header())
        .map(|(ts, t)| (ts, t.is_keyframe()))
        .collect()
}

#[tokio::test]
async fn duplicate_publisher_is_refused_with_bad_name() {
    let server = TestServer::start(config());
    let url = server.url("live/cam");
    let first = h264(5.0).spawn(&url);
    let live = server.wait_live("cam", Duration::from_secs(5)).await;

    let mut client = TestClient::connect(server.addr, "live").await;
    assert_eq!(client.publish("cam", Duration::from_secs(3)).await, Err(status::PUBLISH_BAD_NAME.into()));

    let second = finish(h264(3.0).spawn(&url), Duration::from_secs(6)).await;
    assert!(second.failed(), "the second ffmpeg publisher was not refused: {second:?}");
    assert!(second.took < Duration::from_millis(2500), "refusal took {:?}", second.took);

    assert_eq!(server.stream("cam").unwrap().publisher, live.publisher, "the first publisher was replaced");
    let first = finish(first, Duration::from_secs(10)).await;
    assert!(first.success(), "the first publisher failed: {first:?}");
}

#[tokio::test]
async fn takeover_replaces_the_publisher_and_players_keep_playing() {
    let server = TestServer::start(config().publisher_policy(PublisherPolicy::TakeOver));
    let url = server.url("live/cam");
    let first = h264(8.0).spawn(&url);
    let live = server.wait_live("cam", Duration::from_secs(5)).await;
    let first_session = server.rec.publish_session(0);

    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let ffplayer = spawn_player(&ffmpeg9(), &url, 5.0);
    client.pump(Duration::from_secs(1)).await;

    let before = client.events.len();
    let second = h264(5.0).spawn(&url);
    let mut waited = Duration::ZERO;
    while server.rec.disconnect_reason(first_session).is_none() {
        assert!(waited < Duration::from_secs(5), "the first publisher was not disconnected");
        client.pump(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(server.rec.disconnect_reason(first_session), Some(DisconnectReason::Replaced));
    client.pump(Duration::from_secs(2)).await;
    assert!(!client.closed, "the player was disconnected by the takeover");

    // No UnpublishNotify: it ends ffmpeg's playback, and a takeover must not.
    let wanted =
        [status::PLAY_UNPUBLISH_NOTIFY, status::PLAY_PUBLISH_NOTIFY, status::PLAY_RESET, status::PLAY_START];
    assert_eq!(codes_among(&client, before, &wanted), wanted[1..]);
    let unpublished =
        server.rec.count(|h| matches!(h, Hook::Unpublish { session, .. } if *session == first_session));
    assert_eq!(unpublished, 1, "on_unpublish did not fire for the replaced publisher");
    let start = client.status_index(before, status::PLAY_START).unwrap();
    let frames = video_frames(&client, start);
    assert!(frames.len() >= 30, "only {} video frames after the takeover", frames.len());
    assert!(frames[0].1, "video after the takeover does not start at a keyframe");

    let now = server.stream("cam").unwrap();
    assert!(now.publisher.is_some() && now.publisher != live.publisher, "publisher {:?}", now.publisher);
    let first = finish(first, Duration::from_secs(5)).await;
    assert!(first.failed(), "the replaced ffmpeg publisher did not fail: {first:?}");

    let ffplayed = played(ffplayer, Duration::from_secs(10)).await;
    assert!(ffplayed.run.success(), "ffmpeg player failed across the takeover: {:?}", ffplayed.run);
    assert!(ffplayed.video_frames >= 100, "ffmpeg player decoded {} of 125 frames", ffplayed.video_frames);
    let second = finish(second, Duration::from_secs(10)).await;
    assert!(second.success(), "the new publisher failed: {second:?}");
}

/// Without the reconnect grace a drop unpublishes at once (the players wait for the next publish).
#[tokio::test]
async fn players_survive_a_publisher_drop_and_resume_on_republish() {
    let server = TestServer::start(config().publisher_reconnect_grace(Duration::ZERO));
    let url = server.url("live/cam");
    let mut first = h264(10.0).spawn(&url);
    server.wait_live("cam", Duration::from_secs(5)).await;
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    client.pump(Duration::from_secs(1)).await;
    assert!(!video_frames(&client, 0).is_empty(), "no video before the drop");

    first.start_kill().unwrap();
    let dropped = client.events.len();
    let unpublished = client
        .wait_for(
            dropped,
            Duration::from_secs(3),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::PLAY_UNPUBLISH_NOTIFY),
        )
        .await
        .expect("no UnpublishNotify after the publisher dropped");
    client.pump(Duration::from_millis(700)).await;
    assert!(!client.closed, "the player was disconnected when the publisher dropped");
    assert!(
        client.events[dropped..].iter().any(|(_, e)| matches!(e, ClientEvent::StreamEof { .. })),
        "no StreamEOF"
    );
    assert!(video_frames(&client, unpublished).is_empty(), "video after UnpublishNotify");

    let republished = client.events.len();
    let second = h264(4.0).spawn(&url);
    client
        .wait_for(
            republished,
            Duration::from_secs(5),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::PLAY_PUBLISH_NOTIFY),
        )
        .await
        .expect("no PublishNotify on republish");
    client.pump(Duration::from_secs(2)).await;
    let wanted = [status::PLAY_PUBLISH_NOTIFY, status::PLAY_RESET, status::PLAY_START];
    assert_eq!(codes_among(&client, republished, &wanted), wanted);

    let start = client.status_index(republished, status::PLAY_START).unwrap();
    let first_frame = client.events[start..]
        .iter()
        .position(|(_, e)| match e {
            ClientEvent::Video { payload, .. } => {
                VideoTag::parse(payload).is_ok_and(|t| !t.is_sequence_header())
            }
            _ => false,
        })
        .map(|i| start + i)
        .expect("no video after republish");
    let has = |pred: fn(&ClientEvent) -> bool| client.events[start..first_frame].iter().any(|(_, e)| pred(e));
    assert!(has(|e| matches!(e, ClientEvent::Metadata { .. })), "no metadata before the first new frame");
    assert!(
        has(
            |e| matches!(e, ClientEvent::Video { payload, .. } if VideoTag::parse(payload).is_ok_and(|t| t.is_sequence_header()))
        ),
        "no video sequence header before the first new frame"
    );
    let frames = video_frames(&client, start);
    assert!(frames[0].1, "video after republish does not start at a keyframe");
    assert!(frames.len() >= 40, "only {} frames after republish", frames.len());
    let second = finish(second, Duration::from_secs(10)).await;
    assert!(second.success(), "republisher failed: {second:?}");
}

#[tokio::test]
async fn the_query_is_not_part_of_the_stream_key() {
    let server = TestServer::start(config());
    let publishing = h264(4.0).spawn(&server.url("live/cam?token=x"));
    server.wait_live("cam", Duration::from_secs(5)).await;
    let publish = server.rec.hooks(|h| matches!(h, Hook::Publish { .. }));
    assert!(
        matches!(&publish[..], [Hook::Publish { key, token: Some(t), .. }] if *key == StreamKey::new("live", "cam") && t == "x"),
        "{publish:?}"
    );
    let keys: Vec<String> = server.handle.stats().streams.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, ["live/cam"]);

    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam?foo=bar").await;
    let player = spawn_player(&ffmpeg9(), &server.url("live/cam"), 2.0);
    client.pump(Duration::from_secs(2)).await;
    let played = played(player, Duration::from_secs(10)).await;
    assert!(played.run.success() && played.video_frames >= 40, "{played:?}");
    assert!(video_frames(&client, 0).len() >= 25, "our client playing cam?foo=bar got no video");
    assert!(finish(publishing, Duration::from_secs(10)).await.success());
}
