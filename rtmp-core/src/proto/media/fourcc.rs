//! Four-character codes that name codecs in Enhanced RTMP.

use std::fmt;

/// A FourCC as it travels in an Enhanced-RTMP tag: four bytes read as a big-endian `u32`
/// (`"hvc1"` = `0x68766331`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourCc(pub u32);

impl FourCc {
    /// H.264 / AVC video.
    pub const AVC1: Self = Self::from_bytes(*b"avc1");
    /// H.265 / HEVC video.
    pub const HVC1: Self = Self::from_bytes(*b"hvc1");
    /// H.266 / VVC video.
    pub const VVC1: Self = Self::from_bytes(*b"vvc1");
    /// AV1 video.
    pub const AV01: Self = Self::from_bytes(*b"av01");
    /// VP9 video.
    pub const VP09: Self = Self::from_bytes(*b"vp09");
    /// VP8 video.
    pub const VP08: Self = Self::from_bytes(*b"vp08");
    /// AC-3 audio.
    pub const AC3: Self = Self::from_bytes(*b"ac-3");
    /// E-AC-3 audio.
    pub const EAC3: Self = Self::from_bytes(*b"ec-3");
    /// Opus audio.
    pub const OPUS: Self = Self::from_bytes(*b"Opus");
    /// MP3 audio.
    pub const MP3: Self = Self::from_bytes(*b".mp3");
    /// FLAC audio.
    pub const FLAC: Self = Self::from_bytes(*b"fLaC");
    /// AAC audio.
    pub const MP4A: Self = Self::from_bytes(*b"mp4a");

    /// The FourCC spelled by `bytes`.
    pub const fn from_bytes(bytes: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(bytes))
    }

    /// The four bytes as they appear on the wire.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for FourCc {
    /// Printable ASCII FourCCs print as text (`hvc1`), others as hex (`0x00000001`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        if bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
            bytes.iter().try_for_each(|&b| write!(f, "{}", char::from(b)))
        } else {
            write!(f, "{:#010x}", self.0)
        }
    }
}

impl fmt::Debug for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FourCc({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_wire_values() {
        assert_eq!(FourCc::HVC1.0, 0x6876_6331);
        assert_eq!(FourCc::AV01.0, 1_635_135_537);
        assert_eq!(FourCc::HVC1.0, 1_752_589_105);
        assert_eq!(FourCc::OPUS.0, 1_332_770_163);
        assert_eq!(FourCc::from_bytes(*b"mp4a"), FourCc::MP4A);
        assert_eq!(FourCc::MP3.to_bytes(), *b".mp3");
    }

    #[test]
    fn displays_text_or_hex() {
        assert_eq!(FourCc::FLAC.to_string(), "fLaC");
        assert_eq!(FourCc::AC3.to_string(), "ac-3");
        assert_eq!(FourCc(1).to_string(), "0x00000001");
        assert_eq!(format!("{:?}", FourCc::VP09), "FourCc(vp09)");
    }
}
