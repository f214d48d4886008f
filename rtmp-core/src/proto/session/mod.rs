//! Client and server session state machines: bytes in, events and bytes out.
//!
//! A session owns the handshake, the chunk decoder and encoder, and the command flow of one
//! connection. The IO layer feeds it with [`handle_input`](ServerSession::handle_input), drains
//! bytes with `poll_transmit` and events with `poll_event`, and answers requests (connect,
//! publish, play) with `accept`/`reject` by [`RequestId`], at any later time. Timers work as in
//! quinn-proto: the IO layer sleeps until `poll_timeout` and then calls `handle_timeout(now)`;
//! the session never reads a clock.

mod chunk_io;
mod client;
mod event;
mod server;
mod timer;
mod timestamp;

use thiserror::Error;

pub use client::{ClientSession, ClientSessionConfig};
pub use event::{ClientEvent, ServerEvent};
pub use server::{ServerSession, ServerSessionConfig};
pub use timer::{TimeoutKind, Timers};
pub use timestamp::TimestampNormalizer;

/// Identifies a pending connect, publish or play request until it is accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Chunk stream ids this library writes on. Shared, pre-chunked media uses its own ids so that
/// type-0-only shared chunks never break the header compression of the other streams.
pub mod csid {
    /// Protocol control and user control messages.
    pub const CONTROL: u32 = 2;
    /// Connection-level commands (`connect`, `createStream`, their replies).
    pub const COMMAND: u32 = 3;
    /// Data messages (metadata).
    pub const DATA: u32 = 4;
    /// Stream-level commands and `onStatus`.
    pub const STREAM: u32 = 5;
    /// Audio.
    pub const AUDIO: u32 = 6;
    /// Video.
    pub const VIDEO: u32 = 7;
}

/// Why a session refused the peer's command flow or an API call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A command other than `connect` arrived before `connect`.
    #[error("command {0:?} before connect")]
    CommandBeforeConnect(String),
    /// A second `connect` on the same connection.
    #[error("connect sent twice")]
    DuplicateConnect,
    /// publish or play on a message stream that `createStream` never returned.
    #[error("{command} on stream {stream_id}, which was never created")]
    UnknownStream {
        /// The command.
        command: String,
        /// The message stream id it arrived on.
        stream_id: u32,
    },
    /// accept/reject for a request that is not pending.
    #[error("no pending request {0:?}")]
    UnknownRequest(RequestId),
    /// The call needs a connected session.
    #[error("not connected")]
    NotConnected,
    /// The session was closed.
    #[error("session closed")]
    Closed,
}
