//! The `polity` command: `agent` runs a node and serves an HTTP API on a Unix socket; the
//! client commands (`elect`, `proclaim`, `resign`, `recall`, `query`, `watch`, `members`, `tags`,
//! `roles`, `force-leave`, `keys`) each make one request to that API; `campaign` runs a
//! command while its own node holds a role; `completions` and `man` describe the command.
//!
//! Exit codes: 0 done, 1 failed, 2 refused before doing anything (a bad flag, address or
//! name), 3 the answer is no (see [`exit_code`]).

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// jemalloc, with its background thread: it gives back to the system the pages an agent
/// freed (after electing and resigning 20,000 roles, an agent's RSS ends about 1 MB above
/// its start, where glibc's per-thread arenas kept about 20 MB; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod agent;
mod api;
mod campaign;
mod client;
mod commands;
mod duration;
mod endpoint;
mod event_log;
mod exit_code;
mod help_examples;
mod join;
mod keyring_file;
mod logging;
mod node_args;
mod secret_file;
mod stop_signals;
mod token;

#[derive(Parser, Debug)]
#[command(
    name = "polity",
    version,
    about = "Elect named roles among the peers of a gossip cluster",
    after_help = "Exit codes: 0 done (for query: the role is held); 1 failed; 2 bad flag, \
                  address or name, nothing done; 3 the answer is no (elect lost, query found \
                  the role vacant, recall found nobody to recall, resign found the role not \
                  held here)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node and serve the HTTP API the other commands use; stay in the cluster
    /// until interrupted (SIGINT or SIGTERM leave gracefully).
    ///
    /// Once running, the agent writes `udp: ADDR` (the address to give other agents'
    /// --join) and `http: ADDR` (the address to give the other commands' --http) on
    /// standard output, so that port 0 can be used for either; it logs on standard
    /// error.
    #[command(after_help = help_examples::AGENT)]
    Agent(agent::AgentArgs),
    Campaign(campaign::CampaignArgs),
    /// The deadline keeper `campaign` starts in CMD's process group (not for direct use).
    #[command(hide = true)]
    Watchdog(campaign::watchdog::WatchdogArgs),
    /// Run one election with the agent's node as candidate; print the term won. The
    /// agent holds the role until `resign`, a recall, or a loss. Exit 3 if another node
    /// holds it.
    #[command(after_help = help_examples::ELECT)]
    Elect(commands::elect::ElectArgs),
    /// Publish a new value with a role the agent's node holds, keeping the term; print
    /// the value's version. Exit 3 if it does not hold the role.
    #[command(after_help = help_examples::PROCLAIM)]
    Proclaim(commands::proclaim::ProclaimArgs),
    /// Give up a role the agent's node holds, or hand it to a node with --to; print the
    /// term given up. Exit 3 if it does not hold it, or if the node named does not
    /// campaign for it.
    #[command(after_help = help_examples::RESIGN)]
    Resign(commands::resign::ResignArgs),
    /// Ask a quorum to vacate a role, whoever holds it; print the term recalled. Exit 3
    /// if nobody holds it.
    #[command(after_help = help_examples::RECALL)]
    Recall(commands::RoleArgs),
    /// Ask a quorum who holds a role: print `ROLE HOLDER TERM STATUS`. Exit 0 when held,
    /// 3 when vacant or recalled.
    #[command(after_help = help_examples::QUERY)]
    Query(commands::RoleArgs),
    /// Follow the agent's view of a role: one `ROLE HOLDER TERM STATUS` line now, then
    /// one per change, until interrupted.
    #[command(after_help = help_examples::WATCH)]
    Watch(commands::RoleArgs),
    /// List the members the agent knows: NAME ADDR STATUS TAGS; --tag KEY=VALUE keeps
    /// only the members with that tag.
    #[command(after_help = help_examples::MEMBERS)]
    Members(commands::members::MembersArgs),
    /// List the roles the agent knows of: ROLE HOLDER TERM STATUS, as the agent sees them.
    #[command(after_help = help_examples::ROLES)]
    Roles(commands::ClientArgs),
    /// Remove a member that is down from the population on every node.
    #[command(after_help = help_examples::FORCE_LEAVE)]
    ForceLeave(commands::force_leave::ForceLeaveArgs),
    /// Print a new cluster key: 32 random bytes in base64, for sealing datagrams.
    #[command(after_help = help_examples::KEYGEN)]
    Keygen(commands::keygen::KeygenArgs),
    /// List, install, use or remove cluster keys on every live member at once. Exit 1
    /// unless every member answered and none refused.
    #[command(after_help = help_examples::KEYS)]
    Keys(commands::keys::KeysArgs),
    /// Show this agent's tags, or change them with --set KEY=VALUE and --delete KEY;
    /// every member sees them in `polity members`.
    #[command(after_help = help_examples::TAGS)]
    Tags(commands::tags::TagsArgs),
    /// Print a completion script for bash, zsh, fish, elvish or powershell, for example
    /// `polity completions bash > /etc/bash_completion.d/polity`.
    #[command(after_help = help_examples::COMPLETIONS)]
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page, polity(1), in roff: `polity man | man -l -`.
    #[command(after_help = help_examples::MAN)]
    Man,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    match cli.command {
        Command::Agent(args) => match matches.subcommand_matches("agent") {
            Some(agent) => agent::run(args, agent),
            None => exit_code::failure(),
        },
        Command::Campaign(args) => campaign::run(args),
        Command::Watchdog(args) => campaign::watchdog::run(args),
        Command::Elect(args) => commands::elect::run(args),
        Command::Proclaim(args) => commands::proclaim::run(args),
        Command::Resign(args) => commands::resign::run(args),
        Command::Recall(args) => commands::recall::run(args),
        Command::Query(args) => commands::query::run(args),
        Command::Watch(args) => commands::watch::run(args),
        Command::Members(args) => commands::members::run(args),
        Command::Roles(args) => commands::roles::run(args),
        Command::ForceLeave(args) => commands::force_leave::run(args),
        Command::Keygen(args) => commands::keygen::run(args),
        Command::Keys(args) => commands::keys::run(args),
        Command::Tags(args) => commands::tags::run(args),
        Command::Completions(args) => commands::completions::completions(args),
        Command::Man => commands::completions::man(),
    }
}
