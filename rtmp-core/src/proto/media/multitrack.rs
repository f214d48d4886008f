//! Enhanced-RTMP v2 multitrack framing, shared by audio and video.
//!
//! After the packet type byte: `UB4 AvMultitrackType | UB4 PacketType`, a FourCC unless the
//! type is ManyTracksManyCodecs, then per track `[FourCC if ManyTracksManyCodecs] trackId UI8
//! [UI24 size unless OneTrack] body`. The per-track FourCC comes *before* the track id, as in
//! the v2 specification's ExVideoTagBody/ExAudioTagBody pseudocode and in FFmpeg's
//! `flv_read_packet`.

use bytes::Bytes;

use super::{FourCc, MediaError, reader::PayloadReader};

/// How a multitrack tag lays out its tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MultitrackType {
    /// One track with an explicit track id; its body runs to the end of the message.
    OneTrack,
    /// Several tracks of one codec, each with a UI24 size.
    ManyTracks,
    /// Several tracks, each with its own FourCC and a UI24 size.
    ManyTracksManyCodecs,
}

impl MultitrackType {
    /// The type for the high nibble of the multitrack byte; 3..=15 are reserved.
    pub fn from_bits(bits: u8) -> Result<Self, MediaError> {
        match bits {
            0 => Ok(Self::OneTrack),
            1 => Ok(Self::ManyTracks),
            2 => Ok(Self::ManyTracksManyCodecs),
            other => Err(MediaError::UnknownMultitrackType(other)),
        }
    }
}

/// Where a validated multitrack tag's tracks start and what they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrackLayout {
    pub(super) kind: MultitrackType,
    /// The FourCC shared by all tracks (absent for ManyTracksManyCodecs).
    pub(super) shared_fourcc: Option<FourCc>,
    /// Offset in the payload of the first track header.
    pub(super) first_track: usize,
}

/// One track as framed on the wire, before codec-specific headers (CTS) are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawTrack {
    pub(super) fourcc: FourCc,
    pub(super) track_id: u8,
    pub(super) data: Bytes,
}

/// Reads the track headers of a multitrack payload one by one.
#[derive(Debug, Clone)]
pub(super) struct TrackWalker<'a> {
    reader: PayloadReader<'a>,
    layout: TrackLayout,
    done: bool,
}

impl<'a> TrackWalker<'a> {
    pub(super) fn new(payload: &'a Bytes, layout: TrackLayout) -> Self {
        Self { reader: PayloadReader::at(payload, layout.first_track), layout, done: false }
    }

    /// The next track, `None` after the last one.
    pub(super) fn next_track(&mut self) -> Result<Option<RawTrack>, MediaError> {
        if self.done || (self.layout.kind != MultitrackType::OneTrack && self.reader.is_empty()) {
            self.done = true;
            return Ok(None);
        }
        let fourcc = match self.layout.shared_fourcc {
            Some(shared) => shared,
            None => self.reader.fourcc()?,
        };
        let track_id = self.reader.u8()?;
        let data = if self.layout.kind == MultitrackType::OneTrack {
            self.done = true;
            self.reader.rest_bytes()
        } else {
            let declared = self.reader.u24()?;
            let available = self.reader.remaining();
            let size =
                usize::try_from(declared).map_err(|_| MediaError::TrackOverrun { declared, available })?;
            if size > available {
                return Err(MediaError::TrackOverrun { declared, available });
            }
            self.reader.take_bytes(size)?
        };
        Ok(Some(RawTrack { fourcc, track_id, data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(
        bytes: &'static [u8],
        kind: MultitrackType,
        shared: Option<FourCc>,
    ) -> Result<Vec<RawTrack>, MediaError> {
        let payload = Bytes::from_static(bytes);
        let mut walker =
            TrackWalker::new(&payload, TrackLayout { kind, shared_fourcc: shared, first_track: 0 });
        let mut tracks = Vec::new();
        while let Some(track) = walker.next_track()? {
            tracks.push(track);
        }
        Ok(tracks)
    }

    #[test]
    fn one_track_runs_to_the_end() {
        let tracks = walk(b"\x01abc", MultitrackType::OneTrack, Some(FourCc::AVC1)).unwrap();
        assert_eq!(
            tracks,
            vec![RawTrack { fourcc: FourCc::AVC1, track_id: 1, data: Bytes::from_static(b"abc") }]
        );
        // An empty body is still one track.
        assert_eq!(walk(b"\x02", MultitrackType::OneTrack, Some(FourCc::AVC1)).unwrap().len(), 1);
        assert_eq!(walk(b"", MultitrackType::OneTrack, Some(FourCc::AVC1)), Err(MediaError::Truncated));
    }

    #[test]
    fn many_tracks_are_sized() {
        let tracks =
            walk(b"\x00\x00\x00\x02ab\x01\x00\x00\x00", MultitrackType::ManyTracks, Some(FourCc::HVC1))
                .unwrap();
        assert_eq!(tracks.len(), 2);
        assert_eq!((tracks[0].track_id, &tracks[0].data[..]), (0, &b"ab"[..]));
        assert_eq!((tracks[1].track_id, tracks[1].data.len()), (1, 0));
        assert_eq!(
            walk(b"\x00\x00\x00\x05ab", MultitrackType::ManyTracks, Some(FourCc::HVC1)),
            Err(MediaError::TrackOverrun { declared: 5, available: 2 })
        );
        assert_eq!(
            walk(b"\x00\x00", MultitrackType::ManyTracks, Some(FourCc::HVC1)),
            Err(MediaError::Truncated)
        );
    }

    #[test]
    fn many_codecs_put_the_fourcc_before_the_track_id() {
        let tracks =
            walk(b"av01\x00\x00\x00\x01xhvc1\x01\x00\x00\x01y", MultitrackType::ManyTracksManyCodecs, None)
                .unwrap();
        assert_eq!(tracks[0].fourcc, FourCc::AV01);
        assert_eq!(tracks[1].fourcc, FourCc::HVC1);
        assert_eq!(tracks[1].track_id, 1);
        assert_eq!(&tracks[1].data[..], b"y");
        assert_eq!(MultitrackType::from_bits(3), Err(MediaError::UnknownMultitrackType(3)));
    }
}
