//! Integration tests of the tokio RTMP server against the real ffmpeg 9, Debian's ffmpeg 5.1 and
//! our own client session, over loopback TCP.
//!
//! `cargo test -p rtmp-core --test server -j 1 -- --test-threads=2`
//!
//! Needs ffmpeg 9 (`python3 -m pip install imageio-ffmpeg`, or `RTMP_RS_FFMPEG=/path/to/ffmpeg`)
//! and Debian's ffmpeg 5.1 (`apt-get install -y ffmpeg`); a missing tool fails the tests that use
//! it, with these instructions. Everything runs on 127.0.0.1 with OS-chosen ports.

#[path = "support/mod.rs"]
mod support;

#[path = "server/auth.rs"]
mod auth;
#[path = "server/encoders.rs"]
mod encoders;
#[path = "server/forward.rs"]
mod forward;
#[path = "server/grace.rs"]
mod grace;
#[path = "server/hooks.rs"]
mod hooks;
#[path = "server/legacy_players.rs"]
mod legacy_players;
#[path = "server/lifecycle.rs"]
mod lifecycle;
#[path = "server/limits.rs"]
mod limits;
#[path = "server/local.rs"]
mod local;
#[path = "server/media.rs"]
mod media;
#[path = "server/publishers.rs"]
mod publishers;
#[path = "server/pull.rs"]
mod pull;
#[path = "server/reconnect.rs"]
mod reconnect;
