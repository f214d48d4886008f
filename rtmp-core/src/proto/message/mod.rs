//! RTMP messages: protocol control, user control, commands, data, media and aggregates.
//!
//! [`Message::decode`] turns a reassembled [`RawMessage`](super::chunk::RawMessage) body into a
//! typed message; [`Message::encode`] does the reverse. Media bodies stay `Bytes` untouched.

mod aggregate;
mod command;
mod connect;
mod control;
mod data;
mod query;
pub mod status;
mod user_control;

use bytes::Bytes;
use thiserror::Error;

use super::amf::{AmfError, AmfLimits};

pub use aggregate::{AggregatePart, split_aggregate};
pub use command::Command;
pub use connect::{CapsEx, ConnectParams, FourCcInfo};
pub use control::BandwidthLimit;
pub use data::DataMessage;
pub(crate) use query::percent_decode;
pub use query::{StreamName, parse_query, split_query};
pub use user_control::UserControl;

/// Message type ids (RTMP spec §5.4, §7.1).
pub mod type_id {
    /// Set Chunk Size.
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Abort Message.
    pub const ABORT: u8 = 2;
    /// Acknowledgement.
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// User Control Message.
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size.
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth.
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio data.
    pub const AUDIO: u8 = 8;
    /// Video data.
    pub const VIDEO: u8 = 9;
    /// Data message, AMF3.
    pub const DATA_AMF3: u8 = 15;
    /// Shared object, AMF3.
    pub const SHARED_OBJECT_AMF3: u8 = 16;
    /// Command, AMF3.
    pub const COMMAND_AMF3: u8 = 17;
    /// Data message, AMF0.
    pub const DATA_AMF0: u8 = 18;
    /// Shared object, AMF0.
    pub const SHARED_OBJECT_AMF0: u8 = 19;
    /// Command, AMF0.
    pub const COMMAND_AMF0: u8 = 20;
    /// Aggregate of FLV-tag-framed sub-messages.
    pub const AGGREGATE: u8 = 22;
}

/// Why a message body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The body is shorter than its type requires.
    #[error("message type {type_id} body too short")]
    Truncated {
        /// The message type.
        type_id: u8,
    },
    /// The AMF body could not be decoded.
    #[error("amf body: {0}")]
    Amf(#[from] AmfError),
    /// A command or data message did not start with its name.
    #[error("command or data message without a name")]
    MissingName,
    /// An aggregate message's sub-message framing is broken.
    #[error("aggregate message: {0}")]
    BadAggregate(&'static str),
}

/// A decoded message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The sender's new chunk size.
    SetChunkSize(u32),
    /// Drop the partial message on a chunk stream.
    Abort {
        /// The chunk stream to abort.
        csid: u32,
    },
    /// Bytes received so far by the peer (wrapping).
    Acknowledgement {
        /// The byte count.
        sequence: u32,
    },
    /// How many bytes the sender may receive before it must acknowledge.
    WindowAckSize(u32),
    /// Limits the peer's output bandwidth (in practice: also announces a window size).
    SetPeerBandwidth {
        /// Window size in bytes.
        size: u32,
        /// Hard, soft or dynamic.
        limit: BandwidthLimit,
    },
    /// A user control event.
    UserControl(UserControl),
    /// An FLV audio tag body.
    Audio(Bytes),
    /// An FLV video tag body.
    Video(Bytes),
    /// `@setDataFrame`, `onMetaData`, `onTextData`, `onCuePoint`, …
    Data(DataMessage),
    /// A remote call or its reply.
    Command(Command),
    /// A shared object message, passed through undecoded.
    SharedObject {
        /// True for type 16 (AMF3).
        amf3: bool,
        /// The body.
        payload: Bytes,
    },
    /// An aggregate message; split it with [`split_aggregate`].
    Aggregate(Bytes),
    /// A type this library does not know.
    Unknown {
        /// The message type id.
        type_id: u8,
        /// The body.
        payload: Bytes,
    },
}

fn read_u32(payload: &[u8], type_id: u8) -> Result<u32, MessageError> {
    payload
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(MessageError::Truncated { type_id })
}

/// Skips the format byte that AMF3 commands and data messages start with.
fn amf_body(type_id: u8, payload: &Bytes) -> &[u8] {
    match (type_id, payload.first()) {
        (type_id::COMMAND_AMF3 | type_id::DATA_AMF3, Some(0)) => &payload[1..],
        _ => payload,
    }
}

impl Message {
    /// Decodes the body of a message of type `type_id`.
    pub fn decode(type_id: u8, payload: Bytes, limits: &AmfLimits) -> Result<Self, MessageError> {
        use type_id::*;
        Ok(match type_id {
            SET_CHUNK_SIZE => Self::SetChunkSize(read_u32(&payload, type_id)?),
            ABORT => Self::Abort { csid: read_u32(&payload, type_id)? },
            ACKNOWLEDGEMENT => Self::Acknowledgement { sequence: read_u32(&payload, type_id)? },
            WINDOW_ACK_SIZE => Self::WindowAckSize(read_u32(&payload, type_id)?),
            SET_PEER_BANDWIDTH => Self::SetPeerBandwidth {
                size: read_u32(&payload, type_id)?,
                // Some clients omit the limit type; dynamic is what every server sends.
                limit: BandwidthLimit::from_u8(payload.get(4).copied().unwrap_or(2)),
            },
            USER_CONTROL => Self::UserControl(UserControl::decode(&payload)?),
            AUDIO => Self::Audio(payload),
            VIDEO => Self::Video(payload),
            DATA_AMF0 | DATA_AMF3 => Self::Data(DataMessage::decode(amf_body(type_id, &payload), limits)?),
            COMMAND_AMF0 | COMMAND_AMF3 => {
                Self::Command(Command::decode(amf_body(type_id, &payload), limits)?)
            }
            SHARED_OBJECT_AMF0 | SHARED_OBJECT_AMF3 => {
                Self::SharedObject { amf3: type_id == SHARED_OBJECT_AMF3, payload }
            }
            AGGREGATE => Self::Aggregate(payload),
            _ => Self::Unknown { type_id, payload },
        })
    }

    /// The type id and body of this message. Commands and data are written as AMF0.
    pub fn encode(&self) -> (u8, Bytes) {
        use type_id::*;
        let u32_body = |v: u32| Bytes::copy_from_slice(&v.to_be_bytes());
        match self {
            Self::SetChunkSize(size) => (SET_CHUNK_SIZE, u32_body(*size & 0x7FFF_FFFF)),
            Self::Abort { csid } => (ABORT, u32_body(*csid)),
            Self::Acknowledgement { sequence } => (ACKNOWLEDGEMENT, u32_body(*sequence)),
            Self::WindowAckSize(size) => (WINDOW_ACK_SIZE, u32_body(*size)),
            Self::SetPeerBandwidth { size, limit } => {
                let mut body = size.to_be_bytes().to_vec();
                body.push(*limit as u8);
                (SET_PEER_BANDWIDTH, Bytes::from(body))
            }
            Self::UserControl(event) => (USER_CONTROL, event.encode()),
            Self::Audio(payload) => (AUDIO, payload.clone()),
            Self::Video(payload) => (VIDEO, payload.clone()),
            Self::Data(data) => (DATA_AMF0, data.encode()),
            Self::Command(command) => (COMMAND_AMF0, command.encode()),
            Self::SharedObject { amf3, payload } => {
                (if *amf3 { SHARED_OBJECT_AMF3 } else { SHARED_OBJECT_AMF0 }, payload.clone())
            }
            Self::Aggregate(payload) => (AGGREGATE, payload.clone()),
            Self::Unknown { type_id, payload } => (*type_id, payload.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
