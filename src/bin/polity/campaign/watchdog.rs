//! The watchdog of `polity campaign`: a small process that leads CMD's process group and
//! kills the whole group, itself included, at the holder's deadline, on its own.
//!
//! `campaign` feeds it the deadline over a pipe (its standard input): one line per
//! renewal, the `CLOCK_MONOTONIC` time in nanoseconds until which the node holds the
//! role. The watchdog needs nothing else from `campaign`: if `campaign` is stopped
//! (SIGSTOP), starved of CPU or deadlocked, no later deadline comes and the group is
//! killed at the last one; if `campaign` dies, the pipe closes and the group is killed at
//! once. Being in CMD's group, the watchdog is frozen only when CMD is too (a whole
//! frozen host, say), and then CMD does nothing either: what such a CMD may still do
//! when it resumes is one action already under way, which the fencing token catches.
//!
//! It ignores SIGINT, SIGTERM and SIGHUP (blocked), since `campaign` sends the stop
//! signals to the whole group and the watchdog must outlive CMD's handling of them.

use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigSet, Signal, killpg};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{Pid, getpgrp};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "watchdog";

/// `polity watchdog`, run by `polity campaign` only.
#[derive(clap::Args, Debug)]
pub struct WatchdogArgs {}

/// What the reader thread has learned from the pipe.
#[derive(Default)]
struct Feed {
    /// The latest deadline, in `CLOCK_MONOTONIC` nanoseconds.
    deadline: Option<u64>,
    /// The pipe closed: `campaign` is gone.
    closed: bool,
}

/// Runs the watchdog until it kills its group; see the module documentation.
pub fn run(_args: WatchdogArgs) -> ExitCode {
    let mut stops = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stops.add(signal);
    }
    // Blocked before the reader thread starts, so that it inherits the mask too.
    if let Err(error) = stops.thread_block() {
        eprintln!("polity watchdog: cannot block the stop signals: {error}");
    }
    let feed = Arc::new((Mutex::new(Feed::default()), Condvar::new()));
    let reader = Arc::clone(&feed);
    let spawned = std::thread::Builder::new()
        .name("polity-watchdog-feed".into())
        .spawn(move || read_feed(&reader));
    if let Err(error) = spawned {
        eprintln!("polity watchdog: {error}");
        kill_group();
    }
    let (lock, wake) = &*feed;
    let Ok(mut state) = lock.lock() else {
        kill_group()
    };
    loop {
        if state.closed {
            kill_group();
        }
        let wait = match state.deadline {
            None => None,
            Some(deadline) => match deadline.checked_sub(monotonic_nanos()) {
                None | Some(0) => kill_group(),
                Some(left) => Some(Duration::from_nanos(left)),
            },
        };
        state = match wait {
            None => match wake.wait(state) {
                Ok(state) => state,
                Err(_) => kill_group(),
            },
            Some(wait) => match wake.wait_timeout(state, wait) {
                Ok((state, _)) => state,
                Err(_) => kill_group(),
            },
        };
    }
}

/// Reads deadlines, one decimal number per line, until the pipe closes.
fn read_feed(feed: &(Mutex<Feed>, Condvar)) {
    let (lock, wake) = feed;
    let stdin = io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        let read = stdin.lock().read_line(&mut line);
        let Ok(mut state) = lock.lock() else {
            kill_group();
        };
        match read {
            Ok(0) | Err(_) => state.closed = true,
            Ok(_) => {
                // A line that is not a number changes nothing: the last deadline stands.
                if let Ok(deadline) = line.trim().parse::<u64>() {
                    state.deadline = Some(deadline);
                }
            }
        }
        let closed = state.closed;
        drop(state);
        wake.notify_one();
        if closed {
            return;
        }
    }
}

/// SIGKILL to this process's group: CMD, what it started, and the watchdog itself.
fn kill_group() -> ! {
    let _ = killpg(getpgrp(), Signal::SIGKILL);
    // Not reached: the signal is for this process too.
    std::process::exit(137)
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock `Instant` reads on Linux, the same
/// for every process of the host.
fn monotonic_nanos() -> u64 {
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(now) => {
            let nanos = i128::from(now.tv_sec()) * 1_000_000_000 + i128::from(now.tv_nsec());
            u64::try_from(nanos).unwrap_or(0)
        }
        // CLOCK_MONOTONIC always exists on Linux; a zero makes every deadline look far.
        Err(_) => 0,
    }
}

/// `campaign`'s end of a running watchdog.
pub struct Watchdog {
    child: Child,
    feed: ChildStdin,
    /// The watchdog's pid: also the id of the process group CMD joins.
    pub group: Pid,
}

impl Watchdog {
    /// Starts the watchdog, armed with `deadline`, as the leader of a new process group.
    pub fn spawn(deadline: Instant) -> io::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()?;
        let group = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
        let Some(feed) = child.stdin.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the watchdog has no pipe"));
        };
        // Never block `campaign`: a feed the watchdog cannot take now is dropped, and
        // the earlier deadline, which is the safe one, stands.
        let flags = fcntl(feed.as_fd(), FcntlArg::F_GETFL)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(feed.as_fd(), FcntlArg::F_SETFL(flags))?;
        let mut watchdog = Watchdog { child, feed, group };
        watchdog.feed(deadline);
        Ok(watchdog)
    }

    /// Moves the deadline to `deadline`.
    pub fn feed(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        let nanos = u64::try_from(left.as_nanos()).unwrap_or(u64::MAX);
        let line = format!("{}\n", monotonic_nanos().saturating_add(nanos));
        if let Err(error) = self.feed.write_all(line.as_bytes()) {
            tracing::debug!(%error, "the watchdog did not take a deadline");
        }
    }

    /// Collects the watchdog once its group has been killed.
    pub fn reap(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
