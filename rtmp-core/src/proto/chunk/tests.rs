use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn decode_all(decoder: &mut ChunkDecoder, input: &[u8]) -> Vec<RawMessage> {
    decoder.push(input);
    let mut out = Vec::new();
    while let Some(m) = decoder.next_message().unwrap() {
        out.push(m);
    }
    out
}

fn decoder_with_chunk_size(size: u32) -> ChunkDecoder {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    d.set_chunk_size(size).unwrap();
    d
}

#[test]
fn spec_example_1_audio_with_type3_new_messages() {
    // RTMP spec §5.3.2.1: four 32-byte audio messages, deltas of 20 ms after the first.
    let mut input = hex("03 00 03 e8 00 00 20 08 39 30 00 00");
    input.extend([1u8; 32]);
    input.extend(hex("83 00 00 14"));
    input.extend([2u8; 32]);
    input.extend(hex("c3"));
    input.extend([3u8; 32]);
    input.extend(hex("c3"));
    input.extend([4u8; 32]);
    let msgs = decode_all(&mut ChunkDecoder::new(ChunkLimits::default()), &input);
    let times: Vec<u32> = msgs.iter().map(|m| m.timestamp).collect();
    assert_eq!(times, [1000, 1020, 1040, 1060]);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!((m.csid, m.type_id, m.stream_id), (3, 8, 12345));
        assert_eq!(m.payload, Bytes::from(vec![i as u8 + 1; 32]));
    }
}

#[test]
fn spec_example_2_video_split_over_three_chunks() {
    let payload: Vec<u8> = (0..307u32).map(|i| i as u8).collect();
    let mut input = hex("04 00 03 e8 00 01 33 09 3a 30 00 00");
    input.extend(&payload[..128]);
    input.push(0xc4);
    input.extend(&payload[128..256]);
    input.push(0xc4);
    input.extend(&payload[256..]);
    let msgs = decode_all(&mut ChunkDecoder::new(ChunkLimits::default()), &input);
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].timestamp, msgs[0].type_id, msgs[0].stream_id), (1000, 9, 12346));
    assert_eq!(&msgs[0].payload[..], &payload[..]);

    // Our encoder writes exactly these bytes.
    let mut out = BytesMut::new();
    ChunkEncoder::new().write(4, 1000, 9, 12346, &payload, &mut out);
    assert_eq!(&out[..], &input[..]);
}

#[test]
fn type3_after_extended_type0_repeats_the_field() {
    // Vector 22 (rust-media-libs): chunk size 4, extended timestamp repeated on the type 3.
    let mut d = decoder_with_chunk_size(4);
    let msgs = decode_all(
        &mut d,
        &hex("06 ff ff ff 00 00 07 09 01 00 00 00 01 ff ff ff 01 02 03 04 c6 01 ff ff ff 05 06 07"),
    );
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].timestamp, 0x01ff_ffff);
    assert_eq!(&msgs[0].payload[..], &[1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn type3_without_the_repeated_extended_field_is_accepted() {
    // librtmp/OBS readers and writers omit it: the next bytes are payload.
    let mut d = decoder_with_chunk_size(4);
    let msgs =
        decode_all(&mut d, &hex("06 ff ff ff 00 00 07 09 01 00 00 00 01 ff ff ff 01 02 03 04 c6 05 06 07"));
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].timestamp, 0x01ff_ffff);
    assert_eq!(&msgs[0].payload[..], &[1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn type1_delta_applies_once_per_message() {
    // Vector 23: OBS sends a type 1 first chunk and type 3 continuations.
    let mut d = decoder_with_chunk_size(4);
    let msgs = decode_all(
        &mut d,
        &hex("04 00 00 00 00 00 01 09 01 00 00 00 01 44 00 00 21 00 00 05 09 01 02 03 04 c4 05"),
    );
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1].timestamp, 33);
    assert_eq!(&msgs[1].payload[..], &[1, 2, 3, 4, 5]);
}

#[test]
fn extended_type0_timestamp() {
    // Vector 24.
    let msgs = decode_all(
        &mut ChunkDecoder::new(ChunkLimits::default()),
        &hex("06 ff ff ff 00 00 05 09 01 00 00 00 01 00 00 00 0a 0b 0c 0d 0e"),
    );
    assert_eq!(msgs[0].timestamp, 0x0100_0000);
    assert_eq!(&msgs[0].payload[..], &[0x0a, 0x0b, 0x0c, 0x0d, 0x0e]);
}

#[test]
fn type3_after_type0_uses_the_type0_timestamp_as_delta() {
    // FMLE: a type 0 at ts 26 followed by a type 3 new message means ts 52.
    let mut input = hex("04 00 00 1a 00 00 01 08 01 00 00 00 aa");
    input.extend(hex("c4 bb"));
    let msgs = decode_all(&mut ChunkDecoder::new(ChunkLimits::default()), &input);
    assert_eq!(msgs.iter().map(|m| m.timestamp).collect::<Vec<_>>(), [26, 52]);
}

#[test]
fn fresh_stream_may_start_with_type1() {
    // librtmp's ping starts chunk stream 2 with a type 1 header.
    let msgs = decode_all(
        &mut ChunkDecoder::new(ChunkLimits::default()),
        &hex("42 00 00 00 00 00 06 04 00 06 00 00 0d 0f"),
    );
    assert_eq!((msgs[0].type_id, msgs[0].stream_id, msgs[0].csid), (4, 0, 2));
}

#[test]
fn fresh_stream_with_type2_or_3_is_refused() {
    for (bytes, fmt) in [(hex("83 00 00 01"), 2), (hex("c3"), 3)] {
        let mut d = ChunkDecoder::new(ChunkLimits::default());
        d.push(&bytes);
        assert_eq!(d.next_message(), Err(ChunkError::NoPreviousHeader { csid: 3, fmt }));
    }
}

#[test]
fn set_chunk_size_in_the_same_input_applies_to_following_chunks() {
    let mut enc = ChunkEncoder::new();
    let mut out = BytesMut::new();
    enc.write(2, 0, 1, 0, &4096u32.to_be_bytes(), &mut out);
    enc.set_chunk_size(4096);
    let payload = vec![7u8; 3000];
    enc.write(6, 40, 9, 1, &payload, &mut out);
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let msgs = decode_all(&mut d, &out);
    assert_eq!(msgs.len(), 2);
    assert_eq!(d.chunk_size(), 4096);
    assert_eq!(msgs[1].payload.len(), 3000);
}

#[test]
fn set_chunk_size_vector_and_limits() {
    let msgs = decode_all(
        &mut ChunkDecoder::new(ChunkLimits::default()),
        &hex("02 00 00 00 00 00 04 01 00 00 00 00 00 00 10 00"),
    );
    assert_eq!(msgs[0].type_id, 1);
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    d.set_chunk_size(0x7FFF_FFFF).unwrap();
    assert_eq!(d.chunk_size(), MAX_CHUNK_SIZE);
    assert_eq!(d.set_chunk_size(0x8000_0001), Err(ChunkError::InvalidChunkSize(0x8000_0001)));
    assert_eq!(d.set_chunk_size(0), Err(ChunkError::InvalidChunkSize(0)));
    d.push(&hex("02 00 00 00 00 00 04 01 00 00 00 00 80 00 00 00"));
    assert_eq!(d.next_message(), Err(ChunkError::InvalidChunkSize(0x8000_0000)));
}

#[test]
fn abort_drops_the_partial_message() {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let mut input = hex("04 00 00 00 00 01 00 09 01 00 00 00");
    input.extend([0u8; 128]);
    // Abort(csid 4), then a fresh small message on csid 4 as a type 1.
    input.extend(hex("02 00 00 00 00 00 04 02 00 00 00 00 00 00 00 04"));
    input.extend(hex("44 00 00 05 00 00 02 09 aa bb"));
    let msgs = decode_all(&mut d, &input);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].type_id, 2);
    assert_eq!(&msgs[1].payload[..], &[0xaa, 0xbb]);
    assert_eq!(msgs[1].timestamp, 5);
}

#[test]
fn message_size_limit_is_checked_at_the_header() {
    let mut d = ChunkDecoder::new(ChunkLimits { max_message_size: 1000, max_chunk_streams: 8 });
    d.push(&hex("04 00 00 00 ff ff ff 09 01 00 00 00"));
    assert_eq!(d.next_message(), Err(ChunkError::MessageTooLarge { len: 0xff_ffff, max: 1000 }));
}

#[test]
fn chunk_stream_count_limit() {
    let mut d = ChunkDecoder::new(ChunkLimits { max_message_size: 1000, max_chunk_streams: 3 });
    for csid in 3u8..6 {
        d.push(&[csid, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xaa]);
        assert!(d.next_message().unwrap().is_some());
    }
    d.push(&[6, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xaa]);
    assert_eq!(d.next_message(), Err(ChunkError::TooManyChunkStreams(3)));
}

#[test]
fn nothing_is_buffered_ahead_of_the_bytes() {
    // A header announcing 8 MiB followed by 10 bytes holds at most what arrived.
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    d.set_chunk_size(MAX_CHUNK_SIZE).unwrap();
    d.push(&hex("04 00 00 00 7f ff ff 09 01 00 00 00"));
    d.push(&[0u8; 10]);
    assert_eq!(d.next_message(), Ok(None));
    assert!(d.buffer_mut().capacity() < 4096);
}

#[test]
fn header_inside_an_unfinished_message_is_refused() {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let mut input = hex("04 00 00 00 00 01 00 09 01 00 00 00");
    input.extend([0u8; 128]);
    input.extend(hex("04 00 00 00 00 00 01 09 01 00 00 00 00"));
    d.push(&input);
    assert_eq!(d.next_message(), Err(ChunkError::HeaderInsideMessage(4)));
}

#[test]
fn zero_length_message() {
    let msgs = decode_all(
        &mut ChunkDecoder::new(ChunkLimits::default()),
        &hex("04 00 00 10 00 00 00 08 01 00 00 00"),
    );
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].payload.is_empty());
    assert_eq!(msgs[0].timestamp, 16);
}

#[test]
fn timestamp_delta_wraps_at_2_pow_32() {
    let mut input = hex("04 ff ff ff 00 00 01 08 01 00 00 00 ff ff ff f0 aa");
    input.extend(hex("84 00 00 20 bb"));
    let msgs = decode_all(&mut ChunkDecoder::new(ChunkLimits::default()), &input);
    assert_eq!(msgs[1].timestamp, 0x10);
}

#[test]
fn bytes_consumed_counts_whole_chunks() {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let input = hex("04 00 00 10 00 00 02 08 01 00 00 00 aa bb");
    d.push(&input[..5]);
    assert_eq!(d.next_message(), Ok(None));
    assert_eq!(d.bytes_consumed(), 0);
    d.push(&input[5..]);
    assert!(d.next_message().unwrap().is_some());
    assert_eq!(d.bytes_consumed(), input.len() as u64);
}

#[test]
fn encoder_header_choices() {
    let mut enc = ChunkEncoder::new();
    let mut out = BytesMut::new();
    enc.write(6, 100, 9, 1, &[1, 2], &mut out); // new stream: type 0
    assert_eq!(out.split().as_ref(), hex("06 00 00 64 00 00 02 09 01 00 00 00 01 02"));
    enc.write(6, 133, 9, 1, &[1, 2, 3], &mut out); // new length: type 1
    assert_eq!(out.split().as_ref(), hex("46 00 00 21 00 00 03 09 01 02 03"));
    enc.write(6, 166, 9, 1, &[4, 5, 6], &mut out); // same delta and length: type 3
    assert_eq!(out.split().as_ref(), hex("c6 04 05 06"));
    enc.write(6, 166, 9, 1, &[4, 5, 6], &mut out); // delta 0 differs from the last sent 33: type 2
    assert_eq!(out.split().as_ref(), hex("86 00 00 00 04 05 06"));
    enc.write(6, 10, 9, 1, &[7, 8, 9], &mut out); // backwards: type 0
    assert_eq!(out.split().as_ref(), hex("06 00 00 0a 00 00 03 09 01 00 00 00 07 08 09"));
    enc.write(6, 10, 9, 2, &[7, 8, 9], &mut out); // new stream id: type 0
    assert_eq!(out[0], 0x06);
}

#[test]
fn encoder_never_writes_type3_right_after_type0() {
    let mut enc = ChunkEncoder::new();
    let mut out = BytesMut::new();
    enc.write(4, 26, 8, 1, &[1], &mut out);
    out.clear();
    enc.write(4, 52, 8, 1, &[2], &mut out);
    assert_eq!(out[0] >> 6, 2);
}

#[test]
fn encoder_extended_timestamps_on_every_chunk() {
    let mut enc = ChunkEncoder::new();
    enc.set_chunk_size(4);
    let mut out = BytesMut::new();
    enc.write(6, 0x01ff_ffff, 9, 1, &[1, 2, 3, 4, 5, 6, 7], &mut out);
    assert_eq!(
        &out[..],
        hex("06 ff ff ff 00 00 07 09 01 00 00 00 01 ff ff ff 01 02 03 04 c6 01 ff ff ff 05 06 07")
    );
    // A delta that needs the extended field is written as type 0 (never an extended type 1/2).
    out.clear();
    enc.write(6, 0x01ff_ffff + 0x0100_0000, 9, 1, &[1], &mut out);
    assert_eq!(out[0] >> 6, 0);
}

#[test]
fn shared_encoding_is_stateless_type0_plus_type3() {
    let payload = vec![9u8; 300];
    let a = encode_shared(7, 5000, 9, 1, &payload, 128);
    let b = encode_shared(7, 5000, 9, 1, &payload, 128);
    assert_eq!(a, b);
    assert_eq!(a.len(), 12 + 300 + 2);
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let msgs = decode_all(&mut d, &[a.as_ref(), a.as_ref()].concat());
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| m.timestamp == 5000 && m.payload.len() == 300));
}

#[test]
fn single_chunk_payload_is_not_copied() {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let input = hex("04 00 00 10 00 00 02 08 01 00 00 00 aa bb");
    d.push(&input);
    let base = d.buffer_mut().as_ptr() as usize;
    let m = d.next_message().unwrap().unwrap();
    assert_eq!(m.payload.as_ptr() as usize, base + 12);
}

#[test]
fn a_message_of_several_chunks_read_whole_is_not_copied() {
    // Spec example 2's video message (307 bytes in chunks of 128), all in one read.
    let mut enc = ChunkEncoder::new();
    let mut out = BytesMut::new();
    let payload: Vec<u8> = (0..307u32).map(|i| i as u8).collect();
    enc.write(4, 1000, 9, 1, &payload, &mut out);
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    d.push(&out);
    let base = d.buffer_mut().as_ptr() as usize;
    let m = d.next_message().unwrap().unwrap();
    assert_eq!(m.payload, payload);
    assert_eq!(m.payload.as_ptr() as usize, base + 12, "moved together in the input buffer");
    assert_eq!((d.pending_input(), d.bytes_consumed()), (0, out.len() as u64));
}

#[test]
fn interleaved_or_incomplete_messages_are_copied_together() {
    // Two messages on two chunk streams, their chunks alternating (allowed, if rare).
    let (a, b): (Vec<u8>, Vec<u8>) = ((0..200).map(|i| i as u8).collect(), vec![7; 150]);
    let (mut ea, mut eb) = (BytesMut::new(), BytesMut::new());
    let mut enc = ChunkEncoder::new();
    enc.write(4, 0, 9, 1, &a, &mut ea);
    enc.write(6, 0, 8, 1, &b, &mut eb);
    // ea: 12-byte header + 128, then 1 + 72; eb: 12 + 128, then 1 + 22.
    let mut input = Vec::new();
    input.extend_from_slice(&ea[..140]);
    input.extend_from_slice(&eb[..140]);
    input.extend_from_slice(&ea[140..]);
    input.extend_from_slice(&eb[140..]);
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let messages = decode_all(&mut d, &input);
    assert_eq!(messages.iter().map(|m| &m.payload[..]).collect::<Vec<_>>(), [&a[..], &b[..]]);
    // Split inside the second chunk: the first read holds part of the message only.
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    let mut messages = decode_all(&mut d, &ea[..150]);
    messages.extend(decode_all(&mut d, &ea[150..]));
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].payload, a);
    assert_eq!(d.bytes_consumed(), ea.len() as u64);
}

#[test]
fn a_message_of_several_chunks_with_repeated_extended_timestamps_is_read_whole() {
    let payload = vec![0x5A; 300];
    for repeat in [true, false] {
        // Type 0 with an extended timestamp, then type 3 chunks with or without the field.
        let mut input = hex("04 ff ff ff 00 01 2c 09 01 00 00 00 01 00 00 00");
        input.extend_from_slice(&payload[..128]);
        for piece in payload[128..].chunks(128) {
            input.push(0xC4);
            if repeat {
                input.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]);
            }
            input.extend_from_slice(piece);
        }
        let mut d = ChunkDecoder::new(ChunkLimits::default());
        let messages = decode_all(&mut d, &input);
        assert_eq!(messages.len(), 1, "repeat {repeat}");
        assert_eq!((messages[0].timestamp, &messages[0].payload[..]), (0x0100_0000, &payload[..]));
        assert_eq!((d.pending_input(), d.bytes_consumed()), (0, input.len() as u64));
    }
}

#[derive(Debug, Clone)]
struct TestMessage {
    csid: u32,
    timestamp: u32,
    type_id: u8,
    stream_id: u32,
    payload: Vec<u8>,
}

fn message_strategy() -> impl Strategy<Value = TestMessage> {
    (
        prop_oneof![2u32..64, 64u32..320, 320u32..65_600],
        prop_oneof![0u32..100_000, 0xFF_FF00u32..0x100_0100, any::<u32>()],
        1u8..23,
        prop_oneof![Just(0u32), Just(1), any::<u32>()],
        prop::collection::vec(any::<u8>(), 0..700),
    )
        .prop_map(|(csid, timestamp, type_id, stream_id, payload)| TestMessage {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload,
        })
}

proptest! {
    #[test]
    fn encode_then_decode_returns_every_message(
        messages in prop::collection::vec(message_strategy(), 1..30),
        chunk_size in prop_oneof![1u32..16, 16u32..512, Just(128u32), Just(4096u32), Just(MAX_CHUNK_SIZE)],
        // Small pieces reassemble chunk by chunk; large ones mostly hold whole messages.
        split in prop_oneof![1usize..64, 64usize..100_000],
        same_csid in any::<bool>(),
    ) {
        // Types 1 and 2 would change the decoder's chunk size or abort; keep them out.
        let messages: Vec<_> = messages.into_iter().map(|mut m| {
            if m.type_id <= 2 { m.type_id = 8 }
            if same_csid { m.csid = 6 }
            m
        }).collect();
        let mut enc = ChunkEncoder::new();
        enc.set_chunk_size(chunk_size);
        let mut out = BytesMut::new();
        for m in &messages {
            enc.write(m.csid, m.timestamp, m.type_id, m.stream_id, &m.payload, &mut out);
        }
        let mut d = ChunkDecoder::new(ChunkLimits { max_message_size: 1 << 20, max_chunk_streams: 100 });
        d.set_chunk_size(chunk_size).unwrap();
        let mut decoded = Vec::new();
        for piece in out.chunks(split) {
            d.push(piece);
            while let Some(m) = d.next_message().unwrap() {
                decoded.push(m);
            }
        }
        prop_assert_eq!(decoded.len(), messages.len());
        for (got, want) in decoded.iter().zip(&messages) {
            prop_assert_eq!(got.csid, want.csid);
            prop_assert_eq!(got.timestamp, want.timestamp);
            prop_assert_eq!(got.type_id, want.type_id);
            prop_assert_eq!(got.stream_id, want.stream_id);
            prop_assert_eq!(&got.payload[..], &want.payload[..]);
        }
        prop_assert_eq!(d.pending_input(), 0);
    }

    #[test]
    fn decoder_never_panics_on_garbage(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut d = ChunkDecoder::new(ChunkLimits { max_message_size: 4096, max_chunk_streams: 8 });
        d.push(&input);
        while let Ok(Some(_)) = d.next_message() {}
    }
}

/// The pieces of a shared message, cut where [`shared_chunk_end`] says its chunks end.
fn pieces(message: &[u8], chunk_size: u32) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < message.len() {
        let end = shared_chunk_end(message, chunk_size, at);
        assert!(end > at, "no progress at {at}");
        pieces.push(&message[at..end]);
        at = end;
    }
    pieces
}

proptest! {
    /// Other chunk streams' messages put at every chunk end of a message, as a writer does to
    /// keep audio going while a large keyframe trickles out, decode as the messages they were.
    #[test]
    fn whole_messages_interleave_at_shared_chunk_ends(
        csid in prop_oneof![2u32..64, 64u32..320, 320u32..65_599],
        timestamp in prop_oneof![0u32..0xFF_FFFF, 0xFF_FFFFu32..u32::MAX],
        len in 0usize..2000,
        chunk_size in prop_oneof![Just(128u32), Just(4096), 1u32..300],
        mid in 0usize..2000,
    ) {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let video = encode_shared(csid, timestamp, 9, 1, &payload, chunk_size);
        let audio_csid = if csid == 4 { 5 } else { 4 };
        let audio = encode_shared(audio_csid, 7, 8, 1, &[0xaf, 1, 2], chunk_size);
        let mut wire = Vec::new();
        for piece in pieces(&video, chunk_size) {
            wire.extend_from_slice(piece);
            wire.extend_from_slice(&audio);
        }
        // And from the middle of a chunk, the end of that chunk.
        let mid = mid.min(video.len().saturating_sub(1));
        let end = shared_chunk_end(&video, chunk_size, mid);
        prop_assert!(end > mid || video.is_empty());
        let ends: Vec<usize> = pieces(&video, chunk_size).iter().scan(0, |at, p| { *at += p.len(); Some(*at) }).collect();
        prop_assert!(ends.contains(&end) || video.is_empty());
        let mut d = ChunkDecoder::new(ChunkLimits { max_message_size: 1 << 20, max_chunk_streams: 100 });
        d.set_chunk_size(chunk_size).unwrap();
        let messages = decode_all(&mut d, &wire);
        let videos: Vec<_> = messages.iter().filter(|m| m.type_id == 9).collect();
        prop_assert_eq!(shared_type_id(&video), Some(9));
        prop_assert_eq!(videos.len(), 1);
        prop_assert_eq!(&videos[0].payload[..], &payload[..]);
        prop_assert_eq!(videos[0].timestamp, timestamp);
        prop_assert!(messages.iter().filter(|m| m.type_id == 8).all(|m| m.payload[..] == [0xaf, 1, 2]));
    }
}
