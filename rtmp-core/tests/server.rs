//! Integration tests of the tokio RTMP server against the real ffmpeg 9, Debian's ffmpeg 5.1 and
//! our own client session, over loopback TCP.
//!
//! `cargo test -p rtmp-core --test server -j 1 -- --test-threads=2`

#[path = "support/mod.rs"]
mod support;

#[path = "server/hooks.rs"]
mod hooks;
#[path = "server/lifecycle.rs"]
mod lifecycle;
#[path = "server/limits.rs"]
mod limits;
#[path = "server/media.rs"]
mod media;
#[path = "server/publishers.rs"]
mod publishers;
