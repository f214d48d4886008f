//! AMF0 decode and encode. (Being written.)
use bytes::BytesMut;

use super::{Amf0Value, AmfError, AmfLimits};

/// Decodes one value from the front of `input`, advancing it.
pub fn decode(input: &mut &[u8], limits: &AmfLimits) -> Result<Amf0Value, AmfError> {
    let _ = (input, limits);
    Err(AmfError::Truncated)
}

/// Decodes every value in `input`.
pub fn decode_all(mut input: &[u8], limits: &AmfLimits) -> Result<Vec<Amf0Value>, AmfError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        out.push(decode(&mut input, limits)?);
    }
    Ok(out)
}

/// Appends the encoding of `value` to `out`.
pub fn encode(value: &Amf0Value, out: &mut BytesMut) {
    let _ = (value, out);
}
