//! What the server can learn of the link to a player: the rate its socket drains at while the
//! player is behind, and how much the kernel still holds. And the one knob that keeps the
//! kernel's share small: `TCP_NOTSENT_LOWAT`, sized from that rate.
//!
//! Without the knob a socket's send buffer grows to megabytes (the loopback and every long fat
//! path grow it to 4 MiB, seconds of a stream), so the kernel, not the server, decides what a slow
//! player gets, and nothing is dropped until the player is far behind.

use std::time::{Duration, Instant};

use super::queue::Link;

/// Unsent bytes a socket may hold before it stops taking writes, before its rate is known.
const INITIAL_UNSENT_LIMIT: u32 = 128 * 1024;
/// The unsent limit never goes below this (a few chunks) nor above the initial limit.
const MIN_UNSENT_LIMIT: u32 = 4 * 1024;
/// A rate sample covers at least this much time spent behind.
const SAMPLE_PERIOD: Duration = Duration::from_millis(250);
/// A measured rate is forgotten after this long without waiting for the socket: the link has
/// taken everything since, and may be faster now.
const RATE_MEMORY: Duration = Duration::from_secs(1);

/// A socket as this module sees it: its descriptor (the TCP socket under TLS too).
#[cfg(unix)]
pub(crate) type SocketFd = std::os::fd::RawFd;
#[cfg(not(unix))]
pub(crate) type SocketFd = ();

/// The drain rate of one player's socket, measured while it is behind.
#[derive(Debug)]
pub(crate) struct LinkMeter {
    fd: Option<SocketFd>,
    /// The budget the unsent limit is sized for.
    budget: Option<Duration>,
    /// Bytes per second, 0 while unknown.
    rate: u64,
    /// The current sample: since when the player has been behind, and the bytes written since.
    sample: Option<(Instant, u64)>,
    /// The socket had to be waited for during this sample: the link, not the stream, set its pace.
    waited: bool,
    /// When the socket was last waited for.
    last_wait: Option<Instant>,
    unsent_limit: u32,
}

impl LinkMeter {
    /// A meter for `fd`, whose unsent limit is set to the initial one.
    pub(crate) fn new(fd: Option<SocketFd>, budget: Option<Duration>) -> Self {
        let meter = Self {
            fd,
            budget,
            rate: 0,
            sample: None,
            waited: false,
            last_wait: None,
            unsent_limit: INITIAL_UNSENT_LIMIT,
        };
        if budget.is_some() {
            meter.apply_unsent_limit();
        }
        meter
    }

    /// The task had to wait for the socket to take more.
    pub(crate) fn waited(&mut self) {
        self.waited = true;
        self.last_wait = Some(Instant::now());
    }

    /// The task wrote `bytes` and still has media queued (`behind`) or not.
    pub(crate) fn wrote(&mut self, bytes: usize, behind: bool) {
        let now = Instant::now();
        if self.rate > 0 && self.last_wait.is_none_or(|at| now.duration_since(at) > RATE_MEMORY) {
            self.rate = 0;
            self.unsent_limit = INITIAL_UNSENT_LIMIT;
            self.apply_unsent_limit();
        }
        let (since, total) = self.sample.get_or_insert((now, 0));
        *total += bytes as u64;
        let elapsed = now.duration_since(*since);
        if (behind && elapsed < SAMPLE_PERIOD) || elapsed.is_zero() {
            return;
        }
        if self.waited && elapsed >= SAMPLE_PERIOD / 2 {
            let sample = (*total as f64 / elapsed.as_secs_f64()) as u64;
            self.rate = if self.rate == 0 { sample } else { (self.rate + sample) / 2 };
            self.resize_unsent_limit();
        }
        self.sample = if behind { Some((now, 0)) } else { None };
        self.waited = false;
    }

    /// The link as the queues' budget counts it.
    pub(crate) fn link(&self) -> Link {
        Link { rate: self.rate, kernel_bytes: self.fd.map_or(0, kernel_bytes) }
    }

    /// A quarter of the budget's worth at the measured rate, so that most of what waits is in
    /// the queue, where the drop policy can still choose.
    fn resize_unsent_limit(&mut self) {
        let Some(budget) = self.budget else { return };
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
