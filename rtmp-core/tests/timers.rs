//! Session timers on a hand-advanced clock: a client and a server session wired together in
//! memory, no sockets, no sleeping. The clock jumps from one deadline (`poll_timeout`) to the next,
//! as quinn-proto's test `Pair` does.
//!
//! Here rather than in `src/proto/tests`: the core may not read a clock, and even a fake one has
//! to start from a real `Instant`.

use std::time::{Duration, Instant};

use rtmp_core::proto::chunk::{ChunkDecoder, ChunkLimits};
use rtmp_core::proto::message::{ConnectParams, Message, UserControl, status};
use rtmp_core::proto::session::{
    ClientEvent, ClientSession, ClientSessionConfig, ServerEvent, ServerSession, ServerSessionConfig,
    TimeoutKind, Timers,
};

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
/// C0+C1+C2 (and S0+S1+S2): what each side sends before its first chunk.
const HANDSHAKE_BYTES: usize = 1 + 1536 + 1536;
const CLIENT_EPOCH_MS: u32 = 1000;
const SERVER_EPOCH_MS: u32 = 2000;

/// The messages one side sent, decoded after its handshake.
struct Tap {
    skip: usize,
    decoder: ChunkDecoder,
    messages: Vec<(Instant, Message)>,
}

impl Tap {
    fn new() -> Self {
        Self {
            skip: HANDSHAKE_BYTES,
            decoder: ChunkDecoder::new(ChunkLimits::default()),
            messages: Vec::new(),
        }
    }

    fn feed(&mut self, now: Instant, bytes: &[u8]) {
        let skipped = self.skip.min(bytes.len());
        self.skip -= skipped;
        self.decoder.push(&bytes[skipped..]);
        while let Some(raw) = self.decoder.next_message().unwrap() {
            let message = Message::decode(raw.type_id, raw.payload, &Default::default()).unwrap();
            self.messages.push((now, message));
        }
    }

    /// The timestamps of the PingRequests sent.
    fn pings(&self) -> Vec<u32> {
        let ping = |(_, m): &(Instant, Message)| match m {
            Message::UserControl(UserControl::PingRequest(t)) => Some(*t),
            _ => None,
        };
        self.messages.iter().filter_map(ping).collect()
    }

    fn pongs(&self) -> usize {
        let pong =
            |(_, m): &&(Instant, Message)| matches!(m, Message::UserControl(UserControl::PingResponse(_)));
        self.messages.iter().filter(pong).count()
    }
}

struct Pair {
    client: ClientSession,
    server: ServerSession,
    client_events: Vec<(Instant, ClientEvent)>,
    server_events: Vec<(Instant, ServerEvent)>,
    client_sent: Tap,
    server_sent: Tap,
    /// The fake clock.
    now: Instant,
    start: Instant,
    /// False: the network drops everything, both ways.
    link_up: bool,
}

impl Pair {
    fn new(client_timers: Timers, server_timers: Timers) -> Self {
        let start = Instant::now();
        let client = ClientSession::new(ClientSessionConfig::default(), CLIENT_EPOCH_MS, &[1; 1528])
            .with_timers(client_timers, start);
        let server = ServerSession::new(ServerSessionConfig::default(), SERVER_EPOCH_MS, &[2; 1528])
            .with_timers(server_timers, start);
        Self {
            client,
            server,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_sent: Tap::new(),
            server_sent: Tap::new(),
            now: start,
            start,
            link_up: true,
        }
    }

    /// A pair whose client connected at the start; the server accepts every request.
    fn connected(client_timers: Timers, server_timers: Timers) -> Self {
        let mut pair = Self::new(client_timers, server_timers);
        pair.client.connect(ConnectParams { app: "live".into(), ..Default::default() }).unwrap();
        pair.transfer();
        assert!(pair.client.is_connected());
        pair
    }

    /// Moves bytes both ways (or drops them, link down) until neither side has anything to send.
    fn transfer(&mut self) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                self.client_sent.feed(self.now, &bytes);
                if self.link_up {
                    self.server.handle_input(&bytes).unwrap();
                }
            }
            while let Some(event) = self.server.poll_event() {
                if let ServerEvent::ConnectRequested { request, .. }
                | ServerEvent::PlayRequested { request, .. }
                | ServerEvent::PublishRequested { request, .. } = &event
                {
                    self.server.accept(*request).unwrap();
                }
                self.server_events.push((self.now, event));
            }
            while let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                self.server_sent.feed(self.now, &bytes);
                if self.link_up {
                    self.client.handle_input(&bytes).unwrap();
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.client_events.push((self.now, event));
            }
            if !moved {
                return;
            }
        }
    }

    /// Moves the clock on by `by`, stopping at every deadline on the way as a driver would.
    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        let mut last = None;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min();
            let Some(next) = next.filter(|&at| at <= until) else { break };
            assert_ne!(last, Some(next), "handle_timeout left the deadline where it was");
            last = Some(next);
            self.now = self.now.max(next);
            if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
                self.client.handle_timeout(self.now);
            }
            if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
                self.server.handle_timeout(self.now);
            }
            self.transfer();
        }
        self.now = until;
    }

    fn server_timeouts(&self) -> Vec<(Duration, TimeoutKind)> {
        let timeout = |(at, e): &(Instant, ServerEvent)| match e {
            ServerEvent::Timeout(kind) => Some((*at - self.start, *kind)),
            _ => None,
        };
        self.server_events.iter().filter_map(timeout).collect()
    }

    fn client_timeouts(&self) -> Vec<(Duration, TimeoutKind)> {
        let timeout = |(at, e): &(Instant, ClientEvent)| match e {
            ClientEvent::Timeout(kind) => Some((*at - self.start, *kind)),
            _ => None,
        };
        self.client_events.iter().filter_map(timeout).collect()
    }

    /// The onStatus codes the client got on `stream_id`, in order.
    fn statuses(&self, stream_id: u32) -> Vec<&str> {
        let mut codes = Vec::new();
        for (_, event) in &self.client_events {
            if let ClientEvent::Status { stream_id: s, code, .. } = event
                && *s == stream_id
            {
                codes.push(code.as_str());
            }
        }
        codes
    }

    /// Plays `name`; returns the message stream once the server accepted.
    fn play(&mut self, name: &str) -> u32 {
        self.client.play(name).unwrap();
        self.transfer();
        let started = |(_, e): &(Instant, ClientEvent)| match e {
            ClientEvent::PlayStarted { stream_id } => Some(*stream_id),
            _ => None,
        };
        self.client_events.iter().rev().find_map(started).expect("play started")
    }
}

fn server_timers() -> Timers {
    Timers {
        connect_timeout: Some(10 * SECOND),
        idle_timeout: Some(3 * SECOND),
        ping_interval: Some(SECOND),
        play_wait_timeout: None,
    }
}

fn client_timers() -> Timers {
    Timers { idle_timeout: Some(3 * SECOND), ping_interval: Some(SECOND), ..Timers::default() }
}

#[test]
fn connect_timeout_closes_a_server_session_that_never_connects() {
    // The handshake completes, connect never comes.
    let mut pair = Pair::new(Timers::default(), server_timers());
    pair.transfer();
    assert_eq!(pair.server.poll_timeout(), Some(pair.start + SECOND), "the first ping tick");
    pair.advance(10 * SECOND - MS);
    assert_eq!(pair.server_timeouts(), []);
    assert!(!pair.server.is_closing());
    pair.advance(MS);
    assert_eq!(pair.server_timeouts(), [(10 * SECOND, TimeoutKind::Connect)]);
    assert!(pair.server.is_closing());
    assert_eq!(pair.server.poll_timeout(), None, "a closed session has no deadline");

    // A session that connected in time lives on.
    let mut pair = Pair::connected(Timers::default(), server_timers());
    pair.advance(30 * SECOND);
    assert_eq!(pair.server_timeouts(), []);
    assert!(!pair.server.is_closing());
}

#[test]
fn idle_timeout_closes_a_server_session_whose_peer_went_silent() {
    let mut pair = Pair::connected(Timers::default(), server_timers());
    pair.link_up = false;
    pair.advance(20 * SECOND);
    // The connect's bytes are noticed at the first tick (1 s): idle 3 s from there.
    assert_eq!(pair.server_timeouts(), [(4 * SECOND, TimeoutKind::Idle)]);
    assert!(pair.server.is_closing());
    assert_eq!(pair.server.poll_timeout(), None);
    assert_eq!(pair.server_sent.pings().len(), 3, "pings at 1, 2 and 3 s, none after closing");
}

#[test]
fn server_pings_on_schedule_once_connected_and_pongs_keep_it_alive() {
    let mut pair = Pair::new(Timers::default(), server_timers());
    pair.transfer();
    pair.advance(3 * SECOND);
    assert_eq!(pair.server_sent.pings(), [], "no pings before connect");
    pair.client.connect(ConnectParams { app: "live".into(), ..Default::default() }).unwrap();
    pair.transfer();
    pair.advance(5 * SECOND);
    // Every second, stamped with the session's epoch time.
    let stamps: Vec<u32> = (4..=8).map(|s| SERVER_EPOCH_MS + s * 1000).collect();
    assert_eq!(pair.server_sent.pings(), stamps);
    let answered: Vec<u32> = pair
        .server_events
        .iter()
        .filter_map(|(_, e)| match e {
            ServerEvent::PingResponse { timestamp } => Some(*timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(answered, stamps);
    // The pongs are all the client sends, and enough: far past the idle timeout, still alive.
    pair.advance(60 * SECOND);
    assert_eq!(pair.server_timeouts(), []);
    assert_eq!(pair.server_sent.pings().len(), 65);
}

#[test]
fn any_input_resets_the_server_idle_timeout() {
    // No pings: only what the client sends on its own keeps the session alive.
    let timers = Timers { ping_interval: None, ..server_timers() };
    let mut pair = Pair::connected(Timers::default(), timers);
    for _ in 0..15 {
        pair.advance(2 * SECOND);
        pair.client.send_command(0, rtmp_core::proto::message::Command::new("keepalive", 0.0, vec![]));
        pair.transfer();
    }
    assert_eq!(pair.server_timeouts(), [], "input every 2 s, idle timeout 3 s");
    let last_input = pair.now - pair.start;
    pair.advance(20 * SECOND);
    let [(at, TimeoutKind::Idle)] = pair.server_timeouts()[..] else {
        panic!("{:?}", pair.server_timeouts())
    };
    // Without pings the timer fires only at the idle deadlines: up to twice the timeout.
    assert!(at >= last_input + 3 * SECOND && at <= last_input + 6 * SECOND, "idle at {at:?}");
}

#[test]
fn play_wait_timeout_fails_a_waiting_player_with_stream_not_found() {
    let timers = Timers { play_wait_timeout: Some(5 * SECOND), ..Timers::default() };
    let mut pair = Pair::connected(Timers::default(), timers);
    let waiting = pair.play("nobody");
    pair.server.wait_for_publisher(waiting, pair.now);
    pair.advance(5 * SECOND - MS);
    assert!(!pair.statuses(waiting).contains(&status::PLAY_STREAM_NOT_FOUND));
    pair.advance(MS);
    assert_eq!(pair.statuses(waiting).last(), Some(&status::PLAY_STREAM_NOT_FOUND));
    assert_eq!(pair.server_timeouts(), [(5 * SECOND, TimeoutKind::PlayWait { stream_id: waiting })]);
    assert!(!pair.server.is_closing(), "the connection stays");
    assert_eq!(pair.server.poll_timeout(), None);

    // A publisher that arrives in time ends the wait, and the player hears of it.
    let lucky = pair.play("late");
    pair.server.wait_for_publisher(lucky, pair.now);
    pair.advance(2 * SECOND);
    pair.server.publisher_arrived(lucky);
    pair.transfer();
    pair.advance(10 * SECOND);
    assert_eq!(pair.server_timeouts().len(), 1, "{:?}", pair.server_timeouts());
    let begins =
        pair.client_events.iter().filter(|(_, e)| *e == ClientEvent::StreamBegin { stream_id: lucky });
    assert_eq!(begins.count(), 2, "at Play.Start, and again when the publisher arrived");
    let notices = [status::PLAY_PUBLISH_NOTIFY, status::PLAY_RESET, status::PLAY_START];
    assert!(pair.statuses(lucky).ends_with(&notices), "{:?}", pair.statuses(lucky));
    pair.server.publisher_left(lucky);
    pair.transfer();
    assert_eq!(pair.statuses(lucky).last(), Some(&status::PLAY_UNPUBLISH_NOTIFY));
    let (_, last) = pair.client_events.last().unwrap();
    assert_eq!(*last, ClientEvent::StreamEof { stream_id: lucky });
}

#[test]
fn idle_timeout_closes_a_client_session_whose_server_went_silent() {
    let mut pair = Pair::connected(client_timers(), Timers::default());
    pair.advance(10 * SECOND);
    assert_eq!(pair.client_timeouts(), [], "the server answers the client's pings");
    let silent_from = pair.now - pair.start;
    pair.link_up = false;
    pair.advance(20 * SECOND);
    // The last pong (answering the ping at 10 s) is noticed at the next tick, 11 s: idle from there.
    let [(at, TimeoutKind::Idle)] = pair.client_timeouts()[..] else {
        panic!("{:?}", pair.client_timeouts())
    };
    assert!(at >= silent_from + 3 * SECOND && at <= silent_from + 4 * SECOND, "idle at {at:?}");
    assert_eq!(pair.client.poll_timeout(), None, "a closed session has no deadline");
}

#[test]
fn client_pings_on_schedule_and_the_answers_keep_it_alive() {
    let mut pair = Pair::connected(client_timers(), Timers::default());
    pair.advance(30 * SECOND);
    let stamps: Vec<u32> = (1..=30).map(|s| CLIENT_EPOCH_MS + s * 1000).collect();
    assert_eq!(pair.client_sent.pings(), stamps);
    assert_eq!(pair.server_sent.pongs(), 30);
    assert_eq!(pair.client_timeouts(), [], "idle timeout 3 s, but the server answers every second");
    assert!(pair.client.is_connected());
}

#[test]
fn sessions_with_every_timer_off_have_no_deadlines() {
    let mut pair = Pair::connected(Timers::default(), Timers::default());
    assert_eq!((pair.client.poll_timeout(), pair.server.poll_timeout()), (None, None));
    pair.server.handle_timeout(pair.now + 3600 * SECOND);
    pair.client.handle_timeout(pair.now + 3600 * SECOND);
    pair.transfer();
    assert_eq!((pair.client_timeouts(), pair.server_timeouts()), (vec![], vec![]));
    assert_eq!(pair.server_sent.pings(), []);
}
