//! Viewers on slow links (issue 19): paced players reading at 50 % and 20 % of the fixture's rate
//! beside one reading at full speed (the live edge), on each server in turn: how far behind live
//! each falls, and whether its sound stays whole. The player is the test suite's.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::peers::{self, Peer};
use crate::{Fixture, ffmpeg, load};

#[path = "../../rtmp-core/tests/support/paced.rs"]
#[allow(dead_code, reason = "the TLS half is the test suite's")]
mod paced;

use paced::{LiveEdge, Pace, play_tcp, seen};

/// One viewer's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub peer: String,
    pub link: &'static str,
    /// The most it was behind live after the warm-up, ms.
    pub most_behind_ms: i64,
    /// Audio timestamp steps over 100 ms, and the largest step in ms.
    pub audio_holes: usize,
    pub largest_audio_step_ms: u32,
    pub audio: usize,
    pub video: usize,
    pub disconnected: bool,
}

/// The viewers' links, as fractions of the fixture's rate.
const LINKS: [(&str, f64); 2] = [("50 %", 0.5), ("20 %", 0.2)];

/// Publishes the fixture to `peer` and plays it for `seconds` at full speed and on each link.
pub async fn run(peer: Peer, fx: &Fixture, seconds: u64) -> Vec<Row> {
    let server = peers::start(peer, &fx.path);
    let (stop_tx, stop) = watch::channel(false);
    let publisher =
        tokio::spawn(load::ffmpeg_publisher(ffmpeg(), server.addr, "cam".into(), fx.path.clone(), stop));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let duration = Duration::from_secs(seconds);
    let started = Instant::now();
    let addr = server.addr;
    let full = tokio::spawn(play_tcp(addr, "live", "cam", Pace { rate: None, stop_after: None, duration }));
    let slow: Vec<_> = LINKS
        .iter()
        .map(|&(_, share)| {
            let pace = Pace { rate: Some(fx.bytes_per_second * share), stop_after: None, duration };
            tokio::spawn(play_tcp(addr, "live", "cam", pace))
        })
        .collect();
    let full = full.await.expect("the full-speed viewer");
    let live = LiveEdge::new(&full);
    let mut rows = Vec::new();
    for ((link, _), task) in LINKS.iter().zip(slow) {
        let played = task.await.expect("a paced viewer");
        let s = seen(&played, &live, started);
        rows.push(Row {
            peer: peer.label(),
            link,
            most_behind_ms: s.most_behind,
            audio_holes: s.audio_holes,
            largest_audio_step_ms: s.largest_audio_step,
            audio: s.audio,
            video: s.video,
            disconnected: played.closed,
        });
    }
    let _ = stop_tx.send(true);
    let _ = publisher.await;
    drop(server);
    rows
}

/// Prints the rows as a table.
pub fn report(rows: &[Row], seconds: u64) {
    println!(
        "\n## slow viewers: {seconds} s each, 2.5 Mbit/s 720p30, behind live after a {} s warm-up\n",
        paced::WARM_UP.as_secs()
    );
    println!(
        "| server | link | most behind live | audio holes > 100 ms | largest audio step | audio / video messages | disconnected |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.1} s | {} | {} ms | {} / {} | {} |",
            r.peer,
            r.link,
            r.most_behind_ms as f64 / 1000.0,
            r.audio_holes,
            r.largest_audio_step_ms,
            r.audio,
            r.video,
            if r.disconnected { "yes" } else { "no" }
        );
    }
}
