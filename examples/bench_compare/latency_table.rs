//! Percentiles of timed samples, printed as rows of a markdown table.

use std::time::Duration;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Prints one result row, markdown: what, system, samples, p50, p99, max.
pub fn report(what: &str, system: &str, mut samples: Vec<Duration>) {
    samples.sort();
    if samples.is_empty() {
        println!("| {what} | {system} | 0 | - | - | - |");
        return;
    }
    println!(
        "| {what} | {system} | {} | {} | {} | {} |",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    );
}
