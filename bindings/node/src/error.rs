//! Errors as JS sees them: `Error` objects with a stable `code` (`ERR_RTMP_*`).

use std::future::Future;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, sys};
use rtmp_core::client::ClientError;
use rtmp_core::server::{ForwardError, PublishError, SubscribeError};
use rtmp_embed::EmbedError;

use crate::js;

/// The stable error codes (`error.code`).
pub(crate) mod code {
    /// An option has the wrong type or value (a `TypeError`).
    pub(crate) const INVALID_OPTION: &str = "ERR_RTMP_INVALID_OPTION";
    /// The object is not in a state that allows the call (listening twice, a closed client).
    pub(crate) const STATE: &str = "ERR_RTMP_STATE";
    /// A socket error (binding, connecting).
    pub(crate) const IO: &str = "ERR_RTMP_IO";
    /// Not an `rtmp://` / `rtmps://` URL.
    pub(crate) const BAD_URL: &str = "ERR_RTMP_BAD_URL";
    /// The server refused connect, publish or play; `error.status` has its status code.
    pub(crate) const REJECTED: &str = "ERR_RTMP_REJECTED";
    /// A connect or a wait timed out.
    pub(crate) const TIMEOUT: &str = "ERR_RTMP_TIMEOUT";
    /// TLS setup or handshake failed.
    pub(crate) const TLS: &str = "ERR_RTMP_TLS";
    /// The peer broke the protocol.
    pub(crate) const PROTOCOL: &str = "ERR_RTMP_PROTOCOL";
    /// The connection is closed.
    pub(crate) const CLOSED: &str = "ERR_RTMP_CLOSED";
    /// A task of the library panicked (a bug).
    pub(crate) const INTERNAL: &str = "ERR_RTMP_INTERNAL";
    /// A decision hook did not settle within `decisionTimeoutMs` (or `onMediaTag` within
    /// `mediaTagTimeoutMs`).
    pub(crate) const DECISION_TIMEOUT: &str = "ERR_RTMP_DECISION_TIMEOUT";
    /// A hook returned something that is not a decision.
    pub(crate) const INVALID_DECISION: &str = "ERR_RTMP_INVALID_DECISION";
    /// Frame events were dropped because JS did not keep up.
    pub(crate) const EVENTS_DROPPED: &str = "ERR_RTMP_EVENTS_DROPPED";
    /// `server.subscribe()`: the stream is not published (within `waitMs`); `server.addForward()`:
    /// the stream is not live.
    pub(crate) const NOT_FOUND: &str = "ERR_RTMP_NOT_FOUND";
    /// `server.addForward()`: the stream forwards to that URL already.
    pub(crate) const DUPLICATE: &str = "ERR_RTMP_DUPLICATE";
    /// An argument has the wrong value (a `TypeError`): a stream key that is not `app/name`, a
    /// payload that is not an FLV tag body or AMF0 data, a timestamp that goes back.
    pub(crate) const INVALID_ARGUMENT: &str = "ERR_RTMP_INVALID_ARGUMENT";
}

/// An error on its way to JS.
#[derive(Debug, Clone)]
pub(crate) struct RtmpError {
    code: &'static str,
    message: String,
    type_error: bool,
    /// For refusals: the server's status code and description.
    status: Option<(String, String)>,
}

impl RtmpError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), type_error: false, status: None }
    }

    /// A `TypeError` with code `ERR_RTMP_INVALID_OPTION`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self { type_error: true, ..Self::new(code::INVALID_OPTION, message) }
    }

    /// A `TypeError` with code `ERR_RTMP_INVALID_ARGUMENT`.
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Self { type_error: true, ..Self::new(code::INVALID_ARGUMENT, message) }
    }

    pub(crate) fn state(message: impl Into<String>) -> Self {
        Self::new(code::STATE, message)
    }

    /// The JS error object: `code`, `message`, and `status` / `description` for refusals.
    pub(crate) fn to_js(&self, env: sys::napi_env) -> napi::Result<js::Value> {
        let error = js::error(env, self.code, &self.message, self.type_error)?;
        if let Some((status, description)) = &self.status {
            js::set(env, error, "status", js::string(env, status)?)?;
            js::set(env, error, "description", js::string(env, description)?)?;
        }
        Ok(error)
    }

    /// A `napi::Error` that JS receives as exactly this error object.
    pub(crate) fn into_napi(self, env: &Env) -> napi::Error {
        match self.to_js(env.raw()) {
            Ok(value) => js::to_napi_error(env.raw(), value),
            Err(e) => e,
        }
    }
}

impl From<ClientError> for RtmpError {
    fn from(e: ClientError) -> Self {
        let message = e.to_string();
        match e {
            ClientError::BadUrl(_) => Self::new(code::BAD_URL, message),
            ClientError::BadConfig(_) => Self::invalid(message),
            ClientError::Io(_) => Self::new(code::IO, message),
            ClientError::Protocol(_) => Self::new(code::PROTOCOL, message),
            ClientError::Tls(_) => Self::new(code::TLS, message),
            ClientError::Rejected { code: status, description } => {
                Self { status: Some((status, description)), ..Self::new(code::REJECTED, message) }
            }
            ClientError::Timeout(_) => Self::new(code::TIMEOUT, message),
            ClientError::Closed => Self::new(code::CLOSED, message),
            _ => Self::new(code::INTERNAL, message),
        }
    }
}

impl From<EmbedError> for RtmpError {
    fn from(e: EmbedError) -> Self {
        let message = e.to_string();
        match e {
            EmbedError::Client(e) => e.into(),
            EmbedError::Io(_) => Self::new(code::IO, message),
            EmbedError::Timeout => Self::new(code::TIMEOUT, message),
            EmbedError::InvalidState(_) | EmbedError::InCallback(_) => Self::new(code::STATE, message),
            EmbedError::InvalidArgument(_) => Self::argument(message),
            EmbedError::Subscribe(e) => e.into(),
            EmbedError::Publish(e) => e.into(),
            EmbedError::Forward(e) => e.into(),
            _ => Self::new(code::INTERNAL, message),
        }
    }
}

impl From<SubscribeError> for RtmpError {
    fn from(e: SubscribeError) -> Self {
        let message = e.to_string();
        match e {
            SubscribeError::NotFound(_) => Self::new(code::NOT_FOUND, message),
            SubscribeError::TooManyPlayers(_) => Self::new(code::REJECTED, message),
            SubscribeError::ServerStopped => Self::new(code::CLOSED, message),
        }
    }
}

impl From<ForwardError> for RtmpError {
    fn from(e: ForwardError) -> Self {
        let message = e.to_string();
        match e {
            ForwardError::BadUrl(_) => Self::new(code::BAD_URL, message),
            ForwardError::NotLive(_) => Self::new(code::NOT_FOUND, message),
            ForwardError::Duplicate(_) => Self::new(code::DUPLICATE, message),
            ForwardError::NotRunning => Self::state(message),
        }
    }
}

impl From<PublishError> for RtmpError {
    fn from(e: PublishError) -> Self {
        let message = e.to_string();
        match e {
            PublishError::AlreadyPublishing(_) => Self::new(code::REJECTED, message),
            PublishError::Closed | PublishError::TakenOver => Self::new(code::CLOSED, message),
            PublishError::InvalidVideo(_)
            | PublishError::InvalidAudio(_)
            | PublishError::InvalidData(_)
            | PublishError::TimestampRegression { .. } => Self::argument(message),
        }
    }
}

impl From<std::io::Error> for RtmpError {
    fn from(e: std::io::Error) -> Self {
        Self::new(code::IO, e.to_string())
    }
}

/// Runs `future` on napi's runtime and returns its Promise; a failure rejects with the
/// `ERR_RTMP_*` error object, a success is turned into JS by `map` on the JS thread.
pub(crate) fn promise<'env, T, V, F, M>(
    env: &'env Env,
    future: F,
    map: M,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = Result<T, RtmpError>> + Send + 'static,
    M: FnOnce(&Env, T) -> napi::Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(future.await) }, move |env, outcome| match outcome {
        Ok(value) => map(env, value),
        Err(error) => Err(error.into_napi(env)),
    })
}

/// A Promise already settled with `outcome`.
pub(crate) fn settled<V: ToNapiValue + Send + 'static>(
    env: &Env,
    outcome: Result<V, RtmpError>,
) -> napi::Result<PromiseRaw<'_, V>> {
    promise(env, async move { outcome }, |_, value| Ok(value))
}
