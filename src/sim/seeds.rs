//! Running one scenario over many seeds, naming the seed that fails and how to replay it.
//!
//! Environment variables:
//! - `POLITY_SIM_SEED=N` runs only seed `N` (a replay);
//! - `POLITY_SIM_SEEDS=N` or `A..B` sets the seeds of a sweep ([`sweep_seeds`]);
//! - `POLITY_SIM_KEEP_GOING=1` runs every seed and reports every failure, instead of
//!   stopping at the first;
//! - `POLITY_SIM_LOG=FILTER` prints the core's log lines (a `tracing` filter such as
//!   `polity=debug`), each naming its node and virtual time.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

/// The seeds of a sweep: `POLITY_SIM_SEEDS` (`N` for `0..N`, or `A..B`), else
/// `0..default`.
///
/// # Panics
/// If `POLITY_SIM_SEEDS` is set but is neither a number nor a range.
pub fn sweep_seeds(default: u64) -> Range<u64> {
    let Ok(text) = std::env::var("POLITY_SIM_SEEDS") else {
        return 0..default;
    };
    let parsed = match text.split_once("..") {
        Some((a, b)) => a.parse().ok().zip(b.parse().ok()).map(|(a, b)| a..b),
        None => text.parse().ok().map(|n| 0..n),
    };
    parsed.unwrap_or_else(|| panic!("POLITY_SIM_SEEDS={text:?} is neither N nor A..B"))
}

/// Runs `scenario` for every seed in `seeds`, or only for the seed in `POLITY_SIM_SEED`
/// when it is set.
///
/// A failing seed is run once more (the simulator replays a seed exactly) with the
/// core's log at trace level written to a file; the panic names the seed, the command
/// that replays exactly this test with it, and the file. `name` labels the scenario in
/// messages. A line `sweep NAME: N seeds, K failed, R seeds/s` goes to stderr at the end.
///
/// # Panics
/// When a seed fails (with `POLITY_SIM_KEEP_GOING=1`, after running every seed).
pub fn for_each_seed(name: &str, seeds: Range<u64>, scenario: impl Fn(u64) -> Result<(), String>) {
    let seeds: Vec<u64> = match std::env::var("POLITY_SIM_SEED") {
        Ok(one) => match one.parse() {
            Ok(seed) => vec![seed],
            Err(_) => panic!("POLITY_SIM_SEED={one:?} is not a number"),
        },
        Err(_) => seeds.collect(),
    };
    if let Ok(filter) = std::env::var("POLITY_SIM_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let keep_going = std::env::var_os("POLITY_SIM_KEEP_GOING").is_some();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut ran = 0u64;
    for seed in seeds {
        ran += 1;
        if let Err(failure) = scenario(seed) {
            let report = report(name, seed, &failure, &scenario);
            if !keep_going {
                panic!("{report}");
            }
            eprintln!("{report}");
            failures.push(seed);
        }
    }
    let rate = ran as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "sweep {name}: {ran} seeds, {} failed, {rate:.1} seeds/s",
        failures.len()
    );
    if !failures.is_empty() {
        panic!("{name}: {} seeds failed: {failures:?}", failures.len());
    }
}

/// What a failing seed prints: the failure, the replay command and the trace file.
fn report(
    name: &str,
    seed: u64,
    failure: &str,
    scenario: &impl Fn(u64) -> Result<(), String>,
) -> String {
    let trace = match write_trace(name, seed, scenario) {
        Ok(path) => format!("the run's log: {}", path.display()),
        Err(error) => format!("the run's log could not be written: {error}"),
    };
    format!(
        "{name}: seed {seed} failed: {failure}\n\
         replay it with: POLITY_SIM_SEED={seed} {}\n\
         {trace}",
        replay_command()
    )
}

/// The command that runs exactly the current test: its file from the test binary's
/// name, its name from the thread libtest runs it on.
fn replay_command() -> String {
    let file = std::env::current_exe().ok().and_then(|exe| {
        let stem = exe.file_stem()?.to_str()?.to_owned();
        // Cargo names test binaries FILE-HASH.
        Some(
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(f, _)| f.to_owned()),
        )
    });
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main");
    let profile = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    match (file, test) {
        (Some(file), Some(test)) => {
            format!("cargo test{profile} --all-features --test {file} {test} -- --exact")
        }
        _ => format!("cargo test{profile} --all-features"),
    }
}

/// Runs `seed` again with the core's log at trace level going to a file; returns it.
fn write_trace(
    name: &str,
    seed: u64,
    scenario: &impl Fn(u64) -> Result<(), String>,
) -> std::io::Result<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("sim-failures");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}-{seed}.log"));
    let file = std::fs::File::create(&path)?;
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("polity=trace"))
        .without_time()
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .finish();
    let _ = tracing::subscriber::with_default(subscriber, || scenario(seed));
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}
