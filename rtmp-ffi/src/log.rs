//! `rtmp_log_set_callback`: the library's tracing events for C.

use std::ffi::c_void;
use std::sync::Arc;

use tracing::Level;
use tracing::level_filters::LevelFilter;

use crate::error::{embed_error, fail, rtmp_result};
use crate::slice::rtmp_str;
use crate::userdata::{Userdata, rtmp_userdata_drop};
use rtmp_embed::{CallbackKind, LogRecord, callback_scope, set_log_sink};

/// A log level; also the most verbose level passed to `rtmp_log_set_callback`.
pub type rtmp_log_level = u32;
/// No logging.
pub const RTMP_LOG_LEVEL_OFF: rtmp_log_level = 0;
/// Errors.
pub const RTMP_LOG_LEVEL_ERROR: rtmp_log_level = 1;
/// Warnings (refused connections, accept failures).
pub const RTMP_LOG_LEVEL_WARN: rtmp_log_level = 2;
/// Connections, publishes, plays, disconnects.
pub const RTMP_LOG_LEVEL_INFO: rtmp_log_level = 3;
/// Protocol details.
pub const RTMP_LOG_LEVEL_DEBUG: rtmp_log_level = 4;
/// Everything.
pub const RTMP_LOG_LEVEL_TRACE: rtmp_log_level = 5;

/// Receives one log event: its level, its origin (`rtmp_core::server::connection`) and its text
/// (`publish session=3 key=live/cam`); both views are valid for the call.
pub type rtmp_log_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: rtmp_log_level,
        target: rtmp_str<'static>,
        message: rtmp_str<'static>,
    ),
>;

/// Sends the library's log events at `max_level` and more severe to `callback`, process-wide,
/// replacing the previous callback (whose userdata destructor runs once no thread is inside it
/// any more: normally at once, on this thread). NULL
/// `callback` or `RTMP_LOG_LEVEL_OFF` turns logging off. The callback runs on whatever thread
/// logs — runtime workers included — so it must be thread-safe, must not block, and may call
/// only non-blocking functions (events logged inside it are dropped). `userdata_drop` (may be
/// NULL) runs when the callback is replaced or turned off (at once when `callback` is NULL).
/// `RTMP_RESULT_INVALID_STATE` when the process already installed another tracing subscriber
/// (an embedding Rust program).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_log_set_callback(
    callback: rtmp_log_cb,
    userdata: *mut c_void,
    userdata_drop: rtmp_userdata_drop,
    max_level: rtmp_log_level,
) -> rtmp_result {
    ffi_panic_boundary! {
        let filter = match max_level {
            RTMP_LOG_LEVEL_OFF => LevelFilter::OFF,
            RTMP_LOG_LEVEL_ERROR => LevelFilter::ERROR,
            RTMP_LOG_LEVEL_WARN => LevelFilter::WARN,
            RTMP_LOG_LEVEL_INFO => LevelFilter::INFO,
            RTMP_LOG_LEVEL_DEBUG => LevelFilter::DEBUG,
            RTMP_LOG_LEVEL_TRACE => LevelFilter::TRACE,
            other => return fail(rtmp_result::InvalidArgument, format!("unknown log level {other}")),
        };
        let userdata = Userdata::new(userdata, userdata_drop);
        let sink = callback.map(|cb| -> rtmp_embed::LogSink {
            Arc::new(move |record: &LogRecord<'_>| {
                let level = match record.level {
                    Level::ERROR => RTMP_LOG_LEVEL_ERROR,
                    Level::WARN => RTMP_LOG_LEVEL_WARN,
                    Level::INFO => RTMP_LOG_LEVEL_INFO,
                    Level::DEBUG => RTMP_LOG_LEVEL_DEBUG,
                    Level::TRACE => RTMP_LOG_LEVEL_TRACE,
                };
                let target: rtmp_str<'static> = extend(rtmp_str::borrow(record.target));
                let message: rtmp_str<'static> = extend(rtmp_str::borrow(record.message));
                let ud = userdata.get();
                // SAFETY: the application's function with its userdata; views valid for the call.
                callback_scope(CallbackKind::NonBlocking, || unsafe { cb(ud, level, target, message) });
            })
        });
        match set_log_sink(sink, filter) {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

fn extend(view: rtmp_str<'_>) -> rtmp_str<'static> {
    // SAFETY: only passed to a callback that may not keep it (documented).
    unsafe { std::mem::transmute::<rtmp_str<'_>, rtmp_str<'static>>(view) }
}
