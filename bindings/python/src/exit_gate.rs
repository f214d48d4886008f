//! Keeps the library's own threads out of Python once the interpreter starts to exit.
//!
//! Runtime workers enter Python for log records and `on_media_tag`, and the awaitables' runtime
//! (pyo3-async-runtimes) to hand results to asyncio. `Python::try_attach` refuses once
//! finalization has begun, but a thread that got in just before is stopped by CPython in the
//! middle of the call (a foreign thread re-taking the GIL during finalization exits), which
//! aborts the process. An `atexit` hook, registered when the module is imported and so run after
//! every server's own stop, closes the gate, and waits for the threads inside to leave and for
//! the awaitables still running to finish.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static OPEN: AtomicBool = AtomicBool::new(true);
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` with the GIL from a library thread, unless the interpreter is exiting.
pub(crate) fn enter_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    if !OPEN.load(Ordering::Acquire) {
        return None;
    }
    INSIDE.fetch_add(1, Ordering::AcqRel);
    // Closed meanwhile: the hook may already have seen no one inside.
    let result = if OPEN.load(Ordering::Acquire) { Python::try_attach(f) } else { None };
    INSIDE.fetch_sub(1, Ordering::AcqRel);
    result
}

/// The `atexit` hook: no library thread enters Python from now on; waits (without the GIL, at
/// most 2 s) for those inside to leave and for the awaitables' tasks to end.
#[pyfunction]
fn _close_python_entry(py: Python<'_>) {
    OPEN.store(false, Ordering::Release);
    let awaitables = pyo3_async_runtimes::tokio::get_runtime().metrics();
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while (INSIDE.load(Ordering::Acquire) > 0 || awaitables.num_alive_tasks() > 0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_close_python_entry, m)?)
}
