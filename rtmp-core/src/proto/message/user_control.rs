//! User control events (message type 4).

use bytes::{BufMut, Bytes, BytesMut};

use super::{MessageError, type_id};

/// A user control event: a u16 event type and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControl {
    /// 0: a stream became functional.
    StreamBegin(u32),
    /// 1: playback of a stream ended.
    StreamEof(u32),
    /// 2: no more data on the stream for now.
    StreamDry(u32),
    /// 3: the client's buffer length for a stream.
    SetBufferLength {
        /// The message stream.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_ms: u32,
    },
    /// 4: the stream is a recording.
    StreamIsRecorded(u32),
    /// 6: the server checks the client is alive; answer with the same timestamp.
    PingRequest(u32),
    /// 7: the answer to a ping.
    PingResponse(u32),
    /// 26: SWF verification request (non-spec).
    SwfVerifyRequest,
    /// 27: SWF verification response (non-spec).
    SwfVerifyResponse(Bytes),
    /// 31: the client's buffer ran empty (non-spec).
    BufferEmpty(u32),
    /// 32: the client's buffer is full again (non-spec).
    BufferReady(u32),
    /// Any other event, kept as received.
    Unknown {
        /// The event type.
        event: u16,
        /// Its data.
        data: Bytes,
    },
}

impl UserControl {
    /// Decodes a user control body.
    pub fn decode(payload: &Bytes) -> Result<Self, MessageError> {
        let short = MessageError::Truncated { type_id: type_id::USER_CONTROL };
        let event = payload.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(short.clone())?;
        let word = |at: usize| {
            payload.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or(short.clone())
        };
        Ok(match event {
            0 => Self::StreamBegin(word(2)?),
            1 => Self::StreamEof(word(2)?),
            2 => Self::StreamDry(word(2)?),
            3 => Self::SetBufferLength { stream_id: word(2)?, buffer_ms: word(6)? },
            4 => Self::StreamIsRecorded(word(2)?),
            6 => Self::PingRequest(word(2)?),
            7 => Self::PingResponse(word(2)?),
            26 => Self::SwfVerifyRequest,
            27 => Self::SwfVerifyResponse(payload.slice(2..)),
            31 => Self::BufferEmpty(word(2)?),
            32 => Self::BufferReady(word(2)?),
            _ => Self::Unknown { event, data: payload.slice(2..) },
        })
    }

    /// Encodes the event body.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(10);
        let (event, word) = match self {
            Self::StreamBegin(id) => (0, Some(*id)),
            Self::StreamEof(id) => (1, Some(*id)),
            Self::StreamDry(id) => (2, Some(*id)),
            Self::SetBufferLength { stream_id, buffer_ms } => {
                out.put_u16(3);
                out.put_u32(*stream_id);
                out.put_u32(*buffer_ms);
                return out.freeze();
            }
            Self::StreamIsRecorded(id) => (4, Some(*id)),
            Self::PingRequest(t) => (6, Some(*t)),
            Self::PingResponse(t) => (7, Some(*t)),
            Self::SwfVerifyRequest => (26, None),
            Self::SwfVerifyResponse(data) => {
                out.put_u16(27);
                out.put_slice(data);
                return out.freeze();
            }
            Self::BufferEmpty(id) => (31, Some(*id)),
            Self::BufferReady(id) => (32, Some(*id)),
            Self::Unknown { event, data } => {
                out.put_u16(*event);
                out.put_slice(data);
                return out.freeze();
            }
        };
        out.put_u16(event);
        if let Some(word) = word {
            out.put_u32(word);
        }
        out.freeze()
    }
}
