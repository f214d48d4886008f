//! The Node package of rtmp-rs (`rtmp-rs` on npm), built with napi-rs on the embedding layer
//! (`rtmp-embed`), so that every hook, decision, config field and statistic is
//! the same as in Rust, C and Python.
//!
//! - [`server::Server`]: `new Server(options, handler)`, `listen()`, `close()`, `stats()`; the
//!   handler's camelCase hooks run on the JS thread (see [`hooks`] for how events and answers
//!   cross threads).
//! - [`client::Player`] (an async iterator of [`frame::Frame`]s) and [`client::Publisher`].
//! - [`local::Subscription`] and [`local::LocalPublisher`]: a server's streams in-process
//!   (`server.subscribe()`, `server.publish()`).
//! - [`frame::Frame`]: media whose payload is a Buffer over the library's memory.
//! - [`set_logger`]: the library's logs to a JS function.
#![deny(clippy::all)]

mod client;
mod client_options;
mod error;
mod frame;
mod hooks;
mod js;
mod local;
mod options;
mod server;
mod server_options;
mod values;

use std::sync::Arc;

use napi::bindgen_prelude::{BigInt, FnArgs, Function, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use rtmp_embed::{LogRecord, set_log_sink};
use tracing::Level;
use tracing::level_filters::LevelFilter;

pub use client::{Player, PlayerEvent, PlayerEventType, Publisher};
pub use frame::{Frame, FrameKind};
pub use local::{
    LocalPublisher, StreamEvent, StreamEventKind, SubscribeOptions, SubscribeStart, Subscription,
};
pub use options::{
    ClientOptions, ClientTlsOptions, OptionInfo, ReconnectOptions, ServerOptions, ServerTlsOptions,
    client_options, server_options,
};
pub use server::Server;
pub use server_options::PublisherPolicy;
pub use values::{
    DisconnectKind, DisconnectReason, PeerKind, PlayerStats, RequestKind, RtmpRequest, ServerStats, Session,
    StreamInfo, StreamKey, StreamNameInfo, StreamStats,
};

/// The library version (`0.1.0`).
#[napi(catch_unwind)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Where a Buffer's bytes live (diagnostics: `bufferAddress(frame.payload) ===
/// frame.payloadAddress()` shows the payload was not copied).
#[napi(catch_unwind, ts_args_type = "buffer: Buffer")]
pub fn buffer_address(env: &Env, buffer: Unknown<'_>) -> Result<BigInt> {
    Ok(BigInt::from(js::buffer_address(env.raw(), buffer.raw())? as u64))
}

/// A log level.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Connections, publishes, plays, drops, disconnect reasons (the default).
    Info,
    /// Protocol details.
    Debug,
    /// Everything.
    Trace,
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Sends the library's log events at `level` and above (default `'info'`) to `logger`, or
/// stops sending them (`null`). The logger runs on the JS thread, later than the event; it
/// does not keep Node alive, and what it throws is ignored.
#[napi(
    catch_unwind,
    ts_args_type = "logger: ((level: LogLevel, target: string, message: string) => void) | null | undefined, level?: LogLevel"
)]
#[allow(clippy::type_complexity)]
pub fn set_logger(
    logger: Option<Function<FnArgs<(String, String, String)>, ()>>,
    level: Option<LogLevel>,
) -> Result<()> {
    let filter = match level.unwrap_or(LogLevel::Info) {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let sink = match logger {
        None => None,
        Some(logger) => {
            let tsfn = logger
                .build_threadsafe_function::<(String, String, String)>()
                .callee_handled::<false>()
                .weak::<true>()
                .build_callback(|ctx| Ok(FnArgs::from(ctx.value)))?;
            let sink: rtmp_embed::LogSink = Arc::new(move |record: &LogRecord<'_>| {
                let line = (
                    level_name(record.level).to_owned(),
                    record.target.to_owned(),
                    record.message.to_owned(),
                );
                // With a return callback a throwing logger is caught, not fatal.
                tsfn.call_with_return_value(line, ThreadsafeFunctionCallMode::NonBlocking, |_, _| Ok(()));
            });
            Some(sink)
        }
    };
    set_log_sink(sink, filter).map_err(|e| napi::Error::from_reason(e.to_string()))
}
