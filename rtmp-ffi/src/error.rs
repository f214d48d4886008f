//! Results and the thread's last error message.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use rtmp_core::client::ClientError;
use rtmp_core::server::{PublishError, SubscribeError};

use rtmp_embed::{AnswerError, EmbedError};

/// The outcome of a call. The numbers are fixed: they never change meaning, and retired ones
/// are never reused. Before C23 the header types this as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// The library panicked (a bug); the call had no effect or only part of it.
    Panic = 2,
    /// An argument is invalid: bad UTF-8, an unparsable address or URL, a value out of range.
    InvalidArgument = 3,
    /// The object's state does not allow the call (starting twice, a closed client).
    InvalidState = 4,
    /// The call is not allowed inside this callback: stopping or freeing a server from its own
    /// callback, or a blocking call from a non-blocking callback.
    InCallback = 5,
    /// Nothing arrived within the timeout.
    Timeout = 6,
    /// The connection is closed; nothing more will arrive.
    Closed = 7,
    /// A socket or file error (bind failed, connection refused, file missing).
    Io = 8,
    /// The server refused the client's connect, publish or play.
    Rejected = 9,
    /// The peer broke the RTMP protocol.
    Protocol = 10,
    /// TLS setup or handshake failed.
    Tls = 11,
    /// The deferred request is no longer awaited (decision timeout, disconnect or stop): the
    /// connection was rejected. The request is released all the same.
    RequestExpired = 12,
    /// The request was answered before; the first answer stands.
    AlreadyAnswered = 13,
    /// The key or value asked for is not there.
    NotFound = 14,
    /// What the call adds is there already (a forward of the stream to that URL).
    AlreadyExists = 15,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: impl Into<String>) {
    let mut bytes = message.into().into_bytes();
    bytes.retain(|&b| b != 0);
    let text = CString::new(bytes).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// Records the error and returns `result`.
pub(crate) fn fail(result: rtmp_result, message: impl Into<String>) -> rtmp_result {
    set_last_error(message);
    result
}

pub(crate) fn null_parameter<T: crate::panic::Fallback>(name: &str) -> T {
    set_last_error(format!("NULL parameter: {name}"));
    T::null_parameter()
}

/// An option the schema refused: `RTMP_RESULT_INVALID_ARGUMENT`, with the message naming the
/// option and its range.
pub(crate) fn option_result(outcome: Result<(), rtmp_core::options::OptionError>) -> rtmp_result {
    match outcome {
        Ok(()) => rtmp_result::Ok,
        Err(e) => fail(rtmp_result::InvalidArgument, e.to_string()),
    }
}

/// The option named `name` among `options`, with `text` read as its kind reads text (what the
/// generic setters, `rtmp_server_config_set` and `rtmp_client_config_set`, take); an unknown
/// name is `RTMP_RESULT_INVALID_ARGUMENT`.
pub(crate) fn option_by_name(
    mut options: impl Iterator<Item = rtmp_embed::OptionInfo>,
    name: &str,
    text: &str,
) -> Result<(&'static str, rtmp_core::options::Value), rtmp_result> {
    match options.find(|o| o.name == name) {
        Some(info) => Ok((info.name, info.kind.parse_text(text))),
        None => Err(fail(
            rtmp_result::InvalidArgument,
            rtmp_core::options::OptionError::unknown(name).to_string(),
        )),
    }
}

/// Maps a layer error to its result, recording the message.
pub(crate) fn embed_error(error: EmbedError) -> rtmp_result {
    let result = match &error {
        EmbedError::InCallback(_) => rtmp_result::InCallback,
        EmbedError::InvalidState(_) => rtmp_result::InvalidState,
        EmbedError::Io(_) => rtmp_result::Io,
        EmbedError::Timeout => rtmp_result::Timeout,
        EmbedError::Panic => rtmp_result::Panic,
        EmbedError::InvalidArgument(_) => rtmp_result::InvalidArgument,
        EmbedError::Subscribe(e) => match e {
            SubscribeError::NotFound(_) => rtmp_result::NotFound,
            SubscribeError::TooManyPlayers(_) => rtmp_result::Rejected,
            SubscribeError::ServerStopped => rtmp_result::Closed,
        },
        EmbedError::Publish(e) => match e {
            PublishError::AlreadyPublishing(_) => rtmp_result::Rejected,
            PublishError::Closed | PublishError::TakenOver => rtmp_result::Closed,
            PublishError::InvalidVideo(_)
            | PublishError::InvalidAudio(_)
            | PublishError::InvalidData(_)
            | PublishError::TimestampRegression { .. } => rtmp_result::InvalidArgument,
        },
        EmbedError::Forward(e) => match e {
            rtmp_core::server::ForwardError::BadUrl(_) => rtmp_result::InvalidArgument,
            rtmp_core::server::ForwardError::NotLive(_) => rtmp_result::NotFound,
            rtmp_core::server::ForwardError::Duplicate(_) => rtmp_result::AlreadyExists,
            rtmp_core::server::ForwardError::NotRunning => rtmp_result::InvalidState,
        },
        EmbedError::Client(e) => match e {
            ClientError::BadUrl(_) | ClientError::BadConfig(_) => rtmp_result::InvalidArgument,
            ClientError::Io(_) => rtmp_result::Io,
            ClientError::Protocol(_) => rtmp_result::Protocol,
            ClientError::Tls(_) => rtmp_result::Tls,
            ClientError::Rejected { .. } => rtmp_result::Rejected,
            ClientError::Timeout(_) => rtmp_result::Timeout,
            ClientError::Closed => rtmp_result::Closed,
            _ => rtmp_result::Io,
        },
    };
    fail(result, error.to_string())
}

pub(crate) fn answer_error(error: AnswerError) -> rtmp_result {
    let result = match error {
        AnswerError::AlreadyAnswered => rtmp_result::AlreadyAnswered,
        AnswerError::Expired => rtmp_result::RequestExpired,
        AnswerError::BadUrl(_) => rtmp_result::InvalidArgument,
    };
    fail(result, error.to_string())
}

/// A static, NUL-terminated description of a result number (unknown numbers included). Never
/// free it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_result_message(result: u32) -> *const c_char {
    let text: &'static str = match result {
        0 => "ok\0",
        1 => "a required pointer argument was NULL\0",
        2 => "the library panicked\0",
        3 => "invalid argument\0",
        4 => "invalid state for this call\0",
        5 => "not allowed inside this callback\0",
        6 => "timed out\0",
        7 => "closed\0",
        8 => "i/o error\0",
        9 => "refused by the server\0",
        10 => "protocol error\0",
        11 => "TLS error\0",
        12 => "the request expired\0",
        13 => "the request was already answered\0",
        14 => "not found\0",
        15 => "already exists\0",
        _ => "unknown result\0",
    };
    text.as_ptr().cast()
}

/// The message of the most recent failure on the calling thread, NUL-terminated (`""` if none).
/// It stays valid until the next failing call on this thread; copy it to keep it. Never free
/// it. Successful calls leave it unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}
