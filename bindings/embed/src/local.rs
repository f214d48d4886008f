//! A server's streams in-process, for the skins: a subscription read from any thread (with a
//! timeout) or from async code, and a local publisher whose sends never wait. Over
//! [`rtmp_core::server::Subscription`] and [`rtmp_core::server::LocalPublisher`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::proto::amf::AmfObject;
use rtmp_core::server::{
    LocalPublisher, MediaFrame, PublishError, StreamEvent, StreamKey, SubscribeError, SubscribeOptions,
    Subscription, SubscriptionCloser, SubscriptionItem,
};

use super::EmbedError;
use super::frame::{Frame, FrameKind};
use super::runtime::Runtime;
use super::server::EmbeddedServer;

/// A stream key from its `"app/name"` text: the app is what comes before the first `/`.
pub fn parse_stream_key(key: &str) -> Result<StreamKey, EmbedError> {
    match key.split_once('/') {
        Some((app, name)) if !app.is_empty() && !name.is_empty() => Ok(StreamKey::new(app, name)),
        _ => Err(EmbedError::InvalidArgument(format!("stream key {key:?} is not \"app/name\""))),
    }
}

/// What a subscription yields, owned: frames carry the stream's key.
#[derive(Debug, Clone)]
pub enum LocalItem {
    /// Audio, video, data or metadata, the payload shared with the publisher.
    Frame(Arc<Frame>),
    /// The publisher stopped; more may follow on republish.
    Unpublished,
    /// A publisher (re)started.
    Published,
    /// Frames were dropped since the last item because the reader fell behind.
    Dropped {
        /// Video frames dropped.
        video: u64,
        /// Audio and data messages dropped.
        audio: u64,
    },
}

/// The outcome of waiting for a subscription's next item.
#[derive(Debug)]
pub enum LocalReceived {
    /// An item.
    Item(LocalItem),
    /// Nothing arrived in time.
    Timeout,
    /// Closed, or the server stopped: nothing more will come.
    Closed,
}

/// A subscription for a skin. Its items are read by one reader at a time; `close` and drop may
/// come from any thread.
pub struct EmbeddedSubscription {
    runtime: Runtime,
    key: StreamKey,
    inner: tokio::sync::Mutex<Subscription>,
    /// Closes without the reader's lock.
    closer: SubscriptionCloser,
}

impl std::fmt::Debug for EmbeddedSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedSubscription").field("key", &self.key).finish_non_exhaustive()
    }
}

impl EmbeddedSubscription {
    /// Subscribes to `key` of `server`, blocking while `options.wait` allows the stream to be
    /// published.
    pub fn subscribe(
        server: &EmbeddedServer,
        key: &str,
        options: SubscribeOptions,
    ) -> Result<Self, EmbedError> {
        let key = parse_stream_key(key)?;
        let handle = server.handle();
        let subscribe = async { handle.subscribe(&key, options).await };
        let subscription = server.runtime().block_on("subscribing", subscribe)??;
        Ok(Self::wrap(server.runtime().clone(), subscription))
    }

    /// [`subscribe`](Self::subscribe) from async code.
    pub async fn subscribe_async(
        server: &EmbeddedServer,
        key: &str,
        options: SubscribeOptions,
    ) -> Result<Self, EmbedError> {
        let key = parse_stream_key(key)?;
        let subscription = server.handle().subscribe(&key, options).await?;
        Ok(Self::wrap(server.runtime().clone(), subscription))
    }

    fn wrap(runtime: Runtime, subscription: Subscription) -> Self {
        let key = subscription.key().clone();
        let closer = subscription.closer();
        Self { runtime, key, inner: tokio::sync::Mutex::new(subscription), closer }
    }

    /// The stream's key.
    pub fn key(&self) -> &StreamKey {
        &self.key
    }

    fn item(&self, item: SubscriptionItem) -> LocalItem {
        match item {
            SubscriptionItem::Frame(frame) => LocalItem::Frame(Arc::new(Frame::from_local(&self.key, frame))),
            SubscriptionItem::Event(StreamEvent::Unpublished) => LocalItem::Unpublished,
            SubscriptionItem::Event(StreamEvent::Published) => LocalItem::Published,
            SubscriptionItem::Event(StreamEvent::Dropped { video, audio }) => {
                LocalItem::Dropped { video, audio }
            }
        }
    }

    /// The next item if one is queued (`Ok(None)` otherwise), without waiting or blocking;
    /// `Closed` once closed.
    pub fn try_next(&self) -> LocalReceived {
        let Ok(mut subscription) = self.inner.try_lock() else { return LocalReceived::Timeout };
        if subscription.is_closed() {
            return LocalReceived::Closed;
        }
        match subscription.try_next() {
            Some(item) => LocalReceived::Item(self.item(item)),
            None => LocalReceived::Timeout,
        }
    }

    /// Waits up to `timeout` (`None`: until closed) for the next item, from synchronous code.
    /// A queued item is taken without entering the runtime.
    pub fn next(&self, timeout: Option<Duration>) -> Result<LocalReceived, EmbedError> {
        match self.try_next() {
            LocalReceived::Timeout => {}
            done => return Ok(done),
        }
        if timeout == Some(Duration::ZERO) {
            return Ok(LocalReceived::Timeout);
        }
        self.runtime.block_on("reading a subscription", self.next_timeout(timeout))
    }

    async fn next_timeout(&self, timeout: Option<Duration>) -> LocalReceived {
        let next = self.next_async();
        match timeout {
            Some(t) => tokio::time::timeout(t, next).await.unwrap_or(LocalReceived::Timeout),
            None => next.await,
        }
    }

    /// The next item from async code; `Closed` once closed or when the server stops.
    pub async fn next_async(&self) -> LocalReceived {
        let mut subscription = self.inner.lock().await;
        match subscription.next().await {
            Some(item) => LocalReceived::Item(self.item(item)),
            None => LocalReceived::Closed,
        }
    }

    /// Leaves the stream, from any thread. Idempotent; a reader waiting in `next` gets
    /// `Closed`.
    pub fn close(&self) {
        self.closer.close();
    }
}

impl Frame {
    /// A frame of a local subscription of `key`.
    pub fn from_local(key: &StreamKey, frame: MediaFrame) -> Self {
        use rtmp_core::server::FrameKind as Core;
        let kind = match frame.kind {
            Core::Audio => FrameKind::Audio,
            Core::Video => FrameKind::Video,
            Core::Metadata => FrameKind::Metadata,
            Core::Data => FrameKind::Data,
        };
        let mut out = Self::new(kind, frame.timestamp, frame.payload);
        out.set_key(key);
        out
    }
}

/// A local publisher for a skin: sends from any thread, never waiting.
#[derive(Debug)]
pub struct EmbeddedLocalPublisher {
    key: StreamKey,
    inner: Mutex<LocalPublisher>,
}

impl EmbeddedLocalPublisher {
    /// Publishes `key` on `server` (refused or taking over as its publisher policy says).
    pub fn publish(server: &EmbeddedServer, key: &str) -> Result<Self, EmbedError> {
        let key = parse_stream_key(key)?;
        let publisher = server.handle().publish(&key)?;
        Ok(Self { key, inner: Mutex::new(publisher) })
    }

    /// The stream's key.
    pub fn key(&self) -> &StreamKey {
        &self.key
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut LocalPublisher) -> Result<R, PublishError>,
    ) -> Result<R, EmbedError> {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner())).map_err(EmbedError::Publish)
    }

    /// Sends an FLV video tag body.
    pub fn send_video(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.with(|p| p.send_video(timestamp, payload))
    }

    /// Sends an FLV audio tag body.
    pub fn send_audio(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.with(|p| p.send_audio(timestamp, payload))
    }

    /// Sends `onMetaData`.
    pub fn send_metadata(&self, timestamp: u32, metadata: AmfObject) -> Result<(), EmbedError> {
        self.with(|p| p.send_metadata(timestamp, metadata))
    }

    /// Sends an AMF0 data message as encoded.
    pub fn send_data(&self, timestamp: u32, payload: Bytes) -> Result<(), EmbedError> {
        self.with(|p| p.send_data(timestamp, payload))
    }

    /// Re-publishes a frame (from a subscription or a player) without a copy.
    pub fn send_frame(&self, frame: &Frame) -> Result<(), EmbedError> {
        let payload = frame.payload().clone();
        let timestamp = frame.timestamp();
        match frame.kind() {
            FrameKind::Video => self.send_video(timestamp, payload),
            FrameKind::Audio => self.send_audio(timestamp, payload),
            FrameKind::Metadata | FrameKind::Data => self.send_data(timestamp, payload),
        }
    }

    /// Whether it still publishes (not closed, not taken over).
    pub fn is_publishing(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_publishing()
    }

    /// Unpublishes. Idempotent.
    pub fn close(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).close();
    }
}

impl From<SubscribeError> for EmbedError {
    fn from(e: SubscribeError) -> Self {
        Self::Subscribe(e)
    }
}

impl From<PublishError> for EmbedError {
    fn from(e: PublishError) -> Self {
        Self::Publish(e)
    }
}
