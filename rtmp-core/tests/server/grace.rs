//! The publisher reconnect grace: a publisher that vanishes without unpublishing keeps its
//! players for `publisher_reconnect_grace`, and a republish within it is invisible to them.

use std::time::{Duration, Instant};

use rtmp_core::proto::message::status;
use rtmp_core::proto::session::ClientEvent;
use rtmp_core::server::StreamKey;

use crate::support::client::{AVC_HEADER, Media};
use crate::support::{Hook, Synthetic, TestClient, TestServer, config};

/// Publishes `spec` on `live/{name}` with a new connection, which is returned still open.
async fn publish(server: &TestServer, name: &str, spec: &Synthetic) -> TestClient {
    let mut client = TestClient::connect(server.addr, "live").await;
    let id = client.publish(name, Duration::from_secs(3)).await.expect("publish accepted");
    client.publish_synthetic(id, spec).await;
    client
}

/// A player of `live/{name}`, started, reading on its own task for `seconds`.
async fn player(
    server: &TestServer,
    name: &str,
    seconds: u64,
) -> tokio::task::JoinHandle<(TestClient, usize)> {
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started(name).await;
    let started = client.events.len();
    tokio::spawn(async move {
        client.pump(Duration::from_secs(seconds)).await;
        (client, started)
    })
}

fn is_header(m: &Media) -> bool {
    m.payload.len() > 1 && m.payload[1] == 0
}

/// Statuses, StreamBegin and StreamEOF at or after event `from`.
fn notices(client: &TestClient, from: usize) -> Vec<String> {
    client.events[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Status { code, .. } => Some(code.clone()),
            ClientEvent::StreamBegin { .. } => Some("StreamBegin".into()),
            ClientEvent::StreamEof { .. } => Some("StreamEOF".into()),
            _ => None,
        })
        .collect()
}

fn metadata_count(client: &TestClient, from: usize) -> usize {
    client.events[from..].iter().filter(|(_, e)| matches!(e, ClientEvent::Metadata { .. })).count()
}

/// What a player saw across a drop at `dropped` and a republish: the media timestamps' jump
/// at the outage, and the wall-clock gap between the last old and the first new message.
struct Across {
    jump_ms: u32,
    wall: Duration,
}

/// Checks that the timeline never goes back.
fn monotonic(media: &[Media]) {
    for pair in media.windows(2) {
        assert!(
            pair[1].timestamp >= pair[0].timestamp,
            "the timeline goes back: {} then {}",
            pair[0].timestamp,
            pair[1].timestamp
        );
    }
}

/// Checks that the timeline is monotonic and measures the step at the first message that
/// arrived after `resumed`.
fn across(media: &[Media], resumed: Instant) -> Across {
    monotonic(media);
    let first_new = media.iter().position(|m| m.at >= resumed).expect("media after the republish");
    assert!(first_new > 0, "no media before the drop");
    let (old, new) = (&media[first_new - 1], &media[first_new]);
    Across { jump_ms: new.timestamp - old.timestamp, wall: new.at - old.at }
}

/// Drops a publisher after 1.5 s, republishes 1 s later with `video_header`; returns the
/// player, the index of its first event after Play.Start, the timeline step and the server.
async fn drop_and_republish(video_header: Vec<u8>) -> (TestClient, usize, Across, TestServer) {
    let server = TestServer::start(config());
    let mut first = TestClient::connect(server.addr, "live").await;
    let id = first.publish("cam", Duration::from_secs(3)).await.unwrap();
    let playing = player(&server, "cam", 5).await;
    first.publish_synthetic(id, &Synthetic::new(1.5)).await;
    drop(first);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = server.stream("cam").expect("the stream survives the drop");
    assert_eq!((held.publisher, held.players.len(), held.interruptions), (None, 1, 1), "{held:?}");

    let resumed = Instant::now();
    let second = publish(&server, "cam", &Synthetic { video_header, ..Synthetic::new(1.5) }).await;
    let (player, from) = playing.await.unwrap();
    assert!(!player.closed, "the player was disconnected");
    let step = across(&player.media(from), resumed);
    let stats = server.stream("cam").unwrap();
    assert_eq!((stats.interruptions, stats.resumptions), (1, 1));
    drop(second);
    (player, from, step, server)
}

#[tokio::test]
async fn a_republish_within_the_grace_is_invisible_to_players() {
    let (player, from, step, server) = drop_and_republish(AVC_HEADER.to_vec()).await;
    assert_eq!(notices(&player, from), Vec::<String>::new(), "the player heard of the outage");
    println!("outage seen by the player: {:?}, timestamp jump {} ms", step.wall, step.jump_ms);
    // The timeline steps by the outage (measured at the server, from the drop to the first new
    // message): about the gap the player saw.
    let wall_ms = step.wall.as_millis() as u32;
    assert!(step.jump_ms <= wall_ms + 100, "jump {} ms for an outage of {wall_ms} ms", step.jump_ms);
    assert!(step.jump_ms + 300 >= wall_ms, "jump {} ms for an outage of {wall_ms} ms", step.jump_ms);

    // Headers and metadata were the same: sent once, before the drop.
    let media = player.media(from);
    let headers: Vec<bool> = media.iter().filter(|m| is_header(m)).map(|m| m.video).collect();
    assert_eq!(headers, [false, true], "one audio and one video header");
    assert_eq!(metadata_count(&player, from), 1);
    let video: Vec<&Media> = media.iter().filter(|m| m.video && !is_header(m)).collect();
    assert!(video.len() >= 65, "{} video frames of 75", video.len());

    // The hooks: the first publisher's interruption and unpublish, the second's resumption.
    let first = server.rec.publish_session(0);
    let second = server.rec.publish_session(1);
    let cam = StreamKey::new("live", "cam");
    let hooks = server.rec.hooks(|h| {
        matches!(h, Hook::PublishInterrupted { .. } | Hook::PublishResumed { .. } | Hook::Unpublish { .. })
    });
    let [
        Hook::PublishInterrupted { session: interrupted, key: k1 },
        Hook::Unpublish { session: unpublished, .. },
        Hook::PublishResumed { session: resumed, key: k2, outage },
        ..,
    ] = &hooks[..]
    else {
        panic!("{hooks:?}")
    };
    assert_eq!((*interrupted, *unpublished, *resumed), (first, first, second));
    assert_eq!((k1, k2), (&cam, &cam));
    assert!((Duration::from_millis(900)..Duration::from_secs(3)).contains(outage), "{outage:?}");
}

#[tokio::test]
async fn changed_headers_are_sent_on_resume() {
    let mut changed = AVC_HEADER.to_vec();
    changed[8] = 0x1e; // level 3.0
    let (player, from, _, _server) = drop_and_republish(changed.clone()).await;
    assert_eq!(notices(&player, from), Vec::<String>::new());
    let media = player.media(from);
    let video_headers: Vec<&[u8]> =
        media.iter().filter(|m| m.video && is_header(m)).map(|m| &m.payload[..]).collect();
    assert_eq!(video_headers, [&AVC_HEADER[..], &changed[..]]);
    assert_eq!(media.iter().filter(|m| !m.video && is_header(m)).count(), 1, "the same audio header");
    // The changed header comes right before the new publisher's first keyframe.
    let at = media.iter().position(|m| m.payload[..] == changed[..]).unwrap();
    let next_video = media[at + 1..].iter().find(|m| m.video).unwrap();
    assert_eq!(next_video.payload[0], 0x17, "video resumes at a keyframe");
}

#[tokio::test]
async fn without_grace_a_drop_unpublishes_at_once() {
    let server = TestServer::start(config().publisher_reconnect_grace(Duration::ZERO));
    let mut first = TestClient::connect(server.addr, "live").await;
    let id = first.publish("cam", Duration::from_secs(3)).await.unwrap();
    let playing = player(&server, "cam", 2).await;
    first.publish_synthetic(id, &Synthetic::new(0.5)).await;
    drop(first);
    let dropped = Instant::now();
    let (player, from) = playing.await.unwrap();
    let notice = player.status_index(from, status::PLAY_UNPUBLISH_NOTIFY).expect("UnpublishNotify");
    let after = player.events[notice].0 - dropped;
    println!("grace 0: UnpublishNotify {after:?} after the drop");
    assert!(after < Duration::from_millis(300), "{after:?}");
    assert_eq!(server.rec.count(|h| matches!(h, Hook::PublishInterrupted { .. })), 0);
}

#[tokio::test]
async fn without_a_republish_players_are_told_when_the_grace_runs_out() {
    let grace = Duration::from_millis(500);
    let server = TestServer::start(config().publisher_reconnect_grace(grace));
    let mut first = TestClient::connect(server.addr, "live").await;
    let id = first.publish("cam", Duration::from_secs(3)).await.unwrap();
    // A stream nobody plays outlives its publisher by the grace too (its counts survive).
    let idle = publish(&server, "idle", &Synthetic::new(0.2)).await;
    let playing = player(&server, "cam", 2).await;
    first.publish_synthetic(id, &Synthetic::new(0.5)).await;
    drop((first, idle));
    let dropped = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.stream("idle").map(|s| s.interruptions), Some(1), "idle/ removed in the grace");
    let (player, from) = playing.await.unwrap();
    assert_eq!(
        notices(&player, from),
        [status::PLAY_UNPUBLISH_NOTIFY, "StreamEOF"],
        "UnpublishNotify then StreamEOF, once"
    );
    let notice = player.status_index(from, status::PLAY_UNPUBLISH_NOTIFY).unwrap();
    let after = player.events[notice].0 - dropped;
    println!("grace {grace:?}: UnpublishNotify {after:?} after the drop");
    assert!((grace..grace + Duration::from_millis(300)).contains(&after), "{after:?}");
    assert!(server.stream("idle").is_none(), "idle/ kept after the grace");
    assert!(!player.closed);
}

#[tokio::test]
async fn an_unpublish_is_not_an_outage() {
    let server = TestServer::start(config());
    let mut first = TestClient::connect(server.addr, "live").await;
    let id = first.publish("cam", Duration::from_secs(3)).await.unwrap();
    let playing = player(&server, "cam", 1).await;
    first.publish_synthetic(id, &Synthetic::new(0.3)).await;
    first.session().unpublish(id, "cam");
    first.flush().await;
    let unpublished = Instant::now();
    let (player, from) = playing.await.unwrap();
    let notice = player.status_index(from, status::PLAY_UNPUBLISH_NOTIFY).expect("UnpublishNotify");
    assert!(player.events[notice].0 - unpublished < Duration::from_millis(300));
    assert_eq!(server.rec.count(|h| matches!(h, Hook::PublishInterrupted { .. })), 0);
    drop(first);
}

#[tokio::test]
async fn a_joiner_during_the_outage_waits_then_plays() {
    let server = TestServer::start(config());
    let first = publish(&server, "cam", &Synthetic::new(1.0)).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let playing = player(&server, "cam", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resumed = Instant::now();
    let second = publish(&server, "cam", &Synthetic::new(1.5)).await;
    let (joiner, from) = playing.await.unwrap();
    let media = joiner.media(from);
    assert!(media.iter().all(|m| m.at >= resumed), "media during the outage");
    // Told like a player waiting for a stream: PublishNotify, Reset, Start, then the cache.
    let codes = notices(&joiner, from);
    assert_eq!(
        codes,
        ["StreamBegin", status::PLAY_PUBLISH_NOTIFY, status::PLAY_RESET, status::PLAY_START],
        "{codes:?}"
    );
    assert_eq!(metadata_count(&joiner, from), 1);
    let headers = media.iter().filter(|m| is_header(m)).count();
    assert_eq!(headers, 2, "the cached headers, once each");
    let video: Vec<&Media> = media.iter().filter(|m| m.video && !is_header(m)).collect();
    assert!(video.len() >= 30 && video[0].payload[0] == 0x17, "{} frames", video.len());
    monotonic(&media);
    drop(second);
}

#[tokio::test]
async fn shutdown_does_not_wait_for_the_grace() {
    let mut server = TestServer::start(config().publisher_reconnect_grace(Duration::from_secs(30)));
    let first = publish(&server, "cam", &Synthetic::new(0.3)).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.stream("cam").is_some());
    let took = server.stop_with_future().await;
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
}
