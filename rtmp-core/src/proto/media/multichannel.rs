//! The body of an Enhanced-RTMP audio `MultichannelConfig` packet: `UI8 order`, `UI8
//! channels`, then a per-channel speaker map (custom order) or a UI32 speaker mask (native).

use bytes::Bytes;

use super::{MediaError, reader::PayloadReader};

/// How a MultichannelConfig describes the channel layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioChannelOrder {
    /// Only the channel count is known (0).
    Unspecified,
    /// Channels in native order, described by a speaker mask (1).
    Native,
    /// An explicit speaker per channel (2).
    Custom,
}

/// A parsed MultichannelConfig packet body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultichannelConfig {
    /// How the layout is described.
    pub order: AudioChannelOrder,
    /// Number of channels.
    pub channel_count: u8,
    /// For [`AudioChannelOrder::Native`]: which speakers are present (bit 0 front left,
    /// bit 1 front right, bit 2 front center, bit 3 LFE, …).
    pub channel_mask: Option<u32>,
    /// For [`AudioChannelOrder::Custom`]: one speaker id per channel, in bitstream order.
    pub channel_mapping: Option<Bytes>,
}

impl MultichannelConfig {
    /// Parses a MultichannelConfig body; bytes after the described fields are ignored.
    pub fn parse(body: &Bytes) -> Result<Self, MediaError> {
        let mut reader = PayloadReader::new(body);
        let order_value = reader.u8()?;
        let channel_count = reader.u8()?;
        let (order, channel_mask, channel_mapping) = match order_value {
            0 => (AudioChannelOrder::Unspecified, None, None),
            1 => (AudioChannelOrder::Native, Some(reader.u32()?), None),
            2 => (AudioChannelOrder::Custom, None, Some(reader.take_bytes(usize::from(channel_count))?)),
            other => return Err(MediaError::UnknownChannelOrder(other)),
        };
        Ok(Self { order, channel_count, channel_mask, channel_mapping })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &'static [u8]) -> Result<MultichannelConfig, MediaError> {
        MultichannelConfig::parse(&Bytes::from_static(bytes))
    }

    #[test]
    fn native_custom_and_unspecified() {
        // ffmpeg, AAC 5.1: native order, 6 channels, mask 0x3f.
        let native = parse(&[0x01, 0x06, 0x00, 0x00, 0x00, 0x3f]).unwrap();
        assert_eq!(native.order, AudioChannelOrder::Native);
        assert_eq!((native.channel_count, native.channel_mask), (6, Some(0x3f)));
        let custom = parse(&[0x02, 0x02, 0x01, 0x00]).unwrap();
        assert_eq!(custom.channel_mapping.as_deref(), Some(&[0x01, 0x00][..]));
        let unspecified = parse(&[0x00, 0x08]).unwrap();
        assert_eq!((unspecified.order, unspecified.channel_count), (AudioChannelOrder::Unspecified, 8));
    }

    #[test]
    fn refuses_bad_bodies() {
        assert_eq!(parse(&[0x03, 0x02]), Err(MediaError::UnknownChannelOrder(3)));
        assert_eq!(parse(&[0x01, 0x02, 0x00]), Err(MediaError::Truncated));
        assert_eq!(parse(&[0x02, 0x03, 0x00, 0x01]), Err(MediaError::Truncated));
        assert_eq!(parse(&[0x00]), Err(MediaError::Truncated));
    }
}
