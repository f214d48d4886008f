//! The RTMP handshake. (Being written.)
use thiserror::Error;

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer asked for a version other than 3.
    #[error("unsupported RTMP version {0}")]
    UnsupportedVersion(u8),
}
