//! AAC: AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), read up to the channel
//! configuration and, for explicit SBR/PS signalling, the extension sampling frequency.

use super::{AudioCodec, AudioConfig, MediaError, bits::BitReader};

/// Sampling frequencies for samplingFrequencyIndex 0..=12.
const SAMPLING_FREQUENCIES: [u32; 13] =
    [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350];

/// Audio object types that signal SBR (5) or PS (29) explicitly, followed by the extension
/// frequency and the core object type.
const AOT_SBR: u8 = 5;
const AOT_PS: u8 = 29;

fn audio_object_type(bits: &mut BitReader<'_>) -> Result<u8, MediaError> {
    let object_type = bits.bits_u8(5)?;
    if object_type == 31 { Ok(32 + bits.bits_u8(6)?) } else { Ok(object_type) }
}

fn sampling_frequency(bits: &mut BitReader<'_>) -> Result<u32, MediaError> {
    match bits.bits_u8(4)? {
        15 => bits.bits_u32(24),
        index => SAMPLING_FREQUENCIES
            .get(usize::from(index))
            .copied()
            .ok_or(MediaError::InvalidConfig("AAC: reserved samplingFrequencyIndex")),
    }
}

/// Channels for a channelConfiguration; 0 means "defined in a program config element".
fn channel_count(configuration: u8) -> Option<u8> {
    match configuration {
        1..=6 => Some(configuration),
        7 | 12 | 14 => Some(8),
        11 => Some(7),
        13 => Some(24),
        _ => None,
    }
}

/// Parses an AudioSpecificConfig. The codec string names the signalled object type
/// (`mp4a.40.2` LC, `mp4a.40.5` HE-AAC, `mp4a.40.29` HE-AACv2); for explicit SBR/PS the
/// sample rate is the extension (output) rate, and PS on a mono core gives 2 channels.
pub(super) fn parse_config(record: &[u8]) -> Result<AudioConfig, MediaError> {
    let mut bits = BitReader::new(record);
    let object_type = audio_object_type(&mut bits)?;
    if object_type == 0 {
        return Err(MediaError::InvalidConfig("AAC: audioObjectType 0"));
    }
    let mut sample_rate = sampling_frequency(&mut bits)?;
    let configuration = bits.bits_u8(4)?;
    let mut channels = channel_count(configuration);
    if object_type == AOT_SBR || object_type == AOT_PS {
        sample_rate = sampling_frequency(&mut bits)?;
        audio_object_type(&mut bits)?;
        if object_type == AOT_PS && channels == Some(1) {
            channels = Some(2);
        }
    }
    Ok(AudioConfig {
        codec: AudioCodec::Aac,
        codec_string: format!("mp4a.40.{object_type}"),
        sample_rate: Some(sample_rate),
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::{BitWriter, hex};

    fn summary(record: &[u8]) -> (String, Option<u32>, Option<u8>) {
        let config = parse_config(record).unwrap();
        (config.codec_string().to_owned(), config.sample_rate(), config.channels())
    }

    #[test]
    fn lc_stereo_vectors() {
        assert_eq!(summary(&hex("12 10")), ("mp4a.40.2".into(), Some(44_100), Some(2)));
        assert_eq!(summary(&hex("11 90")), ("mp4a.40.2".into(), Some(48_000), Some(2)));
    }

    #[test]
    fn ffmpeg_51_and_7350_mono() {
        // ffmpeg's native encoder, with its trailing sync extension.
        assert_eq!(summary(&hex("11 b0 56 e5 00")), ("mp4a.40.2".into(), Some(48_000), Some(6)));
        assert_eq!(summary(&hex("16 08 56 e5 00")), ("mp4a.40.2".into(), Some(7_350), Some(1)));
    }

    #[test]
    fn explicit_frequency_index_15() {
        let mut w = BitWriter::default();
        w.bits(2, 5);
        w.bits(15, 4);
        w.bits(37_800, 24);
        w.bits(2, 4);
        assert_eq!(summary(&w.finish()), ("mp4a.40.2".into(), Some(37_800), Some(2)));
    }

    #[test]
    fn he_aac_and_escape_object_type() {
        // HE-AAC: SBR, core 24 kHz stereo, extension 48 kHz, core object type LC.
        let mut w = BitWriter::default();
        for (value, width) in [(5, 5), (6, 4), (2, 4), (3, 4), (2, 5)] {
            w.bits(value, width);
        }
        assert_eq!(summary(&w.finish()), ("mp4a.40.5".into(), Some(48_000), Some(2)));
        // HE-AACv2: PS on a mono core gives stereo.
        let mut w = BitWriter::default();
        for (value, width) in [(29, 5), (6, 4), (1, 4), (3, 4), (2, 5)] {
            w.bits(value, width);
        }
        assert_eq!(summary(&w.finish()), ("mp4a.40.29".into(), Some(48_000), Some(2)));
        // Object type 31 escapes to 32 + 6 bits: 32 + 10 = 42 (USAC), 44.1 kHz, config 0.
        let mut w = BitWriter::default();
        for (value, width) in [(31, 5), (10, 6), (4, 4), (0, 4)] {
            w.bits(value, width);
        }
        assert_eq!(summary(&w.finish()), ("mp4a.40.42".into(), Some(44_100), None));
    }

    #[test]
    fn refuses_bad_configs() {
        assert_eq!(parse_config(&[]), Err(MediaError::Truncated));
        assert_eq!(parse_config(&hex("12")), Err(MediaError::Truncated));
        assert!(matches!(parse_config(&hex("16 88")), Err(MediaError::InvalidConfig(_))));
        assert!(matches!(parse_config(&hex("00 10")), Err(MediaError::InvalidConfig(_))));
        assert_eq!(parse_config(&hex("17 80 00")), Err(MediaError::Truncated));
    }
}
