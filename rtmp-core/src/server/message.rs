//! A publisher's message as the server carries it: classified once, when it is read, and that
//! class is what the handler's keyframe hook, the GOP cache, the fan-out and each player's drop
//! policy use (none of them parses the tag again).

use bytes::Bytes;

use crate::proto::chunk::encode_shared;
use crate::proto::media::{
    AudioTag, LegacyForm, VideoFrameType, VideoTag, is_enhanced_audio, is_enhanced_video, legacy_audio,
    legacy_video,
};
use crate::proto::message::{ConnectParams, type_id};
use crate::proto::session::csid;

/// What a published message is. Decided by [`MessageClass::video`] and [`MessageClass::audio`]
/// (the only places that look at a tag's frame type), or by the kind of data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageClass {
    /// `onMetaData`: never dropped; the cache keeps the latest.
    Metadata,
    /// Other data messages (text, cue points): dropped like audio, never cached.
    Data,
    /// An audio sequence header of `track`: never dropped; the cache keeps the latest per track.
    AudioHeader { track: u8 },
    /// Any other audio message.
    Audio,
    /// A video sequence header of `track`: never dropped; the cache keeps the latest per track.
    VideoHeader { track: u8 },
    /// An end-of-sequence tag or a command frame: never dropped, never cached.
    VideoControl,
    /// A coded keyframe of `track`. Track 0's start a new GOP in the cache.
    VideoKey { track: u8 },
    /// A video inter frame, or video whose tag does not parse (relayed byte for byte).
    VideoInter,
    /// A disposable video inter frame.
    VideoDisposable,
}

impl MessageClass {
    /// Classifies a video message; `None` is a tag that does not parse.
    pub(crate) fn video(tag: Option<&VideoTag>) -> Self {
        match tag {
            Some(tag) if tag.is_sequence_header() => Self::VideoHeader { track: tag.track_id() },
            // ffmpeg ends every H.264 stream with an end-of-sequence tag flagged as a keyframe.
            Some(tag) if tag.is_sequence_end() || tag.command().is_some() => Self::VideoControl,
            Some(tag) if tag.is_keyframe() => Self::VideoKey { track: tag.track_id() },
            Some(tag) if tag.frame_type() == VideoFrameType::Disposable => Self::VideoDisposable,
            _ => Self::VideoInter,
        }
    }

    /// Classifies an audio message; `None` is a tag that does not parse.
    pub(crate) fn audio(tag: Option<&AudioTag>) -> Self {
        match tag {
            Some(tag) if tag.is_sequence_header() => Self::AudioHeader { track: tag.track_id() },
            _ => Self::Audio,
        }
    }

    /// A coded keyframe (of any track): not a sequence header, not an end of sequence, not a
    /// command frame. What the handler's `on_keyframe` hears of.
    pub(crate) fn is_keyframe(self) -> bool {
        matches!(self, Self::VideoKey { .. })
    }
}

/// A message from a publisher, with its class.
#[derive(Debug, Clone)]
pub(crate) struct PublishedMessage {
    pub(crate) type_id: u8,
    pub(crate) timestamp: u32,
    pub(crate) payload: Bytes,
    pub(crate) class: MessageClass,
}

impl PublishedMessage {
    /// A video message, its tag parsed once by the caller (`None`: unparsable, relayed as an
    /// inter frame).
    pub(crate) fn video(timestamp: u32, payload: Bytes, tag: Option<&VideoTag>) -> Self {
        Self { type_id: type_id::VIDEO, timestamp, payload, class: MessageClass::video(tag) }
    }

    /// An audio message, its tag parsed once by the caller.
    pub(crate) fn audio(timestamp: u32, payload: Bytes, tag: Option<&AudioTag>) -> Self {
        Self { type_id: type_id::AUDIO, timestamp, payload, class: MessageClass::audio(tag) }
    }

    /// `onMetaData` (already unwrapped from @setDataFrame).
    pub(crate) fn metadata(timestamp: u32, payload: Bytes) -> Self {
        Self { type_id: type_id::DATA_AMF0, timestamp, payload, class: MessageClass::Metadata }
    }

    /// Other data messages: forwarded live, never cached.
    pub(crate) fn data(timestamp: u32, payload: Bytes) -> Self {
        Self { type_id: type_id::DATA_AMF0, timestamp, payload, class: MessageClass::Data }
    }

    /// The message chunked for message stream `stream_id`.
    pub(crate) fn chunk(&self, stream_id: u32, chunk_size: u32) -> Bytes {
        chunk(self.type_id, self.timestamp, &self.payload, stream_id, chunk_size)
    }
}

/// Whether a message may read differently to a legacy player: an Enhanced-RTMP tag (a look at
/// its first byte, no parsing).
#[inline]
pub(crate) fn may_need_legacy_form(type_id: u8, payload: &[u8]) -> bool {
    match type_id {
        type_id::VIDEO => is_enhanced_video(payload),
        type_id::AUDIO => is_enhanced_audio(payload),
        _ => false,
    }
}

/// What a message becomes for a legacy player ([`crate::proto::media::legacy_video`]): its
/// Enhanced-RTMP H.264 and AAC in the legacy form, track 0 only.
pub(crate) fn legacy_form(type_id: u8, payload: &Bytes) -> LegacyForm {
    match type_id {
        type_id::VIDEO => legacy_video(payload),
        type_id::AUDIO => legacy_audio(payload),
        _ => LegacyForm::Unchanged,
    }
}

/// Whether a player of this connection takes the legacy form of the stream: its `connect`
/// announced no Enhanced-RTMP codec (`fourCcList`, `videoFourCcInfoMap`, `audioFourCcInfoMap`),
/// as ffmpeg before 6.1, librtmp (rtmpdump) and GStreamer's `rtmp2src` do. A connection with no
/// `connect` (none reaches a play) counts as legacy.
pub(crate) fn takes_legacy_form(connect: Option<&ConnectParams>) -> bool {
    connect.is_none_or(|c| {
        c.fourcc_list.is_empty() && c.video_fourcc_info_map.is_empty() && c.audio_fourcc_info_map.is_empty()
    })
}

/// A message chunked for message stream `stream_id`, on the chunk stream of its type.
pub(crate) fn chunk(type_id: u8, timestamp: u32, payload: &[u8], stream_id: u32, chunk_size: u32) -> Bytes {
    let csid = match type_id {
        type_id::AUDIO => csid::AUDIO,
        type_id::VIDEO => csid::VIDEO,
        _ => csid::DATA,
    };
    encode_shared(csid, timestamp, type_id, stream_id, payload, chunk_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(bytes: &'static [u8]) -> MessageClass {
        MessageClass::video(VideoTag::parse(&Bytes::from_static(bytes)).ok().as_ref())
    }

    #[test]
    fn only_coded_keyframes_count_as_keyframes() {
        assert_eq!(video(&[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65]), MessageClass::VideoKey { track: 0 });
        assert_eq!(video(&[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]), MessageClass::VideoInter);
        assert_eq!(video(&[0x37, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x01]), MessageClass::VideoDisposable);
        // Sequence header, and the end-of-sequence tag ffmpeg writes last (both flagged key).
        let header = video(&[0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe0, 0x00]);
        assert_eq!(header, MessageClass::VideoHeader { track: 0 });
        assert!(!header.is_keyframe());
        assert_eq!(video(&[0x17, 0x02, 0, 0, 0]), MessageClass::VideoControl);
        assert!(!video(&[0x17, 0x02, 0, 0, 0]).is_keyframe());
        // Unparsable: relayed as an inter frame.
        assert_eq!(video(&[]), MessageClass::VideoInter);
    }
}
