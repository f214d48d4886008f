//! Keeps the library's own threads out of Python once the interpreter exits.
//!
//! Library threads enter Python for log records, `on_media_tag` and to hand awaitables' outcomes
//! to asyncio. During finalization CPython stops a foreign thread that takes the GIL in the middle
//! of the call, which aborts the process ("PyGILState_Release: thread state … must be current",
//! or a crash), and `Python::try_attach` cannot tell in time. So every such entry goes through
//! this gate, and an `atexit` hook, registered when the module is imported and so run after the
//! servers' own `stop()` hooks, closes it and waits (without the GIL) for the threads inside.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long the exit hook waits for a thread inside Python (a hung `on_media_tag`) to leave.
const EXIT_WAIT: Duration = Duration::from_secs(2);

struct Gate {
    open: bool,
    inside: usize,
}

static GATE: Mutex<Gate> = Mutex::new(Gate { open: true, inside: 0 });
static LEFT: Condvar = Condvar::new();

fn gate() -> MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with the GIL from a library thread; None once the interpreter exits.
pub(crate) fn enter_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    {
        let mut gate = gate();
        if !gate.open {
            return None;
        }
        gate.inside += 1;
    }
    /// Leaves the gate even if `f` panics.
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            gate().inside -= 1;
            LEFT.notify_all();
        }
    }
    let _leave = Leave;
    Python::try_attach(f)
}

/// The `atexit` hook: no library thread enters Python from now on.
#[pyfunction]
fn _close_exit_gate(py: Python<'_>) {
    py.detach(|| {
        let deadline = Instant::now() + EXIT_WAIT;
        let mut gate = gate();
        gate.open = false;
        while gate.inside > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            gate = LEFT.wait_timeout(gate, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    });
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_close_exit_gate, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
