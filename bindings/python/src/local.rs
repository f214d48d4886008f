//! Streams in-process: `Subscription` (a server's stream read by Python as a player of kind
//! local) and `LocalPublisher` (a stream published from Python into the server), over the
//! embedding layer's `EmbeddedSubscription` and `EmbeddedLocalPublisher`.
//!
//! A subscription's queued items are taken with the GIL held and without entering any runtime
//! (`try_next`), so a reader that keeps up pays no thread switch; only a reader that waits
//! releases the GIL (sync) or gets a pending awaitable (async). A local publisher's sends never
//! wait: they run with the GIL held, with no `_async` twins.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyStopAsyncIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rtmp_core::proto::message::type_id;
use rtmp_core::server::{Start, SubscribeOptions};
use rtmp_embed::{EmbeddedLocalPublisher, EmbeddedServer, EmbeddedSubscription, LocalItem, LocalReceived};

use crate::awaitable::{future_into_py, ready};
use crate::client::{check_tag_type, to_bytes};
use crate::errors::{ClosedError, embed_error};
use crate::{amf, types};

/// How long a blocking wait sleeps between checks for Ctrl-C.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

fn seconds(key: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{key} must be a non-negative number of seconds")))
}

/// `wait` in seconds; `math.inf` waits until the stream is published or the server stops.
fn wait_duration(wait: Option<f64>) -> PyResult<Option<Duration>> {
    wait.map(|w| if w == f64::INFINITY { Ok(Duration::MAX) } else { seconds("wait", w) }).transpose()
}

/// `subscribe()`'s keyword arguments as the core's options (`wait` is applied by the caller).
pub(crate) fn subscribe_options(start: &str, latency_budget: Option<f64>) -> PyResult<SubscribeOptions> {
    let start = match start {
        "gop" => Start::Gop,
        "keyframe" => Start::Keyframe,
        "live" => Start::Live,
        other => {
            return Err(PyValueError::new_err(format!(
                "start must be \"gop\", \"keyframe\" or \"live\", not {other:?}"
            )));
        }
    };
    let budget = latency_budget.map(|b| seconds("latency_budget", b)).transpose()?;
    Ok(SubscribeOptions::default().start(start).latency_budget(budget))
}

/// Subscribes from a Python thread: the GIL is released while it waits for the stream, in
/// slices so that Ctrl-C and a stop of the server are seen.
pub(crate) fn subscribe(
    py: Python<'_>,
    server: &Arc<EmbeddedServer>,
    key: &str,
    options: SubscribeOptions,
    wait: Option<f64>,
) -> PyResult<Subscription> {
    rtmp_embed::parse_stream_key(key).map_err(embed_error)?;
    // Some(None): no deadline (math.inf, or one past what an Instant can hold).
    let deadline = wait_duration(wait)?.map(|w| Instant::now().checked_add(w));
    loop {
        let left = deadline.map(|d| d.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now())));
        let slice = left.map(|l| l.min(SIGNAL_SLICE));
        let attempt = options.clone().wait(slice);
        match py.detach(|| EmbeddedSubscription::subscribe(server, key, attempt)) {
            Ok(subscription) => return Ok(Subscription::wrap(subscription)),
            Err(rtmp_embed::EmbedError::Subscribe(rtmp_core::server::SubscribeError::NotFound(_)))
                if left.is_some_and(|l| l > SIGNAL_SLICE) =>
            {
                py.check_signals()?;
                // A stop ends the wait: a clearer error than "not published".
                if !server.is_running() {
                    return Err(ClosedError::new_err(format!(
                        "the server stopped while waiting for {key} to be published"
                    )));
                }
            }
            Err(rtmp_embed::EmbedError::Subscribe(rtmp_core::server::SubscribeError::ServerStopped)) => {
                return Err(ClosedError::new_err(format!(
                    "the server stopped while waiting for {key} to be published"
                )));
            }
            Err(e) => return Err(embed_error(e)),
        }
    }
}

/// `subscribe_async()`: an awaitable of a `Subscription`.
pub(crate) fn subscribe_async<'py>(
    py: Python<'py>,
    server: Arc<EmbeddedServer>,
    key: String,
    options: SubscribeOptions,
    wait: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    rtmp_embed::parse_stream_key(&key).map_err(embed_error)?;
    let options = options.wait(wait_duration(wait)?);
    future_into_py(py, async move {
        match EmbeddedSubscription::subscribe_async(&server, &key, options).await {
            Ok(subscription) => Ok(Subscribed(subscription)),
            // A stop ends the wait: a clearer error than "not published".
            Err(rtmp_embed::EmbedError::Subscribe(
                rtmp_core::server::SubscribeError::NotFound(_)
                | rtmp_core::server::SubscribeError::ServerStopped,
            )) if !server.is_running() => Err(ClosedError::new_err(format!(
                "the server stopped while waiting for {key} to be published"
            ))
            .into()),
            Err(e) => Err(e.into()),
        }
    })
}

/// A subscription made by an awaitable, on its way to Python: it becomes a `Subscription` only
/// with the GIL (one dropped undelivered never enters Python).
struct Subscribed(EmbeddedSubscription);

impl<'py> IntoPyObject<'py> for Subscribed {
    type Target = Subscription;
    type Output = Bound<'py, Subscription>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Bound::new(py, Subscription::wrap(self.0))
    }
}

/// A subscription item as its Python object: a `Frame` or a `StreamEvent`.
struct Item(LocalItem);

impl<'py> IntoPyObject<'py> for Item {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let event =
            |kind, video, audio| Bound::new(py, StreamEvent { kind, video, audio }).map(Bound::into_any);
        match self.0 {
            LocalItem::Frame(frame) => Bound::new(py, types::Frame::new(frame)).map(Bound::into_any),
            LocalItem::Unpublished => event("unpublished", 0, 0),
            LocalItem::Published => event("published", 0, 0),
            LocalItem::Dropped { video, audio } => event("dropped", video, audio),
        }
    }
}

/// An event of a subscription that is not a frame: `kind` is `unpublished` (the publisher
/// stopped; the subscription stays and gets `published` when someone publishes again),
/// `published`, or `dropped` (the reader fell behind: `video` and `audio` tell how many frames
/// it lost since the last item).
#[pyclass(frozen, get_all, module = "rtmp_rs._native")]
pub(crate) struct StreamEvent {
    /// The kind of event.
    kind: &'static str,
    /// Video frames dropped (for `dropped`, else 0).
    video: u64,
    /// Audio and data messages dropped (for `dropped`, else 0).
    audio: u64,
}

#[pymethods]
impl StreamEvent {
    fn __repr__(&self) -> String {
        if self.kind == "dropped" {
            format!("StreamEvent(kind='dropped', video={}, audio={})", self.video, self.audio)
        } else {
            format!("StreamEvent(kind={:?})", self.kind)
        }
    }
}

/// A server's stream read in-process (`Server.subscribe`): iterate it (`for item in sub`,
/// `async for item in sub`) to get `Frame`s and `StreamEvent`s until it is closed or the server
/// stops. A reader that falls behind loses video (resuming at a keyframe), never slows the
/// publisher or the other players.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct Subscription {
    /// None only while it is dropped.
    inner: Option<Arc<EmbeddedSubscription>>,
    closed: AtomicBool,
}

impl Subscription {
    fn wrap(subscription: EmbeddedSubscription) -> Self {
        Self { inner: Some(Arc::new(subscription)), closed: AtomicBool::new(false) }
    }

    fn sub(&self) -> &Arc<EmbeddedSubscription> {
        self.inner.as_ref().expect("taken only by drop")
    }

    fn closed_error(&self) -> PyErr {
        self.closed.store(true, Ordering::Release);
        ClosedError::new_err(format!(
            "the subscription of {} is closed (by close() or because its server stopped)",
            self.sub().key()
        ))
    }
}

#[pymethods]
impl Subscription {
    /// The next item, waiting up to `timeout` seconds (None: until there is one); None when
    /// the time ran out. Raises `ClosedError` once the subscription is closed or its server
    /// stopped. Waits without the GIL.
    #[pyo3(signature = (timeout=None))]
    fn next<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // A queued item is taken at once, with the GIL (no thread switch).
        match self.sub().try_next() {
            LocalReceived::Item(item) => return Ok(Some(Item(item).into_pyobject(py)?)),
            LocalReceived::Closed => return Err(self.closed_error()),
            LocalReceived::Timeout => {}
        }
        let mut left = timeout.map(|t| seconds("timeout", t)).transpose()?;
        let subscription = self.sub();
        loop {
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(None);
            }
            let slice = left.map_or(SIGNAL_SLICE, |l| l.min(SIGNAL_SLICE));
            match py.detach(|| subscription.next(Some(slice))).map_err(embed_error)? {
                LocalReceived::Item(item) => return Ok(Some(Item(item).into_pyobject(py)?)),
                LocalReceived::Closed => return Err(self.closed_error()),
                LocalReceived::Timeout => {}
            }
            py.check_signals()?;
            if let Some(l) = left.as_mut() {
                *l = l.saturating_sub(slice);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.next(py, None) {
            Ok(item) => Ok(item),
            Err(e) if e.is_instance_of::<ClosedError>(py) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // A queued item: an awaitable that is done already (the loop never waits).
        match self.sub().try_next() {
            LocalReceived::Item(item) => return ready(py, Item(item).into_pyobject(py)?),
            LocalReceived::Closed => self.closed.store(true, Ordering::Release),
            LocalReceived::Timeout => {}
        }
        let subscription = Arc::clone(self.sub());
        let closed = self.closed.load(Ordering::Acquire);
        future_into_py(py, async move {
            if closed {
                return Err(PyStopAsyncIteration::new_err(()).into());
            }
            match subscription.next_async().await {
                LocalReceived::Item(item) => Ok(Item(item)),
                LocalReceived::Closed | LocalReceived::Timeout => {
                    Err(PyStopAsyncIteration::new_err(()).into())
                }
            }
        })
    }

    /// Leaves the stream (from any thread; a reader waiting in `next` or `async for` ends).
    /// Idempotent; never waits.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.sub().close();
    }

    /// Whether it was closed (by `close()`, or seen closed because its server stopped).
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The stream's key.
    #[getter]
    fn key(&self) -> types::StreamKey {
        types::StreamKey::from_core(self.sub().key())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.into_any())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.close();
        ready(py, py.None().into_bound(py))
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "open" };
        format!("<rtmp_rs.Subscription {} {state}>", self.sub().key())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.close();
            // It may hold the last reference to its server's runtime, whose shutdown waits for
            // the runtime's threads (which may want the GIL for a log record): not with the GIL.
            Python::attach(|py| py.detach(move || drop(inner)));
        }
    }
}

/// A stream published in-process (`Server.publish`): network players, late joiners (the GOP
/// cache) and subscriptions see it as they see an RTMP publisher. Sends never wait (a slow
/// player queues or drops, as for any publisher), so there are no `_async` twins: call them from
/// async code as they are.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct LocalPublisher {
    inner: EmbeddedLocalPublisher,
    closed: AtomicBool,
    /// Its server's: set when the server stops.
    server_stopped: Arc<AtomicBool>,
}

impl LocalPublisher {
    pub(crate) fn publish(
        server: &EmbeddedServer,
        key: &str,
        server_stopped: Arc<AtomicBool>,
    ) -> PyResult<Self> {
        let inner = EmbeddedLocalPublisher::publish(server, key).map_err(embed_error)?;
        Ok(Self { inner, closed: AtomicBool::new(false), server_stopped })
    }

    /// ClosedError once closed or taken over (the core's errors), or once the server stopped.
    fn check_server(&self) -> PyResult<()> {
        if self.server_stopped.load(Ordering::Acquire) && !self.closed.load(Ordering::Acquire) {
            return Err(ClosedError::new_err(format!("the server of {} stopped", self.inner.key())));
        }
        Ok(())
    }

    fn send(&self, tag_type: u8, timestamp: u32, data: bytes::Bytes) -> PyResult<()> {
        self.check_server()?;
        let sent = match tag_type {
            type_id::VIDEO => self.inner.send_video(timestamp, data),
            type_id::AUDIO => self.inner.send_audio(timestamp, data),
            _ => self.inner.send_data(timestamp, data),
        };
        sent.map_err(embed_error)
    }
}

#[pymethods]
impl LocalPublisher {
    /// Sends `onMetaData` with `metadata` (a dict of AMF0-encodable values); late joiners get
    /// the latest.
    #[pyo3(signature = (metadata, timestamp=0))]
    fn send_metadata(&self, metadata: &Bound<'_, PyDict>, timestamp: u32) -> PyResult<()> {
        let object = amf::dict_to_object(metadata, 0)?;
        self.check_server()?;
        self.inner.send_metadata(timestamp, object).map_err(embed_error)
    }

    /// Sends an FLV video tag body (legacy or Enhanced RTMP, any codec): its header tells the
    /// frame type (keyframe or not), the codec and, for AVC/HEVC, the composition time. A body
    /// that does not parse raises ValueError.
    fn send_video(&self, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(type_id::VIDEO, timestamp, to_bytes(data)?)
    }

    /// Sends an FLV audio tag body.
    fn send_audio(&self, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(type_id::AUDIO, timestamp, to_bytes(data)?)
    }

    /// Sends an AMF0 data message (an FLV script tag body: `onTextData`, `onCuePoint`, or
    /// `onMetaData`, which counts as metadata; an `@setDataFrame` wrapper is taken off).
    fn send_data(&self, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(type_id::DATA_AMF0, timestamp, to_bytes(data)?)
    }

    /// Sends a raw FLV tag: type 8 (audio), 9 (video) or 18 (data), timestamp, body.
    fn send_tag(&self, tag_type: u8, timestamp: u32, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(check_tag_type(tag_type)?, timestamp, to_bytes(data)?)
    }

    /// Sends a frame from a subscription, a `Player` or a hook (re-publishing), without copying.
    fn send_frame(&self, frame: &types::Frame) -> PyResult<()> {
        self.check_server()?;
        self.inner.send_frame(&frame.inner).map_err(embed_error)
    }

    /// Unpublishes (network players get UnpublishNotify, subscriptions an `unpublished` event).
    /// Idempotent; later sends raise `ClosedError` (as do sends once another publisher took
    /// the stream over, or the server stopped).
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.inner.close();
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether it still publishes: not closed, not taken over by another publisher (under
    /// `publisher_policy="take_over"`), its server not stopped.
    #[getter]
    fn is_publishing(&self) -> bool {
        !self.server_stopped.load(Ordering::Acquire) && self.inner.is_publishing()
    }

    /// The stream's key.
    #[getter]
    fn key(&self) -> types::StreamKey {
        types::StreamKey::from_core(self.inner.key())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.into_any())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.close();
        ready(py, py.None().into_bound(py))
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() {
            "closed"
        } else if self.is_publishing() {
            "publishing"
        } else if self.server_stopped.load(Ordering::Acquire) {
            "server stopped"
        } else {
            "taken over"
        };
        format!("<rtmp_rs.LocalPublisher {} {state}>", self.inner.key())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<StreamEvent>()?;
    m.add_class::<Subscription>()?;
    m.add_class::<LocalPublisher>()?;
    Ok(())
}
