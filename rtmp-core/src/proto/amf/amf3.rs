//! AMF3 (Adobe "AMF 3 Specification", 2013): the value model and the public entry points.
//!
//! Decoding resolves string, object and traits references into owned values, so a decoded
//! [`Amf3Value`] is a plain tree; the encoder writes everything inline (no references), which
//! every AMF3 reader accepts and which decodes back to the same tree.

use bytes::BytesMut;

pub use super::amf3_decode::Decoder;
use super::{AmfError, AmfLimits};

/// One AMF3 value.
///
/// Complex values (everything from [`Amf3Value::XmlDocument`] on) may be sent as references to
/// an earlier value; the decoder replaces each reference with a copy of what it points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf3Value {
    /// 0x00
    Undefined,
    /// 0x01
    Null,
    /// 0x02 / 0x03
    Boolean(bool),
    /// 0x04: a 29-bit signed integer. Integers outside -2^28..2^28 are encoded as doubles.
    Integer(i32),
    /// 0x05
    Double(f64),
    /// 0x06
    String(String),
    /// 0x07: a legacy `flash.xml.XMLDocument`, as text.
    XmlDocument(String),
    /// 0x08: milliseconds since 1970-01-01 UTC (no time zone is sent).
    Date(f64),
    /// 0x09: an ActionScript array: named entries first, then the dense (indexed) part.
    Array {
        /// The associative part, in the order sent. Entries with an empty name cannot be
        /// encoded (the empty name ends the list) and are skipped by the encoder.
        assoc: Vec<(String, Amf3Value)>,
        /// The dense part, index 0 first.
        dense: Vec<Amf3Value>,
    },
    /// 0x0A: an object with sealed members (declared by its class traits) and, when the traits
    /// are dynamic, dynamic members.
    Object {
        /// The class alias; empty for an anonymous object.
        class_name: String,
        /// The sealed members in trait order.
        sealed: Vec<(String, Amf3Value)>,
        /// `Some` when the traits are dynamic: the dynamic members in the order sent. Members
        /// with an empty name cannot be encoded (the empty name ends the list) and are skipped
        /// by the encoder.
        dynamic: Option<Vec<(String, Amf3Value)>>,
    },
    /// 0x0B: an E4X `XML` value, as text.
    Xml(String),
    /// 0x0C: a `flash.utils.ByteArray`.
    ByteArray(Vec<u8>),
    /// 0x0D: a `Vector.<int>`.
    VectorInt {
        /// True for a fixed-length vector.
        fixed: bool,
        /// The elements.
        items: Vec<i32>,
    },
    /// 0x0E: a `Vector.<uint>`.
    VectorUint {
        /// True for a fixed-length vector.
        fixed: bool,
        /// The elements.
        items: Vec<u32>,
    },
    /// 0x0F: a `Vector.<Number>`.
    VectorDouble {
        /// True for a fixed-length vector.
        fixed: bool,
        /// The elements.
        items: Vec<f64>,
    },
    /// 0x10: a `Vector.<T>` of objects.
    VectorObject {
        /// True for a fixed-length vector.
        fixed: bool,
        /// The element class alias; `"*"` (or empty) for any type.
        type_name: String,
        /// The elements.
        items: Vec<Amf3Value>,
    },
    /// 0x11: a `flash.utils.Dictionary`, whose keys may be any value.
    Dictionary {
        /// True when the dictionary holds its keys weakly.
        weak_keys: bool,
        /// The key-value pairs in the order sent.
        entries: Vec<(Amf3Value, Amf3Value)>,
    },
}

impl Amf3Value {
    /// True when a NaN double appears anywhere in the value: NaN is not equal to itself, so
    /// such values cannot be compared after a round trip.
    pub fn contains_nan(&self) -> bool {
        match self {
            Self::Double(d) | Self::Date(d) => d.is_nan(),
            Self::VectorDouble { items, .. } => items.iter().any(|d| d.is_nan()),
            Self::Array { assoc, dense } => {
                assoc.iter().any(|(_, v)| v.contains_nan()) || dense.iter().any(Self::contains_nan)
            }
            Self::Object { sealed, dynamic, .. } => {
                sealed.iter().chain(dynamic.iter().flatten()).any(|(_, v)| v.contains_nan())
            }
            Self::VectorObject { items, .. } => items.iter().any(Self::contains_nan),
            Self::Dictionary { entries, .. } => {
                entries.iter().any(|(k, v)| k.contains_nan() || v.contains_nan())
            }
            Self::Undefined
            | Self::Null
            | Self::Boolean(_)
            | Self::Integer(_)
            | Self::String(_)
            | Self::XmlDocument(_)
            | Self::Xml(_)
            | Self::ByteArray(_)
            | Self::VectorInt { .. }
            | Self::VectorUint { .. } => false,
        }
    }
}

/// The AMF3 type markers.
pub(super) mod marker {
    pub(crate) const UNDEFINED: u8 = 0x00;
    pub(crate) const NULL: u8 = 0x01;
    pub(crate) const FALSE: u8 = 0x02;
    pub(crate) const TRUE: u8 = 0x03;
    pub(crate) const INTEGER: u8 = 0x04;
    pub(crate) const DOUBLE: u8 = 0x05;
    pub(crate) const STRING: u8 = 0x06;
    pub(crate) const XML_DOCUMENT: u8 = 0x07;
    pub(crate) const DATE: u8 = 0x08;
    pub(crate) const ARRAY: u8 = 0x09;
    pub(crate) const OBJECT: u8 = 0x0A;
    pub(crate) const XML: u8 = 0x0B;
    pub(crate) const BYTE_ARRAY: u8 = 0x0C;
    pub(crate) const VECTOR_INT: u8 = 0x0D;
    pub(crate) const VECTOR_UINT: u8 = 0x0E;
    pub(crate) const VECTOR_DOUBLE: u8 = 0x0F;
    pub(crate) const VECTOR_OBJECT: u8 = 0x10;
    pub(crate) const DICTIONARY: u8 = 0x11;
}

/// Decodes one value from the front of `input`, advancing it, with fresh reference tables.
/// Use a [`Decoder`] when several values share one set of tables. After an error, `input` is
/// left somewhere inside the bad value.
pub fn decode(input: &mut &[u8], limits: &AmfLimits) -> Result<Amf3Value, AmfError> {
    Decoder::new(*limits).decode(input)
}

/// Appends the encoding of `value` to `out`, writing every string, traits and object inline.
///
/// # Panics
///
/// If a string, byte array or collection is too long for AMF3 (2^28 - 1 bytes or elements;
/// 2^25 - 1 sealed members) — such values cannot be represented.
pub fn encode(value: &Amf3Value, out: &mut BytesMut) {
    super::amf3_encode::encode_value(value, out);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_strategies::amf3_value;
    use super::super::u29::{I29_MAX, I29_MIN};
    use super::*;

    /// Bytes from whitespace-separated hex pairs.
    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|pair| u8::from_str_radix(pair, 16).expect("test hex")).collect()
    }

    fn encoded(value: &Amf3Value) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(value, &mut out);
        out.to_vec()
    }

    fn decoded(bytes: &[u8]) -> Result<Amf3Value, AmfError> {
        decoded_with(bytes, &AmfLimits::default())
    }

    fn decoded_with(bytes: &[u8], limits: &AmfLimits) -> Result<Amf3Value, AmfError> {
        let mut input = bytes;
        let value = decode(&mut input, limits)?;
        assert!(input.is_empty(), "{} bytes left after the value", input.len());
        Ok(value)
    }

    fn string(text: &str) -> Amf3Value {
        Amf3Value::String(text.into())
    }

    fn dense(items: Vec<Amf3Value>) -> Amf3Value {
        Amf3Value::Array { assoc: vec![], dense: items }
    }

    fn point(x: i32, y: i32) -> Amf3Value {
        Amf3Value::Object {
            class_name: "P".into(),
            sealed: vec![("x".into(), Amf3Value::Integer(x)), ("y".into(), Amf3Value::Integer(y))],
            dynamic: None,
        }
    }

    fn anonymous(members: Vec<(&str, Amf3Value)>) -> Amf3Value {
        Amf3Value::Object {
            class_name: String::new(),
            sealed: vec![],
            dynamic: Some(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
        }
    }

    /// One value of every type, nested.
    fn every_type() -> Amf3Value {
        Amf3Value::Array {
            assoc: vec![("key".into(), Amf3Value::Boolean(true))],
            dense: vec![
                Amf3Value::Undefined,
                Amf3Value::Null,
                Amf3Value::Boolean(false),
                Amf3Value::Integer(-1),
                Amf3Value::Double(0.5),
                string("text"),
                Amf3Value::XmlDocument("<a/>".into()),
                Amf3Value::Date(1.5e12),
                point(1, 2),
                anonymous(vec![("a", string(""))]),
                Amf3Value::Xml("<b/>".into()),
                Amf3Value::ByteArray(vec![1, 2, 3]),
                Amf3Value::VectorInt { fixed: false, items: vec![1, -1] },
                Amf3Value::VectorUint { fixed: true, items: vec![u32::MAX] },
                Amf3Value::VectorDouble { fixed: false, items: vec![1.0, -0.0] },
                Amf3Value::VectorObject { fixed: true, type_name: "*".into(), items: vec![Amf3Value::Null] },
                Amf3Value::Dictionary {
                    weak_keys: true,
                    entries: vec![(Amf3Value::Integer(1), string("one"))],
                },
            ],
        }
    }

    #[test]
    fn scalars_match_the_spec_bytes() {
        let cases = [
            (Amf3Value::Undefined, hex("00")),
            (Amf3Value::Null, hex("01")),
            (Amf3Value::Boolean(false), hex("02")),
            (Amf3Value::Boolean(true), hex("03")),
            (Amf3Value::Integer(0), hex("04 00")),
            (Amf3Value::Integer(0x80), hex("04 81 00")),
            (Amf3Value::Integer(-1), hex("04 ff ff ff ff")),
            (Amf3Value::Integer(I29_MAX), hex("04 bf ff ff ff")),
            (Amf3Value::Integer(I29_MIN), hex("04 c0 80 80 00")),
            (Amf3Value::Double(1.0), hex("05 3f f0 00 00 00 00 00 00")),
            (string(""), hex("06 01")),
            (string("abc"), hex("06 07 61 62 63")),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded(&value), bytes, "encoding {value:?}");
            assert_eq!(decoded(&bytes), Ok(value));
        }
    }

    #[test]
    fn integers_outside_29_bits_encode_as_doubles() {
        assert_eq!(encoded(&Amf3Value::Integer(1 << 28)), hex("05 41 b0 00 00 00 00 00 00"));
        assert_eq!(decoded(&encoded(&Amf3Value::Integer(1 << 28))), Ok(Amf3Value::Double(268_435_456.0)));
        assert_eq!(
            decoded(&encoded(&Amf3Value::Integer(I29_MIN - 1))),
            Ok(Amf3Value::Double(-268_435_457.0))
        );
        assert_eq!(encoded(&Amf3Value::Integer(i32::MIN)), hex("05 c1 e0 00 00 00 00 00 00"));
        assert_eq!(encoded(&Amf3Value::Integer(i32::MAX))[0], marker::DOUBLE);
    }

    #[test]
    fn complex_types_match_the_spec_bytes() {
        let cases = [
            (Amf3Value::XmlDocument("<a/>".into()), hex("07 09 3c 61 2f 3e")),
            (Amf3Value::Date(0.0), hex("08 01 00 00 00 00 00 00 00 00")),
            (Amf3Value::Xml("<a/>".into()), hex("0b 09 3c 61 2f 3e")),
            (Amf3Value::ByteArray(vec![1, 2, 3]), hex("0c 07 01 02 03")),
            (
                Amf3Value::VectorInt { fixed: false, items: vec![1, -1] },
                hex("0d 05 00 00 00 00 01 ff ff ff ff"),
            ),
            (Amf3Value::VectorUint { fixed: true, items: vec![u32::MAX] }, hex("0e 03 01 ff ff ff ff")),
            (
                Amf3Value::VectorDouble { fixed: false, items: vec![1.0] },
                hex("0f 03 00 3f f0 00 00 00 00 00 00"),
            ),
            (
                Amf3Value::VectorObject {
                    fixed: false,
                    type_name: "*".into(),
                    items: vec![string("a"), Amf3Value::Null],
                },
                hex("10 05 00 03 2a 06 03 61 01"),
            ),
            (
                Amf3Value::Dictionary {
                    weak_keys: false,
                    entries: vec![(string("k"), Amf3Value::Integer(5))],
                },
                hex("11 03 00 06 03 6b 04 05"),
            ),
            (dense(vec![Amf3Value::Integer(1)]), hex("09 03 01 04 01")),
            (
                Amf3Value::Array { assoc: vec![("a".into(), Amf3Value::Null)], dense: vec![] },
                hex("09 01 03 61 01 01"),
            ),
            (anonymous(vec![("a", Amf3Value::Integer(1))]), hex("0a 0b 01 03 61 04 01 01")),
            (point(1, 2), hex("0a 23 03 50 03 78 03 79 04 01 04 02")),
        ];
        for (value, bytes) in cases {
            assert_eq!(encoded(&value), bytes, "encoding {value:?}");
            assert_eq!(decoded(&bytes), Ok(value));
        }
    }

    #[test]
    fn string_references_resolve_and_skip_the_empty_string() {
        assert_eq!(
            decoded(&hex("09 05 01 06 07 61 62 63 06 00")),
            Ok(dense(vec![string("abc"), string("abc")]))
        );
        // "" is never added to the table, so reference 0 is "abc".
        assert_eq!(
            decoded(&hex("09 07 01 06 01 06 07 61 62 63 06 00")),
            Ok(dense(vec![string(""), string("abc"), string("abc")]))
        );
        // Member names share the table with string values.
        assert_eq!(
            decoded(&hex("09 05 01 0a 0b 01 03 61 04 01 01 06 00")),
            Ok(dense(vec![anonymous(vec![("a", Amf3Value::Integer(1))]), string("a")]))
        );
    }

    #[test]
    fn object_references_resolve_to_copies() {
        let object = anonymous(vec![("a", Amf3Value::Integer(1))]);
        assert_eq!(
            decoded(&hex("09 05 01 0a 0b 01 03 61 04 01 01 0a 02")),
            Ok(dense(vec![object.clone(), object]))
        );
        // Dates, byte arrays and vectors are in the object table too; index 0 is the array.
        assert_eq!(
            decoded(&hex("09 07 01 08 01 00 00 00 00 00 00 00 00 0c 03 ff 08 02")),
            Ok(dense(vec![Amf3Value::Date(0.0), Amf3Value::ByteArray(vec![0xff]), Amf3Value::Date(0.0)]))
        );
    }

    #[test]
    fn traits_references_reuse_class_and_member_names() {
        let bytes = hex("09 05 01 0a 23 03 50 03 78 03 79 04 01 04 02 0a 01 04 03 04 04");
        assert_eq!(decoded(&bytes), Ok(dense(vec![point(1, 2), point(3, 4)])));
    }

    #[test]
    fn references_to_unknown_entries_are_bad() {
        assert_eq!(decoded(&hex("06 02")), Err(AmfError::BadReference(1)));
        assert_eq!(decoded(&hex("09 02")), Err(AmfError::BadReference(1)));
        assert_eq!(decoded(&hex("0a 05")), Err(AmfError::BadReference(1)));
        assert_eq!(decoded(&hex("0a 01")), Err(AmfError::BadReference(0)));
    }

    #[test]
    fn a_reference_to_an_enclosing_object_is_a_cycle() {
        assert_eq!(decoded(&hex("0a 0b 01 03 61 0a 00 01")), Err(AmfError::CyclicReference(0)));
        assert_eq!(decoded(&hex("09 03 01 09 00")), Err(AmfError::CyclicReference(0)));
    }

    #[test]
    fn externalizable_objects_are_refused_by_class_name() {
        let class = "flex.messaging.io.ArrayCollection";
        let bytes = [hex("0a 07 43"), class.as_bytes().to_vec(), hex("09 01 01")].concat();
        assert_eq!(decoded(&bytes), Err(AmfError::Externalizable(class.into())));
    }

    #[test]
    fn decoder_keeps_tables_across_values_until_reset() {
        let mut decoder = Decoder::default();
        let mut input: &[u8] = &hex("06 07 61 62 63 06 00 0a 0b 01 03 61 01 01 0a 00");
        assert_eq!(decoder.decode(&mut input), Ok(string("abc")));
        assert_eq!(decoder.decode(&mut input), Ok(string("abc")));
        let object = anonymous(vec![("a", Amf3Value::Null)]);
        assert_eq!(decoder.decode(&mut input), Ok(object.clone()));
        assert_eq!(decoder.decode(&mut input), Ok(object));
        assert!(input.is_empty());

        // The free function starts fresh every time.
        assert_eq!(decoded(&hex("06 00")), Err(AmfError::BadReference(0)));

        decoder.reset();
        assert_eq!(decoder.decode(&mut &hex("06 00")[..]), Err(AmfError::BadReference(0)));
        // An error resets the tables too.
        assert_eq!(decoder.decode(&mut &hex("06 03 61")[..]), Ok(string("a")));
        assert_eq!(decoder.decode(&mut &hex("09 02")[..]), Err(AmfError::BadReference(1)));
        assert_eq!(decoder.decode(&mut &hex("06 00")[..]), Err(AmfError::BadReference(0)));
    }

    #[test]
    fn every_type_round_trips() {
        let value = every_type();
        assert_eq!(decoded(&encoded(&value)), Ok(value));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let samples = [
            encoded(&every_type()),
            hex("09 05 01 0a 23 03 50 03 78 03 79 04 01 04 02 0a 01 04 03 04 04"),
            hex("09 05 01 0a 0b 01 03 61 04 01 01 0a 02"),
        ];
        for bytes in samples {
            for cut in 0..bytes.len() {
                let result = decoded(&bytes[..cut]);
                assert!(result.is_err(), "cut at {cut} of {} decoded {result:?}", bytes.len());
            }
        }
    }

    #[test]
    fn huge_declared_lengths_fail_fast() {
        assert_eq!(decoded(&hex("06 ff ff ff ff")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("0c ff ff ff ff")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("07 ff ff ff ff 3c")), Err(AmfError::Truncated));
        assert_eq!(decoded(&hex("09 ff ff ff ff 01")), Err(AmfError::TooManyEntries(0x0fff_ffff)));
        assert_eq!(decoded(&hex("0d ff ff ff ff 00")), Err(AmfError::TooManyEntries(0x0fff_ffff)));
        assert_eq!(decoded(&hex("0f ff ff ff ff 00")), Err(AmfError::TooManyEntries(0x0fff_ffff)));
        assert_eq!(decoded(&hex("10 ff ff ff ff 00 01")), Err(AmfError::TooManyEntries(0x0fff_ffff)));
        assert_eq!(decoded(&hex("11 ff ff ff ff 00")), Err(AmfError::TooManyEntries(0x0fff_ffff)));
        assert_eq!(decoded(&hex("0a ff ff ff f3 01")), Err(AmfError::TooManyEntries(0x01ff_ffff)));
        // Vectors need 4 or 8 bytes per element.
        assert_eq!(decoded(&hex("0d 05 00 00 00 00 01 ff")), Err(AmfError::TooManyEntries(2)));
    }

    #[test]
    fn ten_thousand_nested_values_fail_with_too_deep() {
        assert_eq!(decoded(&hex("09 03 01").repeat(10_000)), Err(AmfError::TooDeep(64)));
        assert_eq!(decoded(&hex("0a 0b 01 03 61").repeat(10_000)), Err(AmfError::TooDeep(64)));
        assert_eq!(decoded(&hex("11 03 00 01").repeat(10_000)), Err(AmfError::TooDeep(64)));
        assert_eq!(decoded(&hex("10 03 00 01").repeat(10_000)), Err(AmfError::TooDeep(64)));
    }

    #[test]
    fn references_cannot_nest_past_the_depth_limit() {
        // A flat array whose element k is [element k-1]: each is written at depth 1, but the
        // copies nest one level deeper each time.
        let count = 100u32;
        let mut bytes = vec![marker::ARRAY];
        super::super::u29::put_u29(&mut bytes, (count << 1) | 1);
        bytes.extend(hex("01 09 01 01"));
        for previous in 1..count {
            bytes.extend(hex("09 03 01 09"));
            super::super::u29::put_u29(&mut bytes, previous << 1);
        }
        assert_eq!(decoded(&bytes), Err(AmfError::TooDeep(64)));
        let deep_enough = AmfLimits { max_depth: 128, ..AmfLimits::default() };
        assert!(decoded_with(&bytes, &deep_enough).is_ok());
    }

    #[test]
    fn reference_expansion_is_bounded_by_the_memory_budget() {
        // Element 0 is a 100-byte array; element k is [element k-1, element k-1], doubling.
        let count = 40u32;
        let mut bytes = vec![marker::ARRAY];
        super::super::u29::put_u29(&mut bytes, (count << 1) | 1);
        bytes.extend(hex("01 0c"));
        super::super::u29::put_u29(&mut bytes, (100 << 1) | 1);
        bytes.extend([0u8; 100]);
        for previous in 1..count {
            bytes.extend(hex("09 05 01"));
            for _ in 0..2 {
                bytes.push(marker::ARRAY);
                super::super::u29::put_u29(&mut bytes, previous << 1);
            }
        }
        assert!(bytes.len() < 400);
        assert_eq!(decoded(&bytes), Err(AmfError::TooLarge(64 << 20)));

        // Many references to one large byte array hit a small budget too.
        let limits = AmfLimits { max_decoded_bytes: 100_000, ..AmfLimits::default() };
        let mut flat = vec![marker::ARRAY];
        super::super::u29::put_u29(&mut flat, (400 << 1) | 1);
        flat.extend(hex("01 0c"));
        super::super::u29::put_u29(&mut flat, (1000 << 1) | 1);
        flat.extend([7u8; 1000]);
        flat.extend(hex("0c 02").repeat(399));
        assert_eq!(decoded_with(&flat, &limits), Err(AmfError::TooLarge(100_000)));
        assert!(decoded(&flat).is_ok());
    }

    #[test]
    fn invalid_utf8_and_unknown_markers_are_refused() {
        assert_eq!(decoded(&hex("06 05 c3 28")), Err(AmfError::InvalidUtf8));
        assert_eq!(decoded(&hex("0b 03 ff")), Err(AmfError::InvalidUtf8));
        assert_eq!(decoded(&hex("0a 0b 01 03 ff 01 01")), Err(AmfError::InvalidUtf8));
        assert_eq!(decoded(&hex("12")), Err(AmfError::UnknownMarker(0x12)));
        assert_eq!(decoded(&hex("ff")), Err(AmfError::UnknownMarker(0xff)));
    }

    #[test]
    fn empty_dynamic_names_are_skipped_by_the_encoder() {
        let value = anonymous(vec![("", Amf3Value::Null), ("a", Amf3Value::Null)]);
        assert_eq!(decoded(&encoded(&value)), Ok(anonymous(vec![("a", Amf3Value::Null)])));
    }

    #[test]
    fn contains_nan_looks_inside_containers() {
        assert!(!every_type().contains_nan());
        assert!(dense(vec![Amf3Value::Double(f64::NAN)]).contains_nan());
        assert!(Amf3Value::VectorDouble { fixed: false, items: vec![f64::NAN] }.contains_nan());
        let dictionary = Amf3Value::Dictionary {
            weak_keys: false,
            entries: vec![(Amf3Value::Date(f64::NAN), Amf3Value::Null)],
        };
        assert!(dictionary.contains_nan());
    }

    proptest! {
        #[test]
        fn any_value_round_trips(value in amf3_value()) {
            prop_assert_eq!(decoded(&encoded(&value)), Ok(value));
        }

        #[test]
        fn mutated_encodings_never_panic(
            value in amf3_value(),
            mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..5),
        ) {
            let mut bytes = encoded(&value);
            for (index, byte) in mutations {
                let at = index.index(bytes.len());
                bytes[at] = byte;
            }
            if let Ok(decoded_value) = decode(&mut bytes.as_slice(), &AmfLimits::default())
                && !decoded_value.contains_nan()
            {
                prop_assert_eq!(decoded(&encoded(&decoded_value)), Ok(decoded_value));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(value) = decode(&mut bytes.as_slice(), &AmfLimits::default())
                && !value.contains_nan()
            {
                prop_assert_eq!(decoded(&encoded(&value)), Ok(value));
            }
        }
    }
}
