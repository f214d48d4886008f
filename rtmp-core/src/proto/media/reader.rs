//! Bounds-checked big-endian byte readers: [`SliceReader`] over a borrowed slice, and
//! [`PayloadReader`], which hands out zero-copy [`Bytes`] slices of a message payload.

use bytes::Bytes;

use super::{FourCc, MediaError};

/// Reads big-endian integers from a byte slice; every read fails with
/// [`MediaError::Truncated`] instead of running past the end.
#[derive(Debug, Clone)]
pub(super) struct SliceReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> SliceReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub(super) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes, consumed.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], MediaError> {
        let end = self.pos.checked_add(n).ok_or(MediaError::Truncated)?;
        let slice = self.data.get(self.pos..end).ok_or(MediaError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// Everything not yet read, consumed.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        let slice = self.data.get(self.pos..).unwrap_or_default();
        self.pos = self.data.len();
        slice
    }

    pub(super) fn skip(&mut self, n: usize) -> Result<(), MediaError> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MediaError> {
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| MediaError::Truncated)
    }

    pub(super) fn u8(&mut self) -> Result<u8, MediaError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub(super) fn u16(&mut self) -> Result<u16, MediaError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(super) fn u24(&mut self) -> Result<u32, MediaError> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A signed 24-bit integer (FLV `SI24`), sign-extended.
    pub(super) fn i24(&mut self) -> Result<i32, MediaError> {
        let raw = self.u24()?;
        // Shift the 24-bit value into the top of an i32, then arithmetic-shift it back.
        Ok(((raw << 8) as i32) >> 8)
    }

    pub(super) fn u32(&mut self) -> Result<u32, MediaError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(super) fn fourcc(&mut self) -> Result<FourCc, MediaError> {
        Ok(FourCc::from_bytes(self.array()?))
    }
}

/// A [`SliceReader`] over a message payload that can also return what it consumed as
/// [`Bytes`] slices sharing the payload's buffer.
#[derive(Debug, Clone)]
pub(super) struct PayloadReader<'a> {
    payload: &'a Bytes,
    reader: SliceReader<'a>,
}

impl<'a> PayloadReader<'a> {
    pub(super) fn new(payload: &'a Bytes) -> Self {
        Self { payload, reader: SliceReader::new(payload) }
    }

    /// A reader positioned at `pos` (clamped to the end of the payload).
    pub(super) fn at(payload: &'a Bytes, pos: usize) -> Self {
        let mut reader = SliceReader::new(payload);
        reader.pos = pos.min(payload.len());
        Self { payload, reader }
    }

    pub(super) fn position(&self) -> usize {
        self.reader.position()
    }

    pub(super) fn remaining(&self) -> usize {
        self.reader.remaining()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.reader.is_empty()
    }

    /// The next `n` bytes as a zero-copy slice of the payload.
    pub(super) fn take_bytes(&mut self, n: usize) -> Result<Bytes, MediaError> {
        let start = self.reader.position();
        self.reader.skip(n)?;
        Ok(self.payload.slice(start..self.reader.position()))
    }

    /// The rest of the payload as a zero-copy slice.
    pub(super) fn rest_bytes(&mut self) -> Bytes {
        let start = self.reader.position();
        self.reader.rest();
        self.payload.slice(start..)
    }

    pub(super) fn u8(&mut self) -> Result<u8, MediaError> {
        self.reader.u8()
    }

    pub(super) fn u16(&mut self) -> Result<u16, MediaError> {
        self.reader.u16()
    }

    pub(super) fn u24(&mut self) -> Result<u32, MediaError> {
        self.reader.u24()
    }

    pub(super) fn i24(&mut self) -> Result<i32, MediaError> {
        self.reader.i24()
    }

    pub(super) fn u32(&mut self) -> Result<u32, MediaError> {
        self.reader.u32()
    }

    pub(super) fn fourcc(&mut self) -> Result<FourCc, MediaError> {
        self.reader.fourcc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_sign_extends_si24() {
        let data = [0x01, 0x02, 0x03, 0xff, 0xff, 0xfe, 0x7f, 0xff, 0xff, 0x80, 0x00, 0x00];
        let mut r = SliceReader::new(&data);
        assert_eq!(r.u24().unwrap(), 0x010203);
        assert_eq!(r.i24().unwrap(), -2);
        assert_eq!(r.i24().unwrap(), 0x7f_ffff);
        assert_eq!(r.i24().unwrap(), -0x80_0000);
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(MediaError::Truncated));
    }

    #[test]
    fn take_past_end_fails_without_consuming() {
        let data = [1, 2, 3];
        let mut r = SliceReader::new(&data);
        assert_eq!(r.take(4), Err(MediaError::Truncated));
        assert_eq!(r.take(usize::MAX), Err(MediaError::Truncated));
        assert_eq!(r.position(), 0);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.rest(), &[3]);
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn payload_reader_slices_share_the_buffer() {
        let payload = Bytes::from_static(b"abcdef");
        let mut r = PayloadReader::new(&payload);
        let ab = r.take_bytes(2).unwrap();
        assert_eq!(&ab[..], b"ab");
        assert_eq!(ab.as_ptr(), payload.as_ptr());
        let rest = r.rest_bytes();
        assert_eq!(&rest[..], b"cdef");
        assert!(r.is_empty());
        let r = PayloadReader::at(&payload, 100);
        assert_eq!(r.remaining(), 0);
    }
}
