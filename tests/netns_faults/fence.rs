//! The fenced SQLite store (`examples/fenced_store`) that every node's CMD writes to: the
//! end-to-end check that no write of a holder that lost the role is ever accepted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The store's program and database.
pub(super) struct FencedStore {
    pub(super) program: PathBuf,
    pub(super) db: PathBuf,
}

/// What `fenced_store check` counted.
#[derive(Debug)]
pub(super) struct Counts {
    pub(super) accepted: u64,
    pub(super) refused: u64,
    pub(super) stale_accepted: u64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writes accepted, {} refused by the fence, {} stale accepted",
            self.accepted, self.refused, self.stale_accepted
        )
    }
}

impl FencedStore {
    /// The store's program, which cargo builds next to `polity` (in `examples/`).
    pub(super) fn new(polity: &Path, db: &Path) -> Self {
        let dir = polity.parent().expect("the binary has a directory");
        let program = dir.join("examples").join("fenced_store");
        assert!(
            program.exists(),
            "{} is missing: build the examples (cargo build --all-features --examples)",
            program.display()
        );
        FencedStore {
            program,
            db: db.to_owned(),
        }
    }

    /// Counts the store's writes.
    pub(super) fn check(&self) -> Counts {
        let output = Command::new(&self.program)
            .arg("check")
            .arg(&self.db)
            .output()
            .expect("fenced_store check runs");
        let report = String::from_utf8_lossy(&output.stdout);
        let count = |name: &str| -> u64 {
            let words: Vec<&str> = report.split_whitespace().collect();
            words
                .iter()
                .position(|w| *w == name)
                .and_then(|i| words.get(i + 1))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("fenced_store check said {report:?}"))
        };
        Counts {
            accepted: count("accepted"),
            refused: count("refused"),
            stale_accepted: count("stale-accepted"),
        }
    }
}
