#![no_main]
//! Arbitrary bytes into the chunk decoder, split where the input says, with small limits.

use libfuzzer_sys::fuzz_target;
use rtmp_core::proto::chunk::{ChunkDecoder, ChunkLimits};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let mut decoder = ChunkDecoder::new(ChunkLimits { max_message_size: 64 * 1024, max_chunk_streams: 16 });
    let step = usize::from(split).max(1);
    let mut total = 0usize;
    for piece in rest.chunks(step) {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => {
                    total += message.payload.len();
                    assert!(message.payload.len() <= 64 * 1024);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    // Payload bytes come out of the input; nothing is invented.
    assert!(total <= rest.len());
});
