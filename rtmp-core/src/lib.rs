//! rtmp-core: an RTMP server and client library.
//!
//! [`proto`] is a sans-IO protocol core: handshake, chunk stream, AMF0/AMF3, messages, FLV and
//! Enhanced-RTMP media, and the client/server session state machines. It owns no sockets, no
//! clock and no runtime: bytes go in, events and bytes come out, and time is passed in.
// No unsafe code but three audited calls: the fan-out's cache prefetch and its socket descriptor
// (`server::output::direct`), and the receive low-water mark of merged reads (`server::merged_read`).
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "runtime")]
pub mod client;
pub mod flv;
pub mod options;
pub mod proto;
#[cfg(feature = "runtime")]
pub mod server;
