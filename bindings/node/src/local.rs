//! Streams in-process: `server.subscribe()` gives a `Subscription` (an async iterator of frames
//! and stream events), `server.publish()` a `LocalPublisher` (sends that never wait).
//!
//! A `Subscription` implements the async iterator protocol itself rather than through napi-rs's
//! `AsyncGenerator`, so that an item already queued is handed over in an already-resolved
//! Promise, made on the JS thread (no trip through the runtime and the event loop per item).
//! Only when nothing is queued does `next()` wait on napi's runtime (`next_async`); every 256
//! items in a row it goes through the event loop once anyway, so that a fast stream cannot
//! starve timers and I/O.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue, Unknown};
use napi::{Env, JsValue, Result, sys};
use napi_derive::napi;
use rtmp_core::server::{Start, SubscribeOptions as CoreOptions};
use rtmp_embed::{EmbeddedLocalPublisher, EmbeddedSubscription, LocalItem, LocalReceived};
use tokio::sync::oneshot;

use crate::error::RtmpError;
use crate::frame::{Frame, Raw, js_object_to_amf};
use crate::js;
use crate::values::StreamKey;

/// Items handed over in a row from the queue before one `next()` goes through the event loop.
const YIELD_EVERY: u32 = 256;

/// The longest `waitMs` / `latencyBudgetMs` taken as given (100 years; `Infinity` is this).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Where a subscription starts.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeStart {
    /// As a network player that joins late: metadata, sequence headers, the cached GOP (from its
    /// keyframe), then live. The default.
    Gop,
    /// Metadata and sequence headers, then live from the next keyframe.
    Keyframe,
    /// Metadata and sequence headers, then whatever is published next, inter frames included.
    Live,
}

/// How to subscribe (`server.subscribe(key, options)`).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// Where the subscription starts: `'gop'` (default), `'keyframe'` or `'live'`.
    #[napi(ts_type = "SubscribeStart")]
    pub start: Option<String>,
    /// How long to wait for a stream that is not published yet, ms (`Infinity`: until it is, or
    /// the server closes). Default 0: reject at once with `ERR_RTMP_NOT_FOUND`.
    pub wait_ms: Option<f64>,
    /// How far (ms) the reader may fall behind live before it loses video (resuming at a
    /// keyframe); audio is kept within the queue (`playerQueueLength`). Default: the server's
    /// `playerLatencyBudgetMs`.
    pub latency_budget_ms: Option<f64>,
}

fn duration(name: &str, ms: f64, zero: bool) -> std::result::Result<Duration, RtmpError> {
    if ms.is_nan() || ms < 0.0 || (!zero && ms == 0.0) {
        let range = if zero { "0 or more" } else { "more than 0" };
        return Err(RtmpError::invalid(format!(
            "{name} must be a number of ms, {range} (or Infinity), not {ms}"
        )));
    }
    let ms = ms.min(FOREVER.as_secs_f64() * 1000.0);
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

impl SubscribeOptions {
    pub(crate) fn to_core(&self) -> std::result::Result<CoreOptions, RtmpError> {
        let start = match self.start.as_deref() {
            None | Some("gop") => Start::Gop,
            Some("keyframe") => Start::Keyframe,
            Some("live") => Start::Live,
            Some(other) => {
                return Err(RtmpError::invalid(format!(
                    "start must be 'gop', 'keyframe' or 'live', not {other:?}"
                )));
            }
        };
        let wait = match self.wait_ms {
            None => None,
            Some(ms) => Some(duration("waitMs", ms, true)?).filter(|d| !d.is_zero()),
        };
        let latency_budget = match self.latency_budget_ms {
            None => None,
            Some(ms) => Some(duration("latencyBudgetMs", ms, false)?),
        };
        Ok(CoreOptions { start, wait, latency_budget })
    }
}

/// What a `StreamEvent` tells.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEventKind {
    /// The publisher stopped; more may follow when someone publishes again.
    Unpublished,
    /// A publisher (re)started: metadata and headers follow, video from a keyframe.
    Published,
    /// Frames were dropped since the last item because the reader fell behind: see `video`
    /// and `audio`.
    Dropped,
}

/// A change of the stream, in order with its frames (a `Subscription` yields these besides
/// `Frame`s; tell them apart by `kind`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct StreamEvent {
    /// What happened.
    pub kind: StreamEventKind,
    /// `dropped`: video frames dropped (video resumes at a keyframe).
    pub video: Option<i64>,
    /// `dropped`: audio and data messages dropped (the queue was full).
    pub audio: Option<i64>,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One item as JS sees it: a `Frame` or a `StreamEvent`.
fn item_to_js(env: sys::napi_env, item: LocalItem) -> Result<js::Value> {
    let event = |kind| StreamEvent { kind, video: None, audio: None };
    let event = match item {
        LocalItem::Frame(frame) => return unsafe { Frame::to_napi_value(env, Frame::new(frame)) },
        LocalItem::Unpublished => event(StreamEventKind::Unpublished),
        LocalItem::Published => event(StreamEventKind::Published),
        LocalItem::Dropped { video, audio } => StreamEvent {
            kind: StreamEventKind::Dropped,
            video: Some(count(video)),
            audio: Some(count(audio)),
        },
    };
    unsafe { StreamEvent::to_napi_value(env, event) }
}

/// `{ value, done }`.
fn iterator_result(env: sys::napi_env, value: Option<js::Value>) -> Result<js::Value> {
    let mut object = ptr::null_mut();
    let status = unsafe { sys::napi_create_object(env, &mut object) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(napi::Status::from(status), "napi_create_object failed"));
    }
    let done = value.is_none();
    js::set(
        env,
        object,
        "value",
        match value {
            Some(value) => value,
            None => js::undefined(env)?,
        },
    )?;
    js::set(env, object, "done", unsafe { bool::to_napi_value(env, done)? })?;
    Ok(object)
}

fn received_to_js(env: sys::napi_env, received: LocalReceived) -> Result<js::Value> {
    match received {
        LocalReceived::Item(item) => {
            let value = item_to_js(env, item)?;
            iterator_result(env, Some(value))
        }
        LocalReceived::Timeout | LocalReceived::Closed => iterator_result(env, None),
    }
}

/// A Promise already resolved with `value`.
fn resolved(env: &Env, value: js::Value) -> Result<Raw> {
    let promise = PromiseRaw::resolve(env, Raw(value))?;
    Ok(Raw(promise.raw()))
}

/// `[Symbol.asyncIterator]() { return this }`.
unsafe extern "C" fn return_this(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut this = ptr::null_mut();
    let mut argc = 0;
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            ptr::null_mut(),
            &mut this,
            ptr::null_mut::<*mut c_void>(),
        )
    };
    if status == sys::Status::napi_ok { this } else { ptr::null_mut() }
}

/// Makes `instance` async-iterable (as itself): a non-enumerable `Symbol.asyncIterator`.
fn make_async_iterable(env: sys::napi_env, instance: js::Value) -> Result<()> {
    const NAME: &str = "[Symbol.asyncIterator]";
    let mut global = ptr::null_mut();
    let mut symbol = ptr::null_mut();
    let mut key = ptr::null_mut();
    let mut function = ptr::null_mut();
    let ok = unsafe {
        sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
            && sys::napi_get_named_property(env, global, c"Symbol".as_ptr(), &mut symbol)
                == sys::Status::napi_ok
            && sys::napi_get_named_property(env, symbol, c"asyncIterator".as_ptr(), &mut key)
                == sys::Status::napi_ok
            && sys::napi_create_function(
                env,
                NAME.as_ptr().cast(),
                NAME.len() as isize,
                Some(return_this),
                ptr::null_mut(),
                &mut function,
            ) == sys::Status::napi_ok
    };
    if !ok {
        return Err(napi::Error::from_reason("cannot make the subscription async-iterable"));
    }
    let property = sys::napi_property_descriptor {
        utf8name: ptr::null(),
        name: key,
        method: None,
        getter: None,
        setter: None,
        value: function,
        attributes: sys::PropertyAttributes::default,
        data: ptr::null_mut(),
    };
    let status = unsafe { sys::napi_define_properties(env, instance, 1, &property) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(napi::Status::from(status), "napi_define_properties failed"));
    }
    Ok(())
}

/// A stream of this server read in-process (`await server.subscribe('live/cam', options)`): an
/// async iterator of `Frame`s (payloads over the publisher's memory, no copy) and
/// `StreamEvent`s (`unpublished`, `published`, `dropped`).
///
/// ```js
/// const sub = await server.subscribe('live/cam', { waitMs: 10000 })
/// for await (const item of sub) {
///   if (item.kind === 'video' && item.isKeyframe) console.log('keyframe', item.timestamp)
///   else if (item.kind === 'unpublished') break // break closes it
/// }
/// ```
///
/// It is a player of kind `local` of the server: a reader that falls behind loses video
/// (resuming at a keyframe) and keeps audio within `playerQueueLength`, its drops are counted
/// in `server.stats()`; it never slows the publisher or other players. The iteration ends
/// (`done`) when it is closed or the server closes, not when the publisher stops (that is an
/// `unpublished` event; a new publisher's frames follow a `published` event).
#[napi]
pub struct Subscription {
    inner: Arc<EmbeddedSubscription>,
    /// `next()` calls that wait on the runtime and have not settled yet: while there are any,
    /// the next call waits behind them rather than taking a queued item first.
    waiting: Arc<AtomicUsize>,
    /// Fires when the latest waiting call has taken its item: the next waiting call takes its
    /// item after it (items go to calls in call order).
    tail: Option<oneshot::Receiver<()>>,
    /// Items handed over in a row without going through the event loop.
    in_a_row: u32,
}

impl Subscription {
    /// The JS object: a `Subscription` that is its own async iterator.
    pub(crate) fn into_js(inner: EmbeddedSubscription, env: &Env) -> Result<Raw> {
        let subscription = Self { inner: Arc::new(inner), waiting: Arc::default(), tail: None, in_a_row: 0 };
        let value = unsafe { Self::to_napi_value(env.raw(), subscription)? };
        make_async_iterable(env.raw(), value)?;
        Ok(Raw(value))
    }
}

#[napi]
impl Subscription {
    /// The next item: `{ value: Frame | StreamEvent, done: false }`, or `{ value: undefined,
    /// done: true }` once the subscription is closed (`close()`, `return()`, a `break` out of
    /// `for await`) or the server closed; a `next()` waiting then resolves as done too. Never
    /// blocks the JS thread; never rejects.
    #[napi(catch_unwind, ts_return_type = "Promise<IteratorResult<SubscriptionItem, undefined>>")]
    pub fn next(&mut self, env: &Env) -> Result<Raw> {
        if self.waiting.load(Ordering::Acquire) == 0 && self.in_a_row < YIELD_EVERY {
            match self.inner.try_next() {
                LocalReceived::Item(item) => {
                    self.in_a_row += 1;
                    let value = item_to_js(env.raw(), item)?;
                    return resolved(env, iterator_result(env.raw(), Some(value))?);
                }
                LocalReceived::Closed => return resolved(env, iterator_result(env.raw(), None)?),
                LocalReceived::Timeout => {}
            }
        }
        self.in_a_row = 0;
        let inner = Arc::clone(&self.inner);
        let previous = self.tail.take();
        let (taken, tail) = oneshot::channel();
        self.tail = Some(tail);
        let waiting = Arc::clone(&self.waiting);
        waiting.fetch_add(1, Ordering::AcqRel);
        let future = async move {
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            let received = inner.next_async().await;
            let _ = taken.send(());
            Ok(received)
        };
        let promise = env.spawn_future_with_callback(future, move |env, received| {
            waiting.fetch_sub(1, Ordering::AcqRel);
            received_to_js(env.raw(), received).map(Raw)
        })?;
        Ok(Raw(promise.raw()))
    }

    /// Closes the subscription and resolves `{ value: undefined, done: true }` (what `for
    /// await` calls on `break`).
    #[napi(js_name = "return", catch_unwind, ts_return_type = "Promise<IteratorReturnResult<undefined>>")]
    pub fn finish(&self, env: &Env) -> Result<Raw> {
        self.inner.close();
        resolved(env, iterator_result(env.raw(), None)?)
    }

    /// Leaves the stream, at once: a `next()` waiting resolves as done, and so does every later
    /// one (what was queued is dropped). Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.inner.close();
    }

    /// The stream's key.
    #[napi(catch_unwind, getter)]
    pub fn key(&self) -> StreamKey {
        self.inner.key().into()
    }
}

/// A stream of this server published in-process (`server.publish('live/out')`). Network
/// players, late joiners and the GOP cache see it as an RTMP publisher's; a conflict with an
/// RTMP publisher follows `publisherPolicy` both ways. Sends never wait, so they are synchronous:
/// they return nothing or throw a coded error (`ERR_RTMP_INVALID_ARGUMENT` for a payload that is
/// not an FLV tag body or AMF0 data, or a timestamp more than 1 s back; `ERR_RTMP_CLOSED` once
/// closed, taken over by another publisher, or once the server closed). Closing it, or its
/// collection, unpublishes.
#[napi]
pub struct LocalPublisher {
    inner: EmbeddedLocalPublisher,
    /// The latest timestamp sent: `sendMetadata`'s default.
    last: Option<u32>,
}

fn timestamp(value: f64) -> std::result::Result<u32, RtmpError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX) {
        Ok(value as u32)
    } else {
        Err(RtmpError::argument(format!(
            "timestamp must be an integer number of ms from 0 to 2^32-1, not {value}"
        )))
    }
}

/// The bytes of a Buffer (or another Uint8Array), copied.
fn bytes(env: sys::napi_env, value: js::Value) -> std::result::Result<Bytes, RtmpError> {
    let mut data = ptr::null_mut();
    let mut len = 0;
    let mut is_buffer = false;
    let status = unsafe { sys::napi_is_buffer(env, value, &mut is_buffer) };
    if status != sys::Status::napi_ok || !is_buffer {
        return Err(RtmpError::argument("payload must be a Buffer"));
    }
    let status = unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(RtmpError::argument("payload must be a Buffer"));
    }
    if len == 0 {
        return Ok(Bytes::new());
    }
    Ok(Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }))
}

impl LocalPublisher {
    pub(crate) fn new(inner: EmbeddedLocalPublisher) -> Self {
        Self { inner, last: None }
    }

    fn sent(&mut self, timestamp: u32) {
        if self.last.is_none_or(|last| timestamp.wrapping_sub(last) as i32 > 0) {
            self.last = Some(timestamp);
        }
    }

    fn send(
        &mut self,
        env: &Env,
        ts: f64,
        payload: Unknown<'_>,
        send: impl FnOnce(&EmbeddedLocalPublisher, u32, Bytes) -> std::result::Result<(), rtmp_embed::EmbedError>,
    ) -> Result<()> {
        let outcome = (|| {
            let ts = timestamp(ts)?;
            let payload = bytes(env.raw(), payload.raw())?;
            send(&self.inner, ts, payload)?;
            Ok(ts)
        })();
        match outcome {
            Ok(ts) => {
                self.sent(ts);
                Ok(())
            }
            Err(e) => Err(RtmpError::into_napi(e, env)),
        }
    }
}

#[napi]
impl LocalPublisher {
    /// Sends an FLV video tag body (legacy or Enhanced RTMP) at `timestamp` ms; the Buffer is
    /// copied.
    #[napi(catch_unwind, ts_args_type = "timestamp: number, payload: Buffer")]
    pub fn send_video(&mut self, env: &Env, timestamp: f64, payload: Unknown<'_>) -> Result<()> {
        self.send(env, timestamp, payload, |p, ts, bytes| p.send_video(ts, bytes))
    }

    /// Sends an FLV audio tag body at `timestamp` ms; the Buffer is copied.
    #[napi(catch_unwind, ts_args_type = "timestamp: number, payload: Buffer")]
    pub fn send_audio(&mut self, env: &Env, timestamp: f64, payload: Unknown<'_>) -> Result<()> {
        self.send(env, timestamp, payload, |p, ts, bytes| p.send_audio(ts, bytes))
    }

    /// Sends an AMF0 data message (an FLV script tag body) at `timestamp` ms: `onMetaData`
    /// (with or without `@setDataFrame`) counts as metadata. The Buffer is copied.
    #[napi(catch_unwind, ts_args_type = "timestamp: number, payload: Buffer")]
    pub fn send_data(&mut self, env: &Env, timestamp: f64, payload: Unknown<'_>) -> Result<()> {
        self.send(env, timestamp, payload, |p, ts, bytes| p.send_data(ts, bytes))
    }

    /// Sends `onMetaData` with the properties of `metadata` (numbers, strings, booleans, …) at
    /// `timestamp` ms (default: the latest timestamp sent, 0 at first). Late joiners get the
    /// latest metadata first.
    #[napi(
        catch_unwind,
        ts_args_type = "metadata: Record<string, unknown>, timestamp?: number | undefined | null"
    )]
    pub fn send_metadata(
        &mut self,
        env: &Env,
        metadata: Unknown<'_>,
        timestamp_ms: Option<f64>,
    ) -> Result<()> {
        let last = self.last.unwrap_or(0);
        let outcome = (|| {
            let ts = match timestamp_ms {
                Some(ts) => timestamp(ts)?,
                None => last,
            };
            if js::type_of(env.raw(), metadata.raw()).map_err(|e| RtmpError::argument(e.reason))?
                != sys::ValueType::napi_object
                || js::is_array(env.raw(), metadata.raw())
            {
                return Err(RtmpError::argument("metadata must be an object"));
            }
            let object = js_object_to_amf(env.raw(), metadata.raw(), 0)?;
            self.inner.send_metadata(ts, object)?;
            Ok(ts)
        })();
        match outcome {
            Ok(ts) => {
                self.sent(ts);
                Ok(())
            }
            Err(e) => Err(e.into_napi(env)),
        }
    }

    /// Re-publishes a frame of a `Subscription` (or a `Player`, or a hook) without copying its
    /// payload, at its own timestamp.
    #[napi(catch_unwind)]
    pub fn send_frame(&mut self, env: &Env, frame: &Frame) -> Result<()> {
        match self.inner.send_frame(&frame.inner) {
            Ok(()) => {
                self.sent(frame.inner.timestamp());
                Ok(())
            }
            Err(e) => Err(RtmpError::from(e).into_napi(env)),
        }
    }

    /// Whether it still publishes: not closed, not taken over by another publisher, and its
    /// server did not close.
    #[napi(catch_unwind, getter)]
    pub fn is_publishing(&self) -> bool {
        self.inner.is_publishing()
    }

    /// Unpublishes (players get the end of the stream, as when an RTMP publisher stops).
    /// Idempotent; later sends throw `ERR_RTMP_CLOSED`.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.inner.close();
    }

    /// The stream's key.
    #[napi(catch_unwind, getter)]
    pub fn key(&self) -> StreamKey {
        self.inner.key().into()
    }
}
