//! Structured logs through `tracing`: `RUST_LOG` filters, text or JSON lines,
//! on stderr (colour only on a terminal). The access log is the
//! `ferroflow::access` target (see `observe::access`).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // JSON lines keep the target, so a collector can pick out the access
    // log (`"target":"ferroflow::access"`); text lines stay short.
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
