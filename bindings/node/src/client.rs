//! `Player` (an async iterator of frames) and `Publisher`.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::{AsyncGenerator, Buffer, PromiseRaw, Unknown};
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use rtmp_core::flv::FlvTag;
use rtmp_core::proto::message::type_id;
use rtmp_embed::{EmbeddedPlayer, EmbeddedPublisher, Frame as EmbedFrame, PlayerItem};

use crate::error::{RtmpError, code, promise};
use crate::frame::{Frame, js_object_to_amf};
use crate::options::ClientOptions;
use crate::server::shared_runtime;

/// Runs `future` on the shared runtime (where client connections live) and waits for it.
async fn on_runtime<T: Send + 'static>(
    future: impl Future<Output = std::result::Result<T, RtmpError>> + Send + 'static,
) -> std::result::Result<T, RtmpError> {
    let runtime = shared_runtime()?;
    runtime.handle().spawn(future).await.map_err(|_| RtmpError::new(code::INTERNAL, "a task panicked"))?
}

/// Runs a blocking call of the layer off the JS thread and off the runtime workers.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> std::result::Result<T, RtmpError> + Send + 'static,
) -> std::result::Result<T, RtmpError> {
    tokio::task::spawn_blocking(call).await.map_err(|_| RtmpError::new(code::INTERNAL, "a task panicked"))?
}

/// Drops the last reference to a client off the JS thread: closing waits for the goodbye.
struct Detached<T: Send + Sync + 'static>(Option<Arc<T>>);

impl<T: Send + Sync + 'static> Detached<T> {
    fn get(&self) -> Arc<T> {
        Arc::clone(self.0.as_ref().expect("present until drop"))
    }
}

impl<T: Send + Sync + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take()
            && Arc::strong_count(&inner) == 1
        {
            let _ = std::thread::Builder::new().name("rtmp-rs-close".into()).spawn(move || drop(inner));
        }
    }
}

/// What `Player.read()` returns besides frames.
#[napi(string_enum = "camelCase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerEventType {
    /// Audio, video, data or metadata: see `frame`.
    Frame,
    /// The stream (re)started.
    StreamBegin,
    /// The publisher stopped; more may follow when it publishes again.
    StreamEnd,
    /// Another status from the server: see `level`, `code`, `description`.
    Status,
    /// The connection dropped and was re-established (with `reconnect`).
    Reconnected,
}

/// One thing a player received.
#[napi(object, object_from_js = false)]
pub struct PlayerEvent {
    /// What it is.
    #[napi(js_name = "type")]
    pub kind: PlayerEventType,
    /// The frame, for `type: 'frame'`.
    pub frame: Option<Frame>,
    /// Status level (`status`, `warning`, `error`), for `type: 'status'`.
    pub level: Option<String>,
    /// Status code (`NetStream.Play.Reset`, …), for `type: 'status'`.
    pub code: Option<String>,
    /// Status description, for `type: 'status'`.
    pub description: Option<String>,
}

impl From<PlayerItem> for PlayerEvent {
    fn from(item: PlayerItem) -> Self {
        let mut event =
            Self { kind: PlayerEventType::Frame, frame: None, level: None, code: None, description: None };
        match item {
            PlayerItem::Frame(frame) => event.frame = Some(Frame::new(frame)),
            PlayerItem::StreamBegin => event.kind = PlayerEventType::StreamBegin,
            PlayerItem::StreamEnd => event.kind = PlayerEventType::StreamEnd,
            PlayerItem::Status { level, code, description } => {
                event.kind = PlayerEventType::Status;
                event.level = Some(level);
                event.code = Some(code);
                event.description = Some(description);
            }
            PlayerItem::Reconnected => event.kind = PlayerEventType::Reconnected,
        }
        event
    }
}

/// Plays a stream. `for await (const frame of player)` yields its frames until the publisher
/// stops or the connection ends (breaking out of the loop closes the player); `read()` gives
/// every event, status changes included.
#[napi(async_iterator)]
pub struct Player {
    inner: Detached<EmbeddedPlayer>,
}

#[napi]
impl Player {
    /// Connects to `rtmp://host[:port]/app/stream` (or `rtmps://`) and starts playing; resolves
    /// once the server answered `Play.Start`. Rejects with `ERR_RTMP_REJECTED` (and the
    /// server's `status`), `ERR_RTMP_TIMEOUT`, `ERR_RTMP_IO`, `ERR_RTMP_BAD_URL`, ….
    #[napi(catch_unwind, ts_return_type = "Promise<Player>")]
    pub fn connect<'env>(
        env: &'env Env,
        url: String,
        options: Option<ClientOptions>,
    ) -> Result<PromiseRaw<'env, Player>> {
        let options = options.unwrap_or_default().to_embed();
        promise(
            env,
            async move {
                let config = options?.config;
                let runtime = shared_runtime()?;
                let player =
                    on_runtime(
                        async move { Ok(EmbeddedPlayer::connect_async(runtime, &url, config).await?) },
                    )
                    .await?;
                Ok(Player { inner: Detached(Some(Arc::new(player))) })
            },
            |_, player| Ok(player),
        )
    }

    /// The next event, or null once the connection ended.
    #[napi(catch_unwind, ts_return_type = "Promise<PlayerEvent | null>")]
    pub fn read<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<PlayerEvent>>> {
        let inner = self.inner.get();
        promise(env, async move { Ok(inner.next_async().await?) }, |_, item| Ok(item.map(PlayerEvent::from)))
    }

    /// Pauses (true) or resumes (false) the stream; `positionMs` is sent along (default 0).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn pause<'env>(
        &self,
        env: &'env Env,
        paused: bool,
        position_ms: Option<f64>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.get();
        let position = position_ms.unwrap_or(0.0);
        promise(env, blocking(move || Ok(inner.pause(paused, position)?)), |_, ()| Ok(()))
    }

    /// Stops playing and closes the connection (waits up to 5 s for the goodbye). Events
    /// already received can still be read. Idempotent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.get();
        promise(env, blocking(move || Ok(inner.close()?)), |_, ()| Ok(()))
    }
}

#[napi]
impl AsyncGenerator for Player {
    type Yield = Frame;
    type Next = ();
    type Return = ();

    fn next(&mut self, _value: Option<()>) -> impl Future<Output = Result<Option<Frame>>> + Send + 'static {
        let inner = self.inner.get();
        async move {
            loop {
                match inner.next_async().await {
                    Ok(Some(PlayerItem::Frame(frame))) => return Ok(Some(Frame::new(frame))),
                    Ok(Some(PlayerItem::StreamEnd) | None) => return Ok(None),
                    Ok(Some(_)) => {}
                    Err(e) => return Err(napi::Error::from_reason(e.to_string())),
                }
            }
        }
    }

    fn complete(
        &mut self,
        _value: Option<()>,
    ) -> impl Future<Output = Result<Option<Frame>>> + Send + 'static {
        let inner = self.inner.get();
        async move {
            let _ = blocking(move || Ok(inner.close()?)).await;
            Ok(None)
        }
    }
}

/// Publishes a stream: FLV tag bodies from JS Buffers (copied), frames from a `Player` (not
/// copied), metadata objects, or a whole FLV file. Sends wait while the connection's queue is
/// full (TCP backpressure).
#[napi]
pub struct Publisher {
    inner: Detached<EmbeddedPublisher>,
}

fn timestamp(value: f64) -> std::result::Result<u32, RtmpError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX) {
        Ok(value as u32)
    } else {
        Err(RtmpError::invalid(format!(
            "timestamp must be an integer number of ms from 0 to 2^32-1, not {value}"
        )))
    }
}

impl Publisher {
    fn send<'env>(&self, env: &'env Env, tag_type: u8, ts: f64, data: Bytes) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.get();
        let ts = timestamp(ts);
        promise(
            env,
            async move {
                let tag = FlvTag { tag_type, timestamp: ts?, data };
                Ok(inner.send_tag_async(&tag).await?)
            },
            |_, ()| Ok(()),
        )
    }
}

#[napi]
impl Publisher {
    /// Connects to `rtmp://host[:port]/app/stream[?query]` (or `rtmps://`) and starts
    /// publishing; resolves once the server answered `Publish.Start`.
    #[napi(catch_unwind, ts_return_type = "Promise<Publisher>")]
    pub fn connect<'env>(
        env: &'env Env,
        url: String,
        options: Option<ClientOptions>,
    ) -> Result<PromiseRaw<'env, Publisher>> {
        let options = options.unwrap_or_default().to_embed();
        promise(
            env,
            async move {
                let config = options?.config;
                let runtime = shared_runtime()?;
                let publisher =
                    on_runtime(
                        async move { Ok(EmbeddedPublisher::connect_async(runtime, &url, config).await?) },
                    )
                    .await?;
                Ok(Publisher { inner: Detached(Some(Arc::new(publisher))) })
            },
            |_, publisher| Ok(publisher),
        )
    }

    /// Sends an FLV video tag body at `timestamp` ms (the Buffer is copied).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn send_video<'env>(
        &self,
        env: &'env Env,
        timestamp: f64,
        payload: Buffer,
    ) -> Result<PromiseRaw<'env, ()>> {
        self.send(env, type_id::VIDEO, timestamp, Bytes::copy_from_slice(&payload))
    }

    /// Sends an FLV audio tag body at `timestamp` ms (the Buffer is copied).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn send_audio<'env>(
        &self,
        env: &'env Env,
        timestamp: f64,
        payload: Buffer,
    ) -> Result<PromiseRaw<'env, ()>> {
        self.send(env, type_id::AUDIO, timestamp, Bytes::copy_from_slice(&payload))
    }

    /// Sends an AMF0 data message (an FLV script tag body) at `timestamp` ms; `onMetaData`,
    /// with or without `@setDataFrame`, is sent as metadata.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn send_data<'env>(
        &self,
        env: &'env Env,
        timestamp: f64,
        payload: Buffer,
    ) -> Result<PromiseRaw<'env, ()>> {
        self.send(env, type_id::DATA_AMF0, timestamp, Bytes::copy_from_slice(&payload))
    }

    /// Sends `onMetaData` with the properties of `metadata` (numbers, strings, booleans, …).
    #[napi(
        catch_unwind,
        ts_args_type = "metadata: Record<string, unknown>",
        ts_return_type = "Promise<void>"
    )]
    pub fn send_metadata<'env>(&self, env: &'env Env, metadata: Unknown<'_>) -> Result<PromiseRaw<'env, ()>> {
        let object = js_object_to_amf(env.raw(), metadata.raw(), 0).map_err(|e| e.into_napi(env))?;
        let frame = EmbedFrame::from_metadata(None, 0, &object);
        self.send(env, type_id::DATA_AMF0, 0.0, frame.payload().clone())
    }

    /// Sends a frame a `Player` (or a hook) received, without copying its payload: a relay.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn send_frame<'env>(&self, env: &'env Env, frame: &Frame) -> Result<PromiseRaw<'env, ()>> {
        let (tag_type, timestamp) = (frame.inner.flv_tag_type(), f64::from(frame.inner.timestamp()));
        self.send(env, tag_type, timestamp, frame.inner.payload().clone())
    }

    /// Publishes an FLV file at real-time pace (forever with `repeat`); resolves with the
    /// number of tags sent.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn publish_flv<'env>(
        &self,
        env: &'env Env,
        path: String,
        repeat: Option<bool>,
    ) -> Result<PromiseRaw<'env, f64>> {
        let inner = self.inner.get();
        let repeat = repeat.unwrap_or(false);
        promise(
            env,
            blocking(move || Ok(inner.publish_flv(std::path::Path::new(&path), repeat)?)),
            |_, tags| Ok(tags as f64),
        )
    }

    /// Unpublishes and closes the connection. Idempotent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let inner = self.inner.get();
        promise(env, async move { Ok(inner.close_async().await?) }, |_, ()| Ok(()))
    }
}
