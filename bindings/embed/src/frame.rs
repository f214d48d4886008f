//! Media messages as owned, shareable frames: the payload is a refcounted `Bytes`, never copied.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use rtmp_core::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use rtmp_core::proto::media::{AudioCodec, AudioTag, VideoCodec, VideoTag};
use rtmp_core::proto::message::{DataMessage, type_id};
use rtmp_core::server::{AudioFrame, MediaKind, MediaTag, StreamKey, VideoFrame};

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// An FLV audio tag body.
    Audio,
    /// An FLV video tag body.
    Video,
    /// An AMF0 data message other than metadata (text, cue points).
    Data,
    /// `onMetaData` as an AMF0 data message.
    Metadata,
}

/// One media message: kind, timestamp, the FLV tag body (shared, not copied), the stream it
/// belongs to (server side) and the parsed view.
#[derive(Debug)]
pub struct Frame {
    kind: FrameKind,
    timestamp: u32,
    payload: Bytes,
    app: String,
    name: String,
    video: Option<VideoTag>,
    audio: Option<AudioTag>,
    data: OnceLock<Option<DataMessage>>,
    codec: OnceLock<Cow<'static, str>>,
}

impl Frame {
    /// A frame from a message body, parsed according to `kind` (a body that does not parse
    /// still makes a frame, without the parsed view). No stream key.
    pub fn new(kind: FrameKind, timestamp: u32, payload: Bytes) -> Self {
        let video = (kind == FrameKind::Video).then(|| VideoTag::parse(&payload).ok()).flatten();
        let audio = (kind == FrameKind::Audio).then(|| AudioTag::parse(&payload).ok()).flatten();
        Self::build(kind, timestamp, payload, None, video, audio)
    }

    fn build(
        kind: FrameKind,
        timestamp: u32,
        payload: Bytes,
        key: Option<&StreamKey>,
        video: Option<VideoTag>,
        audio: Option<AudioTag>,
    ) -> Self {
        let (app, name) = key.map(|k| (k.app.clone(), k.name.clone())).unwrap_or_default();
        Self {
            kind,
            timestamp,
            payload,
            app,
            name,
            video,
            audio,
            data: OnceLock::new(),
            codec: OnceLock::new(),
        }
    }

    /// Names the stream the frame belongs to.
    pub(crate) fn set_key(&mut self, key: &StreamKey) {
        self.app.clone_from(&key.app);
        self.name.clone_from(&key.name);
    }

    /// The frame of an `on_video_frame` / `on_keyframe` call.
    pub fn from_video(frame: &VideoFrame<'_>) -> Self {
        let tag = Some(frame.tag.clone());
        Self::build(FrameKind::Video, frame.timestamp, frame.payload.clone(), Some(frame.key), tag, None)
    }

    /// The frame of an `on_audio_frame` call.
    pub fn from_audio(frame: &AudioFrame<'_>) -> Self {
        let tag = Some(frame.tag.clone());
        Self::build(FrameKind::Audio, frame.timestamp, frame.payload.clone(), Some(frame.key), None, tag)
    }

    /// The frame of an `on_media_tag` call (parsed here).
    pub fn from_media_tag(tag: &MediaTag<'_>) -> Self {
        let kind = match tag.kind {
            MediaKind::Audio => FrameKind::Audio,
            MediaKind::Video => FrameKind::Video,
            MediaKind::Data => FrameKind::Data,
        };
        let mut frame = Self::new(kind, tag.timestamp, tag.payload.clone());
        frame.app.clone_from(&tag.key.app);
        frame.name.clone_from(&tag.key.name);
        if kind == FrameKind::Data && frame.data_message().is_some_and(|d| d.metadata().is_some()) {
            frame.kind = FrameKind::Metadata;
        }
        frame
    }

    /// A metadata frame: `onMetaData` with `metadata` as its ECMA array.
    pub fn from_metadata(key: Option<&StreamKey>, timestamp: u32, metadata: &AmfObject) -> Self {
        let message =
            DataMessage { name: "onMetaData".into(), values: vec![Amf0Value::EcmaArray(metadata.clone())] };
        let frame = Self::build(FrameKind::Metadata, timestamp, message.encode(), key, None, None);
        let _ = frame.data.set(Some(message));
        frame
    }

    /// A data frame from a decoded message.
    pub fn from_data(timestamp: u32, message: DataMessage) -> Self {
        let kind = if message.metadata().is_some() { FrameKind::Metadata } else { FrameKind::Data };
        let frame = Self::build(kind, timestamp, message.encode(), None, None, None);
        let _ = frame.data.set(Some(message));
        frame
    }

    /// What it carries.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The FLV tag type (and RTMP message type) that carries it again: audio 8, video 9,
    /// data and metadata 18 (AMF0), as a relay's `send_frame` publishes it.
    pub fn flv_tag_type(&self) -> u8 {
        match self.kind {
            FrameKind::Audio => type_id::AUDIO,
            FrameKind::Video => type_id::VIDEO,
            FrameKind::Data | FrameKind::Metadata => type_id::DATA_AMF0,
        }
    }

    /// Timestamp in ms (0 for metadata raised by the server hook).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The whole message body: the FLV tag body for audio and video, AMF0 for data.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The stream's app (server side; "" for client frames).
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The stream's name without query (server side; "" for client frames).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parsed video tag.
    pub fn video_tag(&self) -> Option<&VideoTag> {
        self.video.as_ref()
    }

    /// The parsed audio tag.
    pub fn audio_tag(&self) -> Option<&AudioTag> {
        self.audio.as_ref()
    }

    /// The codec data of the first track (after the FLV / Enhanced header); the whole payload
    /// for data frames and for media that did not parse.
    pub fn body(&self) -> &Bytes {
        match (&self.video, &self.audio) {
            (Some(v), _) => v.body(),
            (_, Some(a)) => a.body(),
            _ => &self.payload,
        }
    }

    /// The codec: a FourCC where there is one (`avc1`, `hvc1`, `av01`, `mp4a`, `Opus`, `.mp3`,
    /// …), else a legacy name (`h263`, `vp6`, `pcm`, `speex`, …); "" when unknown or not media.
    pub fn codec(&self) -> &str {
        self.codec.get_or_init(|| match (&self.video, &self.audio) {
            (Some(v), _) => video_codec_name(v.codec()),
            (_, Some(a)) => audio_codec_name(a.codec()),
            _ => Cow::Borrowed(""),
        })
    }

    /// A video keyframe that carries a picture: key or generated key, not a sequence header or
    /// command frame (what `on_keyframe` reports).
    pub fn is_keyframe(&self) -> bool {
        self.video
            .as_ref()
            .is_some_and(|v| v.is_keyframe() && !v.is_sequence_header() && v.command().is_none())
    }

    /// A decoder configuration (AVC/HEVC/AV1 sequence header, AAC AudioSpecificConfig).
    pub fn is_sequence_header(&self) -> bool {
        self.video.as_ref().is_some_and(VideoTag::is_sequence_header)
            || self.audio.as_ref().is_some_and(AudioTag::is_sequence_header)
    }

    /// The composition time offset of a video frame in ms (0 otherwise).
    pub fn composition_time(&self) -> i32 {
        self.video.as_ref().map_or(0, VideoTag::composition_time)
    }

    /// The decoded data message of a data or metadata frame.
    pub fn data_message(&self) -> Option<&DataMessage> {
        if !matches!(self.kind, FrameKind::Data | FrameKind::Metadata) {
            return None;
        }
        self.data
            .get_or_init(|| {
                DataMessage::decode(&self.payload, &AmfLimits::default())
                    .ok()
                    .map(DataMessage::without_set_data_frame)
            })
            .as_ref()
    }

    /// The metadata object of a metadata frame.
    pub fn metadata(&self) -> Option<&AmfObject> {
        self.data_message().and_then(DataMessage::metadata)
    }
}

fn video_codec_name(codec: VideoCodec) -> Cow<'static, str> {
    if let Some(fourcc) = codec.fourcc() {
        return Cow::Owned(fourcc.to_string());
    }
    Cow::Borrowed(match codec {
        VideoCodec::H263 => "h263",
        VideoCodec::Screen => "screen",
        VideoCodec::Vp6 => "vp6",
        VideoCodec::Vp6Alpha => "vp6a",
        VideoCodec::Screen2 => "screen2",
        _ => "",
    })
}

fn audio_codec_name(codec: AudioCodec) -> Cow<'static, str> {
    if let Some(fourcc) = codec.fourcc() {
        return Cow::Owned(fourcc.to_string());
    }
    Cow::Borrowed(match codec {
        AudioCodec::LinearPcm => "pcm",
        AudioCodec::Adpcm => "adpcm",
        AudioCodec::LinearPcmLittleEndian => "pcm_le",
        AudioCodec::Nellymoser16kMono => "nellymoser_16k",
        AudioCodec::Nellymoser8kMono => "nellymoser_8k",
        AudioCodec::Nellymoser => "nellymoser",
        AudioCodec::G711ALaw => "alaw",
        AudioCodec::G711MuLaw => "mulaw",
        AudioCodec::Speex => "speex",
        AudioCodec::Mp3At8kHz => "mp3_8k",
        AudioCodec::DeviceSpecific => "device",
        _ => "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_keyframe_and_codec() {
        // Legacy AVC keyframe, NALU packet, CTS 40.
        let frame = Frame::new(FrameKind::Video, 1000, Bytes::from_static(&[0x17, 1, 0, 0, 40, 0xAA, 0xBB]));
        assert!(frame.is_keyframe());
        assert!(!frame.is_sequence_header());
        assert_eq!(frame.codec(), "avc1");
        assert_eq!(frame.composition_time(), 40);
        assert_eq!(&frame.body()[..], &[0xAA, 0xBB]);
    }

    #[test]
    fn metadata_round_trip() {
        let meta: AmfObject = [("width", Amf0Value::Number(640.0))].into_iter().collect();
        let frame = Frame::from_metadata(None, 0, &meta);
        let again = Frame::new(FrameKind::Data, 0, frame.payload().clone());
        assert_eq!(again.metadata().and_then(|m| m.get_number("width")), Some(640.0));
    }
}
