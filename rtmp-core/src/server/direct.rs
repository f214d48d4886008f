//! Fan-out writes from the publisher's task straight into a player's TCP socket.
//!
//! Going through each player's task costs a task wake-up, a lock and a pass of its select loop
//! per message and player: more CPU than the write itself. When a player keeps up (nothing queued,
//! nothing of its own being written), the publisher's task writes the shared chunked bytes into
//! the player's socket with one non-blocking call, as nginx-rtmp does on its single thread.
//! Whatever the socket does not take goes back to the player's task, which owns every slow path:
//! backpressure, the drop policy, the stall timeout. TLS and write coalescing never take this path.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use socket2::SockRef;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;

/// What a direct write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirectWrite {
    /// Every byte (this many) is in the socket.
    Written(usize),
    /// This many bytes went out; the rest is kept here and the player's task must be woken to
    /// write it.
    Partial(usize),
    /// Nothing went out (the task holds the socket, or it is full): queue the message.
    Refused,
}

#[derive(Debug)]
struct Gate {
    /// The connection's task is writing or has media queued: publishers queue behind it.
    held: bool,
    /// The unwritten end of a message a publisher wrote in part: the next bytes on the wire.
    remainder: Option<Bytes>,
    /// Bytes publishers wrote, for the connection's own count.
    written: u64,
}

/// A player connection's socket as its publishers see it.
#[derive(Debug)]
pub(crate) struct DirectWriter {
    socket: Arc<OwnedWriteHalf>,
    gate: Mutex<Gate>,
}

impl DirectWriter {
    /// A writer that starts held: the connection's handshake and replies go first.
    pub(crate) fn new(socket: Arc<OwnedWriteHalf>) -> Self {
        Self { socket, gate: Mutex::new(Gate { held: true, remainder: None, written: 0 }) }
    }

    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `bytes` now if the socket is free and takes them. The caller holds the player's queue
    /// lock and has checked the queue is empty, so nothing can overtake these bytes.
    pub(crate) fn try_write(&self, bytes: &Bytes) -> DirectWrite {
        let mut gate = self.lock();
        if gate.held {
            return DirectWrite::Refused;
        }
        // Straight to the socket, not through tokio's readiness: a full socket answers
        // WouldBlock all the same, and the task's next write clears the stale readiness.
        // An error other than a full socket is the task's to report when it next writes.
        let Ok(n) = SockRef::from(self.socket.as_ref().as_ref()).send(bytes) else {
            return DirectWrite::Refused;
        };
        gate.written += n as u64;
        if n == bytes.len() {
            return DirectWrite::Written(n);
        }
        if n == 0 {
            return DirectWrite::Refused;
        }
        gate.held = true;
        gate.remainder = Some(bytes.slice(n..));
        DirectWrite::Partial(n)
    }

    /// Called by the connection's task before it writes: publishers queue from now on. Returns
    /// what a publisher left half-written, which must go out before anything else.
    pub(crate) fn hold(&self) -> Option<Bytes> {
        let mut gate = self.lock();
        gate.held = true;
        gate.remainder.take()
    }

    /// Bytes publishers wrote into this socket.
    pub(crate) fn written(&self) -> u64 {
        self.lock().written
    }

    /// Lets publishers write directly again. The caller has seen every queue of the connection
    /// empty and still holds their locks, and has written everything it took.
    pub(crate) fn release(&self) {
        let mut gate = self.lock();
        debug_assert!(gate.remainder.is_none(), "a remainder appears only while released");
        gate.held = false;
    }
}

/// The connection task's side of the same socket, with no lock between it and the publishers'
/// direct writes (the gate orders them).
pub(crate) struct SharedWriter(pub(crate) Arc<OwnedWriteHalf>);

impl AsyncWrite for SharedWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.as_ref().as_ref().poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.as_ref().as_ref().poll_write_ready(cx))?;
            match self.0.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The write side is shut down when the last holder (task or player) drops it.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
