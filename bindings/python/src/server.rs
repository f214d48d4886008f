//! `NativeServer`: an `EmbeddedServer` whose sink queues events for the asyncio loop.
//!
//! The sink runs on runtime workers (`Dispatch::Inline`) and never takes the GIL: it pushes
//! owned events into a queue and wakes the one waiter. The Python package awaits
//! `next_events()` (an awaitable, see `awaitable`) on its loop and runs the hooks there.
//! What is dropped when the handler falls behind, and how long a connection waits for
//! `on_media_tag` (run on a thread of its own), is the layer's event policy (`rtmp_embed`'s
//! `policy` module), the same as in Node.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};
use rtmp_core::options::{Kind, OptionError, Setting, TimeUnit, Value};
use rtmp_embed::{
    Admission, Dispatch, EmbeddedServer, Event, EventSink, FrameBudget, Hook, Interest, RequestDetails,
    ServerOptions, Session, Verdict, duration_in, server_options, wait_for_verdict,
};
use tokio::sync::Notify;

use crate::awaitable::future_into_py;
use crate::errors::{InvalidStateError, TlsError, embed_error};
use crate::{local, types};

#[derive(Default)]
struct QueueState {
    events: VecDeque<Event>,
    closed: bool,
}

struct Queue {
    state: Mutex<QueueState>,
    wake: Notify,
    budget: FrameBudget,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: Event) {
        let hook = event.hook();
        if let Admission::Dropped { first } = self.budget.admit(hook) {
            if first {
                tracing::warn!(
                    max_pending_frames = self.budget.max(),
                    "the Python handler is too slow: frame events are dropped until it catches up"
                );
            }
            return;
        }
        {
            let mut state = self.lock();
            if state.closed {
                drop(state);
                self.budget.done(hook);
                return;
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
        let events: Vec<Event> = state.events.drain(..).collect();
        for event in &events {
            self.budget.done(event.hook());
        }
        Some(events)
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
    /// Hands `on_media_tag` calls to the filter's thread; None without the hook.
    media_filter: Option<mpsc::SyncSender<MediaTagCall>>,
    media_tag_timeout: Duration,
}

/// One `on_media_tag` call for the filter's thread.
struct MediaTagCall {
    session: Session,
    frame: Arc<rtmp_embed::Frame>,
    reply: mpsc::SyncSender<bool>,
    /// When its connection stops waiting: a call found later is skipped, not run.
    deadline: Instant,
}

/// The thread that runs `on_media_tag(session, frame) -> bool` (a plain callable the package
/// wraps), so that a connection waits for it at most `media_tag_timeout`, whatever holds the
/// GIL. At most `bound` calls wait (past it a message passes unfiltered, as on a timeout), and
/// a call whose connection stopped waiting is skipped, so a slow filter costs neither memory nor
/// a backlog. It ends when the server lets go of its sender.
fn spawn_media_filter(filter: Py<PyAny>, bound: usize) -> PyResult<mpsc::SyncSender<MediaTagCall>> {
    let (calls, received) = mpsc::sync_channel::<MediaTagCall>(bound);
    std::thread::Builder::new()
        .name("rtmp-rs-media-tag".into())
        .spawn(move || {
            while let Ok(call) = received.recv() {
                if Instant::now() >= call.deadline {
                    continue;
                }
                // Refused once the interpreter exits; the message then passes.
                let keep = crate::exit_gate::enter_python(|py| {
                    let args = (types::Session::new(call.session), types::Frame::new(call.frame));
                    match filter.call1(py, args).and_then(|r| r.is_truthy(py)) {
                        Ok(keep) => keep,
                        Err(err) => {
                            err.write_unraisable(py, None);
                            true
                        }
                    }
                });
                let _ = call.reply.try_send(keep.unwrap_or(true));
            }
            crate::exit_gate::enter_python(|_py| drop(filter));
        })
        .map_err(|e| PyRuntimeError::new_err(format!("could not start the on_media_tag thread: {e}")))?;
    Ok(calls)
}

impl EventSink for Sink {
    fn interest(&self) -> Interest {
        self.interest
    }

    fn on_event(&self, event: Event) {
        self.queue.push(event);
    }

    fn filter_media(&self, session: &Session, frame: &Arc<rtmp_embed::Frame>) -> bool {
        let Some(calls) = &self.media_filter else { return true };
        let (reply, answer) = mpsc::sync_channel(1);
        let deadline = Instant::now() + self.media_tag_timeout;
        let call = MediaTagCall { session: session.clone(), frame: Arc::clone(frame), reply, deadline };
        if calls.try_send(call).is_err() {
            return true;
        }
        let verdict = wait_for_verdict(&answer, self.media_tag_timeout);
        if verdict == Verdict::TimedOut {
            tracing::warn!(
                timeout_ms = self.media_tag_timeout.as_millis() as u64,
                "on_media_tag did not answer in time; the message was kept"
            );
        }
        verdict.keep()
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
    let name = event.hook().name();
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
        | Event::Unpause { session: s, key: k }
        | Event::PublishInterrupted { session: s, key: k } => vec![none(), session(s)?, key(&k)?],
        Event::PublishResumed { session: s, key: k, outage } => {
            let outage = outage.as_secs_f64().into_pyobject(py)?.into_any();
            vec![none(), session(s)?, key(&k)?, outage]
        }
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
        Event::Forward { key: k, stats } => {
            vec![none(), key(&k)?, Bound::new(py, types::ForwardStats::from_core(&stats))?.into_any()]
        }
        Event::Pull { key: k, stats } => {
            vec![none(), key(&k)?, Bound::new(py, types::PullStats::from_core(&stats))?.into_any()]
        }
        Event::Data { session: s, key: k, data } => {
            let data = Bound::new(py, types::DataMessage::from_core(py, &data)?)?.into_any();
            vec![none(), session(s)?, key(&k)?, data]
        }
        Event::Credentials { request } => {
            let app = request.app().to_owned().into_pyobject(py)?.into_any();
            let user = request.user().unwrap_or_default().to_owned().into_pyobject(py)?.into_any();
            vec![Bound::new(py, types::Request::new(request))?.into_any(), app, user]
        }
        Event::Locate { request } => {
            let k = match request.details() {
                RequestDetails::Locate(k) => key(k)?,
                _ => none(),
            };
            vec![Bound::new(py, types::Request::new(request))?.into_any(), k]
        }
    };
    let mut all = Vec::with_capacity(items.len() + 1);
    all.push(name.into_pyobject(py)?.into_any());
    all.extend(items);
    PyTuple::new(py, all)
}

/// A Python value as the option schema takes it.
pub(crate) fn to_value(value: &Bound<'_, PyAny>) -> Value {
    if value.is_none() {
        Value::Null
    } else if let Ok(b) = value.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if let Ok(n) = value.extract::<i64>() {
        Value::Int(n)
    } else if let Ok(f) = value.extract::<f64>() {
        Value::Float(f)
    } else if let Ok(t) = value.extract::<String>() {
        Value::Text(t)
    } else if let Ok(items) = value.extract::<Vec<String>>() {
        Value::List(items)
    } else {
        Value::Text(value.to_string())
    }
}

/// The schema's refusal as a Python exception: `TypeError` for a value of the wrong type or an
/// unknown name, `ValueError` for one out of range.
pub(crate) fn option_error(error: &OptionError) -> PyErr {
    if error.wrong_type || error.is_unknown() {
        PyTypeError::new_err(error.to_string())
    } else {
        PyValueError::new_err(error.to_string())
    }
}

/// A setting as Python gives it back (durations in seconds).
fn setting_to_py<'py>(py: Python<'py>, setting: Setting, kind: &Kind) -> PyResult<Bound<'py, PyAny>> {
    Ok(match setting {
        Setting::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Setting::Int(n) => n.into_pyobject(py)?.into_any(),
        Setting::Duration(d) => d.map(|d| duration_in(d, TimeUnit::Seconds)).into_pyobject(py)?.into_any(),
        Setting::List(items) => items.into_pyobject(py)?.into_any(),
        other => other.to_text(kind).into_pyobject(py)?.into_any(),
    })
}

/// Builds the options from the keyword arguments of `rtmp_rs.Server` (durations in seconds),
/// each checked by the schema; the three `tls_*` arguments together add the RTMPS listener.
fn options_from(dict: &Bound<'_, PyDict>) -> PyResult<ServerOptions> {
    let mut options = ServerOptions { dispatch: Dispatch::Inline, ..ServerOptions::default() };
    let mut tls = [None::<String>, None, None];
    for (key, value) in dict.iter() {
        let key: String = key.extract()?;
        if let Some(slot) = ["tls_bind", "tls_cert", "tls_key"].iter().position(|k| *k == key) {
            tls[slot] = value.extract()?;
            continue;
        }
        options.set(&key, &to_value(&value), TimeUnit::Seconds).map_err(|e| option_error(&e))?;
    }
    match tls {
        [None, None, None] => {}
        [Some(bind), Some(cert), Some(key)] => options.set_tls(&bind, &cert, &key).map_err(|e| {
            if e.name == "tls_bind" { option_error(&e) } else { TlsError::new_err(e.to_string()) }
        })?,
        _ => return Err(PyValueError::new_err("RTMPS needs tls_bind, tls_cert and tls_key together")),
    }
    Ok(options)
}

/// The defaults of every server option, as `rtmp_rs.Server` takes them (seconds as floats).
#[pyfunction]
fn server_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for option in server_options() {
        d.set_item(option.name, setting_to_py(py, option.default, &option.kind)?)?;
    }
    for tls in ["tls_bind", "tls_cert", "tls_key"] {
        d.set_item(tls, py.None())?;
    }
    Ok(d)
}

/// The names of the hooks, in the order of the Rust trait.
#[pyfunction]
fn hook_names() -> Vec<&'static str> {
    Hook::ALL.iter().map(|hook| hook.name()).collect()
}

/// A bound server. Built by `rtmp_rs.Server`; use that.
#[pyclass(frozen, module = "rtmp_rs._native")]
pub(crate) struct NativeServer {
    server: Mutex<Option<Arc<EmbeddedServer>>>,
    queue: Arc<Queue>,
    local_addr: String,
    tls_local_addr: Option<String>,
    /// Set when a stop begins: local publishers refuse to send from then on (the core keeps
    /// taking their sends into a stopped server's streams).
    stopped: Arc<AtomicBool>,
}

impl NativeServer {
    fn server(&self) -> PyResult<Arc<EmbeddedServer>> {
        self.server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| InvalidStateError::new_err("the server was closed"))
    }

    /// The server, if it serves now.
    fn running(&self) -> PyResult<Arc<EmbeddedServer>> {
        let server = self.server()?;
        if !server.is_running() {
            return Err(InvalidStateError::new_err(
                "the server is not running: streams in-process need a serving server (serve(), start(), run())",
            ));
        }
        Ok(server)
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
        let options = options_from(options)?;
        let mut interest = Interest::NONE;
        for name in &hooks {
            if name == "on_media_tag" && media_filter.is_none() {
                continue;
            }
            let hook = Hook::ALL
                .into_iter()
                .find(|hook| hook.name() == name)
                .ok_or_else(|| PyValueError::new_err(format!("unknown hook {name:?}")))?;
            interest = interest | Interest::of(hook);
        }
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            wake: Notify::new(),
            budget: FrameBudget::new(options.max_pending_frames),
        });
        let bound = options.max_pending_frames;
        let media_filter = media_filter.map(|f| spawn_media_filter(f, bound)).transpose()?;
        let sink = Arc::new(Sink {
            queue: Arc::clone(&queue),
            interest,
            media_filter,
            media_tag_timeout: options.media_tag_timeout,
        });
        let server = py.detach(|| EmbeddedServer::new(options, sink)).map_err(embed_error)?;
        Ok(Self {
            local_addr: server.local_addr().to_string(),
            tls_local_addr: server.tls_local_addr().map(|a| a.to_string()),
            server: Mutex::new(Some(Arc::new(server))),
            queue,
            stopped: Arc::new(AtomicBool::new(false)),
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
        self.queue.budget.dropped()
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
        self.stopped.store(true, Ordering::Release);
        py.detach(|| server.stop()).map_err(embed_error)
    }

    /// `stop()` as an awaitable.
    fn stop_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let server = self.server()?;
        self.stopped.store(true, Ordering::Release);
        future_into_py(py, async move {
            server.stop_async().await?;
            drop(server);
            Ok(())
        })
    }

    /// Stops (if needed) and releases the server, its sockets and threads. Idempotent.
    fn close(&self, py: Python<'_>) {
        self.stopped.store(true, Ordering::Release);
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

    /// The live streams, sorted by key: who publishes each, its codecs, players, subscribers.
    fn streams(&self) -> PyResult<Vec<types::StreamInfo>> {
        Ok(self.server()?.handle().streams().iter().map(types::StreamInfo::from_core).collect())
    }

    /// Forwards the live stream `key` (`StreamKey` or `"app/name"`) to `url` too (RTMP or
    /// RTMPS), until it unpublishes or `remove_forward`.
    fn add_forward(&self, key: &Bound<'_, PyAny>, url: &str) -> PyResult<()> {
        let key = types::StreamKey::from_arg(key)?;
        self.server()?.add_forward(&key, url).map_err(embed_error)
    }

    /// Stops forwarding `key` to `url`; whether it was forwarded there.
    fn remove_forward(&self, key: &Bound<'_, PyAny>, url: &str) -> PyResult<bool> {
        let key = types::StreamKey::from_arg(key)?;
        Ok(self.server()?.remove_forward(&key, url))
    }

    /// Reads the stream `key` (`"app/name"`) in-process. Blocks (without the GIL) up to `wait`
    /// seconds for a stream that is not published yet; `StreamNotFoundError` past it.
    #[pyo3(signature = (key, *, start="gop", wait=None, latency_budget=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        key: &str,
        start: &str,
        wait: Option<f64>,
        latency_budget: Option<f64>,
    ) -> PyResult<local::Subscription> {
        let options = local::subscribe_options(start, latency_budget)?;
        let server = self.running()?;
        local::subscribe(py, &server, key, options, wait)
    }

    /// `subscribe()` as an awaitable (waits for the stream without blocking the loop).
    #[pyo3(signature = (key, *, start="gop", wait=None, latency_budget=None))]
    fn subscribe_async<'py>(
        &self,
        py: Python<'py>,
        key: String,
        start: &str,
        wait: Option<f64>,
        latency_budget: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = local::subscribe_options(start, latency_budget)?;
        let server = self.running()?;
        local::subscribe_async(py, server, key, options, wait)
    }

    /// Publishes the stream `key` (`"app/name"`) in-process; refused (`RejectedError`) or
    /// taking over as `publisher_policy` says when someone publishes it already.
    fn publish(&self, key: &str) -> PyResult<local::LocalPublisher> {
        let server = self.running()?;
        local::LocalPublisher::publish(&server, key, Arc::clone(&self.stopped))
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
        self.stopped.store(true, Ordering::Release);
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
