//! Data messages (types 18 and 15): metadata, text and cue points.

use bytes::{Bytes, BytesMut};

use super::MessageError;
use crate::proto::amf::{Amf0Value, AmfLimits, amf0};

/// A data message: a handler name and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct DataMessage {
    /// `@setDataFrame`, `onMetaData`, `onTextData`, `onCuePoint`, `|RtmpSampleAccess`, …
    pub name: String,
    /// The values after the name.
    pub values: Vec<Amf0Value>,
}

impl DataMessage {
    /// Decodes an AMF0 data body (the AMF3 format byte already skipped).
    pub fn decode(body: &[u8], limits: &AmfLimits) -> Result<Self, MessageError> {
        let mut values = amf0::decode_all(body, limits)?.into_iter();
        let name =
            values.next().as_ref().and_then(Amf0Value::as_str).ok_or(MessageError::MissingName)?.to_owned();
        Ok(Self { name, values: values.collect() })
    }

    /// Encodes the message as AMF0.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        amf0::encode(&Amf0Value::String(self.name.clone()), &mut out);
        for v in &self.values {
            amf0::encode(v, &mut out);
        }
        out.freeze()
    }

    /// Publishers wrap metadata as `@setDataFrame("onMetaData", …)`; players get it unwrapped.
    /// Returns the message without that wrapper (unchanged if it has none).
    pub fn without_set_data_frame(mut self) -> Self {
        if self.name == "@setDataFrame"
            && let Some(inner) = self.values.first().and_then(Amf0Value::as_str).map(str::to_owned)
        {
            self.values.remove(0);
            self.name = inner;
        }
        self
    }

    /// The encoded message minus its first value, a string: how the `@setDataFrame` wrapper is
    /// removed from `payload` (this message's AMF0 encoding) without re-encoding, which would
    /// expand AMF references (a few kB in, up to the AMF budget out). `None` when the first
    /// value is not an AMF0 string.
    pub fn skip_first_string(payload: &Bytes) -> Option<Bytes> {
        let len = match *payload.first()? {
            amf0::marker::STRING => 3 + usize::from(u16::from_be_bytes(payload.get(1..3)?.try_into().ok()?)),
            amf0::marker::LONG_STRING => {
                5 + usize::try_from(u32::from_be_bytes(payload.get(1..5)?.try_into().ok()?)).ok()?
            }
            _ => return None,
        };
        (len <= payload.len()).then(|| payload.slice(len..))
    }

    /// The metadata object of an `onMetaData` message (object or ECMA array).
    pub fn metadata(&self) -> Option<&crate::proto::amf::AmfObject> {
        (self.name == "onMetaData").then(|| self.values.iter().find_map(Amf0Value::as_object)).flatten()
    }
}
