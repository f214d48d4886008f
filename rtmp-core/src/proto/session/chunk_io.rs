//! The chunk layer of a session after the handshake: decoding with acknowledgements, and
//! encoding of outgoing messages into one outbound buffer.

use bytes::{Bytes, BytesMut};

use crate::proto::ProtocolError;
use crate::proto::amf::AmfLimits;
use crate::proto::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, RawMessage};
use crate::proto::message::{Command, Message, UserControl};

use super::csid;

/// Chunk decoder and encoder plus the acknowledgement bookkeeping both sessions share.
#[derive(Debug)]
pub(super) struct ChunkIo {
    pub(super) decoder: ChunkDecoder,
    pub(super) encoder: ChunkEncoder,
    pub(super) outbound: BytesMut,
    pub(super) amf_limits: AmfLimits,
    /// The peer's Window Acknowledgement Size: we acknowledge after that many bytes.
    peer_window: u32,
    /// Bytes received before the chunk stream (the handshake), counted in acknowledgements.
    pub(super) handshake_bytes: u64,
    last_ack_at: u64,
}

impl ChunkIo {
    pub(super) fn new(chunk_limits: ChunkLimits, amf_limits: AmfLimits) -> Self {
        Self {
            decoder: ChunkDecoder::new(chunk_limits),
            encoder: ChunkEncoder::new(),
            outbound: BytesMut::new(),
            amf_limits,
            peer_window: 0,
            handshake_bytes: 0,
            last_ack_at: 0,
        }
    }

    /// Total bytes received on the connection.
    pub(super) fn bytes_received(&self) -> u64 {
        self.handshake_bytes + self.decoder.bytes_consumed()
    }

    /// Total bytes handed to the session, whole chunks or not: a count that grows with every
    /// read, for the idle timer.
    pub(super) fn bytes_arrived(&self) -> u64 {
        self.bytes_received() + self.decoder.pending_input() as u64
    }

    /// The next decoded message, with its chunk-level header.
    pub(super) fn next_message(&mut self) -> Result<Option<(RawMessage, Message)>, ProtocolError> {
        let Some(raw) = self.decoder.next_message()? else { return Ok(None) };
        let message = Message::decode(raw.type_id, raw.payload.clone(), &self.amf_limits)?;
        Ok(Some((raw, message)))
    }

    /// Handles what both roles do the same way; returns false for messages left to the role.
    pub(super) fn handle_common(&mut self, message: &Message) -> bool {
        match message {
            Message::SetChunkSize(_) | Message::Abort { .. } => true, // applied by the decoder
            Message::WindowAckSize(size) => {
                self.peer_window = *size;
                true
            }
            Message::UserControl(UserControl::PingRequest(time)) => {
                self.send(csid::CONTROL, 0, 0, &Message::UserControl(UserControl::PingResponse(*time)));
                true
            }
            _ => false,
        }
    }

    /// Sends an Acknowledgement once a window's worth of bytes has arrived since the last one.
    pub(super) fn acknowledge_if_due(&mut self) {
        let received = self.bytes_received();
        if self.peer_window > 0 && received - self.last_ack_at >= u64::from(self.peer_window) {
            self.last_ack_at = received;
            self.send(csid::CONTROL, 0, 0, &Message::Acknowledgement { sequence: received as u32 });
        }
    }

    pub(super) fn send(&mut self, csid: u32, stream_id: u32, timestamp: u32, message: &Message) {
        let (type_id, body) = message.encode();
        self.encoder.write(csid, timestamp, type_id, stream_id, &body, &mut self.outbound);
    }

    pub(super) fn send_command(&mut self, csid: u32, stream_id: u32, command: Command) {
        self.send(csid, stream_id, 0, &Message::Command(command));
    }

    /// Changes our outgoing chunk size, announcing it first.
    pub(super) fn set_chunk_size(&mut self, size: u32) {
        self.send(csid::CONTROL, 0, 0, &Message::SetChunkSize(size));
        self.encoder.set_chunk_size(size);
    }

    pub(super) fn take_outbound(&mut self) -> Option<Bytes> {
        (!self.outbound.is_empty()).then(|| self.outbound.split().freeze())
    }
}
