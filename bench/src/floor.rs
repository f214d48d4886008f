//! The kernel's floor for fan-out: a sender with no protocol at all. It sends the fixture's tags,
//! paced by their timestamps, to every socket that connects, with plain blocking writes: one
//! write per tag (all a server can do when messages arrive apart and nothing may wait), or one
//! per video frame (the audio since the last frame rides along: what holding audio would buy).
//! The load harness runs it pinned like the servers and measures its CPU the same way.
//!
//! Usage: `floor <bind address> <fixture.flv> per-message|per-frame`

use std::fs::File;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_core::flv::FlvReader;
use socket2::{Domain, Socket, Type};

/// A tag as it would go out: an RTMP-sized header (12 bytes) and the body.
struct Tag {
    timestamp: u32,
    video: bool,
    bytes: Vec<u8>,
}

fn read_tags(path: &str) -> Vec<Tag> {
    let mut reader = FlvReader::new(BufReader::new(File::open(path).expect("open the fixture"))).unwrap();
    let mut tags = Vec::new();
    while let Some(tag) = reader.next_tag().expect("read the fixture") {
        let mut bytes = vec![tag.tag_type; 12];
        bytes.extend_from_slice(&tag.data);
        tags.push(Tag { timestamp: tag.timestamp, video: tag.tag_type == 9, bytes });
    }
    assert!(!tags.is_empty(), "the fixture has no tags");
    tags
}

/// Writes `bytes` to every socket; drops the ones that fail (the harness's readiness probe).
fn send_all(sockets: &Mutex<Vec<TcpStream>>, bytes: &[u8]) {
    sockets.lock().unwrap().retain_mut(|s| s.write_all(bytes).is_ok());
}

/// A listener with room for a thousand players connecting at once (std's backlog is 128: the
/// rest would retry a second later, inside the measurement).
fn listen(bind: &str) -> TcpListener {
    let addr: std::net::SocketAddr = bind.parse().expect("a socket address");
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(4096).expect("listen");
    socket.into()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bind, fixture, mode] = &args[..] else {
        panic!("usage: floor <bind address> <fixture.flv> per-message|per-frame");
    };
    let per_frame = match mode.as_str() {
        "per-message" => false,
        "per-frame" => true,
        other => panic!("unknown mode {other}"),
    };
    let tags = read_tags(fixture);
    let listener = listen(bind);
    let sockets = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::clone(&sockets);
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let _ = socket.set_nodelay(true);
            accepted.lock().unwrap().push(socket);
        }
    });
    let loop_length = Duration::from_millis(u64::from(tags.last().unwrap().timestamp) + 33);
    let mut start = Instant::now();
    let mut held = Vec::new();
    loop {
        for tag in &tags {
            std::thread::sleep(
                (start + Duration::from_millis(tag.timestamp.into()))
                    .saturating_duration_since(Instant::now()),
            );
            if !per_frame {
                send_all(&sockets, &tag.bytes);
                continue;
            }
            held.extend_from_slice(&tag.bytes);
            if tag.video {
                send_all(&sockets, &held);
                held.clear();
            }
        }
        start += loop_length;
    }
}
