//! `Server`: an RTMP(S) server whose hooks are JS functions.

use std::sync::{Arc, Mutex, OnceLock};

use napi::bindgen_prelude::{Object, PromiseRaw, This};
use napi::{Env, Result};
use napi_derive::napi;
use rtmp_embed::{
    EmbeddedLocalPublisher, EmbeddedServer, EmbeddedSubscription, EventSink, FrameBudget, Runtime,
    parse_stream_key,
};
use tokio::sync::watch;

use crate::error::{RtmpError, code, promise, settled};
use crate::frame::Raw;
use crate::hooks::{Hooks, Sink, SinkSettings};
use crate::local::{LocalPublisher, SubscribeOptions, Subscription};
use crate::options::{ServerOptions, ServerSettings};
use crate::values::{ServerStats, StreamInfo};

/// The runtime servers and clients share unless a server asks for its own (`workerThreads`).
pub(crate) fn shared_runtime() -> std::result::Result<Runtime, RtmpError> {
    static SHARED: OnceLock<Runtime> = OnceLock::new();
    if let Some(runtime) = SHARED.get() {
        return Ok(runtime.clone());
    }
    let runtime = Runtime::new(2)?;
    Ok(SHARED.get_or_init(|| runtime).clone())
}

struct Running {
    server: Arc<EmbeddedServer>,
    sink: Arc<Sink>,
    /// Set when `close()` starts: a `subscribe()` waiting for its stream gives up.
    closing: watch::Sender<bool>,
}

enum State {
    Idle,
    Listening(Running),
    Closing,
}

/// An RTMP server (and RTMPS, with `tls`) whose hooks are the methods of a handler object.
///
/// ```js
/// const server = new Server({ bind: '0.0.0.0:1935' }, {
///   onPublish: (session, request) => request.query.token === 'SECRET',
/// })
/// await server.listen()
/// ```
#[napi]
pub struct Server {
    settings: ServerSettings,
    hooks: Arc<Hooks>,
    /// The bound on frame events waiting for JS, and the count of those dropped.
    budget: Arc<FrameBudget>,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_running<T>(&self, f: impl FnOnce(&EmbeddedServer) -> T) -> Option<T> {
        match &*self.lock() {
            State::Listening(running) => Some(f(&running.server)),
            _ => None,
        }
    }

    fn running(&self) -> std::result::Result<(Arc<EmbeddedServer>, watch::Receiver<bool>), RtmpError> {
        match &*self.lock() {
            State::Listening(running) => Ok((Arc::clone(&running.server), running.closing.subscribe())),
            _ => Err(RtmpError::state("the server is not listening")),
        }
    }

    fn start(&self, env: &Env, this: Object<'_>) -> std::result::Result<(), RtmpError> {
        let mut state = self.lock();
        match *state {
            State::Idle => {}
            State::Listening(_) => return Err(RtmpError::state("the server is already listening")),
            State::Closing => return Err(RtmpError::state("the server is closing; await close() first")),
        }
        let runtime = match self.settings.worker_threads {
            Some(threads) => Runtime::new(threads)?,
            None => shared_runtime()?,
        };
        let sink_settings = SinkSettings {
            decision_timeout: self.settings.embed.decision_timeout,
            media_tag_timeout: self.settings.embed.media_tag_timeout,
            budget: Arc::clone(&self.budget),
            runtime: runtime.handle().clone(),
        };
        let sink = Sink::new(env, this, Arc::clone(&self.hooks), sink_settings)
            .map_err(|e| RtmpError::state(e.reason))?;
        let events: Arc<dyn EventSink> = sink.clone();
        let server = EmbeddedServer::with_runtime(self.settings.embed.clone(), runtime, events)?;
        server.start()?;
        let (closing, _) = watch::channel(false);
        *state = State::Listening(Running { server: Arc::new(server), sink, closing });
        Ok(())
    }
}

#[napi]
impl Server {
    /// Checks the options and the handler (a `TypeError` with code `ERR_RTMP_INVALID_OPTION`
    /// when something is wrong); nothing is bound before `listen()`.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options?: ServerOptions | undefined | null, handler?: ServerHandler | undefined | null"
    )]
    pub fn new(env: Env, options: Option<ServerOptions>, handler: Option<Object<'_>>) -> Result<Self> {
        let settings = options.unwrap_or_default().settings().map_err(|e| e.into_napi(&env))?;
        let hooks = Hooks::from_handler(handler).map_err(|e| e.into_napi(&env))?;
        let budget = Arc::new(FrameBudget::new(settings.embed.max_pending_frames));
        Ok(Self { settings, hooks: Arc::new(hooks), budget, state: Arc::new(Mutex::new(State::Idle)) })
    }

    /// Binds the listener(s) and starts serving. While it listens the server keeps Node alive.
    /// Rejects with `ERR_RTMP_IO` when the address is taken, `ERR_RTMP_STATE` when already
    /// listening. A closed server may listen again.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn listen<'env>(&self, env: &'env Env, this: This<'_>) -> Result<PromiseRaw<'env, ()>> {
        let outcome = self.start(env, this.object);
        settled(env, outcome)
    }

    /// Stops gracefully: every connection gets its status and its `onUnpublish`, `onPlayStop`
    /// and `onDisconnect` events, pending decisions are rejected. Resolves once every event
    /// has been delivered to the handler; after that nothing of the server keeps Node alive.
    /// Closing a server that does not listen does nothing.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let running = {
            let mut state = self.lock();
            match std::mem::replace(&mut *state, State::Idle) {
                State::Listening(running) => {
                    *state = State::Closing;
                    Some(running)
                }
                other => {
                    *state = other;
                    None
                }
            }
        };
        let state = Arc::clone(&self.state);
        promise(
            env,
            async move {
                let Some(Running { server, sink, closing }) = running else { return Ok(()) };
                closing.send_replace(true);
                let stopped = server.stop_async().await;
                sink.finish().await;
                drop(server);
                *state.lock().unwrap_or_else(|e| e.into_inner()) = State::Idle;
                Ok(stopped?)
            },
            |_, ()| Ok(()),
        )
    }

    /// Whether it listens now.
    #[napi(catch_unwind, getter)]
    pub fn listening(&self) -> bool {
        self.with_running(|_| true).unwrap_or(false)
    }

    /// The bound RTMP address (`127.0.0.1:1935`; the real port when bound to port 0), or null
    /// when not listening.
    #[napi(catch_unwind, getter)]
    pub fn address(&self) -> Option<String> {
        self.with_running(|s| s.local_addr().to_string())
    }

    /// The bound RTMP port, or null when not listening.
    #[napi(catch_unwind, getter)]
    pub fn port(&self) -> Option<u32> {
        self.with_running(|s| u32::from(s.local_addr().port()))
    }

    /// The bound RTMPS address, or null without TLS or when not listening.
    #[napi(catch_unwind, getter)]
    pub fn tls_address(&self) -> Option<String> {
        self.with_running(|s| s.tls_local_addr().map(|a| a.to_string())).flatten()
    }

    /// The bound RTMPS port, or null without TLS or when not listening.
    #[napi(catch_unwind, getter)]
    pub fn tls_port(&self) -> Option<u32> {
        self.with_running(|s| s.tls_local_addr().map(|a| u32::from(a.port()))).flatten()
    }

    /// A statistics snapshot (all zero when not listening).
    #[napi(catch_unwind)]
    pub fn stats(&self) -> ServerStats {
        let stats = self.with_running(EmbeddedServer::stats).unwrap_or_default();
        ServerStats::from(&stats)
    }

    /// Reads the stream `key` (`'app/name'`) in-process: resolves with a `Subscription`, an async
    /// iterator of its frames and events, once subscribed. With `waitMs` a stream not published
    /// yet is waited for; without, or when the wait ends, rejects with `ERR_RTMP_NOT_FOUND`.
    /// Rejects with `ERR_RTMP_INVALID_ARGUMENT` for a key that is not `app/name`,
    /// `ERR_RTMP_INVALID_OPTION` for a bad option, `ERR_RTMP_REJECTED` when
    /// `maxPlayersPerStream` are playing, `ERR_RTMP_STATE` when not listening and
    /// `ERR_RTMP_CLOSED` when the server closes while it waits.
    #[napi(catch_unwind, ts_return_type = "Promise<Subscription>")]
    pub fn subscribe<'env>(
        &self,
        env: &'env Env,
        key: String,
        options: Option<SubscribeOptions>,
    ) -> Result<PromiseRaw<'env, Raw>> {
        let options = options.unwrap_or_default().to_core();
        let running = self.running();
        promise(
            env,
            async move {
                let options = options?;
                let (server, mut closing) = running?;
                let subscribe = EmbeddedSubscription::subscribe_async(&server, &key, options);
                // `wait_for`'s guard is not `Send`: dropped inside.
                let closed = async { drop(closing.wait_for(|closing| *closing).await) };
                // The core ends the wait too (NotFound): the server's close comes first, clearer.
                tokio::select! {
                    biased;
                    () = closed => Err(RtmpError::new(code::CLOSED, "the server closed")),
                    subscribed = subscribe => Ok(subscribed?),
                }
            },
            |env, subscription| Subscription::into_js(subscription, env),
        )
    }

    /// Publishes the stream `key` (`'app/name'`) in-process: network players and subscribers
    /// see it as an RTMP publisher's. Throws `ERR_RTMP_REJECTED` when it is published already
    /// and `publisherPolicy` is `'reject-new'` (with `'take-over'` it takes the stream),
    /// `ERR_RTMP_INVALID_ARGUMENT` for a key that is not `app/name`, `ERR_RTMP_STATE` when not
    /// listening.
    #[napi(catch_unwind)]
    pub fn publish(&self, env: &Env, key: String) -> Result<LocalPublisher> {
        let outcome =
            self.running().and_then(|(server, _)| Ok(EmbeddedLocalPublisher::publish(&server, &key)?));
        outcome.map(LocalPublisher::new).map_err(|e| e.into_napi(env))
    }

    /// The live streams: key, who publishes (`'rtmp'` or `'local'`), codecs, RTMP players and
    /// local subscribers (empty when not listening).
    #[napi(catch_unwind)]
    pub fn streams(&self) -> Vec<StreamInfo> {
        let streams = self.with_running(|s| s.handle().streams()).unwrap_or_default();
        streams.iter().map(StreamInfo::from).collect()
    }

    /// Forwards the live stream `key` (`'app/name'`) to `url` (`rtmp://` or `rtmps://`) too,
    /// until it unpublishes or `removeForward(key, url)`; its state shows in `onForward` and in
    /// the stream's `forwards` statistics. Throws `ERR_RTMP_BAD_URL` for a URL that is not RTMP(S),
    /// `ERR_RTMP_NOT_FOUND` when the stream is not live, `ERR_RTMP_DUPLICATE` when it forwards to
    /// that URL already, `ERR_RTMP_INVALID_ARGUMENT` for a key that is not `app/name` and
    /// `ERR_RTMP_STATE` when the server is not listening.
    #[napi(catch_unwind)]
    pub fn add_forward(&self, env: &Env, key: String, url: String) -> Result<()> {
        let outcome = parse_stream_key(&key).map_err(RtmpError::from).and_then(|key| {
            let (server, _) = self.running()?;
            Ok(server.add_forward(&key, &url)?)
        });
        outcome.map_err(|e| e.into_napi(env))
    }

    /// Stops forwarding the stream `key` (`'app/name'`) to `url`, whether a rule, a publish
    /// decision or `addForward` started it; whether it was forwarded there (false too when not
    /// listening). Throws `ERR_RTMP_INVALID_ARGUMENT` for a key that is not `app/name`.
    #[napi(catch_unwind)]
    pub fn remove_forward(&self, env: &Env, key: String, url: String) -> Result<bool> {
        let key = parse_stream_key(&key).map_err(|e| RtmpError::from(e).into_napi(env))?;
        Ok(self.with_running(|s| s.remove_forward(&key, &url)).unwrap_or(false))
    }

    /// Frame events dropped because the JS thread did not keep up (see `maxPendingFrames`).
    #[napi(getter, catch_unwind)]
    pub fn dropped_events(&self) -> f64 {
        self.budget.dropped() as f64
    }
}

impl Drop for Server {
    /// Collected while listening only at process exit (the listening server is referenced by
    /// its event queue): stop it on a helper thread, never blocking the JS thread.
    fn drop(&mut self) {
        let state = std::mem::replace(&mut *self.lock(), State::Idle);
        if let State::Listening(running) = state {
            let _ = std::thread::Builder::new().name("rtmp-rs-drop".into()).spawn(move || drop(running));
        }
    }
}
