//! Fan-out writes from the publisher's task straight into a player's TCP socket.
//!
//! Going through each player's task costs a task wake-up, a lock and a pass of its select loop
//! per message and player: more CPU than the write itself. When a player keeps up (nothing queued,
//! nothing of its own being written), the publisher's task writes the shared chunked bytes into
//! the player's socket with one non-blocking call, as nginx-rtmp does on its single thread.
//! Whatever the socket does not take goes back to the player's task, which owns every slow path:
//! backpressure, the drop policy, the stall timeout. With write coalescing, the server's flush task
//! writes each window's media the same way. TLS connections never take this path.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use socket2::SockRef;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;

use super::prefetch;
use super::queue::OutMessage;

/// A player that has gone raises no SIGPIPE in the host process: its task reports the error.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: std::ffi::c_int = 0;

/// Most messages in one direct write.
pub(super) const MAX_SLICES: usize = 32;

/// What a direct write took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sent {
    /// Messages the socket took, the last one possibly in part.
    pub(super) messages: usize,
    pub(super) bytes: usize,
    /// The last message went out in part: its rest is kept here for the player's task, which
    /// must be woken.
    pub(super) left_remainder: bool,
}

#[derive(Debug)]
struct Gate {
    /// The connection's task is writing or has media queued: publishers queue behind it.
    held: bool,
    /// A message a publisher wrote in part, and how much of it: the rest of its chunk is the
    /// next bytes on the wire.
    remainder: Option<(Bytes, usize)>,
    /// Bytes publishers wrote, for the connection's own count.
    written: u64,
}

/// A player connection's socket as its publishers see it.
#[derive(Debug)]
pub(super) struct DirectWriter {
    gate: Mutex<Gate>,
    /// The socket's descriptor, next to the gate: a fan-out finds the socket's own state cold,
    /// three pointers away (that load was 1.3 % of the CPU at 1000 players).
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
    /// Keeps the descriptor open.
    #[cfg_attr(unix, expect(dead_code, reason = "only owned, for the descriptor"))]
    socket: Arc<OwnedWriteHalf>,
}

impl DirectWriter {
    /// A writer that starts held: the connection's handshake and replies go first.
    pub(super) fn new(socket: Arc<OwnedWriteHalf>) -> Self {
        Self {
            gate: Mutex::new(Gate { held: true, remainder: None, written: 0 }),
            #[cfg(unix)]
            fd: std::os::fd::AsRawFd::as_raw_fd(socket.as_ref().as_ref()),
            socket,
        }
    }

    /// Starts loading the gate, which a fan-out finds cold (see the registry's `fan_out`).
    pub(super) fn prefetch(&self) {
        prefetch(&self.gate);
    }

    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `messages` now, in one call, if the socket is free and takes them. The caller holds
    /// the player's queue lock and has checked the queue is empty, so nothing can overtake them;
    /// it queues the messages the socket did not take.
    pub(super) fn send(&self, messages: &[&OutMessage]) -> Sent {
        let mut sent = Sent { messages: 0, bytes: 0, left_remainder: false };
        let mut gate = self.lock();
        if gate.held {
            return sent;
        }
        debug_assert!(messages.len() <= MAX_SLICES);
        let count = messages.len().min(MAX_SLICES);
        // Straight to the socket, not through tokio's readiness: a full socket answers
        // WouldBlock all the same, and the task's next write clears the stale readiness.
        // An error other than a full socket is the task's to report when it next writes.
        #[cfg(unix)]
        #[allow(unsafe_code)]
        // SAFETY: `self.socket` keeps the descriptor open as long as `self` lives.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        #[cfg(unix)]
        let socket = SockRef::from(&fd);
        #[cfg(not(unix))]
        let socket = SockRef::from(self.socket.as_ref().as_ref());
        let result = match messages {
            [] => return sent,
            // The usual case (encoders send audio and video apart): send(2) copies no message
            // header or iovec into the kernel.
            [one] => socket.send_with_flags(&one.bytes, SEND_FLAGS),
            _ => {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                for (slice, message) in slices.iter_mut().zip(messages) {
                    *slice = IoSlice::new(&message.bytes);
                }
                socket.send_vectored_with_flags(&slices[..count], SEND_FLAGS)
            }
        };
        let Ok(n) = result else {
            return sent;
        };
        gate.written += n as u64;
        sent.bytes = n;
        let mut left = n;
        for message in &messages[..count] {
            if left == 0 {
                break;
            }
            sent.messages += 1;
            if left < message.bytes.len() {
                gate.held = true;
                gate.remainder = Some((message.bytes.clone(), left));
                sent.left_remainder = true;
                break;
            }
            left -= message.bytes.len();
        }
        sent
    }

    /// Called by the connection's task before it writes: publishers queue from now on. Returns
    /// the message a publisher left half-written and how much of it went: the rest of its
    /// chunk must go out before anything else.
    pub(super) fn hold(&self) -> Option<(Bytes, usize)> {
        let mut gate = self.lock();
        gate.held = true;
        gate.remainder.take()
    }

    /// Bytes publishers wrote into this socket.
    pub(super) fn written(&self) -> u64 {
        self.lock().written
    }

    /// Lets publishers write directly again. The caller has written everything it took.
    pub(super) fn release(&self) {
        let mut gate = self.lock();
        debug_assert!(gate.remainder.is_none(), "a remainder appears only while released");
        gate.held = false;
    }
}

/// The connection task's side of the same socket, with no lock between it and the publishers'
/// direct writes (the gate orders them).
pub(crate) struct SharedWriter(pub(super) Arc<OwnedWriteHalf>);

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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A connected pair: our writer (small send buffer) and the peer's read side.
    async fn pair() -> (Arc<OwnedWriteHalf>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        SockRef::from(&client).set_send_buffer_size(4096).unwrap();
        let (_read, write) = client.into_split();
        (Arc::new(write), peer)
    }

    fn message(fill: u8, len: usize) -> OutMessage {
        OutMessage::new(Bytes::from(vec![fill; len]), super::super::FrameClass::VideoInter)
    }

    #[tokio::test]
    async fn held_writer_refuses_and_a_released_one_sends_whole_batches() {
        let (socket, mut peer) = pair().await;
        let writer = DirectWriter::new(Arc::clone(&socket));
        let (a, b) = (message(1, 100), message(2, 50));
        assert_eq!(writer.send(&[&a, &b]), Sent::default(), "a new writer starts held");
        assert_eq!(writer.hold(), None);
        writer.release();
        assert_eq!(writer.send(&[&a, &b]), Sent { messages: 2, bytes: 150, left_remainder: false });
        let mut got = vec![0; 150];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [a.bytes.as_ref(), b.bytes.as_ref()].concat());
        assert_eq!(writer.written(), 150);
    }

    #[tokio::test]
    async fn a_partial_write_holds_the_socket_and_its_rest_goes_first() {
        let (socket, mut peer) = pair().await;
        let writer = DirectWriter::new(Arc::clone(&socket));
        writer.release();
        // Far more than the socket buffers take while the peer does not read.
        let messages: Vec<OutMessage> = (0..8).map(|i| message(i, 1 << 20)).collect();
        let refs: Vec<&OutMessage> = messages.iter().collect();
        let sent = writer.send(&refs);
        assert!(sent.left_remainder && sent.messages >= 1 && sent.messages < messages.len(), "{sent:?}");
        // Publishers now queue: the socket is the task's until the rest is written.
        assert_eq!(writer.send(&[&message(9, 10)]), Sent::default());
        let (message, taken) = writer.hold().expect("the partly written message");
        let rest = message.slice(taken..);
        let mut task = SharedWriter(Arc::clone(&socket));
        let expected: Vec<u8> =
            messages[..sent.messages].iter().flat_map(|m| m.bytes.iter().copied()).collect();
        let reader = tokio::spawn(async move {
            let mut got = vec![0; expected.len()];
            peer.read_exact(&mut got).await.unwrap();
            assert!(got == expected, "the bytes on the wire are the messages, whole and in order");
        });
        task.write_all(&rest).await.unwrap();
        reader.await.unwrap();
        writer.release();
    }
}
