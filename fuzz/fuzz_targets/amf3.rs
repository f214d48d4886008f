//! Fuzzes the AMF3 decoder: any input must decode or fail cleanly (never panic, never
//! exhaust memory or the stack), and whatever decodes must survive encode + decode unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::amf::{AmfError, AmfLimits, amf3};

fuzz_target!(|data: &[u8]| {
    let limits = AmfLimits::default();
    let mut input = data;
    let Ok(value) = amf3::decode(&mut input, &limits) else { return };
    // NaN never equals itself, so such values cannot be compared after a round trip.
    if value.contains_nan() {
        return;
    }
    let mut encoded = BytesMut::new();
    amf3::encode(&value, &mut encoded);
    let mut encoded_input = &encoded[..];
    match amf3::decode(&mut encoded_input, &limits) {
        Ok(again) => {
            assert_eq!(again, value, "decode(encode(v)) != v");
            assert!(encoded_input.is_empty(), "decode left {} bytes of our encoding", encoded_input.len());
        }
        // The encoder writes referenced values inline, so a value that reached its size through
        // references can exceed the memory budget once written out in full.
        Err(AmfError::TooLarge(_)) => {}
        Err(error) => panic!("re-decoding our own encoding failed: {error}"),
    }
});
