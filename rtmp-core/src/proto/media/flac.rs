//! FLAC: the STREAMINFO metadata block (RFC 9639 §8.2).
//!
//! Enhanced RTMP specifies the sequence start as `fLaC` followed by the STREAMINFO block
//! (with its 4-byte block header); FFmpeg sends the bare 34-byte STREAMINFO body. Both are
//! accepted, and so is a block header without the marker.

use super::{AudioCodec, AudioConfig, MediaError, bits::BitReader, reader::SliceReader};

const MARKER: &[u8; 4] = b"fLaC";
const STREAMINFO_LENGTH: usize = 34;
/// A STREAMINFO block header: type 0 (the high bit is the last-block flag), length 34.
const BLOCK_TYPE_STREAMINFO: u8 = 0;

/// Whether `data` starts with a STREAMINFO block header rather than STREAMINFO itself (whose
/// first field, the minimum block size, is at least 16, so it never reads `00 00 22` here).
fn starts_with_block_header(data: &[u8]) -> bool {
    matches!(data, [kind, 0x00, 0x00, 0x22, ..] if kind & 0x7f == BLOCK_TYPE_STREAMINFO)
}

/// Parses a FLAC sequence start down to sample rate and channel count.
pub(super) fn parse_config(record: &[u8]) -> Result<AudioConfig, MediaError> {
    let mut reader = SliceReader::new(record);
    if record.starts_with(MARKER) {
        reader.skip(MARKER.len())?;
        let header = reader.u8()?;
        let length = reader.u24()?;
        if header & 0x7f != BLOCK_TYPE_STREAMINFO || usize::try_from(length).ok() != Some(STREAMINFO_LENGTH) {
            return Err(MediaError::InvalidConfig("FLAC: first metadata block is not STREAMINFO"));
        }
    } else if starts_with_block_header(record) {
        reader.skip(4)?;
    }
    let streaminfo = reader.take(STREAMINFO_LENGTH)?;
    let mut bits = BitReader::new(streaminfo);
    bits.skip(16 + 16 + 24 + 24)?; // block sizes, frame sizes
    let sample_rate = bits.bits_u32(20)?;
    let channels = bits.bits_u8(3)? + 1;
    if sample_rate == 0 {
        return Err(MediaError::InvalidConfig("FLAC: sample rate 0"));
    }
    Ok(AudioConfig {
        codec: AudioCodec::Flac,
        codec_string: "flac".to_owned(),
        sample_rate: Some(sample_rate),
        channels: Some(channels),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::FLAC_44K_SEQ;

    #[test]
    fn ffmpeg_bare_streaminfo() {
        let config = parse_config(&FLAC_44K_SEQ[5..]).unwrap();
        assert_eq!(config.codec_string(), "flac");
        assert_eq!((config.sample_rate(), config.channels()), (Some(44_100), Some(2)));
    }

    #[test]
    fn marker_and_block_header_forms() {
        let streaminfo = &FLAC_44K_SEQ[5..];
        let mut with_marker = b"fLaC\x80\x00\x00\x22".to_vec();
        with_marker.extend_from_slice(streaminfo);
        assert_eq!(parse_config(&with_marker).unwrap().sample_rate(), Some(44_100));
        let block_only = with_marker[4..].to_vec();
        assert_eq!(parse_config(&block_only).unwrap().channels(), Some(2));
        let mut wrong_block = b"fLaC\x04\x00\x00\x22".to_vec();
        wrong_block.extend_from_slice(streaminfo);
        assert!(matches!(parse_config(&wrong_block), Err(MediaError::InvalidConfig(_))));
        assert_eq!(parse_config(&streaminfo[..33]), Err(MediaError::Truncated));
        assert!(matches!(parse_config(&[0u8; 34]), Err(MediaError::InvalidConfig(_))));
    }
}
