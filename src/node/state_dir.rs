//! The state directory: what a node keeps on disk so that it restarts safely.
//!
//! The directory holds one file, `state.json`: the [`Durable`] state of the core (its
//! Lamport clock, the members it counts, the terms it has seen), as JSON. A node started
//! with a state directory reads the file, starts its clock and generation above the
//! saved clock, and counts the saved members as down until it hears from them. While it
//! runs, it rewrites the file at most once a second when the state changed, and once
//! more when it stops. Each write goes to `state.json.tmp`, is flushed to the disk, and
//! then renamed over `state.json`, so a crash leaves either the old file or the new one.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::error::StartError;
use crate::core::Durable;

/// The file's name inside the state directory.
pub(crate) const STATE_FILE: &str = "state.json";

/// The temporary file a new state is written to before it replaces [`STATE_FILE`].
const TEMP_FILE: &str = "state.json.tmp";

/// The largest state file read, in bytes. A real one holds a few hundred bytes per
/// member; anything larger than this is not a state file.
pub(crate) const MAX_STATE_FILE_LEN: u64 = 16 * 1024 * 1024;

/// How often the state is written while it changes.
pub(crate) const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// How often a failing write is logged.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Makes `dir` if needed and reads the state saved in it, if any. A missing file is a
/// first start (`None`); an unreadable, oversized or corrupt file is an error that names
/// the file.
pub(crate) fn load(dir: &Path) -> Result<Option<Durable>, StartError> {
    fs::create_dir_all(dir).map_err(|source| StartError::StateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(STATE_FILE);
    let bad = |reason: String| StartError::StateFile {
        path: path.clone(),
        reason,
    };
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(bad(format!("cannot open it: {error}"))),
    };
    let len = file
        .metadata()
        .map_err(|error| bad(format!("cannot read its size: {error}")))?
        .len();
    if len > MAX_STATE_FILE_LEN {
        return Err(bad(format!(
            "it is {len} bytes long, more than the {MAX_STATE_FILE_LEN} bytes a state file \
             may have"
        )));
    }
    let mut text = Vec::new();
    // Read one byte past the limit, in case the file grew since its size was read.
    file.take(MAX_STATE_FILE_LEN + 1)
        .read_to_end(&mut text)
        .map_err(|error| bad(format!("cannot read it: {error}")))?;
    if text.len() as u64 > MAX_STATE_FILE_LEN {
        return Err(bad(format!(
            "it is more than the {MAX_STATE_FILE_LEN} bytes a state file may have"
        )));
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|error| bad(format!("it is not a polity state file: {error}")))
}

/// Writes `durable` to `dir/state.json` atomically: to a temporary file first, flushed to
/// the disk, then renamed over the old file, and the directory flushed so that the
/// rename survives a power cut.
pub(crate) fn save(dir: &Path, durable: &Durable) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(durable).map_err(io::Error::other)?;
    let temp = dir.join(TEMP_FILE);
    let mut file = fs::File::create(&temp)?;
    file.write_all(&text)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, dir.join(STATE_FILE))?;
    // Not every platform can open a directory to sync it; the rename is done either way.
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The node task's writer of the state file: one write at a time, on the blocking pool,
/// so that the task never waits for the disk while it runs.
#[derive(Debug)]
pub(crate) struct StateWriter {
    dir: PathBuf,
    /// The state last written to the disk.
    saved: Durable,
    /// A write under way, and the state it writes.
    writing: Option<(Durable, JoinHandle<io::Result<()>>)>,
    /// When a failed write was last logged.
    last_failure_log: Option<Instant>,
}

impl StateWriter {
    /// A writer for `dir`, whose file already holds `saved`.
    pub(crate) fn new(dir: PathBuf, saved: Durable) -> Self {
        StateWriter {
            dir,
            saved,
            writing: None,
            last_failure_log: None,
        }
    }

    /// Starts writing `durable` if it differs from what the file holds and no write is
    /// under way. Called every [`SAVE_INTERVAL`].
    pub(crate) async fn tick(&mut self, durable: Durable) {
        if self
            .writing
            .as_ref()
            .is_some_and(|(_, write)| !write.is_finished())
        {
            return;
        }
        self.collect().await;
        if durable != self.saved {
            let dir = self.dir.clone();
            let state = durable.clone();
            let write = tokio::task::spawn_blocking(move || save(&dir, &state));
            self.writing = Some((durable, write));
        }
    }

    /// Waits for any write under way, then writes `durable` and waits for it: the node
    /// is stopping, and this is the last chance to keep what it knows.
    pub(crate) async fn finish(&mut self, durable: Durable) {
        self.collect().await;
        if durable == self.saved {
            return;
        }
        let dir = self.dir.clone();
        let state = durable.clone();
        let written = tokio::task::spawn_blocking(move || save(&dir, &state))
            .await
            .unwrap_or_else(|error| Err(io::Error::other(error)));
        self.outcome(durable, written);
    }

    /// Waits for the write under way, if any, and records its outcome.
    async fn collect(&mut self) {
        if let Some((durable, write)) = self.writing.take() {
            let written = write
                .await
                .unwrap_or_else(|error| Err(io::Error::other(error)));
            self.outcome(durable, written);
        }
    }

    fn outcome(&mut self, durable: Durable, written: io::Result<()>) {
        match written {
            Ok(()) => {
                if self.last_failure_log.take().is_some() {
                    tracing::info!(dir = %self.dir.display(), "the state file is written again");
                }
                self.saved = durable;
            }
            Err(error) => {
                let now = Instant::now();
                let quiet = self
                    .last_failure_log
                    .is_some_and(|last| now.saturating_duration_since(last) < FAILURE_LOG_INTERVAL);
                if !quiet {
                    self.last_failure_log = Some(now);
                    tracing::warn!(
                        dir = %self.dir.display(), %error,
                        "cannot write the state file; a restart may forget what this node knew \
                         (logged at most once a minute)"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LamportTime;
    use crate::identity::{NodeId, NodeName};

    fn durable(clock: u64) -> Durable {
        let member = NodeId::new(
            NodeName::new("b").unwrap(),
            "127.0.0.1:7702".parse().unwrap(),
            7,
        );
        Durable {
            clock: LamportTime(clock),
            members: vec![member],
            roles: Vec::new(),
            forgotten_through: LamportTime::ZERO,
        }
    }

    #[test]
    fn a_missing_file_is_a_first_start_and_the_directory_is_made() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        assert!(load(&dir).unwrap().is_none());
        assert!(dir.is_dir());
    }

    #[test]
    fn what_is_saved_is_loaded_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &durable(5)).unwrap();
        save(dir.path(), &durable(9)).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(durable(9)));
        assert!(!dir.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{\"clock\": 1, \"memb").unwrap();
        let error = load(dir.path()).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, StartError::StateFile { .. }), "{error:?}");
        assert!(message.contains(STATE_FILE), "{message}");
        assert!(message.contains("remove it"), "{message}");
    }

    #[test]
    fn an_oversized_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let file = fs::File::create(dir.path().join(STATE_FILE)).unwrap();
        file.set_len(MAX_STATE_FILE_LEN + 1).unwrap();
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("bytes"), "{message}");
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let blocker = root.path().join("file");
        fs::write(&blocker, b"").unwrap();
        let error = load(&blocker.join("dir")).unwrap_err();
        assert!(matches!(error, StartError::StateDir { .. }), "{error:?}");
        assert!(error.to_string().contains("file/dir"), "{error}");
    }

    #[tokio::test]
    async fn the_writer_writes_changes_only_and_finishes_on_stop() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = StateWriter::new(dir.path().to_path_buf(), durable(1));
        writer.tick(durable(1)).await;
        assert!(writer.writing.is_none());
        assert!(load(dir.path()).unwrap().is_none());
        writer.tick(durable(2)).await;
        writer.finish(durable(3)).await;
        assert_eq!(load(dir.path()).unwrap(), Some(durable(3)));
    }
}
