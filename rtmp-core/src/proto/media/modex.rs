//! Enhanced-RTMP v2 ModEx blocks, shared by audio and video: `size = UI8 + 1` (if that is
//! 256, `size = UI16 + 1`), `size` bytes of data, then `UB4 ModExType | UB4 next PacketType`.
//! ModEx may repeat; the packet type after the last block is the real one.

use super::{MediaError, reader::PayloadReader};

/// The packet type value that announces a ModEx block (7 for audio and video alike).
pub(super) const MOD_EX_PACKET_TYPE: u8 = 7;

/// ModExType 0: the data's first three bytes are a UI24 nanosecond offset.
const TIMESTAMP_OFFSET_NANO: u8 = 0;

/// The largest legal TimestampOffsetNano (just under one millisecond).
const MAX_NANO_OFFSET: u32 = 999_999;

/// The outcome of the ModEx loop: the real packet type and the nanosecond offset (0 if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ModExResult {
    pub(super) packet_type: u8,
    pub(super) nano_offset: u32,
}

/// Consumes every ModEx block that `packet_type` announces, leaving `reader` on the byte
/// after the last one. A later TimestampOffsetNano replaces an earlier one.
pub(super) fn read_mod_ex(
    reader: &mut PayloadReader<'_>,
    packet_type: u8,
) -> Result<ModExResult, MediaError> {
    let mut result = ModExResult { packet_type, nano_offset: 0 };
    while result.packet_type == MOD_EX_PACKET_TYPE {
        let mut size = usize::from(reader.u8()?) + 1;
        if size == 256 {
            size = usize::from(reader.u16()?) + 1;
        }
        let data = reader.take_bytes(size)?;
        let types = reader.u8()?;
        let mod_ex_type = types >> 4;
        result.packet_type = types & 0x0f;
        match mod_ex_type {
            TIMESTAMP_OFFSET_NANO => {
                let [a, b, c] = data
                    .get(..3)
                    .and_then(|d| <[u8; 3]>::try_from(d).ok())
                    .ok_or(MediaError::ModExTooShort(data.len()))?;
                let nanos = u32::from_be_bytes([0, a, b, c]);
                if nanos > MAX_NANO_OFFSET {
                    return Err(MediaError::InvalidNanoOffset(nanos));
                }
                result.nano_offset = nanos;
            }
            other => return Err(MediaError::UnknownModExType(other)),
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn run(bytes: &[u8], packet_type: u8) -> (Result<ModExResult, MediaError>, usize) {
        let payload = Bytes::copy_from_slice(bytes);
        let mut reader = PayloadReader::new(&payload);
        let result = read_mod_ex(&mut reader, packet_type);
        (result, reader.position())
    }

    #[test]
    fn passes_through_when_no_mod_ex() {
        assert_eq!(run(&[], 1).0, Ok(ModExResult { packet_type: 1, nano_offset: 0 }));
    }

    #[test]
    fn reads_short_and_long_size_forms() {
        // size byte 2 => 3 bytes of data, nano 0x0f4240 = 1_000_000 is out of range...
        assert_eq!(run(&[0x02, 0x0f, 0x42, 0x40, 0x01], 7).0, Err(MediaError::InvalidNanoOffset(1_000_000)));
        // ...999_999 = 0x0f423f is the largest legal value.
        assert_eq!(
            run(&[0x02, 0x0f, 0x42, 0x3f, 0x01], 7),
            (Ok(ModExResult { packet_type: 1, nano_offset: 999_999 }), 5)
        );
        // 0xff => 256 => UI16 + 1 = 300 bytes follow.
        let mut long = vec![0xff, 0x01, 0x2b];
        long.extend_from_slice(&[0x00, 0x01, 0x00]);
        long.extend_from_slice(&[0xee; 297]);
        long.push(0x03);
        assert_eq!(run(&long, 7), (Ok(ModExResult { packet_type: 3, nano_offset: 256 }), long.len()));
    }

    #[test]
    fn repeats_and_rejects_bad_blocks() {
        let twice = [0x02, 0, 0, 5, 0x07, 0x02, 0, 0, 9, 0x00];
        assert_eq!(run(&twice, 7).0, Ok(ModExResult { packet_type: 0, nano_offset: 9 }));
        assert_eq!(run(&[0x01, 0, 0, 0x01], 7).0, Err(MediaError::ModExTooShort(2)));
        assert_eq!(run(&[0x02, 0, 0, 0, 0x11], 7).0, Err(MediaError::UnknownModExType(1)));
        assert_eq!(run(&[0x02, 0, 0], 7).0, Err(MediaError::Truncated));
        assert_eq!(run(&[0x02, 0, 0, 1], 7).0, Err(MediaError::Truncated));
    }
}
