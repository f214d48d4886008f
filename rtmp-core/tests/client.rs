//! The client against servers no one here wrote (nginx-rtmp) and against our own, over RTMP and
//! RTMPS, with ffmpeg as the independent encoder and decoder.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rtmp_core::client::{
    ClientConfig, ClientError, PlayerEvent, ReconnectPolicy, RtmpPlayer, RtmpPublisher,
    server_config_from_pem,
};
use rtmp_core::flv::{FlvTag, FlvWriter};
use rtmp_core::proto::media::{AudioCodec, VideoCodec};
use rtmp_core::server::{AcceptAll, RtmpServer, TlsListener};
use support::ffmpeg::{finish, play, played};
use support::nginx::Nginx;
use support::{Audio, Publish, TestServer, Video, config, ffmpeg9};

const LIMIT: Duration = Duration::from_secs(30);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtmp-rs-client-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Encodes `seconds` of lavfi test video and audio into an FLV file with ffmpeg 9.
async fn make_flv(path: &Path, video: Video, audio: Audio, seconds: f64) {
    let (vcodec, acodec) = match (video, audio) {
        (Video::H264, _) => ("libx264", "aac"),
        (Video::Hevc, _) => ("libx265", "libopus"),
        (Video::Av1, _) => ("libsvtav1", "libopus"),
    };
    let acodec = if audio == Audio::Opus { "libopus" } else { acodec };
    let status = tokio::process::Command::new(ffmpeg9())
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &seconds.to_string()])
        .args(["-c:v", vcodec, "-g", "25", "-pix_fmt", "yuv420p", "-c:a", acodec, "-b:a", "64k"])
        .args([
            "-x265-params",
            "log-level=error",
            "-preset",
            if video == Video::Av1 { "12" } else { "ultrafast" },
        ])
        .args(["-f", "flv"])
        .arg(path)
        .status()
        .await
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not write {}", path.display());
}

#[derive(Debug, Default)]
struct Counts {
    video: usize,
    audio: usize,
    keyframes: usize,
    video_codecs: Vec<VideoCodec>,
    audio_codecs: Vec<AudioCodec>,
    first_video_is_key: Option<bool>,
}

/// Plays for `seconds` with our player, counting frames and optionally writing an FLV file.
async fn play_with_ours(url: &str, config: ClientConfig, seconds: f64, out: Option<&Path>) -> Counts {
    let mut player = RtmpPlayer::connect(url, config).await.expect("our player connects");
    let mut writer = out.map(|p| FlvWriter::new(std::fs::File::create(p).unwrap(), true, true).unwrap());
    let mut counts = Counts::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(seconds);
    while let Ok(event) = tokio::time::timeout_at(deadline, player.next_event()).await {
        let Some(event) = event.expect("player event") else { break };
        let tag = match event {
            PlayerEvent::Video { timestamp, payload, tag } => {
                let tag = tag.expect("video parses");
                if !tag.is_sequence_header() {
                    counts.video += 1;
                    counts.first_video_is_key.get_or_insert(tag.is_keyframe());
                    counts.keyframes += usize::from(tag.is_keyframe());
                }
                if !counts.video_codecs.contains(&tag.codec()) {
                    counts.video_codecs.push(tag.codec());
                }
                FlvTag { tag_type: 9, timestamp, data: payload }
            }
            PlayerEvent::Audio { timestamp, payload, tag } => {
                let tag = tag.expect("audio parses");
                counts.audio += usize::from(!tag.is_sequence_header());
                if !counts.audio_codecs.contains(&tag.codec()) {
                    counts.audio_codecs.push(tag.codec());
                }
                FlvTag { tag_type: 8, timestamp, data: payload }
            }
            _ => continue,
        };
        if let Some(w) = writer.as_mut() {
            w.write_tag(&tag).unwrap();
        }
    }
    if let Some(w) = writer {
        w.into_inner().unwrap();
    }
    player.close().await;
    counts
}

/// Publishes `file` with our publisher in the background.
fn publish_file(url: String, file: PathBuf, repeat: bool) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut publisher =
            RtmpPublisher::connect(&url, ClientConfig::default()).await.expect("our publisher connects");
        let sent = publisher.publish_flv(&file, repeat).await.expect("publish file");
        publisher.close().await.unwrap();
        sent
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_publisher_to_nginx_is_decoded_by_ffmpeg() {
    let nginx = Nginx::start();
    let dir = temp_dir("pub-nginx");
    let file = dir.join("in.flv");
    make_flv(&file, Video::H264, Audio::Aac, 6.0).await;
    let publishing = publish_file(nginx.url("ours"), file, false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let played = play(&ffmpeg9(), &nginx.url("ours"), 3.0, LIMIT).await;
    assert!(played.video_frames >= 50, "ffmpeg decoded {} video frames via nginx", played.video_frames);
    assert!(played.audio_frames >= 50, "ffmpeg decoded {} audio frames via nginx", played.audio_frames);
    assert!(publishing.await.unwrap() > 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_to_nginx_to_our_player_writes_a_decodable_flv() {
    let nginx = Nginx::start();
    let dir = temp_dir("nginx-player");
    let publisher = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 8.0).gop(25).spawn(&nginx.url("cam"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = dir.join("played.flv");
    let counts = play_with_ours(&nginx.url("cam"), ClientConfig::default(), 4.0, Some(&out)).await;
    assert!(counts.video >= 60, "{counts:?}");
    assert!(counts.audio >= 100, "{counts:?}");
    assert!(counts.keyframes >= 2, "{counts:?}");
    assert_eq!(counts.video_codecs, [VideoCodec::Avc]);
    assert_eq!(counts.audio_codecs, [AudioCodec::Aac]);
    let decoded = play(&ffmpeg9(), out.to_str().unwrap(), 60.0, LIMIT).await;
    assert!(decoded.video_frames as f64 >= counts.video as f64 * 0.8, "{decoded:?} vs {counts:?}");
    assert!(decoded.audio_frames > 0);
    drop(finish(publisher, LIMIT).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_from_nginx_through_our_server_to_ffmpeg() {
    let nginx = Nginx::start();
    let server = TestServer::start(config());
    let publisher = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 10.0).gop(25).spawn(&nginx.url("src"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (src, dst) = (nginx.url("src"), server.url("live/relayed"));
    let relay = tokio::spawn(async move {
        let mut player = RtmpPlayer::connect(&src, ClientConfig::default()).await.expect("relay source");
        let mut publisher = RtmpPublisher::connect(&dst, ClientConfig::default()).await.expect("relay sink");
        while let Ok(Some(event)) = player.next_event().await {
            let sent = match event {
                PlayerEvent::Metadata { metadata, .. } => publisher.send_metadata(&metadata).await,
                PlayerEvent::Video { timestamp, payload, .. } => {
                    publisher.send_video(timestamp, payload).await
                }
                PlayerEvent::Audio { timestamp, payload, .. } => {
                    publisher.send_audio(timestamp, payload).await
                }
                PlayerEvent::StreamEnd => break,
                _ => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
    });
    server.wait_live("relayed", Duration::from_secs(10)).await;
    let played = play(&ffmpeg9(), &server.url("live/relayed"), 3.0, LIMIT).await;
    assert!(played.video_frames >= 50, "{played:?}");
    assert!(played.audio_frames >= 50, "{played:?}");
    relay.abort();
    drop(finish(publisher, LIMIT).await);
}

/// A self-signed certificate for 127.0.0.1, written as PEM files.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmps_ffmpeg_publishes_and_our_player_verifies_and_plays() {
    let dir = temp_dir("rtmps");
    let (cert, key) = self_signed(&dir);
    let tls = TlsListener {
        bind: "127.0.0.1:0".parse().unwrap(),
        config: server_config_from_pem(&cert, &key).unwrap(),
    };
    let server = RtmpServer::new(config().tls(Some(tls)), AcceptAll).unwrap();
    let tls_addr = server.tls_local_addr().unwrap().unwrap();
    let handle = server.handle();
    tokio::spawn(server.run());
    let url = format!("rtmps://127.0.0.1:{}/live/secure", tls_addr.port());
    let publisher = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 8.0)
        .gop(25)
        .extra(&["-tls_verify", "0"])
        .spawn(&url);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Verified against the self-signed root: no insecure switch.
    let mut client = ClientConfig::default();
    client.tls = client.tls.add_roots_pem(&cert).unwrap();
    let counts = play_with_ours(&url, client, 3.0, None).await;
    assert!(counts.video >= 40 && counts.audio >= 60, "{counts:?}");
    // An unknown root is refused.
    let refused = RtmpPlayer::connect(&url, ClientConfig::default()).await;
    assert!(refused.is_err());
    // ffmpeg plays over RTMPS too.
    let mut cmd = tokio::process::Command::new(ffmpeg9());
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-tls_verify", "0", "-i", &url]);
    cmd.args(["-t", "2", "-f", "framemd5", "-"]).kill_on_drop(true);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let played = played(cmd.spawn().unwrap(), LIMIT).await;
    assert!(played.video_frames >= 25, "{played:?}");
    handle.shutdown();
    drop(finish(publisher, LIMIT).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_and_opus_over_enhanced_rtmp_client_to_server() {
    let server = TestServer::start(config());
    let dir = temp_dir("hevc");
    let file = dir.join("hevc.flv");
    make_flv(&file, Video::Hevc, Audio::Opus, 5.0).await;
    let publishing = publish_file(server.url("live/hevc"), file, false);
    let stats = server.wait_live("hevc", Duration::from_secs(10)).await;
    assert!(stats.video_codec.as_deref().is_some_and(|c| c.starts_with("hvc1")), "{stats:?}");
    assert_eq!((stats.width, stats.height), (Some(320), Some(240)));
    let counts = play_with_ours(&server.url("live/hevc"), ClientConfig::default(), 2.5, None).await;
    assert_eq!(counts.video_codecs, [VideoCodec::Hevc]);
    assert_eq!(counts.audio_codecs, [AudioCodec::Opus]);
    assert_eq!(counts.first_video_is_key, Some(true));
    assert!(counts.video >= 30 && counts.audio >= 50, "{counts:?}");
    let played = play(&ffmpeg9(), &server.url("live/hevc"), 1.5, LIMIT).await;
    assert!(played.video_frames >= 15, "{played:?}");
    publishing.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_reconnects_after_the_server_restarts() {
    let first = RtmpServer::new(config(), AcceptAll).unwrap();
    let addr = first.local_addr().unwrap();
    let first_handle = first.handle();
    let first_task = tokio::spawn(first.run());
    let url = format!("rtmp://{addr}/live/again");
    let publisher = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 20.0).gop(25).spawn(&url);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let config_with_reconnect = ClientConfig {
        reconnect: Some(ReconnectPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
            max_attempts: Some(30),
        }),
        ..ClientConfig::default()
    };
    let mut player = RtmpPlayer::connect(&url, config_with_reconnect).await.unwrap();
    let mut seen_video = 0;
    while seen_video < 10 {
        if let Some(PlayerEvent::Video { .. }) = player.next_event().await.unwrap() {
            seen_video += 1;
        }
    }
    first_handle.shutdown();
    first_task.await.unwrap().unwrap();
    drop(finish(publisher, Duration::from_secs(5)).await);
    // The same port again, with a new publisher.
    let second = RtmpServer::new(config().bind(addr), AcceptAll).unwrap();
    let second_handle = second.handle();
    tokio::spawn(second.run());
    let publisher = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 10.0).gop(25).spawn(&url);
    let mut reconnected = false;
    let mut video_after = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while video_after < 10 {
        let event =
            tokio::time::timeout_at(deadline, player.next_event()).await.expect("frames after reconnect");
        match event.unwrap() {
            Some(PlayerEvent::Reconnected) => reconnected = true,
            Some(PlayerEvent::Video { .. }) if reconnected => video_after += 1,
            _ => {}
        }
    }
    second_handle.shutdown();
    drop(finish(publisher, LIMIT).await);
}

/// A one-connection server that accepts connect and play, then asks the client (E-RTMP
/// ReconnectRequest) to move to `tc_url`.
async fn redirecting_server(listener: tokio::net::TcpListener, tc_url: String) {
    use rtmp_core::proto::session::{ServerEvent, ServerSession, ServerSessionConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut session = ServerSession::new(ServerSessionConfig::default(), 0, &[7; 1528]);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        session.handle_input(&buf[..n]).unwrap();
        while let Some(event) = session.poll_event() {
            match event {
                ServerEvent::ConnectRequested { request, .. } => session.accept(request).unwrap(),
                ServerEvent::PlayRequested { request, .. } => {
                    session.accept(request).unwrap();
                    session.request_reconnect(Some(&tc_url));
                }
                _ => {}
            }
        }
        while let Some(bytes) = session.poll_transmit() {
            socket.write_all(&bytes).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_follows_a_reconnect_request_to_another_server() {
    let server = TestServer::start(config());
    let publisher =
        Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 8.0).gop(25).spawn(&server.url("live/moved"));
    server.wait_live("moved", Duration::from_secs(10)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!("rtmp://{}/live/moved", listener.local_addr().unwrap());
    tokio::spawn(redirecting_server(listener, format!("rtmp://{}/live", server.addr)));
    let mut player = RtmpPlayer::connect(&redirect, ClientConfig::default()).await.unwrap();
    let mut reconnected = false;
    let mut video = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while video < 10 {
        let event =
            tokio::time::timeout_at(deadline, player.next_event()).await.expect("frames after the move");
        match event.unwrap() {
            Some(PlayerEvent::Reconnected) => reconnected = true,
            Some(PlayerEvent::Video { .. }) => {
                assert!(reconnected, "the redirecting server sends no media");
                video += 1;
            }
            _ => {}
        }
    }
    let players = server.stream("moved").unwrap().players.len();
    assert_eq!(players, 1, "the player now plays from the real server");
    drop(finish(publisher, LIMIT).await);
}

/// A one-connection server that accepts connect and play, then goes silent: it reads nothing and
/// sends nothing more, but keeps the socket open.
async fn silent_after_play(listener: tokio::net::TcpListener) {
    use rtmp_core::proto::session::{ServerEvent, ServerSession, ServerSessionConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut session = ServerSession::new(ServerSessionConfig::default(), 0, &[7; 1528]);
    let mut buf = vec![0u8; 64 * 1024];
    let mut playing = false;
    while !playing {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client left before playing");
        session.handle_input(&buf[..n]).unwrap();
        while let Some(event) = session.poll_event() {
            match event {
                ServerEvent::ConnectRequested { request, .. } => session.accept(request).unwrap(),
                ServerEvent::PlayRequested { request, .. } => {
                    session.accept(request).unwrap();
                    playing = true;
                }
                _ => {}
            }
        }
        while let Some(bytes) = session.poll_transmit() {
            socket.write_all(&bytes).await.unwrap();
        }
    }
    std::future::pending::<()>().await;
}

/// Reads the player's events until `limit` passes (Ok) or the connection ends (the error).
async fn quiet_for(player: &mut RtmpPlayer, limit: Duration) -> Result<(), Option<ClientError>> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, player.next_event()).await {
            Err(_) => return Ok(()),
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => return Err(None),
            Ok(Err(e)) => return Err(Some(e)),
        }
    }
}

#[tokio::test]
async fn player_idle_timeout_ends_a_connection_to_a_silent_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live/quiet", listener.local_addr().unwrap());
    tokio::spawn(silent_after_play(listener));
    let config = ClientConfig { idle_timeout: Duration::from_millis(600), ..ClientConfig::default() };
    let mut player = RtmpPlayer::connect(&url, config).await.unwrap();
    let playing = std::time::Instant::now();
    let ended = quiet_for(&mut player, Duration::from_secs(5)).await;
    let took = playing.elapsed();
    assert!(matches!(ended, Err(Some(ClientError::Timeout("idle")))), "{ended:?}");
    // Pings every 200 ms notice the silence within a third more than the timeout.
    assert!(took > Duration::from_millis(500) && took < Duration::from_millis(1500), "after {took:?}");
}

#[tokio::test]
async fn player_pings_keep_a_quiet_connection_alive() {
    // Our server sends a waiting player nothing, but answers its pings.
    let server = TestServer::start(config());
    let url = server.url("live/nobody");
    let quick = ClientConfig { idle_timeout: Duration::from_millis(600), ..ClientConfig::default() };
    let mut player = RtmpPlayer::connect(&url, quick.clone()).await.unwrap();
    let alive = quiet_for(&mut player, Duration::from_secs(2)).await;
    assert!(alive.is_ok(), "{alive:?}");
    // Without pings the same quiet connection idles out.
    let mut player = RtmpPlayer::connect(&url, ClientConfig { ping: false, ..quick }).await.unwrap();
    let ended = quiet_for(&mut player, Duration::from_secs(3)).await;
    assert!(matches!(ended, Err(Some(ClientError::Timeout("idle")))), "{ended:?}");
}
