//! Bounds-checked big-endian reads from the front of a byte slice, shared by both decoders.
//!
//! Every read either returns the bytes and advances the slice, or fails with
//! [`AmfError::Truncated`] and leaves nothing half-read that the caller could mistake for data.

use super::{AmfError, AmfLimits};

/// Most elements a decoder reserves up front for a declared count. Larger collections grow as
/// their elements actually arrive, so a lying count cannot make the decoder allocate.
const MAX_PREALLOCATED: usize = 1024;

/// Takes the next `len` bytes.
pub(super) fn take<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], AmfError> {
    let (head, tail) = input.split_at_checked(len).ok_or(AmfError::Truncated)?;
    *input = tail;
    Ok(head)
}

/// Takes the next `N` bytes as an array.
pub(super) fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], AmfError> {
    let (head, tail) = input.split_first_chunk::<N>().ok_or(AmfError::Truncated)?;
    *input = tail;
    Ok(*head)
}

/// Reads one byte.
pub(super) fn read_u8(input: &mut &[u8]) -> Result<u8, AmfError> {
    let (&byte, tail) = input.split_first().ok_or(AmfError::Truncated)?;
    *input = tail;
    Ok(byte)
}

/// Reads a big-endian u16.
pub(super) fn read_u16(input: &mut &[u8]) -> Result<u16, AmfError> {
    take_array(input).map(u16::from_be_bytes)
}

/// Reads a big-endian i16.
pub(super) fn read_i16(input: &mut &[u8]) -> Result<i16, AmfError> {
    take_array(input).map(i16::from_be_bytes)
}

/// Reads a big-endian u32.
pub(super) fn read_u32(input: &mut &[u8]) -> Result<u32, AmfError> {
    take_array(input).map(u32::from_be_bytes)
}

/// Reads a big-endian i32.
pub(super) fn read_i32(input: &mut &[u8]) -> Result<i32, AmfError> {
    take_array(input).map(i32::from_be_bytes)
}

/// Reads a big-endian IEEE-754 double.
pub(super) fn read_f64(input: &mut &[u8]) -> Result<f64, AmfError> {
    take_array(input).map(f64::from_be_bytes)
}

/// Reads `len` bytes of UTF-8 text. The length is checked against the input before anything
/// is allocated.
pub(super) fn read_utf8(input: &mut &[u8], len: usize) -> Result<String, AmfError> {
    let bytes = take(input, len)?;
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| AmfError::InvalidUtf8)
}

/// Accepts a declared element count only when it is within [`AmfLimits::max_entries`] and the
/// `remaining` input bytes could hold that many elements of at least `min_element_bytes` each.
pub(super) fn check_count(
    declared: u64,
    min_element_bytes: usize,
    remaining: usize,
    limits: &AmfLimits,
) -> Result<usize, AmfError> {
    let fits_input = remaining / min_element_bytes.max(1);
    match usize::try_from(declared) {
        Ok(count) if count <= limits.max_entries && count <= fits_input => Ok(count),
        _ => Err(AmfError::TooManyEntries(declared)),
    }
}

/// Fails once a collection that has no declared count already holds `max_entries` elements
/// and another one follows.
pub(super) fn check_room_for_one_more(len: usize, limits: &AmfLimits) -> Result<(), AmfError> {
    if len >= limits.max_entries {
        let attempted = u64::try_from(len).unwrap_or(u64::MAX).saturating_add(1);
        return Err(AmfError::TooManyEntries(attempted));
    }
    Ok(())
}

/// The capacity to reserve for a checked count: never more than [`MAX_PREALLOCATED`].
pub(super) fn initial_capacity(count: usize) -> usize {
    count.min(MAX_PREALLOCATED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_advance_and_fail_without_consuming_on_truncation() {
        let mut input: &[u8] = &[0x01, 0x02, 0x03];
        assert_eq!(read_u16(&mut input), Ok(0x0102));
        assert_eq!(read_u16(&mut input), Err(AmfError::Truncated));
        assert_eq!(input, &[0x03]);
        assert_eq!(read_u8(&mut input), Ok(0x03));
        assert_eq!(read_u8(&mut input), Err(AmfError::Truncated));
    }

    #[test]
    fn check_count_rejects_counts_the_input_cannot_hold() {
        let limits = AmfLimits::default();
        assert_eq!(check_count(3, 1, 3, &limits), Ok(3));
        assert_eq!(check_count(4, 1, 3, &limits), Err(AmfError::TooManyEntries(4)));
        assert_eq!(check_count(2, 4, 7, &limits), Err(AmfError::TooManyEntries(2)));
        assert_eq!(check_count(u64::MAX, 1, usize::MAX, &limits), Err(AmfError::TooManyEntries(u64::MAX)));
        let tight = AmfLimits { max_entries: 2, ..limits };
        assert_eq!(check_count(3, 1, 100, &tight), Err(AmfError::TooManyEntries(3)));
    }

    #[test]
    fn invalid_utf8_is_refused_not_replaced() {
        let mut input: &[u8] = &[0xff, 0xfe];
        assert_eq!(read_utf8(&mut input, 2), Err(AmfError::InvalidUtf8));
        let mut short: &[u8] = b"ab";
        assert_eq!(read_utf8(&mut short, 3), Err(AmfError::Truncated));
    }
}
