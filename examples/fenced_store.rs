//! A store that refuses stale holders: the fencing token, end to end, with SQLite.
//!
//! Run as the command of `polity campaign`, it writes a row every few milliseconds to a
//! SQLite database, each write fenced by `POLITY_TERM`: the store keeps the highest term
//! it has seen and, in the same transaction, refuses any write whose term is below it.
//! A holder that lost the role without knowing (a frozen process resumed, a partition)
//! can then do no harm: its writes are refused, and counted.
//!
//! ```text
//! polity campaign scheduler --name n1 -- \
//!     target/debug/examples/fenced_store write /var/lib/app/store.db
//! fenced_store check /var/lib/app/store.db     # accepted, refused, stale accepted
//! ```
//!
//! `write DB [EVERY_MS]` writes until it is stopped (default every 20 ms). On SIGTERM it
//! stops between two writes. `check DB` prints `accepted A refused R stale-accepted S`
//! and exits 1 if S is not 0: an accepted write whose term is below that of a write
//! accepted before it, which the fence exists to prevent.
//!
//! The fence, in SQLite (the same statement works in PostgreSQL, see the README):
//!
//! ```sql
//! INSERT INTO fence (id, term) VALUES (1, ?1)
//!   ON CONFLICT (id) DO UPDATE SET term = excluded.term WHERE excluded.term >= fence.term;
//! ```
//!
//! followed, in the same transaction, by the write itself only if the fence now holds
//! the writer's term.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior, params};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS fence (id INTEGER PRIMARY KEY CHECK (id = 1), term INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS writes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        term INTEGER NOT NULL,
        holder TEXT NOT NULL,
        at_us INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS refused (
        term INTEGER NOT NULL,
        fence INTEGER NOT NULL,
        holder TEXT NOT NULL,
        at_us INTEGER NOT NULL
    );
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", db] => write(db, Duration::from_millis(20)),
        ["write", db, every] => match every.parse() {
            Ok(ms) => write(db, Duration::from_millis(ms)),
            Err(_) => Err(format!("EVERY_MS {every:?} is not a whole number")),
        },
        ["check", db] => check(db),
        _ => Err("usage: fenced_store write DB [EVERY_MS] | fenced_store check DB".into()),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("fenced_store: {error}");
            ExitCode::from(2)
        }
    }
}

fn open(db: &str) -> Result<Connection, String> {
    let connection = Connection::open(db).map_err(|e| format!("cannot open {db}: {e}"))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .and_then(|()| connection.execute_batch(SCHEMA))
        .map_err(|e| format!("cannot set up {db}: {e}"))?;
    Ok(connection)
}

fn now_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// Writes one fenced row every `every` until SIGTERM.
fn write(db: &str, every: Duration) -> Result<ExitCode, String> {
    let term: i64 = std::env::var("POLITY_TERM")
        .map_err(|_| "POLITY_TERM is not set: run me under polity campaign".to_owned())?
        .parse()
        .map_err(|_| "POLITY_TERM is not a number".to_owned())?;
    let holder = std::env::var("POLITY_HOLDER").unwrap_or_default();
    let mut connection = open(db)?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook_flag(&stop)?;
    while !stop.load(Ordering::Relaxed) {
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO fence (id, term) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET term = excluded.term WHERE excluded.term >= fence.term",
            params![term],
        )
        .map_err(|e| e.to_string())?;
        let fence: i64 = tx
            .query_row("SELECT term FROM fence WHERE id = 1", [], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if fence == term {
            tx.execute(
                "INSERT INTO writes (term, holder, at_us) VALUES (?1, ?2, ?3)",
                params![term, holder, now_us()],
            )
            .map_err(|e| e.to_string())?;
        } else {
            tx.execute(
                "INSERT INTO refused (term, fence, holder, at_us) VALUES (?1, ?2, ?3, ?4)",
                params![term, fence, holder, now_us()],
            )
            .map_err(|e| e.to_string())?;
            eprintln!("fenced_store: refused a write of term {term}: the store has seen {fence}");
        }
        tx.commit().map_err(|e| e.to_string())?;
        std::thread::sleep(every);
    }
    Ok(ExitCode::SUCCESS)
}

/// Sets `flag` on SIGTERM or SIGINT, from a thread that waits for them.
fn signal_hook_flag(flag: &Arc<AtomicBool>) -> Result<(), String> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block().map_err(|e| e.to_string())?;
    let flag = Arc::clone(flag);
    std::thread::spawn(move || {
        if set.wait().is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    Ok(())
}

/// Counts accepted, refused and stale accepted writes.
fn check(db: &str) -> Result<ExitCode, String> {
    let connection = open(db)?;
    let mut statement = connection
        .prepare("SELECT term FROM writes ORDER BY seq")
        .map_err(|e| e.to_string())?;
    let terms = statement
        .query_map([], |row| row.get::<_, i64>(0))
        .map_err(|e| e.to_string())?;
    let (mut accepted, mut stale, mut highest) = (0u64, 0u64, i64::MIN);
    for term in terms {
        let term = term.map_err(|e| e.to_string())?;
        accepted += 1;
        if term < highest {
            stale += 1;
        }
        highest = highest.max(term);
    }
    let refused: i64 = connection
        .query_row("SELECT count(*) FROM refused", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    println!("accepted {accepted} refused {refused} stale-accepted {stale}");
    Ok(if stale == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
