//! Aggregate messages (type 22): FLV-tag-framed sub-messages in one body.

use bytes::Bytes;

use super::MessageError;

/// One sub-message of an aggregate, its payload a slice of the aggregate (no copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePart {
    /// The sub-message type (8 audio, 9 video, 18 data, …).
    pub type_id: u8,
    /// Its timestamp, shifted so the first part has the aggregate's own timestamp.
    pub timestamp: u32,
    /// The body.
    pub payload: Bytes,
}

/// Splits an aggregate body. Each part is an 11-byte FLV tag header (type, u24 size, u24
/// timestamp + u8 upper bits, u24 stream id), the body, and a u32 back pointer. The aggregate's
/// timestamp minus the first part's is added to every part (RTMP spec §7.1.6).
pub fn split_aggregate(aggregate_timestamp: u32, body: &Bytes) -> Result<Vec<AggregatePart>, MessageError> {
    let mut parts = Vec::new();
    let mut offset: Option<u32> = None;
    let mut pos = 0usize;
    while pos < body.len() {
        let header =
            body.get(pos..pos + 11).ok_or(MessageError::BadAggregate("sub-message header truncated"))?;
        let type_id = header[0];
        let size = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let time = u32::from_be_bytes([header[7], header[4], header[5], header[6]]);
        let start = pos + 11;
        let end = start.checked_add(size).filter(|&e| e <= body.len());
        let end = end.ok_or(MessageError::BadAggregate("sub-message body truncated"))?;
        let shift = *offset.get_or_insert(aggregate_timestamp.wrapping_sub(time));
        parts.push(AggregatePart {
            type_id,
            timestamp: time.wrapping_add(shift),
            payload: body.slice(start..end),
        });
        // The back pointer is informative only; tolerate a missing one at the very end.
        pos = (end + 4).min(body.len());
    }
    Ok(parts)
}
