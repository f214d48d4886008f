#![no_main]
//! Command and data message bodies: decode, and re-decode what we encode.

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::amf::AmfLimits;
use rtmp_core::proto::message::{Command, ConnectParams, DataMessage, Message};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else { return };
    let limits = AmfLimits::default();
    let type_id = [20u8, 17, 18, 15, 4, 22][usize::from(kind) % 6];
    let Ok(message) = Message::decode(type_id, Bytes::copy_from_slice(body), &limits) else { return };
    // What we encode decodes again, given room for AMF3 references that the encoding expanded
    // (a value decoded near the budget may re-decode just over it).
    let roomy = AmfLimits { max_decoded_bytes: limits.max_decoded_bytes * 4, ..limits };
    match &message {
        Message::Command(command) => {
            let params = ConnectParams::from_command(command);
            let _ = params.to_command(1.0).encode();
            let again = Command::decode(&command.encode(), &roomy).expect("re-decode");
            assert_eq!(again.name, command.name);
        }
        Message::Data(data) => {
            let again = DataMessage::decode(&data.encode(), &roomy).expect("re-decode");
            assert_eq!(again.name, data.name);
            let _ = data.clone().without_set_data_frame().metadata();
        }
        Message::Aggregate(body) => {
            let _ = rtmp_core::proto::message::split_aggregate(0, body);
        }
        _ => {}
    }
    let _ = message.encode();
});
