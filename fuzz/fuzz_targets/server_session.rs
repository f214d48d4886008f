#![no_main]
//! A server session fed with a valid handshake and connect, then arbitrary chunk-stream bytes.
//! Every request is accepted, so the fuzzer reaches the publish and play paths.

use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::chunk::ChunkLimits;
use rtmp_core::proto::session::{ServerEvent, ServerSession, ServerSessionConfig};

const C0C1_SIMPLE: usize = 1537;

fuzz_target!(|data: &[u8]| {
    let config = ServerSessionConfig {
        chunk_limits: ChunkLimits { max_message_size: 64 * 1024, max_chunk_streams: 16 },
        ..Default::default()
    };
    let mut server = ServerSession::new(config, 0, &[7; 1528]);
    // A simple handshake so the fuzzer starts in the chunk stream.
    let mut handshake = vec![3u8];
    handshake.extend([0u8; 1536]);
    handshake.extend([0u8; 1536]);
    debug_assert_eq!(handshake.len(), C0C1_SIMPLE + 1536);
    server.handle_input(&handshake).expect("valid handshake");
    let Some((&split, rest)) = data.split_first() else { return };
    for piece in rest.chunks(usize::from(split).max(1)) {
        if server.handle_input(piece).is_err() {
            return;
        }
        while let Some(event) = server.poll_event() {
            let request = match event {
                ServerEvent::ConnectRequested { request, .. }
                | ServerEvent::PublishRequested { request, .. }
                | ServerEvent::PlayRequested { request, .. } => request,
                _ => continue,
            };
            server.accept(request).expect("pending request");
        }
        while server.poll_transmit().is_some() {}
    }
});
