//! H.264: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) and the sequence
//! parameter set fields up to the frame cropping (ITU-T H.264 §7.3.2.1.1).

use super::{
    MediaError, VideoCodec, VideoConfig,
    annexb::{find_nal, is_annex_b},
    bits::BitReader,
    reader::SliceReader,
};

/// The SPS fields this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AvcSps {
    pub(super) profile_idc: u8,
    pub(super) constraint_flags: u8,
    pub(super) level_idc: u8,
    pub(super) bit_depth_luma: u8,
    pub(super) width: u32,
    pub(super) height: u32,
}

const NAL_TYPE_SPS: u8 = 7;

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn has_chroma_fields(profile_idc: u8) -> bool {
    matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135)
}

/// Skips one `scaling_list()` of `size` coefficients.
fn skip_scaling_list(bits: &mut BitReader<'_>, size: usize) -> Result<(), MediaError> {
    let mut last_scale: i64 = 8;
    let mut next_scale: i64 = 8;
    for _ in 0..size {
        if next_scale != 0 {
            let delta = i64::from(bits.se()?);
            next_scale = (last_scale + delta).rem_euclid(256);
        }
        if next_scale != 0 {
            last_scale = next_scale;
        }
    }
    Ok(())
}

/// Parses an SPS NAL unit (header byte included, emulation prevention not yet removed).
pub(super) fn parse_sps(nal: &[u8]) -> Result<AvcSps, MediaError> {
    let mut bits = BitReader::new_nal(nal);
    let header = bits.bits_u8(8)?;
    if header & 0x1f != NAL_TYPE_SPS {
        return Err(MediaError::InvalidConfig("AVC: not an SPS NAL unit"));
    }
    let profile_idc = bits.bits_u8(8)?;
    let constraint_flags = bits.bits_u8(8)?;
    let level_idc = bits.bits_u8(8)?;
    bits.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    let mut separate_colour_plane = false;
    let mut bit_depth_luma = 8u8;
    if has_chroma_fields(profile_idc) {
        chroma_format_idc = bits.ue()?;
        if chroma_format_idc > 3 {
            return Err(MediaError::InvalidConfig("AVC: chroma_format_idc > 3"));
        }
        if chroma_format_idc == 3 {
            separate_colour_plane = bits.bit()?;
        }
        let depth_minus8 = bits.ue()?;
        bit_depth_luma = u8::try_from(depth_minus8)
            .ok()
            .and_then(|d| d.checked_add(8))
            .ok_or(MediaError::InvalidConfig("AVC: bit depth"))?;
        bits.ue()?; // bit_depth_chroma_minus8
        bits.bit()?; // qpprime_y_zero_transform_bypass_flag
        if bits.bit()? {
            // seq_scaling_matrix_present_flag
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for index in 0..lists {
                if bits.bit()? {
                    skip_scaling_list(&mut bits, if index < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    bits.ue()?; // log2_max_frame_num_minus4
    match bits.ue()? {
        0 => {
            bits.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            bits.bit()?; // delta_pic_order_always_zero_flag
            bits.se()?; // offset_for_non_ref_pic
            bits.se()?; // offset_for_top_to_bottom_field
            let cycle = bits.ue()?;
            if cycle > 255 {
                return Err(MediaError::InvalidConfig("AVC: num_ref_frames_in_pic_order_cnt_cycle > 255"));
            }
            for _ in 0..cycle {
                bits.se()?; // offset_for_ref_frame
            }
        }
        2 => {}
        _ => return Err(MediaError::InvalidConfig("AVC: pic_order_cnt_type > 2")),
    }
    bits.ue()?; // max_num_ref_frames
    bits.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_in_mbs = u64::from(bits.ue()?) + 1;
    let height_in_map_units = u64::from(bits.ue()?) + 1;
    let frame_mbs_only = bits.bit()?;
    if !frame_mbs_only {
        bits.bit()?; // mb_adaptive_frame_field_flag
    }
    bits.bit()?; // direct_8x8_inference_flag
    let (mut crop_left, mut crop_right, mut crop_top, mut crop_bottom) = (0u64, 0u64, 0u64, 0u64);
    if bits.bit()? {
        crop_left = u64::from(bits.ue()?);
        crop_right = u64::from(bits.ue()?);
        crop_top = u64::from(bits.ue()?);
        crop_bottom = u64::from(bits.ue()?);
    }

    let field_factor: u64 = if frame_mbs_only { 1 } else { 2 };
    let chroma_array_type = if separate_colour_plane { 0 } else { chroma_format_idc };
    let (crop_unit_x, crop_unit_y) = match chroma_array_type {
        0 => (1, field_factor),
        1 => (2, 2 * field_factor),
        2 => (2, field_factor),
        _ => (1, field_factor),
    };
    let coded_width = width_in_mbs * 16;
    let coded_height = height_in_map_units * 16 * field_factor;
    let width = coded_width
        .checked_sub(crop_unit_x * (crop_left + crop_right))
        .ok_or(MediaError::InvalidConfig("AVC: cropping wider than the picture"))?;
    let height = coded_height
        .checked_sub(crop_unit_y * (crop_top + crop_bottom))
        .ok_or(MediaError::InvalidConfig("AVC: cropping taller than the picture"))?;
    let to_u32 = |v: u64| u32::try_from(v).map_err(|_| MediaError::InvalidConfig("AVC: picture too large"));
    Ok(AvcSps {
        profile_idc,
        constraint_flags,
        level_idc,
        bit_depth_luma,
        width: to_u32(width)?,
        height: to_u32(height)?,
    })
}

fn codec_string(profile_idc: u8, constraint_flags: u8, level_idc: u8) -> String {
    format!("avc1.{profile_idc:02x}{constraint_flags:02x}{level_idc:02x}")
}

/// Parses an AVCDecoderConfigurationRecord, or an Annex-B SPS/PPS sequence as some
/// encoders send in place of one.
pub(super) fn parse_config(record: &[u8]) -> Result<VideoConfig, MediaError> {
    if is_annex_b(record) {
        let nal = find_nal(record, |header| header & 0x1f == NAL_TYPE_SPS)
            .ok_or(MediaError::InvalidConfig("AVC: Annex-B header without an SPS"))?;
        let sps = parse_sps(nal)?;
        return Ok(VideoConfig {
            codec: VideoCodec::Avc,
            codec_string: codec_string(sps.profile_idc, sps.constraint_flags, sps.level_idc),
            width: Some(sps.width),
            height: Some(sps.height),
            bit_depth: Some(sps.bit_depth_luma),
            nal_length_size: None,
        });
    }
    let mut reader = SliceReader::new(record);
    if reader.u8()? != 1 {
        return Err(MediaError::InvalidConfig("AVC: configurationVersion is not 1"));
    }
    let profile_idc = reader.u8()?;
    let constraint_flags = reader.u8()?;
    let level_idc = reader.u8()?;
    let nal_length_size = (reader.u8()? & 0x03) + 1;
    let sps_count = reader.u8()? & 0x1f;
    let mut config = VideoConfig {
        codec: VideoCodec::Avc,
        codec_string: codec_string(profile_idc, constraint_flags, level_idc),
        width: None,
        height: None,
        bit_depth: None,
        nal_length_size: Some(nal_length_size),
    };
    if sps_count > 0 {
        let length = usize::from(reader.u16()?);
        let sps = parse_sps(reader.take(length)?)?;
        config.width = Some(sps.width);
        config.height = Some(sps.height);
        config.bit_depth = Some(sps.bit_depth_luma);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{
        AVC_320X240_BASELINE_SEQ, AVC_352X288_HIGH444_SEQ, AVC_640X360_SEQ, AVC_1920X1080_SEQ, BitWriter, hex,
    };

    /// The avcC inside a legacy sequence-header tag (after `17 00 00 00 00`).
    fn record(tag: &[u8]) -> &[u8] {
        &tag[5..]
    }

    #[test]
    fn high_profile_640x360_with_cropping() {
        let config = parse_config(record(AVC_640X360_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "avc1.64001e");
        assert_eq!(config.resolution(), Some((640, 360)));
        assert_eq!(config.bit_depth(), Some(8));
        assert_eq!(config.nal_length_size(), Some(4));
    }

    #[test]
    fn high_profile_1080p() {
        let config = parse_config(record(AVC_1920X1080_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "avc1.640028");
        assert_eq!(config.resolution(), Some((1920, 1080)));
    }

    #[test]
    fn baseline_and_high_444() {
        let baseline = parse_config(record(AVC_320X240_BASELINE_SEQ)).unwrap();
        assert_eq!(baseline.codec_string(), "avc1.42c00d");
        assert_eq!(baseline.resolution(), Some((320, 240)));
        let high444 = parse_config(record(AVC_352X288_HIGH444_SEQ)).unwrap();
        assert_eq!(high444.codec_string(), "avc1.f4000d");
        assert_eq!(high444.resolution(), Some((352, 288)));
    }

    #[test]
    fn annex_b_sequence_header() {
        // The 640x360 SPS and PPS re-framed with start codes.
        let avcc = record(AVC_640X360_SEQ);
        let sps_len = usize::from(u16::from_be_bytes([avcc[6], avcc[7]]));
        let sps = &avcc[8..8 + sps_len];
        let mut annex_b = vec![0, 0, 0, 1];
        annex_b.extend_from_slice(sps);
        annex_b.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xef, 0x8f, 0xcb]);
        let config = parse_config(&annex_b).unwrap();
        assert_eq!(config.codec_string(), "avc1.64001e");
        assert_eq!(config.resolution(), Some((640, 360)));
        assert_eq!(config.nal_length_size(), None);
        assert!(parse_config(&[0, 0, 1, 0x68, 0xee]).is_err());
    }

    #[test]
    fn sps_with_scaling_matrix_and_poc_type_1() {
        // profile 100, level 31: sps_id 0, chroma 1, depths 0/0, bypass 0, matrix present with
        // list 0 present (deltas: +8 then 0 => nextScale 0 ends the list), other lists absent,
        // frame_num 0, poc type 1 with 2 ref offsets, 1 ref frame, 1280x720 in MBs (80x45),
        // frame_mbs_only, direct8x8, no cropping. Bits written with a tiny encoder.
        let mut w = BitWriter::default();
        w.bits(0x67, 8);
        w.bits(100, 8);
        w.bits(0, 8);
        w.bits(31, 8);
        w.ue(0);
        w.ue(1);
        w.ue(0);
        w.ue(0);
        w.bit(false);
        w.bit(true);
        w.bit(true);
        w.se(8);
        w.se(-16);
        for _ in 1..8 {
            w.bit(false);
        }
        w.ue(0);
        w.ue(1);
        w.bit(false);
        w.se(-1);
        w.se(2);
        w.ue(2);
        w.se(3);
        w.se(-3);
        w.ue(1);
        w.bit(false);
        w.ue(79);
        w.ue(44);
        w.bit(true);
        w.bit(true);
        w.bit(false);
        let sps = parse_sps(&w.finish()).unwrap();
        assert_eq!((sps.width, sps.height, sps.level_idc), (1280, 720, 31));
    }

    #[test]
    fn interlaced_sps_doubles_map_units() {
        // Baseline-like profile 77 (no chroma fields), 1920x1080i: 120 MBs wide, 34 map
        // units of 32 lines = 1088, cropped at the bottom by 2 units of 4 lines.
        let mut w = BitWriter::default();
        w.bits(0x67, 8);
        w.bits(77, 8);
        w.bits(0, 8);
        w.bits(40, 8);
        w.ue(0);
        w.ue(0);
        w.ue(2);
        w.ue(1);
        w.bit(false);
        w.ue(119);
        w.ue(33);
        w.bit(false);
        w.bit(true);
        w.bit(true);
        w.bit(true);
        w.ue(0);
        w.ue(0);
        w.ue(0);
        w.ue(2);
        let sps = parse_sps(&w.finish()).unwrap();
        assert_eq!((sps.width, sps.height), (1920, 1080));
    }

    #[test]
    fn refuses_bad_records() {
        assert_eq!(parse_config(&[]), Err(MediaError::Truncated));
        assert_eq!(
            parse_config(&[2, 0x64, 0, 0x1e, 0xff, 0xe1]),
            Err(MediaError::InvalidConfig("AVC: configurationVersion is not 1"))
        );
        // No SPS: codec string only.
        let bare = parse_config(&hex("01 4d 40 1f ff e0 00")).unwrap();
        assert_eq!((bare.codec_string(), bare.resolution()), ("avc1.4d401f", None));
        // Declared SPS longer than the record.
        assert_eq!(parse_config(&hex("01 64 00 1e ff e1 00 20 67 64")), Err(MediaError::Truncated));
        // A PPS where the SPS should be.
        assert!(matches!(
            parse_config(&hex("01 64 00 1e ff e1 00 02 68 ee")),
            Err(MediaError::InvalidConfig(_))
        ));
        // An SPS whose Exp-Golomb id has 32 leading zeros.
        assert_eq!(parse_sps(&hex("67 42 c0 1e 00 00 00 00 80")), Err(MediaError::ExpGolombTooLong));
        // Cropping larger than the picture.
        let mut w = BitWriter::default();
        w.bits(0x67, 8);
        w.bits(66, 8);
        w.bits(0, 8);
        w.bits(10, 8);
        for v in [0, 0, 2, 1] {
            w.ue(v);
        }
        w.bit(false);
        w.ue(0);
        w.ue(0);
        w.bit(true);
        w.bit(true);
        w.bit(true);
        for v in [5, 5, 0, 0] {
            w.ue(v);
        }
        assert!(matches!(parse_sps(&w.finish()), Err(MediaError::InvalidConfig(_))));
    }
}
