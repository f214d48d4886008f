//! The one output path: how a player connection's socket is written, by whom, in which order,
//! and what is dropped when it does not keep up. Every rule is here; the registry and the
//! connection's driver only call in.
//!
//! # Parts
//! - [`PlayerOutput`], one per connection, owned by its task: the socket's direct-write gate (as
//!   the task's side of it), the drain-and-write step and the stall timeout.
//! - [`PlayerQueue`], one per play of that connection, inside the registry's player: the bounded
//!   queue and its drop policy. Made only by [`PlayerOutput::queue`], so it wakes that connection
//!   and shares its gate. Publishers' tasks fill it ([`PlayerQueue::push_batch`], one call per
//!   player and fan-out), the stream adds its notices, and only [`PlayerOutput::write_queues`]
//!   drains it.
//!
//! # Rules
//! 1. **Classes.** A message arrives with the class it was given when it was read
//!    ([`super::message::MessageClass`]); nothing here parses a tag. A fan-out carries the drop
//!    policy's view of it ([`FrameClass::of`], once per message, not per player).
//! 2. **Drop policy: a latency budget** ([`super::ServerConfig::player_latency_budget`], or the
//!    play decision's). A message is judged by how long it would wait: the oldest queued
//!    message's wait plus what the kernel holds, or the bytes ahead at the link's measured rate
//!    ([`link`]), whichever is longer. Disposable video is dropped past a quarter of the budget,
//!    inter frames past half, keyframes that could not be sent within three quarters; past three
//!    quarters the queued video goes, and only if that is not enough (the link cannot carry
//!    audio alone) audio and data are dropped, in one run until the wait is down to a quarter of
//!    the budget (the last quarter is kept for what the server cannot see: the player's own
//!    buffers, the error of the measured rate). Sequence headers, metadata and video control tags are never dropped, and the
//!    queue's length ([`super::ServerConfig::player_queue_length`]) bounds memory whatever the
//!    budget (with no budget, its fill sets the drops, as in nginx-rtmp). After a video drop,
//!    video is skipped until the next keyframe so decoding never breaks. A new player, a
//!    (re)publish, a resume after pause and a `receiveVideo` also wait for a keyframe; only waits
//!    that follow a drop count as dropped frames, and every drop is counted (stats), never
//!    silent. A paused play keeps only headers; `receiveAudio(false)` / `receiveVideo(false)`
//!    skip their kind.
//! 3. **Direct writes.** On plain TCP, a publisher's task (or the flush task of write
//!    coalescing) writes a fan-out's kept messages, at most 32, straight into
//!    the player's socket with one non-blocking call, but only when the player's queue is empty and
//!    the gate is open. What the socket does not take is queued, in order, for the connection's
//!    task; a message taken in part is left to the task, and closes the gate. TLS never takes
//!    this path.
//! 4. **Ordering.** The connection's own bytes (replies, status notices, pings) go before any
//!    publisher's: the gate starts closed, is closed ([`PlayerOutput::hold`]) whenever the task
//!    writes and from the moment a play is accepted until the task's replies are written (so
//!    Play.Start precedes the cached media, which precedes live media), and is reopened
//!    ([`PlayerOutput::release`]) only when no message is on the wire in part. Direct writes go
//!    only into an empty queue, so they never overtake queued media, and the stream's notices
//!    (publisher left or arrived) travel in the queue, in order with the media, becoming session
//!    messages when the task drains them.
//! 5. **Write what the socket takes.** When woken, the task offers the socket the front of each
//!    play's queue (at most [`WRITE_BATCH`] messages and the socket's unsent limit) and takes
//!    off the queue only what the socket took: the rest stays where the drop policy can still
//!    choose. A message taken in part stays on the wire in part: the rest of its chunk goes
//!    first, and between its chunks the queued audio goes ahead of it (a 100 KB keyframe takes
//!    seconds on a slow link). [`MAX_WRITES_PER_WAKE`] writes per wake-up; a queue still full
//!    after that wakes the task again after it has read its socket (the player's own commands).
//! 6. **Stall means no progress.** A write of the task, replies or media, whose socket takes
//!    nothing for [`super::ServerConfig::player_stall_timeout`] ends the connection
//!    (`write stall`); a reader that drains steadily, however slowly, is never cut.
//! 7. **Cost.** This is the server's hottest path: per message and player there is one queue
//!    lock, one gate lock when writing directly, and no allocation, `Arc` clone or dynamic call;
//!    the fan-out loads each player's queue and gate ahead of use ([`PlayerQueue::prefetch`],
//!    [`PlayerQueue::prefetch_writer`]).

mod direct;
mod link;
mod queue;

use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;
use tokio::time::timeout;

use direct::DirectWriter;
pub(crate) use direct::SharedWriter;
use link::LinkMeter;
pub(crate) use link::{SocketFd, TLS_BUFFER_LIMIT};
pub(crate) use queue::{FrameClass, Front, Notice, OutMessage, Outgoing, PlayerQueue, Popped};

use super::handler::DisconnectReason;
use crate::proto::chunk::{shared_chunk_end, shared_type_id};
use crate::proto::message::type_id;
use crate::proto::session::ServerSession;

/// Most queued messages written in one vectored write.
pub(crate) const WRITE_BATCH: usize = 64;
/// About the most bytes one write takes from a queue (less when the socket's unsent limit is
/// lower).
const WRITE_BYTES: usize = 64 * 1024;
/// Vectored writes per wake-up before the task reads its socket again.
pub(crate) const MAX_WRITES_PER_WAKE: usize = 16;

/// What a connection's output is bounded by (from the server's config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputLimits {
    /// A write that makes no progress for this long ends the connection.
    pub(crate) stall: Duration,
    /// How far behind live a play may fall.
    pub(crate) budget: Option<Duration>,
    /// The chunk size queued messages are chunked with.
    pub(crate) chunk_size: u32,
}

impl OutputLimits {
    pub(crate) fn of(config: &super::ServerConfig) -> Self {
        Self {
            stall: config.player_stall_timeout,
            budget: config.player_latency_budget,
            chunk_size: config.chunk_size,
        }
    }
}

/// A message on the wire in part, and how much of it is.
#[derive(Debug)]
struct Partial {
    message: Bytes,
    sent: usize,
}

/// What a play's stream notices (its publisher left or arrived) become on the connection: the
/// server's status messages to a player, a forward's unpublish at its destination.
pub(crate) trait NoticeWriter {
    /// The messages to write for `notice` on message stream `stream_id`.
    fn notice(&mut self, stream_id: u32, notice: Notice) -> Vec<Bytes>;
}

impl NoticeWriter for ServerSession {
    fn notice(&mut self, stream_id: u32, notice: Notice) -> Vec<Bytes> {
        match notice {
            Notice::Unpublished => self.publisher_left(stream_id),
            Notice::Published => self.publisher_arrived(stream_id),
        }
        std::iter::from_fn(|| self.poll_transmit()).collect()
    }
}

/// Milliseconds on the server's clock (since its first use in this process): when a message was
/// queued, for the latency budget. Read once per fan-out.
pub(crate) fn clock_ms() -> u32 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u32
}

/// A connection's output, as its own task sees it: see the [module](self) for the rules.
#[derive(Debug)]
pub(crate) struct PlayerOutput {
    /// Wakes the task when any of its plays' queues gets a message.
    notify: Arc<Notify>,
    /// The socket as its publishers see it (plain TCP).
    direct: Option<Arc<DirectWriter>>,
    /// The task holds `direct`'s gate: publishers queue.
    held: bool,
    /// A message on the wire in part (a publisher's direct write or a queued one the socket took
    /// in part): its current chunk goes out before anything else; between its chunks, audio
    /// goes first.
    partial: Option<Partial>,
    /// The chunk size every queued message was chunked with.
    chunk_size: u32,
    /// Bytes the task wrote.
    written: u64,
    /// A write that makes no progress for this long ends the connection.
    stall: Duration,
    link: LinkMeter,
}

impl PlayerOutput {
    /// The output of a plain TCP connection, whose publishers may write into `socket`, and the
    /// task's own writer for it. The gate starts held.
    pub(crate) fn tcp(socket: OwnedWriteHalf, limits: OutputLimits) -> (Self, SharedWriter) {
        #[cfg(unix)]
        let fd = Some(std::os::fd::AsRawFd::as_raw_fd(socket.as_ref()));
        #[cfg(not(unix))]
        let fd = None;
        let socket = Arc::new(socket);
        let direct = Some(Arc::new(DirectWriter::new(Arc::clone(&socket))));
        (Self::with(direct, fd, 0, limits), SharedWriter(socket))
    }

    /// The output of a TLS connection (over the TCP socket `fd`, its library's records limited to
    /// [`TLS_BUFFER_LIMIT`]): only its task writes.
    pub(crate) fn tls(fd: Option<SocketFd>, limits: OutputLimits) -> Self {
        Self::with(None, fd, TLS_BUFFER_LIMIT, limits)
    }

    fn with(
        direct: Option<Arc<DirectWriter>>,
        fd: Option<SocketFd>,
        layer_bytes: usize,
        limits: OutputLimits,
    ) -> Self {
        Self {
            notify: Arc::new(Notify::new()),
            held: direct.is_some(),
            direct,
            partial: None,
            chunk_size: limits.chunk_size,
            written: 0,
            stall: limits.stall,
            link: LinkMeter::new(fd, layer_bytes, limits.budget),
        }
    }

    /// A queue for one play of this connection, of at most `capacity` messages and `budget`
    /// behind live (the connection's when `None`).
    pub(crate) fn queue(&self, capacity: usize, budget: Option<Option<Duration>>) -> PlayerQueue {
        let budget = budget.unwrap_or(self.link.budget());
        PlayerQueue::new(capacity, budget, Arc::clone(&self.notify), self.direct.clone())
    }

    /// What the task waits on for queued messages.
    pub(crate) fn notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    /// Closes the gate before the task writes: publishers queue until [`Self::release`]. A
    /// message a publisher left half-written goes out first.
    #[inline]
    pub(crate) fn hold(&mut self) {
        if self.held {
            return;
        }
        if let Some(direct) = &self.direct {
            debug_assert!(self.partial.is_none(), "publishers write only while nothing is in part");
            self.partial = direct.hold().map(|(message, sent)| Partial { message, sent });
            self.held = true;
        }
    }

    /// Reopens the gate after the task's writes, unless a message is still half written (the
    /// task comes back for it). Queued media cannot be overtaken: publishers write directly only
    /// into a player whose queue is empty.
    #[inline]
    pub(crate) fn release(&mut self) {
        let Some(direct) = self.direct.as_ref().filter(|_| self.held && self.partial.is_none()) else {
            return;
        };
        direct.release();
        self.held = false;
    }

    /// Bytes written into the socket, by the task and by publishers.
    pub(crate) fn bytes_out(&self) -> u64 {
        self.written + self.direct.as_ref().map_or(0, |d| d.written())
    }

    /// Writes the plays' queues (stream id, queue), turning notices into `notices`' messages.
    /// Each write takes what the socket accepts and leaves the rest queued, where the drop policy
    /// can still choose. Counts what it writes in `counter` (the server's bytes out).
    pub(crate) async fn write_queues<'a, W, N, I>(
        &mut self,
        writer: &mut W,
        notices: &mut N,
        plays: I,
        counter: &AtomicU64,
    ) -> Result<(), DisconnectReason>
    where
        W: AsyncWrite + Unpin,
        N: NoticeWriter,
        I: Iterator<Item = (u32, &'a PlayerQueue)> + Clone,
    {
        self.hold();
        let mut batch = Vec::new();
        for _ in 0..MAX_WRITES_PER_WAKE {
            if self.partial.is_some() {
                self.write_partial(writer, plays.clone(), counter).await?;
                self.report_link(plays.clone());
                continue;
            }
            let mut wrote = false;
            for (stream_id, queue) in plays.clone() {
                loop {
                    batch.clear();
                    // What the socket can take: what is offered stays out of the drop policy's
                    // reach until the write returns, which on a slow link takes a while.
                    let max_bytes = WRITE_BYTES.min(self.link.unsent_limit());
                    match queue.front(&mut batch, WRITE_BATCH, max_bytes) {
                        Front::Empty => break,
                        Front::Notice(notice) => {
                            let mut messages = notices.notice(stream_id, notice);
                            self.write_all(writer, &mut messages, counter).await?;
                        }
                        Front::Media(_) => {
                            let written = self.write_some(writer, &batch, counter).await;
                            self.partial = queue
                                .consume(*written.as_ref().unwrap_or(&0))
                                .map(|(message, sent)| Partial { message, sent });
                            written?;
                            self.report_link(plays.clone());
                            wrote = true;
                            break;
                        }
                    }
                }
            }
            if !wrote {
                // Under TLS, records the library still holds go out now.
                return self.flush(writer).await;
            }
        }
        // A publisher faster than this socket keeps the queue full: go back to the select loop so
        // the player's own commands and pings are read, and come straight back here.
        self.notify.notify_one();
        Ok(())
    }

    /// Tells the plays' queues what the link holds and drains.
    fn report_link<'a, I: Iterator<Item = (u32, &'a PlayerQueue)> + Clone>(&mut self, plays: I) {
        let behind = self.partial.is_some() || plays.clone().any(|(_, queue)| queue.depth() > 0);
        let link = self.link.measure(self.bytes_out(), behind);
        for (_, queue) in plays {
            queue.report_link(link);
        }
    }

    /// Writes more of the message on the wire in part: the rest of its current chunk, then the
    /// plays' queued audio, whole (it would wait behind a large keyframe for as long as that
    /// takes the link), then as much of the message as the socket takes.
    async fn write_partial<'a, W, I>(
        &mut self,
        writer: &mut W,
        plays: I,
        counter: &AtomicU64,
    ) -> Result<(), DisconnectReason>
    where
        W: AsyncWrite + Unpin,
        I: Iterator<Item = (u32, &'a PlayerQueue)> + Clone,
    {
        self.finish_chunk(writer, counter).await?;
        // Only between a video message's chunks: audio and data messages have chunk streams of
        // their own, and a message of one stream must not start inside another of the same.
        if self.partial.as_ref().is_some_and(|p| shared_type_id(&p.message) == Some(type_id::VIDEO)) {
            let mut audio = Vec::new();
            for (_, queue) in plays {
                queue.take_audio(&mut audio, WRITE_BATCH);
            }
            self.write_all(writer, &mut audio, counter).await?;
        }
        let Some(partial) = &self.partial else { return Ok(()) };
        let rest = [partial.message.slice(partial.sent..)];
        let written = self.write_some(writer, &rest, counter).await?;
        if let Some(partial) = &mut self.partial {
            partial.sent += written;
            if partial.sent == partial.message.len() {
                self.partial = None;
            }
        }
        Ok(())
    }

    /// Writes the rest of the current chunk of the message on the wire in part, if any: whole
    /// messages of other chunk streams may follow only a chunk's end.
    async fn finish_chunk<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        counter: &AtomicU64,
    ) -> Result<(), DisconnectReason> {
        let Some(partial) = self.partial.take() else { return Ok(()) };
        let end = shared_chunk_end(&partial.message, self.chunk_size, partial.sent);
        let mut rest = vec![partial.message.slice(partial.sent..end)];
        self.write_all(writer, &mut rest, counter).await?;
        if end < partial.message.len() {
            self.partial = Some(Partial { sent: end, ..partial });
        }
        Ok(())
    }

    /// Writes the task's `batch` in full (at a chunk end of a message on the wire in part), the
    /// gate held. Counts what it writes in `counter` (the server's bytes out).
    pub(crate) async fn write<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        mut batch: Vec<Bytes>,
        counter: &AtomicU64,
    ) -> Result<(), DisconnectReason> {
        if batch.is_empty() && self.partial.is_none() {
            return Ok(());
        }
        self.hold();
        self.finish_chunk(writer, counter).await?;
        self.write_all(writer, &mut batch, counter).await?;
        if self.partial.is_some() {
            // The rest of that message is the queues' writer's: it must come back for it even
            // if nothing else is queued.
            self.notify.notify_one();
        }
        self.flush(writer).await
    }

    async fn flush<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> Result<(), DisconnectReason> {
        match timeout(self.stall, writer.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DisconnectReason::Io(e.to_string())),
            Err(_) => Err(DisconnectReason::Timeout("write stall")),
        }
    }

    /// Writes every buffer of `bufs` (emptied), however slowly the socket takes them.
    async fn write_all<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        bufs: &mut Vec<Bytes>,
        counter: &AtomicU64,
    ) -> Result<(), DisconnectReason> {
        let mut first = 0;
        while first < bufs.len() {
            let mut written = self.write_some(writer, &bufs[first..], counter).await?;
            while written > 0 {
                let len = bufs[first].len();
                if written >= len {
                    written -= len;
                    first += 1;
                } else {
                    bufs[first].advance(written);
                    written = 0;
                }
            }
            while first < bufs.len() && bufs[first].is_empty() {
                first += 1;
            }
        }
        bufs.clear();
        Ok(())
    }

    /// One vectored write of `bufs`: what the socket takes once it takes anything. Stalling
    /// means no progress: a socket that takes nothing for the stall timeout ends the connection,
    /// however long a slow reader takes over everything.
    async fn write_some<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut W,
        bufs: &[Bytes],
        counter: &AtomicU64,
    ) -> Result<usize, DisconnectReason> {
        let slices: Vec<IoSlice<'_>> = bufs.iter().take(WRITE_BATCH).map(|b| IoSlice::new(b)).collect();
        let mut write = std::pin::pin!(std::future::poll_fn(
            |cx| Pin::new(&mut *writer).poll_write_vectored(cx, &slices)
        ));
        // Polled once first: a socket with room answers at once, and only a wait is timed.
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        let result = match first {
            Poll::Ready(result) => result,
            Poll::Pending => match timeout(self.stall, write).await {
                Ok(result) => result,
                Err(_) => return Err(DisconnectReason::Timeout("write stall")),
            },
        };
        match result {
            Ok(0) => {
                Err(DisconnectReason::Io(std::io::Error::from(std::io::ErrorKind::WriteZero).to_string()))
            }
            Ok(n) => {
                self.written += n as u64;
                counter.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => Err(DisconnectReason::Io(e.to_string())),
        }
    }
}

/// Starts loading `value`'s first cache line into the CPU's cache, for a loop that will touch it
/// soon. Elsewhere than x86-64, nothing.
#[allow(unsafe_code)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing into the program and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(value).cast(),
        );
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::proto::session::ServerSessionConfig;
    use crate::server::message::MessageClass;

    const KEY: MessageClass = MessageClass::VideoKey { track: 0 };
    const INTER: MessageClass = MessageClass::VideoInter;

    /// A connected pair: our write half and the peer.
    async fn pair() -> (OwnedWriteHalf, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        (client.into_split().1, peer)
    }

    fn limits(stall: Duration) -> OutputLimits {
        OutputLimits { stall, budget: None, chunk_size: 4096 }
    }

    fn message(fill: u8) -> Bytes {
        Bytes::from(vec![fill; 10])
    }

    fn out(fill: u8, class: MessageClass) -> OutMessage {
        OutMessage::new(message(fill), FrameClass::of(class))
    }

    #[tokio::test]
    async fn the_tasks_bytes_go_first_and_queued_media_is_never_overtaken() {
        let (socket, mut peer) = pair().await;
        let (mut output, mut writer) = PlayerOutput::tcp(socket, limits(Duration::from_secs(5)));
        let queue = output.queue(16, None);
        let counter = AtomicU64::new(0);
        // The gate starts held: a publisher's message queues behind the task's reply.
        assert_eq!(queue.push_batch(&[out(1, KEY)], true, 0), 0);
        output.write(&mut writer, vec![message(0)], &counter).await.unwrap();
        output.release();
        // The gate is open but the queue is not empty: this one queues behind message 1.
        assert_eq!(queue.push_batch(&[out(2, INTER)], true, 0), 0);
        let mut session = ServerSession::new(ServerSessionConfig::default(), 0, &[0; 1528]);
        output.write_queues(&mut writer, &mut session, [(1, &queue)].into_iter(), &counter).await.unwrap();
        output.release();
        // Caught up: a publisher writes straight into the socket.
        assert_eq!(queue.push_batch(&[out(3, INTER)], true, 0), 10);
        let mut got = vec![0; 40];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(got, (0..4).flat_map(|n| [n; 10]).collect::<Vec<u8>>());
        assert_eq!(output.bytes_out(), 40, "the task's and the publisher's");
        assert_eq!(counter.load(Ordering::Relaxed), 30, "the task's (the fan-out counts its own)");
    }

    #[tokio::test]
    async fn audio_goes_between_the_chunks_of_a_video_message_on_the_wire_in_part() {
        use crate::proto::chunk::{ChunkDecoder, ChunkLimits, encode_shared};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut peer, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&client).set_send_buffer_size(4096).unwrap();
        let (mut output, mut writer) =
            PlayerOutput::tcp(client.into_split().1, limits(Duration::from_secs(5)));
        let queue = output.queue(64, None);
        let keyframe = vec![0x17; 300_000];
        let video = encode_shared(7, 0, 9, 1, &keyframe, 4096);
        let audio = |n: u8| encode_shared(6, u32::from(n) * 23, 8, 1, &[0xaf, 1, n], 4096);
        let push = |bytes: Bytes, class| queue.push(&bytes, class, 0);
        // Queued behind a keyframe far larger than the socket's buffer.
        push(video.clone(), MessageClass::VideoKey { track: 0 });
        for n in 0..3 {
            push(audio(n), MessageClass::Audio);
        }
        let total = video.len() + 3 * audio(0).len();
        let reader = tokio::spawn(async move {
            let mut wire = vec![0; total];
            peer.read_exact(&mut wire).await.unwrap();
            let mut decoder = ChunkDecoder::new(ChunkLimits::default());
            decoder.set_chunk_size(4096).unwrap();
            decoder.push(&wire);
            std::iter::from_fn(|| decoder.next_message().unwrap()).map(|m| m.type_id).collect::<Vec<_>>()
        });
        let counter = AtomicU64::new(0);
        let mut session = ServerSession::new(ServerSessionConfig::default(), 0, &[0; 1528]);
        while output.partial.is_some() || queue.depth() > 0 {
            output
                .write_queues(&mut writer, &mut session, [(1, &queue)].into_iter(), &counter)
                .await
                .unwrap();
        }
        assert_eq!(reader.await.unwrap(), [8, 8, 8, 9], "the audio went ahead of the keyframe's rest");
    }

    #[tokio::test]
    async fn a_write_that_stalls_ends_the_connection() {
        let (mut writer, _unread) = tokio::io::duplex(64);
        let mut output = PlayerOutput::tls(None, limits(Duration::from_millis(50)));
        let result = output.write(&mut writer, vec![Bytes::from(vec![0; 1024])], &AtomicU64::new(0)).await;
        assert!(matches!(result, Err(DisconnectReason::Timeout("write stall"))), "{result:?}");
    }
}
