//! CMD's supervision: started in the watchdog's process group with the role's variables,
//! watched without being reaped (so its group id cannot be reused while it is signalled),
//! stopped with SIGTERM then SIGKILL, and never left running when `campaign` returns.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::time::{Instant, SystemTime};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use polity::{LamportTime, Leadership, NodeName};
use tokio::sync::oneshot;

use super::slots::Slot;
use super::watchdog::Watchdog;

/// CMD as given on the command line.
pub struct Cmd<'a> {
    pub program: &'a OsStr,
    pub args: &'a [OsString],
    /// CMD's program, for messages.
    pub display: String,
    /// The value published with the role, given to CMD as `POLITY_VALUE`.
    pub value: Option<&'a str>,
}

/// The file `POLITY_DEADLINE_FILE` names: the holder's deadline in Unix milliseconds.
pub struct DeadlineFile {
    path: PathBuf,
}

impl DeadlineFile {
    pub fn new(term: LamportTime) -> Self {
        let name = format!("polity-campaign-{}-{term}.deadline", std::process::id());
        DeadlineFile {
            path: std::env::temp_dir().join(name),
        }
    }

    /// Writes `until` (a local instant) as Unix milliseconds, replacing the file whole.
    pub fn write(&self, until: Instant) {
        let left = until.saturating_duration_since(Instant::now());
        let at = SystemTime::now() + left;
        let millis = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let staged = self.path.with_extension("new");
        let written = std::fs::write(&staged, format!("{millis}\n"))
            .and_then(|()| std::fs::rename(&staged, &self.path));
        if let Err(error) = written {
            tracing::warn!(%error, path = %self.path.display(), "cannot write the deadline file");
        }
    }
}

impl Drop for DeadlineFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What `campaign` itself exits with for CMD's `status`: its exit code, or 128 + the
/// signal that killed it.
pub fn shell_status(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        u8::try_from(code).unwrap_or(1)
    } else if let Some(signal) = status.signal() {
        u8::try_from(128 + signal).unwrap_or(255)
    } else {
        1
    }
}

/// CMD while it runs: the leader of a process group of its own, watched by a thread that
/// reports its exit without collecting it. Until [`Running::reap`] collects it, its
/// process id, which is also its group's id, cannot be reused, so signals sent to the
/// group cannot reach an unrelated process.
pub struct Running {
    child: Child,
    pid: Pid,
    /// Leads CMD's process group, and kills it at the deadline on its own.
    pub watchdog: Watchdog,
    exit: oneshot::Receiver<()>,
    has_exited: bool,
    reaped: bool,
}

impl Running {
    /// Starts CMD with the role's variables in its environment, in its own process group,
    /// with SIGKILL as its parent-death signal.
    pub fn spawn(
        cmd: &Cmd<'_>,
        slot: &Slot,
        term: LamportTime,
        holder: &NodeName,
        deadline_file: &DeadlineFile,
        leadership: &Leadership,
    ) -> io::Result<Self> {
        // The watchdog first, armed: CMD joins its group, never unguarded.
        let mut watchdog = Watchdog::spawn(leadership.deadline())?;
        let mut command = std::process::Command::new(cmd.program);
        command
            .args(cmd.args)
            .env("POLITY_ROLE", slot.role.as_str())
            .env("POLITY_TERM", term.to_string())
            .env("POLITY_HOLDER", holder.to_string())
            .env("POLITY_DEADLINE_FILE", &deadline_file.path)
            .process_group(watchdog.group.as_raw());
        if let Some(value) = cmd.value {
            command.env("POLITY_VALUE", value);
        }
        if let Some(number) = slot.number {
            command.env("POLITY_SLOT", number.to_string());
        }
        let parent = nix::unistd::getpid();
        // SAFETY: the closure runs in the child between fork and exec, where only
        // async-signal-safe functions may be called, since another thread of the parent
        // may have held a lock (of the allocator, say) at the fork. It makes exactly two
        // system calls, prctl(PR_SET_PDEATHSIG) and getppid, both async-signal-safe; it
        // allocates nothing (an `io::Error` made from an errno is a plain integer), takes
        // no lock and touches no state shared with the parent: `parent` is a copied
        // integer.
        unsafe {
            command.pre_exec(move || die_with_parent(parent));
        }
        // Blocks until CMD has been executed (or failed to be), so by the time it returns
        // CMD is in the watchdog's process group.
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let _ = killpg(watchdog.group, Signal::SIGKILL);
                watchdog.reap();
                return Err(error);
            }
        };
        let pid = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
        let (exit_tx, exit) = oneshot::channel();
        let watcher = std::thread::Builder::new()
            .name("polity-cmd-wait".into())
            .spawn(move || {
                // WNOWAIT: leaves CMD a zombie, so that its pid stays taken until it is
                // reaped on the runtime's thread, after the last signal to its group.
                let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
                loop {
                    match waitid(Id::Pid(pid), flags) {
                        Err(Errno::EINTR) => continue,
                        Err(error) => {
                            tracing::error!(%error, "cannot wait for the command");
                            break;
                        }
                        Ok(_) => break,
                    }
                }
                let _ = exit_tx.send(());
            });
        let mut running = Running {
            child,
            pid,
            watchdog,
            exit,
            has_exited: false,
            reaped: false,
        };
        if let Err(error) = watcher {
            // Dropping `running` kills CMD and reaps it.
            running.has_exited = true;
            return Err(error);
        }
        Ok(running)
    }

    /// Sends `signal` to CMD's process group.
    fn signal(&self, signal: Signal) {
        match killpg(self.watchdog.group, signal) {
            Ok(()) => {}
            // CMD moved to another group; it can still be reached by its pid.
            Err(Errno::ESRCH) => {
                let _ = kill(self.pid, signal);
            }
            Err(error) => {
                tracing::warn!(%error, signal = signal.as_str(), "cannot signal the command")
            }
        }
    }

    /// Resolves once CMD has exited (it is then a zombie, not yet reaped). Cancel-safe.
    pub async fn exited(&mut self) {
        if !self.has_exited {
            // An error means the watcher gave up; `reap` then kills CMD.
            let _ = (&mut self.exit).await;
            self.has_exited = true;
        }
    }

    /// SIGTERM to CMD's group, SIGKILL at `kill_at`; returns CMD's status once gone.
    pub async fn stop(mut self, kill_at: Instant) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        let kill_at = tokio::time::Instant::from_std(kill_at);
        if tokio::time::timeout_at(kill_at, self.exited())
            .await
            .is_err()
        {
            tracing::warn!("the command did not stop in time; killing it");
            self.signal(Signal::SIGKILL);
            self.exited().await;
        }
        self.reap()
    }

    /// Kills what CMD left running in its group, then collects CMD's status. Call once
    /// [`Running::exited`] has resolved.
    pub fn reap(mut self) -> ExitStatus {
        self.signal(Signal::SIGKILL);
        self.reaped = true;
        self.watchdog.reap();
        match self.child.wait() {
            Ok(status) => status,
            Err(error) => {
                tracing::error!(%error, "cannot collect the command's exit status");
                ExitStatus::from_raw(1 << 8)
            }
        }
    }
}

impl Drop for Running {
    /// A command nobody collected (an early return) must not outlive the role either.
    fn drop(&mut self) {
        if !self.reaped {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
            self.watchdog.reap();
        }
    }
}

/// Runs in CMD's process between fork and exec: asks the kernel to SIGKILL it when its
/// parent dies, then checks that the parent has not died already (in which case the
/// signal would never come), refusing to execute CMD if it has.
fn die_with_parent(parent: Pid) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if nix::unistd::getppid() != parent {
        return Err(Errno::ESRCH.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_shells() {
        assert_eq!(shell_status(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(shell_status(ExitStatus::from_raw(0)), 0);
        assert_eq!(shell_status(ExitStatus::from_raw(15)), 143);
        assert_eq!(shell_status(ExitStatus::from_raw(9)), 137);
    }
}
