//! Load harness: rtmp-rs and nginx-rtmp serving the same load in the same run, each pinned to
//! core 0 while this process (the publishers and the light load client) runs on core 1.
//! Prints, per scenario and server: server CPU per player-second (from /proc), peak RSS, bytes
//! per player against the fixture's rate, late-joiner time to first keyframe, and the ratios.
//! Run it with `bench/run.sh` (builds what it needs and pins this process).

mod load;
mod peers;
mod proc;
mod slow;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use load::{Counters, Role};
use peers::{Mode, Peer};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// 100 players of a 2.5 Mbit/s 720p30 stream.
    Fanout100,
    /// 1000 players of a 300 kbit/s stream.
    Fanout1000,
    /// 100 publishers of the 300 kbit/s stream, nobody playing.
    Ingest100,
    /// 1000 connections that did handshake and connect, then idle.
    Idle1000,
    /// rtmp-rs only, for `--seconds` (600 for the soak): a publisher restarting every
    /// minute and 50 players joining and leaving at random; prints the RSS and fd curve.
    Soak,
    /// Viewers on slow links: paced players at 50 % and 20 % of the 2.5 Mbit/s 720p30 stream
    /// beside a full-speed one, for `--seconds` (30 in the run).
    SlowViewers,
    /// Local subscribers against network players: the in-process server (`src/inprocess.rs`)
    /// with 100 local subscribers, then with 100 network players, of the 720p30 stream.
    Local100,
    /// Forwards against network players: the in-process server forwarding the 720p30 stream to
    /// 100 destinations (nginx-rtmp), then serving 100 players; and TTFF through a pull.
    Forward100,
    /// All of the above.
    All,
}

/// Measure rtmp-rs against nginx-rtmp on loopback.
#[derive(Debug, Parser)]
struct Args {
    /// Which scenario.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// Seconds of measurement per scenario and server (after warm-up).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Where the ffmpeg-made fixtures are cached.
    #[arg(long, default_value = "target/bench-fixtures")]
    fixtures: PathBuf,
    /// Runs of each server per scenario, taken in turn (a slow spell of this VM then hits every
    /// server alike); each server's median run is reported, with the range.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Skip nginx-rtmp (only when it is not installed; the ratios need it).
    #[arg(long)]
    no_nginx: bool,
    /// Another build of the example server to measure beside this one (default configuration):
    /// a change against its parent in the same run, e.g. a copy of the binary made before it.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Only the default configurations (no coalescing servers, no floor senders): a quicker A/B
    /// with `--baseline`.
    #[arg(long)]
    default_only: bool,
}

/// A pre-encoded stream and its bitrate.
struct Fixture {
    path: PathBuf,
    bytes_per_second: f64,
}

fn ffmpeg() -> PathBuf {
    if let Ok(path) = std::env::var("RTMP_RS_FFMPEG") {
        return path.into();
    }
    let out = std::process::Command::new(".venv/bin/python")
        .args(["-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"])
        .output()
        .expect("ffmpeg 9: set RTMP_RS_FFMPEG or install imageio-ffmpeg into .venv (scripts/test.sh does)");
    String::from_utf8(out.stdout).unwrap().trim().into()
}

/// Encodes (once) 20 s of 30 fps H.264 + AAC with a 2 s GOP at `kbps`.
fn fixture(dir: &Path, size: &str, kbps: u32) -> Fixture {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{size}-{kbps}k.flv"));
    if !path.exists() {
        let audio_kbps = if kbps > 1000 { 128 } else { 64 };
        let video = format!("{}k", kbps - audio_kbps);
        let status = std::process::Command::new(ffmpeg())
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size={size}:rate=30"))
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "20"])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-b:v", &video, "-maxrate", &video])
            .args(["-bufsize", &video, "-g", "60", "-keyint_min", "60", "-sc_threshold", "0"])
            .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", &format!("{audio_kbps}k"), "-f", "flv"])
            .arg(&path)
            .status()
            .expect("run ffmpeg");
        assert!(status.success(), "ffmpeg could not make {}", path.display());
    }
    let len = std::fs::metadata(&path).unwrap().len();
    Fixture { path, bytes_per_second: len as f64 / 20.0 }
}

/// One server's figures in one scenario.
#[derive(Debug, Clone)]
struct Figures {
    peer: Peer,
    /// Server CPU milliseconds per player-second (or publisher-second).
    cpu_ms_per_unit_s: f64,
    peak_rss_kb: u64,
    /// Received bytes per player per second (ingest: read by the server per publisher), against
    /// the fixture's rate.
    rate_ratio: f64,
    /// Lowest per-player video frame rate in the window.
    min_fps: f64,
    ttff_ms: Vec<f64>,
    /// RSS per idle connection (idle scenario).
    kb_per_connection: f64,
    /// The lowest and highest CPU figure over the rounds.
    cpu_range: (f64, f64),
    /// The CPU figure of each round, in round order (for ratios within a round).
    cpu_rounds: Vec<f64>,
}

impl Figures {
    /// What a run is ranked by: CPU, or for idle connections the memory.
    fn key(&self) -> f64 {
        if self.cpu_ms_per_unit_s > 0.0 { self.cpu_ms_per_unit_s } else { self.kb_per_connection }
    }
}

/// Runs `run` for every peer, `rounds` times in turn, and keeps each peer's median run.
async fn measure<F, Fut>(peers: &[Peer], rounds: usize, mut run: F) -> Vec<Figures>
where
    F: FnMut(Peer) -> Fut,
    Fut: std::future::Future<Output = Figures>,
{
    let mut runs: Vec<Vec<Figures>> = vec![Vec::new(); peers.len()];
    for _ in 0..rounds.max(1) {
        for (peer, runs) in peers.iter().zip(&mut runs) {
            runs.push(run(*peer).await);
        }
    }
    runs.into_iter()
        .map(|mut runs| {
            let cpu_rounds = runs.iter().map(|f| f.cpu_ms_per_unit_s).collect();
            runs.sort_by(|a, b| a.key().total_cmp(&b.key()));
            let range = (runs[0].cpu_ms_per_unit_s, runs[runs.len() - 1].cpu_ms_per_unit_s);
            Figures { cpu_range: range, cpu_rounds, ..runs.swap_remove(runs.len() / 2) }
        })
        .collect()
}

async fn fanout(peer: Peer, players: usize, fx: &Fixture, seconds: u64) -> Figures {
    let server = peers::start(peer, &fx.path);
    let (stop_tx, stop) = watch::channel(false);
    let floor = matches!(peer, Peer::Floor { .. });
    // The floor sender sends the fixture itself.
    let publisher = (!floor).then(|| {
        tokio::spawn(load::ffmpeg_publisher(
            ffmpeg(),
            server.addr,
            "cam".into(),
            fx.path.clone(),
            stop.clone(),
        ))
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let connected = Arc::new(AtomicU64::new(0));
    let counters: Vec<Arc<Counters>> = (0..players).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for c in &counters {
        tasks.push(if floor {
            tokio::spawn(load::sink(server.addr, Arc::clone(c), stop.clone()))
        } else {
            tokio::spawn(load::player(
                server.addr,
                "cam".into(),
                Role::Play,
                Arc::clone(c),
                Arc::clone(&connected),
                stop.clone(),
            ))
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = server.pid();
    let (cpu0, t0) = (proc::cpu_seconds(pid), Instant::now());
    let snapshot = |cs: &[Arc<Counters>]| -> Vec<(u64, u64)> {
        cs.iter().map(|c| (c.bytes.load(Ordering::Relaxed), c.video.load(Ordering::Relaxed))).collect()
    };
    let before = snapshot(&counters);
    // Late joiners, one a second, during the window.
    let mut ttff = Vec::new();
    while t0.elapsed() < Duration::from_secs(seconds) {
        if floor {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            break;
        }
        let started = Instant::now();
        let joiner =
            load::player(server.addr, "cam".into(), Role::Join, Arc::default(), Arc::default(), stop.clone());
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(3), joiner).await {
            ttff.push(d.as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(started.elapsed())).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = proc::cpu_seconds(pid) - cpu0;
    let after = snapshot(&counters);
    let peak_rss_kb = proc::status_kb(pid, "VmHWM:");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    if let Some(publisher) = publisher {
        let _ = publisher.await;
    }
    let bytes: u64 = after.iter().zip(&before).map(|(a, b)| a.0 - b.0).sum();
    let min_fps =
        after.iter().zip(&before).map(|(a, b)| (a.1 - b.1) as f64 / elapsed).fold(f64::MAX, f64::min);
    Figures {
        peer,
        cpu_ms_per_unit_s: cpu * 1000.0 / (players as f64 * elapsed),
        peak_rss_kb,
        rate_ratio: bytes as f64 / players as f64 / elapsed / fx.bytes_per_second,
        min_fps,
        ttff_ms: ttff,
        kb_per_connection: 0.0,
        cpu_range: (0.0, 0.0),
        cpu_rounds: Vec::new(),
    }
}

async fn ingest(peer: Peer, publishers: usize, fx: &Fixture, seconds: u64) -> Figures {
    let server = peers::start(peer, &fx.path);
    let (stop_tx, stop) = watch::channel(false);
    // Independent encoders send at unrelated instants. Publishers started together would send in
    // step, and how many of their messages one wake-up of the server finds would vary from run
    // to run (by ±20 % of the figure): start them 10 ms apart, spread over the frame intervals.
    let tasks: Vec<_> = (0..publishers)
        .map(|i| {
            let (addr, name, path, stop) = (server.addr, format!("in{i}"), fx.path.clone(), stop.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                load::publisher(addr, name, path, stop).await;
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let pid = server.pid();
    let port = server.addr.port();
    let (cpu0, read0, t0) = (proc::cpu_seconds(pid), proc::bytes_read_on(port), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = proc::cpu_seconds(pid) - cpu0;
    // What the server read, against what the publishers send: a server that reads less (merged
    // reads falling behind) must not look cheaper.
    let read = proc::bytes_read_on(port).saturating_sub(read0);
    let peak_rss_kb = proc::status_kb(pid, "VmHWM:");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Figures {
        peer,
        cpu_ms_per_unit_s: cpu * 1000.0 / (publishers as f64 * elapsed),
        peak_rss_kb,
        rate_ratio: read as f64 / publishers as f64 / elapsed / fx.bytes_per_second,
        min_fps: 0.0,
        ttff_ms: Vec::new(),
        kb_per_connection: 0.0,
        cpu_range: (0.0, 0.0),
        cpu_rounds: Vec::new(),
    }
}

/// Open file descriptors of a process.
/// The in-process server (`src/inprocess.rs`) on a free port, pinned to core 0, with `args`;
/// the counter follows its local subscribers' frames.
async fn start_in_process(args: &[String]) -> (tokio::process::Child, std::net::SocketAddr, Arc<AtomicU64>) {
    use tokio::io::AsyncBufReadExt;
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/x86_64-unknown-linux-gnu/release/inprocess");
    assert!(binary.exists(), "{} is missing: run bench/run.sh", binary.display());
    let mut child = tokio::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(&binary)
        .args(["--bind", &addr.to_string()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the in-process server");
    let frames = Arc::new(AtomicU64::new(0));
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = Arc::clone(&frames);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(n) = line.strip_prefix("frames ").and_then(|n| n.parse().ok()) {
                seen.store(n, Ordering::Relaxed);
            }
        }
    });
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, addr, frames)
}

/// One run of the in-process server publishing the fixture, with `players` network players and
/// `args` (local subscribers, forwards). Returns the server's CPU ms per second, the lowest video
/// frame rate of a network player, and the local subscribers' frames per second each.
async fn in_process(
    args: &[String],
    subscribers: usize,
    players: usize,
    fx: &Fixture,
    seconds: u64,
) -> (f64, f64, f64) {
    let (mut child, addr, local_frames) = start_in_process(args).await;
    let pid = child.id().expect("pid");
    let (stop_tx, stop) = watch::channel(false);
    let publisher =
        tokio::spawn(load::ffmpeg_publisher(ffmpeg(), addr, "cam".into(), fx.path.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let counters: Vec<Arc<Counters>> = (0..players).map(|_| Arc::default()).collect();
    let connected = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = counters
        .iter()
        .map(|c| {
            let player = load::player(
                addr,
                "cam".into(),
                Role::Play,
                Arc::clone(c),
                Arc::clone(&connected),
                stop.clone(),
            );
            tokio::spawn(player)
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let video =
        |cs: &[Arc<Counters>]| -> Vec<u64> { cs.iter().map(|c| c.video.load(Ordering::Relaxed)).collect() };
    let (cpu0, t0, before, local0) =
        (proc::cpu_seconds(pid), Instant::now(), video(&counters), local_frames.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = proc::cpu_seconds(pid) - cpu0;
    let after = video(&counters);
    let local = local_frames.load(Ordering::Relaxed) - local0;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = publisher.await;
    let _ = child.kill().await;
    let min_fps = after.iter().zip(&before).map(|(a, b)| (a - b) as f64 / elapsed).fold(f64::NAN, f64::min);
    let local_rate = if subscribers > 0 { local as f64 / subscribers as f64 / elapsed } else { f64::NAN };
    (cpu * 1000.0 / elapsed, min_fps, local_rate)
}

/// CPU per consumer-second of `what` (the in-process server with `args`) against network
/// players, in the same run: gross, and net of the ingest alone.
async fn against_players(
    what: &str,
    args: &[String],
    consumers: usize,
    fx: &Fixture,
    seconds: u64,
    rounds: usize,
    target: f64,
) {
    let mut rows: Vec<(f64, f64, f64)> = Vec::new();
    let subscribers = if args.iter().any(|a| a == "--subscribers") { consumers } else { 0 };
    for round in 0..rounds.max(1) {
        let ingest = in_process(&[], 0, 0, fx, seconds).await;
        let them = in_process(args, subscribers, 0, fx, seconds).await;
        let network = in_process(&[], 0, consumers, fx, seconds).await;
        let n = consumers as f64;
        println!(
            "round {round}: ingest only {:.1} ms/s; {consumers} {what} {:.1} ms/s{}; {consumers} network players {:.1} ms/s \
             (lowest {:.1} video frames/s)",
            ingest.0,
            them.0,
            if subscribers > 0 { format!(" ({:.1} frames/s each)", them.2) } else { String::new() },
            network.0,
            network.1
        );
        rows.push((them.0 / n, network.0 / n, (them.0 - ingest.0) / (network.0 - ingest.0)));
    }
    let mut gross: Vec<f64> = rows.iter().map(|r| r.0 / r.1).collect();
    let mut net: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let mut theirs: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let mut network: Vec<f64> = rows.iter().map(|r| r.1).collect();
    println!(
        "\n## {what} vs network players: {consumers} of {:.2} Mbit/s 720p30, the same in-process server",
        fx.bytes_per_second * 8.0 / 1e6
    );
    println!("| consumer | CPU ms per consumer-s (median) |");
    println!("|---|---|");
    println!("| {what} | {:.3} |", percentile_of(&mut theirs, 0.5));
    println!("| network player | {:.3} |", percentile_of(&mut network, 0.5));
    println!(
        "ratio {what} / network: CPU {:.2} gross, {:.2} net of the ingest (target <= {target})",
        percentile_of(&mut gross, 0.5),
        percentile_of(&mut net, 0.5)
    );
}

/// Time to first keyframe through a pull: the first player's includes the upstream connect; the
/// later ones' come from the pulled stream's GOP cache.
async fn pull_ttff(fx: &Fixture, rounds: usize) {
    let nginx = peers::start_on_core(Peer::Nginx, &fx.path, 1);
    let (stop_tx, stop) = watch::channel(false);
    let publisher = tokio::spawn(load::ffmpeg_publisher(
        ffmpeg(),
        nginx.addr,
        "cam".into(),
        fx.path.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let rule = format!("rtmp://{}/{{app}}/{{name}}", nginx.addr);
        let (mut child, addr, _) = start_in_process(&["--pull".into(), rule]).await;
        let join =
            || load::player(addr, "cam".into(), Role::Join, Arc::default(), Arc::default(), stop.clone());
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(10), join()).await {
            first.push(d.as_secs_f64() * 1000.0);
        }
        // Keep one player on, so the pull stays up, while ten join one after the other.
        let holder = tokio::spawn(load::player(
            addr,
            "cam".into(),
            Role::Play,
            Arc::default(),
            Arc::default(),
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        for _ in 0..10 {
            if let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(10), join()).await {
                later.push(d.as_secs_f64() * 1000.0);
            }
        }
        holder.abort();
        let _ = child.kill().await;
    }
    let _ = stop_tx.send(true);
    let _ = publisher.await;
    println!(
        "\n## time to first keyframe through a pull from nginx-rtmp ({:.2} Mbit/s 720p30)",
        fx.bytes_per_second * 8.0 / 1e6
    );
    println!("| player | TTFF p50 ms | TTFF max ms | runs |");
    println!("|---|---|---|---|");
    println!(
        "| first (starts the pull) | {:.1} | {:.1} | {} |",
        percentile(&first, 0.5),
        percentile(&first, 1.0),
        first.len()
    );
    println!(
        "| later (GOP cache) | {:.1} | {:.1} | {} |",
        percentile(&later, 0.5),
        percentile(&later, 1.0),
        later.len()
    );
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

async fn soak(seconds: u64, fx: &Fixture) {
    let server = peers::start(Peer::Ours(Mode::Default), &fx.path);
    let pid = server.pid();
    let (stop_tx, stop) = watch::channel(false);
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    // The publisher restarts every 60 s.
    let publisher_stop = stop.clone();
    let addr = server.addr;
    let path = fx.path.clone();
    let publishing = tokio::spawn(async move {
        while Instant::now() < end && !*publisher_stop.borrow() {
            let (tx, rx) = watch::channel(false);
            let run = tokio::spawn(load::publisher(addr, "soak".into(), path.clone(), rx));
            tokio::time::sleep(Duration::from_secs(60).min(end.saturating_duration_since(Instant::now())))
                .await;
            let _ = tx.send(true);
            let _ = run.await;
        }
    });
    // 50 player slots, each joining for a pseudo-random 5–30 s, again and again.
    let players: Vec<_> = (0..50u64)
        .map(|slot| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut seed = slot.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                while Instant::now() < end && !*stop.borrow() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let life = Duration::from_secs(5 + seed % 26);
                    let (tx, rx) = watch::channel(false);
                    let run = tokio::spawn(load::player(
                        addr,
                        "soak".into(),
                        Role::Play,
                        Arc::default(),
                        Arc::default(),
                        rx,
                    ));
                    tokio::time::sleep(life.min(end.saturating_duration_since(Instant::now()))).await;
                    let _ = tx.send(true);
                    let _ = run.await;
                }
            })
        })
        .collect();
    println!("\n## soak: {seconds} s, publisher restarts every 60 s, 50 players joining and leaving");
    println!("| t s | RSS MiB | fds |");
    println!("|---|---|---|");
    let (mut first_rss, mut last_rss) = (0, 0);
    while Instant::now() < end {
        let rss = proc::status_kb(pid, "VmRSS:");
        if first_rss == 0 && started.elapsed() > Duration::from_secs(20) {
            first_rss = rss;
        }
        last_rss = rss;
        println!("| {} | {:.1} | {} |", started.elapsed().as_secs(), rss as f64 / 1024.0, fd_count(pid));
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let _ = stop_tx.send(true);
    let _ = publishing.await;
    for p in players {
        let _ = p.await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "soak end: RSS {:.1} MiB (at 20 s {:.1} MiB), peak {:.1} MiB, fds {} with no client left",
        last_rss as f64 / 1024.0,
        first_rss as f64 / 1024.0,
        proc::status_kb(pid, "VmHWM:") as f64 / 1024.0,
        fd_count(pid)
    );
}

async fn idle(peer: Peer, connections: usize) -> Figures {
    let server = peers::start(peer, Path::new(""));
    let pid = server.pid();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss0 = proc::status_kb(pid, "VmRSS:");
    let (stop_tx, stop) = watch::channel(false);
    let connected = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(load::player(
                server.addr,
                String::new(),
                Role::Idle,
                Arc::default(),
                Arc::clone(&connected),
                stop.clone(),
            ))
        })
        .collect();
    let t0 = Instant::now();
    while (connected.load(Ordering::Relaxed) as usize) < connections && t0.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = proc::status_kb(pid, "VmRSS:");
    let done = connected.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Figures {
        peer,
        cpu_ms_per_unit_s: 0.0,
        peak_rss_kb: proc::status_kb(pid, "VmHWM:"),
        rate_ratio: done as f64 / connections as f64,
        min_fps: 0.0,
        ttff_ms: Vec::new(),
        kb_per_connection: rss1.saturating_sub(rss0) as f64 / done.max(1) as f64,
        cpu_range: (0.0, 0.0),
        cpu_rounds: Vec::new(),
    }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    percentile_of(&mut values.to_vec(), p)
}

fn percentile_of(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn report(title: &str, unit: &str, figures: &[Figures]) {
    println!("\n## {title}");
    println!(
        "| server | CPU ms per {unit}-s | CPU range | peak RSS MiB | rate vs fixture | min fps | TTFF p50 ms | TTFF max ms | KiB/conn |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in figures {
        println!(
            "| {} | {:.3} | {:.3}–{:.3} | {:.1} | {:.3} | {:.1} | {:.1} | {:.1} | {:.1} |",
            f.peer.label(),
            f.cpu_ms_per_unit_s,
            f.cpu_range.0,
            f.cpu_range.1,
            f.peak_rss_kb as f64 / 1024.0,
            f.rate_ratio,
            f.min_fps,
            percentile(&f.ttff_ms, 0.5),
            percentile(&f.ttff_ms, 1.0),
            f.kb_per_connection,
        );
    }
    // Ratios within each round (the servers of a round ran minutes apart, not a whole run apart),
    // and their median.
    let round_ratio = |a: &Figures, b: &Figures| {
        let mut ratios: Vec<f64> = a.cpu_rounds.iter().zip(&b.cpu_rounds).map(|(x, y)| x / y).collect();
        let text = ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ");
        (percentile_of(&mut ratios, 0.5), text)
    };
    let ours = figures.iter().find(|f| f.peer == Peer::Ours(Mode::Default));
    let floor = figures.iter().find(|f| f.peer == Peer::Floor { per_frame: false });
    if let (Some(ours), Some(floor)) = (ours, floor) {
        let (median, each) = round_ratio(ours, floor);
        println!("ratio rtmp-rs / floor with a write per message: CPU {median:.2} (rounds: {each})");
    }
    if let (Some(ours), Some(baseline)) = (ours, figures.iter().find(|f| f.peer == Peer::Baseline)) {
        let (median, each) = round_ratio(ours, baseline);
        println!("ratio rtmp-rs / baseline: CPU {median:.2} (rounds: {each})");
    }
    if let Some(nginx) = figures.iter().find(|f| f.peer == Peer::Nginx) {
        for f in figures.iter().filter(|f| f.peer != Peer::Nginx) {
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
            let (median, each) = round_ratio(f, nginx);
            println!(
                "ratio {} / nginx-rtmp: CPU {median:.2} (rounds: {each}), peak RSS {:.2}, KiB/conn {:.2}",
                f.peer.label(),
                ratio(f.peak_rss_kb as f64, nginx.peak_rss_kb as f64),
                ratio(f.kb_per_connection, nginx.kb_per_connection),
            );
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    // Fan-out also measures the kernel's floor, for the same bytes with no protocol.
    let peers = |fan_out: bool| {
        let mut p = vec![Peer::Ours(Mode::Default)];
        if let Some(path) = &args.baseline {
            peers::BASELINE.get_or_init(|| path.clone());
            p.push(Peer::Baseline);
        }
        if fan_out && !args.default_only {
            p.extend([
                Peer::Ours(Mode::WriteCoalescing(100)),
                Peer::Floor { per_frame: false },
                Peer::Floor { per_frame: true },
            ]);
        }
        if !args.no_nginx {
            p.push(Peer::Nginx);
        }
        p
    };
    let all = args.scenario == Scenario::All;
    if all || args.scenario == Scenario::Fanout100 {
        let fx = fixture(&args.fixtures, "1280x720", 2500);
        let figures = measure(&peers(true), args.rounds, |p| fanout(p, 100, &fx, args.seconds)).await;
        report(
            &format!("fan-out: 100 players, {:.2} Mbit/s 720p30", fx.bytes_per_second * 8.0 / 1e6),
            "player",
            &figures,
        );
    }
    if all || args.scenario == Scenario::Fanout1000 {
        let fx = fixture(&args.fixtures, "640x360", 300);
        let figures = measure(&peers(true), args.rounds, |p| fanout(p, 1000, &fx, args.seconds)).await;
        report(
            &format!("fan-out: 1000 players, {:.0} kbit/s", fx.bytes_per_second * 8.0 / 1e3),
            "player",
            &figures,
        );
    }
    if all || args.scenario == Scenario::Ingest100 {
        let fx = fixture(&args.fixtures, "640x360", 300);
        let mut with_merged_reads = peers(false);
        if !args.default_only {
            with_merged_reads.insert(1, Peer::Ours(Mode::ReadCoalescing(50)));
        }
        let figures = measure(&with_merged_reads, args.rounds, |p| ingest(p, 100, &fx, args.seconds)).await;
        report("ingest: 100 publishers of 300 kbit/s", "publisher", &figures);
    }
    if all || args.scenario == Scenario::SlowViewers {
        let fx = fixture(&args.fixtures, "1280x720", 2500);
        let mut rows = Vec::new();
        for _ in 0..args.rounds {
            for peer in peers(false) {
                rows.extend(slow::run(peer, &fx, args.seconds).await);
            }
        }
        slow::report(&rows, args.seconds);
    }
    if all || args.scenario == Scenario::Local100 {
        let fx = fixture(&args.fixtures, "1280x720", 2500);
        let subscribers = ["--subscribers".to_string(), "100".into()];
        against_players("local subscribers", &subscribers, 100, &fx, args.seconds, args.rounds, 0.3).await;
    }
    if all || args.scenario == Scenario::Forward100 {
        let fx = fixture(&args.fixtures, "1280x720", 2500);
        // The destination, on the harness's core: its CPU is not ours.
        let nginx = peers::start_on_core(Peer::Nginx, &fx.path, 1);
        let forwards =
            ["--forwards".to_string(), "100".into(), "--forward-to".into(), nginx.addr.to_string()];
        against_players("forwards", &forwards, 100, &fx, args.seconds, args.rounds, 1.2).await;
        pull_ttff(&fx, args.rounds).await;
    }
    if args.scenario == Scenario::Soak {
        soak(args.seconds, &fixture(&args.fixtures, "640x360", 300)).await;
    }
    if all || args.scenario == Scenario::Idle1000 {
        let figures = measure(&peers(false), args.rounds, |p| idle(p, 1000)).await;
        report("1000 idle connections (handshake + connect)", "connection", &figures);
    }
}
