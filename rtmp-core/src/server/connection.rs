//! The task that drives one connection: socket ⇄ sans-IO session, handler hooks, registry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use std::pin::pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until, timeout};

use super::merged_read::{MergedReads, next_tick};

use super::handler::{
    AudioFrame, Decision, DisconnectReason, MediaKind, MediaTag, PlayParams, PublishParams, RtmpHandler,
    SessionContext, StreamKey, VideoFrame,
};
use super::message::PublishedMessage;
use super::output::{OutputLimits, PlayerOutput, SocketFd};
use super::read_sizing::ReadSizing;
use super::registry::Stream;
use super::runtime::Shared;
use crate::proto::media::{AudioTag, VideoTag};
use crate::proto::session::{ServerEvent, ServerSession, TimeoutKind, Timers};

mod streams;

use streams::{Playing, Publishing};

/// One connection's state outside the protocol session.
struct Connection<H: RtmpHandler> {
    shared: Arc<Shared<H>>,
    ctx: SessionContext,
    session: ServerSession,
    publishing: Vec<Publishing>,
    playing: Vec<Playing>,
    /// The socket's writing: its gate, its plays' queues, the stall timeout.
    output: PlayerOutput,
    /// Notified when another publisher takes over our stream.
    kick: Arc<Notify>,
    /// Set when the session or a decision ends the connection.
    ending: Option<DisconnectReason>,
    /// Media of the current read not yet fanned out, and the stream it is for.
    media: Vec<PublishedMessage>,
    media_stream: Option<Arc<Stream>>,
    merged_reads: MergedReads,
}

/// Runs a plain TCP connection to its end. Its publishers may write media straight into it.
pub(crate) async fn serve_tcp<H: RtmpHandler>(
    shared: Arc<Shared<H>>,
    socket: TcpStream,
    peer_addr: SocketAddr,
    session_id: u64,
) {
    let merged_reads = MergedReads::tcp(&socket);
    let (reader, writer) = socket.into_split();
    let (output, writer) = PlayerOutput::tcp(writer, OutputLimits::of(&shared.config));
    serve(shared, reader, writer, output, merged_reads, peer_addr, session_id).await;
}

/// Runs a TLS connection (over `merged_reads`' socket, `fd`) to its end.
pub(crate) async fn serve_tls<H, S>(
    shared: Arc<Shared<H>>,
    socket: S,
    fd: Option<SocketFd>,
    merged_reads: MergedReads,
    peer_addr: SocketAddr,
    session_id: u64,
) where
    H: RtmpHandler,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (reader, writer) = tokio::io::split(socket);
    let output = PlayerOutput::tls(fd, OutputLimits::of(&shared.config));
    serve(shared, reader, writer, output, merged_reads, peer_addr, session_id).await;
}

async fn serve<H, R, W>(
    shared: Arc<Shared<H>>,
    mut reader: R,
    mut writer: W,
    output: PlayerOutput,
    merged_reads: MergedReads,
    peer_addr: SocketAddr,
    session_id: u64,
) where
    H: RtmpHandler,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let mut connection = Connection {
        session: new_session(&shared),
        ctx: SessionContext { session_id, peer_addr, connect: None, user: None },
        shared,
        publishing: Vec::new(),
        playing: Vec::new(),
        output,
        kick: Arc::new(Notify::new()),
        ending: None,
        media: Vec::new(),
        media_stream: None,
        merged_reads,
    };
    let reason = connection.run(&mut reader, &mut writer).await;
    // From here on publishers queue (and the queues are dropped with the players).
    connection.output.hold();
    let _ = timeout(Duration::from_secs(1), writer.shutdown()).await;
    connection.finish(reason).await;
}

impl<H: RtmpHandler> Connection<H> {
    async fn run<R, W>(&mut self, reader: &mut R, writer: &mut W) -> DisconnectReason
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let config = Arc::clone(&self.shared.config);
        // Every future below lives across iterations: creating them per wake-up (a waiter on
        // each Notify, an entry in the timer wheel) cost more than the write it led to.
        let mut shutdown = self.shared.shutdown.subscribe();
        let mut shutdown_changed = pin!(shutdown.changed());
        let kick = Arc::clone(&self.kick);
        let mut kicked = pin!(kick.notified());
        let queue_notify = self.output.notify();
        let mut queued = pin!(queue_notify.notified());
        let mut last_media_write = Instant::now();
        // One timer for every deadline: the session's (connect, idle, ping, play wait) and the
        // tick of merged reads. It is moved earlier when a deadline appears and otherwise left
        // alone: when it fires early (reads moved the idle deadline) the session re-arms it.
        // Reads do not read the clock (once per message showed in ingest profiles): the session
        // notices them when the timer fires, at least every ping interval.
        let mut timer_at = far_future();
        let mut timer = pin!(sleep_until(timer_at));
        let mut read_sizing = ReadSizing::new();
        // Merged reads: when a publisher's socket was emptied, the tick at which it is read again.
        let mut reads_resume_at: Option<Instant> = None;
        loop {
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            if let Some(deadline) = earliest(deadline, reads_resume_at)
                && deadline < timer_at
            {
                timer_at = deadline;
                timer.as_mut().reset(deadline);
            }
            read_sizing.prepare(self.session.input_buffer(), !self.publishing.is_empty());
            let space = self.session.input_buffer().capacity() - self.session.input_buffer().len();
            // Reads first: when the socket has data (what woke a publisher), the other
            // branches are not polled at all (each poll of a Notify waiter takes its lock).
            // A peer that never lets the read wait still sees shutdown (checked per read).
            // The read goes straight into the session's buffer.
            tokio::select! {
                biased;
                read = reader.read_buf(self.session.input_buffer()),
                    if reads_resume_at.is_none() || MergedReads::QUIETS_SOCKET => {
                    match read {
                        Ok(0) => return DisconnectReason::ClientClosed,
                        Err(e) => return DisconnectReason::Io(e.to_string()),
                        Ok(n) => {
                            // Counted as it arrives, like bytes_out: a long-lived publisher's
                            // input must show in the stats before it disconnects.
                            self.shared.counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                            let result = self.session.handle_buffered();
                            let publishing = !self.publishing.is_empty();
                            read_sizing.after_read(n, self.session.input_buffer(), publishing);
                            self.process_events().await;
                            if let Err(reason) = self.flush_session(writer).await {
                                return reason;
                            }
                            if let Err(e) = result {
                                return DisconnectReason::Protocol(e.to_string());
                            }
                            if let Some(reason) = self.ending.take() {
                                return reason;
                            }
                            if *self.shared.shutdown.borrow() {
                                return self.shut_down(writer).await;
                            }
                            // Merged reads: a publisher whose socket is empty is read again at
                            // the next tick, many messages at once; one that filled the buffer
                            // (or woke the quiet socket with a pile of data) reads on at once.
                            if let Some(window) = config.read_coalescing
                                && n < space
                                && !self.publishing.is_empty()
                            {
                                self.merged_reads.quiet();
                                let epoch = Instant::from_std(self.shared.started);
                                reads_resume_at = Some(next_tick(epoch, window, Instant::now()));
                            }
                        }
                    }
                }
                _ = &mut shutdown_changed => return self.shut_down(writer).await,
                _ = &mut kicked => return DisconnectReason::Replaced,
                _ = &mut queued, if !self.playing.is_empty() => {
                    queued.set(queue_notify.notified());
                    // Coalescing trades latency for CPU: media waits up to the window so one
                    // vectored write carries many messages (SRS's merged writes).
                    if let Some(window) = config.write_coalescing {
                        sleep_until(last_media_write + window).await;
                    }
                    let plays = self.playing.iter().map(|p| (p.stream_id, &p.player.queue));
                    let counter = &self.shared.counters.bytes_out;
                    if let Err(reason) = self.output.write_queues(writer, &mut self.session, plays, counter).await {
                        return reason;
                    }
                    last_media_write = Instant::now();
                }
                _ = &mut timer => {
                    let now = Instant::now();
                    if reads_resume_at.is_some_and(|at| at <= now) {
                        reads_resume_at = None;
                        self.merged_reads.wake();
                    }
                    timer_at = far_future();
                    self.session.handle_timeout(now.into_std());
                    self.process_events().await;
                    if let Err(reason) = self.flush_session(writer).await {
                        return reason;
                    }
                    if let Some(reason) = self.ending.take() {
                        return reason;
                    }
                }
            }
            self.output.release();
        }
    }

    /// Server shutdown: tell the peer (AppShutdown, Unpublish.Success) and end.
    async fn shut_down<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> DisconnectReason {
        self.session.send_shutdown();
        let _ = self.flush_session(writer).await;
        DisconnectReason::Shutdown
    }

    /// Answers every event the session raised, awaiting the handler's decisions.
    async fn process_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                ServerEvent::Audio { stream_id, timestamp, payload } => {
                    self.on_media(stream_id, MediaKind::Audio, timestamp, payload);
                }
                ServerEvent::Video { stream_id, timestamp, payload } => {
                    self.on_media(stream_id, MediaKind::Video, timestamp, payload);
                }
                ServerEvent::Metadata { .. } | ServerEvent::Data { .. } => self.on_data(event),
                event => {
                    // Media before a command goes out before the command's effects.
                    self.flush_media();
                    // Boxed: the hooks' futures live on the heap only while a command is
                    // answered, not in every idle connection's task.
                    Box::pin(self.handle_command(event)).await;
                }
            }
        }
        self.flush_media();
    }

    /// Metadata and data messages of a publisher.
    fn on_data(&mut self, event: ServerEvent) {
        let handler = Arc::clone(&self.shared.handler);
        match event {
            ServerEvent::Metadata { stream_id, timestamp, metadata, payload } => {
                if let Some(p) = self.publishing.iter().find(|p| p.stream_id == stream_id) {
                    let key = &p.stream.key;
                    let tag = MediaTag { key, kind: MediaKind::Data, timestamp, payload: &payload };
                    if handler.on_media_tag(&self.ctx, &tag) {
                        handler.on_metadata(&self.ctx, key, &metadata);
                        let stream = Arc::clone(&p.stream);
                        self.publish(stream, PublishedMessage::metadata(timestamp, payload));
                    }
                }
            }
            ServerEvent::Data { stream_id, timestamp, payload, data } => {
                if let Some(p) = self.publishing.iter().find(|p| p.stream_id == stream_id) {
                    let tag =
                        MediaTag { key: &p.stream.key, kind: MediaKind::Data, timestamp, payload: &payload };
                    if handler.on_media_tag(&self.ctx, &tag) {
                        handler.on_data(&self.ctx, &p.stream.key, &data);
                        let stream = Arc::clone(&p.stream);
                        self.publish(stream, PublishedMessage::data(timestamp, payload));
                    }
                }
            }
            _ => {}
        }
    }

    /// A command or notice of the session, with the handler's decision when it takes one.
    async fn handle_command(&mut self, event: ServerEvent) {
        let handler = Arc::clone(&self.shared.handler);
        match event {
            ServerEvent::HandshakeComplete { .. } => handler.on_handshake_complete(&self.ctx).await,
            ServerEvent::ConnectRequested { request, mut params } => {
                match super::auth::authenticate(&self.shared, &self.ctx, &mut params).await {
                    Ok(user) => self.ctx.user = user,
                    Err(description) => {
                        let _ = self.session.reject(request, &description);
                        self.ending = Some(DisconnectReason::Rejected(description));
                        return;
                    }
                }
                let params = Arc::new(params);
                self.ctx.connect = Some(Arc::clone(&params));
                match handler.on_connect(&self.ctx, &params).await {
                    Decision::Accept | Decision::AcceptWith(_) | Decision::AcceptPublish(_) => {
                        let _ = self.session.accept(request);
                    }
                    Decision::Reject(reason) => {
                        let _ = self.session.reject(request, &reason);
                        self.ending = Some(DisconnectReason::Rejected(reason));
                    }
                }
            }
            ServerEvent::FcPublish { name } => handler.on_fc_publish(&self.ctx, &name).await,
            ServerEvent::PublishRequested { request, stream_id, app, name, publish_type } => {
                let key = StreamKey::new(app, name.name.clone());
                let params = PublishParams { key, stream_name: name, publish_type, stream_id };
                self.decide_publish(request, params).await;
            }
            ServerEvent::PlayRequested { request, stream_id, app, name, start, duration, reset } => {
                let key = StreamKey::new(app, name.name.clone());
                let params = PlayParams { key, stream_name: name, start, duration, reset, stream_id };
                self.decide_play(request, params).await;
            }
            ServerEvent::PublishFinished { stream_id, .. } => {
                self.stop_publishing(Some(stream_id), false).await;
            }
            ServerEvent::PlayFinished { stream_id, .. } => self.stop_playing(Some(stream_id)).await,
            ServerEvent::Paused { stream_id, paused, .. } => {
                if let Some(p) = self.playing.iter().find(|p| p.stream_id == stream_id) {
                    p.player.queue.set_paused(paused);
                    let key = p.stream.key.clone();
                    if paused {
                        handler.on_pause(&self.ctx, &key).await;
                    } else {
                        handler.on_unpause(&self.ctx, &key).await;
                    }
                }
            }
            ServerEvent::MediaSelection { stream_id, audio, video } => {
                if let Some(p) = self.playing.iter().find(|p| p.stream_id == stream_id) {
                    p.player.queue.select(audio, video);
                }
            }
            ServerEvent::Timeout(TimeoutKind::Connect) => {
                self.ending = Some(DisconnectReason::Timeout("connection"));
            }
            ServerEvent::Timeout(TimeoutKind::Idle) => self.ending = Some(DisconnectReason::Timeout("idle")),
            // The session told the player (StreamNotFound) and ended its play.
            ServerEvent::Timeout(TimeoutKind::PlayWait { stream_id }) => {
                self.stop_playing(Some(stream_id)).await;
            }
            _ => {}
        }
    }

    /// Hooks and fan-out for one audio or video message of a publisher.
    fn on_media(&mut self, stream_id: u32, kind: MediaKind, timestamp: u32, payload: Bytes) {
        let Some(p) = self.publishing.iter().find(|p| p.stream_id == stream_id) else { return };
        let handler = &self.shared.handler;
        let key = &p.stream.key;
        if !handler.on_media_tag(&self.ctx, &MediaTag { key, kind, timestamp, payload: &payload }) {
            return;
        }
        // The tag is parsed and the message classified here, once: the hooks, the cache, the
        // fan-out and the players' drop policies all go by this class.
        let message = if kind == MediaKind::Video {
            let tag = VideoTag::parse(&payload).ok();
            let message = PublishedMessage::video(timestamp, payload, tag.as_ref());
            if let Some(tag) = &tag {
                let frame = VideoFrame { key, timestamp, tag, payload: &message.payload };
                handler.on_video_frame(&self.ctx, &frame);
                if message.class.is_keyframe() {
                    handler.on_keyframe(&self.ctx, &frame);
                }
            }
            message
        } else {
            let tag = AudioTag::parse(&payload).ok();
            let message = PublishedMessage::audio(timestamp, payload, tag.as_ref());
            if let Some(tag) = &tag {
                let frame = AudioFrame { key, timestamp, tag, payload: &message.payload };
                handler.on_audio_frame(&self.ctx, &frame);
            }
            message
        };
        let stream = Arc::clone(&p.stream);
        self.publish(stream, message);
    }

    /// Adds a message to the batch of this read: players get a read's messages in one write.
    fn publish(&mut self, stream: Arc<Stream>, message: PublishedMessage) {
        if !self.media_stream.as_ref().is_some_and(|current| Arc::ptr_eq(current, &stream)) {
            self.flush_media();
            self.media_stream = Some(stream);
        }
        self.media.push(message);
    }

    /// Fans the batch out; what is written into players' sockets counts in the server's bytes out.
    fn flush_media(&mut self) {
        let Some(stream) = self.media_stream.take() else { return };
        let sent = stream.publish(self.ctx.session_id, &mut self.media);
        if sent > 0 {
            self.shared.counters.bytes_out.fetch_add(sent, Ordering::Relaxed);
        }
    }

    async fn flush_session<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> Result<(), DisconnectReason> {
        let mut batch = Vec::new();
        while let Some(bytes) = self.session.poll_transmit() {
            batch.push(bytes);
        }
        self.output.write(writer, batch, &self.shared.counters.bytes_out).await
    }

    /// Releases everything the connection held and reports its end.
    async fn finish(&mut self, reason: DisconnectReason) {
        // A publisher that vanished, as a network failure looks, may reconnect; one that was
        // replaced or stopped by the server will not.
        let vanished = matches!(
            reason,
            DisconnectReason::ClientClosed
                | DisconnectReason::Timeout(_)
                | DisconnectReason::Protocol(_)
                | DisconnectReason::Io(_)
        );
        self.stop_publishing(None, vanished).await;
        self.stop_playing(None).await;
        let bytes_in = self.session.bytes_received();
        tracing::info!(
            session = self.ctx.session_id,
            peer = %self.ctx.peer_addr,
            bytes_in,
            bytes_out = self.output.bytes_out(),
            %reason,
            "disconnect"
        );
        self.shared.handler.on_disconnect(&self.ctx, &reason).await;
    }
}

/// A session for a new connection. Not inlined into `serve`, so the random bytes do not stay in
/// every connection's future.
fn new_session<H: RtmpHandler>(shared: &Shared<H>) -> ServerSession {
    let mut random = [0u8; 1528];
    // Without OS randomness the handshake still works; the bytes only need to be unpredictable.
    let _ = getrandom::fill(&mut random);
    let epoch_ms = shared.started.elapsed().as_millis() as u32;
    let config = &shared.config;
    // A connection must answer `connect` within the connection timeout, then read within the
    // idle timeout; it is pinged every third of that (so that an idle timeout is noticed within
    // a third more), a waiting player waits for a publisher up to the play wait timeout.
    let timers = Timers {
        connect_timeout: Some(config.connection_timeout),
        idle_timeout: Some(config.idle_timeout),
        ping_interval: Some((config.idle_timeout / 3).max(Duration::from_millis(100))),
        play_wait_timeout: config.play_wait_timeout,
    };
    ServerSession::new(Arc::clone(&shared.session_config), epoch_ms, &random)
        .with_timers(timers, Instant::now().into_std())
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
