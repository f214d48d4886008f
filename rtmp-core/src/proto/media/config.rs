//! Decoder configuration summaries: what a sequence header says about the stream (codec
//! string, picture size, sample rate, channels), enough for stats and `onMetaData`.

use super::{AudioCodec, MediaError, VideoCodec, aac, av1, avc, flac, hevc, opus, vpx};

/// What a video sequence header (avcC, hvcC, av1C, vpcC) says about the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoConfig {
    pub(super) codec: VideoCodec,
    pub(super) codec_string: String,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
    pub(super) bit_depth: Option<u8>,
    pub(super) nal_length_size: Option<u8>,
}

impl VideoConfig {
    /// Parses the body of a video SequenceStart for `codec`: an AVCDecoderConfigurationRecord
    /// (or Annex-B SPS/PPS, as some encoders send), HEVCDecoderConfigurationRecord,
    /// AV1CodecConfigurationRecord or VPCodecConfigurationRecord. Other codecs give
    /// [`MediaError::UnsupportedCodec`].
    pub fn parse(codec: VideoCodec, record: &[u8]) -> Result<Self, MediaError> {
        match codec {
            VideoCodec::Avc => avc::parse_config(record),
            VideoCodec::Hevc => hevc::parse_config(record),
            VideoCodec::Av1 => av1::parse_config(record),
            VideoCodec::Vp9 | VideoCodec::Vp8 => vpx::parse_config(codec, record),
            _ => Err(MediaError::UnsupportedCodec),
        }
    }

    /// The codec.
    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// The RFC 6381 codec string: `avc1.64001f`, `hvc1.1.6.L93.B0`, `av01.0.08M.08`,
    /// `vp09.00.31.08`.
    pub fn codec_string(&self) -> &str {
        &self.codec_string
    }

    /// Displayed picture width in pixels (after cropping), if the record carries it.
    pub fn width(&self) -> Option<u32> {
        self.width
    }

    /// Displayed picture height in pixels (after cropping), if the record carries it.
    pub fn height(&self) -> Option<u32> {
        self.height
    }

    /// `(width, height)` when both are known (not for VP8/VP9, whose vpcC has no size).
    pub fn resolution(&self) -> Option<(u32, u32)> {
        self.width.zip(self.height)
    }

    /// Luma bit depth, if the record carries it.
    pub fn bit_depth(&self) -> Option<u8> {
        self.bit_depth
    }

    /// Size in bytes of the NAL unit length prefix in coded frames (AVC/HEVC records only).
    pub fn nal_length_size(&self) -> Option<u8> {
        self.nal_length_size
    }
}

/// What an audio sequence header (AudioSpecificConfig, OpusHead, STREAMINFO) says about the
/// stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioConfig {
    pub(super) codec: AudioCodec,
    pub(super) codec_string: String,
    pub(super) sample_rate: Option<u32>,
    pub(super) channels: Option<u8>,
}

impl AudioConfig {
    /// Parses the body of an audio SequenceStart for `codec`: AAC AudioSpecificConfig, Opus
    /// ID header, FLAC STREAMINFO (with or without the `fLaC` marker). MP3, AC-3 and E-AC-3
    /// have no configuration record: they yield the codec string only and `record` is not
    /// read. Other codecs give [`MediaError::UnsupportedCodec`].
    pub fn parse(codec: AudioCodec, record: &[u8]) -> Result<Self, MediaError> {
        let codec_only =
            |name: &str| Self { codec, codec_string: name.to_owned(), sample_rate: None, channels: None };
        match codec {
            AudioCodec::Aac => aac::parse_config(record),
            AudioCodec::Opus => opus::parse_config(record),
            AudioCodec::Flac => flac::parse_config(record),
            AudioCodec::Mp3 => Ok(codec_only("mp3")),
            AudioCodec::Ac3 => Ok(codec_only("ac-3")),
            AudioCodec::Eac3 => Ok(codec_only("ec-3")),
            _ => Err(MediaError::UnsupportedCodec),
        }
    }

    /// The codec.
    pub fn codec(&self) -> AudioCodec {
        self.codec
    }

    /// The codec string: `mp4a.40.2`, `opus`, `flac`, `mp3`, `ac-3`, `ec-3`.
    pub fn codec_string(&self) -> &str {
        &self.codec_string
    }

    /// Output sample rate in Hz, if the record carries it.
    pub fn sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }

    /// Output channel count, if the record carries it.
    pub fn channels(&self) -> Option<u8> {
        self.channels
    }
}
