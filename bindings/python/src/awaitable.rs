//! Rust futures as asyncio awaitables.
//!
//! An awaitable is an `asyncio.Future` of the running loop. Its Rust future runs on the
//! awaitables' runtime; the outcome is handed to the loop (`call_soon_threadsafe`) from a blocking
//! thread, never a worker (one waiting for the GIL would stall every other awaitable), and through
//! the exit gate: once the interpreter exits, outcomes are dropped instead. Cancelling the asyncio
//! future aborts the Rust future.

use std::future::Future;
use std::sync::OnceLock;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use crate::errors::{Failure, RtmpError};
use crate::exit_gate::enter_python;

/// The most threads that wait for the GIL to hand outcomes over.
const HANDOVER_THREADS: usize = 4;

fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    // One worker is plenty: the futures only wait for the library's own runtimes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(HANDOVER_THREADS)
        .thread_name("rtmp-rs-asyncio")
        .enable_all()
        .build()
        .map_err(|e| RtmpError::new_err(format!("cannot start the awaitables' runtime: {e}")))?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// `fut` as an awaitable of the running event loop.
pub(crate) fn future_into_py<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let runtime = runtime()?;
    let (event_loop, future) = new_future(py)?;
    let work = runtime.spawn(fut);
    future.call_method1("add_done_callback", (AbortOnDone(work.abort_handle()),))?;
    let target = Target { event_loop: event_loop.unbind(), future: future.clone().unbind() };
    runtime.spawn(async move {
        let outcome = match work.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => Err(RtmpError::new_err("internal error: the call panicked").into()),
            Err(_) => return, // cancelled from Python: nobody waits
        };
        tokio::task::spawn_blocking(move || enter_python(|py| target.settle(py, outcome)));
    });
    Ok(future)
}

/// An awaitable that is done already, with `value`.
pub(crate) fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let (_, future) = new_future(py)?;
    future.call_method1("set_result", (value,))?;
    Ok(future)
}

fn new_future(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let event_loop = GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?.call0()?;
    let future = event_loop.call_method0("create_future")?;
    Ok((event_loop, future))
}

struct Target {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
}

impl Target {
    fn settle<T: for<'a> IntoPyObject<'a>>(self, py: Python<'_>, outcome: Result<T, Failure>) {
        let outcome = outcome.map_err(PyErr::from).and_then(|value| value.into_py_any(py));
        let (ok, value) = match outcome {
            Ok(value) => (true, value),
            Err(e) => (false, e.into_value(py).into_any()),
        };
        static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let settle = match SETTLE
            .get_or_try_init(py, || wrap_pyfunction!(settle_future, py).map(|f| f.into_any().unbind()))
        {
            Ok(settle) => settle,
            Err(e) => return e.write_unraisable(py, None),
        };
        // Fails only once the loop is closed: nothing waits then.
        let _ = self.event_loop.call_method1(py, "call_soon_threadsafe", (settle, self.future, ok, value));
    }
}

/// On the event loop: sets the outcome unless the future was cancelled meanwhile.
#[pyfunction]
fn settle_future(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    future.call_method1(if ok { "set_result" } else { "set_exception" }, (value,))?;
    Ok(())
}

/// The awaitable's done callback: stops its Rust future (a no-op once that finished).
#[pyclass(frozen)]
struct AbortOnDone(AbortHandle);

#[pymethods]
impl AbortOnDone {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        self.0.abort();
    }
}
