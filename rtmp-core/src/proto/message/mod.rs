//! Messages.
use thiserror::Error;

/// Why a message body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Placeholder.
    #[error("x")]
    X,
}
