//! The chunk stream.
use thiserror::Error;

/// Why the chunk stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// Placeholder.
    #[error("x")]
    X,
}
