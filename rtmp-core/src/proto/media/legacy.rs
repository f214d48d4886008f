//! Enhanced-RTMP tags in the form a legacy player reads (one that announced no `fourCcList` in
//! its `connect`: ffmpeg before 6.1, librtmp/rtmpdump, GStreamer's `flvdemux`, old players).
//!
//! The rule: H.264 (`avc1`) and AAC (`mp4a`) have a legacy form, FLV codec id 7
//! (`FrameType|7, AVCPacketType, SI24 CompositionTime`) and SoundFormat 10 (`0xAF,
//! AACPacketType`), followed by the same codec bytes (avcC / NAL units, AudioSpecificConfig /
//! raw frames); track 0 is the only track such a player knows, so a multitrack tag gives its track
//! 0 and a tag without one is dropped; what has no legacy form at all (video Metadata, MPEG-2 TS
//! sequence starts, enhanced command frames, audio SequenceEnd and MultichannelConfig of AAC) is
//! dropped rather than passed on as bytes the player would misread. Codecs with no legacy form
//! (HEVC, AV1, VP9, Opus, FLAC, …) keep their enhanced form, single-track; a legacy tag is left as
//! it is. The ModEx nanosecond offset has no legacy field and is left out.

use bytes::{BufMut, Bytes, BytesMut};

use super::{AudioCodec, AudioPacketType, AudioTag, VideoCodec, VideoFrameType, VideoPacketType, VideoTag};

/// What a tag becomes for a legacy player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyForm {
    /// Sent as it is: already legacy, or one track of a codec that has no legacy form.
    Unchanged,
    /// Sent as these bytes instead.
    Converted(Bytes),
    /// Not sent: another track than 0, or a packet with no legacy meaning.
    Dropped,
}

/// The legacy FLV codec id of H.264.
const AVC_CODEC_ID: u8 = 7;
/// The legacy audio flags byte of AAC: SoundFormat 10, and the rate, size and channel bits FLV
/// requires for AAC (44 kHz, 16 bit, stereo; the real values are in the AudioSpecificConfig).
const AAC_FLAGS: u8 = 0xaf;

/// Whether a video payload may need converting: the IsExHeader bit. Legacy payloads are
/// [`LegacyForm::Unchanged`] without being parsed.
#[inline]
pub fn is_enhanced_video(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x80 != 0)
}

/// Whether an audio payload may need converting: SoundFormat 9 (ExHeader).
#[inline]
pub fn is_enhanced_audio(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b >> 4 == 9)
}

/// The legacy form of a video message payload. A payload that does not parse is passed on as
/// it is (the server relays what it cannot read byte for byte).
pub fn legacy_video(payload: &Bytes) -> LegacyForm {
    if !is_enhanced_video(payload) {
        return LegacyForm::Unchanged;
    }
    VideoTag::parse(payload).map_or(LegacyForm::Unchanged, |tag| tag.to_legacy())
}

/// The legacy form of an audio message payload; see [`legacy_video`].
pub fn legacy_audio(payload: &Bytes) -> LegacyForm {
    if !is_enhanced_audio(payload) {
        return LegacyForm::Unchanged;
    }
    AudioTag::parse(payload).map_or(LegacyForm::Unchanged, |tag| tag.to_legacy())
}

fn frame_type_bits(frame_type: VideoFrameType) -> u8 {
    match frame_type {
        VideoFrameType::Key => 1,
        VideoFrameType::Inter => 2,
        VideoFrameType::Disposable => 3,
        VideoFrameType::GeneratedKey => 4,
        VideoFrameType::Command => 5,
        VideoFrameType::Reserved(bits) => bits & 0x0f,
    }
}

fn concat(header: &[u8], body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(header.len() + body.len());
    out.put_slice(header);
    out.put_slice(body);
    out.freeze()
}

impl VideoTag {
    /// This tag as a legacy player reads it ([`LegacyForm`]): Enhanced-RTMP H.264 and AAC become
    /// codec id 7 and sound format 10, track 0 only; codecs with no legacy form stay as they are.
    pub fn to_legacy(&self) -> LegacyForm {
        if !self.is_enhanced() {
            return LegacyForm::Unchanged;
        }
        if self.command().is_some() {
            // An enhanced command frame names no codec: nothing a legacy player could read.
            return LegacyForm::Dropped;
        }
        let multitrack = self.is_multitrack();
        let track = if multitrack {
            match self.tracks().find(|t| t.track_id == 0) {
                Some(track) => track,
                None => return LegacyForm::Dropped,
            }
        } else {
            self.first_track().clone()
        };
        let frame_type = frame_type_bits(self.frame_type());
        let packet_type = self.packet_type();
        if track.codec == VideoCodec::Avc {
            let avc_packet_type = match packet_type {
                VideoPacketType::SequenceStart => 0,
                VideoPacketType::CodedFrames => 1,
                VideoPacketType::SequenceEnd => 2,
                _ => return LegacyForm::Dropped,
            };
            let [_, c0, c1, c2] = track.composition_time.to_be_bytes();
            let header = [(frame_type << 4) | AVC_CODEC_ID, avc_packet_type, c0, c1, c2];
            return LegacyForm::Converted(concat(&header, &track.body));
        }
        if !multitrack {
            return LegacyForm::Unchanged;
        }
        // No legacy form: track 0 alone, as a single-track enhanced tag.
        let Some(fourcc) = track.codec.fourcc() else { return LegacyForm::Dropped };
        let (ex_packet_type, composition_time) = match packet_type {
            VideoPacketType::SequenceStart => (0, false),
            VideoPacketType::CodedFrames => (1, track.codec.has_composition_time()),
            VideoPacketType::SequenceEnd => (2, false),
            VideoPacketType::Metadata => (4, false),
            VideoPacketType::Mpeg2TsSequenceStart => (5, false),
            VideoPacketType::Command(_) => return LegacyForm::Dropped,
        };
        let mut header = Vec::with_capacity(8);
        header.push(0x80 | ((frame_type & 0x07) << 4) | ex_packet_type);
        header.extend_from_slice(&fourcc.to_bytes());
        if composition_time {
            header.extend_from_slice(&track.composition_time.to_be_bytes()[1..]);
        }
        LegacyForm::Converted(concat(&header, &track.body))
    }
}

impl AudioTag {
    /// This tag as a legacy player reads it ([`LegacyForm`]): Enhanced-RTMP H.264 and AAC become
    /// codec id 7 and sound format 10, track 0 only; codecs with no legacy form stay as they are.
    pub fn to_legacy(&self) -> LegacyForm {
        if !self.is_enhanced() {
            return LegacyForm::Unchanged;
        }
        let multitrack = self.is_multitrack();
        let track = if multitrack {
            match self.tracks().find(|t| t.track_id == 0) {
                Some(track) => track,
                None => return LegacyForm::Dropped,
            }
        } else {
            self.first_track().clone()
        };
        let packet_type = self.packet_type();
        if track.codec == AudioCodec::Aac {
            let aac_packet_type = match packet_type {
                AudioPacketType::SequenceStart => 0,
                AudioPacketType::CodedFrames => 1,
                _ => return LegacyForm::Dropped,
            };
            return LegacyForm::Converted(concat(&[AAC_FLAGS, aac_packet_type], &track.body));
        }
        if !multitrack {
            return LegacyForm::Unchanged;
        }
        let Some(fourcc) = track.codec.fourcc() else { return LegacyForm::Dropped };
        let ex_packet_type = match packet_type {
            AudioPacketType::SequenceStart => 0,
            AudioPacketType::CodedFrames => 1,
            AudioPacketType::SequenceEnd => 2,
            AudioPacketType::MultichannelConfig => 4,
            AudioPacketType::Silence => return LegacyForm::Dropped,
        };
        let mut header = [0x90 | ex_packet_type, 0, 0, 0, 0];
        header[1..].copy_from_slice(&fourcc.to_bytes());
        LegacyForm::Converted(concat(&header, &track.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::tests::hex;

    fn video(hex_text: &str) -> LegacyForm {
        legacy_video(&hex(hex_text))
    }

    fn audio(hex_text: &str) -> LegacyForm {
        legacy_audio(&hex(hex_text))
    }

    fn converted(hex_text: &str) -> LegacyForm {
        LegacyForm::Converted(hex(hex_text))
    }

    #[test]
    fn avc1_becomes_codec_id_7_with_the_same_bytes() {
        // SequenceStart (OBS: keyframe | 0), avc1, avcC.
        assert_eq!(video("90 61 76 63 31 01 42 c0 0d ff e1"), converted("17 00 00 00 00 01 42 c0 0d ff e1"));
        // CodedFrames with an SI24 CTS of 67 ms, keyframe.
        assert_eq!(
            video("91 61 76 63 31 00 00 43 00 00 00 02 09 f0"),
            converted("17 01 00 00 43 00 00 00 02 09 f0")
        );
        // A negative CTS stays negative.
        assert_eq!(video("a1 61 76 63 31 ff ff fe aa"), converted("27 01 ff ff fe aa"));
        // CodedFramesX: no CTS in the tag, 0 in the legacy one; inter and disposable frames.
        assert_eq!(video("a3 61 76 63 31 00 00 00 01 41"), converted("27 01 00 00 00 00 00 00 01 41"));
        assert_eq!(video("b3 61 76 63 31 bb"), converted("37 01 00 00 00 bb"));
        // SequenceEnd.
        assert_eq!(video("92 61 76 63 31"), converted("17 02 00 00 00"));
        // With a ModEx nanosecond offset first: the offset has no legacy field.
        assert_eq!(video("97 02 00 00 2a 03 61 76 63 31 cc"), converted("17 01 00 00 00 cc"));
    }

    #[test]
    fn avc1_packets_with_no_legacy_meaning_are_dropped() {
        // Metadata (colorInfo) and an MPEG-2 TS sequence start.
        assert_eq!(video("94 61 76 63 31 02 00 09 63 6f 6c 6f 72 49 6e 66 6f"), LegacyForm::Dropped);
        assert_eq!(video("95 61 76 63 31 02"), LegacyForm::Dropped);
        // An enhanced command frame.
        assert_eq!(video("d0 01"), LegacyForm::Dropped);
    }

    #[test]
    fn multitrack_gives_track_0_only() {
        // OneTrack | CodedFramesX, avc1, track 0.
        assert_eq!(
            video("96 03 61 76 63 31 00 00 00 00 02 09 f0"),
            converted("17 01 00 00 00 00 00 00 02 09 f0")
        );
        // OneTrack track 1 (OBS's second rendition): dropped.
        assert_eq!(video("96 03 61 76 63 31 01 00 00 00 02 09 f0"), LegacyForm::Dropped);
        // ManyTracks | CodedFrames, avc1: track 1 (CTS 2, 1 byte) then track 0 (CTS 1, 2 bytes).
        assert_eq!(
            video("a6 11 61 76 63 31 01 00 00 04 00 00 02 dd 00 00 00 05 00 00 01 aa bb"),
            converted("27 01 00 00 01 aa bb")
        );
        // ManyTracksManyCodecs | SequenceStart: [hvc1 track 0] [avc1 track 1]: track 0 is HEVC,
        // which keeps its enhanced form, single-track.
        assert_eq!(
            video("96 20 68 76 63 31 00 00 00 02 01 02 61 76 63 31 01 00 00 01 09"),
            converted("90 68 76 63 31 01 02")
        );
        // hvc1 CodedFrames in ManyTracks: the CTS is kept; av01 has none.
        assert_eq!(
            video("96 11 68 76 63 31 00 00 00 04 00 00 05 ee"),
            converted("91 68 76 63 31 00 00 05 ee")
        );
        assert_eq!(video("a6 01 61 76 30 31 00 ee"), converted("a1 61 76 30 31 ee"));
    }

    #[test]
    fn codecs_without_a_legacy_form_and_legacy_tags_are_unchanged() {
        assert_eq!(video("91 68 76 63 31 00 00 00 aa"), LegacyForm::Unchanged);
        assert_eq!(video("90 61 76 30 31 81"), LegacyForm::Unchanged);
        assert_eq!(video("94 68 76 63 31 02"), LegacyForm::Unchanged);
        assert_eq!(video("17 01 00 00 00 00 00 00 01 65"), LegacyForm::Unchanged);
        assert_eq!(video("1c 00 00 00 00"), LegacyForm::Unchanged);
        // Unparsable: relayed as it is.
        assert_eq!(video("9c 61 76"), LegacyForm::Unchanged);
        assert_eq!(video(""), LegacyForm::Unchanged);
    }

    #[test]
    fn mp4a_becomes_sound_format_10_with_the_same_bytes() {
        assert_eq!(audio("90 6d 70 34 61 12 10"), converted("af 00 12 10"));
        assert_eq!(audio("91 6d 70 34 61 21 10 04"), converted("af 01 21 10 04"));
        assert_eq!(audio("97 02 00 03 e8 01 6d 70 34 61 21"), converted("af 01 21"));
        // SequenceEnd and MultichannelConfig have no AAC legacy form.
        assert_eq!(audio("92 6d 70 34 61"), LegacyForm::Dropped);
        assert_eq!(audio("94 6d 70 34 61 01 02 00 00 00 03"), LegacyForm::Dropped);
    }

    #[test]
    fn audio_multitrack_gives_track_0_only() {
        assert_eq!(audio("95 01 6d 70 34 61 00 21 10 04"), converted("af 01 21 10 04"));
        assert_eq!(audio("95 01 6d 70 34 61 01 21 10 04"), LegacyForm::Dropped);
        assert_eq!(audio("95 00 6d 70 34 61 01 12 10"), LegacyForm::Dropped);
        // ManyTracks of Opus: track 0 alone, enhanced.
        assert_eq!(
            audio("95 11 4f 70 75 73 00 00 00 02 aa bb 01 00 00 01 cc"),
            converted("91 4f 70 75 73 aa bb")
        );
        // ManyTracksManyCodecs: [Opus track 1] [mp4a track 0].
        assert_eq!(
            audio("95 21 4f 70 75 73 01 00 00 01 aa 6d 70 34 61 00 00 00 02 21 00"),
            converted("af 01 21 00")
        );
    }

    #[test]
    fn other_audio_is_unchanged() {
        assert_eq!(audio("91 4f 70 75 73 fc 7e 02"), LegacyForm::Unchanged);
        assert_eq!(audio("af 01 21 4c"), LegacyForm::Unchanged);
        assert_eq!(audio("2f ff fb 90 64"), LegacyForm::Unchanged);
        assert_eq!(audio(""), LegacyForm::Unchanged);
        assert_eq!(audio("93 6d 70 34 61"), LegacyForm::Unchanged, "unparsable");
    }
}
