//! AMF0 and AMF3, both ways, with depth and size limits.

pub mod amf0;
pub mod amf3;
mod value;

use thiserror::Error;

pub use amf3::Amf3Value;
pub use value::{Amf0Value, AmfObject};

/// Bounds on what a decoder accepts, so hostile input cannot exhaust the stack or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmfLimits {
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most entries in one object, array or vector.
    pub max_entries: usize,
}

impl Default for AmfLimits {
    fn default() -> Self {
        Self { max_depth: 64, max_entries: 65_536 }
    }
}

/// Why AMF input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AmfError {
    /// The input ended inside a value.
    #[error("input ended inside a value")]
    Truncated,
    /// A type marker this format does not define (or reserves).
    #[error("unknown type marker 0x{0:02x}")]
    UnknownMarker(u8),
    /// Nesting deeper than [`AmfLimits::max_depth`].
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// More entries than [`AmfLimits::max_entries`], or more than the input can hold.
    #[error("collection of {0} entries exceeds the limit or the input")]
    TooManyEntries(u64),
    /// A string was not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A reference points at nothing decoded so far.
    #[error("reference {0} is out of range")]
    BadReference(u32),
}
