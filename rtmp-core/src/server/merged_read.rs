//! Merged reads for publishers ([`ServerConfig::read_coalescing`], SRS's `mr`): after a read
//! that emptied its socket, a publisher's connection reads again at the next tick of the window,
//! so one read takes in many messages. The connection goes on meanwhile (commands of its own
//! players, a takeover, shutdown); only its reads wait.
//!
//! Waiting alone saves little: each message that arrives meanwhile still wakes the runtime's
//! thread (the socket turns readable), only to find nothing to do. So while it waits, the socket
//! asks the kernel (`SO_RCVLOWAT`) to report it readable only once a large amount is queued (a
//! fast publisher is then read at once), and every publisher's wait ends on the same tick, so
//! one thread wake-up serves all of them. At the tick the mark goes back to one byte, which makes
//! the kernel report what came. Elsewhere than Linux the read itself waits for the tick.
//!
//! [`ServerConfig::read_coalescing`]: super::ServerConfig::read_coalescing

use std::time::Duration;

use tokio::time::Instant;

/// Queued bytes that end a wait early: a fast publisher is read at once, as without waits.
/// Linux grows the socket's receive buffer to hold twice the mark and clamps a smaller window to
/// it: 1 MiB leaves room for 80 Mbit/s at 100 ms of round trip.
const WAKE_EARLY_AT: usize = 1 << 20;

/// A connection's waits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MergedReads {
    /// The TCP socket's descriptor, for its receive low-water mark.
    #[cfg(target_os = "linux")]
    fd: std::os::fd::RawFd,
}

impl MergedReads {
    /// Waits on `socket` (plain, or under TLS), which the connection's task keeps open while it
    /// runs.
    pub(crate) fn tcp(socket: &tokio::net::TcpStream) -> Self {
        #[cfg(target_os = "linux")]
        return Self { fd: std::os::fd::AsRawFd::as_raw_fd(socket) };
        #[cfg(not(target_os = "linux"))]
        return {
            let _ = socket;
            Self {}
        };
    }

    /// The socket stays quiet while reads wait: a waiting connection may still poll its read.
    pub(crate) const QUIETS_SOCKET: bool = cfg!(target_os = "linux");

    /// Reads wait from now: the socket reports readable only once [`WAKE_EARLY_AT`] is queued.
    pub(crate) fn quiet(self) {
        self.set_low_water_mark(WAKE_EARLY_AT);
    }

    /// Reads go on: the socket reports what is queued, and what comes.
    pub(crate) fn wake(self) {
        self.set_low_water_mark(1);
    }

    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn set_low_water_mark(self, bytes: usize) {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fd` is open while the connection runs (its task owns the socket), `value` is
        // a c_int and its size is passed. A failure only loses the optimisation.
        unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                std::ptr::from_ref(&value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn set_low_water_mark(self, _: usize) {}
}

/// The first multiple of `window` after `now`, counted from `epoch` (the same ticks for every
/// connection, so their waits end together).
pub(crate) fn next_tick(epoch: Instant, window: Duration, now: Instant) -> Instant {
    let window_ns = window.as_nanos().max(1);
    let ticks = now.saturating_duration_since(epoch).as_nanos() / window_ns + 1;
    epoch + Duration::from_nanos(u64::try_from(ticks * window_ns).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_shared_multiples_of_the_window() {
        let epoch = Instant::now();
        let window = Duration::from_millis(50);
        let at = |ms| epoch + Duration::from_millis(ms);
        assert_eq!(next_tick(epoch, window, at(0)), at(50));
        assert_eq!(next_tick(epoch, window, at(49)), at(50));
        assert_eq!(next_tick(epoch, window, at(50)), at(100));
        assert_eq!(next_tick(epoch, window, at(1234)), at(1250));
    }
}
