//! The native core of the Python package `openai_codex_rs` (distribution `openai-codex-rs`).
//!
//! The Python package (`python/openai_codex_rs/`) gives Python users the official SDK's API,
//! name for name; this module is what it stands on: the `openai-codex` Rust SDK driven from
//! Python.
//!
//! * `client`: `CoreClient`, `CoreThread`, `CoreTurn` and the login handles. Every operation
//!   has a blocking form (the GIL released while it waits, Ctrl-C checked every 50 ms) and an
//!   `*_async` form returning an asyncio awaitable resolved from the Rust future on one shared
//!   tokio runtime (no thread per call).
//! * `bridge`: that runtime, and Rust futures as asyncio futures.
//! * `options`: the keyword arguments of the Python API, received as JSON and mapped onto the
//!   SDK's option structs.
//! * `errors`: SDK errors turned into the Python exception classes of the seed.
//!
//! Values cross the boundary as JSON text: protocol payloads are serialized once in Rust and
//! parsed by Python's C `json` module only when the program reads them.

mod bridge;
mod client;
mod errors;
mod options;

use pyo3::prelude::*;

/// The extension module `openai_codex_rs._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", openai_codex::VERSION)?;
    m.add(
        "PINNED_RUNTIME_VERSION",
        openai_codex::config::PINNED_RUNTIME_VERSION,
    )?;
    m.add_class::<client::CoreClient>()?;
    m.add_class::<client::CoreThread>()?;
    m.add_class::<client::CoreTurn>()?;
    m.add_class::<client::CoreLogin>()?;
    m.add_function(wrap_pyfunction!(errors::rpc_error_info, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::shutdown, m)?)?;
    Ok(())
}
