//! What the server can learn of the link to a player: the rate its socket drains at while the
//! player is behind, and how much the kernel still holds. And the one knob that keeps the
//! kernel's share small: `TCP_NOTSENT_LOWAT`, sized from that rate.
//!
//! Without the knob a socket's send buffer grows to megabytes (the loopback and every long fat
//! path grow it to 4 MiB, seconds of a stream), so the kernel, not the server, decides what a slow
//! player gets, and nothing is dropped until the player is far behind.

use std::time::Duration;

use super::queue::Link;

/// Unsent bytes a socket may hold before it stops taking writes, before its rate is known.
const INITIAL_UNSENT_LIMIT: u32 = 128 * 1024;
/// The unsent limit never goes below this (a few chunks) nor above the initial limit.
const MIN_UNSENT_LIMIT: u32 = 32 * 1024;

/// A socket as this module sees it: its descriptor (the TCP socket under TLS too).
#[cfg(unix)]
pub(crate) type SocketFd = std::os::fd::RawFd;
#[cfg(not(unix))]
pub(crate) type SocketFd = ();

/// One player's socket: the link's rate as the kernel measures it, and the unsent limit sized
/// from it.
#[derive(Debug)]
pub(crate) struct LinkMeter {
    fd: Option<SocketFd>,
    /// The budget the unsent limit is sized for.
    budget: Option<Duration>,
    unsent_limit: u32,
}

impl LinkMeter {
    /// A meter for `fd`, whose unsent limit is set to the initial one.
    pub(crate) fn new(fd: Option<SocketFd>, budget: Option<Duration>) -> Self {
        let meter = Self { fd, budget, unsent_limit: INITIAL_UNSENT_LIMIT };
        if budget.is_some() {
            meter.apply_unsent_limit();
        }
        meter
    }

    /// The link now, as the queues' budget counts it (after a write of the task: two system
    /// calls, on the slow path only). The rate is the kernel's delivery rate: what the peer
    /// acknowledged per unit of time, measured by TCP itself on every acknowledgement, so a
    /// player that stopped reading keeps the rate it last had, and one that reads again shows
    /// its new rate within a round trip.
    pub(crate) fn measure(&mut self) -> Link {
        let Some(fd) = self.fd else { return Link::default() };
        let link = Link { rate: delivery_rate(fd), kernel_bytes: kernel_bytes(fd) };
        self.resize_unsent_limit(link.rate);
        link
    }

    /// A quarter of the budget's worth at the link's rate, so that most of what waits is in the
    /// queue, where the drop policy can still choose.
    fn resize_unsent_limit(&mut self, rate: u64) {
        let Some(budget) = self.budget.filter(|_| rate > 0) else { return };
        let bytes = rate.saturating_mul(budget.as_millis() as u64) / 4000;
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

/// The kernel's measure of the link's delivery rate in bytes per second (`TCP_INFO`), 0 where
/// there is none.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn delivery_rate(fd: SocketFd) -> u64 {
    // SAFETY: all zeroes is a valid tcp_info (plain integers).
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `info` and says how many.
    let result = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::from_mut(&mut info).cast(),
            &mut len,
        )
    };
    let has_rate = std::mem::offset_of!(libc::tcp_info, tcpi_delivery_rate) + 8 <= len as usize;
    if result == 0 && has_rate { info.tcpi_delivery_rate } else { 0 }
}

#[cfg(not(target_os = "linux"))]
fn delivery_rate(_: SocketFd) -> u64 {
    0
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
