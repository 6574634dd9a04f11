//! `polity campaign ROLE [node flags] -- CMD [ARGS...]`: run CMD while this node holds
//! ROLE, like `consul lock`.
//!
//! The command starts a node of its own (the same flags as `polity agent`), campaigns for
//! ROLE, and once it holds the role runs CMD with `POLITY_ROLE`, `POLITY_TERM` (the
//! fencing token, in decimal) and `POLITY_HOLDER` (this node's name) added to its
//! environment. Standard input, output and error are inherited. At start it writes one
//! line to standard error, `polity: node NAME listening on IP:PORT`, naming the address
//! other nodes can `--join`.
//!
//! # Losing the role: the grace period
//!
//! When the role is lost ([`polity::Leadership::lost`] resolves: the lease ran out
//! without a quorum renewing it, or the role was recalled or superseded), CMD's process
//! group is sent SIGTERM, and SIGKILL once the grace period has passed. The grace period
//! must end before any other node can be granted the role:
//!
//! - the node steps down at the end of its own lease, `holder_lease = lease * (1 -
//!   max_drift) - 1% of lease`, counted from when it sent the renewal that a quorum
//!   acknowledged ([`polity::Config::holder_lease`]);
//! - voters count their lease, `lease`, from when they received that renewal, so none of
//!   them may grant the role elsewhere before `lease` has passed since it was sent;
//! - the gap between the two is `lease - holder_lease = (max_drift + 1%) * lease`, and
//!   the grace period is half of it, [`grace`]. The other half covers the time between
//!   the node's deadline and this process reacting to it, and SIGKILL taking effect.
//!
//! The stop starts when `lost()` resolves, which for an unrenewed lease is at the
//! holder's own deadline: the node tells of no renewal trouble before that.
//!
//! | profile | lease  | holder lease | gap      | grace    |
//! |---------|--------|--------------|----------|----------|
//! | `lan`   | 1.5 s  | 1.335 s      | 165 ms   | 82.5 ms  |
//! | `wan`   | 10 s   | 8.9 s        | 1.1 s    | 550 ms   |
//! | `fast`  | 300 ms | 267 ms       | 33 ms    | 16.5 ms  |
//!
//! The gap is that wide when the nodes' clocks run at the same rate. `max_drift` (10%)
//! is the largest rate difference the role protocol itself tolerates; CMD is killed by
//! `lease * (0.89 + 0.055) = 0.945 * lease` after the renewal was sent, which is before
//! every voter's lease ends as long as clock rates differ by less than about 5% (5.8%,
//! less the reaction time). Real clocks differ by parts per million. Once a voter's lease has ended, another node must
//! still win an election and start its own CMD.
//!
//! After CMD is gone the node keeps campaigning and runs CMD again when it next holds the
//! role, unless `--once` is given: then `campaign` leaves the cluster and exits with 1.
//!
//! # CMD's process group
//!
//! CMD runs as the leader of a process group of its own, and every signal goes to the
//! whole group, as `consul lock` does: a shell pipeline or a script and the programs it
//! started stop together. When CMD (the group leader) exits, whatever it left running in
//! its group is killed too, before its exit status is collected, so nothing started
//! under the role outlives it. (Processes that move to another group or session escape
//! this.) Being outside the terminal's foreground group, CMD does not receive the
//! terminal's Ctrl-C itself: `campaign` does and forwards SIGTERM. For the same reason
//! CMD should not read from a terminal (it would be stopped with SIGTTIN).
//!
//! # When `campaign` dies
//!
//! CMD is started with the Linux parent-death signal set to SIGKILL
//! (`prctl(PR_SET_PDEATHSIG)`), so it is killed even when `campaign` is killed with
//! SIGKILL and cannot stop it. The signal is tied to the thread that started CMD, which
//! here is the main thread: the async runtime is single-threaded and CMD is spawned from
//! the task it runs there, so the signal comes only when the whole process ends. Should
//! `campaign` die between starting CMD and setting the signal, CMD finds that its parent
//! has changed and is not executed. The parent-death signal reaches CMD itself, not the
//! processes it started, and is cleared when CMD executes a set-user-ID or set-group-ID
//! program. Only Linux has it.
//!
//! # Exit status
//!
//! - CMD exited by itself: `campaign` resigns the role (so a waiting node takes over at
//!   once), leaves the cluster, and exits with CMD's exit code, or 128 + the signal
//!   number if a signal killed it, as shells do.
//! - SIGINT or SIGTERM to `campaign`: SIGTERM to CMD, SIGKILL after the grace period,
//!   then resign, leave, and exit with CMD's status as above. Received while waiting for
//!   the role: leave and exit with 128 + the signal number (130 or 143).
//! - CMD cannot be started: a message naming CMD and the OS error, resign, leave, and
//!   exit with 127 if it was not found, 126 otherwise (not executable), as shells do.
//! - `--once` and the role was lost: 1. The node stopped or failed to campaign: 1.
//! - Bad flags, a bad ROLE, a missing `--` or CMD, an invalid config, or a node that
//!   cannot start (for instance its address is taken): 2.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitCode, ExitStatus};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use polity::{Config, Event, LamportTime, Leadership, Node, NodeHandle, NodeName, RoleName};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::exit_code;
use crate::node_args::NodeArgs;

/// The part of `--help` that explains the grace period and the exit status.
const AFTER_LONG_HELP: &str = "\
Environment of CMD: POLITY_ROLE (the role), POLITY_TERM (the term won, a decimal \
number: the fencing token, higher for every later grant of the role) and POLITY_HOLDER \
(this node's name).

When the role is lost, CMD's process group gets SIGTERM, then SIGKILL after a grace \
period that ends before the lease can pass to another node: half of the gap between the \
holder's lease and the voters' (lease - holder lease = (max_drift + 1%) * lease):
  lan:  82.5 ms (lease 1.5 s)
  wan:  550 ms  (lease 10 s)
  fast: 16.5 ms (lease 300 ms)
CMD should stop, or at least stop acting on the role's behalf, within that time. CMD also \
gets SIGKILL if polity itself dies (Linux parent-death signal). Without --once, polity \
then waits for the role again and reruns CMD.

Exit status: CMD's own when it exits by itself, or when polity is stopped with SIGINT or \
SIGTERM (which it forwards to CMD as SIGTERM); 128 + N when signal N killed CMD; 127 \
when CMD was not found, 126 when it could not be executed; 1 when the role was lost with \
--once, or the node failed; 130 or 143 for SIGINT or SIGTERM received while waiting for \
the role; 2 for bad arguments or a node that cannot start.";

/// Run CMD while this node holds ROLE, like `consul lock`.
///
/// Starts a node with the flags below, campaigns for ROLE, runs CMD once the role is held,
/// stops CMD when the role is lost, and resigns the role when CMD exits.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_LONG_HELP)]
pub struct CampaignArgs {
    /// The role to hold (1 to 128 printable bytes, no whitespace).
    #[arg(value_name = "ROLE")]
    pub role: RoleName,
    /// Exit with status 1 once the role is lost and CMD stopped, instead of waiting for
    /// the role again and rerunning CMD.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub node: NodeArgs,
    /// The command to run while holding the role, and its arguments, after `--`.
    #[arg(
        value_name = "CMD",
        last = true,
        required = true,
        num_args = 1..,
        value_parser = clap::value_parser!(OsString)
    )]
    pub command: Vec<OsString>,
}

/// Runs `polity campaign`; see the module documentation.
pub fn run(args: CampaignArgs) -> ExitCode {
    crate::logging::init(args.node.log_format);
    let config = match args.node.config_or_exit() {
        Ok(config) => config,
        Err(code) => return code,
    };
    // One thread only: CMD's parent-death signal follows the thread that started it, so
    // that thread must live as long as the process (see the module documentation).
    let runtime = match exit_code::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(campaign(args, config))
}

/// How long CMD has between SIGTERM and SIGKILL after the role is lost: half of the time
/// between the holder's own lease end and the earliest end of a voter's lease.
pub fn grace(config: &Config) -> Duration {
    config.lease.saturating_sub(config.holder_lease()) / 2
}

async fn campaign(args: CampaignArgs, config: Config) -> ExitCode {
    // Installed before the node starts, so that no SIGINT or SIGTERM goes unhandled.
    let mut stop = match StopSignals::new() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("polity: cannot handle SIGINT and SIGTERM: {error}");
            return exit_code::failure();
        }
    };
    let grace = grace(&config);
    let name = config.name.clone();
    let node = match Node::start(config).await {
        Ok(node) => node,
        Err(error) => {
            eprintln!("polity: {error}");
            return exit_code::usage();
        }
    };
    eprintln!("polity: node {name} listening on {}", node.local_addr());
    tokio::spawn(log_events(node.events()));

    let (program, program_args) = match args.command.split_first() {
        Some(split) => split,
        // clap requires at least one value; nothing to run is a usage error all the same.
        None => return exit_code::usage(),
    };
    let cmd = Cmd {
        program,
        args: program_args,
        display: program.to_string_lossy().into_owned(),
    };
    let code = hold(&node, &args.role, &name, &cmd, args.once, grace, &mut stop).await;
    match tokio::time::timeout(Duration::from_secs(5), node.leave()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "leave failed"),
        Err(_) => tracing::warn!("leaving the cluster took too long; exiting anyway"),
    }
    ExitCode::from(code)
}

/// CMD as given on the command line.
struct Cmd<'a> {
    program: &'a OsStr,
    args: &'a [OsString],
    display: String,
}

/// Campaigns for `role` and runs CMD while holding it, until `campaign` should exit;
/// returns the exit code.
async fn hold(
    node: &NodeHandle,
    role: &RoleName,
    name: &NodeName,
    cmd: &Cmd<'_>,
    once: bool,
    grace: Duration,
    stop: &mut StopSignals,
) -> u8 {
    loop {
        tracing::info!(%role, "waiting for the role");
        let leadership = tokio::select! {
            won = node.campaign(role.clone()) => match won {
                Ok(leadership) => leadership,
                Err(error) => {
                    eprintln!("polity: cannot campaign for {role}: {error}");
                    return 1;
                }
            },
            signal = stop.recv() => {
                tracing::info!(signal = signal.as_str(), "stopping; the role was not held");
                return u8::try_from(128 + signal as i32).unwrap_or(1);
            }
        };
        let term = leadership.term();
        tracing::info!(
            %role,
            %term,
            command = %cmd.display,
            "holding the role; starting the command"
        );
        let mut running = match Running::spawn(cmd, role, term, name) {
            Ok(running) => running,
            Err(error) => {
                eprintln!("polity: cannot run {}: {error}", cmd.display);
                resign(leadership).await;
                return if error.kind() == io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
            }
        };
        let lost = leadership.lost();
        tokio::select! {
            () = running.exited() => {
                let status = running.reap();
                tracing::info!(%status, "the command exited; resigning the role");
                resign(leadership).await;
                return exit_code(status);
            }
            reason = lost => {
                match reason {
                    Ok(reason) => tracing::warn!(
                        %role, %term, ?reason, ?grace, "lost the role; stopping the command"
                    ),
                    Err(error) => tracing::warn!(
                        %role, %term, %error, ?grace, "the node stopped; stopping the command"
                    ),
                }
                let status = running.stop(grace).await;
                tracing::info!(%status, "the command stopped");
                if once {
                    return 1;
                }
            }
            signal = stop.recv() => {
                tracing::info!(signal = signal.as_str(), ?grace, "stopping the command");
                let status = running.stop(grace).await;
                tracing::info!(%status, "the command stopped; resigning the role");
                resign(leadership).await;
                return exit_code(status);
            }
        }
    }
}

/// Gives the role up so that a waiting node takes over at once; losing it first is fine.
async fn resign(leadership: Leadership) {
    if let Err(error) = leadership.resign().await {
        tracing::debug!(%error, "no role to resign");
    }
}

/// What `campaign` itself exits with for CMD's `status`: its exit code, or 128 + the
/// signal that killed it.
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        u8::try_from(code).unwrap_or(1)
    } else if let Some(signal) = status.signal() {
        u8::try_from(128 + signal).unwrap_or(255)
    } else {
        1
    }
}

/// SIGINT and SIGTERM to `campaign`.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> io::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next SIGINT or SIGTERM. Cancel-safe.
    async fn recv(&mut self) -> Signal {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Signal::SIGINT,
            Some(()) = self.terminate.recv() => Signal::SIGTERM,
            // Both streams end only with the runtime; no signal will come.
            else => std::future::pending().await,
        }
    }
}

/// CMD while it runs: the leader of a process group of its own, watched by a thread that
/// reports its exit without collecting it. Until [`Running::reap`] collects it, its
/// process id, which is also its group's id, cannot be reused, so signals sent to the
/// group cannot reach an unrelated process.
struct Running {
    child: Child,
    pid: Pid,
    exit: oneshot::Receiver<()>,
    has_exited: bool,
    reaped: bool,
}

impl Running {
    /// Starts CMD with the role's variables in its environment, in its own process group,
    /// with SIGKILL as its parent-death signal.
    fn spawn(
        cmd: &Cmd<'_>,
        role: &RoleName,
        term: LamportTime,
        holder: &NodeName,
    ) -> io::Result<Self> {
        let mut command = std::process::Command::new(cmd.program);
        command
            .args(cmd.args)
            .env("POLITY_ROLE", role.as_str())
            .env("POLITY_TERM", term.to_string())
            .env("POLITY_HOLDER", holder.to_string())
            .process_group(0);
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
        // CMD leads its own process group.
        let child = command.spawn()?;
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
        match killpg(self.pid, signal) {
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
    async fn exited(&mut self) {
        if !self.has_exited {
            // An error means the watcher gave up; `reap` then kills CMD.
            let _ = (&mut self.exit).await;
            self.has_exited = true;
        }
    }

    /// SIGTERM to CMD's group, SIGKILL after `grace`; returns CMD's status once gone.
    async fn stop(mut self, grace: Duration) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        if tokio::time::timeout(grace, self.exited()).await.is_err() {
            tracing::warn!(?grace, "the command outlived its grace period; killing it");
            self.signal(Signal::SIGKILL);
            self.exited().await;
        }
        self.reap()
    }

    /// Kills what CMD left running in its group, then collects CMD's status. Call once
    /// [`Running::exited`] has resolved.
    fn reap(mut self) -> ExitStatus {
        self.signal(Signal::SIGKILL);
        self.reaped = true;
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

/// Logs membership events, which tell who the node sees; roles are logged by [`hold`].
async fn log_events(mut events: tokio::sync::broadcast::Receiver<Event>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(Event::MemberUp(id)) => tracing::info!(member = %id, "member up"),
            Ok(Event::MemberDown(id)) => tracing::warn!(member = %id, "member down"),
            Ok(Event::MemberLeft(id)) => tracing::info!(member = %id, "member left"),
            Ok(Event::Joined) => tracing::info!("joined the cluster"),
            Ok(Event::Isolated) => tracing::warn!("no live member known"),
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "events were missed"),
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polity::Profile;

    /// The figures written in the module documentation and in `--help`.
    #[test]
    fn documented_grace_periods_match_the_profiles() {
        let name = NodeName::new("n").unwrap();
        for (profile, documented_micros) in [
            (Profile::Lan, 82_500),
            (Profile::Wan, 550_000),
            (Profile::Fast, 16_500),
        ] {
            let grace = grace(&Config::new(name.clone(), profile));
            let micros = i64::try_from(grace.as_micros()).unwrap();
            assert!(
                (micros - documented_micros).abs() <= 1,
                "{profile}: {grace:?}"
            );
            assert!(AFTER_LONG_HELP.contains(&format!("{profile}:")));
        }
    }

    #[test]
    fn exit_codes_follow_shells() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
