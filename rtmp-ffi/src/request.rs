//! `rtmp_session` (a connection, borrowed during callbacks) and `rtmp_request` (a decision,
//! answerable later from any thread).

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use crate::error::{answer_error, fail, rtmp_result};
use crate::ffi::{Castable, OwnershipArc, OwnershipRef, arc_from_ptr};
use crate::slice::rtmp_str;
use rtmp_embed::{AnswerError, Request, RequestDetails, RequestKind, Session};

/// One client connection. Callbacks receive `const rtmp_session *`, valid for the duration of the
/// call; `rtmp_request_session` gives one valid while the request is. Read-only, any thread.
pub struct rtmp_session {
    _private: [u8; 0],
}

impl Castable for rtmp_session {
    type RustType = Session;
    type Ownership = OwnershipRef;
}

/// A decision the server waits for: a new TCP connection, `connect`, `publish`, `play`, where
/// to pull a stream from (`on_locate`, answered with `rtmp_request_locate`), or a user's password
/// (`on_credentials`, answered with `rtmp_request_credentials`).
///
/// A decision callback receives `rtmp_request *`, valid during the call. It answers by its
/// return value (`RTMP_DECISION_ACCEPT` / `RTMP_DECISION_REJECT`), or calls
/// `rtmp_request_accept` / `rtmp_request_reject` during the call (the first answer wins), or
/// returns `RTMP_DECISION_DEFER` without answering: then the request stays valid and belongs to
/// the application, which must answer it exactly once, from any thread, with
/// `rtmp_request_accept` or `rtmp_request_reject`; that call also releases it (do not touch it
/// afterwards). A deferred request not answered within the decision timeout
/// (`rtmp_server_config_set_decision_timeout_ms`), or when the client leaves or the server stops,
/// is rejected by the server; answering it later returns `RTMP_RESULT_REQUEST_EXPIRED` and still
/// releases it.
pub struct rtmp_request {
    _private: [u8; 0],
}

/// The Rust side of an `rtmp_request *`: the request plus the state that decides who releases
/// the C reference.
pub(crate) struct CRequest {
    pub(crate) request: Request,
    /// True while the decision callback runs: answers given then do not release.
    in_callback: Mutex<bool>,
}

impl Castable for rtmp_request {
    type RustType = CRequest;
    type Ownership = OwnershipArc;
}

/// The kind of a request.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_request_kind {
    /// A TCP connection, before the handshake (`on_connection`); its session has id 0.
    Connection = 1,
    /// `connect` (`on_connect`).
    Connect = 2,
    /// `publish` (`on_publish`).
    Publish = 3,
    /// `play` (`on_play`).
    Play = 4,
    /// Where to pull a stream played but not published here (`on_locate`); its session is not
    /// a connection (id 0).
    Locate = 5,
    /// The password of a user logging in (`on_credentials` of
    /// `rtmp_server_config_set_auth_callbacks`), answered with `rtmp_request_credentials`; its
    /// session has no connect parameters yet.
    Credentials = 6,
}

/// A decision callback's answer.
pub type rtmp_decision = u32;
/// Accept the request.
pub const RTMP_DECISION_ACCEPT: rtmp_decision = 0;
/// Reject the request with the reason "Rejected." (use `rtmp_request_reject` for another one).
pub const RTMP_DECISION_REJECT: rtmp_decision = 1;
/// Answer later with `rtmp_request_accept` / `rtmp_request_reject` (or already answered).
pub const RTMP_DECISION_DEFER: rtmp_decision = 2;

impl CRequest {
    /// Hands `request` to a decision callback and applies its answer.
    pub(crate) fn decide(request: Request, callback: impl FnOnce(*mut rtmp_request) -> rtmp_decision) {
        let shared = Arc::new(CRequest { request, in_callback: Mutex::new(true) });
        let ptr = Arc::into_raw(Arc::clone(&shared)) as *mut rtmp_request;
        let decision = callback(ptr);
        let mut in_callback = shared.in_callback.lock().unwrap_or_else(|e| e.into_inner());
        *in_callback = false;
        let release = match decision {
            RTMP_DECISION_ACCEPT => {
                let _ = shared.request.accept();
                true
            }
            RTMP_DECISION_DEFER => shared.request.is_answered(),
            other => {
                if other != RTMP_DECISION_REJECT {
                    tracing::warn!(
                        decision = other,
                        "decision callback returned an unknown value: rejecting"
                    );
                }
                let _ = shared.request.reject("Rejected.");
                true
            }
        };
        drop(in_callback);
        if release {
            drop(arc_from_ptr(ptr.cast_const()));
        }
    }

    fn answer(ptr: *mut rtmp_request, answer: Answer<'_>) -> rtmp_result {
        let Some(this) = crate::ffi::try_ref(ptr.cast_const()) else {
            return crate::error::null_parameter("request");
        };
        let in_callback = this.in_callback.lock().unwrap_or_else(|e| e.into_inner());
        let result = match answer {
            Answer::Accept => this.request.accept(),
            Answer::AcceptWithBudget(budget) => this.request.accept_with_latency_budget(budget),
            Answer::AcceptWithForward(urls) => this.request.accept_with_forward(urls),
            Answer::Locate(urls) => this.request.locate(urls),
            Answer::Credentials(password) => this.request.credentials(password),
            Answer::Reject(reason) => this.request.reject(reason),
        };
        // A bad URL answered nothing: the request is the caller's still.
        let release = !*in_callback && !matches!(result, Err(AnswerError::BadUrl(_)));
        drop(in_callback);
        if release {
            drop(arc_from_ptr(ptr.cast_const()));
        }
        match result {
            Ok(()) => rtmp_result::Ok,
            Err(e) => answer_error(e),
        }
    }
}

/// How a request is answered.
enum Answer<'a> {
    Accept,
    AcceptWithBudget(Option<std::time::Duration>),
    AcceptWithForward(Vec<String>),
    Locate(Vec<String>),
    Credentials(Option<String>),
    Reject(&'a str),
}

/// `count` NUL-terminated UTF-8 strings at `urls` (NULL only with `count` 0).
fn url_list(urls: *const *const c_char, count: usize) -> Result<Vec<String>, rtmp_result> {
    if urls.is_null() && count > 0 {
        return Err(crate::error::null_parameter("urls"));
    }
    let mut list = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `count` readable pointers at `urls` (C caller's promise).
        let item = unsafe { *urls.add(i) };
        list.push(crate::slice::cstr_arg(item, "urls[i]")?.to_owned());
    }
    Ok(list)
}

/// Accepts `request`. Any thread. Inside its decision callback it only answers; after the
/// callback returned `RTMP_DECISION_DEFER` it also releases the request. Returns
/// `RTMP_RESULT_REQUEST_EXPIRED` when the server stopped waiting (the client was rejected) and
/// `RTMP_RESULT_ALREADY_ANSWERED` for a second answer inside the callback.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_accept(request: *mut rtmp_request) -> rtmp_result {
    ffi_panic_boundary! {
        CRequest::answer(request, Answer::Accept)
    }
}

/// Accepts a play `request` with `budget_ms` as its player's latency budget instead of the
/// server's `player_latency_budget` (0: no limit but the queue's length). Other requests just
/// accept. Otherwise as `rtmp_request_accept`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_accept_with_latency_budget(
    request: *mut rtmp_request,
    budget_ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let budget = (budget_ms > 0).then(|| std::time::Duration::from_millis(budget_ms));
        CRequest::answer(request, Answer::AcceptWithBudget(budget))
    }
}

/// Accepts a publish `request` and forwards the stream to `count` destination URLs too
/// (`rtmp://` or `rtmps://`, NUL-terminated, copied; `urls` may be NULL when `count` is 0), beside
/// the server's `forward` rules: one client connection each, started at once, until the
/// publisher stops (`on_forward` and `rtmp_stats_forward` follow them). Other requests just
/// accept. Otherwise as `rtmp_request_accept`; a NULL URL returns `RTMP_RESULT_NULL_PARAMETER`,
/// one that is not UTF-8 or not an `rtmp://` / `rtmps://` URL `RTMP_RESULT_INVALID_ARGUMENT`
/// (`rtmp_last_error` names it), and neither answers nor releases: answer it again.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_accept_with_forward(
    request: *mut rtmp_request,
    urls: *const *const c_char,
    count: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        match url_list(urls, count) {
            Ok(urls) => CRequest::answer(request, Answer::AcceptWithForward(urls)),
            Err(result) => result,
        }
    }
}

/// Answers a locate `request` (`on_locate`) with `count` upstream URLs to pull the stream from,
/// tried in order until one sends media (NUL-terminated, copied; `urls` may be NULL when `count`
/// is 0). No URL means the server's `pull` rules. Other requests: accepts with URLs, rejects
/// without. Otherwise as `rtmp_request_accept`; a NULL URL returns `RTMP_RESULT_NULL_PARAMETER`,
/// one that is not UTF-8 or not an `rtmp://` / `rtmps://` URL `RTMP_RESULT_INVALID_ARGUMENT`
/// (`rtmp_last_error` names it), and neither answers nor releases: answer it again.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_locate(
    request: *mut rtmp_request,
    urls: *const *const c_char,
    count: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        match url_list(urls, count) {
            Ok(urls) => CRequest::answer(request, Answer::Locate(urls)),
            Err(result) => result,
        }
    }
}

/// Answers a credentials `request` (`on_credentials`) with the user's password
/// (NUL-terminated UTF-8, copied), or NULL when there is no such user. The server then checks the
/// client's answer to its challenge against it: a wrong one is refused with `authfailed`, an
/// unknown user with `nosuchuser`. Other requests: accepts with a password, rejects with NULL.
/// Otherwise as `rtmp_request_accept` (any thread; during the call or after
/// `RTMP_DECISION_DEFER`, which it then releases); a password that is not UTF-8 returns
/// `RTMP_RESULT_INVALID_ARGUMENT` and neither answers nor releases.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_credentials(
    request: *mut rtmp_request,
    password: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let password = if password.is_null() { None } else { Some(try_cstr!(password).to_owned()) };
        CRequest::answer(request, Answer::Credentials(password))
    }
}

/// Rejects `request`; `reason` (UTF-8, may be NULL for "Rejected.") becomes the status
/// description the client sees. Otherwise as `rtmp_request_accept`. With a reason that is not
/// UTF-8 it returns `RTMP_RESULT_INVALID_ARGUMENT` and neither answers nor releases.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_reject(request: *mut rtmp_request, reason: *const c_char) -> rtmp_result {
    ffi_panic_boundary! {
        let reason = if reason.is_null() { "Rejected." } else { try_cstr!(reason) };
        CRequest::answer(request, Answer::Reject(reason))
    }
}

/// The request's kind, one of `RTMP_REQUEST_KIND_*` (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_get_kind(request: *const rtmp_request) -> u32 {
    ffi_panic_boundary! {
        let kind = match try_ref!(request).request.kind() {
            RequestKind::Connection => rtmp_request_kind::Connection,
            RequestKind::Connect => rtmp_request_kind::Connect,
            RequestKind::Publish => rtmp_request_kind::Publish,
            RequestKind::Play => rtmp_request_kind::Play,
            RequestKind::Locate => rtmp_request_kind::Locate,
            RequestKind::Credentials => rtmp_request_kind::Credentials,
        };
        kind as u32
    }
}

/// Unique per server run, from 1.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_id(request: *const rtmp_request) -> u64 {
    ffi_panic_boundary! {
        try_ref!(request).request.id()
    }
}

/// The connection asking; valid while the request is.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_session(request: *const rtmp_request) -> *const rtmp_session {
    ffi_panic_boundary! {
        let session: *const Session = try_ref!(request).request.session();
        session.cast()
    }
}

/// The app: the stream's for publish, play and locate, the connect app for connect, the app
/// logged in to for credentials, empty for a connection. Valid while the request is.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_app(request: *const rtmp_request) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(request).request.app())
    }
}

/// The user name: the one a credentials request asks about, else the user the connection logged
/// in as (`rtmp_session_user`); empty when none. Valid while the request is.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_user(request: *const rtmp_request) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(request).request.user().unwrap_or(""))
    }
}

/// The stream name without its query (`cam`) for publish and play, the stream's name for a
/// locate; empty otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_stream_name(request: *const rtmp_request) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        let request = &try_ref!(request).request;
        match (request.stream_name(), request.details()) {
            (Some(name), _) => rtmp_str::borrow(&name.name),
            (None, RequestDetails::Locate(key)) => rtmp_str::borrow(&key.name),
            (None, _) => rtmp_str::empty(),
        }
    }
}

/// The stream name exactly as sent, query included (`cam?token=abc`); empty for connect and
/// connection requests.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_stream_raw(request: *const rtmp_request) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        match try_ref!(request).request.stream_name() {
            Some(name) => rtmp_str::borrow(&name.raw),
            None => rtmp_str::empty(),
        }
    }
}

/// Reads query parameter `key` into `*value_out` (valid while the request is): from the stream
/// name's query for publish and play (`cam?token=abc`), from the connect query for connect.
/// `RTMP_RESULT_NOT_FOUND` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_query_param(
    request: *const rtmp_request,
    key: *const c_char,
    value_out: *mut rtmp_str<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let request = try_ref!(request);
        let key = try_cstr!(key);
        let out = try_out!(value_out);
        match request.request.query_param(key) {
            Some(value) => {
                *out = rtmp_str::borrow(value);
                rtmp_result::Ok
            }
            None => fail(rtmp_result::NotFound, format!("no query parameter {key}")),
        }
    }
}

/// The publish type (`live`, `record`, `append`) of a publish request; empty otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_publish_type(request: *const rtmp_request) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        match try_ref!(request).request.details() {
            RequestDetails::Publish(p) => rtmp_str::borrow(&p.publish_type),
            _ => rtmp_str::empty(),
        }
    }
}

/// The message stream id of a publish or play request (0 otherwise).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_stream_id(request: *const rtmp_request) -> u32 {
    ffi_panic_boundary! {
        match try_ref!(request).request.details() {
            RequestDetails::Publish(p) => p.stream_id,
            RequestDetails::Play(p) => p.stream_id,
            _ => 0,
        }
    }
}

/// The play arguments of a play request: start (-2 live or recorded, -1 live, ≥ 0 position in
/// s), duration (-1 to the end) and reset. Any out-pointer may be NULL. `RTMP_RESULT_INVALID_STATE`
/// for other kinds.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_request_play_args(
    request: *const rtmp_request,
    start_out: *mut f64,
    duration_out: *mut f64,
    reset_out: *mut bool,
) -> rtmp_result {
    ffi_panic_boundary! {
        match try_ref!(request).request.details() {
            RequestDetails::Play(p) => {
                // SAFETY: each out-pointer is NULL or writable (C caller's promise).
                unsafe {
                    if let Some(out) = start_out.as_mut() { *out = p.start; }
                    if let Some(out) = duration_out.as_mut() { *out = p.duration; }
                    if let Some(out) = reset_out.as_mut() { *out = p.reset; }
                }
                rtmp_result::Ok
            }
            _ => fail(rtmp_result::InvalidState, "not a play request"),
        }
    }
}

/// The session id, unique per server run (0 for the session of a connection request).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_id(session: *const rtmp_session) -> u64 {
    ffi_panic_boundary! {
        try_ref!(session).id()
    }
}

/// The client's address (`127.0.0.1:50000`, `[::1]:50000`). Valid as long as the session.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_peer_addr(session: *const rtmp_session) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(session).peer_addr_text())
    }
}

/// The connect app (`live`), empty before connect. Valid as long as the session.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_app(session: *const rtmp_session) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(session).app())
    }
}

/// The connect `tcUrl`, empty if not sent. Valid as long as the session.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_tc_url(session: *const rtmp_session) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(session).tc_url().unwrap_or(""))
    }
}

/// The connect `flashVer` (`FMLE/3.0 (compatible; …)`), empty if not sent. Valid as long as the
/// session.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_flash_ver(session: *const rtmp_session) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(session).flash_ver().unwrap_or(""))
    }
}

/// The user name the connection logged in as (`authmod=adobe`, with the server's `publish_auth`
/// set to `"adobe"`), empty when it did not log in. Valid as long as the session.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_user(session: *const rtmp_session) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(session).user().unwrap_or(""))
    }
}

/// Reads parameter `key` of the connect query (app or tcUrl query) into `*value_out`, valid as
/// long as the session. `RTMP_RESULT_NOT_FOUND` when absent.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_session_query_param(
    session: *const rtmp_session,
    key: *const c_char,
    value_out: *mut rtmp_str<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let session = try_ref!(session);
        let key = try_cstr!(key);
        let out = try_out!(value_out);
        match session.query_param(key) {
            Some(value) => {
                *out = rtmp_str::borrow(value);
                rtmp_result::Ok
            }
            None => fail(rtmp_result::NotFound, format!("no connect query parameter {key}")),
        }
    }
}
