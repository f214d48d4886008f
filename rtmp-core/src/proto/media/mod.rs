//! FLV audio/video tag bodies, legacy and Enhanced RTMP. (Being written.)
use thiserror::Error;

/// Why a media tag could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The tag ended before its header did.
    #[error("tag truncated")]
    Truncated,
}
