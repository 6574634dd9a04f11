//! Child processes whose every line of output is timestamped as it is read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::Result;

/// A line of output and when it was read.
pub type Line = (Instant, String);

/// A child process whose stdout and stderr are read by threads that timestamp each line
/// and copy it to a log file. Killed when dropped, unless it has been reaped already.
pub struct Proc {
    label: String,
    child: Child,
    lines: Receiver<Line>,
}

impl Proc {
    pub fn spawn(label: &str, cmd: &mut Command, logs: &Path) -> Result<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{label}: cannot start {cmd:?}: {e}"))?;
        let (tx, rx) = channel();
        let log = logs.join(format!("{label}.log"));
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let err = child.stderr.take().ok_or("no stderr")?;
        read_lines(out, tx.clone(), log.try_clone().map_err(|e| e.to_string())?);
        read_lines(err, tx, log);
        Ok(Proc {
            label: label.to_string(),
            child,
            lines: rx,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends SIGKILL and reaps the process; returns the instant just before.
    pub fn kill9(&mut self) -> Instant {
        let at = Instant::now();
        let _ = self.child.kill();
        let _ = self.child.wait();
        at
    }

    /// Waits until the process has exited (after a signal that ends it) and reaps it.
    pub fn wait_exit(&mut self) -> Result<()> {
        self.child
            .wait()
            .map(drop)
            .map_err(|e| format!("{}: {e}", self.label))
    }

    /// Sends `signal`; returns the instant just before.
    pub fn signal(&self, signal: Signal) -> Instant {
        let at = Instant::now();
        let _ = kill(Pid::from_raw(self.pid()), signal);
        at
    }

    /// The next line that satisfies `pred`, within `timeout`.
    pub fn wait_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<Line> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if pred(&line) => return Ok((at, line)),
                Ok(_) => {}
                Err(_) => return Err(format!("{}: no expected line in {timeout:?}", self.label)),
            }
        }
    }

    /// Drops buffered lines.
    pub fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }
}

impl Drop for Proc {
    /// Kills the process if it is still running. `Child` keeps the status of a process
    /// it has reaped (by [`Proc::kill9`] or [`Proc::wait_exit`]), so `try_wait` answers
    /// from it without a signal to a pid that may have been handed to another process.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_lines(stream: impl Read + Send + 'static, tx: Sender<Line>, mut log: File) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let at = Instant::now();
            let _ = writeln!(log, "{line}");
            let _ = tx.send((at, line));
        }
    });
}

/// The first line, among `procs`, that satisfies `pred`: (index, instant, line).
pub fn first_line(
    procs: &[&Proc],
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Result<(usize, Instant, String)> {
    let deadline = Instant::now() + timeout;
    let mut best: Option<(usize, Instant, String)> = None;
    loop {
        for (i, p) in procs.iter().enumerate() {
            while let Ok((at, line)) = p.lines.try_recv() {
                if pred(&line) && best.as_ref().is_none_or(|(_, b, _)| at < *b) {
                    best = Some((i, at, line));
                }
            }
        }
        if let Some(found) = best {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!("no expected line in {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(1));
    }
}
