#![no_main]
//! A client session that publishes and plays, fed with arbitrary server bytes.

use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::handshake::ClientMode;
use rtmp_core::proto::message::ConnectParams;
use rtmp_core::proto::session::{ClientSession, ClientSessionConfig};

fuzz_target!(|data: &[u8]| {
    let config = ClientSessionConfig { handshake: ClientMode::Simple, ..Default::default() };
    let mut client = ClientSession::new(config, 0, &[5; 1528]);
    client.connect(ConnectParams { app: "live".into(), ..Default::default() }).expect("first connect");
    client.publish("a", "live").expect("queued");
    client.play("b").expect("queued");
    let Some((&split, rest)) = data.split_first() else { return };
    for piece in rest.chunks(usize::from(split).max(1)) {
        if client.handle_input(piece).is_err() {
            return;
        }
        while client.poll_event().is_some() {}
        while client.poll_transmit().is_some() {}
    }
});
