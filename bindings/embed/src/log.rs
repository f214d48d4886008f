//! The library's tracing events, delivered to one process-wide sink.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use super::EmbedError;

/// One log event.
#[derive(Debug, Clone, Copy)]
pub struct LogRecord<'a> {
    /// Its level.
    pub level: Level,
    /// The module that logged it (`rtmp_core::server::connection`).
    pub target: &'a str,
    /// The message followed by its fields: `publish session=3 key=live/cam`.
    pub message: &'a str,
}

/// Receives log events, on whatever thread logged them. Must not block for long.
pub type LogSink = Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>;

static SINK: RwLock<Option<LogSink>> = RwLock::new(None);
/// 0 = off, 1 = error … 5 = trace.
static MAX_LEVEL: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

fn level_number(level: Level) -> usize {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Sends the library's log events at `max_level` and above to `sink`, or stops sending them
/// (`None` or [`LevelFilter::OFF`]); replaces the previous sink, which is dropped.
///
/// The first call installs the process-wide tracing subscriber; it fails with
/// [`EmbedError::InvalidState`] when the application installed another one (then use that).
/// Events logged by the sink itself are dropped, so a sink may call back into the library.
pub fn set_log_sink(sink: Option<LogSink>, max_level: LevelFilter) -> Result<(), EmbedError> {
    let installed =
        *INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(CallbackSubscriber).is_ok());
    if !installed {
        return Err(EmbedError::InvalidState("another tracing subscriber is installed for this process"));
    }
    let level = match (sink.is_some(), max_level.into_level()) {
        (true, Some(level)) => level_number(level),
        _ => 0,
    };
    let old = std::mem::replace(&mut *SINK.write().unwrap_or_else(|e| e.into_inner()), sink);
    MAX_LEVEL.store(level, Ordering::Release);
    drop(old);
    Ok(())
}

struct CallbackSubscriber;

impl Subscriber for CallbackSubscriber {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` on every event.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && level_number(*metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if IN_SINK.with(Cell::get) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(sink) = sink else { return };
        let mut text = Text::default();
        event.record(&mut text);
        let metadata = event.metadata();
        let record = LogRecord { level: *metadata.level(), target: metadata.target(), message: &text.0 };
        IN_SINK.with(|s| s.set(true));
        sink(&record);
        IN_SINK.with(|s| s.set(false));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `message key=value key=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }
}
