//! `rtmp_frame`: a media message shared with C without copying.

use std::ffi::c_char;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{fail, rtmp_result};
use crate::ffi::{Castable, OwnershipArc, release_arc, retain_arc, to_arc_ptr};
use crate::slice::{rtmp_bytes, rtmp_str};
use rtmp_core::proto::amf::Amf0Value;
use rtmp_embed::{Frame, FrameKind};

/// A media message: audio, video, data or metadata, with its timestamp, the FLV tag body and
/// the parsed header. Reference-counted and immutable, so any thread may read it.
///
/// Callbacks, `rtmp_player_next` and `rtmp_subscription_next` hand out `const rtmp_frame *`. A
/// frame passed to a callback is borrowed for the duration of the call; `rtmp_frame_retain`
/// keeps it (no copy) until the matching `rtmp_frame_release`. Frames from `rtmp_player_next`,
/// `rtmp_subscription_next` and `rtmp_frame_new` are owned by the caller: release each exactly
/// once. Views (`rtmp_bytes`, `rtmp_str`) taken from a frame are valid while the caller holds
/// the frame.
pub struct rtmp_frame {
    _private: [u8; 0],
}

impl Castable for rtmp_frame {
    type RustType = Frame;
    type Ownership = OwnershipArc;
}

/// What a frame carries.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_frame_kind {
    /// An FLV audio tag body (legacy or Enhanced RTMP).
    Audio = 1,
    /// An FLV video tag body (legacy or Enhanced RTMP).
    Video = 2,
    /// An AMF0 data message other than metadata (`onTextData`, `onCuePoint`, …).
    Data = 3,
    /// `onMetaData` as an AMF0 data message.
    Metadata = 4,
}

impl From<FrameKind> for rtmp_frame_kind {
    fn from(kind: FrameKind) -> Self {
        match kind {
            FrameKind::Audio => Self::Audio,
            FrameKind::Video => Self::Video,
            FrameKind::Data => Self::Data,
            FrameKind::Metadata => Self::Metadata,
        }
    }
}

pub(crate) fn frame_ptr(frame: &Arc<Frame>) -> *const rtmp_frame {
    Arc::as_ptr(frame).cast()
}

pub(crate) fn owned_frame_ptr(frame: Arc<Frame>) -> *const rtmp_frame {
    to_arc_ptr(frame)
}

/// Makes a frame from a message body (copied): `kind` is one of `RTMP_FRAME_KIND_*`, `payload`
/// an FLV audio/video tag body or an AMF0 data message. A body that does not parse still makes a
/// frame (the accessors then report no codec). On success `*frame_out` is a frame the caller
/// owns; release it with `rtmp_frame_release`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_new(
    kind: u32,
    timestamp: u32,
    payload: *const u8,
    payload_len: usize,
    frame_out: *mut *const rtmp_frame,
) -> rtmp_result {
    ffi_panic_boundary! {
        let payload = try_slice!(payload, payload_len);
        let out = try_out!(frame_out);
        let kind = match kind {
            1 => FrameKind::Audio,
            2 => FrameKind::Video,
            3 => FrameKind::Data,
            4 => FrameKind::Metadata,
            other => return fail(rtmp_result::InvalidArgument, format!("unknown frame kind {other}")),
        };
        let frame = Frame::new(kind, timestamp, Bytes::copy_from_slice(payload));
        *out = owned_frame_ptr(Arc::new(frame));
        rtmp_result::Ok
    }
}

/// Keeps `frame` beyond the callback that lent it (or adds a reference to one you own), without
/// copying. Returns `frame` (NULL for NULL). Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_retain(frame: *const rtmp_frame) -> *const rtmp_frame {
    ffi_panic_boundary! {
        retain_arc(frame);
        frame
    }
}

/// Drops one reference to `frame` (from `rtmp_frame_retain`, `rtmp_frame_new`,
/// `rtmp_player_next` or `rtmp_subscription_next`). NULL is ignored. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_release(frame: *const rtmp_frame) {
    ffi_panic_boundary! {
        release_arc(frame);
    }
}

/// The frame's kind (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_get_kind(frame: *const rtmp_frame) -> u32 {
    ffi_panic_boundary! {
        rtmp_frame_kind::from(try_ref!(frame).kind()) as u32
    }
}

/// Timestamp in milliseconds (0 for metadata raised by the server's `on_metadata`).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_timestamp(frame: *const rtmp_frame) -> u32 {
    ffi_panic_boundary! {
        try_ref!(frame).timestamp()
    }
}

/// The whole message body: the FLV tag body for audio and video, the AMF0 message for data and
/// metadata. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_payload(frame: *const rtmp_frame) -> rtmp_bytes<'static> {
    ffi_panic_boundary! {
        rtmp_bytes::from_slice(try_ref!(frame).payload())
    }
}

/// The codec data of the first track, after the FLV or Enhanced RTMP header (for AVC: NAL units
/// with length prefixes, or the AVCDecoderConfigurationRecord of a sequence header); the whole
/// payload for data frames and media that did not parse. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_body(frame: *const rtmp_frame) -> rtmp_bytes<'static> {
    ffi_panic_boundary! {
        rtmp_bytes::from_slice(try_ref!(frame).body())
    }
}

/// The codec: a FourCC where there is one (`avc1`, `hvc1`, `av01`, `vp09`, `mp4a`, `Opus`,
/// `.mp3`, …), else a legacy name (`h263`, `vp6`, `pcm`, `speex`, …); empty when unknown or not
/// media. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_codec(frame: *const rtmp_frame) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(frame).codec())
    }
}

/// Whether it is a video keyframe with a picture (not a sequence header or command frame).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_is_keyframe(frame: *const rtmp_frame) -> bool {
    ffi_panic_boundary! {
        try_ref!(frame).is_keyframe()
    }
}

/// Whether it is a decoder configuration (AVC/HEVC/AV1 sequence header, AAC config).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_is_sequence_header(frame: *const rtmp_frame) -> bool {
    ffi_panic_boundary! {
        try_ref!(frame).is_sequence_header()
    }
}

/// The composition time offset of a video frame, in ms (0 otherwise).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_composition_time(frame: *const rtmp_frame) -> i32 {
    ffi_panic_boundary! {
        try_ref!(frame).composition_time()
    }
}

/// The stream's app (`live`) for frames raised by a server or read from a subscription; empty
/// for client frames. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_stream_app(frame: *const rtmp_frame) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(frame).app())
    }
}

/// The stream's name without query (`cam`) for frames raised by a server or read from a
/// subscription; empty for client frames. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_stream_name(frame: *const rtmp_frame) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        rtmp_str::borrow(try_ref!(frame).name())
    }
}

/// The handler name of a data or metadata frame (`onMetaData`, `onTextData`, …); empty for
/// audio, video and undecodable data. Valid while the frame is held.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_data_name(frame: *const rtmp_frame) -> rtmp_str<'static> {
    ffi_panic_boundary! {
        match try_ref!(frame).data_message() {
            Some(message) => rtmp_str::borrow(&message.name),
            None => rtmp_str::empty(),
        }
    }
}

/// Writes `value` read by `read` (a number, a string view) into `*out`: `RTMP_RESULT_NOT_FOUND`
/// naming `what` when it is not `kind`, the lookup's result when there was no value.
fn read_into<'a, T>(
    value: Result<&'a Amf0Value, rtmp_result>,
    out: &mut T,
    read: impl FnOnce(&'a Amf0Value) -> Option<T>,
    kind: &str,
    what: impl FnOnce() -> String,
) -> rtmp_result {
    match value.map(read) {
        Ok(Some(read)) => {
            *out = read;
            rtmp_result::Ok
        }
        Ok(None) => fail(rtmp_result::NotFound, format!("{} is not {kind}", what())),
        Err(result) => result,
    }
}

fn metadata_value<'a>(frame: &'a Frame, key: &str) -> Result<&'a Amf0Value, rtmp_result> {
    let metadata =
        frame.metadata().ok_or_else(|| fail(rtmp_result::InvalidState, "the frame carries no metadata"))?;
    metadata.get(key).ok_or_else(|| fail(rtmp_result::NotFound, format!("no metadata property {key}")))
}

/// Reads number property `key` of a metadata frame (`width`, `framerate`, `videodatarate`, …)
/// into `*value_out`. `RTMP_RESULT_NOT_FOUND` when absent or not a number,
/// `RTMP_RESULT_INVALID_STATE` when the frame is not metadata.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_metadata_number(
    frame: *const rtmp_frame,
    key: *const c_char,
    value_out: *mut f64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let frame = try_ref!(frame);
        let key = try_cstr!(key);
        let out = try_out!(value_out);
        let what = || format!("metadata property {key}");
        read_into(metadata_value(frame, key), out, Amf0Value::as_number, "a number", what)
    }
}

/// Reads string property `key` of a metadata frame (`encoder`, …) into `*value_out`, a view
/// valid while the frame is held. Results as for `rtmp_frame_metadata_number`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_metadata_string(
    frame: *const rtmp_frame,
    key: *const c_char,
    value_out: *mut rtmp_str<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let frame = try_ref!(frame);
        let key = try_cstr!(key);
        let out = try_out!(value_out);
        let what = || format!("metadata property {key}");
        read_into(metadata_value(frame, key), out, |v| v.as_str().map(rtmp_str::borrow), "a string", what)
    }
}

/// The number of values after the name of a data or metadata frame (`onTextData`'s text object,
/// `onCuePoint`'s object, …); 0 for audio, video and undecodable data.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_data_value_count(frame: *const rtmp_frame) -> usize {
    ffi_panic_boundary! {
        try_ref!(frame).data_message().map_or(0, |message| message.values.len())
    }
}

/// Value `index` of a data frame, or its property `key` when `key` is not NULL.
fn data_value<'a>(frame: &'a Frame, index: usize, key: Option<&str>) -> Result<&'a Amf0Value, rtmp_result> {
    let message = frame
        .data_message()
        .ok_or_else(|| fail(rtmp_result::InvalidState, "the frame carries no data message"))?;
    let value = message
        .values
        .get(index)
        .ok_or_else(|| fail(rtmp_result::NotFound, format!("the data message has no value {index}")))?;
    let Some(key) = key else { return Ok(value) };
    let object = value
        .as_object()
        .ok_or_else(|| fail(rtmp_result::NotFound, format!("data value {index} is not an object")))?;
    object
        .get(key)
        .ok_or_else(|| fail(rtmp_result::NotFound, format!("data value {index} has no property {key}")))
}

fn what(index: usize, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("property {key} of data value {index}"),
        None => format!("data value {index}"),
    }
}

/// Reads a number of a data or metadata frame into `*value_out`: value `index` itself when `key` is
/// NULL, else its property `key` (of an object or ECMA array: `onCuePoint`'s `time`, …).
/// `RTMP_RESULT_NOT_FOUND` when there is no such value or property or it is not a number,
/// `RTMP_RESULT_INVALID_STATE` when the frame carries no data message.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_data_number(
    frame: *const rtmp_frame,
    index: usize,
    key: *const c_char,
    value_out: *mut f64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let frame = try_ref!(frame);
        let key = if key.is_null() { None } else { Some(try_cstr!(key)) };
        let out = try_out!(value_out);
        read_into(data_value(frame, index, key), out, Amf0Value::as_number, "a number", || what(index, key))
    }
}

/// Reads a string of a data or metadata frame into `*value_out`, a view valid while the frame is
/// held: value `index` itself when `key` is NULL, else its property `key` (`onTextData`'s `text`:
/// index 0, key `"text"`). Results as for `rtmp_frame_data_number`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_frame_data_string(
    frame: *const rtmp_frame,
    index: usize,
    key: *const c_char,
    value_out: *mut rtmp_str<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let frame = try_ref!(frame);
        let key = if key.is_null() { None } else { Some(try_cstr!(key)) };
        let out = try_out!(value_out);
        let value = data_value(frame, index, key);
        read_into(value, out, |v| v.as_str().map(rtmp_str::borrow), "a string", || what(index, key))
    }
}
