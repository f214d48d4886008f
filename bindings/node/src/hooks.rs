//! Hooks: the embedding layer's events carried to the JS thread and the answers carried back.
//!
//! One strong ThreadsafeFunction per listening server carries every event (decisions,
//! notifications, frames, `onMediaTag` filters, error reports) in one FIFO queue, so JS sees the
//! events of a connection in the order the server raised them. Its JS function is a no-op bound
//! to the `Server` object: the queue's callback does the work on the JS thread (calls the hook,
//! settles the Promise it returns, answers the request), and the binding keeps the `Server`
//! object alive while it listens. `close()` pushes a barrier through the same queue after the
//! server stopped and then drops the function, so nothing keeps Node alive afterwards.
//!
//! Decisions are answered from the JS thread (at once, or when the returned Promise settles);
//! the layer's `tokio::select!` against `decisionTimeoutMs` rejects a decision that does not
//! settle in time, and a timer reports it to `onError`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, LazyLock, RwLock, Weak};
use std::time::Duration;

use napi::bindgen_prelude::{
    CallbackContext, FromNapiValue, Function, FunctionRef, Object, PromiseRaw, ToNapiValue, Unknown,
};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, sys};
use rtmp_core::options::Kind;
use rtmp_embed::{
    Admission, AnswerError, Event, EventSink, Frame as EmbedFrame, FrameBudget, Hook, Interest, Request,
    RequestKind, Session as EmbedSession, Verdict, node_name, wait_for_verdict,
};
use tokio::sync::oneshot;

use crate::error::{RtmpError, code};
use crate::frame::{Frame, data_message_to_js};
use crate::js;
use crate::values::{
    DisconnectReason, ForwardStats, PullStats, RtmpRequest, ServerStats, Session, StreamKey, StreamNameInfo,
};

/// The handler's hook names (`onPublish`), in `Hook::ALL` order: the layer's, camelCased.
pub(crate) static HOOK_NAMES: LazyLock<[String; Hook::ALL.len()]> =
    LazyLock::new(|| Hook::ALL.map(|hook| node_name(hook.name(), &Kind::Bool)));

fn name(hook: Hook) -> &'static str {
    HOOK_NAMES[hook as usize].as_str()
}

type JsFn = FunctionRef<(), ()>;

/// The handler object's functions, each bound to the handler (so `this` works in methods).
pub(crate) struct Hooks {
    hooks: Vec<Option<JsFn>>,
    on_error: Option<JsFn>,
}

impl Hooks {
    /// Reads the hooks of `handler`; unknown `on*` names are refused (a typo would otherwise
    /// silently accept everything).
    pub(crate) fn from_handler(handler: Option<Object<'_>>) -> Result<Self, RtmpError> {
        let mut hooks = Self { hooks: (0..HOOK_NAMES.len()).map(|_| None).collect(), on_error: None };
        let Some(handler) = handler else { return Ok(hooks) };
        let fail = |e: napi::Error| RtmpError::invalid(e.reason);
        for key in Object::keys(&handler).map_err(fail)? {
            if key.starts_with("on") && key != "onError" && !HOOK_NAMES.contains(&key) {
                return Err(RtmpError::invalid(format!(
                    "unknown hook {key}; the hooks are {} and onError",
                    HOOK_NAMES.join(", ")
                )));
            }
        }
        let read = |name: &str| -> Result<Option<JsFn>, RtmpError> {
            let Some(value) = handler.get::<Unknown>(name).map_err(fail)? else { return Ok(None) };
            match value.get_type().map_err(fail)? {
                napi::ValueType::Undefined | napi::ValueType::Null => Ok(None),
                napi::ValueType::Function => {
                    let function: Function<(), ()> = unsafe { value.cast() }.map_err(fail)?;
                    Ok(Some(function.bind(handler).and_then(|f| f.create_ref()).map_err(fail)?))
                }
                _ => Err(RtmpError::invalid(format!("handler.{name} must be a function"))),
            }
        };
        for (slot, name) in hooks.hooks.iter_mut().zip(HOOK_NAMES.iter()) {
            *slot = read(name)?;
        }
        hooks.on_error = read("onError")?;
        Ok(hooks)
    }

    /// The hooks the handler defines.
    pub(crate) fn interest(&self) -> Interest {
        Hook::ALL
            .iter()
            .fold(Interest::NONE, |set, &hook| set.with_if(hook, self.hooks[hook as usize].is_some()))
    }

    fn function(&self, env: &Env, hook: Hook) -> napi::Result<Option<js::Value>> {
        match &self.hooks[hook as usize] {
            Some(f) => Ok(Some(f.borrow_back(env)?.raw())),
            None => Ok(None),
        }
    }

    /// Hands `error` (what a hook threw, or an error the library made) to `onError`, or to
    /// stderr when there is none. Never throws.
    fn report(&self, env: &Env, hook: &str, error: js::Value) {
        let raw = env.raw();
        let handler = match &self.on_error {
            Some(f) => f.borrow_back(env).map(|f| f.raw()),
            None => Err(napi::Error::from_reason("no onError")),
        };
        let Ok(handler) = handler else {
            eprintln!("rtmp-rs: error in {hook}: {}", describe(raw, error));
            return;
        };
        let outcome = js::string(raw, hook).and_then(|hook| js::call(raw, handler, &[error, hook]));
        match outcome {
            Ok(Ok(value)) if js::is_promise(raw, value) => {
                let promise = unsafe { PromiseRaw::<Unknown<'static>>::from_napi_value(raw, value) };
                let _ = promise.and_then(|p| {
                    p.catch(|ctx: CallbackContext<Unknown<'static>>| {
                        eprintln!("rtmp-rs: onError rejected: {}", describe(ctx.env.raw(), ctx.value.raw()));
                        Ok(())
                    })
                });
            }
            Ok(Ok(_)) => {}
            Ok(Err(thrown)) => eprintln!("rtmp-rs: onError threw: {}", describe(raw, thrown)),
            Err(e) => eprintln!("rtmp-rs: error in {hook} (and onError could not be called: {e})"),
        }
    }

    fn report_new(&self, env: &Env, hook: &str, code: &str, message: &str, type_error: bool) {
        match js::error(env.raw(), code, message, type_error) {
            Ok(error) => self.report(env, hook, error),
            Err(e) => eprintln!("rtmp-rs: error in {hook}: {code}: {message} ({e})"),
        }
    }
}

/// `code: message` of an error, or the reason of any other thrown value.
fn describe(env: sys::napi_env, value: js::Value) -> String {
    js::reason(env, value, "(no message)")
}

/// What travels to the JS thread.
pub(crate) enum Item {
    Event(Event),
    MediaTag { session: EmbedSession, frame: Arc<EmbedFrame>, reply: SyncSender<bool> },
    Failure { hook: &'static str, code: &'static str, message: String },
    Barrier(oneshot::Sender<()>),
}

type Tsfn = ThreadsafeFunction<Item, (), (), Status, false, false, 0>;

/// The JS-thread half: runs in the ThreadsafeFunction's callback.
struct Dispatcher {
    hooks: Arc<Hooks>,
    budget: Arc<FrameBudget>,
}

impl Dispatcher {
    fn dispatch(&self, env: &Env, item: Item) {
        match catch_unwind(AssertUnwindSafe(|| self.handle(env, item))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("rtmp-rs: event dispatch failed: {e}"),
            Err(_) => eprintln!("rtmp-rs: event dispatch panicked"),
        }
    }

    fn handle(&self, env: &Env, item: Item) -> napi::Result<()> {
        let raw = env.raw();
        match item {
            Item::Event(event) => self.event(env, event),
            Item::MediaTag { session, frame, reply } => {
                let Some(f) = self.hooks.function(env, Hook::MediaTag)? else {
                    let _ = reply.try_send(true);
                    return Ok(());
                };
                let args = [to_js(raw, Session::new(&session))?, to_js(raw, Frame::new(frame))?];
                match js::call(raw, f, &args)? {
                    Err(thrown) => {
                        let _ = reply.try_send(true);
                        self.hooks.report(env, "onMediaTag", thrown);
                    }
                    Ok(value) if js::is_promise(raw, value) => {
                        let (hooks, hooks2) = (Arc::clone(&self.hooks), Arc::clone(&self.hooks));
                        let reply2 = reply.clone();
                        let promise = unsafe { PromiseRaw::<Unknown<'static>>::from_napi_value(raw, value)? };
                        promise
                            .then(move |ctx| {
                                let _ = reply.try_send(filter_value(&ctx.env, &hooks, ctx.value.raw()));
                                Ok(())
                            })?
                            .catch(move |ctx: CallbackContext<Unknown<'static>>| {
                                let _ = reply2.try_send(true);
                                hooks2.report(&ctx.env, "onMediaTag", ctx.value.raw());
                                Ok(())
                            })?;
                    }
                    Ok(value) => {
                        let _ = reply.try_send(filter_value(env, &self.hooks, value));
                    }
                }
                Ok(())
            }
            Item::Failure { hook, code, message } => {
                self.hooks.report_new(env, hook, code, &message, false);
                Ok(())
            }
            Item::Barrier(done) => {
                let _ = done.send(());
                Ok(())
            }
        }
    }

    fn event(&self, env: &Env, event: Event) -> napi::Result<()> {
        let raw = env.raw();
        let hook = event.hook();
        self.budget.done(hook);
        let Some(f) = self.hooks.function(env, hook)? else { return Ok(()) };
        match event {
            Event::Connection { request }
            | Event::Connect { request }
            | Event::Publish { request }
            | Event::Play { request } => {
                let args =
                    [to_js(raw, Session::new(request.session()))?, to_js(raw, RtmpRequest::new(&request))?];
                match js::call(raw, f, &args)? {
                    // Throwing is rejecting, with the error's message as the reason.
                    Err(thrown) => {
                        let _ = request.reject(js::reason(raw, thrown, "Rejected."));
                    }
                    Ok(value) if js::is_promise(raw, value) => {
                        let hooks = Arc::clone(&self.hooks);
                        let on_reject = request.clone();
                        let promise = unsafe { PromiseRaw::<Unknown<'static>>::from_napi_value(raw, value)? };
                        promise
                            .then(move |ctx| {
                                decide(&ctx.env, &hooks, hook, ctx.value.raw(), &request);
                                Ok(())
                            })?
                            .catch(move |ctx: CallbackContext<Unknown<'static>>| {
                                let _ =
                                    on_reject.reject(js::reason(ctx.env.raw(), ctx.value.raw(), "Rejected."));
                                Ok(())
                            })?;
                    }
                    Ok(value) => decide(env, &self.hooks, hook, value, &request),
                }
                Ok(())
            }
            Event::HandshakeComplete { session } => {
                self.notify(env, hook, f, &[to_js(raw, Session::new(&session))?])
            }
            Event::FcPublish { session, name } => {
                let args = [to_js(raw, Session::new(&session))?, to_js(raw, StreamNameInfo::from(&name))?];
                self.notify(env, hook, f, &args)
            }
            Event::Unpublish { session, key }
            | Event::PlayStop { session, key }
            | Event::Pause { session, key }
            | Event::Unpause { session, key }
            | Event::PublishInterrupted { session, key } => {
                let args = [to_js(raw, Session::new(&session))?, to_js(raw, StreamKey::from(&key))?];
                self.notify(env, hook, f, &args)
            }
            Event::PublishResumed { session, key, outage } => {
                let args = [
                    to_js(raw, Session::new(&session))?,
                    to_js(raw, StreamKey::from(&key))?,
                    to_js(raw, outage.as_secs_f64() * 1000.0)?,
                ];
                self.notify(env, hook, f, &args)
            }
            Event::Metadata { session, frame }
            | Event::VideoFrame { session, frame }
            | Event::AudioFrame { session, frame }
            | Event::Keyframe { session, frame } => {
                let args = [to_js(raw, Session::new(&session))?, to_js(raw, Frame::new(frame))?];
                self.notify(env, hook, f, &args)
            }
            Event::Disconnect { session, reason } => {
                let args =
                    [to_js(raw, Session::new(&session))?, to_js(raw, DisconnectReason::from(&reason))?];
                self.notify(env, hook, f, &args)
            }
            Event::Stats { stats } => self.notify(env, hook, f, &[to_js(raw, ServerStats::from(&*stats))?]),
            Event::Forward { key, stats } => {
                let args = [to_js(raw, StreamKey::from(&key))?, to_js(raw, ForwardStats::from(&stats))?];
                self.notify(env, hook, f, &args)
            }
            Event::Pull { key, stats } => {
                let args = [to_js(raw, StreamKey::from(&key))?, to_js(raw, PullStats::from(&stats))?];
                self.notify(env, hook, f, &args)
            }
            Event::Locate { request } => self.locate(env, f, request),
            Event::Data { session, key, data } => {
                let args = [
                    to_js(raw, Session::new(&session))?,
                    to_js(raw, StreamKey::from(&key))?,
                    data_message_to_js(raw, &data)?,
                ];
                self.notify(env, hook, f, &args)
            }
            Event::Credentials { request } => self.credentials(env, f, request),
        }
    }

    /// Calls `onCredentials(app, user)`; answers `request` with the password it returns (or its
    /// Promise resolves to). A throw, a rejection or a value that is neither a string nor null /
    /// undefined is reported to `onError` and counts as no such user.
    fn credentials(&self, env: &Env, f: js::Value, request: Request) -> napi::Result<()> {
        let raw = env.raw();
        let args = [js::string(raw, request.app())?, js::string(raw, request.user().unwrap_or_default())?];
        self.answer_with(env, Hook::Credentials, f, &args, request, password_answer, |request| {
            let _ = request.credentials(None);
        })
    }

    /// Calls `onLocate(key)`; answers `request` with the upstreams it returns (or its Promise
    /// resolves to). A throw, a rejection or a value that is not a list of URLs is reported to
    /// `onError` and names no upstream (the `pull` rules apply).
    fn locate(&self, env: &Env, f: js::Value, request: Request) -> napi::Result<()> {
        let raw = env.raw();
        let key = request
            .key()
            .map(StreamKey::from)
            .unwrap_or(StreamKey { app: String::new(), name: String::new() });
        self.answer_with(env, Hook::Locate, f, &[to_js(raw, key)?], request, locate_answer, |request| {
            let _ = request.reject("onLocate failed.");
        })
    }

    /// Calls a hook that answers `request` with a value: `answer` takes what it returns (or its
    /// Promise resolves to); a throw or a rejection answers with `failed` and goes to `onError`.
    #[allow(clippy::too_many_arguments)]
    fn answer_with(
        &self,
        env: &Env,
        hook: Hook,
        f: js::Value,
        args: &[js::Value],
        request: Request,
        answer: fn(&Env, &Hooks, js::Value, &Request),
        failed: fn(&Request),
    ) -> napi::Result<()> {
        let raw = env.raw();
        match js::call(raw, f, args)? {
            Err(thrown) => {
                failed(&request);
                self.hooks.report(env, name(hook), thrown);
            }
            Ok(value) if js::is_promise(raw, value) => {
                let (hooks, hooks2) = (Arc::clone(&self.hooks), Arc::clone(&self.hooks));
                let on_reject = request.clone();
                let promise = unsafe { PromiseRaw::<Unknown<'static>>::from_napi_value(raw, value)? };
                promise
                    .then(move |ctx| {
                        answer(&ctx.env, &hooks, ctx.value.raw(), &request);
                        Ok(())
                    })?
                    .catch(move |ctx: CallbackContext<Unknown<'static>>| {
                        failed(&on_reject);
                        hooks2.report(&ctx.env, name(hook), ctx.value.raw());
                        Ok(())
                    })?;
            }
            Ok(value) => answer(env, &self.hooks, value, &request),
        }
        Ok(())
    }

    /// Calls a notification hook; a throw or a rejected Promise goes to `onError`.
    fn notify(&self, env: &Env, hook: Hook, f: js::Value, args: &[js::Value]) -> napi::Result<()> {
        let raw = env.raw();
        match js::call(raw, f, args)? {
            Err(thrown) => self.hooks.report(env, name(hook), thrown),
            Ok(value) if js::is_promise(raw, value) => {
                let hooks = Arc::clone(&self.hooks);
                let promise = unsafe { PromiseRaw::<Unknown<'static>>::from_napi_value(raw, value)? };
                promise.catch(move |ctx: CallbackContext<Unknown<'static>>| {
                    hooks.report(&ctx.env, name(hook), ctx.value.raw());
                    Ok(())
                })?;
            }
            Ok(_) => {}
        }
        Ok(())
    }
}

fn to_js<T: ToNapiValue>(env: sys::napi_env, value: T) -> napi::Result<js::Value> {
    unsafe { T::to_napi_value(env, value) }
}

/// A field of a decision object: missing (or undefined), well-formed, or malformed.
enum Field<T> {
    Missing,
    Given(T),
    Malformed,
}

/// The `latencyBudgetMs` of a decision object: `Given(None)` for null (no limit).
fn latency_budget(env: sys::napi_env, object: js::Value) -> Field<Option<Duration>> {
    let Ok(value) = js::get(env, object, "latencyBudgetMs") else { return Field::Malformed };
    match js::type_of(env, value) {
        Ok(sys::ValueType::napi_undefined) => Field::Missing,
        Ok(sys::ValueType::napi_null) => Field::Given(None),
        Ok(sys::ValueType::napi_number) => {
            let duration = unsafe { f64::from_napi_value(env, value) }
                .ok()
                .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
            duration.map_or(Field::Malformed, |d| Field::Given(Some(d)))
        }
        _ => Field::Malformed,
    }
}

/// A list of URLs: an array of strings.
fn urls(env: sys::napi_env, value: js::Value) -> Option<Vec<String>> {
    if !js::is_array(env, value) {
        return None;
    }
    unsafe { Vec::<String>::from_napi_value(env, value) }.ok()
}

/// The `forward` of a decision object: the URLs a publish is forwarded to.
fn forward(env: sys::napi_env, object: js::Value) -> Field<Vec<String>> {
    let Ok(value) = js::get(env, object, "forward") else { return Field::Malformed };
    match js::type_of(env, value) {
        Ok(sys::ValueType::napi_undefined) => Field::Missing,
        _ => urls(env, value).map_or(Field::Malformed, Field::Given),
    }
}

/// Answers `request` with a decision object (`{ latencyBudgetMs }`, `{ forward }`); `Err` when
/// it is not one, with what is wrong when it is more than the shape.
fn decide_object(
    env: sys::napi_env,
    value: js::Value,
    request: &Request,
) -> Result<Result<(), AnswerError>, Option<String>> {
    match (forward(env, value), latency_budget(env, value)) {
        (Field::Malformed, _) | (_, Field::Malformed) | (Field::Missing, Field::Missing) => Err(None),
        (Field::Given(_), Field::Given(budget)) if request.kind() == RequestKind::Play => {
            Ok(request.accept_with_latency_budget(budget))
        }
        (Field::Given(urls), _) => match request.accept_with_forward(urls) {
            Err(AnswerError::BadUrl(why)) => Err(Some(format!("forward: {why}"))),
            answered => Ok(answered),
        },
        (Field::Missing, Field::Given(budget)) => Ok(request.accept_with_latency_budget(budget)),
    }
}

/// Answers `request` with what a decision hook returned (or its Promise resolved to).
fn decide(env: &Env, hooks: &Hooks, hook: Hook, value: js::Value, request: &Request) {
    let raw = env.raw();
    let answer = match js::type_of(raw, value) {
        Ok(sys::ValueType::napi_boolean) => match unsafe { bool::from_napi_value(raw, value) } {
            Ok(true) => Ok(request.accept()),
            _ => Ok(request.reject("Rejected.")),
        },
        Ok(sys::ValueType::napi_undefined | sys::ValueType::napi_null) => Ok(request.accept()),
        Ok(sys::ValueType::napi_object) => decide_object(raw, value, request),
        _ => Err(None),
    };
    // An expired request (timeout, disconnect, shutdown) was rejected already; the timeout is
    // reported by the timer.
    if let Err(detail) = answer {
        let _ = request.reject("Invalid decision.");
        let message = match detail {
            Some(detail) => format!("{}: {detail}; the request was rejected", name(hook)),
            None => format!(
                "{} must return true, false, undefined, {{ latencyBudgetMs: number | null }} (onPlay), \
                 {{ forward: string[] }} (onPublish) or a Promise of one (throw or reject to refuse with a \
                 reason); the request was rejected",
                name(hook)
            ),
        };
        hooks.report_new(env, name(hook), code::INVALID_DECISION, &message, true);
    }
}

/// Answers a locate `request` with what `onLocate` returned (or its Promise resolved to): a
/// list of URLs, or null / undefined for none (the `pull` rules).
fn locate_answer(env: &Env, hooks: &Hooks, value: js::Value, request: &Request) {
    let raw = env.raw();
    let upstreams = match js::type_of(raw, value) {
        Ok(sys::ValueType::napi_undefined | sys::ValueType::napi_null) => Ok(Vec::new()),
        _ => urls(raw, value).ok_or(None),
    };
    let answered = upstreams.and_then(|urls| match request.locate(urls) {
        Err(AnswerError::BadUrl(why)) => Err(Some(why)),
        _ => Ok(()),
    });
    if let Err(detail) = answered {
        let _ = request.reject("Invalid decision.");
        let message = match detail {
            Some(detail) => format!("onLocate: {detail}; no upstream was taken from it"),
            None => "onLocate must return an array of upstream URLs (strings), null, undefined or a \
                     Promise of one; no upstream was taken from it"
                .to_owned(),
        };
        hooks.report_new(env, name(Hook::Locate), code::INVALID_DECISION, &message, true);
    }
}

/// Answers a credentials `request` with what `onCredentials` returned (or its Promise resolved
/// to): the password (a string), or null / undefined for no such user.
fn password_answer(env: &Env, hooks: &Hooks, value: js::Value, request: &Request) {
    let raw = env.raw();
    let password = match js::type_of(raw, value) {
        Ok(sys::ValueType::napi_undefined | sys::ValueType::napi_null) => Ok(None),
        Ok(sys::ValueType::napi_string) => {
            unsafe { String::from_napi_value(raw, value) }.map(Some).map_err(|_| ())
        }
        _ => Err(()),
    };
    match password {
        Ok(password) => {
            let _ = request.credentials(password);
        }
        Err(()) => {
            let _ = request.credentials(None);
            let message = "onCredentials must return the user's password (a string), null (no such user), \
                           undefined or a Promise of one; the user counts as unknown";
            hooks.report_new(env, name(Hook::Credentials), code::INVALID_DECISION, message, true);
        }
    }
}

/// What `onMediaTag` returned: false drops the message; anything else but a boolean keeps it
/// and is reported.
fn filter_value(env: &Env, hooks: &Hooks, value: js::Value) -> bool {
    let raw = env.raw();
    match js::type_of(raw, value) {
        Ok(sys::ValueType::napi_boolean) => unsafe { bool::from_napi_value(raw, value) }.unwrap_or(true),
        Ok(sys::ValueType::napi_undefined | sys::ValueType::napi_null) => true,
        _ => {
            let message = "onMediaTag must return a boolean or a Promise of one; the message was kept";
            hooks.report_new(env, "onMediaTag", code::INVALID_DECISION, message, true);
            true
        }
    }
}

/// The worker-thread half: the layer's `EventSink`.
pub(crate) struct Sink {
    tsfn: RwLock<Option<Tsfn>>,
    interest: Interest,
    decision_timeout: Duration,
    media_tag_timeout: Duration,
    budget: Arc<FrameBudget>,
    runtime: tokio::runtime::Handle,
    me: Weak<Sink>,
}

/// What a sink needs besides the hooks.
pub(crate) struct SinkSettings {
    pub(crate) decision_timeout: Duration,
    pub(crate) media_tag_timeout: Duration,
    /// The server's: its count of dropped frame events outlives each listen.
    pub(crate) budget: Arc<FrameBudget>,
    pub(crate) runtime: tokio::runtime::Handle,
}

impl Sink {
    /// Makes the strong ThreadsafeFunction (on the JS thread); `server` is the JS `Server`,
    /// kept alive by the function while it exists.
    pub(crate) fn new(
        env: &Env,
        server: Object<'_>,
        hooks: Arc<Hooks>,
        settings: SinkSettings,
    ) -> napi::Result<Arc<Self>> {
        let noop = env.create_function_from_closure::<(), (), _>("rtmpDispatch", |_| Ok(()))?;
        let budget = settings.budget;
        let interest = hooks.interest();
        let dispatcher = Dispatcher { hooks, budget: Arc::clone(&budget) };
        let tsfn: Tsfn = noop
            .bind(server)?
            .build_threadsafe_function::<Item>()
            .callee_handled::<false>()
            .weak::<false>()
            .build_callback(move |ctx| {
                dispatcher.dispatch(&ctx.env, ctx.value);
                Ok(())
            })?;
        Ok(Arc::new_cyclic(|me| Self {
            tsfn: RwLock::new(Some(tsfn)),
            interest,
            decision_timeout: settings.decision_timeout,
            media_tag_timeout: settings.media_tag_timeout,
            budget,
            runtime: settings.runtime,
            me: me.clone(),
        }))
    }

    /// Queues `item` for the JS thread; false when the server closed (the item is dropped,
    /// which rejects a request it carries).
    fn send(&self, item: Item) -> bool {
        let tsfn = self.tsfn.read().unwrap_or_else(|e| e.into_inner());
        match tsfn.as_ref() {
            Some(tsfn) => tsfn.call(item, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok,
            None => false,
        }
    }

    /// After the server stopped: lets every queued event reach JS, then releases the function.
    pub(crate) async fn finish(&self) {
        let tsfn = self.tsfn.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tsfn) = tsfn {
            let (done, barrier) = oneshot::channel();
            if tsfn.call(Item::Barrier(done), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok {
                let _ = barrier.await;
            }
        }
    }

    /// Reports a decision that is still open when the decision timeout has passed.
    fn watch(&self, hook: Hook, request: Request) {
        let me = self.me.clone();
        let timeout = self.decision_timeout;
        self.runtime.spawn(async move {
            // The layer's own timer started first; by now it has rejected the request.
            tokio::time::sleep(timeout + Duration::from_millis(20)).await;
            if request.is_answered() {
                return;
            }
            if let Some(sink) = me.upgrade() {
                let outcome = match hook {
                    Hook::Locate => "no upstream was taken from it (the pull rules apply)",
                    Hook::Credentials => "the user counts as unknown",
                    _ => "the request was rejected",
                };
                let message =
                    format!("{} did not settle within {} ms; {outcome}", name(hook), timeout.as_millis());
                sink.send(Item::Failure { hook: name(hook), code: code::DECISION_TIMEOUT, message });
            }
        });
    }
}

impl EventSink for Sink {
    fn interest(&self) -> Interest {
        self.interest
    }

    fn on_event(&self, event: Event) {
        let hook = event.hook();
        if let Admission::Dropped { first } = self.budget.admit(hook) {
            if first {
                let message = format!(
                    "more than {} frame events wait for JS (maxPendingFrames): frame events are dropped \
                     until it catches up",
                    self.budget.max()
                );
                self.send(Item::Failure { hook: name(hook), code: code::EVENTS_DROPPED, message });
            }
            return;
        }
        let request = match &event {
            Event::Connection { request }
            | Event::Connect { request }
            | Event::Publish { request }
            | Event::Play { request }
            | Event::Locate { request }
            | Event::Credentials { request } => Some(request.clone()),
            _ => None,
        };
        if self.send(Item::Event(event)) {
            if let Some(request) = request {
                self.watch(hook, request);
            }
        } else {
            self.budget.done(hook);
        }
    }

    fn filter_media(&self, session: &EmbedSession, frame: &Arc<EmbedFrame>) -> bool {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let item = Item::MediaTag { session: session.clone(), frame: Arc::clone(frame), reply };
        if !self.send(item) {
            return true;
        }
        let verdict = wait_for_verdict(&answer, self.media_tag_timeout);
        if verdict == Verdict::TimedOut {
            let message = format!(
                "onMediaTag did not settle within {} ms; the message was kept",
                self.media_tag_timeout.as_millis()
            );
            self.send(Item::Failure { hook: "onMediaTag", code: code::DECISION_TIMEOUT, message });
        }
        verdict.keep()
    }
}
