//! The AMF0 value model shared by commands, data messages and metadata.

use super::Amf3Value;

/// An ordered list of properties: AMF objects keep the order they were sent in, and
/// encoders (OBS, ffmpeg, Wowza) depend on it only loosely, but round trips must keep it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AmfObject(pub Vec<(String, Amf0Value)>);

impl AmfObject {
    /// An empty object.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of the first property named `key`.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The property `key` as a string, if it is one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Amf0Value::as_str)
    }

    /// The property `key` as a number, if it is one.
    pub fn get_number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Amf0Value::as_number)
    }

    /// Sets `key` to `value`, replacing an existing property in place or appending a new one.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Amf0Value>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes and returns the property `key`.
    pub fn remove(&mut self, key: &str) -> Option<Amf0Value> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    /// The properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Amf0Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<Amf0Value>> FromIterator<(K, V)> for AmfObject {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// One AMF0 value. Strings and long strings share [`Amf0Value::String`]: the encoder picks the
/// long form when the text exceeds 65 535 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// Marker 0x00: an IEEE-754 double.
    Number(f64),
    /// Marker 0x01.
    Boolean(bool),
    /// Marker 0x02 (string) or 0x0C (long string).
    String(String),
    /// Marker 0x03: an anonymous object.
    Object(AmfObject),
    /// Marker 0x05.
    Null,
    /// Marker 0x06.
    Undefined,
    /// Marker 0x07: a reference to an earlier complex value, by index.
    Reference(u16),
    /// Marker 0x08: an associative array; its declared count is only a hint and is not kept.
    EcmaArray(AmfObject),
    /// Marker 0x0A: a dense array.
    StrictArray(Vec<Amf0Value>),
    /// Marker 0x0B: milliseconds since the epoch and a (reserved) time-zone offset.
    Date {
        /// Milliseconds since 1970-01-01 UTC.
        millis: f64,
        /// Time-zone offset in minutes; should be 0.
        timezone: i16,
    },
    /// Marker 0x0D.
    Unsupported,
    /// Marker 0x0F: an XML document as text.
    XmlDocument(String),
    /// Marker 0x10: an object with a class name.
    TypedObject {
        /// The registered class name.
        class_name: String,
        /// The properties.
        properties: AmfObject,
    },
    /// Marker 0x11: the value that follows is AMF3 (used inside AMF3 command messages, types 15/17).
    Avmplus(Amf3Value),
}

impl Amf0Value {
    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            Self::Avmplus(Amf3Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The value of a number (AMF3 integers and doubles included).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Avmplus(Amf3Value::Integer(i)) => Some(f64::from(*i)),
            Self::Avmplus(Amf3Value::Double(d)) => Some(*d),
            _ => None,
        }
    }

    /// The value of a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            Self::Avmplus(Amf3Value::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    /// The properties of an object, ECMA array or typed object.
    pub fn as_object(&self) -> Option<&AmfObject> {
        match self {
            Self::Object(o) | Self::EcmaArray(o) => Some(o),
            Self::TypedObject { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// True for null and undefined.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null | Self::Undefined | Self::Avmplus(Amf3Value::Null | Amf3Value::Undefined))
    }

    /// True when a NaN number appears anywhere in the value: NaN is not equal to itself, so
    /// such values cannot be compared after a round trip.
    pub fn contains_nan(&self) -> bool {
        match self {
            Self::Number(n) | Self::Date { millis: n, .. } => n.is_nan(),
            Self::Object(o) | Self::EcmaArray(o) | Self::TypedObject { properties: o, .. } => {
                o.iter().any(|(_, v)| v.contains_nan())
            }
            Self::StrictArray(items) => items.iter().any(Self::contains_nan),
            Self::Avmplus(v) => v.contains_nan(),
            Self::Boolean(_)
            | Self::String(_)
            | Self::Null
            | Self::Undefined
            | Self::Reference(_)
            | Self::Unsupported
            | Self::XmlDocument(_) => false,
        }
    }
}

impl From<f64> for Amf0Value {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}
impl From<u32> for Amf0Value {
    fn from(v: u32) -> Self {
        Self::Number(f64::from(v))
    }
}
impl From<bool> for Amf0Value {
    fn from(v: bool) -> Self {
        Self::Boolean(v)
    }
}
impl From<&str> for Amf0Value {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}
impl From<String> for Amf0Value {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}
impl From<AmfObject> for Amf0Value {
    fn from(v: AmfObject) -> Self {
        Self::Object(v)
    }
}
