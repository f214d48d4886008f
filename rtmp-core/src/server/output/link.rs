//! What the server can learn of the link to a player: the rate its socket drains at while the
//! player is behind, and how much the kernel still holds. And the one knob that keeps the
//! kernel's share small: `TCP_NOTSENT_LOWAT`, sized from that rate.
//!
//! Without the knob a socket's send buffer grows to megabytes (the loopback and every long fat
//! path grow it to 4 MiB, seconds of a stream), so the kernel, not the server, decides what a slow
//! player gets, and nothing is dropped until the player is far behind.

use std::time::{Duration, Instant};

use super::queue::Link;

/// TLS records the library may hold for a socket that takes no more (rustls' default is 64 KiB):
/// beyond the kernel's share, and out of the drop policy's reach like it.
pub(crate) const TLS_BUFFER_LIMIT: usize = 4 * 1024;

/// Unsent bytes a socket may hold before it stops taking writes, before its rate is known.
const INITIAL_UNSENT_LIMIT: u32 = 32 * 1024;
/// The unsent limit never goes below this (a few chunks) nor above the initial limit.
const MIN_UNSENT_LIMIT: u32 = 8 * 1024;

/// A socket as this module sees it: its descriptor (the TCP socket under TLS too).
#[cfg(unix)]
pub(crate) type SocketFd = std::os::fd::RawFd;
#[cfg(not(unix))]
pub(crate) type SocketFd = ();

/// A rate sample covers at least this much time behind.
const SAMPLE_PERIOD: Duration = Duration::from_millis(250);
/// A catch-up sample covers at least this much time (shorter ones are noise).
const MIN_CATCH_UP: Duration = Duration::from_millis(10);
/// Below this (bytes per second: an eighth of 64 kbit/s audio) a rate says the reader stalled,
/// not that its link is that slow.
const STALLED_RATE: u64 = 1_000;
/// A player that kept up this long may have a faster link than measured: its rate is doubled.
const RATE_MEMORY: Duration = Duration::from_secs(4);

/// One player's socket: the rate its peer takes data at while the player is behind, and the
/// unsent limit sized from it.
///
/// The rate is what left the kernel (written, less what the kernel still holds) over time, in
/// spells when the player was behind all along; while a player keeps up, the rate doubles every
/// few seconds until it falls behind again and is measured anew. It is measured here, not
/// asked of the kernel: `TCP_INFO`'s delivery rate reads a burst's rate (four to fifteen times
/// the real one, for the test suite's paced players) when the reader's window, not a bottleneck,
/// sets the pace.
#[derive(Debug)]
pub(crate) struct LinkMeter {
    fd: Option<SocketFd>,
    /// What a layer above the socket may hold that no call reports (TLS records): counted as
    /// held, so that it is neither taken for delivered (a catch-up's rate) nor left out of the
    /// backlog.
    layer_bytes: u64,
    /// The budget the unsent limit is sized for.
    budget: Option<Duration>,
    unsent_limit: u32,
    /// Bytes per second, 0 while unknown.
    rate: u64,
    /// The current spell behind: since when, and the bytes that had left the kernel then.
    spell: Option<(Instant, u64)>,
    /// Since when the player has kept up.
    kept_up: Option<Instant>,
}

impl LinkMeter {
    /// A meter for `fd` under a layer that holds up to `layer_bytes`, whose unsent limit is set
    /// to the initial one.
    pub(crate) fn new(fd: Option<SocketFd>, layer_bytes: usize, budget: Option<Duration>) -> Self {
        let meter = Self {
            fd,
            layer_bytes: layer_bytes as u64,
            budget,
            unsent_limit: INITIAL_UNSENT_LIMIT,
            rate: 0,
            spell: None,
            kept_up: None,
        };
        if budget.is_some() {
            meter.apply_unsent_limit();
        }
        meter
    }

    /// The link now, as the queues' budget counts it, after a write of the task (one system
    /// call, on the slow path only): `written` bytes went into the socket so far, and the player
    /// is `behind` (media still queued) or not.
    pub(crate) fn measure(&mut self, written: u64, behind: bool) -> Link {
        let held_bytes = self.fd.map_or(0, kernel_bytes) + self.layer_bytes;
        let now = Instant::now();
        let delivered = written.saturating_sub(held_bytes);
        if !behind {
            // The link has just taken the whole backlog: what it carried since the last sample
            // is a rate it can do. A player that read nothing for seconds and then drained its
            // queue at once is not stuck with the stall's rate.
            // A rate left near nothing by a stall (zero samples while the reader took nothing)
            // takes even a short catch-up, or its keyframes would be refused for minutes.
            if let Some((since, before)) = self.spell.take()
                && (now.duration_since(since) >= MIN_CATCH_UP || self.rate < STALLED_RATE)
            {
                let elapsed = now.duration_since(since).max(MIN_CATCH_UP);
                let sample = rate(delivered.saturating_sub(before), elapsed);
                if sample > self.rate {
                    self.rate = sample;
                    self.resize_unsent_limit();
                }
            }
            let since = *self.kept_up.get_or_insert(now);
            if self.rate > 0 && now.duration_since(since) >= RATE_MEMORY {
                // Probing, not forgetting: a link that carried less than the stream a moment ago
                // would take a keyframe for seconds.
                self.rate = self.rate.saturating_mul(2);
                self.kept_up = Some(now);
                self.resize_unsent_limit();
            }
            return Link { rate: self.rate, held_bytes };
        }
        self.kept_up = None;
        match self.spell {
            None => self.spell = Some((now, delivered)),
            Some((since, before)) => {
                let elapsed = now.duration_since(since);
                if elapsed >= SAMPLE_PERIOD {
                    let sample = rate(delivered.saturating_sub(before), elapsed);
                    self.rate = if self.rate == 0 { sample.max(1) } else { (self.rate + sample).max(2) / 2 };
                    self.spell = Some((now, delivered));
                    self.resize_unsent_limit();
                }
            }
        }
        Link { rate: self.rate, held_bytes }
    }

    /// The connection's budget behind live, which the unsent limit is sized for.
    pub(crate) fn budget(&self) -> Option<Duration> {
        self.budget
    }

    /// Unsent bytes the socket takes now: about the most one write should offer.
    pub(crate) fn unsent_limit(&self) -> usize {
        self.unsent_limit as usize
    }

    /// A quarter of the budget's worth at the link's rate, so that most of what waits is in the
    /// queue, where the drop policy can still choose.
    fn resize_unsent_limit(&mut self) {
        let Some(budget) = self.budget.filter(|_| self.rate > 0) else { return };
        let bytes = self.rate.saturating_mul(budget.as_millis() as u64) / 4000;
        let limit = (bytes.min(u64::from(INITIAL_UNSENT_LIMIT)) as u32).max(MIN_UNSENT_LIMIT);
        if limit.abs_diff(self.unsent_limit) > self.unsent_limit / 4 {
            self.unsent_limit = limit;
            self.apply_unsent_limit();
        }
    }

    fn apply_unsent_limit(&self) {
        if let Some(fd) = self.fd {
            set_unsent_limit(fd, self.unsent_limit);
        }
    }
}

/// `bytes` over `elapsed`, in bytes per second.
fn rate(bytes: u64, elapsed: Duration) -> u64 {
    (bytes as f64 / elapsed.as_secs_f64()) as u64
}

/// Bytes the kernel holds for the socket: unsent, or sent and not yet acknowledged.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
fn kernel_bytes(fd: SocketFd) -> u64 {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int; `fd` is open while its connection runs.
    let result = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    if result == 0 { queued.max(0) as u64 } else { 0 }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn kernel_bytes(_: SocketFd) -> u64 {
    0
}

/// Sets `TCP_NOTSENT_LOWAT`: the socket reads writable, and takes writes, only while it holds
/// fewer unsent bytes than this.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
fn set_unsent_limit(fd: SocketFd, bytes: u32) {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the option takes one int, passed by pointer with its size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_unsent_limit(_: SocketFd, _: u32) {}
