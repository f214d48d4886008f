//! Fuzzes the AMF0 decoder: any input must decode or fail cleanly (never panic, never
//! exhaust memory or the stack), and whatever decodes must survive encode + decode unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::amf::{AmfError, AmfLimits, amf0};

fuzz_target!(|data: &[u8]| {
    let limits = AmfLimits::default();
    let Ok(values) = amf0::decode_all(data, &limits) else { return };
    // NaN never equals itself, so such values cannot be compared after a round trip.
    if values.iter().any(|value| value.contains_nan()) {
        return;
    }
    let mut encoded = BytesMut::new();
    amf0::encode_all(&values, &mut encoded);
    match amf0::decode_all(&encoded, &limits) {
        Ok(again) => assert_eq!(again, values, "decode(encode(v)) != v"),
        // The encoder writes AMF3 values inline, so a value that reached its size through AMF3
        // references can exceed the memory budget once written out in full.
        Err(AmfError::TooLarge(_)) => {}
        Err(error) => panic!("re-decoding our own encoding failed: {error}"),
    }
});
