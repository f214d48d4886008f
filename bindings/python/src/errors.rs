//! The exception hierarchy: `RtmpError` and its subclasses, and the mapping from Rust errors.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use rtmp_core::client::ClientError;
use rtmp_core::server::{ForwardError, PublishError, SubscribeError};
use rtmp_embed::EmbedError;

create_exception!(rtmp_rs, RtmpError, PyException, "Base class of every error raised by rtmp_rs.");
create_exception!(rtmp_rs, UrlError, RtmpError, "The URL is not an rtmp:// or rtmps:// URL.");
create_exception!(rtmp_rs, NetworkError, RtmpError, "A socket error (connect, bind, read, write).");
create_exception!(rtmp_rs, ProtocolError, RtmpError, "The peer broke the RTMP protocol.");
create_exception!(rtmp_rs, TlsError, RtmpError, "RTMPS setup or handshake failed.");
create_exception!(
    rtmp_rs,
    RejectedError,
    RtmpError,
    "The server refused connect, publish or play; `code` and `description` tell why."
);
create_exception!(rtmp_rs, RtmpTimeoutError, RtmpError, "The peer did not answer in time.");
create_exception!(rtmp_rs, ClosedError, RtmpError, "The connection is closed.");
create_exception!(
    rtmp_rs,
    StreamNotFoundError,
    RtmpError,
    "The stream is not published (a subscription without `wait`, or none within it)."
);
create_exception!(
    rtmp_rs,
    InvalidStateError,
    RtmpError,
    "The object is not in a state that allows the call (starting twice, a closed client)."
);
create_exception!(
    rtmp_rs,
    ForwardExistsError,
    RtmpError,
    "`Server.add_forward`: the stream is forwarded to that URL already."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RtmpError", py.get_type::<RtmpError>())?;
    m.add("UrlError", py.get_type::<UrlError>())?;
    m.add("NetworkError", py.get_type::<NetworkError>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    m.add("TlsError", py.get_type::<TlsError>())?;
    m.add("RejectedError", py.get_type::<RejectedError>())?;
    m.add("RtmpTimeoutError", py.get_type::<RtmpTimeoutError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("InvalidStateError", py.get_type::<InvalidStateError>())?;
    m.add("StreamNotFoundError", py.get_type::<StreamNotFoundError>())?;
    m.add("ForwardExistsError", py.get_type::<ForwardExistsError>())?;
    Ok(())
}

/// A client error as its Python exception.
pub(crate) fn client_error(e: ClientError) -> PyErr {
    let text = e.to_string();
    match e {
        ClientError::BadUrl(_) => UrlError::new_err(text),
        ClientError::BadConfig(e) => crate::server::option_error(&e),
        ClientError::Io(_) => NetworkError::new_err(text),
        ClientError::Protocol(_) => ProtocolError::new_err(text),
        ClientError::Tls(_) => TlsError::new_err(text),
        ClientError::Rejected { code, description } => rejected(text, &code, &description),
        ClientError::Timeout(_) => RtmpTimeoutError::new_err(text),
        ClientError::Closed => ClosedError::new_err(text),
        _ => RtmpError::new_err(text),
    }
}

/// A `RejectedError` with its `code` and `description`.
fn rejected(text: String, code: &str, description: &str) -> PyErr {
    Python::attach(|py| {
        let err = RejectedError::new_err(text);
        let value = err.value(py);
        let _ = value.setattr("code", code);
        let _ = value.setattr("description", description);
        err
    })
}

/// An awaitable's error. It becomes a Python exception only on the thread that hands the
/// outcome to asyncio, with the GIL (a rejection's exception gets attributes).
pub(crate) enum Failure {
    Embed(EmbedError),
    Python(PyErr),
}

impl From<EmbedError> for Failure {
    fn from(e: EmbedError) -> Self {
        Self::Embed(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Self::Python(e)
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Embed(e) => embed_error(e),
            Failure::Python(e) => e,
        }
    }
}

/// An embedding-layer error as its Python exception.
pub(crate) fn embed_error(e: EmbedError) -> PyErr {
    match e {
        EmbedError::Client(e) => client_error(e),
        EmbedError::Io(e) => NetworkError::new_err(e.to_string()),
        EmbedError::Timeout => RtmpTimeoutError::new_err("timed out"),
        e @ (EmbedError::InCallback(_) | EmbedError::InvalidState(_)) => {
            InvalidStateError::new_err(e.to_string())
        }
        EmbedError::InvalidArgument(text) => PyValueError::new_err(text),
        EmbedError::Forward(e) => {
            let text = e.to_string();
            match e {
                ForwardError::BadUrl(_) => UrlError::new_err(text),
                ForwardError::NotLive(_) => StreamNotFoundError::new_err(text),
                ForwardError::Duplicate(_) => ForwardExistsError::new_err(text),
                ForwardError::NotRunning => InvalidStateError::new_err(text),
            }
        }
        EmbedError::Subscribe(e) => {
            let text = e.to_string();
            match e {
                SubscribeError::NotFound(_) => StreamNotFoundError::new_err(text),
                // What a network player gets past max_players_per_stream.
                SubscribeError::TooManyPlayers(_) => rejected(text.clone(), "NetStream.Play.Failed", &text),
                SubscribeError::ServerStopped => ClosedError::new_err(text),
            }
        }
        EmbedError::Publish(e) => {
            let text = e.to_string();
            match e {
                // What an RTMP publisher gets under publisher_policy="reject_new".
                PublishError::AlreadyPublishing(_) => {
                    rejected(text.clone(), "NetStream.Publish.BadName", &text)
                }
                PublishError::Closed | PublishError::TakenOver => ClosedError::new_err(text),
                PublishError::InvalidVideo(_)
                | PublishError::InvalidAudio(_)
                | PublishError::InvalidData(_)
                | PublishError::TimestampRegression { .. } => PyValueError::new_err(text),
            }
        }
        e @ EmbedError::Panic => RtmpError::new_err(e.to_string()),
    }
}
