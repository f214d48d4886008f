//! Clients driven by the layer: a player whose events are pumped into a channel (pull them with
//! a timeout, from any thread), and a publisher with blocking and async sends.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::client::{ClientConfig, ClientError, PlayerEvent, RtmpPlayer, RtmpPublisher};
use rtmp_core::flv::FlvTag;
use rtmp_core::proto::message::type_id;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::EmbedError;
use super::frame::{Frame, FrameKind};
use super::runtime::Runtime;

/// Client settings: the core config plus the runtime size.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The core client configuration.
    pub config: ClientConfig,
    /// Runtime worker threads, when the client makes its own runtime. Default 1.
    pub worker_threads: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self { config: ClientConfig::default(), worker_threads: 1 }
    }
}

/// What a player receives, owned.
#[derive(Debug, Clone)]
pub enum PlayerItem {
    /// Audio, video, data or metadata.
    Frame(Arc<Frame>),
    /// The stream (re)started.
    StreamBegin,
    /// The publisher stopped; more may follow on republish.
    StreamEnd,
    /// Another status from the server.
    Status {
        /// "status", "warning" or "error".
        level: String,
        /// The code.
        code: String,
        /// The description.
        description: String,
    },
    /// The connection dropped and was re-established.
    Reconnected,
}

impl PlayerItem {
    fn from_event(event: PlayerEvent) -> Self {
        match event {
            PlayerEvent::Metadata { timestamp, metadata } => {
                Self::Frame(Arc::new(Frame::from_metadata(None, timestamp, &metadata)))
            }
            PlayerEvent::Video { timestamp, payload, .. } => {
                Self::Frame(Arc::new(Frame::new(FrameKind::Video, timestamp, payload)))
            }
            PlayerEvent::Audio { timestamp, payload, .. } => {
                Self::Frame(Arc::new(Frame::new(FrameKind::Audio, timestamp, payload)))
            }
            PlayerEvent::Data { timestamp, data } => Self::Frame(Arc::new(Frame::from_data(timestamp, data))),
            PlayerEvent::StreamBegin => Self::StreamBegin,
            PlayerEvent::StreamEnd => Self::StreamEnd,
            PlayerEvent::Status { level, code, description } => Self::Status { level, code, description },
            PlayerEvent::Reconnected => Self::Reconnected,
        }
    }
}

/// The outcome of waiting for a player event.
#[derive(Debug)]
pub enum Received {
    /// An event.
    Item(PlayerItem),
    /// Nothing arrived in time.
    Timeout,
    /// The connection ended (closed, or the server ended it); nothing more will come.
    Closed,
}

enum PlayerCommand {
    Pause { paused: bool, position_ms: f64, reply: oneshot::Sender<Result<(), ClientError>> },
}

/// A playing connection. Events are read ahead by a task into a bounded queue
/// (`ClientConfig::event_buffer`): a consumer that does not read slows the socket, not memory.
pub struct EmbeddedPlayer {
    runtime: Runtime,
    events: tokio::sync::Mutex<mpsc::Receiver<Result<PlayerItem, ClientError>>>,
    commands: mpsc::UnboundedSender<PlayerCommand>,
    closing: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for EmbeddedPlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedPlayer").finish_non_exhaustive()
    }
}

impl EmbeddedPlayer {
    /// Connects and starts playing (blocking until Play.Start), with a runtime of its own.
    pub fn connect(url: &str, options: ClientOptions) -> Result<Self, EmbedError> {
        let runtime = Runtime::new(options.worker_threads)?;
        let config = options.config;
        let connect = RtmpPlayer::connect(url, config.clone());
        let player = runtime.block_on("connecting a player", connect)??;
        Ok(Self::spawn(runtime, player, config.event_buffer))
    }

    /// Connects and starts playing from async code, on a shared runtime.
    pub async fn connect_async(
        runtime: Runtime,
        url: &str,
        config: ClientConfig,
    ) -> Result<Self, EmbedError> {
        let buffer = config.event_buffer;
        let player = RtmpPlayer::connect(url, config).await?;
        Ok(Self::spawn(runtime, player, buffer))
    }

    fn spawn(runtime: Runtime, player: RtmpPlayer, buffer: usize) -> Self {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (closing, closing_rx) = watch::channel(false);
        let task = runtime.handle().spawn(pump(player, tx, commands_rx, closing_rx));
        Self { runtime, events: tokio::sync::Mutex::new(rx), commands, closing, task: Mutex::new(Some(task)) }
    }

    /// Waits up to `timeout` (`None`: forever) for the next event.
    pub fn next(&self, timeout: Option<Duration>) -> Result<Received, EmbedError> {
        self.runtime.block_on("reading a player", self.next_timeout(timeout))?
    }

    /// The next event from async code; `Ok(None)` once closed.
    pub async fn next_async(&self) -> Result<Option<PlayerItem>, EmbedError> {
        match self.events.lock().await.recv().await {
            Some(Ok(item)) => Ok(Some(item)),
            Some(Err(e)) => Err(EmbedError::Client(e)),
            None => Ok(None),
        }
    }

    async fn next_timeout(&self, timeout: Option<Duration>) -> Result<Received, EmbedError> {
        let next = self.next_async();
        let item = match timeout {
            Some(t) => match tokio::time::timeout(t, next).await {
                Ok(item) => item?,
                Err(_) => return Ok(Received::Timeout),
            },
            None => next.await?,
        };
        Ok(item.map_or(Received::Closed, Received::Item))
    }

    /// Pauses or resumes the stream.
    pub fn pause(&self, paused: bool, position_ms: f64) -> Result<(), EmbedError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(PlayerCommand::Pause { paused, position_ms, reply })
            .map_err(|_| EmbedError::Client(ClientError::Closed))?;
        match self.runtime.block_on("pausing a player", answer)? {
            Ok(result) => result.map_err(EmbedError::Client),
            Err(_) => Err(EmbedError::Client(ClientError::Closed)),
        }
    }

    /// Stops playing (deleteStream) and closes the connection; waits up to 5 s for the goodbye.
    /// Events already queued can still be read. Idempotent.
    pub fn close(&self) -> Result<(), EmbedError> {
        self.closing.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            // The timer must be made inside the runtime: build it in the async block.
            let wait = async move { tokio::time::timeout(Duration::from_secs(5), task).await };
            let _ = self.runtime.block_on("closing a player", wait)?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPlayer {
    fn drop(&mut self) {
        self.closing.send_replace(true);
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let wait = async move { tokio::time::timeout(Duration::from_secs(5), task).await };
            if self.runtime.block_on("closing a player", wait).is_err() {
                // Inside a non-blocking callback: the runtime's shutdown ends the task.
            }
        }
    }
}

async fn pump(
    mut player: RtmpPlayer,
    events: mpsc::Sender<Result<PlayerItem, ClientError>>,
    mut commands: mpsc::UnboundedReceiver<PlayerCommand>,
    mut closing: watch::Receiver<bool>,
) {
    loop {
        let item = tokio::select! {
            biased;
            _ = super::runtime::until_true(&mut closing) => break,
            Some(command) = commands.recv() => {
                let PlayerCommand::Pause { paused, position_ms, reply } = command;
                let _ = reply.send(player.pause(paused, position_ms).await);
                continue;
            }
            event = player.next_event() => match event {
                Ok(Some(event)) => Ok(PlayerItem::from_event(event)),
                Ok(None) => return,
                Err(e) => Err(e),
            },
        };
        let last = item.is_err();
        tokio::select! {
            biased;
            _ = super::runtime::until_true(&mut closing) => break,
            sent = events.send(item) => if sent.is_err() || last { return },
        }
    }
    player.close().await;
}

/// A publishing connection. Sends wait while the connection's queue is full (TCP backpressure).
pub struct EmbeddedPublisher {
    runtime: Runtime,
    publisher: tokio::sync::Mutex<Option<RtmpPublisher>>,
}

impl std::fmt::Debug for EmbeddedPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedPublisher").finish_non_exhaustive()
    }
}

impl EmbeddedPublisher {
    /// Connects and starts publishing (blocking until Publish.Start), with a runtime of its own.
    pub fn connect(url: &str, options: ClientOptions) -> Result<Self, EmbedError> {
        let runtime = Runtime::new(options.worker_threads)?;
        let connect = RtmpPublisher::connect(url, options.config);
        let publisher = runtime.block_on("connecting a publisher", connect)??;
        Ok(Self { runtime, publisher: tokio::sync::Mutex::new(Some(publisher)) })
    }

    /// Connects from async code, on a shared runtime.
    pub async fn connect_async(
        runtime: Runtime,
        url: &str,
        config: ClientConfig,
    ) -> Result<Self, EmbedError> {
        let publisher = RtmpPublisher::connect(url, config).await?;
        Ok(Self { runtime, publisher: tokio::sync::Mutex::new(Some(publisher)) })
    }

    /// Sends an FLV video tag body.
    pub fn send_video(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.send_tag(type_id::VIDEO, timestamp, payload)
    }

    /// Sends an FLV audio tag body.
    pub fn send_audio(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.send_tag(type_id::AUDIO, timestamp, payload)
    }

    /// Sends an AMF0 data message (an FLV script tag body); `onMetaData`, with or without
    /// `@setDataFrame`, is sent as metadata.
    pub fn send_data(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.send_tag(type_id::DATA_AMF0, timestamp, payload)
    }

    /// Sends a frame of any kind (relaying what a player received).
    pub fn send_frame(&self, frame: &Frame) -> Result<(), EmbedError> {
        self.send_tag(frame.flv_tag_type(), frame.timestamp(), frame.payload().clone())
    }

    fn send_tag(&self, tag_type: u8, timestamp: u32, data: Bytes) -> Result<(), EmbedError> {
        let tag = FlvTag { tag_type, timestamp, data };
        self.runtime.block_on("sending", self.send_tag_async(&tag))?
    }

    /// Sends one FLV tag from async code.
    pub async fn send_tag_async(&self, tag: &FlvTag) -> Result<(), EmbedError> {
        let mut publisher = self.publisher.lock().await;
        let publisher = publisher.as_mut().ok_or(EmbedError::Client(ClientError::Closed))?;
        Ok(publisher.send_tag(tag).await?)
    }

    /// Publishes an FLV file at real-time pace; returns the number of tags sent.
    pub fn publish_flv(&self, path: &Path, repeat: bool) -> Result<u64, EmbedError> {
        self.runtime.block_on("publishing a file", async {
            let mut publisher = self.publisher.lock().await;
            let publisher = publisher.as_mut().ok_or(EmbedError::Client(ClientError::Closed))?;
            Ok(publisher.publish_flv(path, repeat).await?)
        })?
    }

    /// Unpublishes and closes the connection. Idempotent.
    pub fn close(&self) -> Result<(), EmbedError> {
        self.runtime.block_on("closing a publisher", self.close_async())?
    }

    /// Unpublishes and closes from async code.
    pub async fn close_async(&self) -> Result<(), EmbedError> {
        if let Some(publisher) = self.publisher.lock().await.take() {
            publisher.close().await?;
        }
        Ok(())
    }
}
