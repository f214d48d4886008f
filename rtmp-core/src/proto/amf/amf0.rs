//! AMF0 (Adobe "Action Message Format -- AMF 0", 2007): decode and encode.
//!
//! The decoder follows what real encoders send rather than the letter of the spec where the
//! two differ: an ECMA array's count is only a hint (Wowza and others send 0, or a wrong
//! count), so the entries are read up to the end marker, and a missing end marker is accepted
//! when the input ends right after the last entry. Reserved markers (movieclip, recordset) and
//! an object-end marker outside an object are refused.

use std::mem::size_of;

use bytes::{BufMut, BytesMut};

use super::amf3_decode::Decoder as Amf3Decoder;
use super::budget::{MemoryBudget, enter};
use super::reader::{check_count, check_room_for_one_more, initial_capacity, read_f64, read_i16, read_u8};
use super::reader::{read_u16, read_u32, read_utf8};
use super::{Amf0Value, AmfError, AmfLimits, AmfObject, amf3};

/// The AMF0 type markers.
pub(crate) mod marker {
    pub(crate) const NUMBER: u8 = 0x00;
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const STRING: u8 = 0x02;
    pub(crate) const OBJECT: u8 = 0x03;
    pub(crate) const MOVIECLIP: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const UNDEFINED: u8 = 0x06;
    pub(crate) const REFERENCE: u8 = 0x07;
    pub(crate) const ECMA_ARRAY: u8 = 0x08;
    pub(crate) const OBJECT_END: u8 = 0x09;
    pub(crate) const STRICT_ARRAY: u8 = 0x0A;
    pub(crate) const DATE: u8 = 0x0B;
    pub(crate) const LONG_STRING: u8 = 0x0C;
    pub(crate) const UNSUPPORTED: u8 = 0x0D;
    pub(crate) const RECORDSET: u8 = 0x0E;
    pub(crate) const XML_DOCUMENT: u8 = 0x0F;
    pub(crate) const TYPED_OBJECT: u8 = 0x10;
    pub(crate) const AVMPLUS: u8 = 0x11;
}

/// What every decoded value is charged, on top of the text it owns.
const VALUE_COST: usize = size_of::<Amf0Value>();

/// What a property name costs on top of its text.
const NAME_COST: usize = size_of::<String>();

/// Decodes one value from the front of `input`, advancing it. After an error, `input` is left
/// somewhere inside the bad value.
pub fn decode(input: &mut &[u8], limits: &AmfLimits) -> Result<Amf0Value, AmfError> {
    Decoder::new(limits).value(input, 0)
}

/// Decodes every value in `input`. One memory budget covers them all.
pub fn decode_all(mut input: &[u8], limits: &AmfLimits) -> Result<Vec<Amf0Value>, AmfError> {
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    while !input.is_empty() {
        out.push(decoder.value(&mut input, 0)?);
    }
    Ok(out)
}

/// Appends the encoding of `value` to `out`. Strings longer than 65 535 bytes are written as
/// long strings; ECMA arrays carry their real entry count.
///
/// # Panics
///
/// If a property name or class name is longer than 65 535 bytes, or a string, XML document or
/// strict array is longer than 2^32 - 1 bytes or elements: AMF0 cannot represent those.
pub fn encode(value: &Amf0Value, out: &mut BytesMut) {
    match value {
        Amf0Value::Number(number) => {
            out.put_u8(marker::NUMBER);
            out.put_f64(*number);
        }
        Amf0Value::Boolean(flag) => {
            out.put_u8(marker::BOOLEAN);
            out.put_u8(u8::from(*flag));
        }
        Amf0Value::String(text) => match u16::try_from(text.len()) {
            Ok(len) => {
                out.put_u8(marker::STRING);
                out.put_u16(len);
                out.put_slice(text.as_bytes());
            }
            Err(_) => {
                out.put_u8(marker::LONG_STRING);
                put_long_text(out, text);
            }
        },
        Amf0Value::Object(properties) => {
            out.put_u8(marker::OBJECT);
            put_properties(out, properties);
        }
        Amf0Value::Null => out.put_u8(marker::NULL),
        Amf0Value::Undefined => out.put_u8(marker::UNDEFINED),
        Amf0Value::Reference(index) => {
            out.put_u8(marker::REFERENCE);
            out.put_u16(*index);
        }
        Amf0Value::EcmaArray(properties) => {
            out.put_u8(marker::ECMA_ARRAY);
            // The count is only a hint to readers, so saturating is harmless.
            out.put_u32(u32::try_from(properties.len()).unwrap_or(u32::MAX));
            put_properties(out, properties);
        }
        Amf0Value::StrictArray(items) => {
            out.put_u8(marker::STRICT_ARRAY);
            out.put_u32(
                u32::try_from(items.len()).expect("an AMF0 strict array has at most 2^32 - 1 elements"),
            );
            items.iter().for_each(|item| encode(item, out));
        }
        Amf0Value::Date { millis, timezone } => {
            out.put_u8(marker::DATE);
            out.put_f64(*millis);
            out.put_i16(*timezone);
        }
        Amf0Value::Unsupported => out.put_u8(marker::UNSUPPORTED),
        Amf0Value::XmlDocument(text) => {
            out.put_u8(marker::XML_DOCUMENT);
            put_long_text(out, text);
        }
        Amf0Value::TypedObject { class_name, properties } => {
            out.put_u8(marker::TYPED_OBJECT);
            put_short_text(out, class_name);
            put_properties(out, properties);
        }
        Amf0Value::Avmplus(value) => {
            out.put_u8(marker::AVMPLUS);
            amf3::encode(value, out);
        }
    }
}

/// Appends the encodings of `values` one after another, as in a command message body.
///
/// # Panics
///
/// As [`encode`].
pub fn encode_all(values: &[Amf0Value], out: &mut BytesMut) {
    values.iter().for_each(|value| encode(value, out));
}

/// Writes text with a u16 length (property and class names).
fn put_short_text(out: &mut BytesMut, text: &str) {
    let len = u16::try_from(text.len()).expect("AMF0 property and class names are at most 65 535 bytes");
    out.put_u16(len);
    out.put_slice(text.as_bytes());
}

/// Writes text with a u32 length (long strings and XML documents).
fn put_long_text(out: &mut BytesMut, text: &str) {
    let len = u32::try_from(text.len()).expect("AMF0 long strings are at most 2^32 - 1 bytes");
    out.put_u32(len);
    out.put_slice(text.as_bytes());
}

/// Writes properties followed by the empty name and object-end marker.
fn put_properties(out: &mut BytesMut, properties: &AmfObject) {
    for (name, value) in properties.iter() {
        put_short_text(out, name);
        encode(value, out);
    }
    out.put_u16(0);
    out.put_u8(marker::OBJECT_END);
}

/// The state of one decode: the limits and what has been spent of the memory budget.
struct Decoder<'a> {
    limits: &'a AmfLimits,
    budget: MemoryBudget,
}

impl<'a> Decoder<'a> {
    fn new(limits: &'a AmfLimits) -> Self {
        Self { limits, budget: MemoryBudget::new(limits) }
    }

    /// Decodes one value of any type; `depth` is how many containers enclose it.
    fn value(&mut self, input: &mut &[u8], depth: usize) -> Result<Amf0Value, AmfError> {
        let type_marker = read_u8(input)?;
        self.budget.charge_output(VALUE_COST)?;
        match type_marker {
            marker::NUMBER => read_f64(input).map(Amf0Value::Number),
            marker::BOOLEAN => Ok(Amf0Value::Boolean(read_u8(input)? != 0)),
            marker::STRING => {
                let len = read_u16(input)?;
                self.text(input, usize::from(len)).map(Amf0Value::String)
            }
            marker::OBJECT => self.properties(input, depth, false).map(Amf0Value::Object),
            marker::NULL => Ok(Amf0Value::Null),
            marker::UNDEFINED => Ok(Amf0Value::Undefined),
            marker::REFERENCE => read_u16(input).map(Amf0Value::Reference),
            marker::ECMA_ARRAY => {
                // Only a hint, but a count the input cannot possibly hold is still refused.
                let declared = read_u32(input)?;
                check_count(u64::from(declared), 1, input.len(), self.limits)?;
                self.properties(input, depth, true).map(Amf0Value::EcmaArray)
            }
            marker::OBJECT_END => Err(AmfError::UnexpectedObjectEnd),
            marker::STRICT_ARRAY => self.strict_array(input, depth),
            marker::DATE => {
                let millis = read_f64(input)?;
                let timezone = read_i16(input)?;
                Ok(Amf0Value::Date { millis, timezone })
            }
            marker::LONG_STRING => self.long_text(input).map(Amf0Value::String),
            marker::UNSUPPORTED => Ok(Amf0Value::Unsupported),
            marker::XML_DOCUMENT => self.long_text(input).map(Amf0Value::XmlDocument),
            marker::TYPED_OBJECT => {
                let len = read_u16(input)?;
                let class_name = self.text(input, usize::from(len))?;
                let properties = self.properties(input, depth, false)?;
                Ok(Amf0Value::TypedObject { class_name, properties })
            }
            marker::AVMPLUS => Amf3Decoder::decode_embedded(input, self.limits, depth, &mut self.budget)
                .map(Amf0Value::Avmplus),
            marker::MOVIECLIP | marker::RECORDSET => Err(AmfError::UnknownMarker(type_marker)),
            unknown => Err(AmfError::UnknownMarker(unknown)),
        }
    }

    /// `len` bytes of UTF-8, checked against the input before allocating.
    fn text(&mut self, input: &mut &[u8], len: usize) -> Result<String, AmfError> {
        if len > input.len() {
            return Err(AmfError::Truncated);
        }
        self.budget.charge_output(len)?;
        read_utf8(input, len)
    }

    /// Text with a u32 length.
    fn long_text(&mut self, input: &mut &[u8]) -> Result<String, AmfError> {
        let len = read_u32(input)?;
        self.text(input, usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// Properties up to the empty name and object-end marker. An empty name followed by any
    /// other marker is a property with an empty name. With `end_optional` (ECMA arrays), input
    /// that ends where a name would start also ends the properties.
    fn properties(
        &mut self,
        input: &mut &[u8],
        depth: usize,
        end_optional: bool,
    ) -> Result<AmfObject, AmfError> {
        let inner = enter(depth, self.limits)?;
        let mut properties = Vec::new();
        loop {
            if end_optional && input.is_empty() {
                break;
            }
            let len = read_u16(input)?;
            if len == 0
                && let Some((&marker::OBJECT_END, rest)) = input.split_first()
            {
                *input = rest;
                break;
            }
            check_room_for_one_more(properties.len(), self.limits)?;
            let name = self.text(input, usize::from(len))?;
            self.budget.charge_output(NAME_COST)?;
            let value = self.value(input, inner)?;
            properties.push((name, value));
        }
        Ok(AmfObject(properties))
    }

    /// A strict array: a u32 count and that many values.
    fn strict_array(&mut self, input: &mut &[u8], depth: usize) -> Result<Amf0Value, AmfError> {
        let declared = read_u32(input)?;
        let count = check_count(u64::from(declared), 1, input.len(), self.limits)?;
        let inner = enter(depth, self.limits)?;
        let mut items = Vec::with_capacity(initial_capacity(count));
        for _ in 0..count {
            items.push(self.value(input, inner)?);
        }
        Ok(Amf0Value::StrictArray(items))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_strategies::amf0_value;
    use super::*;
    use crate::proto::amf::Amf3Value;

    /// Bytes from whitespace-separated hex pairs.
    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|pair| u8::from_str_radix(pair, 16).expect("test hex")).collect()
    }

    fn encoded(values: &[Amf0Value]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_all(values, &mut out);
        out.to_vec()
    }

    fn decoded_all(bytes: &[u8]) -> Result<Vec<Amf0Value>, AmfError> {
        decode_all(bytes, &AmfLimits::default())
    }

    fn decoded(bytes: &[u8]) -> Result<Amf0Value, AmfError> {
        let mut input = bytes;
        let value = decode(&mut input, &AmfLimits::default())?;
        assert!(input.is_empty(), "{} bytes left after {value:?}", input.len());
        Ok(value)
    }

    fn ffplay_connect() -> Vec<Amf0Value> {
        let properties: AmfObject = [
            ("app", Amf0Value::from("vod")),
            ("flashVer", "LNX 9,0,124,2".into()),
            ("tcUrl", "rtmp://184.72.239.149:1935/vod".into()),
            ("fpad", false.into()),
            ("capabilities", 15u32.into()),
            ("audioCodecs", 4071u32.into()),
            ("videoCodecs", 252u32.into()),
            ("videoFunction", 1u32.into()),
        ]
        .into_iter()
        .collect();
        vec!["connect".into(), 1u32.into(), Amf0Value::Object(properties)]
    }

    /// One value of every type, nested, for truncation and round-trip checks.
    fn every_type() -> Amf0Value {
        let nested: AmfObject = [("n", Amf0Value::Number(-2.5)), ("s", "text".into())].into_iter().collect();
        Amf0Value::StrictArray(vec![
            Amf0Value::Number(1.0),
            Amf0Value::Boolean(true),
            "short".into(),
            Amf0Value::Object(nested.clone()),
            Amf0Value::Null,
            Amf0Value::Undefined,
            Amf0Value::Reference(3),
            Amf0Value::EcmaArray(nested.clone()),
            Amf0Value::StrictArray(vec![Amf0Value::Null, Amf0Value::Boolean(false)]),
            Amf0Value::Date { millis: 1.5e12, timezone: -60 },
            Amf0Value::String("long".repeat(20_000)),
            Amf0Value::Unsupported,
            Amf0Value::XmlDocument("<a/>".into()),
            Amf0Value::TypedObject { class_name: "flex.Point".into(), properties: nested },
            Amf0Value::Avmplus(Amf3Value::Array { assoc: vec![], dense: vec![Amf3Value::Integer(5)] }),
        ])
    }

    #[test]
    fn create_stream_command_matches_the_wire_bytes() {
        let bytes = hex("02 00 0c 63 72 65 61 74 65 53 74 72 65 61 6d 00 40 00 00 00 00 00 00 00 05");
        let values = vec!["createStream".into(), 2u32.into(), Amf0Value::Null];
        assert_eq!(encoded(&values), bytes);
        assert_eq!(decoded_all(&bytes), Ok(values));
    }

    #[test]
    fn result_command_matches_the_wire_bytes() {
        let bytes =
            hex("02 00 07 5f 72 65 73 75 6c 74 00 40 00 00 00 00 00 00 00 05 00 3f f0 00 00 00 00 00 00");
        let values = vec!["_result".into(), 2u32.into(), Amf0Value::Null, 1u32.into()];
        assert_eq!(encoded(&values), bytes);
        assert_eq!(decoded_all(&bytes), Ok(values));
    }

    #[test]
    fn set_data_frame_with_metadata_matches_the_wire_bytes() {
        let bytes =
            hex("02 00 0d 40 73 65 74 44 61 74 61 46 72 61 6d 65 02 00 0a 6f 6e 4d 65 74 61 44 61 74 61 \
             08 00 00 00 02 00 05 77 69 64 74 68 00 40 94 00 00 00 00 00 00 \
             00 06 68 65 69 67 68 74 00 40 86 80 00 00 00 00 00 00 00 09");
        let metadata: AmfObject = [("width", 1280u32), ("height", 720u32)].into_iter().collect();
        let values = vec!["@setDataFrame".into(), "onMetaData".into(), Amf0Value::EcmaArray(metadata)];
        assert_eq!(encoded(&values), bytes);
        assert_eq!(decoded_all(&bytes), Ok(values));
    }

    #[test]
    fn ffplay_connect_command_is_199_bytes_and_round_trips() {
        let values = ffplay_connect();
        let bytes = encoded(&values);
        assert_eq!(bytes.len(), 199);
        assert_eq!(&bytes[..13], &hex("02 00 07 63 6f 6e 6e 65 63 74 00 3f f0")[..]);
        assert_eq!(&bytes[bytes.len() - 3..], &[0x00, 0x00, 0x09]);
        let decoded = decoded_all(&bytes).expect("connect decodes");
        assert_eq!(decoded, values);
        let object = decoded[2].as_object().expect("command object");
        assert_eq!(object.get_str("tcUrl"), Some("rtmp://184.72.239.149:1935/vod"));
        assert_eq!(object.get_number("audioCodecs"), Some(4071.0));
    }

    #[test]
    fn ecma_array_count_is_only_a_hint() {
        // Wowza sends count 0 with entries.
        let zero_count = hex("08 00 00 00 00 00 01 61 01 01 00 01 62 05 00 00 09");
        let expected: AmfObject =
            [("a", Amf0Value::Boolean(true)), ("b", Amf0Value::Null)].into_iter().collect();
        assert_eq!(decoded(&zero_count), Ok(Amf0Value::EcmaArray(expected.clone())));
        // A count that is too large (but possible for the input) is ignored too.
        let too_large = hex("08 00 00 00 07 00 01 61 01 01 00 01 62 05 00 00 09");
        assert_eq!(decoded(&too_large), Ok(Amf0Value::EcmaArray(expected.clone())));
        // Re-encoding writes the real count.
        assert_eq!(encoded(&[Amf0Value::EcmaArray(expected)])[1..5], [0, 0, 0, 2]);
    }

    #[test]
    fn ecma_array_without_end_marker_is_accepted_at_end_of_input() {
        let bytes = hex("08 00 00 00 01 00 01 61 00 3f f0 00 00 00 00 00 00");
        let expected: AmfObject = [("a", 1u32)].into_iter().collect();
        assert_eq!(decoded(&bytes), Ok(Amf0Value::EcmaArray(expected.clone())));
        // Inside a strict array whose elements are all there, that is still the end.
        let in_array = [hex("0a 00 00 00 01"), bytes.clone()].concat();
        assert_eq!(decoded(&in_array), Ok(Amf0Value::StrictArray(vec![Amf0Value::EcmaArray(expected)])));
        // Inside an object, the object's own end marker is missing.
        let in_object = [hex("03 00 01 6b"), bytes].concat();
        assert_eq!(decoded(&in_object), Err(AmfError::Truncated));
        // A partial end marker is still truncation.
        assert_eq!(decoded(&hex("08 00 00 00 00 00")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("08 00 00 00 00 00 00")), Err(AmfError::Truncated));
    }

    #[test]
    fn every_type_round_trips() {
        let value = every_type();
        let bytes = encoded(std::slice::from_ref(&value));
        assert_eq!(decoded(&bytes), Ok(value));
    }

    #[test]
    fn scalar_types_match_the_spec_bytes() {
        let cases = [
            (Amf0Value::Boolean(true), hex("01 01")),
            (Amf0Value::Boolean(false), hex("01 00")),
            (Amf0Value::Undefined, hex("06")),
            (Amf0Value::Reference(0x0102), hex("07 01 02")),
            (Amf0Value::Date { millis: 0.0, timezone: -1 }, hex("0b 00 00 00 00 00 00 00 00 ff ff")),
            (Amf0Value::Unsupported, hex("0d")),
            (Amf0Value::XmlDocument("<x/>".into()), hex("0f 00 00 00 04 3c 78 2f 3e")),
            (
                Amf0Value::TypedObject { class_name: "C".into(), properties: AmfObject::new() },
                hex("10 00 01 43 00 00 09"),
            ),
            (Amf0Value::StrictArray(vec![Amf0Value::Null]), hex("0a 00 00 00 01 05")),
            (Amf0Value::Avmplus(Amf3Value::Integer(1)), hex("11 04 01")),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded(std::slice::from_ref(&value)), bytes, "encoding {value:?}");
            assert_eq!(decoded(&bytes), Ok(value));
        }
        // Any non-zero boolean byte is true.
        assert_eq!(decoded(&hex("01 7f")), Ok(Amf0Value::Boolean(true)));
    }

    #[test]
    fn long_strings_switch_marker_at_65536_bytes() {
        let at_limit = "x".repeat(65_535);
        let bytes = encoded(&[at_limit.clone().into()]);
        assert_eq!(&bytes[..3], &[0x02, 0xff, 0xff]);
        assert_eq!(decoded(&bytes), Ok(at_limit.into()));

        let over = "y".repeat(65_536);
        let bytes = encoded(&[over.clone().into()]);
        assert_eq!(&bytes[..5], &[0x0c, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!(bytes.len(), 5 + 65_536);
        assert_eq!(decoded(&bytes), Ok(over.into()));

        // A short text sent as a long string decodes to the same value.
        assert_eq!(decoded(&hex("0c 00 00 00 02 68 69")), Ok("hi".into()));
    }

    #[test]
    fn reserved_and_unknown_markers_are_refused() {
        assert_eq!(decoded(&hex("04")), Err(AmfError::UnknownMarker(0x04)));
        assert_eq!(decoded(&hex("0e")), Err(AmfError::UnknownMarker(0x0e)));
        assert_eq!(decoded(&hex("12")), Err(AmfError::UnknownMarker(0x12)));
        assert_eq!(decoded(&hex("ff")), Err(AmfError::UnknownMarker(0xff)));
    }

    #[test]
    fn object_end_outside_an_object_is_refused() {
        assert_eq!(decoded(&hex("09")), Err(AmfError::UnexpectedObjectEnd));
        assert_eq!(decoded(&hex("0a 00 00 00 01 09")), Err(AmfError::UnexpectedObjectEnd));
        // A property value may not be an object end either.
        assert_eq!(decoded(&hex("03 00 01 61 09")), Err(AmfError::UnexpectedObjectEnd));
    }

    #[test]
    fn empty_name_followed_by_a_value_is_a_property() {
        let bytes = hex("03 00 00 05 00 00 09");
        let expected: AmfObject = [("", Amf0Value::Null)].into_iter().collect();
        assert_eq!(decoded(&bytes), Ok(Amf0Value::Object(expected.clone())));
        assert_eq!(encoded(&[Amf0Value::Object(expected)]), bytes);
    }

    #[test]
    fn every_truncation_of_a_valid_encoding_is_an_error() {
        // Each sample with the offsets where one of its values ends.
        let samples = [(encoded(&ffplay_connect()), vec![10, 19]), (encoded(&[every_type()]), vec![])];
        for (bytes, value_ends) in samples {
            for cut in 1..bytes.len() {
                let first_value_complete = value_ends.first().is_some_and(|&end| cut >= end);
                let result = decode(&mut &bytes[..cut], &AmfLimits::default());
                assert_eq!(
                    result.is_ok(),
                    first_value_complete,
                    "cut at {cut} of {}: {result:?}",
                    bytes.len()
                );
                let all = decode_all(&bytes[..cut], &AmfLimits::default());
                assert_eq!(
                    all.is_ok(),
                    value_ends.contains(&cut),
                    "cut at {cut} of {}: {all:?}",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn truncated_top_level_ecma_array_ends_at_an_entry_or_errors() {
        // The one documented leniency: an ECMA array may end with the input after an entry.
        let bytes = encoded(&[Amf0Value::EcmaArray([("a", 1u32), ("bb", 2u32)].into_iter().collect())]);
        let entry_ends = [5 + 3 + 9, 5 + 3 + 9 + 4 + 9, bytes.len()];
        for cut in 0..=bytes.len() {
            let result = decoded(&bytes[..cut]);
            assert_eq!(result.is_ok(), entry_ends.contains(&cut), "cut at {cut}: {result:?}");
        }
    }

    #[test]
    fn huge_declared_lengths_fail_fast() {
        assert_eq!(decoded(&hex("0c ff ff ff ff")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("08 ff ff ff ff")), Err(AmfError::TooManyEntries(0xffff_ffff)));
        assert_eq!(decoded(&hex("0a ff ff ff ff")), Err(AmfError::TooManyEntries(0xffff_ffff)));
        assert_eq!(decoded(&hex("0f ff ff ff ff 3c")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("02 ff ff 61")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("10 ff ff")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("03 ff ff")), Err(AmfError::Truncated));
    }

    #[test]
    fn counts_beyond_the_input_are_refused_even_under_the_entry_limit() {
        // Three elements declared, two bytes left.
        assert_eq!(decoded(&hex("0a 00 00 00 03 05 05")), Err(AmfError::TooManyEntries(3)));
        assert_eq!(decoded(&hex("08 00 00 01 00 00 00 09")), Err(AmfError::TooManyEntries(256)));
    }

    #[test]
    fn entry_limit_applies_to_objects_without_a_count() {
        let limits = AmfLimits { max_entries: 2, ..AmfLimits::default() };
        let two: AmfObject = [("a", 1u32), ("b", 2u32)].into_iter().collect();
        let mut three = two.clone();
        three.insert("c", 3u32);
        for wrap in [Amf0Value::Object, Amf0Value::EcmaArray] {
            let ok = encoded(&[wrap(two.clone())]);
            assert!(decode(&mut ok.as_slice(), &limits).is_ok());
            let too_many = encoded(&[wrap(three.clone())]);
            assert_eq!(decode(&mut too_many.as_slice(), &limits), Err(AmfError::TooManyEntries(3)));
        }
        let array = encoded(&[Amf0Value::StrictArray(vec![Amf0Value::Null; 3])]);
        assert_eq!(decode(&mut array.as_slice(), &limits), Err(AmfError::TooManyEntries(3)));
    }

    #[test]
    fn ten_thousand_nested_objects_fail_with_too_deep() {
        let bytes = hex("03 00 01 61").repeat(10_000);
        assert_eq!(decoded(&bytes), Err(AmfError::TooDeep(64)));
        let arrays = hex("0a 00 00 00 01").repeat(10_000);
        assert_eq!(decoded(&arrays), Err(AmfError::TooDeep(64)));
        let ecma = hex("08 00 00 00 01 00 01 61").repeat(10_000);
        assert_eq!(decoded(&ecma), Err(AmfError::TooDeep(64)));
    }

    #[test]
    fn depth_limit_is_exact() {
        let limits = AmfLimits { max_depth: 3, ..AmfLimits::default() };
        let nest = |levels: usize| [hex("0a 00 00 00 01").repeat(levels), hex("05")].concat();
        assert!(decode(&mut nest(3).as_slice(), &limits).is_ok());
        assert_eq!(decode(&mut nest(4).as_slice(), &limits), Err(AmfError::TooDeep(3)));
        // AMF3 values embedded with avmplus count toward the same depth.
        let mixed = [hex("0a 00 00 00 01 0a 00 00 00 01 11 09 03 01 09 03 01"), hex("01")].concat();
        assert_eq!(decode(&mut mixed.as_slice(), &limits), Err(AmfError::TooDeep(3)));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(decoded(&hex("02 00 02 c3 28")), Err(AmfError::InvalidUtf8));
        assert_eq!(decoded(&hex("03 00 01 ff 05 00 00 09")), Err(AmfError::InvalidUtf8));
        assert_eq!(decoded(&hex("0c 00 00 00 01 80")), Err(AmfError::InvalidUtf8));
    }

    #[test]
    fn decode_advances_past_exactly_one_value() {
        let bytes = encoded(&ffplay_connect());
        let mut input = bytes.as_slice();
        assert_eq!(decode(&mut input, &AmfLimits::default()), Ok("connect".into()));
        assert_eq!(input.len(), bytes.len() - 10);
        assert_eq!(decode(&mut input, &AmfLimits::default()), Ok(1u32.into()));
        assert!(decode(&mut input, &AmfLimits::default()).is_ok());
        assert!(input.is_empty());
        assert_eq!(decode(&mut input, &AmfLimits::default()), Err(AmfError::Truncated));
    }

    #[test]
    fn avmplus_switches_to_amf3_for_one_value() {
        let bytes = hex("11 06 07 61 62 63 02 00 01 64");
        assert_eq!(
            decoded_all(&bytes),
            Ok(vec![Amf0Value::Avmplus(Amf3Value::String("abc".into())), "d".into()])
        );
        assert_eq!(
            decoded_all(&bytes).map(|values| values[0].as_str().map(str::to_owned)),
            Ok(Some("abc".into()))
        );
        // Each switch starts with fresh AMF3 reference tables.
        let reference = hex("11 06 07 61 62 63 11 06 00");
        assert_eq!(decoded_all(&reference), Err(AmfError::BadReference(0)));
        assert_eq!(decoded(&hex("11")), Err(AmfError::Truncated));
    }

    #[test]
    fn memory_budget_covers_all_values_of_decode_all() {
        let limits = AmfLimits { max_decoded_bytes: 4096, ..AmfLimits::default() };
        let one = encoded(&["x".repeat(3000).into()]);
        assert!(decode_all(&one, &limits).is_ok());
        let two = one.repeat(2);
        assert_eq!(decode_all(&two, &limits), Err(AmfError::TooLarge(4096)));
    }

    #[test]
    fn encode_all_concatenates() {
        let values = ffplay_connect();
        let mut one_by_one = BytesMut::new();
        values.iter().for_each(|value| encode(value, &mut one_by_one));
        assert_eq!(encoded(&values), one_by_one.to_vec());
    }

    proptest! {
        #[test]
        fn any_value_round_trips(value in amf0_value()) {
            let bytes = encoded(std::slice::from_ref(&value));
            prop_assert_eq!(decoded(&bytes), Ok(value));
        }

        #[test]
        fn mutated_encodings_never_panic(
            value in amf0_value(),
            mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..5),
        ) {
            let mut bytes = encoded(&[value]);
            for (index, byte) in mutations {
                let at = index.index(bytes.len());
                bytes[at] = byte;
            }
            if let Ok(values) = decode_all(&bytes, &AmfLimits::default())
                && !values.iter().any(Amf0Value::contains_nan)
            {
                prop_assert_eq!(decoded_all(&encoded(&values)), Ok(values));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(values) = decode_all(&bytes, &AmfLimits::default())
                && !values.iter().any(Amf0Value::contains_nan)
            {
                prop_assert_eq!(decoded_all(&encoded(&values)), Ok(values));
            }
        }
    }
}
