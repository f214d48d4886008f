//! Forwards (push) to nginx-rtmp, a server no one here wrote, with ffmpeg publishers and players:
//! two destinations, one started late; one killed mid-stream and back; a hook that routes by
//! stream key; bad rules refused. RTMPS forwards and pulls to our own RTMPS listener, whose
//! certificate a private CA signed.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_core::client::server_config_from_pem;
use rtmp_core::server::{
    AcceptAll, Decision, ForwardError, ForwardStats, PublishOptions, PublishParams, RelayState, RtmpHandler,
    RtmpServer, SessionContext, StreamKey, TlsListener,
};

use crate::support::ffmpeg::{played, spawn_player};
use crate::support::nginx::Nginx;
use crate::support::{Audio, Publish, TestServer, Video, config, eventually, ffmpeg9};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn forward_state(server: &TestServer, name: &str, url: &str) -> Option<ForwardStats> {
    server.stream(name)?.forwards.into_iter().find(|f| f.url == url)
}

async fn wait_state(
    server: &TestServer,
    name: &str,
    url: &str,
    state: RelayState,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    eventually(limit, &format!("forward to {url} {state:?}"), || {
        forward_state(server, name, url).filter(|f| f.state == state)
    })
    .await;
    started.elapsed()
}

#[tokio::test]
async fn forwards_reach_two_nginx_destinations_one_of_them_started_late() {
    let first = Nginx::start();
    let late_port = free_port();
    let late_url = format!("rtmp://127.0.0.1:{late_port}/live/{{name}}");
    let server =
        TestServer::start(config().forward(vec![format!("rtmp://{}/live/{{name}}", first.addr), late_url]));
    let ffmpeg =
        Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 40.0).gop(25).spawn(&server.url("live/cam"));
    let published = Instant::now();
    server.wait_live("cam", Duration::from_secs(20)).await;
    let first_url = first.url("cam");
    wait_state(&server, "cam", &first_url, RelayState::Live, Duration::from_secs(10)).await;

    // The second destination comes up 5 s after the publish; the forward, in backoff, finds it.
    let late_url = format!("rtmp://127.0.0.1:{late_port}/live/cam");
    let stats = forward_state(&server, "cam", &late_url).expect("the late destination's forward");
    assert_ne!(stats.state, RelayState::Live);
    assert!(stats.last_error.is_some(), "{stats:?}");
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(published.elapsed())).await;
    let late = Nginx::start_on(late_port);
    // Tries at about 0, 1, 3 and 7 s (each wait doubling, ±25 %): the wait running at 5 s is the
    // 4 s one, at most 5 s with its jitter.
    let backoff = Duration::from_secs(5);
    let took =
        wait_state(&server, "cam", &late_url, RelayState::Live, backoff + Duration::from_secs(3)).await;
    let (on_first, on_late) =
        (spawn_player(&ffmpeg9(), &first_url, 3.0), spawn_player(&ffmpeg9(), &late.url("cam"), 3.0));
    let on_first = played(on_first, Duration::from_secs(30)).await;
    let on_late = played(on_late, Duration::from_secs(30)).await;
    // 3 s at 25 fps, less nginx's wait for a keyframe (no GOP cache there): at least 1.8 s.
    assert!(on_first.video_frames >= 45, "nginx's player decoded {} of 75", on_first.video_frames);
    assert!(on_first.audio_frames > 0);
    assert!(
        on_late.video_frames >= 45,
        "the late nginx's player decoded {} of 75 (live after {took:?})",
        on_late.video_frames
    );
    let stats = forward_state(&server, "cam", &late_url).unwrap();
    assert!(stats.reconnects >= 2 && stats.bytes_out > 0, "{stats:?}");
    drop(ffmpeg);
    // The publisher's end ends the forwards.
    eventually(Duration::from_secs(15), "the stream gone", || server.stream("cam").is_none().then_some(()))
        .await;
}

#[tokio::test]
async fn a_killed_destination_backs_off_and_returns_while_the_rest_keep_their_rate() {
    let steady = Nginx::start();
    let flaky_port = free_port();
    let flaky = Nginx::start_on(flaky_port);
    let flaky_url = flaky.url("cam");
    let server = TestServer::start(config().forward(vec![
        format!("rtmp://{}/live/{{name}}", steady.addr),
        format!("rtmp://127.0.0.1:{flaky_port}/live/{{name}}"),
    ]));
    let ffmpeg =
        Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 40.0).gop(25).spawn(&server.url("live/cam"));
    server.wait_live("cam", Duration::from_secs(20)).await;
    wait_state(&server, "cam", &flaky_url, RelayState::Live, Duration::from_secs(10)).await;
    wait_state(&server, "cam", &steady.url("cam"), RelayState::Live, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Players of the other destination and of ours while the flaky one dies. nginx-rtmp has no
    // GOP cache: its player waits up to a GOP (1 s) for a keyframe, so it plays 6 s for 5 s of
    // pictures.
    let on_steady = spawn_player(&ffmpeg9(), &steady.url("cam"), 6.0);
    let on_ours = spawn_player(&ffmpeg9(), &server.url("live/cam"), 5.0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    flaky.kill();
    let (on_steady, on_ours) =
        (played(on_steady, Duration::from_secs(30)).await, played(on_ours, Duration::from_secs(30)).await);
    // 5 s at 25 fps: 125 pictures, within 5 %.
    assert!(on_steady.video_frames >= 119, "nginx's player decoded {}", on_steady.video_frames);
    assert!(on_ours.video_frames >= 119, "our player decoded {}", on_ours.video_frames);
    let lost = forward_state(&server, "cam", &flaky_url).unwrap();
    assert_ne!(lost.state, RelayState::Live, "{lost:?}");
    assert!(lost.reconnects >= 1 && lost.last_error.is_some(), "{lost:?}");

    let back = Nginx::start_on(flaky_port);
    wait_state(&server, "cam", &flaky_url, RelayState::Live, Duration::from_secs(15)).await;
    let on_back = played(spawn_player(&ffmpeg9(), &back.url("cam"), 3.0), Duration::from_secs(30)).await;
    assert!(on_back.video_frames >= 45, "the returned nginx's player decoded {}", on_back.video_frames);
    drop(ffmpeg);
}

/// Routes each publish to `{name}-copy` on a destination, and records every forward's states.
struct Router {
    destination: SocketAddr,
    states: Arc<Mutex<Vec<(String, RelayState)>>>,
}

impl RtmpHandler for Router {
    async fn on_publish(&self, _ctx: &SessionContext, params: &PublishParams) -> Decision {
        let url = format!("rtmp://{}/live/{}-copy", self.destination, params.key.name);
        Decision::AcceptPublish(PublishOptions::new().forward(url))
    }

    fn on_forward(&self, key: &StreamKey, forward: &ForwardStats) {
        self.states.lock().unwrap().push((format!("{key} {}", forward.url), forward.state));
    }
}

#[tokio::test]
async fn a_hook_routes_by_stream_key_and_hears_each_state() {
    let nginx = Nginx::start();
    let states = Arc::new(Mutex::new(Vec::new()));
    let router = Router { destination: nginx.addr, states: Arc::clone(&states) };
    let server = RtmpServer::new(config(), router).unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    tokio::spawn(server.run());
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 20.0)
        .gop(25)
        .spawn(&format!("rtmp://{addr}/live/studio"));
    let url = nginx.url("studio-copy");
    eventually(Duration::from_secs(20), "the routed forward live", || {
        states.lock().unwrap().iter().any(|(_, s)| *s == RelayState::Live).then_some(())
    })
    .await;
    let copy = played(spawn_player(&ffmpeg9(), &url, 3.0), Duration::from_secs(30)).await;
    assert!(copy.video_frames >= 45, "nginx's player of the copy decoded {}", copy.video_frames);
    let seen = states.lock().unwrap().clone();
    assert_eq!(seen[0], (format!("live/studio {url}"), RelayState::Connecting));
    assert!(seen.contains(&(format!("live/studio {url}"), RelayState::Live)), "{seen:?}");
    // The forward writes from the output path: publishers' direct writes count in its stats.
    let key = StreamKey::new("live", "studio");
    let stream = handle.stats().streams.into_iter().find(|s| s.key == key).expect("the stream's stats");
    let forward = stream.forwards.iter().find(|f| f.url == url).expect("the forward's stats");
    assert!(forward.bytes_out > 100_000, "{forward:?}");
    assert!(stream.players.iter().any(|p| p.kind == rtmp_core::server::PeerKind::Forward));

    // At runtime: another destination added through the handle, then removed.
    let extra = nginx.url("extra");
    handle.add_forward(&key, &extra).unwrap();
    assert_eq!(handle.add_forward(&key, &extra), Err(ForwardError::Duplicate(extra.clone())));
    let extra_played = played(spawn_player(&ffmpeg9(), &extra, 2.0), Duration::from_secs(30)).await;
    assert!(
        extra_played.video_frames >= 20,
        "the added destination's player decoded {}",
        extra_played.video_frames
    );
    assert!(handle.remove_forward(&key, &extra));
    assert!(!handle.remove_forward(&key, &extra));
    drop(ffmpeg);
    handle.shutdown();
}

#[tokio::test]
async fn bad_rules_and_urls_are_refused_with_their_name() {
    let bad = config().forward(vec!["http://example.com/{name}".into()]);
    let error = RtmpServer::new(bad, rtmp_core::server::AcceptAll).err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    let text = error.to_string();
    assert!(text.starts_with("forward rule \"http://example.com/{name}\" makes no RTMP URL"), "{text}");
    let unknown = config().forward(vec!["rtmp://h/{app}/{stream}".into()]);
    assert!(RtmpServer::new(unknown, rtmp_core::server::AcceptAll).is_err());

    let server = TestServer::start(config());
    let key = StreamKey::new("live", "none");
    assert_eq!(
        server.handle.add_forward(&key, "rtmp://127.0.0.1:1/live/x"),
        Err(ForwardError::NotLive(key.clone()))
    );
    let mut publisher = server.handle.publish(&key).unwrap();
    assert!(matches!(server.handle.add_forward(&key, "not a url"), Err(ForwardError::BadUrl(_))));
    // A destination that never answers: the forward backs off, the stream goes on.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtmp://{}/live/x", silent.local_addr().unwrap());
    server.handle.add_forward(&key, &url).unwrap();
    publisher.send_video(0, bytes::Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65])).unwrap();
    eventually(Duration::from_secs(20), "the silent destination's timeout", || {
        server.stream("none")?.forwards.into_iter().find(|f| f.state == RelayState::Backoff)
    })
    .await;
    assert!(publisher.is_publishing());
    publisher.close();
}

/// A private CA (made here) and an RTMPS listener for 127.0.0.1 with a certificate it signed:
/// the CA's PEM file, the listener, and a PEM file with no certificate (the listener's key).
fn private_ca_listener(dir: &std::path::Path) -> (String, TlsListener, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "rtmp-rs test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    let config = server_config_from_pem(path("cert.pem"), path("key.pem")).unwrap();
    (path("ca.pem"), TlsListener { bind: "127.0.0.1:0".parse().unwrap(), config }, path("key.pem"))
}

/// RTMPS relays to a server whose certificate a private CA signed: with the CA in
/// `relay_tls_roots` a forward and a pull go live and ffmpeg players decode what they carry;
/// without it the pull fails on the certificate and plays nothing; a roots file that is missing
/// or holds no certificate refuses the server.
#[tokio::test]
async fn rtmps_forwards_and_pulls_trust_a_private_ca_from_relay_tls_roots() {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-relay-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, listener, no_certificate) = private_ca_listener(&dir);
    let destination = TestServer::start(config().tls(Some(listener)));
    let tls_addr = destination.tls_addr.expect("the RTMPS listener");

    // A forward from an origin over RTMPS; an ffmpeg player of the destination decodes it.
    let origin = TestServer::start(
        config()
            .relay_tls_roots(vec![ca.clone()])
            .forward(vec![format!("rtmps://{tls_addr}/live/{{name}}-copy")]),
    );
    let ffmpeg =
        Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).gop(25).spawn(&origin.url("live/cam"));
    origin.wait_live("cam", Duration::from_secs(20)).await;
    let forward_url = format!("rtmps://{tls_addr}/live/cam-copy");
    wait_state(&origin, "cam", &forward_url, RelayState::Live, Duration::from_secs(10)).await;
    destination.wait_live("cam-copy", Duration::from_secs(10)).await;
    let on_destination = spawn_player(&ffmpeg9(), &destination.url("live/cam-copy"), 3.0);

    // A pull by an edge over RTMPS, and one by an edge that does not know the CA.
    let pull_rule = vec![format!("rtmps://{tls_addr}/{{app}}/{{name}}")];
    let edge = TestServer::start(config().relay_tls_roots(vec![ca]).pull(pull_rule.clone()));
    let untrusting =
        TestServer::start(config().pull(pull_rule).play_wait_timeout(Some(Duration::from_secs(4))));
    let on_edge = spawn_player(&ffmpeg9(), &edge.url("live/cam-copy"), 3.0);
    let on_untrusting = spawn_player(&ffmpeg9(), &untrusting.url("live/cam-copy"), 3.0);
    let refused = eventually(Duration::from_secs(10), "the untrusting edge's pull failing", || {
        untrusting.stream("cam-copy")?.pull?.last_error
    })
    .await;
    assert!(refused.contains("certificate") || refused.contains("UnknownIssuer"), "{refused}");

    let on_destination = played(on_destination, Duration::from_secs(30)).await;
    let on_edge = played(on_edge, Duration::from_secs(30)).await;
    let on_untrusting = played(on_untrusting, Duration::from_secs(30)).await;
    // 3 s at 25 fps from the GOP cache (the destination's and the edge's).
    assert!(
        on_destination.video_frames >= 60,
        "the destination's player decoded {}",
        on_destination.video_frames
    );
    assert!(on_edge.video_frames >= 60, "the edge's player decoded {}", on_edge.video_frames);
    assert!(on_destination.audio_frames > 0 && on_edge.audio_frames > 0);
    assert_eq!(on_untrusting.video_frames, 0, "a pull over an unchecked certificate");
    let pull = edge.stream("cam-copy").and_then(|s| s.pull).expect("the edge's pull");
    assert!(pull.bytes_in > 0 && pull.url.starts_with("rtmps://"), "{pull:?}");

    // Roots that cannot be read, or hold no certificate: the server is refused, naming the file.
    for (file, problem) in [
        (dir.join("missing.pem").to_string_lossy().into_owned(), "cannot be read"),
        (no_certificate, "holds no certificate"),
    ] {
        let refused =
            RtmpServer::new(config().relay_tls_roots(vec![file.clone()]), AcceptAll).err().expect("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
        let message = refused.to_string();
        assert!(
            message.contains("relay_tls_roots") && message.contains(&file) && message.contains(problem),
            "{message}"
        );
    }
    drop(ffmpeg);
    let _ = std::fs::remove_dir_all(&dir);
}
