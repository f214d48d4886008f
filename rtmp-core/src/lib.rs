//! rtmp-core: an RTMP server and client library.
//!
//! [`proto`] is a sans-IO protocol core: handshake, chunk stream, AMF0/AMF3, messages, FLV and
//! Enhanced-RTMP media, and the client/server session state machines. It owns no sockets, no
//! clock and no runtime: bytes go in, events and bytes come out, and time is passed in.
//!
//! The `runtime` feature (on by default) adds the tokio layer over it: `server` (pub/sub by
//! stream key, GOP cache, per-player latency budget, handler hooks, limits, statistics) and
//! `client` (players, publishers, reconnection, RTMPS). Without it only [`proto`], [`flv`] and
//! [`options`] are built.
// No unsafe code but three audited calls: the fan-out's cache prefetch and its socket descriptor
// (`server::output::direct`), and the receive low-water mark of merged reads (`server::merged_read`).
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
// docs.rs builds with `--cfg docsrs` on nightly: label what needs the `runtime` feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub mod client;
pub mod flv;
pub mod options;
pub mod proto;
#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub mod server;

// The crate README's examples, compiled as doctests (they need the tokio layer). The repository
// README's are rtmp-embed's doctests: that file is not in this crate's package.
#[cfg(all(doctest, feature = "runtime"))]
#[doc = include_str!("../README.md")]
mod readme {}
