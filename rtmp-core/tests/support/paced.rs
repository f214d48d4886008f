//! A player on a slow link, without `tc`: it reads its socket at a fixed byte rate through a
//! small receive buffer, so what the link cannot carry stays on the server's side, in flight or
//! queued, as it would behind a real bottleneck (a large receive buffer would hide it from the
//! server in the player's own kernel instead), with an Ethernet path's segment size. It keeps
//! every audio and video message with its arrival time, and tells what they show against the live
//! edge. The load bench (`bench/`) includes this file too: the same player measures every server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtmp_core::proto::media::{AudioTag, VideoTag};
use rtmp_core::proto::message::ConnectParams;
use rtmp_core::proto::session::{ClientEvent, ClientSession, ClientSessionConfig};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The player's kernel receive buffer: a few chunks (the kernel doubles it).
const RECEIVE_BUFFER: usize = 4 * 1024;
/// Segments the size of an Ethernet path's, not the loopback's 64 KiB: with a receive buffer
/// this small, 64 KiB segments would leave the window shut for seconds at a time.
const SEGMENT: u32 = 1448;
/// How often the reader wakes to read its allowance.
const TICK: Duration = Duration::from_millis(10);

/// One received message.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub at: Instant,
    pub video: bool,
    pub timestamp: u32,
    /// A sequence header (not media).
    pub header: bool,
    /// A coded keyframe.
    pub keyframe: bool,
}

/// What a paced player saw.
#[derive(Debug)]
pub struct Played {
    pub arrivals: Vec<Arrival>,
    /// The server closed the connection (or it failed) while the player read.
    pub closed: bool,
    /// Play.Start arrived.
    pub started: bool,
    /// Its side of the TCP connection (the server's `peer_addr`).
    pub local: SocketAddr,
}

/// How a paced player reads.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Bytes per second; `None` reads as fast as the socket delivers.
    pub rate: Option<f64>,
    /// Stops reading (but keeps the connection) after this long.
    pub stop_after: Option<Duration>,
    /// Plays for this long.
    pub duration: Duration,
}

/// Connects over TCP to `addr`, plays `app/name` and reads at `pace`.
pub async fn play_tcp(addr: SocketAddr, app: &str, name: &str, pace: Pace) -> Played {
    let socket = connect(addr).await;
    let local = socket.local_addr().expect("local addr");
    play(socket, local, addr, app, name, pace).await
}

/// The same over RTMPS, trusting any certificate (the test's own).
pub async fn play_tls(addr: SocketAddr, app: &str, name: &str, pace: Pace) -> Played {
    let socket = connect(addr).await;
    let local = socket.local_addr().expect("local addr");
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name_ = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(name_, socket).await.expect("TLS handshake");
    play(stream, local, addr, app, name, pace).await
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_recv_buffer_size(RECEIVE_BUFFER).expect("SO_RCVBUF");
    socket.set_tcp_mss(SEGMENT).expect("TCP_MAXSEG");
    socket.set_nonblocking(true).expect("non-blocking");
    let socket = TcpSocket::from_std_stream(socket.into()).connect(addr).await.expect("tcp connect");
    socket.set_nodelay(true).expect("nodelay");
    socket
}

async fn play<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: S,
    local: SocketAddr,
    addr: SocketAddr,
    app: &str,
    name: &str,
    pace: Pace,
) -> Played {
    let random: [u8; 1528] = std::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(7));
    let mut session = ClientSession::new(ClientSessionConfig::default(), 0, &random);
    session
        .connect(ConnectParams {
            app: app.into(),
            tc_url: Some(format!("rtmp://{addr}/{app}")),
            flash_ver: Some("LNX 9,0,124,2".into()),
            ..Default::default()
        })
        .expect("connect");
    session.play(name).expect("play");
    let mut played = Played { arrivals: Vec::new(), closed: false, started: false, local };
    let started = Instant::now();
    let end = started + pace.duration;
    let mut buf = vec![0u8; 64 * 1024];
    let mut allowance = 0.0f64;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        while let Some(bytes) = session.poll_transmit() {
            if socket.write_all(&bytes).await.is_err() {
                played.closed = true;
                return played;
            }
        }
        let now = Instant::now();
        if now >= end {
            return played;
        }
        let stopped = pace.stop_after.is_some_and(|after| now >= started + after);
        let want = match pace.rate {
            _ if stopped => {
                tokio::time::sleep_until(end.into()).await;
                return played;
            }
            None => buf.len(),
            Some(rate) => {
                tick.tick().await;
                allowance = (allowance + rate * TICK.as_secs_f64()).min(rate);
                if allowance < 1.0 {
                    continue;
                }
                (allowance as usize).min(buf.len())
            }
        };
        let read = tokio::time::timeout_at(end.into(), socket.read(&mut buf[..want])).await;
        let n = match read {
            Err(_) => return played,
            Ok(Ok(0) | Err(_)) => {
                played.closed = true;
                return played;
            }
            Ok(Ok(n)) => n,
        };
        allowance -= n as f64;
        let at = Instant::now();
        session.handle_input(&buf[..n]).expect("the server's bytes decode");
        while let Some(event) = session.poll_event() {
            match event {
                ClientEvent::PlayStarted { .. } => played.started = true,
                ClientEvent::Audio { timestamp, payload, .. } => {
                    let header = AudioTag::parse(&payload).is_ok_and(|t| t.is_sequence_header());
                    played.arrivals.push(Arrival { at, video: false, timestamp, header, keyframe: false });
                }
                ClientEvent::Video { timestamp, payload, .. } => {
                    let tag = VideoTag::parse(&payload).ok();
                    let header = tag.as_ref().is_some_and(|t| t.is_sequence_header());
                    let keyframe = tag.as_ref().is_some_and(|t| t.is_keyframe() && !header);
                    played.arrivals.push(Arrival { at, video: true, timestamp, header, keyframe });
                }
                _ => {}
            }
        }
    }
}

/// Before this, a viewer is still taking in the GOP it joined with (which is up to a GOP behind
/// live by design: the cache starts it at once).
pub const WARM_UP: Duration = Duration::from_secs(6);

/// The live edge as the full-speed viewer saw it: the newest timestamp it had at each moment.
pub struct LiveEdge(Vec<(Instant, u32)>);

impl LiveEdge {
    pub fn new(played: &Played) -> Self {
        let mut newest = 0;
        Self(
            played
                .arrivals
                .iter()
                .filter(|a| !a.header)
                .map(|a| {
                    newest = newest.max(a.timestamp);
                    (a.at, newest)
                })
                .collect(),
        )
    }

    /// The newest timestamp live at `when`.
    pub fn at(&self, when: Instant) -> Option<u32> {
        let i = self.0.partition_point(|(at, _)| *at <= when);
        i.checked_sub(1).map(|i| self.0[i].1)
    }
}

/// What one viewer's arrivals show.
#[derive(Debug)]
pub struct Seen {
    pub audio: usize,
    pub video: usize,
    /// Audio timestamp steps over 100 ms, and the largest step.
    pub audio_holes: usize,
    pub largest_audio_step: u32,
    /// Video that resumed after a hole on something other than a keyframe.
    pub resumed_on_inter: usize,
    /// The most it was behind live after the warm-up, in ms, and the most its sound was.
    pub most_behind: i64,
    pub most_behind_audio: i64,
}

/// What `played` shows against `live`, its lag counted from `started` plus the warm-up.
pub fn seen(played: &Played, live: &LiveEdge, started: Instant) -> Seen {
    let media: Vec<&Arrival> = played.arrivals.iter().filter(|a| !a.header).collect();
    let audio: Vec<&&Arrival> = media.iter().filter(|a| !a.video).collect();
    let video: Vec<&&Arrival> = media.iter().filter(|a| a.video).collect();
    let steps: Vec<u32> = audio.windows(2).map(|w| w[1].timestamp.wrapping_sub(w[0].timestamp)).collect();
    let resumed_on_inter = video
        .windows(2)
        .filter(|w| w[1].timestamp.wrapping_sub(w[0].timestamp) > 50 && !w[1].keyframe)
        .count();
    let most_behind_of = |audio_only: bool| {
        media
            .iter()
            .filter(|a| a.at >= started + WARM_UP && !(audio_only && a.video))
            .filter_map(|a| live.at(a.at).map(|edge| i64::from(edge) - i64::from(a.timestamp)))
            .max()
            .unwrap_or(0)
    };
    let (most_behind, most_behind_audio) = (most_behind_of(false), most_behind_of(true));
    Seen {
        audio: audio.len(),
        video: video.len(),
        audio_holes: steps.iter().filter(|&&s| s > 100).count(),
        largest_audio_step: steps.iter().copied().max().unwrap_or(0),
        resumed_on_inter,
        most_behind,
        most_behind_audio,
    }
}

/// Accepts the test's self-signed certificate.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}
