//! rtmp-embed, the embedding layer: what the C API (`rtmp-ffi`), the Python package and the Node
//! package share. Neither binding depends on the C ABI crate.
//!
//! It owns a tokio [`Runtime`], starts and stops servers ([`EmbeddedServer`]) and clients
//! ([`EmbeddedPlayer`], [`EmbeddedPublisher`]), implements [`RtmpHandler`] once by turning every
//! hook call into an owned [`Event`] handed to a pluggable [`EventSink`], and carries decisions
//! back: a decision event holds a [`Request`] that may be answered at once or later, from any
//! thread, with [`Request::accept`] / [`Request::reject`]; no answer within
//! [`ServerOptions::decision_timeout`] counts as a reject.
//!
//! The skins differ only in their sink: the C API calls function pointers, Python and Node queue
//! events to their interpreter threads. Blocking calls made from inside a callback are guarded
//! (see [`callback_scope`]): stopping a server from its own callback is an error, not a deadlock.
//!
//! [`RtmpHandler`]: rtmp_core::server::RtmpHandler
#![warn(missing_docs)]

mod client;
mod event;
mod frame;
mod local;
mod log;
mod options;
mod policy;
mod runtime;
mod server;

// The repository README's Rust examples, run as doctests (`cargo test --doc -p rtmp-embed`). They
// live here, not in rtmp-core, because the published crate has no ../../README.md: its own
// README's examples are rtmp-core's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

use std::fmt;
use std::io;

pub use client::{ClientOptions, EmbeddedPlayer, EmbeddedPublisher, PlayerItem, Received};
pub use event::{
    AnswerError, Event, EventSink, Hook, Interest, Request, RequestDetails, RequestKind, Session,
};
pub use frame::{Frame, FrameKind};
pub use local::{EmbeddedLocalPublisher, EmbeddedSubscription, LocalItem, LocalReceived, parse_stream_key};
pub use log::{LogRecord, LogSink, set_log_sink};
pub use options::{
    CLIENT_LAYER_OPTIONS, LAYER_OPTIONS, OptionInfo, client_options, duration_in, node_message, node_name,
    server_options,
};
pub use policy::{Admission, FrameBudget, Verdict, is_droppable, wait_for_verdict};
pub use runtime::{CallbackKind, Runtime, callback_scope, in_callback};
pub use server::{Dispatch, EmbeddedServer, ServerOptions};

use rtmp_core::client::ClientError;

/// Why an embedding-layer call failed. Not `non_exhaustive`: each skin maps every case.
#[derive(Debug)]
pub enum EmbedError {
    /// The call would block or wait for the caller itself: it was made from inside a callback
    /// where that is not allowed. The text names the call.
    InCallback(&'static str),
    /// The object is not in a state that allows the call (starting twice, a closed client).
    InvalidState(&'static str),
    /// A socket or runtime error.
    Io(io::Error),
    /// A client error: URL, connection, refusal by the server, TLS, protocol.
    Client(ClientError),
    /// A wait timed out.
    Timeout,
    /// A task of the layer panicked.
    Panic,
    /// An argument is malformed (the text says which and how).
    InvalidArgument(String),
    /// A local subscription was refused.
    Subscribe(rtmp_core::server::SubscribeError),
    /// A local publish or send was refused.
    Publish(rtmp_core::server::PublishError),
    /// A forward could not be added at runtime.
    Forward(rtmp_core::server::ForwardError),
}

impl fmt::Display for EmbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InCallback(what) => write!(f, "{what} is not allowed inside this callback"),
            Self::InvalidState(what) => write!(f, "invalid state: {what}"),
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Client(e) => write!(f, "{e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Panic => f.write_str("a task panicked"),
            Self::InvalidArgument(what) => f.write_str(what),
            Self::Subscribe(e) => write!(f, "{e}"),
            Self::Publish(e) => write!(f, "{e}"),
            Self::Forward(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EmbedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for EmbedError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<ClientError> for EmbedError {
    fn from(e: ClientError) -> Self {
        Self::Client(e)
    }
}
