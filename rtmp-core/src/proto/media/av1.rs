//! AV1: AV1CodecConfigurationRecord (`av1C`, AV1-ISOBMFF §2.3) and the sequence header OBU
//! it carries, read up to `max_frame_width/height` (AV1 §5.5.1).

use super::{MediaError, VideoCodec, VideoConfig, bits::BitReader, reader::SliceReader};

const OBU_SEQUENCE_HEADER: u8 = 1;

/// Reads an unsigned LEB128 value of at most 8 bytes (AV1 §4.10.5).
fn read_leb128(reader: &mut SliceReader<'_>) -> Result<u64, MediaError> {
    let mut value = 0u64;
    for index in 0..8u32 {
        let byte = reader.u8()?;
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(MediaError::InvalidConfig("AV1: LEB128 longer than 8 bytes"))
}

/// `max_frame_width_minus_1 + 1` and `max_frame_height_minus_1 + 1` of a sequence header
/// OBU payload.
fn parse_sequence_header(payload: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut bits = BitReader::new(payload);
    bits.skip(3)?; // seq_profile
    bits.skip(1)?; // still_picture
    let reduced_still_picture_header = bits.bit()?;
    if reduced_still_picture_header {
        bits.skip(5)?; // seq_level_idx[0]
    } else {
        let timing_info_present = bits.bit()?;
        let mut decoder_model_info_present = false;
        let mut buffer_delay_length = 0u32;
        if timing_info_present {
            bits.skip(64)?; // num_units_in_display_tick, time_scale
            if bits.bit()? {
                // equal_picture_interval
                bits.uvlc()?; // num_ticks_per_picture_minus_1
            }
            decoder_model_info_present = bits.bit()?;
            if decoder_model_info_present {
                buffer_delay_length = bits.bits_u32(5)? + 1;
                bits.skip(32)?; // num_units_in_decoding_tick
                bits.skip(10)?; // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
            }
        }
        let initial_display_delay_present = bits.bit()?;
        let operating_points = bits.bits_u32(5)? + 1;
        for _ in 0..operating_points {
            bits.skip(12)?; // operating_point_idc
            let level = bits.bits_u8(5)?;
            if level > 7 {
                bits.skip(1)?; // seq_tier
            }
            if decoder_model_info_present && bits.bit()? {
                // operating_parameters_info: decoder and encoder buffer delays, low_delay_mode_flag
                bits.skip(2 * buffer_delay_length + 1)?;
            }
            if initial_display_delay_present && bits.bit()? {
                bits.skip(4)?; // initial_display_delay_minus_1
            }
        }
    }
    let width_bits = bits.bits_u32(4)? + 1;
    let height_bits = bits.bits_u32(4)? + 1;
    let width = bits.bits_u32(width_bits)?.checked_add(1);
    let height = bits.bits_u32(height_bits)?.checked_add(1);
    width.zip(height).ok_or(MediaError::InvalidConfig("AV1: frame size overflow"))
}

/// Finds the sequence header OBU among `obus` and returns its payload.
fn find_sequence_header(obus: &[u8]) -> Result<Option<&[u8]>, MediaError> {
    let mut reader = SliceReader::new(obus);
    while !reader.is_empty() {
        let header = reader.u8()?;
        let obu_type = (header >> 3) & 0x0f;
        if header & 0x04 != 0 {
            reader.skip(1)?; // obu_extension_header
        }
        let size = if header & 0x02 != 0 {
            let declared = read_leb128(&mut reader)?;
            usize::try_from(declared).map_err(|_| MediaError::Truncated)?
        } else {
            reader.remaining()
        };
        let payload = reader.take(size)?;
        if obu_type == OBU_SEQUENCE_HEADER {
            return Ok(Some(payload));
        }
    }
    Ok(None)
}

/// Parses an AV1CodecConfigurationRecord.
pub(super) fn parse_config(record: &[u8]) -> Result<VideoConfig, MediaError> {
    let mut reader = SliceReader::new(record);
    if reader.u8()? != 0x81 {
        return Err(MediaError::InvalidConfig("AV1: av1C marker/version is not 0x81"));
    }
    let profile_level = reader.u8()?;
    let flags = reader.u8()?;
    reader.skip(1)?; // initial_presentation_delay
    let seq_profile = profile_level >> 5;
    let seq_level_idx = profile_level & 0x1f;
    let tier = if flags & 0x80 != 0 { 'H' } else { 'M' };
    let bit_depth: u8 = match (flags & 0x40 != 0, flags & 0x20 != 0) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    let resolution = find_sequence_header(reader.rest())?.map(parse_sequence_header).transpose()?;
    Ok(VideoConfig {
        codec: VideoCodec::Av1,
        codec_string: format!("av01.{seq_profile}.{seq_level_idx:02}{tier}.{bit_depth:02}"),
        width: resolution.map(|(width, _)| width),
        height: resolution.map(|(_, height)| height),
        bit_depth: Some(bit_depth),
        nal_length_size: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{AV1_640X360_SEQ, AV1_1280X720_10BIT_SEQ, BitWriter, hex};

    /// The av1C inside an Enhanced SequenceStart tag (after `90 61 76 30 31`).
    fn record(tag: &[u8]) -> &[u8] {
        &tag[5..]
    }

    #[test]
    fn svt_av1_8bit_640x360() {
        let config = parse_config(record(AV1_640X360_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "av01.0.01M.08");
        assert_eq!(config.resolution(), Some((640, 360)));
        assert_eq!(config.bit_depth(), Some(8));
    }

    #[test]
    fn svt_av1_10bit_720p() {
        let config = parse_config(record(AV1_1280X720_10BIT_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "av01.0.05M.10");
        assert_eq!(config.resolution(), Some((1280, 720)));
    }

    #[test]
    fn record_without_obus_and_high_tier_12bit() {
        let config = parse_config(&hex("81 48 e0 00")).unwrap();
        assert_eq!(config.codec_string(), "av01.2.08H.12");
        assert_eq!(config.resolution(), None);
    }

    #[test]
    fn sequence_header_with_timing_and_decoder_model() {
        let mut w = BitWriter::default();
        w.bits(0, 3); // seq_profile
        w.bit(false);
        w.bit(false);
        w.bit(true); // timing_info_present_flag
        w.bits(1001, 32);
        w.bits(60_000, 32);
        w.bit(true); // equal_picture_interval
        w.ue(0); // uvlc num_ticks_per_picture_minus_1 = 0 (same code as ue)
        w.bit(true); // decoder_model_info_present_flag
        w.bits(9, 5); // buffer_delay_length_minus_1 => 10 bits
        w.bits(1001, 32);
        w.bits(0, 10);
        w.bit(true); // initial_display_delay_present_flag
        w.bits(1, 5); // two operating points
        for level in [9u64, 4] {
            w.bits(0, 12);
            w.bits(level, 5);
            if level > 7 {
                w.bit(true);
            }
            w.bit(true); // decoder_model_present_for_this_op
            w.bits(0, 21);
            w.bit(true); // initial_display_delay_present_for_this_op
            w.bits(3, 4);
        }
        w.bits(11, 4); // frame_width_bits_minus_1 => 12 bits
        w.bits(10, 4); // frame_height_bits_minus_1 => 11 bits
        w.bits(1919, 12);
        w.bits(1079, 11);
        assert_eq!(parse_sequence_header(&w.finish()), Ok((1920, 1080)));
    }

    #[test]
    fn reduced_still_picture_header() {
        let mut w = BitWriter::default();
        w.bits(0, 3);
        w.bit(true);
        w.bit(true);
        w.bits(1, 5);
        w.bits(7, 4);
        w.bits(7, 4);
        w.bits(99, 8);
        w.bits(49, 8);
        assert_eq!(parse_sequence_header(&w.finish()), Ok((100, 50)));
    }

    #[test]
    fn obu_framing_and_errors() {
        // A temporal delimiter OBU (type 2, sized 0) before the sequence header is skipped;
        // an OBU without a size field runs to the end.
        let mut obus = vec![0x12, 0x00, 0x08];
        obus.extend_from_slice(&[0x00, 0x00, 0x00, 0x0d, 0x26, 0x27, 0xfb, 0x38, 0x05, 0xf0, 0x00, 0x80]);
        assert!(find_sequence_header(&obus).unwrap().is_some());
        assert_eq!(find_sequence_header(&[0x12, 0x00]), Ok(None));
        assert_eq!(find_sequence_header(&[0x0a, 0x05, 0x00]), Err(MediaError::Truncated));
        assert!(matches!(
            find_sequence_header(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(MediaError::InvalidConfig(_))
        ));
        assert!(matches!(parse_config(&hex("01 00 0c 00")), Err(MediaError::InvalidConfig(_))));
        assert_eq!(parse_config(&hex("81 01")), Err(MediaError::Truncated));
        assert_eq!(parse_config(&hex("81 01 0c 00 0a 02 00 00")), Err(MediaError::Truncated));
    }
}
