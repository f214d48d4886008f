//! `NativeServer`: an `EmbeddedServer` whose sink queues events for the asyncio loop.
//!
//! The sink runs on runtime workers (`Dispatch::Inline`) and never takes the GIL: it pushes
//! owned events into a queue and wakes the one waiter. The Python package awaits
//! `next_events()` (an awaitable, see `awaitable`) on its loop and runs the hooks there.
//! Per-frame events (metadata, frames, keyframes, stats) are dropped and counted when more than
//! `max_pending_frames` wait, so a slow consumer costs frames, never memory; connection events
//! and decisions are never dropped.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rtmp_core::client::server_config_from_pem;
use rtmp_core::server::{PublisherPolicy, ServerConfig, TlsListener};
use rtmp_embed::{
    Dispatch, EmbeddedServer, Event, EventSink, Hook, Interest, RequestDetails, ServerOptions, Session,
};
use tokio::sync::Notify;

use crate::awaitable::future_into_py;
use crate::errors::{InvalidStateError, TlsError, embed_error};
use crate::types;

/// The Python name of each hook, in `Hook::ALL` order.
pub(crate) const HOOK_NAMES: [&str; 17] = [
    "on_connection",
    "on_handshake_complete",
    "on_connect",
    "on_fc_publish",
    "on_publish",
    "on_unpublish",
    "on_play",
    "on_play_stop",
    "on_pause",
    "on_unpause",
    "on_metadata",
    "on_media_tag",
    "on_video_frame",
    "on_audio_frame",
    "on_keyframe",
    "on_disconnect",
    "on_stats",
];

fn hook_name(hook: Hook) -> &'static str {
    let index = Hook::ALL.iter().position(|h| *h == hook).expect("every hook is in ALL");
    HOOK_NAMES[index]
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Event>,
    pending_frames: usize,
    closed: bool,
}

struct Queue {
    state: Mutex<QueueState>,
    wake: Notify,
    max_pending_frames: usize,
    dropped: AtomicU64,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: Event) {
        let droppable = matches!(
            event,
            Event::Metadata { .. }
                | Event::VideoFrame { .. }
                | Event::AudioFrame { .. }
                | Event::Keyframe { .. }
                | Event::Stats { .. }
        );
        {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            if droppable {
                if state.pending_frames >= self.max_pending_frames {
                    drop(state);
                    if self.dropped.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000) {
                        tracing::warn!("the Python handler is too slow: frame events dropped");
                    }
                    return;
                }
                state.pending_frames += 1;
            }
            state.events.push_back(event);
        }
        self.wake.notify_one();
    }

    /// Everything queued now (possibly nothing); None once closed and empty.
    fn take(&self) -> Option<Vec<Event>> {
        let mut state = self.lock();
        if state.events.is_empty() && state.closed {
            return None;
        }
        state.pending_frames = 0;
        Some(state.events.drain(..).collect())
    }

    async fn next(&self) -> Option<Vec<Event>> {
        loop {
            match self.take() {
                Some(events) if events.is_empty() => self.wake.notified().await,
                other => return other,
            }
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }
}

struct Sink {
    queue: Arc<Queue>,
    interest: Interest,
    /// `on_media_tag(session, frame) -> bool`, a plain callable (the package wraps the hook).
    media_filter: Option<Py<PyAny>>,
}

impl EventSink for Sink {
    fn interest(&self) -> Interest {
        self.interest
    }

    fn on_event(&self, event: Event) {
        self.queue.push(event);
    }

    fn filter_media(&self, session: &Session, frame: &Arc<rtmp_embed::Frame>) -> bool {
        let Some(filter) = &self.media_filter else { return true };
        // On a runtime worker: take the GIL for the call only. Refused once the interpreter
        // exits; the frame then passes.
        crate::exit_gate::enter_python(|py| {
            let args = (types::Session::new(session.clone()), types::Frame::new(Arc::clone(frame)));
            match filter.call1(py, args).and_then(|r| r.is_truthy(py)) {
                Ok(keep) => keep,
                Err(err) => {
                    err.write_unraisable(py, None);
                    false
                }
            }
        })
        .unwrap_or(true)
    }
}

/// A batch of events as Python tuples: `(hook_name, request_or_None, *args)`.
struct Batch(Option<Vec<Event>>);

impl<'py> IntoPyObject<'py> for Batch {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            None => Ok(py.None().into_bound(py)),
            Some(events) => Ok(events_to_list(py, events)?.into_any()),
        }
    }
}

fn events_to_list(py: Python<'_>, events: Vec<Event>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for event in events {
        list.append(event_to_tuple(py, event)?)?;
    }
    Ok(list)
}

fn event_to_tuple(py: Python<'_>, event: Event) -> PyResult<Bound<'_, PyTuple>> {
    let name = hook_name(event.hook());
    let none = || py.None().into_bound(py);
    let session = |s: Session| Bound::new(py, types::Session::new(s)).map(Bound::into_any);
    let key = |k: &rtmp_core::server::StreamKey| {
        Bound::new(py, types::StreamKey::from_core(k)).map(Bound::into_any)
    };
    let frame = |f| Bound::new(py, types::Frame::new(f)).map(Bound::into_any);
    let items: Vec<Bound<'_, PyAny>> = match event {
        Event::Connection { request } => {
            let peer = request.session().peer_addr_text().to_owned().into_pyobject(py)?.into_any();
            vec![Bound::new(py, types::Request::new(request))?.into_any(), peer]
        }
        Event::Connect { request } => {
            let s = session(request.session().clone())?;
            let params = s.getattr("connect")?;
            vec![Bound::new(py, types::Request::new(request))?.into_any(), s, params]
        }
        Event::Publish { request } => {
            let s = session(request.session().clone())?;
            let params = match request.details() {
                RequestDetails::Publish(p) => {
                    Bound::new(py, types::PublishParams::new(p.clone()))?.into_any()
                }
                _ => none(),
            };
            vec![Bound::new(py, types::Request::new(request))?.into_any(), s, params]
        }
        Event::Play { request } => {
            let s = session(request.session().clone())?;
            let params = match request.details() {
                RequestDetails::Play(p) => Bound::new(py, types::PlayParams::new(p.clone()))?.into_any(),
                _ => none(),
            };
            vec![Bound::new(py, types::Request::new(request))?.into_any(), s, params]
        }
        Event::HandshakeComplete { session: s } => vec![none(), session(s)?],
        Event::FcPublish { session: s, name } => {
            vec![none(), session(s)?, Bound::new(py, types::StreamName::from_core(&name))?.into_any()]
        }
        Event::Unpublish { session: s, key: k }
        | Event::PlayStop { session: s, key: k }
        | Event::Pause { session: s, key: k }
        | Event::Unpause { session: s, key: k } => vec![none(), session(s)?, key(&k)?],
        Event::Metadata { session: s, frame: f } => {
            let k = types::StreamKey::from_core(&rtmp_core::server::StreamKey::new(f.app(), f.name()));
            let metadata = match f.metadata() {
                Some(m) => crate::amf::object_to_py(py, m)?.into_any(),
                None => PyDict::new(py).into_any(),
            };
            vec![none(), session(s)?, Bound::new(py, k)?.into_any(), metadata]
        }
        Event::VideoFrame { session: s, frame: f }
        | Event::AudioFrame { session: s, frame: f }
        | Event::Keyframe { session: s, frame: f } => vec![none(), session(s)?, frame(f)?],
        Event::Disconnect { session: s, reason } => {
            vec![none(), session(s)?, Bound::new(py, types::DisconnectReason::new(reason))?.into_any()]
        }
        Event::Stats { stats } => {
            vec![none(), Bound::new(py, types::ServerStats::from_core(py, &stats)?)?.into_any()]
        }
    };
    let mut all = Vec::with_capacity(items.len() + 1);
    all.push(name.into_pyobject(py)?.into_any());
    all.extend(items);
    PyTuple::new(py, all)
}

fn seconds(key: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{key} must be a non-negative number of seconds")))
}

/// Seconds for an option that `None` or 0 turns off.
fn seconds_or_off(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Option<Duration>> {
    value.extract::<Option<f64>>()?.filter(|v| *v > 0.0).map(|v| seconds(key, v)).transpose()
}

fn parse_addr(key: &str, value: &str) -> PyResult<SocketAddr> {
    value.parse().map_err(|_| PyValueError::new_err(format!("{key}: bad address {value:?} (want 'IP:PORT')")))
}

/// Builds the options from the keyword arguments of `rtmp_rs.Server` (None = the default).
fn options_from(dict: &Bound<'_, PyDict>) -> PyResult<(ServerOptions, usize)> {
    let mut options = ServerOptions { dispatch: Dispatch::Inline, ..ServerOptions::default() };
    let mut max_pending_frames = 10_000;
    let (mut tls_bind, mut tls_cert, mut tls_key) = (None::<String>, None::<String>, None::<String>);
    let c = &mut options.config;
    for (key, value) in dict.iter() {
        let key: String = key.extract()?;
        if value.is_none()
            && !matches!(
                key.as_str(),
                "socket_send_buffer"
                    | "play_wait_timeout"
                    | "stats_interval"
                    | "write_coalescing"
                    | "read_coalescing"
            )
        {
            continue;
        }
        let k = key.as_str();
        match k {
            "bind" => c.bind = parse_addr(k, &value.extract::<String>()?)?,
            "max_connections" => c.max_connections = value.extract()?,
            "chunk_size" => {
                let v: u32 = value.extract()?;
                if !(128..=0xFF_FFFF).contains(&v) {
                    return Err(PyValueError::new_err("chunk_size must be in 128..=16777215"));
                }
                c.chunk_size = v;
            }
            "connection_timeout" => c.connection_timeout = seconds(k, value.extract()?)?,
            "idle_timeout" => c.idle_timeout = seconds(k, value.extract()?)?,
            "window_ack_size" => c.window_ack_size = value.extract()?,
            "peer_bandwidth" => c.peer_bandwidth = value.extract()?,
            "max_message_size" => c.max_message_size = value.extract()?,
            "max_chunk_streams" => c.max_chunk_streams = value.extract()?,
            "max_streams_per_connection" => c.max_streams_per_connection = value.extract()?,
            "max_amf_depth" => c.max_amf_depth = value.extract()?,
            "max_amf_entries" => c.max_amf_entries = value.extract()?,
            "max_amf_decoded_bytes" => c.max_amf_decoded_bytes = value.extract()?,
            "player_queue_length" => c.player_queue_length = value.extract()?,
            "player_stall_timeout" => c.player_stall_timeout = seconds(k, value.extract()?)?,
            "socket_send_buffer" => c.socket_send_buffer = value.extract()?,
            "gop_cache_max_bytes" => c.gop_cache_max_bytes = value.extract()?,
            "gop_cache_max_duration" => c.gop_cache_max_duration = seconds(k, value.extract()?)?,
            "publisher_policy" => {
                c.publisher_policy = match value.extract::<String>()?.as_str() {
                    "reject_new" => PublisherPolicy::RejectNew,
                    "take_over" => PublisherPolicy::TakeOver,
                    other => {
                        return Err(PyValueError::new_err(format!(
                            "publisher_policy must be 'reject_new' or 'take_over', not {other:?}"
                        )));
                    }
                }
            }
            "play_wait_timeout" => {
                c.play_wait_timeout = value.extract::<Option<f64>>()?.map(|v| seconds(k, v)).transpose()?
            }
            "normalize_timestamps" => c.normalize_timestamps = value.extract()?,
            "enhanced_rtmp" => c.enhanced_rtmp = value.extract()?,
            "fourcc_list" => c.fourcc_list = value.extract()?,
            "caps_ex" => c.caps_ex = value.extract()?,
            "stats_interval" => c.stats_interval = seconds_or_off(k, &value)?,
            "write_coalescing" => c.write_coalescing = seconds_or_off(k, &value)?,
            "read_coalescing" => c.read_coalescing = seconds_or_off(k, &value)?,
            "tls_bind" => tls_bind = Some(value.extract()?),
            "tls_cert" => tls_cert = Some(value.extract()?),
            "tls_key" => tls_key = Some(value.extract()?),
            "worker_threads" => options.worker_threads = value.extract::<usize>()?.max(1),
            "decision_timeout" => options.decision_timeout = seconds(k, value.extract()?)?,
            "max_pending_frames" => max_pending_frames = value.extract::<usize>()?.max(1),
            other => return Err(PyTypeError::new_err(format!("unknown server option {other:?}"))),
        }
    }
    match (tls_bind, tls_cert, tls_key) {
        (None, None, None) => {}
        (Some(bind), Some(cert), Some(key)) => {
            let bind = parse_addr("tls_bind", &bind)?;
            let config = server_config_from_pem(&cert, &key).map_err(|e| TlsError::new_err(e.to_string()))?;
            options.config.tls = Some(TlsListener { bind, config });
        }
        _ => return Err(PyValueError::new_err("RTMPS needs tls_bind, tls_cert and tls_key together")),
    }
    Ok((options, max_pending_frames))
}

/// The defaults of every server option, as `rtmp_rs.Server` takes them (seconds as floats).
#[pyfunction]
fn server_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = ServerConfig::default();
    let o = ServerOptions::default();
    let d = PyDict::new(py);
    d.set_item("bind", c.bind.to_string())?;
    d.set_item("max_connections", c.max_connections)?;
    d.set_item("chunk_size", c.chunk_size)?;
    d.set_item("connection_timeout", c.connection_timeout.as_secs_f64())?;
    d.set_item("idle_timeout", c.idle_timeout.as_secs_f64())?;
    d.set_item("window_ack_size", c.window_ack_size)?;
    d.set_item("peer_bandwidth", c.peer_bandwidth)?;
    d.set_item("max_message_size", c.max_message_size)?;
    d.set_item("max_chunk_streams", c.max_chunk_streams)?;
    d.set_item("max_streams_per_connection", c.max_streams_per_connection)?;
    d.set_item("max_amf_depth", c.max_amf_depth)?;
    d.set_item("max_amf_entries", c.max_amf_entries)?;
    d.set_item("max_amf_decoded_bytes", c.max_amf_decoded_bytes)?;
    d.set_item("player_queue_length", c.player_queue_length)?;
    d.set_item("player_stall_timeout", c.player_stall_timeout.as_secs_f64())?;
    d.set_item("socket_send_buffer", c.socket_send_buffer)?;
    d.set_item("gop_cache_max_bytes", c.gop_cache_max_bytes)?;
    d.set_item("gop_cache_max_duration", c.gop_cache_max_duration.as_secs_f64())?;
    d.set_item("publisher_policy", "reject_new")?;
    d.set_item("play_wait_timeout", c.play_wait_timeout.map(|t| t.as_secs_f64()))?;
    d.set_item("normalize_timestamps", c.normalize_timestamps)?;
    d.set_item("enhanced_rtmp", c.enhanced_rtmp)?;
    d.set_item("fourcc_list", c.fourcc_list)?;
    d.set_item("caps_ex", c.caps_ex)?;
    d.set_item("stats_interval", c.stats_interval.map(|t| t.as_secs_f64()))?;
    d.set_item("write_coalescing", c.write_coalescing.map(|t| t.as_secs_f64()))?;
    d.set_item("read_coalescing", c.read_coalescing.map(|t| t.as_secs_f64()))?;
    d.set_item("tls_bind", py.None())?;
    d.set_item("tls_cert", py.None())?;
    d.set_item("tls_key", py.None())?;
    d.set_item("worker_threads", o.worker_threads)?;
    d.set_item("decision_timeout", o.decision_timeout.as_secs_f64())?;
    d.set_item("max_pending_frames", 10_000)?;
    Ok(d)
}

/// The names of the hooks, in the order of the Rust trait.
#[pyfunction]
fn hook_names() -> Vec<&'static str> {
    HOOK_NAMES.to_vec()
}

/// A bound server. Built by `rtmp_rs.Server`; use that.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct NativeServer {
    server: Mutex<Option<Arc<EmbeddedServer>>>,
    queue: Arc<Queue>,
    local_addr: String,
    tls_local_addr: Option<String>,
}

impl NativeServer {
    fn server(&self) -> PyResult<Arc<EmbeddedServer>> {
        self.server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| InvalidStateError::new_err("the server was closed"))
    }
}

#[pymethods]
impl NativeServer {
    /// Binds. `hooks`: the hook names the handler implements; `media_filter`: the callable
    /// behind `on_media_tag`; `options`: the keyword arguments of `rtmp_rs.Server`.
    #[new]
    #[pyo3(signature = (hooks, media_filter, options))]
    fn new(
        py: Python<'_>,
        hooks: Vec<String>,
        media_filter: Option<Py<PyAny>>,
        options: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let (options, max_pending_frames) = options_from(options)?;
        let mut interest = Interest::NONE;
        for name in &hooks {
            if name == "on_media_tag" && media_filter.is_none() {
                continue;
            }
            let index = HOOK_NAMES
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| PyValueError::new_err(format!("unknown hook {name:?}")))?;
            interest = interest | Interest::of(Hook::ALL[index]);
        }
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            wake: Notify::new(),
            max_pending_frames,
            dropped: AtomicU64::new(0),
        });
        let sink = Arc::new(Sink { queue: Arc::clone(&queue), interest, media_filter });
        let server = py.detach(|| EmbeddedServer::new(options, sink)).map_err(embed_error)?;
        Ok(Self {
            local_addr: server.local_addr().to_string(),
            tls_local_addr: server.tls_local_addr().map(|a| a.to_string()),
            server: Mutex::new(Some(Arc::new(server))),
            queue,
        })
    }

    /// The bound RTMP address (`"127.0.0.1:40000"`; the real port when bound to port 0).
    #[getter]
    fn local_addr(&self) -> &str {
        &self.local_addr
    }

    /// The bound RTMPS address, when TLS is configured.
    #[getter]
    fn tls_local_addr(&self) -> Option<&str> {
        self.tls_local_addr.as_deref()
    }

    /// Whether it serves now.
    #[getter]
    fn is_running(&self) -> bool {
        self.server().map(|s| s.is_running()).unwrap_or(false)
    }

    /// Frame events dropped because the handler did not keep up.
    #[getter]
    fn dropped_events(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }

    /// Starts serving; returns at once.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let server = self.server()?;
        py.detach(|| server.start()).map_err(embed_error)
    }

    /// Stops gracefully and waits (GIL released). Pending decisions are rejected; the last
    /// events (unpublish, play stop, disconnect) are queued before it returns.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let server = self.server()?;
        py.detach(|| server.stop()).map_err(embed_error)
    }

    /// `stop()` as an awaitable.
    fn stop_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let server = self.server()?;
        future_into_py(py, async move {
            server.stop_async().await?;
            drop(server);
            Ok(())
        })
    }

    /// Stops (if needed) and releases the server, its sockets and threads. Idempotent.
    fn close(&self, py: Python<'_>) {
        self.queue.close();
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            py.detach(move || {
                let _ = server.stop();
                drop(server);
            });
        }
    }

    /// A statistics snapshot.
    fn stats(&self, py: Python<'_>) -> PyResult<types::ServerStats> {
        let stats = self.server()?.stats();
        types::ServerStats::from_core(py, &stats)
    }

    /// Awaitable: the next batch of events (a non-empty list of tuples
    /// `(hook_name, request_or_None, *args)`), or None once the queue is closed and empty.
    fn next_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let queue = Arc::clone(&self.queue);
        future_into_py(py, async move { Ok(Batch(queue.next().await)) })
    }

    /// The events queued now, without waiting (possibly empty); None once closed and empty.
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Batch(self.queue.take()).into_pyobject(py)
    }

    /// Closes the event queue: later events are discarded, `next_events` returns what is left
    /// and then None.
    fn close_events(&self) {
        self.queue.close();
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        let server = self.server.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            // Stopping waits for the server's tasks: never with the GIL held.
            Python::attach(|py| py.detach(move || drop(server)));
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeServer>()?;
    m.add_function(wrap_pyfunction!(server_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(hook_names, m)?)?;
    Ok(())
}
