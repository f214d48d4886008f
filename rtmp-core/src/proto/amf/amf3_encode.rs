//! AMF3 encoding. Everything is written inline — no string, object or traits references —
//! which keeps the encoder stateless; every reader accepts it and decodes the same tree.

use bytes::{BufMut, BytesMut};

use super::amf3::{Amf3Value, marker};
use super::u29::{I29_MAX, I29_MIN, U29_MAX, put_i29, put_u29};

/// The longest string, byte array or collection a U29 header can announce (its low bit is
/// the inline flag).
const MAX_INLINE_LEN: u32 = U29_MAX >> 1;

/// The most sealed members an inline traits header can announce (its low four bits are flags).
const MAX_SEALED_MEMBERS: u32 = U29_MAX >> 4;

/// Appends `value` to `out`.
pub(super) fn encode_value(value: &Amf3Value, out: &mut BytesMut) {
    match value {
        Amf3Value::Undefined => out.put_u8(marker::UNDEFINED),
        Amf3Value::Null => out.put_u8(marker::NULL),
        Amf3Value::Boolean(false) => out.put_u8(marker::FALSE),
        Amf3Value::Boolean(true) => out.put_u8(marker::TRUE),
        Amf3Value::Integer(int) if (I29_MIN..=I29_MAX).contains(int) => {
            out.put_u8(marker::INTEGER);
            put_i29(out, *int);
        }
        Amf3Value::Integer(int) => {
            out.put_u8(marker::DOUBLE);
            out.put_f64(f64::from(*int));
        }
        Amf3Value::Double(double) => {
            out.put_u8(marker::DOUBLE);
            out.put_f64(*double);
        }
        Amf3Value::String(text) => {
            out.put_u8(marker::STRING);
            put_string(out, text);
        }
        Amf3Value::XmlDocument(text) => {
            out.put_u8(marker::XML_DOCUMENT);
            put_inline_header(out, text.len());
            out.put_slice(text.as_bytes());
        }
        Amf3Value::Xml(text) => {
            out.put_u8(marker::XML);
            put_inline_header(out, text.len());
            out.put_slice(text.as_bytes());
        }
        Amf3Value::Date(millis) => {
            out.put_u8(marker::DATE);
            put_inline_header(out, 0);
            out.put_f64(*millis);
        }
        Amf3Value::Array { assoc, dense } => {
            out.put_u8(marker::ARRAY);
            put_inline_header(out, dense.len());
            put_named_values(out, assoc);
            dense.iter().for_each(|item| encode_value(item, out));
        }
        Amf3Value::Object { class_name, sealed, dynamic } => {
            out.put_u8(marker::OBJECT);
            let sealed_count = u32::try_from(sealed.len())
                .ok()
                .filter(|&count| count <= MAX_SEALED_MEMBERS)
                .expect("an AMF3 object has at most 2^25 - 1 sealed members");
            let dynamic_flag = if dynamic.is_some() { 0b1000 } else { 0 };
            // Inline object (bit 0), inline traits (bit 1), not externalizable (bit 2 clear).
            put_u29(out, (sealed_count << 4) | dynamic_flag | 0b0011);
            put_string(out, class_name);
            sealed.iter().for_each(|(name, _)| put_string(out, name));
            sealed.iter().for_each(|(_, member)| encode_value(member, out));
            if let Some(dynamic) = dynamic {
                put_named_values(out, dynamic);
            }
        }
        Amf3Value::ByteArray(bytes) => {
            out.put_u8(marker::BYTE_ARRAY);
            put_inline_header(out, bytes.len());
            out.put_slice(bytes);
        }
        Amf3Value::VectorInt { fixed, items } => {
            out.put_u8(marker::VECTOR_INT);
            put_inline_header(out, items.len());
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|&item| out.put_i32(item));
        }
        Amf3Value::VectorUint { fixed, items } => {
            out.put_u8(marker::VECTOR_UINT);
            put_inline_header(out, items.len());
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|&item| out.put_u32(item));
        }
        Amf3Value::VectorDouble { fixed, items } => {
            out.put_u8(marker::VECTOR_DOUBLE);
            put_inline_header(out, items.len());
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|&item| out.put_f64(item));
        }
        Amf3Value::VectorObject { fixed, type_name, items } => {
            out.put_u8(marker::VECTOR_OBJECT);
            put_inline_header(out, items.len());
            out.put_u8(u8::from(*fixed));
            put_string(out, type_name);
            items.iter().for_each(|item| encode_value(item, out));
        }
        Amf3Value::Dictionary { weak_keys, entries } => {
            out.put_u8(marker::DICTIONARY);
            put_inline_header(out, entries.len());
            out.put_u8(u8::from(*weak_keys));
            for (key, value) in entries {
                encode_value(key, out);
                encode_value(value, out);
            }
        }
    }
}

/// Writes the U29 header of an inline value: `len << 1 | 1`.
fn put_inline_header(out: &mut BytesMut, len: usize) {
    let len = u32::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_INLINE_LEN)
        .expect("AMF3 lengths and counts are limited to 2^28 - 1");
    put_u29(out, (len << 1) | 1);
}

/// Writes a UTF-8-vr inline (the empty string is the single byte 0x01).
fn put_string(out: &mut BytesMut, text: &str) {
    put_inline_header(out, text.len());
    out.put_slice(text.as_bytes());
}

/// Writes name-value pairs and the empty name that ends them. Pairs with an empty name would
/// end the list early, so they are skipped.
fn put_named_values(out: &mut BytesMut, members: &[(String, Amf3Value)]) {
    for (name, value) in members.iter().filter(|(name, _)| !name.is_empty()) {
        put_string(out, name);
        encode_value(value, out);
    }
    put_string(out, "");
}
