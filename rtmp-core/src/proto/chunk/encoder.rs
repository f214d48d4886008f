//! Cuts messages into chunks.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::{BasicHeader, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE};

/// The largest value the 24-bit timestamp field holds; larger ones use the extended field.
const EXTENDED_MARKER: u32 = 0xFF_FFFF;

/// What the peer's decoder remembers about one chunk stream after our last header.
#[derive(Debug, Clone, Copy)]
struct SentState {
    timestamp: u32,
    /// The delta last written on the wire; `None` after a type 0, so that a type 3 never relies
    /// on the spec's "delta = type-0 timestamp" rule that some readers get wrong.
    delta: Option<u32>,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Chunks messages for one connection, compressing headers against what was sent before.
///
/// Writer rules (chosen so that no known reader mis-times a message):
/// - type 0 on a new chunk stream, a new message stream id, a timestamp that goes backwards, or
///   a delta that would need the extended field (SRS reads an extended type 1/2 delta as absolute);
/// - type 3 for a new message only when its delta equals the delta last *written*;
/// - every continuation chunk repeats the extended timestamp when the message has one.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    sent: HashMap<u32, SentState>,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkEncoder {
    /// An encoder at the default chunk size of 128 bytes.
    pub fn new() -> Self {
        Self { chunk_size: DEFAULT_CHUNK_SIZE, sent: HashMap::new() }
    }

    /// The chunk size chunks are cut at.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Changes the outgoing chunk size (clamped to 1..=[`MAX_CHUNK_SIZE`]). Send the Set Chunk
    /// Size message *before* calling this.
    pub fn set_chunk_size(&mut self, size: u32) {
        self.chunk_size = size.clamp(1, MAX_CHUNK_SIZE);
    }

    /// Forgets chunk stream `csid`, so its next message starts with a type 0 header. Call it after
    /// writing pre-chunked shared bytes (see [`encode_shared`]) on that chunk stream.
    pub fn forget_stream(&mut self, csid: u32) {
        self.sent.remove(&csid);
    }

    /// Appends `payload` as a message on chunk stream `csid`.
    pub fn write(
        &mut self,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
        out: &mut BytesMut,
    ) {
        let length = payload.len() as u32;
        let previous = self.sent.get(&csid).copied();
        let (fmt, time_field, delta) = match previous {
            Some(p) if p.stream_id == stream_id && timestamp >= p.timestamp => {
                let delta = timestamp - p.timestamp;
                if delta >= EXTENDED_MARKER {
                    (0, timestamp, None)
                } else if p.length != length || p.type_id != type_id {
                    (1, delta, Some(delta))
                } else if p.delta == Some(delta) {
                    (3, delta, Some(delta))
                } else {
                    (2, delta, Some(delta))
                }
            }
            _ => (0, timestamp, None),
        };
        self.sent.insert(csid, SentState { timestamp, delta, length, type_id, stream_id });
        let header = MessageHeader { fmt, csid, time_field, length, type_id, stream_id };
        write_chunks(&header, payload, self.chunk_size, out);
    }
}

/// The fields of a message's first chunk header.
struct MessageHeader {
    fmt: u8,
    csid: u32,
    time_field: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

fn write_chunks(header: &MessageHeader, payload: &[u8], chunk_size: u32, out: &mut BytesMut) {
    let extended = header.time_field >= EXTENDED_MARKER && header.fmt < 3;
    let chunk_size = chunk_size as usize;
    let chunks = payload.len().div_ceil(chunk_size).max(1);
    let continuation_len =
        BasicHeader { fmt: 3, csid: header.csid }.encoded_len() + if extended { 4 } else { 0 };
    out.reserve(18 + payload.len() + (chunks - 1) * continuation_len);

    BasicHeader { fmt: header.fmt, csid: header.csid }.write(out);
    let field = header.time_field.min(EXTENDED_MARKER);
    if header.fmt < 3 {
        out.put_uint(u64::from(field), 3);
    }
    if header.fmt < 2 {
        out.put_uint(u64::from(header.length), 3);
        out.put_u8(header.type_id);
    }
    if header.fmt == 0 {
        out.put_u32_le(header.stream_id);
    }
    if extended {
        out.put_u32(header.time_field);
    }
    let mut pieces = payload.chunks(chunk_size);
    out.put_slice(pieces.next().unwrap_or_default());
    for piece in pieces {
        BasicHeader { fmt: 3, csid: header.csid }.write(out);
        if extended {
            out.put_u32(header.time_field);
        }
        out.put_slice(piece);
    }
}

/// The end (exclusive) of the chunk that holds byte `offset` of `message`, a message chunked by
/// [`encode_shared`] with `chunk_size`. A writer that has sent part of a message may put whole
/// messages of other chunk streams on the wire there, and only there. Bytes that do not start
/// with such a header count as one chunk.
pub fn shared_chunk_end(message: &[u8], chunk_size: u32, offset: usize) -> usize {
    let Some((basic, header)) = shared_header(message) else { return message.len() };
    let extended = if header[..3] == [0xff, 0xff, 0xff] { 4 } else { 0 };
    let payload = usize::from(header[3]) << 16 | usize::from(header[4]) << 8 | usize::from(header[5]);
    let chunk_size = chunk_size.clamp(1, MAX_CHUNK_SIZE) as usize;
    let first_end = basic + 11 + extended + payload.min(chunk_size);
    let end = if offset < first_end {
        first_end
    } else {
        let continuation = basic + extended + chunk_size;
        first_end + ((offset - first_end) / continuation + 1) * continuation
    };
    end.min(message.len())
}

/// The message type of a message chunked by [`encode_shared`].
pub fn shared_type_id(message: &[u8]) -> Option<u8> {
    shared_header(message).map(|(_, header)| header[6])
}

/// The basic header's length and the 11-byte type 0 message header of a shared message.
fn shared_header(message: &[u8]) -> Option<(usize, &[u8])> {
    let basic = match message.first()? & 0x3f {
        0 => 2,
        1 => 3,
        _ => 1,
    };
    Some((basic, message.get(basic..basic + 11)?))
}

/// Chunks a message once, with a type 0 header and type 3 continuations, so that the bytes
/// depend on nothing sent before and can be shared by every subscriber using `chunk_size`.
pub fn encode_shared(
    csid: u32,
    timestamp: u32,
    type_id: u8,
    stream_id: u32,
    payload: &[u8],
    chunk_size: u32,
) -> Bytes {
    let mut out = BytesMut::new();
    let header = MessageHeader {
        fmt: 0,
        csid,
        time_field: timestamp,
        length: payload.len() as u32,
        type_id,
        stream_id,
    };
    write_chunks(&header, payload, chunk_size.clamp(1, MAX_CHUNK_SIZE), &mut out);
    out.freeze()
}
