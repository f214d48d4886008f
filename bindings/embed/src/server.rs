//! A server driven by the layer: one `RtmpHandler` implementation feeding an [`EventSink`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtmp_core::options::OptionError;
use rtmp_core::proto::amf::AmfObject;
use rtmp_core::proto::message::{ConnectParams, DataMessage, StreamName};
use rtmp_core::server::{
    AudioFrame, Decision, DisconnectReason, ForwardStats, MediaTag, PlayParams, PublishParams, PullStats,
    RtmpHandler, RtmpServer, ServerConfig, ServerHandle, ServerStats, SessionContext, StreamKey, VideoFrame,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::EmbedError;
use super::event::{Answer, Event, EventSink, Hook, Interest, Request, RequestDetails, Session};
use super::frame::Frame;
use super::runtime::{Runtime, in_callback};

/// Where connection events (decisions and notifications) are handed to the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dispatch {
    /// On a blocking-pool thread (`spawn_blocking`): the sink may block (a database lookup)
    /// without holding up other connections. The C API uses this.
    #[default]
    Blocking,
    /// On the connection's runtime worker: the sink must return at once (it queues the event
    /// elsewhere, as the Python and Node skins do).
    Inline,
}

/// A server's settings: the core config plus the layer's own.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The core configuration (every limit, bind address, TLS).
    pub config: ServerConfig,
    /// Runtime worker threads, when the server makes its own runtime. Default 2.
    pub worker_threads: usize,
    /// How long a decision may stay unanswered before it counts as a reject. Default 10 s.
    pub decision_timeout: Duration,
    /// Where connection events run. Default [`Dispatch::Blocking`].
    pub dispatch: Dispatch,
    /// Frame events (metadata, frames, keyframes) a skin's queue holds for a slow handler;
    /// past it they are dropped and counted. Default 10 000.
    pub max_pending_frames: usize,
    /// How long `on_media_tag` in a foreign language may take before the message passes
    /// anyway. Default 1 s.
    pub media_tag_timeout: Duration,
    /// Threads of the pool that runs plain Python decision hooks. Default 40 (as Starlette's
    /// sync endpoints get from anyio).
    pub hook_threads: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            config: ServerConfig::default(),
            worker_threads: 2,
            decision_timeout: Duration::from_secs(10),
            dispatch: Dispatch::Blocking,
            max_pending_frames: 10_000,
            media_tag_timeout: Duration::from_secs(1),
            hook_threads: 40,
        }
    }
}

struct Handler {
    sink: Arc<dyn EventSink>,
    interest: Interest,
    dispatch: Dispatch,
    decision_timeout: Duration,
    stopping: watch::Receiver<bool>,
    next_request: AtomicU64,
}

impl Handler {
    async fn deliver(&self, event: Event) {
        match self.dispatch {
            Dispatch::Inline => self.sink.on_event(event),
            Dispatch::Blocking => {
                let sink = Arc::clone(&self.sink);
                let hook = event.hook();
                if let Err(error) = tokio::task::spawn_blocking(move || sink.on_event(event)).await {
                    tracing::error!(?hook, %error, "event sink failed");
                }
            }
        }
    }

    /// Raises a decision event and waits for its answer, the timeout or the server's stop.
    async fn decide(
        &self,
        hook: Hook,
        session: Session,
        details: RequestDetails,
        event: fn(Request) -> Event,
    ) -> Decision {
        if !self.interest.contains(hook) {
            return Decision::Accept;
        }
        match self.ask(hook, session, details, event).await {
            Ok(Answer::Decision(decision)) => decision,
            Ok(Answer::Upstreams(urls)) => Decision::from(!urls.is_empty()),
            Ok(Answer::Password(password)) => Decision::from(password.is_some()),
            Err(reason) => Decision::reject(reason),
        }
    }

    /// Raises a request event and waits for its answer; the reason it got none otherwise.
    async fn ask(
        &self,
        hook: Hook,
        session: Session,
        details: RequestDetails,
        event: fn(Request) -> Event,
    ) -> Result<Answer, &'static str> {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let (request, answer) = Request::new(id, session, details);
        self.deliver(event(request)).await;
        let mut stopping = self.stopping.clone();
        tokio::select! {
            answer = answer => answer.map_err(|_| "No answer."),
            _ = tokio::time::sleep(self.decision_timeout) => {
                tracing::info!(request = id, ?hook, "decision timeout: rejected");
                Err("Decision timeout.")
            }
            _ = super::runtime::until_true(&mut stopping) => Err("Server shutting down."),
        }
    }

    async fn notify(&self, hook: Hook, event: impl FnOnce() -> Event) {
        if self.interest.contains(hook) {
            self.deliver(event()).await;
        }
    }

    fn frame_event(&self, hook: Hook, event: impl FnOnce() -> Event) {
        if self.interest.contains(hook) {
            self.sink.on_event(event());
        }
    }
}

impl RtmpHandler for Handler {
    async fn on_connection(&self, peer_addr: SocketAddr) -> Decision {
        let session = Session::unassigned(peer_addr);
        self.decide(Hook::Connection, session, RequestDetails::Connection, |request| Event::Connection {
            request,
        })
        .await
    }

    async fn on_handshake_complete(&self, ctx: &SessionContext) {
        self.notify(Hook::HandshakeComplete, || Event::HandshakeComplete {
            session: Session::from_context(ctx),
        })
        .await;
    }

    async fn on_connect(&self, ctx: &SessionContext, _params: &ConnectParams) -> Decision {
        let session = Session::from_context(ctx);
        self.decide(Hook::Connect, session, RequestDetails::Connect, |request| Event::Connect { request })
            .await
    }

    async fn on_fc_publish(&self, ctx: &SessionContext, name: &StreamName) {
        self.notify(Hook::FcPublish, || Event::FcPublish {
            session: Session::from_context(ctx),
            name: name.clone(),
        })
        .await;
    }

    async fn on_publish(&self, ctx: &SessionContext, params: &PublishParams) -> Decision {
        let details = RequestDetails::Publish(params.clone());
        self.decide(Hook::Publish, Session::from_context(ctx), details, |request| Event::Publish { request })
            .await
    }

    async fn on_unpublish(&self, ctx: &SessionContext, key: &StreamKey) {
        self.notify(Hook::Unpublish, || Event::Unpublish {
            session: Session::from_context(ctx),
            key: key.clone(),
        })
        .await;
    }

    async fn on_publish_interrupted(&self, ctx: &SessionContext, key: &StreamKey) {
        self.notify(Hook::PublishInterrupted, || Event::PublishInterrupted {
            session: Session::from_context(ctx),
            key: key.clone(),
        })
        .await;
    }

    async fn on_publish_resumed(&self, ctx: &SessionContext, key: &StreamKey, outage: Duration) {
        self.notify(Hook::PublishResumed, || Event::PublishResumed {
            session: Session::from_context(ctx),
            key: key.clone(),
            outage,
        })
        .await;
    }

    async fn on_play(&self, ctx: &SessionContext, params: &PlayParams) -> Decision {
        let details = RequestDetails::Play(params.clone());
        self.decide(Hook::Play, Session::from_context(ctx), details, |request| Event::Play { request }).await
    }

    async fn on_play_stop(&self, ctx: &SessionContext, key: &StreamKey) {
        self.notify(Hook::PlayStop, || Event::PlayStop {
            session: Session::from_context(ctx),
            key: key.clone(),
        })
        .await;
    }

    async fn on_pause(&self, ctx: &SessionContext, key: &StreamKey) {
        self.notify(Hook::Pause, || Event::Pause { session: Session::from_context(ctx), key: key.clone() })
            .await;
    }

    async fn on_unpause(&self, ctx: &SessionContext, key: &StreamKey) {
        self.notify(Hook::Unpause, || Event::Unpause {
            session: Session::from_context(ctx),
            key: key.clone(),
        })
        .await;
    }

    fn on_metadata(&self, ctx: &SessionContext, key: &StreamKey, metadata: &AmfObject) {
        self.frame_event(Hook::Metadata, || Event::Metadata {
            session: Session::from_context(ctx),
            frame: Arc::new(Frame::from_metadata(Some(key), 0, metadata)),
        });
    }

    fn on_data(&self, ctx: &SessionContext, key: &StreamKey, data: &DataMessage) {
        self.frame_event(Hook::Data, || Event::Data {
            session: Session::from_context(ctx),
            key: key.clone(),
            data: data.clone(),
        });
    }

    fn on_media_tag(&self, ctx: &SessionContext, tag: &MediaTag<'_>) -> bool {
        if !self.interest.contains(Hook::MediaTag) {
            return true;
        }
        self.sink.filter_media(&Session::from_context(ctx), &Arc::new(Frame::from_media_tag(tag)))
    }

    fn on_video_frame(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        self.frame_event(Hook::VideoFrame, || Event::VideoFrame {
            session: Session::from_context(ctx),
            frame: Arc::new(Frame::from_video(frame)),
        });
    }

    fn on_audio_frame(&self, ctx: &SessionContext, frame: &AudioFrame<'_>) {
        self.frame_event(Hook::AudioFrame, || Event::AudioFrame {
            session: Session::from_context(ctx),
            frame: Arc::new(Frame::from_audio(frame)),
        });
    }

    fn on_keyframe(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        self.frame_event(Hook::Keyframe, || Event::Keyframe {
            session: Session::from_context(ctx),
            frame: Arc::new(Frame::from_video(frame)),
        });
    }

    async fn on_disconnect(&self, ctx: &SessionContext, reason: &DisconnectReason) {
        self.notify(Hook::Disconnect, || Event::Disconnect {
            session: Session::from_context(ctx),
            reason: reason.clone(),
        })
        .await;
    }

    fn on_stats(&self, stats: &ServerStats) {
        self.frame_event(Hook::Stats, || Event::Stats { stats: Arc::new(stats.clone()) });
    }

    fn on_forward(&self, key: &StreamKey, forward: &ForwardStats) {
        self.frame_event(Hook::Forward, || Event::Forward { key: key.clone(), stats: forward.clone() });
    }

    async fn on_locate(&self, key: &StreamKey) -> Vec<String> {
        if !self.interest.contains(Hook::Locate) {
            return Vec::new();
        }
        let session = Session::unassigned(SocketAddr::from(([0, 0, 0, 0], 0)));
        let details = RequestDetails::Locate(key.clone());
        match self.ask(Hook::Locate, session, details, |request| Event::Locate { request }).await {
            Ok(Answer::Upstreams(urls)) => urls,
            Ok(Answer::Decision(_) | Answer::Password(_)) | Err(_) => Vec::new(),
        }
    }

    async fn on_credentials(&self, ctx: &SessionContext, app: &str, user: &str) -> Option<String> {
        if !self.interest.contains(Hook::Credentials) {
            return None;
        }
        let details = RequestDetails::Credentials { app: app.to_owned(), user: user.to_owned() };
        let session = Session::from_context(ctx);
        match self.ask(Hook::Credentials, session, details, |request| Event::Credentials { request }).await {
            Ok(Answer::Password(password)) => password,
            Ok(Answer::Decision(_) | Answer::Upstreams(_)) | Err(_) => None,
        }
    }

    fn on_pull(&self, key: &StreamKey, pull: &PullStats) {
        self.frame_event(Hook::Pull, || Event::Pull { key: key.clone(), stats: pull.clone() });
    }
}

enum State {
    Bound(Box<RtmpServer<Handler>>),
    Running(JoinHandle<io::Result<()>>),
    Stopped,
}

/// A server with its runtime and sink: bound at construction, then started and stopped.
pub struct EmbeddedServer {
    runtime: Runtime,
    handle: ServerHandle,
    local_addr: SocketAddr,
    tls_local_addr: Option<SocketAddr>,
    stopping: watch::Sender<bool>,
    state: Mutex<State>,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// A config the core refused as a whole (a value the schema took may still be wrong with the
/// others, or a `relay_tls_roots` file unreadable) is the skins' argument error, not a network
/// one; other errors (binding) stay I/O.
fn config_error(error: io::Error) -> EmbedError {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<OptionError>()) {
        Some(refused) => EmbedError::InvalidArgument(refused.to_string()),
        None => EmbedError::Io(error),
    }
}

impl EmbeddedServer {
    /// Binds the listener(s) with a runtime of its own (`options.worker_threads`).
    pub fn new(options: ServerOptions, sink: Arc<dyn EventSink>) -> Result<Self, EmbedError> {
        let runtime = Runtime::new(options.worker_threads)?;
        Self::with_runtime(options, runtime, sink)
    }

    /// Binds the listener(s) on a shared runtime.
    pub fn with_runtime(
        options: ServerOptions,
        runtime: Runtime,
        sink: Arc<dyn EventSink>,
    ) -> Result<Self, EmbedError> {
        let (stopping, stopping_rx) = watch::channel(false);
        let handler = Handler {
            interest: sink.interest(),
            sink,
            dispatch: options.dispatch,
            decision_timeout: options.decision_timeout,
            stopping: stopping_rx,
            next_request: AtomicU64::new(0),
        };
        // Built inside the runtime, the core knows it at once: forwards and pulls asked for
        // right after `start` (before the serving task first runs) have their runtime.
        let server = {
            let _entered = runtime.handle().enter();
            RtmpServer::new(options.config, handler).map_err(config_error)?
        };
        let local_addr = server.local_addr()?;
        let tls_local_addr = server.tls_local_addr().transpose()?;
        Ok(Self {
            runtime,
            handle: server.handle(),
            local_addr,
            tls_local_addr,
            stopping,
            state: Mutex::new(State::Bound(Box::new(server))),
        })
    }

    /// The bound RTMP address (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound RTMPS address, when TLS is configured.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.tls_local_addr
    }

    /// The runtime the server runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Starts serving on the runtime; returns at once.
    pub fn start(&self) -> Result<(), EmbedError> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Stopped) {
            State::Bound(server) => {
                // `run_until` turns the std listeners into tokio ones: it must run inside the runtime.
                *state = State::Running(self.runtime.handle().spawn(server.run()));
                Ok(())
            }
            other => {
                *state = other;
                Err(EmbedError::InvalidState("the server was already started"))
            }
        }
    }

    /// Whether it serves now.
    pub fn is_running(&self) -> bool {
        matches!(*self.lock(), State::Running(ref task) if !task.is_finished())
    }

    /// Stops gracefully and waits: every connection gets its status and its `on_unpublish`,
    /// `on_play_stop` and `on_disconnect` events, pending decisions are rejected. No event
    /// arrives after it returns. Idempotent; refused inside a callback (it would wait for the
    /// callback itself).
    pub fn stop(&self) -> Result<(), EmbedError> {
        if in_callback().is_some() {
            return Err(EmbedError::InCallback("stopping a server"));
        }
        let task = self.begin_stop();
        match task {
            Some(task) => match self.runtime.block_on("stopping a server", task)? {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(EmbedError::Io(e)),
                Err(_) => Err(EmbedError::Panic),
            },
            None => Ok(()),
        }
    }

    /// Stops gracefully from async code (the Python and Node skins): the same as
    /// [`stop`](Self::stop) without blocking a thread.
    pub async fn stop_async(&self) -> Result<(), EmbedError> {
        match self.begin_stop() {
            Some(task) => match task.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(EmbedError::Io(e)),
                Err(_) => Err(EmbedError::Panic),
            },
            None => Ok(()),
        }
    }

    /// Signals the stop; returns the serving task to wait for, if it was running.
    fn begin_stop(&self) -> Option<JoinHandle<io::Result<()>>> {
        self.stopping.send_replace(true);
        self.handle.shutdown();
        match std::mem::replace(&mut *self.lock(), State::Stopped) {
            State::Running(task) => Some(task),
            State::Bound(_) | State::Stopped => None,
        }
    }

    /// A statistics snapshot.
    pub fn stats(&self) -> ServerStats {
        self.handle.stats()
    }

    /// Forwards live stream `key` to `url` too (RTMP or RTMPS), until it unpublishes or
    /// [`remove_forward`](Self::remove_forward).
    pub fn add_forward(&self, key: &StreamKey, url: &str) -> Result<(), EmbedError> {
        self.handle.add_forward(key, url).map_err(EmbedError::Forward)
    }

    /// Stops forwarding `key` to `url`; whether it was forwarded there.
    pub fn remove_forward(&self, key: &StreamKey, url: &str) -> bool {
        self.handle.remove_forward(key, url)
    }

    /// The core server's handle: its streams in-process ([`crate::EmbeddedSubscription`],
    /// [`crate::EmbeddedLocalPublisher`]) and [`ServerHandle::streams`].
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for EmbeddedServer {
    /// Stops like [`stop`](Self::stop). Inside a callback or an async context, where waiting
    /// could deadlock, the stop finishes on a helper thread instead.
    fn drop(&mut self) {
        let Some(task) = self.begin_stop() else { return };
        if in_callback().is_none() && tokio::runtime::Handle::try_current().is_err() {
            let _ = self.runtime.handle().block_on(task);
        } else {
            let runtime = self.runtime.clone();
            let _ = std::thread::Builder::new().name("rtmp-rs-stop".into()).spawn(move || {
                let _ = runtime.handle().block_on(task);
                drop(runtime);
            });
        }
    }
}
