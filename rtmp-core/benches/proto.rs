//! Micro-benchmarks: chunk decode and encode throughput, AMF0 connect decode, and the server's
//! fan-out of one message to 1000 players' queues.
//!
//! `cargo bench -p rtmp-core --bench proto` prints time and throughput (bytes/s) per case.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtmp_core::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use rtmp_core::proto::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, encode_shared};
use rtmp_core::proto::message::Command;
use rtmp_core::server::bench_support::FanoutBench;

/// A stream of video-sized messages (one 2.5 Mbit/s second: 30 frames, a keyframe among them).
fn media_messages() -> Vec<Vec<u8>> {
    (0..30).map(|i| vec![i as u8; if i == 0 { 60_000 } else { 9_000 }]).collect()
}

fn encoded_stream(chunk_size: u32) -> Vec<u8> {
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(chunk_size);
    let mut out = BytesMut::new();
    for (i, payload) in media_messages().iter().enumerate() {
        encoder.write(6, i as u32 * 33, 9, 1, payload, &mut out);
    }
    out.to_vec()
}

fn chunk_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk_decode");
    for chunk_size in [128u32, 4096, 60_000] {
        let input = encoded_stream(chunk_size);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("chunk_size_{chunk_size}"), |b| {
            b.iter(|| {
                let mut decoder = ChunkDecoder::new(ChunkLimits::default());
                decoder.set_chunk_size(chunk_size).unwrap();
                // Socket-sized reads.
                let mut n = 0;
                for piece in input.chunks(64 * 1024) {
                    decoder.push(piece);
                    while let Some(message) = decoder.next_message().unwrap() {
                        n += message.payload.len();
                    }
                }
                black_box(n)
            })
        });
    }
    group.finish();
}

fn chunk_encode(c: &mut Criterion) {
    let messages = media_messages();
    let total: usize = messages.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("chunk_encode");
    group.throughput(Throughput::Bytes(total as u64));
    for chunk_size in [128u32, 4096, 60_000] {
        group.bench_function(format!("connection_chunk_size_{chunk_size}"), |b| {
            let mut out = BytesMut::with_capacity(total * 2);
            b.iter(|| {
                let mut encoder = ChunkEncoder::new();
                encoder.set_chunk_size(chunk_size);
                out.clear();
                for (i, payload) in messages.iter().enumerate() {
                    encoder.write(6, i as u32 * 33, 9, 1, payload, &mut out);
                }
                black_box(out.len())
            })
        });
        group.bench_function(format!("shared_chunk_size_{chunk_size}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for (i, payload) in messages.iter().enumerate() {
                    n += encode_shared(7, i as u32 * 33, 9, 1, payload, chunk_size).len();
                }
                black_box(n)
            })
        });
    }
    // The floor: copying the same bytes once.
    group.bench_function("memcpy_floor", |b| {
        let mut out = Vec::with_capacity(total);
        b.iter(|| {
            out.clear();
            for payload in &messages {
                out.extend_from_slice(payload);
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn amf0_connect(c: &mut Criterion) {
    let object: AmfObject = [
        ("app", Amf0Value::from("live")),
        ("type", "nonprivate".into()),
        ("flashVer", "FMLE/3.0 (compatible; FMSc/1.0)".into()),
        ("swfUrl", "rtmp://127.0.0.1:1935/live".into()),
        ("tcUrl", "rtmp://127.0.0.1:1935/live".into()),
        ("fpad", false.into()),
        ("capabilities", 15.0.into()),
        ("audioCodecs", 4071.0.into()),
        ("videoCodecs", 252.0.into()),
        ("videoFunction", 1.0.into()),
        ("objectEncoding", 0.0.into()),
    ]
    .into_iter()
    .collect();
    let body = Command {
        name: "connect".into(),
        transaction_id: 1.0,
        command_object: object.into(),
        arguments: vec![],
    }
    .encode();
    let limits = AmfLimits::default();
    c.bench_function("amf0_connect_decode", |b| {
        b.iter(|| black_box(Command::decode(black_box(&body), &limits).unwrap()))
    });
}

/// One 9 kB video frame chunked once and queued for 1000 players (then drained): the server's
/// per-message fan-out cost without sockets.
fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group.throughput(Throughput::Elements(1000));
    let mut bench = FanoutBench::new(1000);
    let mut frame = vec![0x27, 1, 0, 0, 0];
    frame.resize(9_000, 0xab);
    let frame = Bytes::from(frame);
    group.bench_function("one_message_to_1000_queues", |b| b.iter(|| bench.publish_video(black_box(&frame))));
    group.finish();
}

criterion_group!(benches, chunk_decode, chunk_encode, amf0_connect, fanout);
criterion_main!(benches);
