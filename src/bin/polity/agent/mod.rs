//! `polity agent`: runs a node, serves the HTTP API the other commands use, and leaves
//! the cluster gracefully on SIGINT or SIGTERM.
//!
//! Once the node runs and the API listens, the agent writes two lines to standard output
//! and nothing else there:
//!
//! ```text
//! udp: 127.0.0.1:7700
//! http: 127.0.0.1:7701
//! ```
//!
//! the address it gossips on (give it to other agents' `--join`) and the address of its
//! API (give it to the other commands' `--http`), so that a script that started it with
//! port 0 learns the ports picked. Logs go to standard error.

mod context;
mod holdings;
mod http_api;
mod http_keys;
mod metrics;
mod signals;

use std::future::IntoFuture as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use polity::{Event, LossReason, Node, NodeHandle, StartError};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;

use self::context::Agent;
use self::holdings::Holdings;
use self::metrics::Counters;
use self::signals::shutdown_signal;
use crate::exit_code;
use crate::http_addr;
use crate::keyring_file;
use crate::logging;
use crate::node_args::NodeArgs;

/// How long requests still under way may take to finish once the agent has left.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Address to serve the HTTP API on; port 0 picks a free port. Loopback only, unless
    /// --http-public is given.
    #[arg(long, value_name = "ADDR", default_value = http_addr::DEFAULT, value_parser = http_addr::parse)]
    pub http: SocketAddr,
    /// Allow --http on an address other than loopback. The API has no authentication:
    /// whoever reaches it can elect, resign and recall roles and force members out.
    #[arg(long)]
    pub http_public: bool,
}

pub fn run(args: AgentArgs) -> ExitCode {
    logging::init(args.node.log_format);
    if !args.http.ip().is_loopback() && !args.http_public {
        eprintln!(
            "polity: --http {} is not a loopback address, and the API has no \
             authentication; give --http-public as well to serve it there anyway, or use \
             127.0.0.1:PORT",
            args.http
        );
        return exit_code::usage();
    }
    let config = match args.node.config_or_exit() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match exit_code::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        // The API's port first: if it is taken, the node never joins the cluster.
        let listener = match TcpListener::bind(args.http).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!(
                    "polity: cannot serve the HTTP API on {}: {error}; pick another address \
                     with --http (port 0 picks a free one)",
                    args.http
                );
                return exit_code::failure();
            }
        };
        let http = listener.local_addr().unwrap_or(args.http);
        let node = match Node::start_with_state(config, args.node.state_dir.as_deref()).await {
            Ok(node) => node,
            Err(error) => {
                eprintln!("polity: {error}");
                return match error {
                    StartError::Config(_) => exit_code::usage(),
                    _ => exit_code::failure(),
                };
            }
        };
        serve(node, listener, http, args.http_public, args.node.keyring).await
    })
}

async fn serve(
    node: NodeHandle,
    listener: TcpListener,
    http: SocketAddr,
    public: bool,
    keyring: Option<PathBuf>,
) -> ExitCode {
    // Subscribed before anything can happen: the node's task has not run yet.
    let mut events = node.events();
    let counters = Arc::new(Counters::default());
    let agent = Arc::new(Agent {
        node: node.clone(),
        holdings: Arc::new(Holdings::default()),
        counters: Arc::clone(&counters),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(
        axum::serve(listener, http_api::router(agent))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );

    let mut stdout = std::io::stdout().lock();
    let announced =
        writeln!(stdout, "udp: {}\nhttp: {http}", node.local_addr()).and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = announced {
        tracing::warn!(%error, "cannot write the addresses to standard output");
    }
    if public {
        tracing::warn!(
            %http,
            "the HTTP API is served beyond loopback and has no authentication: whoever \
             reaches it can elect, resign and recall roles and force members out"
        );
    }
    tracing::info!(id = %node.id(), udp = %node.local_addr(), %http, "agent running");

    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut code = ExitCode::SUCCESS;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    counters.event(&event);
                    log_event(&event);
                    if let (Event::KeyringChanged, Some(path)) = (&event, &keyring) {
                        save_keyring(&node, path).await;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "events were missed");
                    if let Some(path) = &keyring {
                        save_keyring(&node, path).await;
                    }
                }
                Err(RecvError::Closed) => {
                    tracing::error!("the node stopped");
                    code = exit_code::failure();
                    break;
                }
            },
            served = &mut server => {
                match served {
                    Ok(Ok(())) => tracing::error!("the HTTP API stopped"),
                    Ok(Err(error)) => tracing::error!(%error, "the HTTP API failed"),
                    Err(error) => tracing::error!(%error, "the HTTP API failed"),
                }
                code = exit_code::failure();
                break;
            }
            () = &mut signal => break,
        }
    }

    tracing::info!("leaving the cluster");
    // Resigns every role held, cancels every request under way and ends every watch,
    // so the API's open requests finish.
    if let Err(error) = node.leave().await {
        tracing::warn!(%error, "leave failed");
    }
    let _ = stop.send(());
    if !server.is_finished() && tokio::time::timeout(DRAIN, &mut server).await.is_err() {
        tracing::warn!("requests still open after {DRAIN:?}; closing them");
        server.abort();
    }
    code
}

/// Writes the node's keys to the keyring file, so that a restart starts with them.
async fn save_keyring(node: &NodeHandle, path: &Path) {
    let Ok(Some(keys)) = node.keys().await else {
        return;
    };
    let owned = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || keyring_file::write(&owned, &keys)).await;
    match written {
        Ok(Ok(())) => tracing::info!(path = %path.display(), "keyring saved"),
        Ok(Err(error)) => {
            tracing::error!(path = %path.display(), %error, "cannot save the keyring");
        }
        Err(error) => tracing::error!(%error, "cannot save the keyring"),
    }
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
        Event::RoleAtRisk { role, term, .. } => {
            tracing::warn!(%role, %term, "no quorum renewed the role lately; at risk");
        }
        Event::RoleLost {
            role,
            term,
            reason: LossReason::Resigned,
        } => tracing::info!(%role, %term, "resigned role"),
        Event::RoleLost { role, term, reason } => {
            tracing::warn!(%role, %term, ?reason, "no longer holding role");
        }
        Event::RoleChanged { role, state } => tracing::info!(%role, ?state, "role changed"),
        Event::KeyringChanged => tracing::info!("keyring changed"),
        other => tracing::debug!(event = ?other, "event"),
    }
}
