//! The sans-IO RTMP protocol core. Nothing here uses tokio, sockets or a clock.

pub mod adobe;
pub mod amf;
pub mod chunk;
mod error;
pub mod handshake;
pub mod media;
pub mod message;
pub mod session;

pub use error::ProtocolError;

#[cfg(test)]
mod tests;
