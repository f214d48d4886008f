//! A real encoder's reconnect as real players see it: an ffmpeg publisher killed with SIGKILL
//! mid-stream (as a network failure looks), a new ffmpeg publisher of the same key 3 s later;
//! players attached before the drop are ffmpeg 9, Debian's ffmpeg 5.1 and GStreamer's rtmp2src.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::support::ffmpeg::{Finished, finish};
use crate::support::{
    Audio, Hook, Publish, TestServer, Video, config, eventually, ffmpeg5, ffmpeg9, gstreamer,
};

/// Starts an ffmpeg player of `url` that copies the packets and prints each one's dts
/// (`framecrc`); it ends when the stream is unpublished.
fn spawn_copy_player(bin: &Path, url: &str) -> Child {
    let mut cmd = Command::new(bin);
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-i", url]);
    cmd.args(["-c", "copy", "-f", "framecrc", "-"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

/// `framecrc` lines as (media type, dts in ms); flv's time base is 1/1000.
fn packets(stdout: &str) -> Vec<(String, u64)> {
    let mut kinds = std::collections::HashMap::new();
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Some((index, kind)) = line.strip_prefix("#media_type ").and_then(|r| r.split_once(": ")) {
            kinds.insert(index.trim().to_owned(), kind.trim().to_owned());
        } else if !line.starts_with('#') {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if let (Some(kind), Some(Ok(dts))) = (kinds.get(fields[0]), fields.get(1).map(|d| d.parse())) {
                out.push((kind.clone(), dts));
            }
        }
    }
    out
}

/// A player process being waited for (its output read as it comes), and when it was started.
struct Running {
    name: &'static str,
    wait: JoinHandle<Finished>,
    started: Instant,
}

impl Running {
    fn new(name: &'static str, child: Child) -> Self {
        Self { name, wait: tokio::spawn(finish(child, Duration::from_secs(40))), started: Instant::now() }
    }

    /// Its run, and when it exited.
    async fn ended(self) -> (&'static str, Finished, Instant) {
        let run = self.wait.await.unwrap();
        let at = self.started + run.took;
        (self.name, run, at)
    }
}

/// What a player's timestamps (per kind, in ms) show: monotonic, their largest step, their span.
#[derive(Debug)]
struct Timeline {
    video: usize,
    audio: usize,
    largest_step_ms: u64,
    span_ms: u64,
}

fn timeline(name: &str, stamps: &[(String, u64)]) -> Timeline {
    let mut largest_step_ms = 0;
    let mut span_ms = 0;
    for kind in ["video", "audio"] {
        let kind_stamps: Vec<u64> = stamps.iter().filter(|(k, _)| k == kind).map(|(_, t)| *t).collect();
        for pair in kind_stamps.windows(2) {
            assert!(pair[1] >= pair[0], "{name}: {kind} goes back from {} to {}", pair[0], pair[1]);
            largest_step_ms = largest_step_ms.max(pair[1] - pair[0]);
        }
        if let (Some(first), Some(last)) = (kind_stamps.first(), kind_stamps.last()) {
            span_ms = span_ms.max(last - first);
        }
    }
    let count = |kind: &str| stamps.iter().filter(|(k, _)| k == kind).count();
    Timeline { video: count("video"), audio: count("audio"), largest_step_ms, span_ms }
}

/// The drop as the players saw it.
struct Scenario {
    server: TestServer,
    /// ffmpeg 9, ffmpeg 5.1, GStreamer.
    players: Vec<(&'static str, Finished, Instant)>,
    /// When the players were attached, and when the first publisher was killed.
    attached: Instant,
    killed: Instant,
    /// When the second publisher ended, if there was one.
    republished: Option<(Finished, Instant)>,
}

/// Publishes with ffmpeg, attaches the three players, kills the publisher 4 s in and, if
/// `republish`, publishes 5 s more with a new ffmpeg 3 s later.
async fn scenario(grace: Duration, republish: bool) -> Scenario {
    let server = TestServer::start(config().publisher_reconnect_grace(grace));
    let url = server.url("live/cam");
    let publish = |seconds| Publish::new(ffmpeg9(), Video::H264, Audio::Aac, seconds).gop(25);
    let published = Instant::now();
    let mut first = publish(30.0).spawn(&url);
    server.wait_live("cam", Duration::from_secs(5)).await;
    let running = vec![
        Running::new("ffmpeg 9", spawn_copy_player(&ffmpeg9(), &url)),
        Running::new("ffmpeg 5.1", spawn_copy_player(&ffmpeg5(), &url)),
        Running::new("GStreamer", gstreamer::spawn_player(&url)),
    ];
    eventually(Duration::from_secs(5), "three players", || {
        (server.stream("cam")?.players.len() == 3).then_some(())
    })
    .await;
    let attached = Instant::now();
    tokio::time::sleep_until((published + Duration::from_secs(4)).into()).await;
    first.start_kill().expect("SIGKILL");
    let killed = Instant::now();
    let republished = if republish {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let run = finish(publish(5.0).spawn(&url), Duration::from_secs(15)).await;
        assert!(run.success(), "the second publisher failed: {run:?}");
        Some((run, Instant::now()))
    } else {
        None
    };
    let mut players = Vec::new();
    for player in running {
        players.push(player.ended().await);
    }
    Scenario { server, players, attached, killed, republished }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_players_keep_playing_across_an_encoder_reconnect() {
    let s = scenario(Duration::from_secs(10), true).await;
    let (_, second_ended) = s.republished.as_ref().unwrap();
    let outage = s
        .server
        .rec
        .hooks(|h| matches!(h, Hook::PublishResumed { .. }))
        .into_iter()
        .find_map(|h| match h {
            Hook::PublishResumed { outage, .. } => Some(outage),
            _ => None,
        })
        .expect("on_publish_resumed");
    let played_before = s.killed - s.attached;
    for (name, run, exited) in &s.players {
        let stamps = match *name {
            "GStreamer" => gstreamer::buffers(&run.stdout),
            _ => packets(&run.stdout),
        };
        let t = timeline(name, &stamps);
        let exit_ms = |at: Instant| match at.checked_duration_since(*second_ended) {
            Some(after) => after.as_millis() as i64,
            None => -(second_ended.duration_since(at).as_millis() as i64),
        };
        println!(
            "{name}: exited {} ms after the second publisher; {t:?}; outage {outage:?}; played {played_before:?} before the drop",
            exit_ms(*exited)
        );
        assert!(run.success(), "{name} did not end cleanly: {run:?}");
        // One process throughout: it did not end before the second publish did (it ends on the
        // UnpublishNotify of the publisher's deleteStream, a little before that process exits).
        assert!(*exited + Duration::from_millis(500) >= *second_ended, "{name} ended early: {run:?}");
        assert!(*exited < *second_ended + Duration::from_secs(3), "{name} ended late");
        // The first publish's part (from the cached keyframe) and the second's 5 s.
        let expected = (played_before.as_secs_f64() + 5.0) * 25.0;
        assert!(t.video as f64 >= 0.85 * expected, "{name}: {} video frames, {expected} expected", t.video);
        assert!(t.audio > 0, "{name}: no audio");
        // The timeline steps by the outage (from the drop to the new publish), not more.
        let outage_ms = outage.as_millis() as u64;
        assert!(t.largest_step_ms <= outage_ms + 1000, "{name}: step {} ms", t.largest_step_ms);
        assert!(t.largest_step_ms + 500 >= outage_ms, "{name}: step {} ms", t.largest_step_ms);
        let span = (played_before + outage).as_millis() as u64 + 5000;
        assert!(t.span_ms + 1500 >= span && t.span_ms <= span + 2000, "{name}: span {} ms", t.span_ms);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_grace_real_players_end_at_the_drop() {
    let s = scenario(Duration::ZERO, false).await;
    for (name, run, exited) in &s.players {
        let after = exited.saturating_duration_since(s.killed);
        println!("grace 0: {name} exited {after:?} after the kill");
        assert!(run.status.is_some(), "{name} did not end: {run:?}");
        assert!(after < Duration::from_millis(1500), "{name} ended {after:?} after the kill");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_republish_real_players_end_when_the_grace_runs_out() {
    let grace = Duration::from_secs(2);
    let s = scenario(grace, false).await;
    for (name, run, exited) in &s.players {
        let after = exited.saturating_duration_since(s.killed);
        println!("grace {grace:?}: {name} exited {after:?} after the kill");
        assert!(run.status.is_some(), "{name} did not end: {run:?}");
        assert!(
            after >= grace && after < grace + Duration::from_millis(1500),
            "{name} ended {after:?} after the kill"
        );
    }
}
