//! Chunk basic header: format and chunk stream id in 1, 2 or 3 bytes.

use bytes::BufMut;

/// The smallest chunk stream id a message may use (0 and 1 select the longer header forms).
pub const MIN_CSID: u32 = 2;
/// The largest chunk stream id the 3-byte form can carry.
pub const MAX_CSID: u32 = 65_599;

/// The first one to three bytes of every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicHeader {
    /// Message header format 0–3.
    pub fmt: u8,
    /// Chunk stream id 2–65599.
    pub csid: u32,
}

impl BasicHeader {
    /// Parses a basic header from the front of `input`; `None` if more bytes are needed.
    /// Returns the header and its length in bytes.
    pub fn parse(input: &[u8]) -> Option<(Self, usize)> {
        let b0 = *input.first()?;
        let fmt = b0 >> 6;
        match b0 & 0x3F {
            0 => Some((Self { fmt, csid: u32::from(*input.get(1)?) + 64 }, 2)),
            1 => {
                let lo = u32::from(*input.get(1)?);
                let hi = u32::from(*input.get(2)?);
                Some((Self { fmt, csid: lo + hi * 256 + 64 }, 3))
            }
            id => Some((Self { fmt, csid: u32::from(id) }, 1)),
        }
    }

    /// Writes the smallest form that holds the id. `csid` must be in `MIN_CSID..=MAX_CSID`.
    pub fn write(self, out: &mut impl BufMut) {
        debug_assert!((MIN_CSID..=MAX_CSID).contains(&self.csid));
        let fmt = self.fmt << 6;
        match self.csid {
            0..=63 => out.put_u8(fmt | self.csid as u8),
            64..=319 => out.put_slice(&[fmt, (self.csid - 64) as u8]),
            _ => {
                let id = self.csid - 64;
                out.put_slice(&[fmt | 1, id as u8, (id >> 8) as u8]);
            }
        }
    }

    /// The encoded length of this header.
    pub fn encoded_len(self) -> usize {
        match self.csid {
            0..=63 => 1,
            64..=319 => 2,
            _ => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(fmt: u8, csid: u32) -> Vec<u8> {
        let mut out = Vec::new();
        BasicHeader { fmt, csid }.write(&mut out);
        out
    }

    #[test]
    fn spec_vectors_write_smallest_form() {
        assert_eq!(written(0, 3), [0x03]);
        assert_eq!(written(0, 63), [0x3f]);
        assert_eq!(written(0, 64), [0x00, 0x00]);
        assert_eq!(written(0, 319), [0x00, 0xff]);
        assert_eq!(written(0, 320), [0x01, 0x00, 0x01]);
        assert_eq!(written(0, 365), [0x01, 0x2d, 0x01]);
        assert_eq!(written(0, 65_599), [0x01, 0xff, 0xff]);
        assert_eq!(written(3, 3), [0xc3]);
    }

    #[test]
    fn parses_every_form_and_accepts_long_form_for_small_ids() {
        for csid in [2, 3, 63, 64, 200, 319, 320, 365, 65_599] {
            let bytes = written(1, csid);
            assert_eq!(BasicHeader::parse(&bytes), Some((BasicHeader { fmt: 1, csid }, bytes.len())));
            assert_eq!(BasicHeader { fmt: 1, csid }.encoded_len(), bytes.len());
        }
        // The 3-byte form may carry ids below 320.
        assert_eq!(BasicHeader::parse(&[0x41, 0x00, 0x00]), Some((BasicHeader { fmt: 1, csid: 64 }, 3)));
    }

    #[test]
    fn incomplete_headers_wait() {
        assert_eq!(BasicHeader::parse(&[]), None);
        assert_eq!(BasicHeader::parse(&[0x00]), None);
        assert_eq!(BasicHeader::parse(&[0x01, 0x00]), None);
    }
}
