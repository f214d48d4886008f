//! FLV audio/video tag bodies (the payloads of RTMP message types 8 and 9), legacy and
//! Enhanced RTMP v1/v2, as zero-copy views.
//!
//! [`VideoTag::parse`] and [`AudioTag::parse`] read the tag headers (legacy codec ids,
//! Enhanced-RTMP ExHeader with FourCC, ModEx, multitrack) and keep the codec payload as a
//! [`bytes::Bytes`] slice of the message: no media data is copied. [`VideoConfig`] and
//! [`AudioConfig`] read a sequence header's decoder configuration record far enough to name
//! the codec (RFC 6381 string), the picture size, the sample rate and the channel count.
//!
//! Every parser here takes untrusted input: it never panics, never indexes unchecked and
//! never allocates in proportion to a size read from the input.
//!
//! ```
//! use bytes::Bytes;
//! use rtmp_core::proto::media::{AudioConfig, AudioTag, VideoCodec, VideoTag};
//!
//! // A legacy AVC keyframe with a 33 ms composition time, then one NAL unit.
//! let payload = Bytes::from_static(&[0x17, 0x01, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x02, 0x09, 0xf0]);
//! let video = VideoTag::parse(&payload)?;
//! assert!(video.is_keyframe());
//! assert_eq!(video.codec(), VideoCodec::Avc);
//! assert_eq!(video.composition_time(), 33);
//! assert_eq!(&video.body()[..], &[0x00, 0x00, 0x00, 0x02, 0x09, 0xf0]);
//!
//! // An AAC sequence header: LC, 44.1 kHz, stereo.
//! let audio = AudioTag::parse(&Bytes::from_static(&[0xaf, 0x00, 0x12, 0x10]))?;
//! let config = AudioConfig::parse(audio.codec(), audio.body())?;
//! assert_eq!(config.codec_string(), "mp4a.40.2");
//! assert_eq!((config.sample_rate(), config.channels()), (Some(44_100), Some(2)));
//! # Ok::<(), rtmp_core::proto::media::MediaError>(())
//! ```

mod aac;
mod annexb;
mod audio;
mod av1;
mod avc;
mod bits;
mod codec;
mod config;
mod flac;
mod fourcc;
mod hevc;
mod legacy;
mod modex;
mod multichannel;
mod multitrack;
mod opus;
mod reader;
mod video;
mod vpx;

#[cfg(test)]
mod tests;

use thiserror::Error;

pub use audio::{AudioPacketType, AudioTag, AudioTrack, AudioTracks};
pub use codec::{AudioCodec, VideoCodec};
pub use config::{AudioConfig, VideoConfig};
pub use fourcc::FourCc;
pub use legacy::{LegacyForm, is_enhanced_audio, is_enhanced_video, legacy_audio, legacy_video};
pub use multichannel::{AudioChannelOrder, MultichannelConfig};
pub use multitrack::MultitrackType;
pub use video::{VideoFrameType, VideoPacketType, VideoTag, VideoTrack, VideoTracks};

/// Why a media tag or a decoder configuration record could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The tag ended before its header did.
    #[error("tag truncated")]
    Truncated,
    /// A legacy AVC/HEVC/AV1 tag carried an AVCPacketType other than 0, 1 or 2.
    #[error("unknown legacy AVC packet type {0}")]
    UnknownAvcPacketType(u8),
    /// A legacy AAC tag carried an AACPacketType other than 0 or 1.
    #[error("unknown AAC packet type {0}")]
    UnknownAacPacketType(u8),
    /// An Enhanced-RTMP video tag carried a reserved VideoPacketType.
    #[error("unknown enhanced video packet type {0}")]
    UnknownVideoPacketType(u8),
    /// An Enhanced-RTMP audio tag carried a reserved AudioPacketType.
    #[error("unknown enhanced audio packet type {0}")]
    UnknownAudioPacketType(u8),
    /// A ModEx block carried a ModExType this parser does not know.
    #[error("unknown ModEx type {0}")]
    UnknownModExType(u8),
    /// A TimestampOffsetNano ModEx block held fewer than the 3 bytes it needs.
    #[error("TimestampOffsetNano ModEx data too short ({0} bytes)")]
    ModExTooShort(usize),
    /// A TimestampOffsetNano value was outside 0..=999 999 ns.
    #[error("nanosecond timestamp offset {0} out of range")]
    InvalidNanoOffset(u32),
    /// A multitrack tag carried a reserved AvMultitrackType.
    #[error("unknown multitrack type {0}")]
    UnknownMultitrackType(u8),
    /// A multitrack tag wrapped a packet type that cannot be wrapped (Multitrack or ModEx).
    #[error("packet type {0} is not allowed inside a multitrack tag")]
    InvalidMultitrackPacketType(u8),
    /// A multitrack tag declared a track larger than the bytes left in the message.
    #[error("track of {declared} bytes overruns the {available} bytes left")]
    TrackOverrun {
        /// Size the track header declared.
        declared: u32,
        /// Bytes actually left in the message.
        available: usize,
    },
    /// A multitrack tag held no track at all.
    #[error("multitrack tag without tracks")]
    NoTracks,
    /// A MultichannelConfig packet carried an unknown channel order.
    #[error("unknown audio channel order {0}")]
    UnknownChannelOrder(u8),
    /// A decoder configuration record was requested for a codec that has none (or that this
    /// module does not read).
    #[error("no decoder configuration record parser for this codec")]
    UnsupportedCodec,
    /// A decoder configuration record or parameter set is malformed; the text says where.
    #[error("invalid decoder configuration: {0}")]
    InvalidConfig(&'static str),
    /// An Exp-Golomb code had more than 31 leading zero bits.
    #[error("Exp-Golomb code longer than 32 bits")]
    ExpGolombTooLong,
}
