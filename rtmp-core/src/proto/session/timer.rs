//! The deadlines of a session, quinn-style: the IO layer sleeps until
//! [`poll_timeout`](super::ServerSession::poll_timeout) and then calls
//! [`handle_timeout`](super::ServerSession::handle_timeout) with the time. Nothing here reads a
//! clock: every `Instant` is handed in.

use std::time::{Duration, Instant};

/// The timers of a session, all off by default (a session without them never times out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// Time from the session's start to an accepted `connect`.
    pub connect_timeout: Option<Duration>,
    /// Once connected: nothing received for this long ends the session. Input is noticed when a
    /// timer fires (reading it costs nothing), so the session ends between this and one ping
    /// interval more after the last byte (twice this without pings).
    pub idle_timeout: Option<Duration>,
    /// Once connected: a PingRequest this often (its answer keeps a quiet peer from idling).
    /// Zero means no pings.
    pub ping_interval: Option<Duration>,
    /// Server only: how long an accepted play may wait for a publisher (see
    /// [`wait_for_publisher`](super::ServerSession::wait_for_publisher)).
    pub play_wait_timeout: Option<Duration>,
}

/// A deadline that passed, reported as `ServerEvent::Timeout` / `ClientEvent::Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// `connect` was not accepted within the connect timeout: close the connection.
    Connect,
    /// Nothing was received within the idle timeout: close the connection.
    Idle,
    /// No publisher arrived for a waiting play within the play wait timeout. The session has
    /// told the player (`NetStream.Play.StreamNotFound`) and ended the play; the connection stays.
    PlayWait {
        /// The player's message stream.
        stream_id: u32,
    },
}

/// The connection-wide timers both sessions share: connect, idle and ping.
#[derive(Debug)]
pub(super) struct ConnectionTimers {
    timers: Timers,
    started: Instant,
    /// The session's epoch (its handshake time) at `started`: pings carry epoch time.
    epoch_ms: u32,
    /// Bytes received when a timer last looked, and when that count last moved.
    seen_received: u64,
    last_activity: Instant,
    next_ping: Option<Instant>,
}

/// What the connection timers decided at a deadline.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Expired {
    /// Close the session for this reason.
    pub(super) close: Option<TimeoutKind>,
    /// Send a PingRequest with this timestamp.
    pub(super) ping: Option<u32>,
}

impl ConnectionTimers {
    pub(super) fn new(timers: Timers, epoch_ms: u32, now: Instant) -> Self {
        let ping_interval = timers.ping_interval.filter(|d| !d.is_zero());
        Self {
            timers: Timers { ping_interval, ..timers },
            started: now,
            epoch_ms,
            seen_received: 0,
            last_activity: now,
            next_ping: ping_interval.map(|every| now + every),
        }
    }

    pub(super) fn play_wait_timeout(&self) -> Option<Duration> {
        self.timers.play_wait_timeout
    }

    /// The next deadline: the connect deadline until connected, then the idle one; and pings.
    pub(super) fn poll_timeout(&self, connected: bool) -> Option<Instant> {
        let close = if connected {
            self.timers.idle_timeout.map(|t| self.last_activity + t)
        } else {
            self.timers.connect_timeout.map(|t| self.started + t)
        };
        earliest(close, self.next_ping)
    }

    /// Notes input (`received`, a count that only grows, moved since the last call), then
    /// checks the deadlines at `now`.
    pub(super) fn handle_timeout(&mut self, now: Instant, connected: bool, received: u64) -> Expired {
        if received != self.seen_received {
            self.seen_received = received;
            self.last_activity = now;
        }
        let mut expired = Expired::default();
        if connected {
            if self.timers.idle_timeout.is_some_and(|t| self.last_activity + t <= now) {
                expired.close = Some(TimeoutKind::Idle);
            }
        } else if self.timers.connect_timeout.is_some_and(|t| self.started + t <= now) {
            expired.close = Some(TimeoutKind::Connect);
        }
        if let (Some(at), Some(every)) = (self.next_ping, self.timers.ping_interval)
            && at <= now
        {
            self.next_ping = Some(now + every);
            if connected && expired.close.is_none() {
                let elapsed = now.saturating_duration_since(self.started).as_millis() as u32;
                expired.ping = Some(self.epoch_ms.wrapping_add(elapsed));
            }
        }
        expired
    }
}

/// The earlier of two optional deadlines.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
