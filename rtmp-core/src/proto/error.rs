use thiserror::Error;

use super::{
    amf::AmfError, chunk::ChunkError, handshake::HandshakeError, media::MediaError, message::MessageError,
    session::SessionError,
};

/// Any failure of the protocol core. Each variant names the layer that refused the input.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The handshake was malformed or failed validation.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The chunk stream broke a rule or a limit.
    #[error("chunk stream: {0}")]
    Chunk(#[from] ChunkError),
    /// An AMF value could not be decoded.
    #[error("amf: {0}")]
    Amf(#[from] AmfError),
    /// A message body could not be decoded.
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// A media tag could not be parsed.
    #[error("media: {0}")]
    Media(#[from] MediaError),
    /// The peer broke the command flow, or the API was misused.
    #[error("session: {0}")]
    Session(#[from] SessionError),
}
