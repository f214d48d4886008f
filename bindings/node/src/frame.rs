//! `Frame`: one media message whose payload JS sees as a Buffer over the library's memory, and
//! AMF0 values to and from JS.

use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{BigInt, FromNapiValue, Object, ToNapiValue};
use napi::{Env, Result, sys};
use napi_derive::napi;
use rtmp_core::proto::amf::{Amf0Value, Amf3Value, AmfObject};
use rtmp_core::proto::message::DataMessage;
use rtmp_embed::{Frame as EmbedFrame, FrameKind as EmbedKind};

use crate::error::RtmpError;
use crate::js;

/// A JS value made on the JS thread, returned as is.
pub struct Raw(pub(crate) js::Value);

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// What a frame carries.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// An FLV audio tag body.
    Audio,
    /// An FLV video tag body.
    Video,
    /// An AMF0 data message other than metadata (text, cue points).
    Data,
    /// `onMetaData`.
    Metadata,
}

/// One media message: kind, timestamp, the FLV tag body as a Buffer over the library's memory
/// (no copy), the stream it belongs to (server side) and what the media layer parsed.
///
/// Frames come from server hooks, `Player` and `Subscription`; JS cannot make one.
#[napi]
pub struct Frame {
    pub(crate) inner: Arc<EmbedFrame>,
}

impl Frame {
    pub(crate) fn new(inner: Arc<EmbedFrame>) -> Self {
        Self { inner }
    }
}

#[napi]
impl Frame {
    /// What it carries.
    #[napi(catch_unwind, getter)]
    pub fn kind(&self) -> FrameKind {
        match self.inner.kind() {
            EmbedKind::Audio => FrameKind::Audio,
            EmbedKind::Video => FrameKind::Video,
            EmbedKind::Data => FrameKind::Data,
            EmbedKind::Metadata => FrameKind::Metadata,
        }
    }

    /// Timestamp in ms (0 for the metadata the server hook reports).
    #[napi(catch_unwind, getter)]
    pub fn timestamp(&self) -> u32 {
        self.inner.timestamp()
    }

    /// The whole message body (the FLV tag body for audio and video, AMF0 for data): a Buffer
    /// over the library's memory, shared with every other view of the same message. Read it,
    /// keep it as long as needed; do not write into it.
    #[napi(catch_unwind, getter, ts_return_type = "Buffer")]
    pub fn payload(&self, env: &Env) -> Result<Raw> {
        js::external_buffer(env.raw(), self.inner.payload()).map(Raw)
    }

    /// The codec data of the first track (after the FLV / Enhanced RTMP header), also without
    /// a copy; the whole payload for data and for media that did not parse.
    #[napi(catch_unwind, getter, ts_return_type = "Buffer")]
    pub fn body(&self, env: &Env) -> Result<Raw> {
        js::external_buffer(env.raw(), self.inner.body()).map(Raw)
    }

    /// The stream's app (server side; "" for frames a `Player` received).
    #[napi(catch_unwind, getter)]
    pub fn app(&self) -> String {
        self.inner.app().to_owned()
    }

    /// The stream's name without query (server side; "" for frames a `Player` received).
    #[napi(catch_unwind, getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The codec: a FourCC where there is one (`avc1`, `hvc1`, `av01`, `mp4a`, `Opus`, …),
    /// else a legacy name (`h263`, `vp6`, `pcm`, `speex`, …); "" when unknown or not media.
    #[napi(catch_unwind, getter)]
    pub fn codec(&self) -> String {
        self.inner.codec().to_owned()
    }

    /// A video keyframe that carries a picture (not a sequence header or command frame).
    #[napi(catch_unwind, getter)]
    pub fn is_keyframe(&self) -> bool {
        self.inner.is_keyframe()
    }

    /// A decoder configuration (AVC/HEVC/AV1 sequence header, AAC AudioSpecificConfig).
    #[napi(catch_unwind, getter)]
    pub fn is_sequence_header(&self) -> bool {
        self.inner.is_sequence_header()
    }

    /// The composition time offset of a video frame in ms (0 otherwise).
    #[napi(catch_unwind, getter)]
    pub fn composition_time(&self) -> i32 {
        self.inner.composition_time()
    }

    /// The metadata object of a metadata frame (`width`, `height`, `videocodecid`, …), else
    /// null.
    #[napi(catch_unwind, getter, ts_return_type = "Record<string, unknown> | null")]
    pub fn metadata(&self, env: &Env) -> Result<Raw> {
        match self.inner.metadata() {
            Some(object) => amf_object_to_js(env.raw(), object, 0).map(Raw),
            None => js::null(env.raw()).map(Raw),
        }
    }

    /// The decoded data message of a data or metadata frame (`{ name: 'onTextData', values }`),
    /// else null.
    #[napi(catch_unwind, getter, ts_return_type = "DataMessage | null")]
    pub fn data(&self, env: &Env) -> Result<Raw> {
        match self.inner.data_message() {
            Some(message) => data_message_to_js(env.raw(), message).map(Raw),
            None => js::null(env.raw()).map(Raw),
        }
    }

    /// Where the payload lives in memory (diagnostics: a Buffer from `payload` starts here, see
    /// `bufferAddress`).
    #[napi(catch_unwind)]
    pub fn payload_address(&self) -> BigInt {
        BigInt::from(self.inner.payload().as_ptr() as u64)
    }
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(napi::Status::from(status), format!("{what} failed")))
    }
}

fn new_object(env: sys::napi_env) -> Result<js::Value> {
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_create_object(env, &mut value) }, "napi_create_object")?;
    Ok(value)
}

fn new_array(env: sys::napi_env, len: usize) -> Result<js::Value> {
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_create_array_with_length(env, len, &mut value) }, "napi_create_array")?;
    Ok(value)
}

fn set_element(env: sys::napi_env, array: js::Value, index: usize, value: js::Value) -> Result<()> {
    check(unsafe { sys::napi_set_element(env, array, index as u32, value) }, "napi_set_element")
}

fn number(env: sys::napi_env, n: f64) -> Result<js::Value> {
    unsafe { f64::to_napi_value(env, n) }
}

const MAX_DEPTH: usize = 64;

/// A data message as JS sees it: `{ name, values }`, the values as JS values (`Frame.data`,
/// `onData`).
pub(crate) fn data_message_to_js(env: sys::napi_env, message: &DataMessage) -> Result<js::Value> {
    let object = new_object(env)?;
    js::set(env, object, "name", js::string(env, &message.name)?)?;
    let values = new_array(env, message.values.len())?;
    for (i, value) in message.values.iter().enumerate() {
        set_element(env, values, i, amf0_to_js(env, value, 0)?)?;
    }
    js::set(env, object, "values", values)?;
    Ok(object)
}

fn amf_object_to_js(env: sys::napi_env, object: &AmfObject, depth: usize) -> Result<js::Value> {
    let out = new_object(env)?;
    for (key, value) in object.iter() {
        js::set(env, out, key, amf0_to_js(env, value, depth + 1)?)?;
    }
    Ok(out)
}

/// An AMF0 value as JS: numbers, booleans, strings, objects (also ECMA arrays and typed
/// objects), arrays, null, undefined, Dates.
pub(crate) fn amf0_to_js(env: sys::napi_env, value: &Amf0Value, depth: usize) -> Result<js::Value> {
    if depth > MAX_DEPTH {
        return js::undefined(env);
    }
    match value {
        Amf0Value::Number(n) => number(env, *n),
        Amf0Value::Boolean(b) => unsafe { bool::to_napi_value(env, *b) },
        Amf0Value::String(s) | Amf0Value::XmlDocument(s) => js::string(env, s),
        Amf0Value::Object(o) | Amf0Value::EcmaArray(o) => amf_object_to_js(env, o, depth),
        Amf0Value::TypedObject { properties, .. } => amf_object_to_js(env, properties, depth),
        Amf0Value::StrictArray(items) => {
            let array = new_array(env, items.len())?;
            for (i, item) in items.iter().enumerate() {
                set_element(env, array, i, amf0_to_js(env, item, depth + 1)?)?;
            }
            Ok(array)
        }
        Amf0Value::Date { millis, .. } => {
            let mut date = ptr::null_mut();
            check(unsafe { sys::napi_create_date(env, *millis, &mut date) }, "napi_create_date")?;
            Ok(date)
        }
        Amf0Value::Null => js::null(env),
        Amf0Value::Avmplus(v) => amf3_to_js(env, v),
        _ => js::undefined(env),
    }
}

fn amf3_to_js(env: sys::napi_env, value: &Amf3Value) -> Result<js::Value> {
    match value {
        Amf3Value::Null => js::null(env),
        Amf3Value::Boolean(b) => unsafe { bool::to_napi_value(env, *b) },
        Amf3Value::Integer(i) => number(env, f64::from(*i)),
        Amf3Value::Double(n) | Amf3Value::Date(n) => number(env, *n),
        Amf3Value::String(s) | Amf3Value::XmlDocument(s) | Amf3Value::Xml(s) => js::string(env, s),
        _ => js::undefined(env),
    }
}

fn get(env: sys::napi_env, object: js::Value, key: js::Value) -> Result<js::Value> {
    let mut value = ptr::null_mut();
    check(unsafe { sys::napi_get_property(env, object, key, &mut value) }, "napi_get_property")?;
    Ok(value)
}

/// A JS value as AMF0 (for metadata): numbers, booleans, strings, null, undefined, Dates,
/// arrays and plain objects.
pub(crate) fn js_to_amf0(
    env: sys::napi_env,
    value: js::Value,
    depth: usize,
) -> std::result::Result<Amf0Value, RtmpError> {
    let fail = |e: napi::Error| RtmpError::invalid(e.reason);
    if depth > MAX_DEPTH {
        return Err(RtmpError::invalid("metadata nests too deep (or refers to itself)"));
    }
    let kind = js::type_of(env, value).map_err(fail)?;
    Ok(match kind {
        sys::ValueType::napi_undefined => Amf0Value::Undefined,
        sys::ValueType::napi_null => Amf0Value::Null,
        sys::ValueType::napi_boolean => {
            Amf0Value::Boolean(unsafe { bool::from_napi_value(env, value) }.map_err(fail)?)
        }
        sys::ValueType::napi_number => {
            Amf0Value::Number(unsafe { f64::from_napi_value(env, value) }.map_err(fail)?)
        }
        sys::ValueType::napi_string => {
            Amf0Value::String(unsafe { String::from_napi_value(env, value) }.map_err(fail)?)
        }
        sys::ValueType::napi_object => {
            let mut is_date = false;
            check(unsafe { sys::napi_is_date(env, value, &mut is_date) }, "napi_is_date").map_err(fail)?;
            if is_date {
                let mut millis = 0.0;
                check(unsafe { sys::napi_get_date_value(env, value, &mut millis) }, "napi_get_date_value")
                    .map_err(fail)?;
                return Ok(Amf0Value::Date { millis, timezone: 0 });
            }
            if js::is_array(env, value) {
                let mut len = 0;
                check(unsafe { sys::napi_get_array_length(env, value, &mut len) }, "napi_get_array_length")
                    .map_err(fail)?;
                let mut items = Vec::with_capacity(len as usize);
                for i in 0..len {
                    let mut item = ptr::null_mut();
                    check(unsafe { sys::napi_get_element(env, value, i, &mut item) }, "napi_get_element")
                        .map_err(fail)?;
                    items.push(js_to_amf0(env, item, depth + 1)?);
                }
                return Ok(Amf0Value::StrictArray(items));
            }
            Amf0Value::Object(js_object_to_amf(env, value, depth)?)
        }
        _ => {
            return Err(RtmpError::invalid(
                "metadata values must be numbers, strings, booleans, null, Dates, arrays or objects",
            ));
        }
    })
}

/// The own enumerable properties of a JS object as an AMF object.
pub(crate) fn js_object_to_amf(
    env: sys::napi_env,
    value: js::Value,
    depth: usize,
) -> std::result::Result<AmfObject, RtmpError> {
    let fail = |e: napi::Error| RtmpError::invalid(e.reason);
    let object = Object::from_raw(env, value);
    let keys = Object::keys(&object).map_err(fail)?;
    let mut out = AmfObject::new();
    for key in keys {
        let item = get(env, value, js::string(env, &key).map_err(fail)?).map_err(fail)?;
        out.insert(key, js_to_amf0(env, item, depth + 1)?);
    }
    Ok(out)
}
