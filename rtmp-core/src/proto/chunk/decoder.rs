//! Reassembles messages from chunks.

use bytes::{Buf, BytesMut};

use super::{BasicHeader, ChunkError, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, RawMessage};

/// Bounds that keep one connection's chunk stream from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Longest message accepted, in bytes. Messages are never buffered ahead of their bytes
    /// arriving, so this caps what a peer can make us hold per chunk stream.
    pub max_message_size: u32,
    /// Most distinct chunk stream ids one connection may use.
    pub max_chunk_streams: usize,
}

impl Default for ChunkLimits {
    /// 8 MiB messages (4K keyframes fit; nginx's 1 MiB does not) and 64 chunk streams
    /// (real encoders use fewer than 10).
    fn default() -> Self {
        Self { max_message_size: 8 * 1024 * 1024, max_chunk_streams: 64 }
    }
}

/// The header fields remembered per chunk stream, for the compressed header types.
#[derive(Debug, Default)]
struct StreamState {
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The last full header on this stream carried an extended timestamp field.
    extended: bool,
    /// That field's raw value, which type-3 chunks may repeat.
    extended_value: u32,
    /// Bytes of the message in progress; empty between messages.
    partial: BytesMut,
    /// Bytes still missing from the message in progress; 0 between messages.
    remaining: u32,
}

/// Turns received bytes into [`RawMessage`]s.
///
/// Feed it with [`push`](Self::push) (or read straight into [`buffer_mut`](Self::buffer_mut)),
/// then call [`next_message`](Self::next_message) until it returns `None`. Set Chunk Size and
/// Abort messages take effect inside the decoder as soon as they are decoded (and are still
/// returned), so chunks that follow them in the same input are read correctly.
#[derive(Debug)]
pub struct ChunkDecoder {
    limits: ChunkLimits,
    chunk_size: u32,
    input: BytesMut,
    /// Per chunk stream id, in order of first use: a handful in practice (at most
    /// `max_chunk_streams`), found faster by a scan than by hashing.
    streams: Vec<(u32, StreamState)>,
    bytes_consumed: u64,
}

/// A chunk header resolved against its stream's state, not yet committed.
struct ResolvedChunk {
    csid: u32,
    /// Where the chunk stream's state is in `streams`; `None` for a new chunk stream.
    index: Option<usize>,
    header_len: usize,
    payload_len: usize,
    starts_message: bool,
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    extended: Option<(bool, u32)>,
}

impl ChunkDecoder {
    /// A decoder at the default chunk size of 128 bytes.
    pub fn new(limits: ChunkLimits) -> Self {
        Self {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            input: BytesMut::new(),
            streams: Vec::new(),
            bytes_consumed: 0,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// The unparsed input, to read from a socket straight into it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.input
    }

    /// Bytes received but not yet part of a complete chunk.
    pub fn pending_input(&self) -> usize {
        self.input.len()
    }

    /// The chunk size the peer currently sends with.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Applies a Set Chunk Size value: bit 31 set or 0 is an error, values above
    /// [`MAX_CHUNK_SIZE`] are clamped.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if size == 0 || size & 0x8000_0000 != 0 {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size.min(MAX_CHUNK_SIZE);
        Ok(())
    }

    /// Drops the partial message of chunk stream `csid` (the Abort message).
    pub fn abort(&mut self, csid: u32) {
        if let Some(state) = self.stream_mut(csid) {
            state.partial.clear();
            state.remaining = 0;
        }
    }

    /// Total bytes of complete chunks consumed so far, for acknowledgements.
    pub fn bytes_consumed(&self) -> u64 {
        self.bytes_consumed
    }

    /// Decodes the next complete message; `Ok(None)` when more input is needed.
    pub fn next_message(&mut self) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            let Some(chunk) = self.resolve_chunk()? else { return Ok(None) };
            if let Some(message) = self.commit_chunk(chunk) {
                self.apply_control(&message)?;
                return Ok(Some(message));
            }
        }
    }

    /// Parses the chunk at the front of the input without consuming it.
    fn resolve_chunk(&mut self) -> Result<Option<ResolvedChunk>, ChunkError> {
        let input = &self.input[..];
        let Some((basic, mut pos)) = BasicHeader::parse(input) else { return Ok(None) };
        let BasicHeader { fmt, csid } = basic;
        let header_len = [11, 7, 3, 0][usize::from(fmt)];
        let Some(fields) = input.get(pos..pos + header_len) else { return Ok(None) };
        pos += header_len;

        let index = self.streams.iter().position(|(id, _)| *id == csid);
        let known = index.map(|i| &self.streams[i].1);
        if known.is_none() {
            if fmt >= 2 {
                return Err(ChunkError::NoPreviousHeader { csid, fmt });
            }
            if self.streams.len() >= self.limits.max_chunk_streams {
                return Err(ChunkError::TooManyChunkStreams(self.limits.max_chunk_streams));
            }
        }
        let fresh = StreamState::default();
        let state = known.unwrap_or(&fresh);
        let in_message = state.remaining > 0;
        if fmt < 3 && in_message {
            return Err(ChunkError::HeaderInsideMessage(csid));
        }

        let field24 = |at: usize| u32::from_be_bytes([0, fields[at], fields[at + 1], fields[at + 2]]);
        let (mut timestamp, mut delta) = (state.timestamp, state.delta);
        let (mut length, mut type_id, mut stream_id) = (state.length, state.type_id, state.stream_id);
        let mut extended = None;
        if fmt < 3 {
            let mut time_field = field24(0);
            let has_extended = time_field == 0xFF_FFFF;
            if has_extended {
                let Some(ext) = input.get(pos..pos + 4) else { return Ok(None) };
                time_field = u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]);
                pos += 4;
            }
            extended = Some((has_extended, time_field));
            if fmt == 0 {
                // After a type 0 the implied delta for a following type 3 is the timestamp itself.
                timestamp = time_field;
                delta = time_field;
                stream_id = u32::from_le_bytes([fields[7], fields[8], fields[9], fields[10]]);
            } else {
                delta = time_field;
                timestamp = timestamp.wrapping_add(delta);
            }
            if fmt <= 1 {
                length = field24(3);
                type_id = fields[6];
            }
        } else {
            if state.extended {
                // Writers disagree on whether type 3 repeats the extended field: take the next
                // four bytes as that field only if they equal it (as SRS and GStreamer do).
                // A shorter prefix that already differs cannot be the field, so no need to wait.
                let expected = state.extended_value.to_be_bytes();
                let available = &input[pos..input.len().min(pos + 4)];
                if available == &expected[..available.len()] {
                    if available.len() < 4 {
                        return Ok(None);
                    }
                    pos += 4;
                }
            }
            if !in_message {
                timestamp = timestamp.wrapping_add(delta);
            }
        }

        if length > self.limits.max_message_size {
            return Err(ChunkError::MessageTooLarge { len: length, max: self.limits.max_message_size });
        }
        let remaining = if in_message { state.remaining } else { length };
        let payload_len = remaining.min(self.chunk_size) as usize;
        if input.len() < pos + payload_len {
            return Ok(None);
        }
        Ok(Some(ResolvedChunk {
            csid,
            index,
            header_len: pos,
            payload_len,
            starts_message: !in_message,
            timestamp,
            delta,
            length,
            type_id,
            stream_id,
            extended,
        }))
    }

    /// Consumes a resolved chunk; returns the message it completes, if any.
    fn commit_chunk(&mut self, chunk: ResolvedChunk) -> Option<RawMessage> {
        self.input.advance(chunk.header_len);
        self.bytes_consumed += (chunk.header_len + chunk.payload_len) as u64;
        let index = match chunk.index {
            Some(index) => index,
            None => {
                self.streams.push((chunk.csid, StreamState::default()));
                self.streams.len() - 1
            }
        };
        let state = &mut self.streams[index].1;
        state.timestamp = chunk.timestamp;
        state.delta = chunk.delta;
        state.length = chunk.length;
        state.type_id = chunk.type_id;
        state.stream_id = chunk.stream_id;
        if let Some((extended, value)) = chunk.extended {
            state.extended = extended;
            state.extended_value = value;
        }
        if chunk.starts_message {
            state.remaining = chunk.length;
            let continuation = ContinuationChunks {
                csid: chunk.csid,
                chunk_size: self.chunk_size as usize,
                extended_value: state.extended.then_some(state.extended_value),
            };
            if let Some(gaps) =
                continuation.close_gaps(&mut self.input, chunk.payload_len, chunk.length as usize)
            {
                // The whole message is in the input: hand out its bytes without copying.
                state.remaining = 0;
                let payload = self.input.split_to(chunk.length as usize).freeze();
                self.input.advance(gaps);
                self.bytes_consumed += (gaps + payload.len() - chunk.payload_len) as u64;
                return Some(state.message(chunk.csid, payload));
            }
        }
        state.partial.extend_from_slice(&self.input[..chunk.payload_len]);
        self.input.advance(chunk.payload_len);
        state.remaining -= chunk.payload_len as u32;
        if state.remaining > 0 {
            return None;
        }
        let payload = state.partial.split().freeze();
        Some(state.message(chunk.csid, payload))
    }

    fn stream_mut(&mut self, csid: u32) -> Option<&mut StreamState> {
        self.streams.iter_mut().find(|(id, _)| *id == csid).map(|(_, state)| state)
    }

    /// Set Chunk Size and Abort change how the following chunks are read.
    fn apply_control(&mut self, message: &RawMessage) -> Result<(), ChunkError> {
        if message.stream_id != 0 && message.csid != super::CONTROL_CSID {
            return Ok(());
        }
        let Some(value) = message.payload.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return Ok(());
        };
        match message.type_id {
            1 => self.set_chunk_size(value),
            2 => {
                self.abort(value);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The type-3 chunks that continue a message on one chunk stream, read straight from the input.
struct ContinuationChunks {
    csid: u32,
    chunk_size: usize,
    /// The extended timestamp field the message's header carried, which type-3 chunks may repeat.
    extended_value: Option<u32>,
}

impl ContinuationChunks {
    /// When the whole message is in `input` (which starts with its first chunk's payload of
    /// `first` bytes), its chunks following each other with no other chunk stream between
    /// them (as encoders send), moves the payload pieces together over the chunk headers
    /// between them, so the message is `input[..length]` and can be handed out without another
    /// buffer. Returns the bytes of those headers, now after the payload; `None` (input
    /// untouched) when the message is not all there or is interleaved: it is then reassembled
    /// by copying, chunk by chunk.
    fn close_gaps(&self, input: &mut BytesMut, first: usize, length: usize) -> Option<usize> {
        let end = self.message_end(input, first, length)?;
        // Each piece moves back over the headers before it; the headers still to read lie
        // past what has been written.
        let (mut pos, mut filled) = (first, first);
        while filled < length {
            let header = self.header_len(&input[pos..]).expect("checked by message_end");
            let len = (length - filled).min(self.chunk_size);
            input.copy_within(pos + header..pos + header + len, filled);
            pos += header + len;
            filled += len;
        }
        Some(end - length)
    }

    /// Where the message's last chunk ends in `input`, if all its chunks are there.
    fn message_end(&self, input: &[u8], first: usize, length: usize) -> Option<usize> {
        let (mut pos, mut remaining) = (first, length - first);
        while remaining > 0 {
            let header = self.header_len(&input[pos..])?;
            let len = remaining.min(self.chunk_size);
            if input.len() < pos + header + len {
                return None;
            }
            pos += header + len;
            remaining -= len;
        }
        Some(pos)
    }

    /// The length of a type-3 header of this chunk stream at the front of `input`, with the
    /// repeated extended timestamp field if it is there (read as the decoder reads it).
    fn header_len(&self, input: &[u8]) -> Option<usize> {
        let (basic, len) = BasicHeader::parse(input)?;
        if basic.fmt != 3 || basic.csid != self.csid {
            return None;
        }
        let Some(value) = self.extended_value else { return Some(len) };
        match input.get(len..len + 4) {
            Some(field) if field == value.to_be_bytes() => Some(len + 4),
            Some(_) => Some(len),
            // Too short to tell: leave it to the chunk-by-chunk path.
            None => None,
        }
    }
}

impl StreamState {
    fn message(&self, csid: u32, payload: bytes::Bytes) -> RawMessage {
        RawMessage {
            csid,
            timestamp: self.timestamp,
            type_id: self.type_id,
            stream_id: self.stream_id,
            payload,
        }
    }
}
