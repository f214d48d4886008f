//! rtmp-rs for C and C++ (`librtmp_rs`, header `include/rtmp_rs.h`), over the embedding layer
//! (`rtmp-embed`) that the Python and Node packages share.
//!
//! The C API follows rustls-ffi: functions are named `rtmp_<type>_<verb>`, types are opaque,
//! every function returns an [`rtmp_result`] (or a plain value for accessors), checks its
//! pointers, and catches panics. See the header for threads, lifetimes and ownership.
#![allow(non_camel_case_types)]
// The exported functions take raw pointers from C by design: each one checks them for NULL and
// documents what it requires; marking them `unsafe` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

#[macro_use]
mod panic;
#[macro_use]
mod ffi;

mod client;
mod config;
mod error;
mod frame;
mod local;
mod log;
mod request;
mod server;
mod slice;
mod stats;
mod userdata;

pub use client::*;
pub use config::*;
pub use error::*;
pub use frame::*;
pub use local::*;
pub use log::*;
pub use request::*;
pub use server::*;
pub use slice::*;
pub use stats::*;
pub use userdata::*;

use std::ffi::c_char;

/// The library version as a NUL-terminated string, e.g. `"0.1.0"`. Static; never free it.
/// Compare with `RTMP_RS_VERSION` to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
