//! H.265: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) and the sequence
//! parameter set up to the conformance window and bit depth (ITU-T H.265 §7.3.2.2).

use std::fmt::Write as _;

use super::{
    MediaError, VideoCodec, VideoConfig,
    annexb::{find_nal, is_annex_b},
    bits::BitReader,
    reader::SliceReader,
};

const NAL_TYPE_SPS: u8 = 33;

/// `general_profile_tier_level` fields, which the codec string is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProfileTierLevel {
    profile_space: u8,
    tier_flag: bool,
    profile_idc: u8,
    compatibility_flags: u32,
    constraint_flags: [u8; 6],
    level_idc: u8,
}

impl ProfileTierLevel {
    /// `hvc1.[A-C]<profile>.<compatibility, bit-reversed hex>.<L|H><level>[.<constraint byte>]…`
    /// with trailing zero constraint bytes left out (ISO/IEC 14496-15 Annex E).
    fn codec_string(&self) -> String {
        let space = match self.profile_space {
            1 => "A",
            2 => "B",
            3 => "C",
            _ => "",
        };
        let tier = if self.tier_flag { 'H' } else { 'L' };
        let mut text = format!(
            "hvc1.{space}{}.{:X}.{tier}{}",
            self.profile_idc,
            self.compatibility_flags.reverse_bits(),
            self.level_idc
        );
        let used = self.constraint_flags.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
        for byte in self.constraint_flags.iter().take(used) {
            // Writing to a String cannot fail.
            let _ = write!(text, ".{byte:02X}");
        }
        text
    }
}

/// The SPS fields this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HevcSps {
    profile_tier_level: ProfileTierLevel,
    width: u32,
    height: u32,
    bit_depth_luma: u8,
}

fn read_general_ptl(bits: &mut BitReader<'_>) -> Result<ProfileTierLevel, MediaError> {
    let profile_space = bits.bits_u8(2)?;
    let tier_flag = bits.bit()?;
    let profile_idc = bits.bits_u8(5)?;
    let compatibility_flags = bits.bits_u32(32)?;
    let mut constraint_flags = [0u8; 6];
    for byte in &mut constraint_flags {
        *byte = bits.bits_u8(8)?;
    }
    let level_idc = bits.bits_u8(8)?;
    Ok(ProfileTierLevel {
        profile_space,
        tier_flag,
        profile_idc,
        compatibility_flags,
        constraint_flags,
        level_idc,
    })
}

/// Parses an SPS NAL unit (2-byte header included, emulation prevention not yet removed).
fn parse_sps(nal: &[u8]) -> Result<HevcSps, MediaError> {
    let mut bits = BitReader::new_nal(nal);
    let header = bits.bits_u32(16)?;
    if (header >> 9) & 0x3f != u32::from(NAL_TYPE_SPS) {
        return Err(MediaError::InvalidConfig("HEVC: not an SPS NAL unit"));
    }
    bits.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = bits.bits_u8(3)?;
    bits.skip(1)?; // sps_temporal_id_nesting_flag
    let profile_tier_level = read_general_ptl(&mut bits)?;
    let mut sub_layer_flags = [(false, false); 8];
    for flags in sub_layer_flags.iter_mut().take(usize::from(max_sub_layers_minus1)) {
        *flags = (bits.bit()?, bits.bit()?);
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            bits.skip(2)?; // reserved_zero_2bits
        }
    }
    for &(profile_present, level_present) in sub_layer_flags.iter().take(usize::from(max_sub_layers_minus1)) {
        if profile_present {
            bits.skip(88)?;
        }
        if level_present {
            bits.skip(8)?;
        }
    }
    bits.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = bits.ue()?;
    if chroma_format_idc > 3 {
        return Err(MediaError::InvalidConfig("HEVC: chroma_format_idc > 3"));
    }
    let separate_colour_plane = chroma_format_idc == 3 && bits.bit()?;
    let coded_width = u64::from(bits.ue()?);
    let coded_height = u64::from(bits.ue()?);
    let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
    if bits.bit()? {
        left = u64::from(bits.ue()?);
        right = u64::from(bits.ue()?);
        top = u64::from(bits.ue()?);
        bottom = u64::from(bits.ue()?);
    }
    let bit_depth_luma = u8::try_from(bits.ue()?)
        .ok()
        .and_then(|d| d.checked_add(8))
        .ok_or(MediaError::InvalidConfig("HEVC: bit depth"))?;

    let chroma_array_type = if separate_colour_plane { 0 } else { chroma_format_idc };
    let sub_width: u64 = if matches!(chroma_array_type, 1 | 2) { 2 } else { 1 };
    let sub_height: u64 = if chroma_array_type == 1 { 2 } else { 1 };
    let width = coded_width
        .checked_sub(sub_width * (left + right))
        .ok_or(MediaError::InvalidConfig("HEVC: conformance window wider than the picture"))?;
    let height = coded_height
        .checked_sub(sub_height * (top + bottom))
        .ok_or(MediaError::InvalidConfig("HEVC: conformance window taller than the picture"))?;
    let to_u32 = |v: u64| u32::try_from(v).map_err(|_| MediaError::InvalidConfig("HEVC: picture too large"));
    Ok(HevcSps { profile_tier_level, width: to_u32(width)?, height: to_u32(height)?, bit_depth_luma })
}

fn is_sps_header(first_byte: u8) -> bool {
    (first_byte >> 1) & 0x3f == NAL_TYPE_SPS
}

/// Parses an HEVCDecoderConfigurationRecord, or an Annex-B VPS/SPS/PPS sequence.
pub(super) fn parse_config(record: &[u8]) -> Result<VideoConfig, MediaError> {
    if is_annex_b(record) {
        let nal = find_nal(record, is_sps_header)
            .ok_or(MediaError::InvalidConfig("HEVC: Annex-B header without an SPS"))?;
        let sps = parse_sps(nal)?;
        return Ok(VideoConfig {
            codec: VideoCodec::Hevc,
            codec_string: sps.profile_tier_level.codec_string(),
            width: Some(sps.width),
            height: Some(sps.height),
            bit_depth: Some(sps.bit_depth_luma),
            nal_length_size: None,
        });
    }
    let mut reader = SliceReader::new(record);
    if reader.u8()? != 1 {
        return Err(MediaError::InvalidConfig("HEVC: configurationVersion is not 1"));
    }
    let profile_tier_level = read_general_ptl(&mut BitReader::new(reader.take(12)?))?;
    reader.skip(4)?; // min_spatial_segmentation_idc, parallelismType, chromaFormat
    let bit_depth_luma = (reader.u8()? & 0x07) + 8;
    reader.skip(3)?; // bitDepthChromaMinus8, avgFrameRate
    let nal_length_size = (reader.u8()? & 0x03) + 1;
    let mut config = VideoConfig {
        codec: VideoCodec::Hevc,
        codec_string: profile_tier_level.codec_string(),
        width: None,
        height: None,
        bit_depth: Some(bit_depth_luma),
        nal_length_size: Some(nal_length_size),
    };
    let arrays = reader.u8()?;
    for _ in 0..arrays {
        let nal_type = reader.u8()? & 0x3f;
        let count = reader.u16()?;
        for _ in 0..count {
            let length = usize::from(reader.u16()?);
            let nal = reader.take(length)?;
            if nal_type == NAL_TYPE_SPS && config.width.is_none() {
                let sps = parse_sps(nal)?;
                config.width = Some(sps.width);
                config.height = Some(sps.height);
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{
        BitWriter, HEVC_426X240_SEQ, HEVC_1280X720_REXT444_SEQ, HEVC_1280X720_SEQ, escape_rbsp, hex,
    };

    /// The hvcC inside an Enhanced SequenceStart tag (after `90 68 76 63 31`).
    fn record(tag: &[u8]) -> &[u8] {
        &tag[5..]
    }

    #[test]
    fn main_profile_720p_from_x265() {
        let config = parse_config(record(HEVC_1280X720_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "hvc1.1.6.L93.90");
        assert_eq!(config.resolution(), Some((1280, 720)));
        assert_eq!((config.bit_depth(), config.nal_length_size()), (Some(8), Some(4)));
    }

    #[test]
    fn conformance_window_426x240() {
        // x265 codes 432x240 and crops 6 columns through the conformance window.
        let config = parse_config(record(HEVC_426X240_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "hvc1.1.6.L60.90");
        assert_eq!(config.resolution(), Some((426, 240)));
    }

    #[test]
    fn range_extensions_444() {
        let config = parse_config(record(HEVC_1280X720_REXT444_SEQ)).unwrap();
        assert_eq!(config.codec_string(), "hvc1.4.10.L93.9E.08");
        assert_eq!(config.resolution(), Some((1280, 720)));
    }

    #[test]
    fn codec_string_forms() {
        let mut ptl = ProfileTierLevel {
            profile_space: 0,
            tier_flag: false,
            profile_idc: 1,
            compatibility_flags: 0x6000_0000,
            constraint_flags: [0xb0, 0, 0, 0, 0, 0],
            level_idc: 93,
        };
        assert_eq!(ptl.codec_string(), "hvc1.1.6.L93.B0");
        ptl = ProfileTierLevel { profile_idc: 2, compatibility_flags: 0x2000_0000, level_idc: 120, ..ptl };
        assert_eq!(ptl.codec_string(), "hvc1.2.4.L120.B0");
        ptl = ProfileTierLevel { profile_space: 1, tier_flag: true, constraint_flags: [0; 6], ..ptl };
        assert_eq!(ptl.codec_string(), "hvc1.A2.4.H120");
    }

    #[test]
    fn annex_b_and_sub_layers() {
        // A synthetic SPS with two sub-layers (profile and level present for the first),
        // 4:2:0, 1920x1088 coded with an 8-line bottom conformance window, 10-bit; its long
        // zero runs need emulation-prevention bytes in the Annex-B stream.
        let mut w = BitWriter::default();
        w.bits(u64::from(NAL_TYPE_SPS) << 9 | 1, 16);
        w.bits(0, 4);
        w.bits(1, 3);
        w.bit(true);
        w.bits(0x02, 8); // space 0, tier 0, Main 10
        w.bits(0x2000_0000, 32);
        w.bits(0x9000_0000_0000, 48);
        w.bits(123, 8);
        w.bit(true);
        w.bit(true);
        w.bits(0, 14); // reserved_zero_2bits for sub-layers 1..8
        w.bits(0, 88);
        w.bits(0, 8);
        w.ue(0);
        w.ue(1);
        w.ue(1920);
        w.ue(1088);
        w.bit(true);
        for v in [0, 0, 0, 4] {
            w.ue(v);
        }
        w.ue(2);
        let mut annex_b = vec![0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 1];
        annex_b.extend_from_slice(&escape_rbsp(&w.finish()));
        let config = parse_config(&annex_b).unwrap();
        assert_eq!(config.codec_string(), "hvc1.2.4.L123.90");
        assert_eq!(config.resolution(), Some((1920, 1080)));
        assert_eq!(config.bit_depth(), Some(10));
    }

    #[test]
    fn refuses_bad_records() {
        assert_eq!(
            parse_config(&[0x02]),
            Err(MediaError::InvalidConfig("HEVC: configurationVersion is not 1"))
        );
        assert_eq!(parse_config(&record(HEVC_1280X720_SEQ)[..30]), Err(MediaError::Truncated));
        // Header only, no arrays: codec string without a size.
        let bare = parse_config(&hex("01 01 60 00 00 00 90 00 00 00 00 00 5d f0 00 fc fd f8 f8 00 00 0f 00"))
            .unwrap();
        assert_eq!((bare.codec_string(), bare.resolution()), ("hvc1.1.6.L93.90", None));
        // An SPS array whose NAL unit is not an SPS.
        let wrong =
            hex("01 01 60 00 00 00 90 00 00 00 00 00 5d f0 00 fc fd f8 f8 00 00 0f 01 21 00 01 00 02 40 01");
        assert!(matches!(parse_config(&wrong), Err(MediaError::InvalidConfig(_))));
        assert!(matches!(parse_config(&[0, 0, 1, 0x40, 0x01]), Err(MediaError::InvalidConfig(_))));
    }
}
