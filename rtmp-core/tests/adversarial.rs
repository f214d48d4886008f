//! Hostile peers: each attack runs beside a monitored stream (a publisher and a player of
//! another key). For every attack the server stays up, the monitored player sees no gap over
//! 1 s, RSS stays bounded, and the hostile connection is closed with a logged reason within the
//! configured timeouts. Each test prints one `attack=…` line with the figures (run with
//! `--nocapture` to see them).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtmp_core::proto::amf::Amf0Value;
use rtmp_core::proto::chunk::ChunkEncoder;
use rtmp_core::proto::message::{Command, Message};
use rtmp_core::server::{DisconnectReason, ServerConfig};
use support::recorder::Hook;
use support::{Synthetic, TestClient, TestServer, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Most a single attack may grow the test process's resident memory.
const RSS_BOUND_KB: u64 = 64 * 1024;

/// RSS is measured for the whole test process, so attacks run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A server with short timeouts, a live monitored stream and a player measuring its gaps.
struct Arena {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    server: TestServer,
    monitor: JoinHandle<Duration>,
    publisher: JoinHandle<u32>,
    rss_before: u64,
    rss_peak: Arc<AtomicU64>,
    sampler: JoinHandle<()>,
}

impl Arena {
    async fn start(config: ServerConfig, seconds: f64) -> Self {
        let serial = SERIAL.lock().await;
        let server = TestServer::start(config);
        let mut publisher = TestClient::connect(server.addr, "live").await;
        let stream_id =
            publisher.publish("monitored", Duration::from_secs(5)).await.expect("monitored publish");
        let publisher = tokio::spawn(async move {
            // Outlasts the monitor's window whatever the set-up took.
            publisher.publish_synthetic(stream_id, &Synthetic::new(seconds + 5.0)).await
        });
        server.wait_live("monitored", Duration::from_secs(5)).await;
        let mut player = TestClient::connect(server.addr, "live").await;
        player.play_started("monitored").await;
        let monitor = tokio::spawn(async move {
            player.pump(Duration::from_secs_f64(seconds)).await;
            let media = player.media(0);
            let mut gap = Duration::ZERO;
            for pair in media.windows(2) {
                gap = gap.max(pair[1].at - pair[0].at);
            }
            assert!(media.len() as f64 >= seconds * 25.0, "monitor got only {} messages", media.len());
            gap
        });
        let rss_before = rss_kb();
        let rss_peak = Arc::new(AtomicU64::new(rss_before));
        let peak = Arc::clone(&rss_peak);
        let sampler = tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kb(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self { _serial: serial, server, monitor, publisher, rss_before, rss_peak, sampler }
    }

    /// Waits for the monitor, checks the invariants, prints the figures.
    async fn finish(self, attack: &str, hostile_lived: Duration) {
        let gap = self.monitor.await.expect("monitor");
        self.sampler.abort();
        let rss_after = rss_kb();
        let peak = self.rss_peak.load(Ordering::Relaxed).max(rss_after);
        println!(
            "attack={attack} rss_before_kb={} rss_peak_kb={peak} rss_after_kb={rss_after} hostile_lived_ms={} monitor_max_gap_ms={}",
            self.rss_before,
            hostile_lived.as_millis(),
            gap.as_millis()
        );
        assert!(gap < Duration::from_secs(1), "{attack}: the monitored player saw a {gap:?} gap");
        assert!(
            peak - self.rss_before < RSS_BOUND_KB,
            "{attack}: RSS grew by {} KiB",
            peak - self.rss_before
        );
        assert!(
            self.server.stream("monitored").is_some_and(|s| s.publisher.is_some()),
            "{attack}: server lost the stream"
        );
        self.publisher.abort();
    }
}

fn short_timeouts() -> ServerConfig {
    config().connection_timeout(Duration::from_secs(2)).idle_timeout(Duration::from_secs(3))
}

/// A raw TCP peer that has done a simple handshake and now writes whatever it likes.
struct Hostile {
    socket: TcpStream,
    opened: Instant,
    pub local: SocketAddr,
}

impl Hostile {
    async fn connect(server: SocketAddr) -> Self {
        let mut socket = TcpStream::connect(server).await.expect("connect");
        let local = socket.local_addr().unwrap();
        let opened = Instant::now();
        let mut c0c1 = vec![3u8];
        c0c1.extend([0u8; 1536]);
        socket.write_all(&c0c1).await.unwrap();
        let mut reply = vec![0u8; 3073];
        socket.read_exact(&mut reply).await.expect("S0S1S2");
        socket.write_all(&[0u8; 1536]).await.unwrap();
        Self { socket, opened, local }
    }

    async fn send(&mut self, bytes: &[u8]) {
        // The server may close while we write: that is the point.
        let _ = self.socket.write_all(bytes).await;
    }

    /// Waits until the server closes the connection; returns how long it lived.
    async fn closed_within(mut self, limit: Duration) -> Duration {
        let mut sink = vec![0u8; 64 * 1024];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.read(&mut sink)).await {
                Ok(Ok(0) | Err(_)) => return self.opened.elapsed(),
                Ok(Ok(_)) => {}
                Err(_) => panic!("hostile connection still open after {limit:?}"),
            }
        }
    }
}

fn chunked(csid: u32, stream_id: u32, message: &Message) -> Vec<u8> {
    let (type_id, body) = message.encode();
    let mut out = BytesMut::new();
    ChunkEncoder::new().write(csid, 0, type_id, stream_id, &body, &mut out);
    out.to_vec()
}

fn raw_command(body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    ChunkEncoder::new().write(3, 0, 20, 0, body, &mut out);
    out.to_vec()
}

fn connect_bytes() -> Vec<u8> {
    let object =
        [("app", Amf0Value::from("live")), ("tcUrl", "rtmp://127.0.0.1/live".into())].into_iter().collect();
    chunked(
        3,
        0,
        &Message::Command(Command {
            name: "connect".into(),
            transaction_id: 1.0,
            command_object: Amf0Value::Object(object),
            arguments: vec![],
        }),
    )
}

/// The disconnect reason the server logged for the peer at `local`.
async fn logged_reason(server: &TestServer, local: SocketAddr) -> DisconnectReason {
    let session = support::eventually(Duration::from_secs(5), "session of the hostile peer", || {
        server.rec.session_of(local)
    })
    .await;
    server.rec.wait_disconnect(session, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_handshakes_are_closed_at_the_connection_timeout() {
    let arena = Arena::start(short_timeouts(), 4.0).await;
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(arena.server.addr).await.unwrap();
        s.write_all(&[3, 0, 0]).await.unwrap();
        stalled.push((Instant::now(), s));
    }
    let mut longest = Duration::ZERO;
    for (opened, mut s) in stalled {
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(4), s.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(_)) => continue,
                Err(_) => panic!("a stalled handshake outlived the connection timeout"),
            }
        }
        longest = longest.max(opened.elapsed());
    }
    assert!(longest < Duration::from_millis(3500), "{longest:?}");
    let timeouts = arena
        .server
        .rec
        .count(|h| matches!(h, Hook::Disconnect { reason: DisconnectReason::Timeout("connection"), .. }));
    assert!(timeouts >= 300, "{timeouts} connection timeouts logged");
    arena.finish("slowloris_300", longest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_announced_message_length_is_refused_at_the_header() {
    let arena = Arena::start(short_timeouts(), 2.0).await;
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    h.send(&[0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0]).await;
    let lived = h.closed_within(Duration::from_secs(1)).await;
    assert!(
        matches!(logged_reason(&arena.server, local).await, DisconnectReason::Protocol(ref r) if r.contains("exceeds"))
    );
    arena.finish("huge_message_length", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_chunk_stream_ids_are_refused() {
    let arena = Arena::start(short_timeouts(), 2.0).await;
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    let mut out = BytesMut::new();
    let mut encoder = ChunkEncoder::new();
    for csid in 3..3000 {
        encoder.write(csid, 0, 8, 0, &[0xaf], &mut out);
    }
    h.send(&out).await;
    let lived = h.closed_within(Duration::from_secs(1)).await;
    assert!(
        matches!(logged_reason(&arena.server, local).await, DisconnectReason::Protocol(ref r) if r.contains("chunk streams"))
    );
    arena.finish("chunk_stream_ids_3000", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_chunks_cost_memory_only_as_bytes_arrive() {
    let arena = Arena::start(short_timeouts(), 3.0).await;
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    let mut out = BytesMut::new();
    let mut encoder = ChunkEncoder::new();
    encoder.write(2, 0, 1, 0, &1u32.to_be_bytes(), &mut out);
    encoder.set_chunk_size(1);
    encoder.write(6, 0, 9, 1, &vec![0x27u8; 1 << 20], &mut out);
    h.send(&out).await;
    // No connect follows: the connection timeout ends it.
    let lived = h.closed_within(Duration::from_secs(4)).await;
    assert!(matches!(logged_reason(&arena.server, local).await, DisconnectReason::Timeout("connection")));
    arena.finish("one_byte_chunks_1MiB", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_chunk_size_with_a_stalled_message_times_out() {
    let arena = Arena::start(short_timeouts(), 3.0).await;
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    let mut out = BytesMut::new();
    ChunkEncoder::new().write(2, 0, 1, 0, &0x7fff_ffffu32.to_be_bytes(), &mut out);
    out.extend_from_slice(&[0x06, 0, 0, 0, 0x7f, 0xff, 0xff, 0x09, 1, 0, 0, 0]);
    out.extend_from_slice(&[0u8; 1024]);
    h.send(&out).await;
    let lived = h.closed_within(Duration::from_secs(4)).await;
    assert!(matches!(logged_reason(&arena.server, local).await, DisconnectReason::Timeout("connection")));
    arena.finish("huge_chunk_size_stalled", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_the_handshake_closes_the_connection() {
    let arena = Arena::start(short_timeouts(), 3.0).await;
    let mut lived = Duration::ZERO;
    for seed in 0..20u64 {
        let mut h = Hostile::connect(arena.server.addr).await;
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let garbage: Vec<u8> = (0..65_536)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        h.send(&garbage).await;
        lived = lived.max(h.closed_within(Duration::from_secs(4)).await);
    }
    arena.finish("garbage_64KiB_x20", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_out_of_order_are_refused() {
    let arena = Arena::start(short_timeouts(), 2.0).await;
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    h.send(&chunked(3, 1, &Message::Command(Command::new("publish", 5.0, vec!["x".into()])))).await;
    let lived = h.closed_within(Duration::from_secs(1)).await;
    assert!(
        matches!(logged_reason(&arena.server, local).await, DisconnectReason::Protocol(ref r) if r.contains("before connect"))
    );
    let mut h = Hostile::connect(arena.server.addr).await;
    let local = h.local;
    h.send(&connect_bytes()).await;
    // Once connect is accepted, play on a message stream createStream never returned.
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.send(&chunked(8, 1, &Message::Command(Command::new("play", 0.0, vec!["monitored".into()])))).await;
    let lived = lived.max(h.closed_within(Duration::from_secs(1)).await);
    assert!(
        matches!(logged_reason(&arena.server, local).await, DisconnectReason::Protocol(ref r) if r.contains("never created"))
    );
    arena.finish("out_of_order_commands", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_amf_closes_the_connection() {
    let arena = Arena::start(short_timeouts(), 3.0).await;
    // Truncated, 10 000-deep nesting, and a huge declared long-string length.
    let mut truncated = vec![0x02, 0x00, 0x07];
    truncated.extend(b"connect");
    truncated.extend([0x00, 0x3f]);
    let mut deep = vec![0x02, 0x00, 0x07];
    deep.extend(b"connect");
    deep.extend([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
    for _ in 0..10_000 {
        deep.extend([0x03, 0x00, 0x01, b'a']);
    }
    let mut huge = vec![0x02, 0x00, 0x07];
    huge.extend(b"connect");
    huge.extend([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0c, 0xff, 0xff, 0xff, 0xff, b'x']);
    let mut lived = Duration::ZERO;
    for body in [truncated, deep, huge] {
        let mut h = Hostile::connect(arena.server.addr).await;
        let local = h.local;
        h.send(&raw_command(&body)).await;
        lived = lived.max(h.closed_within(Duration::from_secs(1)).await);
        assert!(
            matches!(logged_reason(&arena.server, local).await, DisconnectReason::Protocol(ref r) if r.contains("amf"))
        );
    }
    arena.finish("malformed_amf", lived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flood_dropping_at_random_points() {
    let arena = Arena::start(short_timeouts(), 5.0).await;
    // A whole valid session, cut at a different point for every connection.
    let mut session = vec![3u8];
    session.extend([0u8; 1536]);
    session.extend([0u8; 1536]);
    session.extend(connect_bytes());
    session.extend(chunked(3, 0, &Message::Command(Command::new("createStream", 2.0, vec![]))));
    session.extend(chunked(8, 1, &Message::Command(Command::new("publish", 3.0, vec!["flood".into()]))));
    let session = Arc::new(session);
    let started = Instant::now();
    let mut waves = Vec::new();
    let mut connected = 0u64;
    for wave in 0..10u64 {
        let mut tasks = Vec::new();
        for i in 0..100u64 {
            let session = Arc::clone(&session);
            let addr = arena.server.addr;
            tasks.push(tokio::spawn(async move {
                let cut = ((wave * 100 + i).wrapping_mul(2_654_435_761) % session.len() as u64) as usize;
                let Ok(mut s) = TcpStream::connect(addr).await else { return 0 };
                let _ = s.write_all(&session[..cut]).await;
                1u64
            }));
        }
        for t in tasks {
            connected += t.await.unwrap();
        }
        waves.push(wave);
    }
    let flood = started.elapsed();
    assert!(connected >= 900, "only {connected} of 1000 flood connections were made");
    // Every flood connection the clients made is accepted (some may still wait in the listen
    // backlog when the last wave ends) and ends; only the monitored publisher and player remain.
    support::eventually(Duration::from_secs(10), "flood connections accepted and closed", || {
        let stats = arena.server.handle.stats();
        (stats.total_connections >= connected && stats.connections <= 2).then_some(())
    })
    .await;
    arena.finish("flood_1000_random_drops", flood).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_publisher_leaves_players_and_memory_alone() {
    let arena = Arena::start(short_timeouts(), 5.0).await;
    let mut player = TestClient::connect(arena.server.addr, "live").await;
    player.play_started("flap").await;
    let started = Instant::now();
    for round in 0..30 {
        let mut publisher = TestClient::connect(arena.server.addr, "live").await;
        let id = publisher
            .publish("flap", Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        publisher.publish_synthetic(id, &Synthetic::new(0.08)).await;
        drop(publisher);
        // The next encoder comes back as soon as the server has let the last one go.
        support::eventually(Duration::from_secs(5), "flap released", || {
            arena.server.stream("flap").is_none_or(|s| s.publisher.is_none()).then_some(())
        })
        .await;
        // The player keeps reading (and answering pings) while the publisher flaps.
        player.pump(Duration::from_millis(20)).await;
    }
    let flaps = started.elapsed();
    player.pump(Duration::from_millis(300)).await;
    assert!(!player.closed, "the player of the flapping stream stays connected");
    // Each drop is an outage within the reconnect grace: the player hears of none of them.
    let notices = player.statuses().iter().filter(|s| s.ends_with("UnpublishNotify")).count();
    assert_eq!(notices, 0, "UnpublishNotify for a flap within the grace");
    let resumptions = arena.server.stream("flap").map_or(0, |s| s.resumptions);
    assert!(resumptions >= 25, "{resumptions} resumptions for 30 flaps");
    arena.finish("flapping_publisher_30", flaps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_500_under_1000_attempts() {
    let arena =
        Arena::start(config().connection_timeout(Duration::from_secs(10)).max_connections(500), 6.0).await;
    let addr = arena.server.addr;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        tasks.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else { return (false, None) };
            let mut c0c1 = vec![3u8];
            c0c1.extend([0u8; 1536]);
            if s.write_all(&c0c1).await.is_err() {
                return (false, None);
            }
            let mut reply = vec![0u8; 3073];
            let served = matches!(
                tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut reply)).await,
                Ok(Ok(_))
            );
            (served, Some(s))
        }));
    }
    let mut served = 0;
    let mut held = Vec::new();
    for t in tasks {
        let (ok, socket) = t.await.unwrap();
        served += usize::from(ok);
        held.extend(socket);
    }
    let stats = arena.server.handle.stats();
    println!("max_connections: served={served} refused={}", stats.refused_connections);
    // 2 of the 500 slots belong to the monitored publisher and player.
    assert_eq!(served, 498, "every slot under the limit is served");
    assert_eq!(stats.refused_connections, 502, "every extra attempt is refused");
    drop(held);
    arena.finish("max_connections_500_of_1000", started.elapsed()).await;
}
