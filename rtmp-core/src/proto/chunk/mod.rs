//! The chunk stream: messages cut into chunks with compressed headers (RTMP spec §5.3).
//!
//! [`ChunkDecoder`] reassembles messages from any fragmentation of the input, lenient where
//! encoders are sloppy and strict where memory is at stake. [`ChunkEncoder`] writes chunks for
//! one connection; [`encode_shared`] chunks a media message once so many subscribers can share it.

mod decoder;
mod encoder;
mod header;

use bytes::Bytes;
use thiserror::Error;

pub use decoder::{ChunkDecoder, ChunkLimits};
pub use encoder::{ChunkEncoder, encode_shared, shared_chunk_end, shared_type_id};
pub use header::{BasicHeader, MAX_CSID, MIN_CSID};

/// The chunk size every connection starts with, in each direction.
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// The largest chunk size that takes effect; larger requests are clamped to it.
pub const MAX_CHUNK_SIZE: u32 = 0x00FF_FFFF;
/// The chunk stream id reserved for protocol control messages.
pub const CONTROL_CSID: u32 = 2;

/// One reassembled RTMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The chunk stream it arrived on.
    pub csid: u32,
    /// Absolute timestamp in milliseconds (wrapping u32).
    pub timestamp: u32,
    /// The message type id (1–22 are defined).
    pub type_id: u8,
    /// The message stream id (0 for control and connection-level commands).
    pub stream_id: u32,
    /// The message body.
    pub payload: Bytes,
}

/// Why the chunk stream was refused. Every variant ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// A message longer than the configured maximum was announced.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The announced length.
        len: u32,
        /// The configured maximum.
        max: u32,
    },
    /// More distinct chunk streams than the configured maximum.
    #[error("more than {0} chunk streams on one connection")]
    TooManyChunkStreams(usize),
    /// A chunk stream started with a header type that needs a previous header (fmt 2 or 3).
    #[error("chunk stream {csid} starts with a fmt {fmt} header")]
    NoPreviousHeader {
        /// The chunk stream.
        csid: u32,
        /// The header type received.
        fmt: u8,
    },
    /// A full header arrived on a chunk stream while a message was still incomplete.
    #[error("chunk stream {0} got a new message header inside an unfinished message")]
    HeaderInsideMessage(u32),
    /// Set Chunk Size with bit 31 set or a value of 0.
    #[error("invalid chunk size {0}")]
    InvalidChunkSize(u32),
}

#[cfg(test)]
mod tests;
