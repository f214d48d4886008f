//! AMF3's U29: an unsigned 29-bit integer in 1 to 4 bytes. The first three bytes carry 7 bits
//! each with the high bit meaning "more follows"; a fourth byte carries all 8 bits.

use bytes::BufMut;

use super::AmfError;
use super::reader::read_u8;

/// The largest value a U29 holds.
pub(super) const U29_MAX: u32 = 0x1FFF_FFFF;

/// The smallest signed integer AMF3 sends as an integer rather than a double (-2^28).
pub(super) const I29_MIN: i32 = -(1 << 28);

/// The largest signed integer AMF3 sends as an integer rather than a double (2^28 - 1).
pub(super) const I29_MAX: i32 = (1 << 28) - 1;

/// Reads a U29.
pub(super) fn read_u29(input: &mut &[u8]) -> Result<u32, AmfError> {
    let mut value = 0u32;
    for _ in 0..3 {
        let byte = read_u8(input)?;
        value = (value << 7) | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    let last = read_u8(input)?;
    Ok((value << 8) | u32::from(last))
}

/// Reads a U29 holding a signed 29-bit integer and sign-extends it.
pub(super) fn read_i29(input: &mut &[u8]) -> Result<i32, AmfError> {
    let raw = read_u29(input)?;
    // Shift the 29 bits to the top of an i32, then shift back arithmetically to sign-extend.
    Ok(((raw << 3).cast_signed()) >> 3)
}

/// Writes `value` as a U29. Only the low 29 bits are written; callers check the range.
pub(super) fn put_u29(out: &mut impl BufMut, value: u32) {
    let value = value & U29_MAX;
    // Truncating casts are intended: each byte takes the bits shifted into its low 7 or 8.
    if value < 0x80 {
        out.put_u8(value as u8);
    } else if value < 0x4000 {
        out.put_u8(((value >> 7) as u8) | 0x80);
        out.put_u8((value as u8) & 0x7F);
    } else if value < 0x20_0000 {
        out.put_u8(((value >> 14) as u8) | 0x80);
        out.put_u8(((value >> 7) as u8) | 0x80);
        out.put_u8((value as u8) & 0x7F);
    } else {
        out.put_u8(((value >> 22) as u8) | 0x80);
        out.put_u8(((value >> 15) as u8) | 0x80);
        out.put_u8(((value >> 8) as u8) | 0x80);
        out.put_u8(value as u8);
    }
}

/// Writes a signed integer in [`I29_MIN`]..=[`I29_MAX`] as a U29 (two's complement, 29 bits).
pub(super) fn put_i29(out: &mut impl BufMut, value: i32) {
    debug_assert!((I29_MIN..=I29_MAX).contains(&value));
    put_u29(out, value.cast_unsigned() & U29_MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_u29(value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        put_u29(&mut out, value);
        out
    }

    fn encoded_i29(value: i32) -> Vec<u8> {
        let mut out = Vec::new();
        put_i29(&mut out, value);
        out
    }

    #[test]
    fn u29_boundaries_encode_to_the_spec_bytes() {
        let cases: [(u32, &[u8]); 9] = [
            (0, &[0x00]),
            (0x7F, &[0x7F]),
            (0x80, &[0x81, 0x00]),
            (0x3FFF, &[0xFF, 0x7F]),
            (0x4000, &[0x81, 0x80, 0x00]),
            (0x1F_FFFF, &[0xFF, 0xFF, 0x7F]),
            (0x20_0000, &[0x80, 0xC0, 0x80, 0x00]),
            (0x0FFF_FFFF, &[0xBF, 0xFF, 0xFF, 0xFF]),
            (U29_MAX, &[0xFF, 0xFF, 0xFF, 0xFF]),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded_u29(value), bytes, "encoding {value:#x}");
            let mut input = bytes;
            assert_eq!(read_u29(&mut input), Ok(value), "decoding {value:#x}");
            assert!(input.is_empty());
        }
    }

    #[test]
    fn signed_boundaries_sign_extend() {
        let cases: [(i32, &[u8]); 5] = [
            (-1, &[0xFF, 0xFF, 0xFF, 0xFF]),
            (I29_MIN, &[0xC0, 0x80, 0x80, 0x00]),
            (I29_MAX, &[0xBF, 0xFF, 0xFF, 0xFF]),
            (1, &[0x01]),
            (-2, &[0xFF, 0xFF, 0xFF, 0xFE]),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded_i29(value), bytes, "encoding {value}");
            let mut input = bytes;
            assert_eq!(read_i29(&mut input), Ok(value), "decoding {value}");
        }
    }

    #[test]
    fn u29_round_trips_across_every_width_edge() {
        for shift in 0..29 {
            for value in [1u32 << shift, (1u32 << shift) - 1, (1u32 << shift) + 1] {
                let value = value & U29_MAX;
                let bytes = encoded_u29(value);
                let mut input = bytes.as_slice();
                assert_eq!(read_u29(&mut input), Ok(value));
                assert!(input.is_empty());
            }
        }
    }

    #[test]
    fn truncated_u29_is_an_error() {
        for bytes in [&[][..], &[0x80], &[0xFF, 0xFF], &[0xFF, 0xFF, 0xFF]] {
            let mut input = bytes;
            assert_eq!(read_u29(&mut input), Err(AmfError::Truncated));
        }
    }
}
