//! Graceful shutdown, and the example server binary.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rtmp_core::proto::message::status;
use rtmp_core::server::DisconnectReason;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::ffmpeg::{finish, played, spawn_player};
use crate::support::{Audio, Hook, Publish, TestClient, TestServer, Video, config, ffmpeg9, play, within};

#[tokio::test]
async fn shutdown_ends_publishers_and_players_and_run_until_returns() {
    // With the periodic stats task running, as by default.
    let mut server = TestServer::start(config().stats_interval(Some(Duration::from_millis(200))));
    let url = server.url("live/cam");
    let publishing = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).spawn(&url);
    server.wait_live("cam", Duration::from_secs(5)).await;
    let ffplayer = spawn_player(&ffmpeg9(), &url, 30.0);
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let mut waited = Duration::ZERO;
    while server.stream("cam").unwrap().players.len() < 2 {
        assert!(waited < Duration::from_secs(5), "the ffmpeg player did not start");
        client.pump(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    client.pump(Duration::from_millis(500)).await;

    let started = Instant::now();
    server.handle.shutdown();
    let (took, closed) = tokio::join!(server.join(started), client.wait_closed(Duration::from_secs(5)));
    assert!(took < Duration::from_secs(3), "run_until returned after {took:?}");
    assert!(closed.is_some(), "our player was not disconnected");
    assert!(client.statuses().iter().any(|c| c == status::CONNECT_APP_SHUTDOWN), "{:?}", client.statuses());

    let publisher = finish(publishing, Duration::from_secs(5)).await;
    assert!(publisher.status.is_some(), "the ffmpeg publisher kept running after shutdown");
    let player = played(ffplayer, Duration::from_secs(5)).await;
    assert!(player.run.status.is_some(), "the ffmpeg player kept running after shutdown");
    assert!(player.video_frames > 0);

    let reasons: Vec<DisconnectReason> = server
        .rec
        .hooks(|h| matches!(h, Hook::Disconnect { .. }))
        .into_iter()
        .map(|h| match h {
            Hook::Disconnect { reason, .. } => reason,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(reasons, vec![DisconnectReason::Shutdown; 3]);
    assert_eq!(server.rec.count(|h| matches!(h, Hook::Unpublish { .. })), 1);
    assert_eq!(server.handle.stats().connections, 0);
}

#[tokio::test]
async fn run_until_future_stops_the_server() {
    let mut server = TestServer::start(config());
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let (took, closed) = tokio::join!(server.stop_with_future(), client.wait_closed(Duration::from_secs(5)));
    assert!(took < Duration::from_secs(2), "run_until returned after {took:?}");
    assert!(closed.is_some());
    assert!(client.statuses().iter().any(|c| c == status::CONNECT_APP_SHUTDOWN), "{:?}", client.statuses());
    let session = server.rec.session_of(client.local_addr).unwrap();
    assert_eq!(server.rec.disconnect_reason(session), Some(DisconnectReason::Shutdown));
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err(), "still listening after run_until");
}

/// Builds the example server with cargo and returns its path.
async fn build_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "-p", "rtmp-core", "--example", "server", "-j", "1", "--message-format=json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --example server failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"kind\":[\"example\"]"))
        .expect("no example artifact in cargo's output");
    let start = line.find("\"executable\":\"").expect("no executable") + "\"executable\":\"".len();
    let end = start + line[start..].find('"').unwrap();
    PathBuf::from(&line[start..end])
}

#[tokio::test]
async fn example_server_serves_ffmpeg_and_documents_its_limits() {
    let exe = within(Duration::from_secs(120), "building the example", build_example()).await;
    let help = Command::new(&exe).arg("--help").output().await.unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bind",
        "--max-connections",
        "--chunk-size",
        "--connection-timeout",
        "--idle-timeout",
        "--max-message-size",
        "--max-chunk-streams",
        "--max-streams-per-connection",
        "--player-queue-length",
        "--player-stall-timeout",
        "--gop-cache-max-bytes",
        "--gop-cache-max-duration",
        "--play-wait-timeout",
        "--takeover",
        "--normalize-timestamps",
    ] {
        assert!(help.contains(flag), "--help does not list {flag}:\n{help}");
    }

    let mut server = Command::new(&exe)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--max-connections",
            "8",
            "--chunk-size",
            "8192",
            "--idle-timeout",
            "20",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example server");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first =
        within(Duration::from_secs(5), "the listening line", lines.next_line()).await.unwrap().unwrap();
    let addr =
        first.strip_prefix("listening on rtmp://").unwrap_or_else(|| panic!("unexpected line {first:?}"));

    let url = format!("rtmp://{addr}/live/cam");
    let publishing = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 4.0).spawn(&url);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let played = play(&ffmpeg9(), &url, 2.0, Duration::from_secs(10)).await;
    assert!(played.run.success() && played.video_frames >= 40, "{played:?}");
    assert!(finish(publishing, Duration::from_secs(8)).await.success());

    // Ctrl-C shuts it down gracefully.
    let pid = server.id().unwrap().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().await.unwrap();
    assert!(kill.success());
    let status = within(Duration::from_secs(5), "the example server to exit", server.wait()).await.unwrap();
    assert!(status.success(), "the example server exited with {status}");
}

#[tokio::test]
async fn example_server_reads_a_toml_config_that_flags_override_and_names_bad_keys() {
    let exe = within(Duration::from_secs(120), "building the example", build_example()).await;
    let dir = std::env::temp_dir().join(format!("rtmp-rs-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |toml: &str, flags: &[&str]| {
        let path = dir.join("server.toml");
        std::fs::write(&path, toml).unwrap();
        let mut command = Command::new(&exe);
        command.arg("--config").arg(&path).args(flags).env("RUST_LOG", "warn").stdin(Stdio::null());
        command
    };
    // A bad value or an unknown key stops the server with the key and its line.
    for (toml, expected) in [
        (
            "# options\nchunk_size = 64\n",
            "server.toml:2: chunk_size must be an integer from 128 to 16777215, not 64",
        ),
        ("idle_timeout = \"20s\"\ncolour = 1\n", "server.toml:2: colour is not an option"),
        ("play_wait_timeout = -3\n", "server.toml:1: play_wait_timeout must be a duration"),
    ] {
        let out = run(toml, &[]).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml:?}: {stderr}");
        assert!(stderr.contains(expected), "{toml:?}: {stderr}");
    }
    let out = run("", &["--chunk-size", "64"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--chunk-size must be an integer from 128"));

    // A good file is applied, and flags override it: the file's address is not this machine's
    // (binding it fails), the flag's is.
    let toml = "bind = \"192.0.2.1:1935\"\nplay_wait_timeout = \"0s\"\nidle_timeout = 20\nfourcc_list = [\"avc1\"]\n";
    let out = run(toml, &["--bind", "192.0.2.1:1936"]).output().await.unwrap();
    assert!(!out.status.success(), "192.0.2.1 is TEST-NET: binding it must fail");
    let mut server =
        run(toml, &["--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first =
        within(Duration::from_secs(5), "the listening line", lines.next_line()).await.unwrap().unwrap();
    assert!(first.starts_with("listening on rtmp://127.0.0.1:"), "{first}");
    let mut client =
        TestClient::connect(first["listening on rtmp://".len()..].parse().unwrap(), "live").await;
    client.play("cam").await;
    client.pump(Duration::from_millis(500)).await;
    // The file's play_wait_timeout of 0 s: a play of a stream that is not live fails at once.
    assert!(client.statuses().iter().any(|s| s == status::PLAY_STREAM_NOT_FOUND), "{:?}", client.statuses());
    server.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
