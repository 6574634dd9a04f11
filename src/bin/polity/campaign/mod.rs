//! `polity campaign ROLE [node flags] -- CMD [ARGS...]`: run CMD while this node holds
//! ROLE, like `consul lock`.
//!
//! The command starts a node of its own (the same flags as `polity agent`), campaigns for
//! ROLE, and once it holds the role runs CMD with `POLITY_ROLE`, `POLITY_TERM` (the
//! fencing token, in decimal), `POLITY_HOLDER` (this node's name) and, with `--value`,
//! `POLITY_VALUE` (the value it publishes with the role) added to its
//! environment. Standard input, output and error are inherited. At start it writes one
//! line to standard error, `polity: node NAME listening on IP:PORT`, naming the address
//! other nodes can `--join`.
//!
//! # Losing the role: the warning, the stop window and the watchdog
//!
//! The node steps down at the end of its own lease, `holder_lease = lease * (1 -
//! max_drift) - 1% of lease`, counted from when it sent the last renewal a quorum
//! acknowledged ([`polity::Config::holder_lease`]); voters count `lease` from when they
//! received it, so none may grant the role elsewhere before then. When no quorum has
//! acknowledged a renewal for `renew_deadline` ([`polity::Leadership::at_risk`], as
//! client-go's `RenewDeadline`), `campaign` sends SIGTERM to CMD's process group; CMD
//! then has the **stop window**, `holder_lease - renew_deadline`, before SIGKILL at the
//! holder's deadline. `--stop-timeout` sets the window (and so `renew_deadline`): a
//! longer one gives CMD more time but stops it after fewer lost renewals.
//!
//! | profile | lease  | holder lease | renew deadline | stop window (default) | most allowed |
//! |---------|--------|--------------|----------------|-----------------------|--------------|
//! | `lan`   | 1.5 s  | 1.335 s      | 750 ms         | 585 ms                | 1.035 s      |
//! | `wan`   | 10 s   | 8.9 s        | 5 s            | 3.9 s                 | 6.9 s        |
//! | `fast`  | 300 ms | 267 ms       | 150 ms         | 117 ms                | 207 ms       |
//!
//! (The most allowed leaves one renewal interval, `lease / 5`, before the warning.)
//! After the stop, `campaign` resigns the role if it still holds it and, without
//! `--once`, campaigns again.
//!
//! The deadline does not depend on `campaign` being scheduled: a **watchdog** process,
//! `polity watchdog`, leads CMD's process group and kills the whole group at the
//! holder's deadline on its own. `campaign` feeds it every new deadline over a pipe; if
//! `campaign` is stopped (SIGSTOP), starved or deadlocked, no new deadline comes and the
//! group dies at the last one; if `campaign` dies, the pipe closes and the group dies at
//! once. What remains: a host frozen as a whole (a VM paused, say) freezes CMD with the
//! watchdog, and a CMD resumed after its deadline may complete one action it had begun
//! before the watchdog's SIGKILL lands. Pass `POLITY_TERM` to the store with every
//! write, and have the store refuse terms below the highest it has seen: that catches it.
//!
//! A role lost without the warning (recalled, or superseded) stops CMD with a grace of
//! half of `lease - holder_lease` (82.5 ms with `lan`), which ends before any voter's
//! lease does: a recall lets the leases run out, so no other node holds the role yet.
//!
//! CMD can check that it still holds the role: `POLITY_DEADLINE_FILE` names a file that
//! always holds the holder's deadline as Unix time in milliseconds, rewritten (by
//! rename, so never half-written) on every renewal. Before acting, a careful CMD checks
//! that the time now is before it.
//!
//! With `--slots N`, CMD runs on at most N nodes at once, as with `consul lock -n N`: the
//! slots are the roles `ROLE/1` to `ROLE/N`, the node holds the first it wins, and CMD
//! gets `POLITY_SLOT` (the slot's number) and `POLITY_ROLE` naming the slot's role
//! (see [`slots`]).
//!
//! With `--check CMD`, holding is tied to the service's health, as Consul's session
//! checks tie a lock to it: the node campaigns only while the check passes, and a check
//! failing `--check-failures` times in a row stops CMD, resigns the role and waits for
//! a pass (see [`health`]).
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
//! - SIGINT or SIGTERM to `campaign`: SIGTERM to CMD, SIGKILL after the stop window,
//!   then resign, leave, and exit with CMD's status as above. Received while waiting for
//!   the role: leave and exit with 128 + the signal number (130 or 143).
//! - CMD cannot be started: a message naming CMD and the OS error, resign, leave, and
//!   exit with 127 if it was not found, 126 otherwise (not executable), as shells do.
//! - `--once` and the role was lost: 1. The node stopped or failed to campaign: 1.
//! - Bad flags, a bad ROLE, a missing `--` or CMD, an invalid config, or a node that
//!   cannot start (for instance its address is taken): 2.

mod child;
pub mod health;
pub mod slots;
pub mod watchdog;

use std::ffi::OsString;
use std::io;
use std::process::{ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use polity::{Config, Event, Leadership, Node, NodeHandle, NodeName, RoleName, RoleValue};

use self::child::{Cmd, DeadlineFile, Running, shell_status};
use self::health::{Check, Health};
use self::slots::{Slot, campaign_any, slots_of};
use crate::exit_code;
use crate::join;
use crate::node_args::NodeArgs;
use crate::stop_signals::{self, StopSignals};

/// The part of `--help` that explains the stop window and the exit status.
const AFTER_LONG_HELP: &str = "\
Environment of CMD: POLITY_ROLE (the role), POLITY_TERM (the term won, a decimal \
number: the fencing token, higher for every later grant of the role), POLITY_HOLDER \
(this node's name), POLITY_DEADLINE_FILE (a file holding the time, in Unix \
milliseconds, until which this node holds the role; rewritten on every renewal) and, \
with --value, POLITY_VALUE (the value published with the role). With --slots N, the \
slots are the roles ROLE/1 to ROLE/N; POLITY_ROLE names the slot held and POLITY_SLOT \
gives its number.

When no quorum has renewed the role for a while (the renew deadline), CMD's process \
group gets SIGTERM, and SIGKILL at the holder's own deadline, before any other node can \
be granted the role. The time between the two is the stop window, set by --stop-timeout \
(defaults, and the most allowed):
  lan:  585 ms, at most 1.035 s (lease 1.5 s)
  wan:  3.9 s,  at most 6.9 s   (lease 10 s)
  fast: 117 ms, at most 207 ms  (lease 300 ms)
CMD should stop acting on the role's behalf within that time. The SIGKILL comes from a \
watchdog in CMD's own process group, so it comes even if polity itself is stopped, \
starved or hung; CMD also gets SIGKILL at once if polity dies. A role recalled or \
superseded stops CMD within half of lease - holder lease (82.5 ms with lan). Without \
--once, polity then waits for the role again and reruns CMD.

Exit status: CMD's own when it exits by itself, or when polity is stopped with SIGINT or \
SIGTERM (which it forwards to CMD as SIGTERM); 128 + N when signal N killed CMD; 127 \
when CMD was not found, 126 when it could not be executed; 1 when the role was lost with \
--once, or the node failed; 130 or 143 for SIGINT or SIGTERM received while waiting for \
the role; 2 for bad arguments or a node that cannot start.

Examples:
  # Run the scheduler on one node at a time: whichever holds the role
  polity campaign scheduler --name a --bind 10.0.0.1:7700 -- ./scheduler --port 9000
  # Hand the fencing token to the store; exit once the role is lost
  polity campaign compactor --name b --join 10.0.0.1:7700 --once -- \\
      sh -c 'exec compact --fence \"$POLITY_TERM\"'
  # At most three workers at once, each told its slot
  polity campaign workers --slots 3 --join 10.0.0.1:7700 -- \\
      sh -c 'exec worker --slot \"$POLITY_SLOT\"'";

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
    /// A value to publish with the role while holding it, such as the address CMD
    /// serves on: every member's `query`, `watch` and `roles` show it after the holder,
    /// and CMD gets it as POLITY_VALUE. At most 920 bytes with the default datagram
    /// size.
    #[arg(long, value_name = "TEXT")]
    pub value: Option<String>,
    /// Run CMD on at most N nodes at once (a semaphore, as `consul lock -n`): the slots
    /// are the roles ROLE/1 to ROLE/N, each with its own fencing term, and this node
    /// holds the first it wins. CMD gets the slot's number as POLITY_SLOT. 1 to 256.
    #[arg(long, value_name = "N", value_parser = slots::parse_slots)]
    pub slots: Option<u32>,
    /// Prefer this node for the role (client-go's preferredHolder): a holder of a lower
    /// priority hands the role to it once this node has waited for it for two leases
    /// without a pause (3 s with the lan profile). Equal priorities never move a role.
    /// 0, the default, is none.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub priority: u32,
    /// A health check, run as `sh -c CMD` every --check-interval (exit 0 passes): the
    /// node campaigns only once it passes, and when it fails --check-failures times in a
    /// row, CMD is stopped, the role resigned, and the node waits for a pass before it
    /// campaigns again (Consul's session health checks).
    #[arg(long, value_name = "CMD")]
    pub check: Option<String>,
    /// How often the check runs, and how long one run may take before it is killed and
    /// counts as failed (for example `500ms` or `5s`). 10 ms to 3600 s.
    #[arg(long, value_name = "DURATION", default_value = "1s", requires = "check",
          value_parser = parse_check_interval)]
    pub check_interval: Duration,
    /// How many failed checks in a row make the service unhealthy. 1 to 100.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "check",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub check_failures: u32,
    /// How long CMD has between SIGTERM and SIGKILL once the role is at risk (for
    /// example `585ms` or `2s`). Sets the renew deadline to the holder's lease less this.
    /// Default: the holder's lease less half the lease (585 ms with the lan profile).
    /// Range 1 ms to the holder's lease less one renewal interval.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub stop_timeout: Option<Duration>,
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
    let slots = match slots_of(&args.role, args.slots) {
        Ok(slots) => slots,
        Err(error) => {
            eprintln!("polity: {error}");
            return exit_code::usage();
        }
    };
    let mut config = match args.node.config_or_exit() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let text = args.value.as_deref().unwrap_or_default();
    let value = match RoleValue::new(text) {
        Ok(value) if value.len() <= config.max_value_len() => value,
        _ => {
            eprintln!(
                "polity: --value takes {} bytes, more than the {} allowed",
                text.len(),
                config.max_value_len()
            );
            return exit_code::usage();
        }
    };
    if let Some(window) = args.stop_timeout {
        match renew_deadline_for(&config, window) {
            Ok(deadline) => config.renew_deadline = deadline,
            Err(error) => {
                eprintln!("polity: {error}");
                return exit_code::usage();
            }
        }
    }
    // One thread only: CMD's parent-death signal follows the thread that started it, so
    // that thread must live as long as the process (see the module documentation).
    let runtime = match exit_code::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(campaign(args, config, value, slots))
}

/// How long CMD has between SIGTERM and SIGKILL after the role is lost without warning
/// (a recall): half of the time between the holder's own lease end and the earliest end
/// of a voter's lease.
pub fn grace(config: &Config) -> Duration {
    config.lease.saturating_sub(config.holder_lease()) / 2
}

/// The stop window `config` gives CMD: from the warning to the holder's deadline.
pub fn stop_window(config: &Config) -> Duration {
    config.holder_lease().saturating_sub(config.renew_deadline)
}

/// The renew deadline that leaves CMD a stop window of `window`, or why none can.
fn renew_deadline_for(config: &Config, window: Duration) -> Result<Duration, String> {
    let most = config.holder_lease().saturating_sub(config.renew_interval);
    if window.is_zero() || window > most {
        let ms = |d: Duration| format!("{:.0}ms", d.as_secs_f64() * 1e3);
        return Err(format!(
            "--stop-timeout {} is out of range: allowed 1ms to {} (the holder's lease, {}, \
             less one renewal interval, {})",
            ms(window),
            ms(most),
            ms(config.holder_lease()),
            ms(config.renew_interval)
        ));
    }
    Ok(config.holder_lease() - window)
}

async fn campaign(
    args: CampaignArgs,
    mut config: Config,
    value: RoleValue,
    slots: Vec<Slot>,
) -> ExitCode {
    // Installed before the node starts, so that no SIGINT or SIGTERM goes unhandled.
    let mut stop = match StopSignals::new() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("polity: cannot handle SIGINT and SIGTERM: {error}");
            return exit_code::failure();
        }
    };
    let grace = grace(&config);
    let window = stop_window(&config);
    let name = config.name.clone();
    let retry = args.node.retry();
    let attempts = match join::resolve_or_stop(&mut config, &args.node.join, retry, &mut stop).await
    {
        Ok(attempts) => attempts,
        Err(code) => return code,
    };
    let node = match Node::start(config).await {
        Ok(node) => node,
        Err(error) => {
            eprintln!("polity: {error}");
            return exit_code::usage();
        }
    };
    eprintln!("polity: node {name} listening on {}", node.local_addr());
    tokio::spawn(log_events(name.clone(), node.events()));

    let (program, program_args) = match args.command.split_first() {
        Some(split) => split,
        // clap requires at least one value; nothing to run is a usage error all the same.
        None => return exit_code::usage(),
    };
    let cmd = Cmd {
        program,
        args: program_args,
        display: program.to_string_lossy().into_owned(),
        value: args.value.as_deref(),
    };
    let health = args.check.as_ref().map(|command| {
        Health::start(Check {
            command: command.clone(),
            interval: args.check_interval,
            failures: args.check_failures,
            role: args.role.to_string(),
        })
    });
    let holding = Holding {
        node: &node,
        slots: &slots,
        value,
        priority: args.priority,
        name: &name,
        cmd,
        once: args.once,
        grace,
        window,
    };
    let joining = join::keep_joining(node.clone(), args.node.join.clone(), retry, attempts);
    // Giving up on joining ends `hold` wherever it is: a CMD still running is killed
    // when its `Running` is dropped.
    let code = tokio::select! {
        code = hold(&holding, health, &mut stop) => code,
        Err(error) = joining => {
            eprintln!("polity: {error}");
            1
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), node.leave()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "leave failed"),
        Err(_) => tracing::warn!("leaving the cluster took too long; exiting anyway"),
    }
    ExitCode::from(code)
}

/// What [`hold`] holds the role with.
struct Holding<'a> {
    node: &'a NodeHandle,
    /// The roles sought: the role, or the slots of a semaphore.
    slots: &'a [Slot],
    /// Published with the role.
    value: RoleValue,
    /// The priority campaigned with (0 none).
    priority: u32,
    name: &'a NodeName,
    cmd: Cmd<'a>,
    /// Exit once the role is lost, instead of campaigning again.
    once: bool,
    /// CMD's time to stop after a loss without warning.
    grace: Duration,
    /// CMD's time to stop after the warning.
    window: Duration,
}

/// Campaigns for the role and runs CMD while holding it, until `campaign` should exit;
/// returns the exit code.
async fn hold(holding: &Holding<'_>, mut health: Option<Health>, stop: &mut StopSignals) -> u8 {
    let &Holding {
        node,
        slots,
        ref value,
        priority,
        name,
        ref cmd,
        once,
        grace,
        window,
    } = holding;
    loop {
        let wanted = &slots[0].role;
        tokio::select! {
            () = health::passing(&mut health) => {}
            signal = stop.recv() => {
                tracing::info!(signal = signal.as_str(), "stopping; the role was not held");
                return stop_signals::exit_status(signal);
            }
        }
        tracing::info!(role = %wanted, slots = slots.len(), "waiting for the role");
        let (leadership, slot) = tokio::select! {
            () = health::failing(&mut health) => {
                tracing::warn!(role = %wanted, "unhealthy; no longer campaigning");
                continue;
            }
            won = campaign_any(node, slots, value, priority) => match won {
                Ok(won) => won,
                Err(error) => {
                    eprintln!("polity: cannot campaign for {wanted}: {error}");
                    return 1;
                }
            },
            signal = stop.recv() => {
                tracing::info!(signal = signal.as_str(), "stopping; the role was not held");
                return stop_signals::exit_status(signal);
            }
        };
        let (role, term) = (&slot.role, leadership.term());
        tracing::info!(
            %role,
            %term,
            command = %cmd.display,
            "holding the role; starting the command"
        );
        let deadline_file = DeadlineFile::new(term);
        deadline_file.write(leadership.deadline());
        let mut running = match Running::spawn(cmd, slot, term, name, &deadline_file, &leadership) {
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
        let mut standing = leadership.standing();
        let lost = leadership.lost();
        let at_risk = leadership.at_risk();
        tokio::pin!(lost, at_risk);
        loop {
            tokio::select! {
                () = running.exited() => {
                    let status = running.reap();
                    resign(leadership.clone()).await;
                    if Instant::now() < leadership.deadline() {
                        tracing::info!(%status, "the command exited; resigned the role");
                        return shell_status(status);
                    }
                    // Past the deadline: the watchdog killed it while this process was
                    // held up.
                    tracing::warn!(%status, "the watchdog stopped the command at the deadline");
                    if once {
                        return 1;
                    }
                    break;
                }
                Ok(()) = standing.changed() => {
                    let until = standing.get().until;
                    running.watchdog.feed(until);
                    deadline_file.write(until);
                }
                () = &mut at_risk, if !leadership.is_lost() => {
                    let until = leadership.deadline();
                    tracing::warn!(
                        %role, %term, left = ?until.saturating_duration_since(Instant::now()),
                        "no quorum renewed the role lately; stopping the command before the deadline"
                    );
                    stop_and_resign(running, until, leadership).await;
                    if once {
                        return 1;
                    }
                    break;
                }
                () = health::failing(&mut health) => {
                    let until = (Instant::now() + window).min(leadership.deadline());
                    tracing::warn!(%role, %term, "unhealthy; stopping the command");
                    stop_and_resign(running, until, leadership).await;
                    if once {
                        return 1;
                    }
                    break;
                }
                reason = &mut lost => {
                    match reason {
                        Ok(reason) => tracing::warn!(
                            %role, %term, ?reason, ?grace, "lost the role; stopping the command"
                        ),
                        Err(error) => tracing::warn!(
                            %role, %term, %error, ?grace, "the node stopped; stopping the command"
                        ),
                    }
                    let status = running.stop(Instant::now() + grace).await;
                    tracing::info!(%status, "the command stopped");
                    if once {
                        return 1;
                    }
                    break;
                }
                signal = stop.recv() => {
                    let until = (Instant::now() + window).min(leadership.deadline());
                    tracing::info!(signal = signal.as_str(), ?window, "stopping the command");
                    return shell_status(stop_and_resign(running, until, leadership).await);
                }
            }
        }
    }
}

/// Parses `--check-interval`: a duration from 10 ms to 3600 s.
fn parse_check_interval(text: &str) -> Result<Duration, String> {
    let interval = crate::duration::parse(text)?;
    if (Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&interval) {
        Ok(interval)
    } else {
        Err("expected a duration from 10ms to 3600s".to_owned())
    }
}

/// Stops CMD (SIGTERM, SIGKILL at `kill_at`), then resigns the role; returns CMD's status.
async fn stop_and_resign(running: Running, kill_at: Instant, leadership: Leadership) -> ExitStatus {
    let status = running.stop(kill_at).await;
    tracing::info!(%status, "the command stopped; resigning the role");
    resign(leadership).await;
    status
}

/// Gives the role up so that a waiting node takes over at once; losing it first is fine.
async fn resign(leadership: Leadership) {
    if let Err(error) = leadership.resign().await {
        tracing::debug!(%error, "no role to resign");
    }
}

/// Logs membership events, which tell who the node sees; roles are logged by [`hold`].
async fn log_events(name: NodeName, mut events: tokio::sync::broadcast::Receiver<Event>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(event) => crate::event_log::log(&name, &event),
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

    /// The stop windows written in the module documentation, `--help` and the README.
    #[test]
    fn documented_stop_windows_match_the_profiles() {
        let name = NodeName::new("n").unwrap();
        for (profile, default_ms, most_ms) in [
            (Profile::Lan, 585, 1035),
            (Profile::Wan, 3900, 6900),
            (Profile::Fast, 117, 207),
        ] {
            let config = Config::new(name.clone(), profile);
            let window = stop_window(&config);
            let near = |d: Duration, ms: u64| {
                d.abs_diff(Duration::from_millis(ms)) <= Duration::from_millis(1)
            };
            assert!(near(window, default_ms), "{profile}: {window:?}");
            let most = config.holder_lease() - config.renew_interval;
            assert!(near(most, most_ms), "{profile}: {most:?}");
            assert_eq!(
                renew_deadline_for(&config, most),
                Ok(config.holder_lease() - most)
            );
            let error = renew_deadline_for(&config, most + Duration::from_millis(1));
            assert!(
                error.is_err_and(|e| e.contains("out of range")),
                "{profile}"
            );
            assert!(renew_deadline_for(&config, Duration::ZERO).is_err());
        }
    }
}
