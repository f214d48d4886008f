//! Viewers on slow links stay near live with their sound (issue 19): ffmpeg 9 publishes a
//! 2.7 Mbit/s 720p30 H.264 + AAC fixture at its pace, and paced players read at 50 %, 20 % and 5 %
//! of its rate, one reads at full speed (the live edge, and the viewer who must lose nothing),
//! one stops reading. Over plain RTMP, RTMPS and with write coalescing.
//!
//! A test binary of its own, so that it runs alone: what these viewers see is timed to a few
//! hundred milliseconds, which the encoders of the server suite's other tests (sharing the two
//! cores) would blur.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_core::client::server_config_from_pem;
use rtmp_core::server::{DisconnectReason, PlayerStats, ServerConfig, TlsListener};

use crate::support::paced::{Arrival, LiveEdge, Pace, Played, play_tcp, play_tls, seen};
use crate::support::{Hook, TestServer, config, ffmpeg9};

/// The budget under test (the default).
const BUDGET: Duration = Duration::from_secs(2);
/// How long each viewer plays.
const VIEWING: Duration = Duration::from_secs(30);
/// The stop-reading viewer reads this long first.
const READS_BEFORE_STOPPING: Duration = Duration::from_secs(3);
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Rtmp,
    Rtmps,
    Coalescing,
}

/// 34 s of 720p30 H.264 at 2.57 Mbit/s + AAC at 128 kbit/s, 2 s GOP, made once per checkout.
fn fixture() -> (PathBuf, f64) {
    static MADE: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MADE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("slow-viewers-720p30-2700k.flv");
    if !path.exists() {
        let partial = dir.join("slow-viewers.partial.flv");
        let status = std::process::Command::new(ffmpeg9())
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=30",
            ])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "34"])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-b:v", "2572k", "-maxrate", "2572k"])
            .args([
                "-bufsize",
                "2572k",
                "-g",
                "60",
                "-keyint_min",
                "60",
                "-sc_threshold",
                "0",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(["-c:a", "aac", "-b:a", "128k", "-f", "flv"])
            .arg(&partial)
            .status()
            .expect("run ffmpeg 9");
        assert!(status.success(), "ffmpeg could not make the fixture");
        std::fs::rename(&partial, &path).unwrap();
    }
    let rate = std::fs::metadata(&path).unwrap().len() as f64 / 34.0;
    (path, rate)
}

fn tls_listener(dir: &std::path::Path) -> TlsListener {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    TlsListener {
        bind: "127.0.0.1:0".parse().unwrap(),
        config: server_config_from_pem(&cert_path, &key_path).unwrap(),
    }
}

async fn slow_viewers(transport: Transport) {
    let (fixture, rate) = fixture();
    let dir = std::env::temp_dir().join(format!("rtmp-rs-slow-{}-{transport:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server_config: ServerConfig = config().player_stall_timeout(STALL_TIMEOUT);
    match transport {
        Transport::Rtmp => {}
        Transport::Rtmps => server_config = server_config.tls(Some(tls_listener(&dir))),
        Transport::Coalescing => {
            server_config = server_config.write_coalescing(Some(Duration::from_millis(100)))
        }
    }
    assert_eq!(server_config.player_latency_budget, Some(BUDGET), "the default is what is promised");
    let server = TestServer::start(server_config);
    let mut publisher = tokio::process::Command::new(ffmpeg9())
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i"])
        .arg(&fixture)
        .args(["-c", "copy", "-f", "flv", &server.url("live/cam")])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg 9 publisher");
    server.wait_live("cam", Duration::from_secs(10)).await;

    let addr = match transport {
        Transport::Rtmps => server.tls_addr.expect("the RTMPS listener"),
        _ => server.addr,
    };
    let viewers = [
        ("full", Pace { rate: None, stop_after: None, duration: VIEWING }),
        ("50 %", Pace { rate: Some(rate * 0.5), stop_after: None, duration: VIEWING }),
        ("20 %", Pace { rate: Some(rate * 0.2), stop_after: None, duration: VIEWING }),
        ("5 %", Pace { rate: Some(rate * 0.05), stop_after: None, duration: VIEWING }),
        ("stops", Pace { rate: None, stop_after: Some(READS_BEFORE_STOPPING), duration: VIEWING }),
    ];
    // The server's view of each player, sampled while they play (a player leaves the stats as
    // it leaves), by the address it connected from.
    let stats: Arc<Mutex<HashMap<u64, PlayerStats>>> = Arc::default();
    let sampler = {
        let (handle, stats) = (server.handle.clone(), Arc::clone(&stats));
        tokio::spawn(async move {
            loop {
                for stream in handle.stats().streams {
                    for player in stream.players {
                        stats.lock().unwrap().insert(player.session_id, player);
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = viewers
        .iter()
        .map(|&(_, pace)| {
            tokio::spawn(async move {
                match transport {
                    Transport::Rtmps => play_tls(addr, "live", "cam", pace).await,
                    _ => play_tcp(addr, "live", "cam", pace).await,
                }
            })
        })
        .collect();
    let mut played = Vec::new();
    for task in tasks {
        played.push(task.await.unwrap());
    }
    sampler.abort();
    let _ = publisher.kill().await;

    let live = LiveEdge::new(&played[0]);
    let stats = stats.lock().unwrap().clone();
    let session = |p: &Played| server.rec.session_of(p.local).expect("the viewer's session");
    let mut report = String::new();
    for ((name, _), p) in viewers.iter().zip(&played) {
        let s = seen(p, &live, started);
        let st = stats.get(&session(p));
        let end = server.rec.disconnect_reason(session(p));
        report += &format!("{transport:?} {name}: {s:?}\n    server: {st:?}\n    end: {end:?}\n");
    }
    println!("{report}");

    // Everyone started; nobody who reads was cut.
    for ((name, pace), p) in viewers.iter().zip(&played) {
        assert!(p.started, "{name} never started\n{report}");
        if pace.stop_after.is_none() {
            assert!(!p.closed, "{name} was disconnected\n{report}");
        }
    }
    // The full-speed viewer and the publisher lose nothing: every frame published while it
    // played reached it.
    let full: Vec<&Arrival> = played[0].arrivals.iter().filter(|a| a.video && !a.header).collect();
    let (first, last) = (full[0].timestamp, full.last().unwrap().timestamp);
    let published = server.rec.count(
        |h| matches!(h, Hook::VideoFrame { timestamp, header: false, .. } if (first..=last).contains(timestamp)),
    );
    assert!(
        full.len() * 100 >= published * 98,
        "the full-speed viewer got {} of {published}\n{report}",
        full.len()
    );
    let expected = (last - first) as usize * 30 / 1000;
    assert!(
        published * 100 >= expected * 98,
        "the publisher got {published} frames in, of {expected}\n{report}"
    );
    let full_stats = &stats[&session(&played[0])];
    assert_eq!((full_stats.dropped_video, full_stats.dropped_audio), (0, 0), "{report}");

    // 50 % and 20 %: every audio message, near live, video only from keyframes.
    for i in [1, 2] {
        let (name, s, st) = (viewers[i].0, seen(&played[i], &live, started), &stats[&session(&played[i])]);
        assert_eq!(
            (s.audio_holes, st.dropped_audio, st.audio_gaps),
            (0, 0, 0),
            "{name}: sound lost\n{report}"
        );
        assert!(s.most_behind <= (BUDGET.as_millis() + 500) as i64, "{name} fell behind\n{report}");
        assert_eq!(s.resumed_on_inter, 0, "{name}: video resumed on an inter frame\n{report}");
    }
    assert!(seen(&played[1], &live, started).video > 0, "50 %: no video at all\n{report}");
    // 5 %: below what audio alone takes. It loses sound, in few gaps, each counted, and its sound
    // stays near the budget: 1.7-2.5 s in runs here. The bound allows 1 s, not 0.5: at this rate
    // the player's own receive buffer holds half a second no server can see, and under TLS the
    // library's records a quarter more. (The keyframe it joined with takes this link 6 s: that
    // video arrives late.)
    let (slowest, slowest_stats) = (seen(&played[3], &live, started), &stats[&session(&played[3])]);
    assert!(
        slowest.most_behind_audio <= (BUDGET.as_millis() + 1000) as i64,
        "5 %: sound fell behind\n{report}"
    );
    assert_eq!(slowest.resumed_on_inter, 0, "5 %: video resumed on an inter frame\n{report}");
    assert!(slowest.audio > 0, "5 %: no sound at all\n{report}");
    assert!(slowest_stats.audio_gaps > 0, "5 %: no gap counted\n{report}");
    assert!(
        slowest.audio_holes <= slowest_stats.audio_gaps as usize + 1,
        "5 %: gaps heard, not counted\n{report}"
    );
    // The viewer that stopped reading was cut for it, after the stall timeout.
    let stopped = session(&played[4]);
    let reason = server.rec.disconnect_reason(stopped);
    assert!(matches!(reason, Some(DisconnectReason::Timeout("write stall"))), "{reason:?}\n{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_viewers_stay_near_live_with_their_sound_rtmp() {
    slow_viewers(Transport::Rtmp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_viewers_stay_near_live_with_their_sound_rtmps() {
    slow_viewers(Transport::Rtmps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_viewers_stay_near_live_with_their_sound_write_coalescing() {
    slow_viewers(Transport::Coalescing).await;
}
