//! The library's logs into Python `logging`: logger `rtmp_rs` and its children
//! (`rtmp_rs.server.connection` for the Rust module `rtmp_core::server::connection`).
//!
//! Records below the level set with `set_log_level` are dropped in Rust, without the GIL; the
//! package sets it from `logging.getLogger("rtmp_rs").getEffectiveLevel()`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use rtmp_embed::{LogRecord, set_log_sink};
use tracing::Level;
use tracing::level_filters::LevelFilter;

fn python_level(level: Level) -> i32 {
    match level {
        Level::TRACE => 5,
        Level::DEBUG => 10,
        Level::INFO => 20,
        Level::WARN => 30,
        Level::ERROR => 40,
    }
}

fn logger_name(target: &str) -> String {
    let rest = target
        .strip_prefix("rtmp_core::")
        .or_else(|| target.strip_prefix("rtmp_rs::"))
        .or_else(|| target.strip_prefix("_native::"))
        .unwrap_or(target);
    if rest == "rtmp_core" || rest == "rtmp_rs" || rest.is_empty() {
        "rtmp_rs".to_owned()
    } else {
        format!("rtmp_rs.{}", rest.replace("::", "."))
    }
}

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn forward(record: &LogRecord<'_>) {
    // Any thread; nothing once the interpreter exits.
    let _ = crate::exit_gate::enter_python(|py| -> PyResult<()> {
        let get_logger = GET_LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("logging")?.getattr("getLogger")?.unbind())
        })?;
        let logger = get_logger.call1(py, (logger_name(record.target),))?;
        logger.call_method1(py, "log", (python_level(record.level), "%s", record.message))?;
        Ok(())
    });
}

/// Sends the library's records at `level` (a `logging` level number) and above to Python
/// `logging`; `logging.CRITICAL` and above turn them off. Returns False when another tracing
/// subscriber owns the process.
#[pyfunction]
fn set_log_level(level: i32) -> bool {
    let filter = match level {
        ..=5 => LevelFilter::TRACE,
        6..=10 => LevelFilter::DEBUG,
        11..=20 => LevelFilter::INFO,
        21..=30 => LevelFilter::WARN,
        31..=40 => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    };
    let sink = (filter != LevelFilter::OFF).then(|| Arc::new(forward) as rtmp_embed::LogSink);
    set_log_sink(sink, filter).is_ok()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_log_level, m)?)?;
    Ok(())
}
