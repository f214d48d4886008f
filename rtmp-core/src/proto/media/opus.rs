//! Opus: the identification header `OpusHead` (RFC 7845 §5.1).

use super::{AudioCodec, AudioConfig, MediaError, reader::SliceReader};

const MAGIC: &[u8; 8] = b"OpusHead";

/// Opus always decodes at 48 kHz; the header's input sample rate is informational.
const OPUS_RATE: u32 = 48_000;

/// Parses an OpusHead. The sample rate is the header's input sample rate (48 kHz when it
/// says 0). An empty body is allowed by Enhanced RTMP ("use MultichannelConfig or default to
/// mono/stereo"): it yields 48 kHz and no channel count.
pub(super) fn parse_config(record: &[u8]) -> Result<AudioConfig, MediaError> {
    let mut config = AudioConfig {
        codec: AudioCodec::Opus,
        codec_string: "opus".to_owned(),
        sample_rate: Some(OPUS_RATE),
        channels: None,
    };
    if record.is_empty() {
        return Ok(config);
    }
    let mut reader = SliceReader::new(record);
    if reader.take(MAGIC.len())? != MAGIC {
        return Err(MediaError::InvalidConfig("Opus: missing OpusHead magic"));
    }
    let version = reader.u8()?;
    if version >> 4 != 0 {
        return Err(MediaError::InvalidConfig("Opus: unsupported OpusHead major version"));
    }
    let channels = reader.u8()?;
    if channels == 0 {
        return Err(MediaError::InvalidConfig("Opus: zero channels"));
    }
    reader.skip(2)?; // pre-skip
    let rate_bytes: [u8; 4] = reader.take(4)?.try_into().map_err(|_| MediaError::Truncated)?;
    let input_rate = u32::from_le_bytes(rate_bytes);
    config.channels = Some(channels);
    if input_rate != 0 {
        config.sample_rate = Some(input_rate);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{OPUS_48K_SEQ, hex};

    #[test]
    fn ffmpeg_libopus_stereo() {
        let config = parse_config(&OPUS_48K_SEQ[5..]).unwrap();
        assert_eq!(config.codec_string(), "opus");
        assert_eq!((config.sample_rate(), config.channels()), (Some(48_000), Some(2)));
    }

    #[test]
    fn input_rate_empty_body_and_errors() {
        let mono_16k = hex("4f 70 75 73 48 65 61 64 01 01 38 01 80 3e 00 00 00 00 00");
        assert_eq!(parse_config(&mono_16k).unwrap().sample_rate(), Some(16_000));
        let unspecified = hex("4f 70 75 73 48 65 61 64 01 06 38 01 00 00 00 00 00 00 01");
        let config = parse_config(&unspecified).unwrap();
        assert_eq!((config.sample_rate(), config.channels()), (Some(48_000), Some(6)));
        assert_eq!(parse_config(&[]).unwrap().channels(), None);
        assert!(matches!(parse_config(b"OpusTags\x01\x02"), Err(MediaError::InvalidConfig(_))));
        assert!(matches!(
            parse_config(&hex("4f 70 75 73 48 65 61 64 10 02 00 00 00 00 00 00")),
            Err(MediaError::InvalidConfig(_))
        ));
        assert!(matches!(
            parse_config(&hex("4f 70 75 73 48 65 61 64 01 00 00 00 00 00 00 00")),
            Err(MediaError::InvalidConfig(_))
        ));
        assert_eq!(parse_config(&hex("4f 70 75 73 48 65 61 64 01 02 38 01 80")), Err(MediaError::Truncated));
    }
}
