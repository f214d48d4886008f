//! `rtmp_rs._native`: the Python skin of the rtmp-rs embedding layer (`rtmp_embed`).
//!
//! Threads and the GIL:
//! - Server hooks never run on a library thread. The server's sink queues owned events (no GIL);
//!   the Python package awaits them in batches (`NativeServer.next_events`) on its asyncio loop,
//!   where every hook runs. Decisions are answered later with `Request.accept`/`reject`.
//! - The exception is `on_media_tag`, a synchronous filter: it runs on a runtime worker under
//!   `Python::attach`.
//! - Every blocking call (stop, connect, send, read with a timeout) releases the GIL
//!   (`py.detach`), so library threads that want the GIL (logs, `on_media_tag`, awaitables
//!   completing) never wait for a thread that waits for them.
//! - Those library threads enter Python only through the exit gate (`exit_gate`), which an
//!   `atexit` hook closes: none is inside Python while the interpreter finalizes.

mod amf;
mod awaitable;
mod client;
mod errors;
mod exit_gate;
mod local;
mod log;
mod payload;
mod server;
mod types;

use std::sync::OnceLock;

use pyo3::prelude::*;
use rtmp_embed as embed;

/// The runtime shared by every client (players and publishers) of the process: one worker.
pub(crate) fn client_runtime() -> PyResult<embed::Runtime> {
    static RUNTIME: OnceLock<embed::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.clone());
    }
    let rt = embed::Runtime::new(1).map_err(|e| errors::RtmpError::new_err(e.to_string()))?;
    Ok(RUNTIME.get_or_init(|| rt).clone())
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    payload::register(m)?;
    types::register(m)?;
    server::register(m)?;
    client::register(m)?;
    local::register(m)?;
    log::register(m)?;
    exit_gate::register(m)?;
    Ok(())
}
