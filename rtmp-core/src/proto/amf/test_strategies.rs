//! proptest strategies for AMF0 and AMF3 values, shared by the round-trip properties.
//!
//! Generated values avoid what the formats cannot carry: NaN (not equal to itself), AMF3
//! integers outside 29 bits (encoded as doubles), and empty names in AMF3 dynamic members and
//! associative arrays (the empty name ends those lists).

use proptest::collection::vec;
use proptest::prelude::*;

use super::u29::{I29_MAX, I29_MIN};
use super::{Amf0Value, Amf3Value, AmfObject};

/// Any double but NaN.
pub(super) fn comparable_f64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never compares equal", |d| !d.is_nan())
}

/// Short text, any Unicode.
fn text() -> impl Strategy<Value = String> {
    ".{0,12}"
}

/// Short text that is not empty.
fn name() -> impl Strategy<Value = String> {
    ".{1,12}"
}

/// Any AMF3 value, nested a few levels.
pub(super) fn amf3_value() -> impl Strategy<Value = Amf3Value> {
    let leaf = prop_oneof![
        Just(Amf3Value::Undefined),
        Just(Amf3Value::Null),
        any::<bool>().prop_map(Amf3Value::Boolean),
        (I29_MIN..=I29_MAX).prop_map(Amf3Value::Integer),
        comparable_f64().prop_map(Amf3Value::Double),
        text().prop_map(Amf3Value::String),
        text().prop_map(Amf3Value::XmlDocument),
        comparable_f64().prop_map(Amf3Value::Date),
        text().prop_map(Amf3Value::Xml),
        vec(any::<u8>(), 0..16).prop_map(Amf3Value::ByteArray),
        (any::<bool>(), vec(any::<i32>(), 0..6))
            .prop_map(|(fixed, items)| Amf3Value::VectorInt { fixed, items }),
        (any::<bool>(), vec(any::<u32>(), 0..6))
            .prop_map(|(fixed, items)| Amf3Value::VectorUint { fixed, items }),
        (any::<bool>(), vec(comparable_f64(), 0..6))
            .prop_map(|(fixed, items)| Amf3Value::VectorDouble { fixed, items }),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            (vec((name(), inner.clone()), 0..4), vec(inner.clone(), 0..5))
                .prop_map(|(assoc, dense)| Amf3Value::Array { assoc, dense }),
            (
                text(),
                vec((text(), inner.clone()), 0..4),
                proptest::option::of(vec((name(), inner.clone()), 0..4))
            )
                .prop_map(|(class_name, sealed, dynamic)| Amf3Value::Object {
                    class_name,
                    sealed,
                    dynamic
                }),
            (any::<bool>(), text(), vec(inner.clone(), 0..4))
                .prop_map(|(fixed, type_name, items)| Amf3Value::VectorObject { fixed, type_name, items }),
            (any::<bool>(), vec((inner.clone(), inner), 0..4))
                .prop_map(|(weak_keys, entries)| Amf3Value::Dictionary { weak_keys, entries }),
        ]
    })
}

/// Any AMF0 value, nested a few levels, including embedded AMF3 values.
pub(super) fn amf0_value() -> impl Strategy<Value = Amf0Value> {
    let leaf = prop_oneof![
        comparable_f64().prop_map(Amf0Value::Number),
        any::<bool>().prop_map(Amf0Value::Boolean),
        text().prop_map(Amf0Value::String),
        Just(Amf0Value::Null),
        Just(Amf0Value::Undefined),
        any::<u16>().prop_map(Amf0Value::Reference),
        (comparable_f64(), any::<i16>()).prop_map(|(millis, timezone)| Amf0Value::Date { millis, timezone }),
        Just(Amf0Value::Unsupported),
        text().prop_map(Amf0Value::XmlDocument),
        amf3_value().prop_map(Amf0Value::Avmplus),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let object = || vec((text(), inner.clone()), 0..5).prop_map(AmfObject);
        prop_oneof![
            object().prop_map(Amf0Value::Object),
            object().prop_map(Amf0Value::EcmaArray),
            vec(inner.clone(), 0..5).prop_map(Amf0Value::StrictArray),
            (text(), object())
                .prop_map(|(class_name, properties)| Amf0Value::TypedObject { class_name, properties }),
        ]
    })
}
