//! The `polity` command: runs an agent that keeps a node in the cluster.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use node_args::{LogFormat, NodeArgs};
use polity::{Event, Node};

mod node_args;

#[derive(Parser, Debug)]
#[command(
    name = "polity",
    version,
    about = "Elect named roles among the peers of a gossip cluster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node: join the cluster and stay in it until interrupted (SIGINT or SIGTERM
    /// leave gracefully).
    Agent(AgentArgs),
}

#[derive(clap::Args, Debug)]
struct AgentArgs {
    #[command(flatten)]
    node: NodeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Agent(args) => agent(args),
    }
}

fn agent(args: AgentArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match args.node.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let config = match args.node.config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("polity: {error}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("polity: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let node = match Node::start(config).await {
            Ok(node) => node,
            Err(error) => {
                eprintln!("polity: {error}");
                return ExitCode::from(2);
            }
        };
        tracing::info!(id = %node.id(), addr = %node.local_addr(), "agent running");
        let mut events = node.events();
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => log_event(&event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "events were missed");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tracing::error!("the node stopped");
                        return ExitCode::FAILURE;
                    }
                },
                () = &mut stop => break,
            }
        }
        tracing::info!("leaving the cluster");
        if let Err(error) = node.leave().await {
            tracing::warn!(%error, "leave failed");
        }
        ExitCode::SUCCESS
    })
}

fn log_event(event: &Event) {
    match event {
        Event::MemberUp(id) => tracing::info!(member = %id, "member up"),
        Event::MemberDown(id) => tracing::warn!(member = %id, "member down"),
        Event::MemberLeft(id) => tracing::info!(member = %id, "member left"),
        Event::MemberReaped(name) => tracing::info!(member = %name, "member forgotten"),
        Event::Joined => tracing::info!("joined the cluster"),
        Event::Isolated => tracing::warn!("no live member known"),
        Event::Rejoined(id) => tracing::warn!(id = %id, "was declared down; rejoined"),
        Event::RoleAcquired { role, term } => tracing::info!(%role, %term, "holding role"),
        Event::RoleLost { role, term, reason } => {
            tracing::warn!(%role, %term, ?reason, "no longer holding role");
        }
        Event::RoleChanged { role, state } => tracing::info!(%role, ?state, "role changed"),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let ctrl_c = tokio::signal::ctrl_c();
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
