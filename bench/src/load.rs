//! The light load client: many RTMP sessions in one process, each a task driving the sans-IO
//! `ClientSession` over a socket and only counting what arrives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtmp_core::client::{ClientConfig, RtmpPublisher};
use rtmp_core::proto::handshake::ClientMode;
use rtmp_core::proto::media::VideoTag;
use rtmp_core::proto::message::ConnectParams;
use rtmp_core::proto::session::{ClientEvent, ClientSession, ClientSessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// What one player received.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes: AtomicU64,
    pub video: AtomicU64,
    pub audio: AtomicU64,
}

/// What a player does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Play and count.
    Play,
    /// Stay connected after `connect`, doing nothing.
    Idle,
    /// Play until the first keyframe, then leave (a late joiner).
    Join,
}

/// A session's connect parameters for `live`.
fn params(addr: SocketAddr) -> ConnectParams {
    ConnectParams { app: "live".into(), tc_url: Some(format!("rtmp://{addr}/live")), ..Default::default() }
}

fn session() -> ClientSession {
    let config = ClientSessionConfig { handshake: ClientMode::Simple, ..Default::default() };
    ClientSession::new(config, 0, &[7; 1528])
}

/// Runs one player (or idle connection) until `stop` turns true. Returns the time from sending
/// `play` to the first video keyframe that is not a sequence header (`None` if it never came).
pub async fn player(
    addr: SocketAddr,
    name: String,
    role: Role,
    counters: Arc<Counters>,
    connected: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Option<Duration> {
    let mut socket = TcpStream::connect(addr).await.ok()?;
    socket.set_nodelay(true).ok()?;
    let mut session = session();
    session.connect(params(addr)).ok()?;
    if role != Role::Idle {
        session.play(&name).ok()?;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut play_sent = None;
    let mut first_keyframe = None;
    let mut counted_connect = false;
    loop {
        while let Some(bytes) = session.poll_transmit() {
            socket.write_all(&bytes).await.ok()?;
        }
        let n = tokio::select! {
            read = socket.read(&mut buf) => read.ok()?,
            _ = stop.wait_for(|s| *s) => return first_keyframe,
        };
        if n == 0 {
            return first_keyframe;
        }
        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        session.handle_input(&buf[..n]).ok()?;
        while let Some(event) = session.poll_event() {
            match event {
                ClientEvent::Connected { .. } if !counted_connect => {
                    counted_connect = true;
                    connected.fetch_add(1, Ordering::Relaxed);
                }
                // `play` goes out in the flush right after this event.
                ClientEvent::StreamCreated { .. } => play_sent = Some(Instant::now()),
                ClientEvent::Video { payload, .. } => {
                    counters.video.fetch_add(1, Ordering::Relaxed);
                    if first_keyframe.is_none()
                        && VideoTag::parse(&payload).is_ok_and(|t| t.is_keyframe() && !t.is_sequence_header())
                    {
                        first_keyframe = play_sent.map(|t| t.elapsed());
                        if role == Role::Join {
                            return first_keyframe;
                        }
                    }
                }
                ClientEvent::Audio { .. } => {
                    counters.audio.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }
}

/// A socket that only reads and counts, as a player reads (the floor sender's receiver).
pub async fn sink(
    addr: SocketAddr,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Option<Duration> {
    let mut socket = TcpStream::connect(addr).await.ok()?;
    socket.set_nodelay(true).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            read = socket.read(&mut buf) => read.ok()?,
            _ = stop.wait_for(|s| *s) => return None,
        };
        if n == 0 {
            return None;
        }
        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Publishes `fixture` in a loop at real-time pace until `stop`.
pub async fn publisher(addr: SocketAddr, name: String, fixture: PathBuf, mut stop: watch::Receiver<bool>) {
    let url = format!("rtmp://{addr}/live/{name}");
    let Ok(mut publisher) = RtmpPublisher::connect(&url, ClientConfig::default()).await else {
        eprintln!("publisher {name} could not connect");
        return;
    };
    tokio::select! {
        _ = publisher.publish_flv(&fixture, true) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    let _ = publisher.close().await;
}

/// Publishes `fixture` in a loop with `ffmpeg -re -stream_loop -1 -c copy` until `stop`: the
/// publisher the fan-out scenarios use, as encoders send (ffmpeg's muxer interleaves, so a video
/// frame and the audio before it leave together).
pub async fn ffmpeg_publisher(
    ffmpeg: PathBuf,
    addr: SocketAddr,
    name: String,
    fixture: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let mut child = tokio::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
        .arg(&fixture)
        .args(["-c", "copy", "-f", "flv"])
        .arg(format!("rtmp://{addr}/live/{name}"))
        .kill_on_drop(true)
        .spawn()
        .expect("run ffmpeg");
    tokio::select! {
        status = child.wait() => eprintln!("ffmpeg publisher {name} ended early: {status:?}"),
        _ = stop.wait_for(|s| *s) => {}
    }
    let _ = child.kill().await;
}
