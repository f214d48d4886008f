//! An MSB-first bit reader with Exp-Golomb (H.264/H.265) and `uvlc` (AV1) codes, optionally
//! dropping H.264/H.265 emulation-prevention bytes (`00 00 03`) on the fly, so parameter sets
//! are read in place without an RBSP copy.

use super::MediaError;

/// Reads bits most-significant first. Reading past the end fails with
/// [`MediaError::Truncated`].
#[derive(Debug, Clone)]
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the next byte to load.
    next: usize,
    /// The byte being read and how many of its bits are still unread.
    current: u8,
    bits_left: u8,
    /// Drop `03` after two zero bytes (NAL unit payloads).
    strip_emulation_prevention: bool,
    zero_run: u8,
}

impl<'a> BitReader<'a> {
    /// A reader over raw bits (AV1 OBUs, AudioSpecificConfig, STREAMINFO).
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data, next: 0, current: 0, bits_left: 0, strip_emulation_prevention: false, zero_run: 0 }
    }

    /// A reader over a NAL unit payload that skips emulation-prevention bytes.
    pub(super) fn new_nal(data: &'a [u8]) -> Self {
        Self { strip_emulation_prevention: true, ..Self::new(data) }
    }

    fn load_byte(&mut self) -> Result<u8, MediaError> {
        loop {
            let byte = *self.data.get(self.next).ok_or(MediaError::Truncated)?;
            self.next = self.next.saturating_add(1);
            if self.strip_emulation_prevention && self.zero_run >= 2 && byte == 0x03 {
                self.zero_run = 0;
                continue;
            }
            self.zero_run = if byte == 0 { self.zero_run.saturating_add(1) } else { 0 };
            return Ok(byte);
        }
    }

    pub(super) fn bit(&mut self) -> Result<bool, MediaError> {
        if self.bits_left == 0 {
            self.current = self.load_byte()?;
            self.bits_left = 8;
        }
        self.bits_left -= 1;
        Ok((self.current >> self.bits_left) & 1 == 1)
    }

    /// `n` bits (at most 64) as an unsigned integer.
    pub(super) fn bits(&mut self, n: u32) -> Result<u64, MediaError> {
        if n > 64 {
            return Err(MediaError::InvalidConfig("bit field wider than 64 bits"));
        }
        let mut value = 0u64;
        for _ in 0..n {
            value = (value << 1) | u64::from(self.bit()?);
        }
        Ok(value)
    }

    /// `n` bits (at most 32) as a `u32`.
    pub(super) fn bits_u32(&mut self, n: u32) -> Result<u32, MediaError> {
        if n > 32 {
            return Err(MediaError::InvalidConfig("bit field wider than 32 bits"));
        }
        u32::try_from(self.bits(n)?).map_err(|_| MediaError::InvalidConfig("bit field overflow"))
    }

    /// `n` bits (at most 8) as a `u8`.
    pub(super) fn bits_u8(&mut self, n: u32) -> Result<u8, MediaError> {
        if n > 8 {
            return Err(MediaError::InvalidConfig("bit field wider than 8 bits"));
        }
        u8::try_from(self.bits(n)?).map_err(|_| MediaError::InvalidConfig("bit field overflow"))
    }

    pub(super) fn skip(&mut self, n: u32) -> Result<(), MediaError> {
        for _ in 0..n {
            self.bit()?;
        }
        Ok(())
    }

    /// Leading zero bits before the next one bit, which is consumed; more than `max` zeros is
    /// an error.
    fn leading_zeros(&mut self, max: u32) -> Result<u32, MediaError> {
        let mut zeros = 0u32;
        while !self.bit()? {
            zeros += 1;
            if zeros > max {
                return Err(MediaError::ExpGolombTooLong);
            }
        }
        Ok(zeros)
    }

    /// Unsigned Exp-Golomb code `ue(v)`; codes with more than 31 leading zeros are refused.
    pub(super) fn ue(&mut self) -> Result<u32, MediaError> {
        let zeros = self.leading_zeros(31)?;
        let suffix = self.bits(zeros)?;
        // zeros <= 31: (2^zeros - 1) + suffix <= 2^32 - 2.
        let value = (1u64 << zeros) - 1 + suffix;
        u32::try_from(value).map_err(|_| MediaError::ExpGolombTooLong)
    }

    /// Signed Exp-Golomb code `se(v)`.
    pub(super) fn se(&mut self) -> Result<i32, MediaError> {
        let code = i64::from(self.ue()?);
        let value = if code % 2 == 1 { (code + 1) / 2 } else { -(code / 2) };
        i32::try_from(value).map_err(|_| MediaError::ExpGolombTooLong)
    }

    /// AV1 `uvlc()`: like `ue(v)`, but 32 or more leading zeros mean `u32::MAX` (AV1 §4.10.3).
    pub(super) fn uvlc(&mut self) -> Result<u32, MediaError> {
        let mut zeros = 0u32;
        while !self.bit()? {
            zeros = zeros.saturating_add(1);
        }
        if zeros >= 32 {
            return Ok(u32::MAX);
        }
        let value = (1u64 << zeros) - 1 + self.bits(zeros)?;
        u32::try_from(value).map_err(|_| MediaError::InvalidConfig("uvlc overflow"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_msb_first() {
        let mut r = BitReader::new(&[0b1011_0010, 0xff]);
        assert!(r.bit().unwrap());
        assert_eq!(r.bits(3).unwrap(), 0b011);
        assert_eq!(r.bits_u8(4).unwrap(), 0b0010);
        assert_eq!(r.bits_u32(8).unwrap(), 0xff);
        assert_eq!(r.bit(), Err(MediaError::Truncated));
    }

    #[test]
    fn exp_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 | 00110 => ue 0,1,2,3,4,5
        // bits: 1010 0110 0100 0010 1001 10xx
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0010, 0b1001_1000]);
        for expected in 0..6 {
            assert_eq!(r.ue().unwrap(), expected);
        }
        // se: codes 1,2,3,4 => +1,-1,+2,-2 (010, 011, 00100, 00101)
        let mut r = BitReader::new(&[0b0100_1100, 0b1000_0101]);
        assert_eq!(r.se().unwrap(), 1);
        assert_eq!(r.se().unwrap(), -1);
        assert_eq!(r.se().unwrap(), 2);
        assert_eq!(r.se().unwrap(), -2);
    }

    #[test]
    fn exp_golomb_limits() {
        // 31 leading zeros, the marker bit, then 31 one bits: the largest legal code, 2^32 - 2.
        let mut data = vec![0u8, 0, 0, 1];
        data.extend_from_slice(&[0xff; 4]);
        let mut r = BitReader::new(&data);
        assert_eq!(r.ue().unwrap(), u32::MAX - 1);
        // 32 leading zeros is refused, and so is a run of zeros to the end.
        let mut r = BitReader::new(&[0, 0, 0, 0, 0x80, 0, 0, 0, 0]);
        assert_eq!(r.ue(), Err(MediaError::ExpGolombTooLong));
        let mut r = BitReader::new(&[0, 0]);
        assert_eq!(r.ue(), Err(MediaError::Truncated));
        // Suffix cut short.
        let mut r = BitReader::new(&[0b0000_0001]);
        assert_eq!(r.ue(), Err(MediaError::Truncated));
        // se of the largest code stays in i32.
        let mut r = BitReader::new(&data);
        assert_eq!(r.se().unwrap(), -(i32::MAX));
    }

    #[test]
    fn strips_emulation_prevention_bytes() {
        let nal = [0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0xab];
        let mut r = BitReader::new_nal(&nal);
        assert_eq!(r.bits(32).unwrap(), 0x0000_0100);
        assert_eq!(r.bits(24).unwrap(), 0x00_00ab);
        let mut raw = BitReader::new(&nal);
        assert_eq!(raw.bits(32).unwrap(), 0x0000_0301);
    }

    #[test]
    fn uvlc_and_width_limits() {
        let mut r = BitReader::new(&[0b0010_1000]);
        assert_eq!(r.uvlc().unwrap(), 4);
        let mut r = BitReader::new(&[0, 0, 0, 0, 0x80]);
        assert_eq!(r.uvlc().unwrap(), u32::MAX);
        let mut r = BitReader::new(&[0xff; 16]);
        assert!(r.bits(65).is_err());
        assert!(r.bits_u32(33).is_err());
        assert!(r.bits_u8(9).is_err());
        assert!(r.skip(200).is_err());
    }
}
