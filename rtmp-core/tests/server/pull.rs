//! Pulls (on demand) from nginx-rtmp, a server no one here wrote: one upstream connection for 20
//! players, stopped after the idle time; failover to the next upstream; StreamNotFound when none
//! answers; a hook that locates the upstream, for a local subscriber.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_core::server::{
    PeerKind, PullStats, RelayState, RtmpHandler, RtmpServer, StreamKey, SubscribeOptions, SubscriptionItem,
};

use crate::support::ffmpeg::{played, spawn_player};
use crate::support::nginx::Nginx;
use crate::support::{Audio, Publish, TestServer, Video, config, eventually, ffmpeg9, within};

/// Established TCP connections to `addr` (nginx's side), counted with `ss`.
fn connections_to(addr: SocketAddr) -> usize {
    let out = std::process::Command::new("ss")
        .args(["-Htn", "state", "established", &format!("( sport = :{} )", addr.port())])
        .output()
        .expect("ss (iproute2)");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}

fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn twenty_players_share_one_pull_that_stops_after_the_idle_time() {
    let nginx = Nginx::start();
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 60.0).gop(25).spawn(&nginx.url("cam"));
    eventually(Duration::from_secs(20), "ffmpeg publishing to nginx", || {
        (connections_to(nginx.addr) == 1).then_some(())
    })
    .await;
    let idle = Duration::from_secs(2);
    let server = TestServer::start(
        config().pull(vec![format!("rtmp://{}/{{app}}/{{name}}", nginx.addr)]).pull_idle_timeout(idle),
    );
    let first = spawn_player(&ffmpeg9(), &server.url("live/cam"), 4.0);
    eventually(Duration::from_secs(15), "the pull live", || {
        server.stream("cam")?.pull.filter(|p| p.state == RelayState::Live)
    })
    .await;
    let players: Vec<_> = (0..19).map(|_| spawn_player(&ffmpeg9(), &server.url("live/cam"), 3.0)).collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = server.stream("cam").unwrap();
    assert_eq!(stats.publisher_kind, Some(PeerKind::Pull));
    assert_eq!(connections_to(nginx.addr), 2, "nginx sees ffmpeg and one pull: {stats:?}");
    let mut decoded = vec![played(first, Duration::from_secs(40)).await.video_frames];
    for player in players {
        decoded.push(played(player, Duration::from_secs(40)).await.video_frames);
    }
    // Each from our GOP cache: 3 s (4 s for the first, from its keyframe wait) at 25 fps.
    assert!(decoded.iter().all(|&n| n >= 65), "pictures decoded by each of the 20 players: {decoded:?}");
    let last_left = Instant::now();
    eventually(idle + Duration::from_secs(2), "the pull stopped", || {
        server.stream("cam").is_none().then_some(())
    })
    .await;
    eventually(Duration::from_secs(2), "nginx down to its publisher", || {
        (connections_to(nginx.addr) == 1).then_some(())
    })
    .await;
    assert!(
        last_left.elapsed() <= idle + Duration::from_secs(2),
        "stopped {:?} after the last player",
        last_left.elapsed()
    );
    drop(ffmpeg);
}

#[tokio::test]
async fn the_next_upstream_serves_when_the_first_is_down_and_none_means_not_found() {
    let nginx = Nginx::start();
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).gop(25).spawn(&nginx.url("cam"));
    eventually(Duration::from_secs(20), "ffmpeg publishing to nginx", || {
        (connections_to(nginx.addr) == 1).then_some(())
    })
    .await;
    let dead = format!("rtmp://127.0.0.1:{}/live/{{name}}", dead_port());
    let server =
        TestServer::start(config().pull(vec![dead.clone(), format!("rtmp://{}/live/{{name}}", nginx.addr)]));
    let player =
        played(spawn_player(&ffmpeg9(), &server.url("live/cam"), 3.0), Duration::from_secs(40)).await;
    assert!(player.video_frames >= 65, "decoded {} through the second upstream", player.video_frames);
    drop(ffmpeg);

    // Nothing answers: the player gets StreamNotFound when play_wait_timeout passes.
    let lonely = TestServer::start(config().pull(vec![dead]).play_wait_timeout(Some(Duration::from_secs(3))));
    let started = Instant::now();
    let refused =
        played(spawn_player(&ffmpeg9(), &lonely.url("live/cam"), 3.0), Duration::from_secs(30)).await;
    assert!(refused.run.failed(), "ffmpeg played a stream nobody has: {}", refused.run.stderr);
    assert_eq!(refused.video_frames, 0);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(10), "refused after {took:?}");
    let stats =
        eventually(Duration::from_secs(5), "the pull in backoff", || lonely.stream("cam")?.pull).await;
    assert!(stats.last_error.is_some() && stats.reconnects >= 1, "{stats:?}");
}

/// Locates every stream on one upstream and records the pulls' states.
struct Locator {
    upstream: SocketAddr,
    states: Arc<Mutex<Vec<RelayState>>>,
}

impl RtmpHandler for Locator {
    async fn on_locate(&self, key: &StreamKey) -> Vec<String> {
        vec![format!("rtmp://{}/live/{}", self.upstream, key.name)]
    }

    fn on_pull(&self, _key: &StreamKey, pull: &PullStats) {
        self.states.lock().unwrap().push(pull.state);
    }
}

#[tokio::test]
async fn a_hook_locates_the_upstream_for_a_local_subscriber() {
    let nginx = Nginx::start();
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).gop(25).spawn(&nginx.url("remote"));
    eventually(Duration::from_secs(20), "ffmpeg publishing to nginx", || {
        (connections_to(nginx.addr) == 1).then_some(())
    })
    .await;
    let states = Arc::new(Mutex::new(Vec::new()));
    let server =
        RtmpServer::new(config(), Locator { upstream: nginx.addr, states: Arc::clone(&states) }).unwrap();
    let handle = server.handle();
    tokio::spawn(server.run());
    let options = SubscribeOptions::default().wait(Some(Duration::from_secs(15)));
    let mut subscription = within(
        Duration::from_secs(20),
        "the subscribe",
        handle.subscribe(&StreamKey::new("live", "remote"), options),
    )
    .await
    .expect("pulled");
    let mut pictures = 0;
    while pictures < 50 {
        if let Some(SubscriptionItem::Frame(frame)) =
            within(Duration::from_secs(10), "frames", subscription.next()).await
        {
            pictures += usize::from(frame.kind == rtmp_core::server::FrameKind::Video && !frame.header);
        }
    }
    assert_eq!(states.lock().unwrap()[..2], [RelayState::Connecting, RelayState::Live]);
    drop(subscription);
    drop(ffmpeg);
    handle.shutdown();
}
