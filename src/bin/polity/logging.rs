//! Logs of the commands that run a node: to standard error, as text or JSON lines, at the
//! level `RUST_LOG` sets (`info` by default).
//!
//! Spans are logged when they close: an `election` span (`role`, `term`, `outcome`) at
//! info, one line per election with how long it took (`time.busy` plus `time.idle`),
//! and a `renewal` span per renewal round at debug (`RUST_LOG=polity=debug`).

use std::io::IsTerminal;

use crate::node_args::LogFormat;

/// Sends the process's logs to standard error in `format`.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
