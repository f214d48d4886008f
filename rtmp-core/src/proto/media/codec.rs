//! Codec identities: legacy FLV codec ids and Enhanced-RTMP FourCCs mapped to one enum per
//! media kind.

use super::FourCc;

/// The video codec of a tag or track. Legacy CodecID 7 and Enhanced `avc1` are both
/// [`VideoCodec::Avc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// Sorenson H.263 (legacy CodecID 2).
    H263,
    /// Screen video (legacy CodecID 3).
    Screen,
    /// On2 VP6 (legacy CodecID 4).
    Vp6,
    /// On2 VP6 with alpha channel (legacy CodecID 5).
    Vp6Alpha,
    /// Screen video version 2 (legacy CodecID 6).
    Screen2,
    /// H.264 / AVC (legacy CodecID 7, FourCC `avc1`).
    Avc,
    /// H.265 / HEVC (FourCC `hvc1`, or the non-standard legacy CodecID 12).
    Hevc,
    /// AV1 (FourCC `av01`, or the non-standard legacy CodecID 13).
    Av1,
    /// VP9 (FourCC `vp09`).
    Vp9,
    /// VP8 (FourCC `vp08`).
    Vp8,
    /// H.266 / VVC (FourCC `vvc1`).
    Vvc,
    /// A legacy CodecID this module does not know; the tag is kept, not refused.
    UnknownId(u8),
    /// An Enhanced-RTMP FourCC this module does not know; the tag is kept for relaying.
    Unknown(FourCc),
    /// No codec is signalled: an Enhanced-RTMP command frame carries no FourCC.
    Unspecified,
}

impl VideoCodec {
    /// The codec named by a legacy FLV CodecID (`byte0 & 0x0f`).
    pub fn from_legacy_id(id: u8) -> Self {
        match id {
            2 => Self::H263,
            3 => Self::Screen,
            4 => Self::Vp6,
            5 => Self::Vp6Alpha,
            6 => Self::Screen2,
            7 => Self::Avc,
            12 => Self::Hevc,
            13 => Self::Av1,
            other => Self::UnknownId(other),
        }
    }

    /// The codec named by an Enhanced-RTMP FourCC.
    pub fn from_fourcc(fourcc: FourCc) -> Self {
        match fourcc {
            FourCc::AVC1 => Self::Avc,
            FourCc::HVC1 => Self::Hevc,
            FourCc::AV01 => Self::Av1,
            FourCc::VP09 => Self::Vp9,
            FourCc::VP08 => Self::Vp8,
            FourCc::VVC1 => Self::Vvc,
            other => Self::Unknown(other),
        }
    }

    /// The Enhanced-RTMP FourCC of this codec, if it has one.
    pub fn fourcc(self) -> Option<FourCc> {
        match self {
            Self::Avc => Some(FourCc::AVC1),
            Self::Hevc => Some(FourCc::HVC1),
            Self::Av1 => Some(FourCc::AV01),
            Self::Vp9 => Some(FourCc::VP09),
            Self::Vp8 => Some(FourCc::VP08),
            Self::Vvc => Some(FourCc::VVC1),
            Self::Unknown(fourcc) => Some(fourcc),
            _ => None,
        }
    }

    /// Whether Enhanced-RTMP `CodedFrames` of this codec start with an SI24 composition time
    /// (`avc1`, `hvc1`, `vvc1`).
    pub fn has_composition_time(self) -> bool {
        matches!(self, Self::Avc | Self::Hevc | Self::Vvc)
    }
}

/// The audio codec of a tag or track. Legacy SoundFormat 10 and Enhanced `mp4a` are both
/// [`AudioCodec::Aac`]; legacy SoundFormat 2 and Enhanced `.mp3` are both [`AudioCodec::Mp3`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioCodec {
    /// Linear PCM, platform endian (SoundFormat 0).
    LinearPcm,
    /// ADPCM (SoundFormat 1).
    Adpcm,
    /// MP3 (SoundFormat 2, FourCC `.mp3`).
    Mp3,
    /// Linear PCM, little endian (SoundFormat 3).
    LinearPcmLittleEndian,
    /// Nellymoser 16 kHz mono (SoundFormat 4).
    Nellymoser16kMono,
    /// Nellymoser 8 kHz mono (SoundFormat 5).
    Nellymoser8kMono,
    /// Nellymoser (SoundFormat 6).
    Nellymoser,
    /// G.711 A-law (SoundFormat 7).
    G711ALaw,
    /// G.711 µ-law (SoundFormat 8).
    G711MuLaw,
    /// AAC (SoundFormat 10, FourCC `mp4a`).
    Aac,
    /// Speex (SoundFormat 11).
    Speex,
    /// MP3 at 8 kHz (SoundFormat 14).
    Mp3At8kHz,
    /// Device-specific sound (SoundFormat 15).
    DeviceSpecific,
    /// AC-3 (FourCC `ac-3`).
    Ac3,
    /// E-AC-3 (FourCC `ec-3`).
    Eac3,
    /// Opus (FourCC `Opus`).
    Opus,
    /// FLAC (FourCC `fLaC`).
    Flac,
    /// A reserved legacy SoundFormat (12 or 13); the tag is kept, not refused.
    UnknownId(u8),
    /// An Enhanced-RTMP FourCC this module does not know; the tag is kept for relaying.
    Unknown(FourCc),
    /// No codec: the zero-length "silence" audio message.
    Silence,
}

impl AudioCodec {
    /// The codec named by a legacy FLV SoundFormat (`byte0 >> 4`, never 9 = ExHeader).
    pub fn from_sound_format(format: u8) -> Self {
        match format {
            0 => Self::LinearPcm,
            1 => Self::Adpcm,
            2 => Self::Mp3,
            3 => Self::LinearPcmLittleEndian,
            4 => Self::Nellymoser16kMono,
            5 => Self::Nellymoser8kMono,
            6 => Self::Nellymoser,
            7 => Self::G711ALaw,
            8 => Self::G711MuLaw,
            10 => Self::Aac,
            11 => Self::Speex,
            14 => Self::Mp3At8kHz,
            15 => Self::DeviceSpecific,
            other => Self::UnknownId(other),
        }
    }

    /// The codec named by an Enhanced-RTMP FourCC.
    pub fn from_fourcc(fourcc: FourCc) -> Self {
        match fourcc {
            FourCc::AC3 => Self::Ac3,
            FourCc::EAC3 => Self::Eac3,
            FourCc::OPUS => Self::Opus,
            FourCc::MP3 => Self::Mp3,
            FourCc::FLAC => Self::Flac,
            FourCc::MP4A => Self::Aac,
            other => Self::Unknown(other),
        }
    }

    /// The Enhanced-RTMP FourCC of this codec, if it has one.
    pub fn fourcc(self) -> Option<FourCc> {
        match self {
            Self::Ac3 => Some(FourCc::AC3),
            Self::Eac3 => Some(FourCc::EAC3),
            Self::Opus => Some(FourCc::OPUS),
            Self::Mp3 => Some(FourCc::MP3),
            Self::Flac => Some(FourCc::FLAC),
            Self::Aac => Some(FourCc::MP4A),
            Self::Unknown(fourcc) => Some(fourcc),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_and_fourccs_agree() {
        assert_eq!(VideoCodec::from_legacy_id(7), VideoCodec::Avc);
        assert_eq!(VideoCodec::from_fourcc(FourCc::AVC1), VideoCodec::Avc);
        assert_eq!(VideoCodec::from_legacy_id(12), VideoCodec::Hevc);
        assert_eq!(VideoCodec::from_legacy_id(13), VideoCodec::Av1);
        assert_eq!(VideoCodec::from_legacy_id(9), VideoCodec::UnknownId(9));
        for codec in [VideoCodec::Avc, VideoCodec::Hevc, VideoCodec::Av1, VideoCodec::Vp9, VideoCodec::Vp8] {
            assert_eq!(VideoCodec::from_fourcc(codec.fourcc().unwrap()), codec);
        }
        assert_eq!(AudioCodec::from_sound_format(10), AudioCodec::Aac);
        assert_eq!(AudioCodec::from_fourcc(FourCc::MP4A), AudioCodec::Aac);
        assert_eq!(AudioCodec::from_fourcc(FourCc::MP3), AudioCodec::Mp3);
        assert_eq!(AudioCodec::from_sound_format(13), AudioCodec::UnknownId(13));
        for codec in [AudioCodec::Ac3, AudioCodec::Eac3, AudioCodec::Opus, AudioCodec::Flac, AudioCodec::Aac]
        {
            assert_eq!(AudioCodec::from_fourcc(codec.fourcc().unwrap()), codec);
        }
        let odd = FourCc::from_bytes(*b"xyz1");
        assert_eq!(VideoCodec::from_fourcc(odd).fourcc(), Some(odd));
        assert_eq!(AudioCodec::Speex.fourcc(), None);
    }
}
