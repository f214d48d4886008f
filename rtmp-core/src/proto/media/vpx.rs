//! VP8/VP9: VPCodecConfigurationRecord (`vpcC`, "VP Codec ISO Media File Format Binding"
//! §2.3). It names profile, level and bit depth; it carries no picture size.

use super::{MediaError, VideoCodec, VideoConfig, reader::SliceReader};

/// Parses a vpcC: version 1 (FullBox header `01 00 00 00`, then profile, level, `bitDepth(4)
/// chromaSubsampling(3) fullRange(1)`, colour fields) or the older version 0 (same first
/// three fields, bit depth also in the high nibble).
pub(super) fn parse_config(codec: VideoCodec, record: &[u8]) -> Result<VideoConfig, MediaError> {
    let prefix = match codec {
        VideoCodec::Vp8 => "vp08",
        VideoCodec::Vp9 => "vp09",
        _ => return Err(MediaError::UnsupportedCodec),
    };
    let mut reader = SliceReader::new(record);
    let version = reader.u8()?;
    if version > 1 {
        return Err(MediaError::InvalidConfig("VPx: vpcC version above 1"));
    }
    reader.skip(3)?; // FullBox flags
    let profile = reader.u8()?;
    let level = reader.u8()?;
    let bit_depth = reader.u8()? >> 4;
    Ok(VideoConfig {
        codec,
        codec_string: format!("{prefix}.{profile:02}.{level:02}.{bit_depth:02}"),
        width: None,
        height: None,
        bit_depth: Some(bit_depth),
        nal_length_size: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{VP9_640X360_SEQ, hex};

    #[test]
    fn vp9_from_ffmpeg_has_no_resolution() {
        let config = parse_config(VideoCodec::Vp9, &VP9_640X360_SEQ[5..]).unwrap();
        assert_eq!(config.codec_string(), "vp09.00.21.08");
        assert_eq!(config.resolution(), None);
        assert_eq!(config.bit_depth(), Some(8));
    }

    #[test]
    fn vp8_and_profile_2_ten_bit() {
        assert_eq!(
            parse_config(VideoCodec::Vp8, &hex("01 00 00 00 00 0a 80 01 01 01 00 00"))
                .unwrap()
                .codec_string(),
            "vp08.00.10.08"
        );
        assert_eq!(
            parse_config(VideoCodec::Vp9, &hex("01 00 00 00 02 1f a2 09 10 09 00 00"))
                .unwrap()
                .codec_string(),
            "vp09.02.31.10"
        );
        assert_eq!(parse_config(VideoCodec::Vp9, &hex("01 00 00 00 00")), Err(MediaError::Truncated));
        assert!(matches!(
            parse_config(VideoCodec::Vp9, &hex("02 00 00 00 00 0a 80")),
            Err(MediaError::InvalidConfig(_))
        ));
        assert_eq!(parse_config(VideoCodec::Avc, &[]), Err(MediaError::UnsupportedCodec));
    }
}
