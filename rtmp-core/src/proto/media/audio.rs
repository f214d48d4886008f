//! Audio tag view (RTMP message type 8): legacy FLV `AudioTagHeader` and the Enhanced-RTMP
//! `ExAudioTagHeader` (SoundFormat 9) with FourCC, ModEx and multitrack.

use bytes::Bytes;

use super::{
    AudioCodec, FourCc, MediaError, MultichannelConfig, MultitrackType,
    modex::{MOD_EX_PACKET_TYPE, read_mod_ex},
    multitrack::{TrackLayout, TrackWalker},
    reader::PayloadReader,
};

/// What an audio tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioPacketType {
    /// A codec configuration (legacy AAC sequence header, Enhanced SequenceStart).
    SequenceStart,
    /// Coded audio frames (any legacy non-AAC format is reported as this).
    CodedFrames,
    /// End of sequence (Enhanced only).
    SequenceEnd,
    /// A channel layout description (Enhanced only), see [`AudioTag::multichannel_config`].
    MultichannelConfig,
    /// The zero-length audio message, which signals silence.
    Silence,
}

/// One track of an audio tag. Single-track tags have exactly one, with track id 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTrack {
    /// The track id (0 unless the tag is multitrack).
    pub track_id: u8,
    /// The track's codec.
    pub codec: AudioCodec,
    /// The codec payload after all headers (AudioSpecificConfig, OpusHead, STREAMINFO for
    /// SequenceStart; frames for CodedFrames; the layout for MultichannelConfig).
    pub body: Bytes,
}

/// The SoundFormat value that switches to the Enhanced-RTMP ExHeader.
const EX_HEADER: u8 = 9;
/// Enhanced AudioPacketType for multitrack framing.
const MULTITRACK: u8 = 5;
/// Legacy SoundFormat for AAC, whose second byte is an AACPacketType.
const AAC: u8 = 10;

/// Multitrack details of a validated tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MultitrackInfo {
    layout: TrackLayout,
    track_count: usize,
}

/// A parsed audio tag: header fields plus zero-copy slices of the payload.
///
/// Parsing validates the whole message, including every track of a multitrack tag and any
/// MultichannelConfig body, so the accessors and [`tracks`](Self::tracks) cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTag {
    payload: Bytes,
    enhanced: bool,
    packet_type: AudioPacketType,
    nano_offset: u32,
    /// Legacy `Rate(2) Size(1) Type(1)` bits.
    legacy_flags: Option<u8>,
    multitrack: Option<MultitrackInfo>,
    first: AudioTrack,
}

fn ex_packet(bits: u8) -> Result<AudioPacketType, MediaError> {
    match bits {
        0 => Ok(AudioPacketType::SequenceStart),
        1 => Ok(AudioPacketType::CodedFrames),
        2 => Ok(AudioPacketType::SequenceEnd),
        4 => Ok(AudioPacketType::MultichannelConfig),
        other => Err(MediaError::UnknownAudioPacketType(other)),
    }
}

/// Builds an Enhanced track, checking a MultichannelConfig body.
fn ex_track(
    track_id: u8,
    fourcc: FourCc,
    body: Bytes,
    packet_type: AudioPacketType,
) -> Result<AudioTrack, MediaError> {
    if packet_type == AudioPacketType::MultichannelConfig {
        MultichannelConfig::parse(&body)?;
    }
    Ok(AudioTrack { track_id, codec: AudioCodec::from_fourcc(fourcc), body })
}

impl AudioTag {
    /// Parses an audio message payload. An empty payload is the legal "silence" message.
    /// Unknown FourCCs and reserved legacy SoundFormats are kept; reserved packet types,
    /// multitrack types and ModEx types, and anything truncated, are errors.
    pub fn parse(payload: &Bytes) -> Result<Self, MediaError> {
        let mut reader = PayloadReader::new(payload);
        let mut tag = Self {
            payload: payload.clone(),
            enhanced: false,
            packet_type: AudioPacketType::Silence,
            nano_offset: 0,
            legacy_flags: None,
            multitrack: None,
            first: AudioTrack { track_id: 0, codec: AudioCodec::Silence, body: Bytes::new() },
        };
        if reader.is_empty() {
            return Ok(tag);
        }
        let first_byte = reader.u8()?;
        let sound_format = first_byte >> 4;
        if sound_format != EX_HEADER {
            tag.legacy_flags = Some(first_byte & 0x0f);
            tag.first.codec = AudioCodec::from_sound_format(sound_format);
            tag.packet_type = if sound_format == AAC {
                match reader.u8()? {
                    0 => AudioPacketType::SequenceStart,
                    1 => AudioPacketType::CodedFrames,
                    other => return Err(MediaError::UnknownAacPacketType(other)),
                }
            } else {
                AudioPacketType::CodedFrames
            };
            tag.first.body = reader.rest_bytes();
            return Ok(tag);
        }

        tag.enhanced = true;
        let mod_ex = read_mod_ex(&mut reader, first_byte & 0x0f)?;
        tag.nano_offset = mod_ex.nano_offset;
        if mod_ex.packet_type == MULTITRACK {
            let types = reader.u8()?;
            let kind = MultitrackType::from_bits(types >> 4)?;
            let inner = types & 0x0f;
            if inner == MULTITRACK || inner == MOD_EX_PACKET_TYPE {
                return Err(MediaError::InvalidMultitrackPacketType(inner));
            }
            let packet_type = ex_packet(inner)?;
            let shared_fourcc = match kind {
                MultitrackType::ManyTracksManyCodecs => None,
                MultitrackType::OneTrack | MultitrackType::ManyTracks => Some(reader.fourcc()?),
            };
            let layout = TrackLayout { kind, shared_fourcc, first_track: reader.position() };
            let mut walker = TrackWalker::new(payload, layout);
            let mut first = None;
            let mut track_count = 0usize;
            while let Some(raw) = walker.next_track()? {
                let track = ex_track(raw.track_id, raw.fourcc, raw.data, packet_type)?;
                track_count += 1;
                first.get_or_insert(track);
            }
            tag.first = first.ok_or(MediaError::NoTracks)?;
            tag.packet_type = packet_type;
            tag.multitrack = Some(MultitrackInfo { layout, track_count });
        } else {
            let packet_type = ex_packet(mod_ex.packet_type)?;
            let fourcc = reader.fourcc()?;
            tag.first = ex_track(0, fourcc, reader.rest_bytes(), packet_type)?;
            tag.packet_type = packet_type;
        }
        Ok(tag)
    }

    /// The whole message payload this view was parsed from (for relaying byte-for-byte).
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The codec of the first (usually only) track; [`AudioCodec::Silence`] for an empty
    /// message.
    pub fn codec(&self) -> AudioCodec {
        self.first.codec
    }

    /// What the tag carries (for multitrack tags: what every track carries).
    pub fn packet_type(&self) -> AudioPacketType {
        self.packet_type
    }

    /// Whether the tag carries a codec configuration (AAC AudioSpecificConfig, OpusHead,
    /// FLAC STREAMINFO, …).
    pub fn is_sequence_header(&self) -> bool {
        self.packet_type == AudioPacketType::SequenceStart
    }

    /// Whether the tag signals the end of a sequence.
    pub fn is_sequence_end(&self) -> bool {
        self.packet_type == AudioPacketType::SequenceEnd
    }

    /// Whether this is the zero-length silence message.
    pub fn is_silence(&self) -> bool {
        self.packet_type == AudioPacketType::Silence
    }

    /// Whether the tag uses the Enhanced-RTMP ExHeader.
    pub fn is_enhanced(&self) -> bool {
        self.enhanced
    }

    /// The ModEx TimestampOffsetNano in nanoseconds, 0 if none.
    pub fn nano_offset(&self) -> u32 {
        self.nano_offset
    }

    /// The track id of the first track (0 unless the tag is multitrack).
    pub fn track_id(&self) -> u8 {
        self.first.track_id
    }

    /// Whether the tag uses Enhanced-RTMP multitrack framing.
    pub fn is_multitrack(&self) -> bool {
        self.multitrack.is_some()
    }

    /// The multitrack layout, if the tag is multitrack.
    pub fn multitrack_type(&self) -> Option<MultitrackType> {
        self.multitrack.map(|info| info.layout.kind)
    }

    /// How many tracks [`tracks`](Self::tracks) yields (1 for single-track tags).
    pub fn track_count(&self) -> usize {
        self.multitrack.map_or(1, |info| info.track_count)
    }

    /// The codec payload of the first track after all headers.
    pub fn body(&self) -> &Bytes {
        &self.first.body
    }

    /// The first (usually only) track.
    pub fn first_track(&self) -> &AudioTrack {
        &self.first
    }

    /// Every track in message order; single-track tags yield one entry.
    pub fn tracks(&self) -> AudioTracks<'_> {
        let state = match self.multitrack {
            None => TracksState::Single(Some(&self.first)),
            Some(info) => TracksState::Multi {
                walker: TrackWalker::new(&self.payload, info.layout),
                packet_type: self.packet_type,
            },
        };
        AudioTracks { state }
    }

    /// The channel layout of the first track of a MultichannelConfig tag.
    pub fn multichannel_config(&self) -> Option<MultichannelConfig> {
        if self.packet_type == AudioPacketType::MultichannelConfig {
            MultichannelConfig::parse(&self.first.body).ok()
        } else {
            None
        }
    }

    /// Legacy sound rate in Hz (5512, 11025, 22050 or 44100); `None` for Enhanced tags and
    /// silence. For AAC the real rate is in the AudioSpecificConfig.
    pub fn sound_rate(&self) -> Option<u32> {
        self.legacy_flags.map(|flags| match (flags >> 2) & 0x03 {
            0 => 5_512,
            1 => 11_025,
            2 => 22_050,
            _ => 44_100,
        })
    }

    /// Legacy bits per sample (8 or 16); `None` for Enhanced tags and silence.
    pub fn sound_size_bits(&self) -> Option<u8> {
        self.legacy_flags.map(|flags| if flags & 0x02 == 0 { 8 } else { 16 })
    }

    /// Legacy channel count (1 mono, 2 stereo); `None` for Enhanced tags and silence.
    pub fn sound_channels(&self) -> Option<u8> {
        self.legacy_flags.map(|flags| if flags & 0x01 == 0 { 1 } else { 2 })
    }
}

/// Iterator over the tracks of an [`AudioTag`], from [`AudioTag::tracks`].
#[derive(Debug, Clone)]
pub struct AudioTracks<'a> {
    state: TracksState<'a>,
}

#[derive(Debug, Clone)]
enum TracksState<'a> {
    Single(Option<&'a AudioTrack>),
    Multi { walker: TrackWalker<'a>, packet_type: AudioPacketType },
}

impl Iterator for AudioTracks<'_> {
    type Item = AudioTrack;

    fn next(&mut self) -> Option<AudioTrack> {
        match &mut self.state {
            TracksState::Single(track) => track.take().cloned(),
            // Validated when parsed: these reads succeed; an error would only end iteration.
            TracksState::Multi { walker, packet_type } => {
                let raw = walker.next_track().ok().flatten()?;
                ex_track(raw.track_id, raw.fourcc, raw.data, *packet_type).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::media::{
        AudioChannelOrder,
        tests::{FLAC_44K_SEQ, OPUS_48K_SEQ, hex},
    };

    fn parse(hex_text: &str) -> Result<AudioTag, MediaError> {
        AudioTag::parse(&hex(hex_text))
    }

    #[test]
    fn legacy_aac_sequence_headers() {
        for (text, config) in [("af 00 12 10", [0x12, 0x10]), ("af 00 11 90", [0x11, 0x90])] {
            let tag = parse(text).unwrap();
            assert!(!tag.is_enhanced());
            assert_eq!(tag.codec(), AudioCodec::Aac);
            assert!(tag.is_sequence_header());
            assert_eq!(&tag.body()[..], &config);
            assert_eq!(tag.sound_rate(), Some(44_100));
            assert_eq!(tag.sound_size_bits(), Some(16));
            assert_eq!(tag.sound_channels(), Some(2));
        }
        let raw = parse("af 01 21 4c").unwrap();
        assert_eq!(raw.packet_type(), AudioPacketType::CodedFrames);
        assert_eq!(&raw.body()[..], &[0x21, 0x4c]);
        assert_eq!(parse("af 02"), Err(MediaError::UnknownAacPacketType(2)));
        assert_eq!(parse("af"), Err(MediaError::Truncated));
    }

    #[test]
    fn legacy_formats_and_flags() {
        // ffmpeg MP3: 0x2f = MP3, 44 kHz, 16-bit, stereo.
        let mp3 = parse("2f ff fb 90 64").unwrap();
        assert_eq!(mp3.codec(), AudioCodec::Mp3);
        assert_eq!(mp3.packet_type(), AudioPacketType::CodedFrames);
        assert_eq!(mp3.body().len(), 4);
        // 0x72: G.711 A-law, 5.5 kHz, 16-bit, mono.
        let alaw = parse("72 00").unwrap();
        assert_eq!(alaw.codec(), AudioCodec::G711ALaw);
        assert_eq!(
            (alaw.sound_rate(), alaw.sound_size_bits(), alaw.sound_channels()),
            (Some(5_512), Some(16), Some(1))
        );
        let pcm = parse("05").unwrap();
        assert_eq!(pcm.codec(), AudioCodec::LinearPcm);
        assert_eq!((pcm.sound_rate(), pcm.sound_size_bits()), (Some(11_025), Some(8)));
        let table = [
            (0x1, AudioCodec::Adpcm),
            (0x3, AudioCodec::LinearPcmLittleEndian),
            (0x4, AudioCodec::Nellymoser16kMono),
            (0x5, AudioCodec::Nellymoser8kMono),
            (0x6, AudioCodec::Nellymoser),
            (0x8, AudioCodec::G711MuLaw),
            (0xb, AudioCodec::Speex),
            (0xc, AudioCodec::UnknownId(12)),
            (0xe, AudioCodec::Mp3At8kHz),
            (0xf, AudioCodec::DeviceSpecific),
        ];
        for (format, codec) in table {
            let tag = AudioTag::parse(&Bytes::from(vec![(format << 4) | 0x08, 0xaa])).unwrap();
            assert_eq!(tag.codec(), codec);
            assert_eq!(tag.sound_rate(), Some(22_050));
            assert_eq!(&tag.body()[..], &[0xaa]);
        }
    }

    #[test]
    fn zero_length_audio_is_silence() {
        let tag = parse("").unwrap();
        assert!(tag.is_silence());
        assert_eq!(tag.codec(), AudioCodec::Silence);
        assert_eq!(tag.packet_type(), AudioPacketType::Silence);
        assert!(tag.body().is_empty());
        assert_eq!(tag.sound_rate(), None);
        assert_eq!(tag.tracks().count(), 1);
    }

    #[test]
    fn enhanced_opus_from_ffmpeg() {
        let seq = AudioTag::parse(&Bytes::from_static(OPUS_48K_SEQ)).unwrap();
        assert!(seq.is_enhanced());
        assert_eq!(seq.codec(), AudioCodec::Opus);
        assert!(seq.is_sequence_header());
        assert_eq!(&seq.body()[..8], b"OpusHead");
        assert_eq!(seq.sound_rate(), None);
        let frames = parse("91 4f 70 75 73 fc 7e 02").unwrap();
        assert_eq!(frames.packet_type(), AudioPacketType::CodedFrames);
        assert_eq!(&frames.body()[..], &[0xfc, 0x7e, 0x02]);
        let flac = AudioTag::parse(&Bytes::from_static(FLAC_44K_SEQ)).unwrap();
        assert_eq!(flac.codec(), AudioCodec::Flac);
    }

    #[test]
    fn enhanced_other_codecs_and_packet_types() {
        assert_eq!(parse("90 61 63 2d 33").unwrap().codec(), AudioCodec::Ac3);
        assert_eq!(parse("91 65 63 2d 33 0b 77").unwrap().codec(), AudioCodec::Eac3);
        assert_eq!(parse("91 2e 6d 70 33 ff fb").unwrap().codec(), AudioCodec::Mp3);
        let aac = parse("90 6d 70 34 61 12 10").unwrap();
        assert_eq!(aac.codec(), AudioCodec::Aac);
        assert_eq!(&aac.body()[..], &[0x12, 0x10]);
        let end = parse("92 4f 70 75 73").unwrap();
        assert!(end.is_sequence_end());
        let unknown = parse("91 61 62 63 64 01").unwrap();
        assert_eq!(unknown.codec(), AudioCodec::Unknown(FourCc::from_bytes(*b"abcd")));
        for reserved in [3u8, 6, 8, 9, 12, 15] {
            let payload = Bytes::from(vec![0x90 | reserved, 0x4f, 0x70, 0x75, 0x73]);
            assert_eq!(AudioTag::parse(&payload), Err(MediaError::UnknownAudioPacketType(reserved)));
        }
        assert_eq!(parse("91 4f 70"), Err(MediaError::Truncated));
        assert_eq!(parse("90"), Err(MediaError::Truncated));
    }

    #[test]
    fn multichannel_config_packets() {
        // ffmpeg, AAC 5.1 and Opus stereo.
        let tag = parse("94 6d 70 34 61 01 06 00 00 00 3f").unwrap();
        assert_eq!(tag.packet_type(), AudioPacketType::MultichannelConfig);
        let config = tag.multichannel_config().unwrap();
        assert_eq!(
            (config.order, config.channel_count, config.channel_mask),
            (AudioChannelOrder::Native, 6, Some(0x3f))
        );
        let opus = parse("94 4f 70 75 73 01 02 00 00 00 03").unwrap();
        assert_eq!(opus.multichannel_config().unwrap().channel_mask, Some(3));
        let custom = parse("94 4f 70 75 73 02 03 00 01 03").unwrap();
        assert_eq!(custom.multichannel_config().unwrap().channel_mapping.as_deref(), Some(&[0, 1, 3][..]));
        assert_eq!(parse("94 4f 70 75 73 05 02"), Err(MediaError::UnknownChannelOrder(5)));
        assert_eq!(parse("94 4f 70 75 73 01 02 00"), Err(MediaError::Truncated));
        assert_eq!(parse("af 00 12 10").unwrap().multichannel_config(), None);
    }

    #[test]
    fn mod_ex_nano_offset() {
        let tag = parse("97 02 00 03 e8 01 4f 70 75 73 aa").unwrap();
        assert_eq!(tag.nano_offset(), 1_000);
        assert_eq!(tag.packet_type(), AudioPacketType::CodedFrames);
        assert_eq!(tag.codec(), AudioCodec::Opus);
        let mut long = vec![0x97, 0xff, 0x00, 0xff];
        long.extend_from_slice(&[0x0f, 0x42, 0x3f]);
        long.extend_from_slice(&[0u8; 253]);
        long.extend_from_slice(b"\x01fLaC\xff\xf8");
        let tag = AudioTag::parse(&Bytes::from(long)).unwrap();
        assert_eq!((tag.nano_offset(), tag.codec()), (999_999, AudioCodec::Flac));
        assert_eq!(&tag.body()[..], &[0xff, 0xf8]);
        assert_eq!(parse("97 02 00 00 01 71 4f 70 75 73"), Err(MediaError::UnknownModExType(7)));
    }

    #[test]
    fn obs_one_track_mp4a() {
        // 0x95 = ExHeader | Multitrack; 0x01 = OneTrack (high nibble 0) | CodedFrames (low 1).
        let tag = parse("95 01 6d 70 34 61 01 21 10 04").unwrap();
        assert_eq!(tag.multitrack_type(), Some(MultitrackType::OneTrack));
        assert_eq!(tag.packet_type(), AudioPacketType::CodedFrames);
        assert_eq!(tag.codec(), AudioCodec::Aac);
        assert_eq!(tag.track_id(), 1);
        assert_eq!(&tag.body()[..], &[0x21, 0x10, 0x04]);
        let seq = parse("95 00 6d 70 34 61 01 12 10").unwrap();
        assert!(seq.is_sequence_header());
        assert_eq!(seq.track_id(), 1);
    }

    #[test]
    fn many_tracks_and_many_codecs() {
        let tag = parse("95 11 4f 70 75 73 00 00 00 02 aa bb 01 00 00 01 cc").unwrap();
        assert_eq!(tag.track_count(), 2);
        let tracks: Vec<AudioTrack> = tag.tracks().collect();
        assert_eq!(
            tracks,
            vec![
                AudioTrack { track_id: 0, codec: AudioCodec::Opus, body: Bytes::from_static(&[0xaa, 0xbb]) },
                AudioTrack { track_id: 1, codec: AudioCodec::Opus, body: Bytes::from_static(&[0xcc]) },
            ]
        );
        let mixed = parse("95 20 4f 70 75 73 00 00 00 01 aa 6d 70 34 61 02 00 00 02 12 10").unwrap();
        let tracks: Vec<AudioTrack> = mixed.tracks().collect();
        assert_eq!((tracks[0].codec, tracks[0].track_id), (AudioCodec::Opus, 0));
        assert_eq!(
            (tracks[1].codec, tracks[1].track_id, &tracks[1].body[..]),
            (AudioCodec::Aac, 2, &[0x12, 0x10][..])
        );
        // MultichannelConfig inside ManyTracks is validated per track.
        let layouts = parse("95 14 4f 70 75 73 00 00 00 02 00 01 01 00 00 02 00 02").unwrap();
        assert_eq!(layouts.track_count(), 2);
        assert_eq!(parse("95 14 4f 70 75 73 00 00 00 02 09 01"), Err(MediaError::UnknownChannelOrder(9)));
    }

    #[test]
    fn multitrack_errors() {
        assert_eq!(parse("95 41 4f 70 75 73 00"), Err(MediaError::UnknownMultitrackType(4)));
        assert_eq!(parse("95 05 4f 70 75 73 00"), Err(MediaError::InvalidMultitrackPacketType(5)));
        assert_eq!(parse("95 07 4f 70 75 73 00"), Err(MediaError::InvalidMultitrackPacketType(7)));
        assert_eq!(parse("95 03 4f 70 75 73 00"), Err(MediaError::UnknownAudioPacketType(3)));
        assert_eq!(parse("95 11 4f 70 75 73"), Err(MediaError::NoTracks));
        assert_eq!(
            parse("95 11 4f 70 75 73 00 00 01 00 aa"),
            Err(MediaError::TrackOverrun { declared: 256, available: 1 })
        );
        assert_eq!(parse("95 20 4f 70"), Err(MediaError::Truncated));
    }
}
