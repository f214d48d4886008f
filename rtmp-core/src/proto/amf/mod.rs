//! AMF0 and AMF3, both ways, with depth and size limits.
//!
//! Decoders never panic and never trust a declared length or count: every length is checked
//! against the bytes left before anything is allocated, nesting is bounded by
//! [`AmfLimits::max_depth`], and the memory a decode may produce (including the copies made
//! when AMF3 references are resolved into owned values) is bounded by
//! [`AmfLimits::max_decoded_bytes`].

pub mod amf0;
pub mod amf3;
mod amf3_decode;
mod amf3_encode;
mod budget;
mod reader;
#[cfg(test)]
mod test_strategies;
mod u29;
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
    /// Approximate bytes one decode may allocate for the values it returns and for the AMF3
    /// reference tables, counting every copy made when an AMF3 reference is resolved. Without
    /// it a few hundred bytes that reference the same object over and over expand into
    /// gigabytes.
    pub max_decoded_bytes: usize,
}

impl Default for AmfLimits {
    fn default() -> Self {
        Self { max_depth: 64, max_entries: 65_536, max_decoded_bytes: 64 << 20 }
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
    /// An AMF0 object-end marker (0x09) stood where a value was expected.
    #[error("object-end marker outside an object")]
    UnexpectedObjectEnd,
    /// An AMF3 reference points at an object that is still being decoded (a cycle), which an
    /// owned value tree cannot hold.
    #[error("reference {0} points at an object that contains it")]
    CyclicReference(u32),
    /// An AMF3 object of an externalizable class: its body is in a format only that class
    /// knows, so it cannot be decoded (or skipped) generically.
    #[error("externalizable class {0:?} cannot be decoded")]
    Externalizable(String),
    /// Decoding would allocate more than [`AmfLimits::max_decoded_bytes`].
    #[error("decoded values would exceed {0} bytes")]
    TooLarge(usize),
}
