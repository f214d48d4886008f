//! Annex-B byte streams (H.264/H.265 NAL units behind `00 00 01` start codes), which some
//! encoders send in place of an avcC/hvcC record.

/// Whether `data` starts with a three- or four-byte start code.
pub(super) fn is_annex_b(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// The first NAL unit (header included) whose first header byte satisfies `wanted`.
pub(super) fn find_nal(stream: &[u8], wanted: impl Fn(u8) -> bool) -> Option<&[u8]> {
    let mut rest = stream;
    while let Some(start) = rest.windows(3).position(|w| w == [0, 0, 1]) {
        let nal_start = rest.get(start + 3..)?;
        let end =
            nal_start.windows(3).position(|w| w == [0, 0, 1] || w == [0, 0, 0]).unwrap_or(nal_start.len());
        let nal = nal_start.get(..end)?;
        if nal.first().is_some_and(|&header| wanted(header)) {
            return Some(nal);
        }
        rest = nal_start.get(end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nal_units_between_start_codes() {
        let stream = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce];
        assert!(is_annex_b(&stream));
        assert_eq!(find_nal(&stream, |h| h & 0x1f == 7), Some(&[0x67, 0x42][..]));
        assert_eq!(find_nal(&stream, |h| h & 0x1f == 8), Some(&[0x68, 0xce][..]));
        assert_eq!(find_nal(&stream, |h| h & 0x1f == 5), None);
        assert_eq!(find_nal(&[0, 0, 1], |_| true), None);
        assert!(!is_annex_b(&[1, 0x64]));
    }
}
