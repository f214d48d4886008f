//! Remote calls (message types 20 and 17): `connect`, `publish`, `_result`, `onStatus`, …

use bytes::{Bytes, BytesMut};

use super::MessageError;
use crate::proto::amf::{Amf0Value, AmfLimits, amf0};

/// A command: name, transaction id, command object, then any number of arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The procedure name, e.g. `connect` or `_result`.
    pub name: String,
    /// Matches a reply to its request; 0 when no reply is expected.
    pub transaction_id: f64,
    /// The command object (often null).
    pub command_object: Amf0Value,
    /// The remaining values.
    pub arguments: Vec<Amf0Value>,
}

impl Command {
    /// A command with a null command object.
    pub fn new(name: impl Into<String>, transaction_id: f64, arguments: Vec<Amf0Value>) -> Self {
        Self { name: name.into(), transaction_id, command_object: Amf0Value::Null, arguments }
    }

    /// Decodes an AMF0 command body (the AMF3 format byte already skipped). A missing
    /// transaction id or command object reads as 0 / null, as lenient servers do.
    pub fn decode(body: &[u8], limits: &AmfLimits) -> Result<Self, MessageError> {
        let mut values = amf0::decode_all(body, limits)?.into_iter();
        let name = match values.next() {
            Some(v) => v.as_str().ok_or(MessageError::MissingName)?.to_owned(),
            None => return Err(MessageError::MissingName),
        };
        let transaction_id = values.next().and_then(|v| v.as_number()).unwrap_or(0.0);
        let command_object = values.next().unwrap_or(Amf0Value::Null);
        Ok(Self { name, transaction_id, command_object, arguments: values.collect() })
    }

    /// Encodes the command as AMF0.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        amf0::encode(&Amf0Value::String(self.name.clone()), &mut out);
        amf0::encode(&Amf0Value::Number(self.transaction_id), &mut out);
        amf0::encode(&self.command_object, &mut out);
        for arg in &self.arguments {
            amf0::encode(arg, &mut out);
        }
        out.freeze()
    }

    /// Argument `index` (0 = the first value after the command object) as a string.
    pub fn arg_str(&self, index: usize) -> Option<&str> {
        self.arguments.get(index).and_then(Amf0Value::as_str)
    }

    /// Argument `index` as a number.
    pub fn arg_number(&self, index: usize) -> Option<f64> {
        self.arguments.get(index).and_then(Amf0Value::as_number)
    }

    /// Argument `index` as a boolean.
    pub fn arg_bool(&self, index: usize) -> Option<bool> {
        self.arguments.get(index).and_then(Amf0Value::as_bool)
    }
}
