//! `rtmp_server` and its callbacks.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use rtmp_core::server::DisconnectReason;

use crate::config::rtmp_server_config;
use crate::error::{embed_error, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_box_ptr};
use crate::frame::{frame_ptr, rtmp_frame};
use crate::request::{CRequest, rtmp_decision, rtmp_request, rtmp_session};
use crate::slice::rtmp_str;
use crate::stats::{CStats, rtmp_forward_stats, rtmp_pull_stats, rtmp_stats};
use crate::userdata::Userdata;
use rtmp_embed::{
    CallbackKind, EmbeddedServer, Event, EventSink, Frame, Hook, Interest, Session, callback_scope,
};

/// A decision callback (`on_connection`, `on_connect`, `on_publish`, `on_play`): return
/// `RTMP_DECISION_ACCEPT`, `RTMP_DECISION_REJECT` or `RTMP_DECISION_DEFER` (see `rtmp_request`).
pub type rtmp_decision_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        session: *const rtmp_session,
        request: *mut rtmp_request,
    ) -> rtmp_decision,
>;

/// A connection event without more data (`on_handshake_complete`).
pub type rtmp_session_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, session: *const rtmp_session)>;

/// A stream event (`on_fc_publish`, `on_unpublish`, `on_play_stop`, `on_pause`, `on_unpause`):
/// the stream's app and name (for `on_fc_publish`: the session's app and the name as sent).
pub type rtmp_stream_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        session: *const rtmp_session,
        app: rtmp_str<'static>,
        name: rtmp_str<'static>,
    ),
>;

/// `on_publish_resumed`: the stream's app and name, and the time since the interruption in
/// milliseconds.
pub type rtmp_resumed_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        session: *const rtmp_session,
        app: rtmp_str<'static>,
        name: rtmp_str<'static>,
        outage_ms: u64,
    ),
>;

/// A media event (`on_metadata`, `on_video_frame`, `on_audio_frame`, `on_keyframe`); the frame
/// is lent for the call (`rtmp_frame_retain` keeps it).
pub type rtmp_frame_cb = Option<
    unsafe extern "C" fn(userdata: *mut c_void, session: *const rtmp_session, frame: *const rtmp_frame),
>;

/// `on_media_tag`: every audio, video and data message of a publisher before it reaches players
/// and the GOP cache; return false to drop it.
pub type rtmp_filter_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        session: *const rtmp_session,
        frame: *const rtmp_frame,
    ) -> bool,
>;

/// `on_disconnect`: why the connection ended, as a kind and a sentence.
pub type rtmp_disconnect_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        session: *const rtmp_session,
        reason: rtmp_disconnect_reason,
        text: rtmp_str<'static>,
    ),
>;

/// `on_stats`: a snapshot lent for the call.
pub type rtmp_stats_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, stats: *const rtmp_stats)>;

/// `on_forward`: a forward of stream app/name (to one destination) changed state; `forward`
/// (its URL, new state, counters, last error) is lent for the call, like the views.
pub type rtmp_forward_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        app: rtmp_str<'static>,
        name: rtmp_str<'static>,
        forward: *const rtmp_forward_stats<'static>,
    ),
>;

/// `on_pull`: the pull of stream app/name changed state; `pull` (the upstream URL in use, new
/// state, counters, last error) is lent for the call, like the views.
pub type rtmp_pull_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        app: rtmp_str<'static>,
        name: rtmp_str<'static>,
        pull: *const rtmp_pull_stats<'static>,
    ),
>;

/// Why a connection ended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_disconnect_reason {
    /// The client closed the connection.
    ClientClosed = 1,
    /// A timeout (handshake/connect, idle, a player that stopped reading).
    Timeout = 2,
    /// The client broke the protocol or a limit.
    Protocol = 3,
    /// A decision rejected the connection.
    Rejected = 4,
    /// Another publisher took the stream over.
    Replaced = 5,
    /// The server shut down.
    Shutdown = 6,
    /// A socket error.
    Io = 7,
}

impl From<&DisconnectReason> for rtmp_disconnect_reason {
    fn from(reason: &DisconnectReason) -> Self {
        match reason {
            DisconnectReason::ClientClosed => Self::ClientClosed,
            DisconnectReason::Timeout(_) => Self::Timeout,
            DisconnectReason::Protocol(_) => Self::Protocol,
            DisconnectReason::Rejected(_) => Self::Rejected,
            DisconnectReason::Replaced => Self::Replaced,
            DisconnectReason::Shutdown => Self::Shutdown,
            DisconnectReason::Io(_) => Self::Io,
        }
    }
}

/// The server's callbacks, one per handler hook; every one is optional (NULL). The struct is
/// copied by `rtmp_server_config_set_callbacks`. Zero it (`rtmp_callbacks cb = {0};`) and set
/// what you need.
///
/// Threads. Connection callbacks (`on_connection`, `on_handshake_complete`, `on_connect`,
/// `on_fc_publish`, `on_publish`, `on_unpublish`, `on_play`, `on_play_stop`, `on_pause`,
/// `on_unpause`, `on_disconnect`, and the reconnect callbacks of
/// `rtmp_server_config_set_reconnect_callbacks`, `on_locate` of
/// `rtmp_server_config_set_relay_callbacks`, `on_credentials` of
/// `rtmp_server_config_set_auth_callbacks`) run on the server's blocking-pool threads: they may block (a
/// database lookup holds up only that connection) and may call any function except
/// `rtmp_server_stop`/`rtmp_server_free` (`RTMP_RESULT_IN_CALLBACK`; free then finishes in the
/// background). Media callbacks (`on_metadata`, `on_media_tag`, `on_video_frame`,
/// `on_audio_frame`, `on_keyframe`), `on_stats`, `on_forward` / `on_pull` of
/// `rtmp_server_config_set_relay_callbacks` and `on_data` of `rtmp_server_config_set_data_callbacks`
/// run on the runtime's worker threads, for
/// every message: return quickly, never block; blocking functions (client calls, stop) return
/// `RTMP_RESULT_IN_CALLBACK` there. Callbacks of different connections run concurrently, so
/// userdata must be thread-safe; callbacks of one connection run one at a time, in order.
/// After `rtmp_server_stop` returns no callback runs any more.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rtmp_callbacks {
    /// A TCP connection was accepted, before the handshake (decision; its session has id 0).
    pub on_connection: rtmp_decision_cb,
    /// The handshake finished.
    pub on_handshake_complete: rtmp_session_cb,
    /// `connect` arrived (decision): app, tcUrl, flashVer and query are on the session.
    pub on_connect: rtmp_decision_cb,
    /// `FCPublish` arrived (a notice; the decision comes with `on_publish`).
    pub on_fc_publish: rtmp_stream_cb,
    /// `publish` arrived (decision): stream name, query (auth tokens), publish type.
    pub on_publish: rtmp_decision_cb,
    /// An accepted publisher stopped (unpublish, disconnect, takeover, shutdown).
    pub on_unpublish: rtmp_stream_cb,
    /// `play` arrived (decision).
    pub on_play: rtmp_decision_cb,
    /// An accepted player stopped.
    pub on_play_stop: rtmp_stream_cb,
    /// A player paused.
    pub on_pause: rtmp_stream_cb,
    /// A player resumed.
    pub on_unpause: rtmp_stream_cb,
    /// The publisher sent `onMetaData` (an `RTMP_FRAME_KIND_METADATA` frame).
    pub on_metadata: rtmp_frame_cb,
    /// Every audio, video and data message of a publisher; false drops it.
    pub on_media_tag: rtmp_filter_cb,
    /// Every video message that parsed (after `on_media_tag`).
    pub on_video_frame: rtmp_frame_cb,
    /// Every audio message that parsed (after `on_media_tag`).
    pub on_audio_frame: rtmp_frame_cb,
    /// Every video keyframe that is not a sequence header.
    pub on_keyframe: rtmp_frame_cb,
    /// A connection ended (after its `on_unpublish` / `on_play_stop`).
    pub on_disconnect: rtmp_disconnect_cb,
    /// Periodic statistics (`rtmp_server_config_set_stats_interval_ms`).
    pub on_stats: rtmp_stats_cb,
}

/// The callbacks with their userdata, shared by a config and the servers built from it.
pub(crate) struct CCallbacks {
    pub(crate) callbacks: rtmp_callbacks,
    pub(crate) userdata: Userdata,
}

/// The publisher reconnect callbacks (`rtmp_server_config_set_reconnect_callbacks`): outside
/// `rtmp_callbacks`, whose size applications compiled against an older header fixed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReconnectCallbacks {
    pub(crate) on_publish_interrupted: rtmp_stream_cb,
    pub(crate) on_publish_resumed: rtmp_resumed_cb,
}

/// The relay callbacks (`rtmp_server_config_set_relay_callbacks`): outside `rtmp_callbacks`,
/// whose size applications compiled against an older header fixed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RelayCallbacks {
    pub(crate) on_forward: rtmp_forward_cb,
    pub(crate) on_locate: rtmp_decision_cb,
    pub(crate) on_pull: rtmp_pull_cb,
}

/// The publish authentication callback (`rtmp_server_config_set_auth_callbacks`): outside
/// `rtmp_callbacks`, whose size applications compiled against an older header fixed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AuthCallbacks {
    pub(crate) on_credentials: rtmp_decision_cb,
}

/// The data message callback (`rtmp_server_config_set_data_callbacks`): outside
/// `rtmp_callbacks`, whose size applications compiled against an older header fixed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DataCallbacks {
    pub(crate) on_data: rtmp_frame_cb,
}

/// The event sink that calls the C function pointers.
pub(crate) struct CSink {
    pub(crate) callbacks: Option<Arc<CCallbacks>>,
    pub(crate) reconnect: ReconnectCallbacks,
    pub(crate) relay: RelayCallbacks,
    pub(crate) auth: AuthCallbacks,
    pub(crate) data: DataCallbacks,
}

fn session_ptr(session: &Session) -> *const rtmp_session {
    let ptr: *const Session = session;
    ptr.cast()
}

impl EventSink for CSink {
    fn interest(&self) -> Interest {
        let reconnect = Interest::NONE
            .with_if(Hook::PublishInterrupted, self.reconnect.on_publish_interrupted.is_some())
            .with_if(Hook::PublishResumed, self.reconnect.on_publish_resumed.is_some())
            .with_if(Hook::Forward, self.relay.on_forward.is_some())
            .with_if(Hook::Locate, self.relay.on_locate.is_some())
            .with_if(Hook::Pull, self.relay.on_pull.is_some())
            .with_if(Hook::Credentials, self.auth.on_credentials.is_some())
            .with_if(Hook::Data, self.data.on_data.is_some());
        let Some(c) = &self.callbacks else { return reconnect };
        let c = &c.callbacks;
        reconnect
            .with_if(Hook::Connection, c.on_connection.is_some())
            .with_if(Hook::HandshakeComplete, c.on_handshake_complete.is_some())
            .with_if(Hook::Connect, c.on_connect.is_some())
            .with_if(Hook::FcPublish, c.on_fc_publish.is_some())
            .with_if(Hook::Publish, c.on_publish.is_some())
            .with_if(Hook::Unpublish, c.on_unpublish.is_some())
            .with_if(Hook::Play, c.on_play.is_some())
            .with_if(Hook::PlayStop, c.on_play_stop.is_some())
            .with_if(Hook::Pause, c.on_pause.is_some())
            .with_if(Hook::Unpause, c.on_unpause.is_some())
            .with_if(Hook::Metadata, c.on_metadata.is_some())
            .with_if(Hook::MediaTag, c.on_media_tag.is_some())
            .with_if(Hook::VideoFrame, c.on_video_frame.is_some())
            .with_if(Hook::AudioFrame, c.on_audio_frame.is_some())
            .with_if(Hook::Keyframe, c.on_keyframe.is_some())
            .with_if(Hook::Disconnect, c.on_disconnect.is_some())
            .with_if(Hook::Stats, c.on_stats.is_some())
    }

    fn on_event(&self, event: Event) {
        let ud = self.callbacks.as_ref().map_or(std::ptr::null_mut(), |shared| shared.userdata.ptr);
        match event {
            Event::PublishInterrupted { session, key } => {
                return call_stream(self.reconnect.on_publish_interrupted, ud, &session, &key);
            }
            Event::PublishResumed { session, key, outage } => {
                if let Some(cb) = self.reconnect.on_publish_resumed {
                    let (app, name) = (rtmp_str::borrow(&key.app), rtmp_str::borrow(&key.name));
                    let ms = u64::try_from(outage.as_millis()).unwrap_or(u64::MAX);
                    // SAFETY: as below.
                    callback_scope(CallbackKind::Blocking, || unsafe {
                        cb(ud, session_ptr(&session), extend(app), extend(name), ms)
                    });
                }
                return;
            }
            Event::Forward { key, stats } => {
                let forward = rtmp_forward_stats::new(&stats);
                return call_relay(self.relay.on_forward, ud, &key, (&raw const forward).cast());
            }
            Event::Pull { key, stats } => {
                let pull = rtmp_pull_stats::new(&stats);
                return call_relay(self.relay.on_pull, ud, &key, (&raw const pull).cast());
            }
            Event::Locate { request } => return decide(self.relay.on_locate, ud, request),
            Event::Credentials { request } => return decide(self.auth.on_credentials, ud, request),
            Event::Data { session, key, data } => {
                if let Some(cb) = self.data.on_data {
                    let frame = Arc::new(data_frame(&key, &data));
                    // SAFETY: as below; the frame is lent for the call.
                    callback_scope(CallbackKind::NonBlocking, || unsafe {
                        cb(ud, session_ptr(&session), frame_ptr(&frame))
                    });
                }
                return;
            }
            _ => {}
        }
        let Some(shared) = &self.callbacks else { return };
        let c = &shared.callbacks;
        let blocking = |f: &mut dyn FnMut()| callback_scope(CallbackKind::Blocking, f);
        let worker = |f: &mut dyn FnMut()| callback_scope(CallbackKind::NonBlocking, f);
        // SAFETY (every call below): the application's function pointers, called with its
        // userdata and with pointers valid for the duration of the call.
        match event {
            Event::Connection { request } => decide(c.on_connection, ud, request),
            Event::Connect { request } => decide(c.on_connect, ud, request),
            Event::Publish { request } => decide(c.on_publish, ud, request),
            Event::Play { request } => decide(c.on_play, ud, request),
            Event::HandshakeComplete { session } => {
                if let Some(cb) = c.on_handshake_complete {
                    blocking(&mut || unsafe { cb(ud, session_ptr(&session)) });
                }
            }
            Event::FcPublish { session, name } => {
                if let Some(cb) = c.on_fc_publish {
                    let (app, name) = (rtmp_str::borrow(session.app()), rtmp_str::borrow(&name.raw));
                    // SAFETY: the views outlive the call; 'static is the C type's lifetime only.
                    blocking(&mut || unsafe { cb(ud, session_ptr(&session), extend(app), extend(name)) });
                }
            }
            Event::Unpublish { session, key } => call_stream(c.on_unpublish, ud, &session, &key),
            Event::PublishInterrupted { .. }
            | Event::PublishResumed { .. }
            | Event::Forward { .. }
            | Event::Locate { .. }
            | Event::Pull { .. }
            | Event::Credentials { .. }
            | Event::Data { .. } => {}
            Event::PlayStop { session, key } => call_stream(c.on_play_stop, ud, &session, &key),
            Event::Pause { session, key } => call_stream(c.on_pause, ud, &session, &key),
            Event::Unpause { session, key } => call_stream(c.on_unpause, ud, &session, &key),
            Event::Metadata { session, frame } => call_frame(c.on_metadata, ud, &session, &frame, worker),
            Event::VideoFrame { session, frame } => {
                call_frame(c.on_video_frame, ud, &session, &frame, worker)
            }
            Event::AudioFrame { session, frame } => {
                call_frame(c.on_audio_frame, ud, &session, &frame, worker)
            }
            Event::Keyframe { session, frame } => call_frame(c.on_keyframe, ud, &session, &frame, worker),
            Event::Disconnect { session, reason } => {
                if let Some(cb) = c.on_disconnect {
                    let text = reason.to_string();
                    let kind = rtmp_disconnect_reason::from(&reason);
                    let view = rtmp_str::borrow(&text);
                    blocking(&mut || unsafe { cb(ud, session_ptr(&session), kind, extend(view)) });
                }
            }
            Event::Stats { stats } => {
                if let Some(cb) = c.on_stats {
                    let stats = CStats::new(Arc::unwrap_or_clone(stats));
                    let ptr: *const CStats = &stats;
                    worker(&mut || unsafe { cb(ud, ptr.cast()) });
                }
            }
        }
    }

    fn filter_media(&self, session: &Session, frame: &Arc<Frame>) -> bool {
        let Some(shared) = &self.callbacks else { return true };
        let Some(cb) = shared.callbacks.on_media_tag else { return true };
        let ud = shared.userdata.ptr;
        // SAFETY: as in `on_event`.
        callback_scope(CallbackKind::NonBlocking, || unsafe {
            cb(ud, session_ptr(session), frame_ptr(frame))
        })
    }
}

/// The frame of an `on_data` call: a data frame (`RTMP_FRAME_KIND_DATA`) of stream `key` carrying
/// the message (name and values, re-encoded as AMF0), timestamp 0.
fn data_frame(key: &rtmp_core::server::StreamKey, data: &rtmp_core::proto::message::DataMessage) -> Frame {
    let payload = data.encode();
    let tag = rtmp_core::server::MediaTag {
        key,
        kind: rtmp_core::server::MediaKind::Data,
        timestamp: 0,
        payload: &payload,
    };
    Frame::from_media_tag(&tag)
}

fn call_stream(cb: rtmp_stream_cb, ud: *mut c_void, session: &Session, key: &rtmp_core::server::StreamKey) {
    if let Some(cb) = cb {
        let (app, name) = (rtmp_str::borrow(&key.app), rtmp_str::borrow(&key.name));
        // SAFETY: as in `on_event`.
        callback_scope(CallbackKind::Blocking, || unsafe {
            cb(ud, session_ptr(session), extend(app), extend(name))
        });
    }
}

/// A relay's state callback (`on_forward`, `on_pull`), on a runtime worker: the stream's key and
/// `stats` are lent for the call.
fn call_relay<S>(
    cb: Option<unsafe extern "C" fn(*mut c_void, rtmp_str<'static>, rtmp_str<'static>, *const S)>,
    ud: *mut c_void,
    key: &rtmp_core::server::StreamKey,
    stats: *const S,
) {
    if let Some(cb) = cb {
        let (app, name) = (rtmp_str::borrow(&key.app), rtmp_str::borrow(&key.name));
        // SAFETY: as in `on_event`; the stats and views outlive the call.
        callback_scope(CallbackKind::NonBlocking, || unsafe { cb(ud, extend(app), extend(name), stats) });
    }
}

/// A view whose lifetime the C signature spells `'static`; it is valid for the call only.
fn extend(view: rtmp_str<'_>) -> rtmp_str<'static> {
    // SAFETY: only passed to a callback that may not keep it (documented).
    unsafe { std::mem::transmute::<rtmp_str<'_>, rtmp_str<'static>>(view) }
}

fn call_frame(
    cb: rtmp_frame_cb,
    ud: *mut c_void,
    session: &Session,
    frame: &Arc<Frame>,
    scope: impl Fn(&mut dyn FnMut()),
) {
    if let Some(cb) = cb {
        // SAFETY: as in `on_event`.
        scope(&mut || unsafe { cb(ud, session_ptr(session), frame_ptr(frame)) });
    }
}

fn decide(cb: rtmp_decision_cb, ud: *mut c_void, request: rtmp_embed::Request) {
    let Some(cb) = cb else {
        let _ = request.accept();
        return;
    };
    let session = session_ptr(request.session());
    CRequest::decide(request, |ptr| {
        // SAFETY: as in `on_event`; the session lives inside the request.
        callback_scope(CallbackKind::Blocking, || unsafe { cb(ud, session, ptr) })
    });
}

/// A running (or ready, or stopped) RTMP server with its own runtime.
///
/// Functions on one server may be called from any thread, concurrently, except
/// `rtmp_server_free`, which must be the last call.
pub struct rtmp_server {
    _private: [u8; 0],
}

pub(crate) struct CServer {
    pub(crate) server: EmbeddedServer,
    local_addr: String,
    tls_local_addr: String,
    /// Set when a stop begins (`rtmp_server_stop`, `rtmp_server_free`): a subscribe waiting for
    /// its stream gives up, and local publishers refuse further sends.
    pub(crate) stopped: tokio::sync::watch::Sender<bool>,
}

impl CServer {
    fn begin_stop(&self) {
        self.stopped.send_replace(true);
    }
}

impl Drop for CServer {
    fn drop(&mut self) {
        self.begin_stop();
    }
}

impl Castable for rtmp_server {
    type RustType = CServer;
    type Ownership = OwnershipBox;
}

/// Builds a server from `config` (copied: the config may be changed or freed afterwards) and
/// binds its listener(s), so that `rtmp_server_local_addr` is known at once; it does not serve
/// until `rtmp_server_start`. `RTMP_RESULT_IO` when binding fails. Free it with
/// `rtmp_server_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_new(
    config: *const rtmp_server_config,
    server_out: *mut *mut rtmp_server,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_ref!(config);
        let out = try_out!(server_out);
        let sink = Arc::new(CSink {
            callbacks: config.callbacks.clone(),
            reconnect: config.reconnect,
            relay: config.relay,
            auth: config.auth,
            data: config.data,
        });
        match EmbeddedServer::new(config.options.clone(), sink) {
            Ok(server) => {
                let local_addr = server.local_addr().to_string();
                let tls_local_addr = server.tls_local_addr().map(|a| a.to_string()).unwrap_or_default();
                let stopped = tokio::sync::watch::Sender::new(false);
                *out = to_box_ptr(CServer { server, local_addr, tls_local_addr, stopped });
                rtmp_result::Ok
            }
            Err(e) => embed_error(e),
        }
    }
}

/// The bound RTMP address (`127.0.0.1:1935`; the real port when bound to port 0). Valid until
/// the server is freed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_local_addr(server: *const rtmp_server) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(&try_ref!(server).local_addr)
    }
}

/// The bound RTMP port (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_port(server: *const rtmp_server) -> u16 {
    ffi_panic_boundary! {
        try_ref!(server).server.local_addr().port()
    }
}

/// The bound RTMPS address, empty without TLS. Valid until the server is freed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_tls_local_addr(server: *const rtmp_server) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(&try_ref!(server).tls_local_addr)
    }
}

/// Starts serving in the background and returns at once. `RTMP_RESULT_INVALID_STATE` when it
/// was started before (a stopped server cannot be restarted: make a new one).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_start(server: *mut rtmp_server) -> rtmp_result {
    ffi_panic_boundary! {
        match try_ref!(server).server.start() {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// Stops gracefully and waits: publishers and players get their status, every connection's
/// `on_unpublish` / `on_play_stop` / `on_disconnect` callbacks run, deferred requests are
/// rejected (answer them anyway, to release them); a `rtmp_server_subscribe` waiting for its
/// stream returns `RTMP_RESULT_CLOSED`, subscriptions end after what they queued, and local
/// publishers' sends return `RTMP_RESULT_CLOSED`. No callback runs after it returns. Takes up
/// to a few seconds with slow clients. Idempotent; a server never started just closes its
/// listener. From inside any callback it returns `RTMP_RESULT_IN_CALLBACK` and does nothing: it
/// would wait for that callback.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_stop(server: *mut rtmp_server) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        if rtmp_embed::in_callback().is_none() {
            server.begin_stop();
        }
        match server.server.stop() {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// A statistics snapshot; free it with `rtmp_stats_free`. Any thread, callbacks included.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_stats(
    server: *const rtmp_server,
    stats_out: *mut *mut rtmp_stats,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let out = try_out!(stats_out);
        *out = to_box_ptr(CStats::new(server.server.stats()));
        rtmp_result::Ok
    }
}

/// Forwards the live stream `key` (`"app/name"`) to `url` (`rtmp://` or `rtmps://`) too, beside
/// the `forward` rules and the destinations its publish decision named, until its publisher
/// stops or `rtmp_server_remove_forward`. The forward connects in the background (`on_forward`
/// and the statistics follow it); this returns at once, from any thread, callbacks included.
/// `RTMP_RESULT_INVALID_ARGUMENT`: `key` is not `"app/name"` or `url` is not an RTMP(S) URL;
/// `RTMP_RESULT_NOT_FOUND`: the stream is not live; `RTMP_RESULT_ALREADY_EXISTS`: the stream
/// forwards to that URL already; `RTMP_RESULT_INVALID_STATE`: the server does not run.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_add_forward(
    server: *const rtmp_server,
    key: *const c_char,
    url: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let key = try_cstr!(key);
        let url = try_cstr!(url);
        let key = match rtmp_embed::parse_stream_key(key) {
            Ok(key) => key,
            Err(e) => return embed_error(e),
        };
        match server.server.add_forward(&key, url) {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// Stops forwarding stream `key` (`"app/name"`) to `url` (the URL exactly as the forward was
/// given, or as a rule rendered it), wherever the forward came from. `RTMP_RESULT_NOT_FOUND`
/// when the stream is not forwarded there; `RTMP_RESULT_INVALID_ARGUMENT` for a `key` that is
/// not `"app/name"`. Any thread, callbacks included.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_remove_forward(
    server: *const rtmp_server,
    key: *const c_char,
    url: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let key = try_cstr!(key);
        let url = try_cstr!(url);
        match rtmp_embed::parse_stream_key(key) {
            Ok(parsed) if server.server.remove_forward(&parsed, url) => rtmp_result::Ok,
            Ok(_) => crate::error::fail(rtmp_result::NotFound, format!("stream {key} does not forward to {url}")),
            Err(e) => embed_error(e),
        }
    }
}

/// Stops the server like `rtmp_server_stop` (waiting), then frees it and its runtime; the
/// callbacks' userdata destructor runs during the stop if no config holds them any more. NULL is
/// ignored.
/// Called from inside a callback it does not wait: the stop finishes on a helper thread, which
/// then drops the userdata.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_free(server: *mut rtmp_server) {
    ffi_panic_boundary! {
        free_box(server);
    }
}
