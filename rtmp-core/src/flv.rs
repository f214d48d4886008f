//! FLV files: read tags to publish them, write played tags to a file that ffmpeg decodes.

use std::io::{self, Read, Write};

use bytes::Bytes;

/// One FLV tag: a message as RTMP carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    /// 8 audio, 9 video, 18 script data.
    pub tag_type: u8,
    /// Timestamp in milliseconds (the 24 + 8 bit FLV field).
    pub timestamp: u32,
    /// The tag body (an RTMP message payload).
    pub data: Bytes,
}

/// Reads tags from an FLV file.
#[derive(Debug)]
pub struct FlvReader<R> {
    reader: R,
    has_audio: bool,
    has_video: bool,
}

impl<R: Read> FlvReader<R> {
    /// Reads and checks the file header.
    pub fn new(mut reader: R) -> io::Result<Self> {
        let mut header = [0u8; 9];
        reader.read_exact(&mut header)?;
        if &header[..3] != b"FLV" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not an FLV file"));
        }
        let offset = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) as usize;
        // Skip the rest of the header (if any) and the first back pointer.
        io::copy(&mut (&mut reader).take((offset.saturating_sub(9) + 4) as u64), &mut io::sink())?;
        Ok(Self { reader, has_audio: header[4] & 4 != 0, has_video: header[4] & 1 != 0 })
    }

    /// Whether the header announces audio.
    pub fn has_audio(&self) -> bool {
        self.has_audio
    }

    /// Whether the header announces video.
    pub fn has_video(&self) -> bool {
        self.has_video
    }

    /// The next tag, or `None` at the end of the file.
    pub fn next_tag(&mut self) -> io::Result<Option<FlvTag>> {
        let mut header = [0u8; 11];
        match self.reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let tag_type = header[0] & 0x1F;
        let size = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let timestamp = u32::from_be_bytes([header[7], header[4], header[5], header[6]]);
        // Grows with the bytes read, so a corrupt size in a short file allocates little.
        let mut data = Vec::new();
        (&mut self.reader).take(size as u64).read_to_end(&mut data)?;
        if data.len() < size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "FLV tag truncated"));
        }
        let mut back_pointer = [0u8; 4];
        // A file cut right after the last tag still reads.
        let _ = self.reader.read_exact(&mut back_pointer);
        Ok(Some(FlvTag { tag_type, timestamp, data: Bytes::from(data) }))
    }
}

/// Writes tags into an FLV file.
#[derive(Debug)]
pub struct FlvWriter<W> {
    writer: W,
}

impl<W: Write> FlvWriter<W> {
    /// Writes the file header.
    pub fn new(mut writer: W, has_audio: bool, has_video: bool) -> io::Result<Self> {
        let flags = (u8::from(has_audio) << 2) | u8::from(has_video);
        writer.write_all(&[b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0])?;
        Ok(Self { writer })
    }

    /// Appends one tag.
    pub fn write_tag(&mut self, tag: &FlvTag) -> io::Result<()> {
        let size = u32::try_from(tag.data.len())
            .ok()
            .filter(|s| *s <= 0xFF_FFFF)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "tag larger than 16 MiB"))?;
        let s = size.to_be_bytes();
        let t = tag.timestamp.to_be_bytes();
        self.writer.write_all(&[tag.tag_type, s[1], s[2], s[3], t[1], t[2], t[3], t[0], 0, 0, 0])?;
        self.writer.write_all(&tag.data)?;
        self.writer.write_all(&(size + 11).to_be_bytes())
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips() {
        let tags = [
            FlvTag { tag_type: 18, timestamp: 0, data: Bytes::from_static(b"\x02\x00\x0aonMetaData") },
            FlvTag { tag_type: 9, timestamp: 0x0123_4567, data: Bytes::from_static(&[0x17, 0, 0, 0, 0]) },
            FlvTag { tag_type: 8, timestamp: 23, data: Bytes::new() },
        ];
        let mut writer = FlvWriter::new(Vec::new(), true, true).unwrap();
        for tag in &tags {
            writer.write_tag(tag).unwrap();
        }
        let file = writer.into_inner().unwrap();
        let mut reader = FlvReader::new(&file[..]).unwrap();
        assert!(reader.has_audio() && reader.has_video());
        for tag in &tags {
            assert_eq!(reader.next_tag().unwrap().as_ref(), Some(tag));
        }
        assert_eq!(reader.next_tag().unwrap(), None);
    }

    #[test]
    fn rejects_non_flv() {
        let err = FlvReader::new(&b"GIF89a..."[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn huge_declared_size_in_a_short_file_is_truncation() {
        let mut file = vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];
        file.extend([9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        let err = FlvReader::new(&file[..]).unwrap().next_tag().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn truncated_tag_is_an_error() {
        let mut file = vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];
        file.extend([9, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert!(FlvReader::new(&file[..]).unwrap().next_tag().is_err());
    }
}
