//! `polity agent`: runs a node, serves the HTTP API the other commands use, and leaves
//! the cluster gracefully on SIGINT or SIGTERM.
//!
//! The API is served on a Unix socket by default (mode 0600: only the agent's user can
//! connect), or on TCP with `--http IP:PORT`, which then needs `--http-token-file`.
//! `--metrics-addr` serves health and metrics alone, read-only, with no token.
//!
//! Once the node runs and the API listens, the agent writes these lines to standard
//! output and nothing else there:
//!
//! ```text
//! udp: 127.0.0.1:7700
//! http: unix:/run/polity/agent.sock
//! metrics: 127.0.0.1:9100
//! ```
//!
//! the address it gossips on (give it to other agents' `--join`), where its API is (give
//! it to the other commands' `--http`) and, with `--metrics-addr` only, where its
//! metrics are, so that a script that started it with port 0 learns the ports picked.
//! Logs go to standard error.

mod config_file;
mod context;
mod heap;
mod holdings;
mod http_api;
mod http_auth;
mod http_keys;
mod http_tags;
mod listen;
mod metrics;
mod observed;

use std::future::IntoFuture as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use polity::{Event, Node, NodeHandle, StartError};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use self::config_file::ConfigFile;
use self::context::Agent;
use self::holdings::Holdings;
use self::listen::ApiListener;
use self::observed::Observed;
use crate::endpoint::{self, Endpoint};
use crate::event_log;
use crate::exit_code;
use crate::join;
use crate::keyring_file;
use crate::logging;
use crate::node_args::NodeArgs;
use crate::stop_signals::StopSignals;
use crate::token::{self, Token};

/// How long requests still under way may take to finish once the agent has left.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// Read the flags from this TOML file (JSON if its name ends in .json): every flag
    /// is a key, named as the flag is (`cluster-label = "prod"`, `join = [...]`,
    /// `[tags]`); a flag given here overrides its key. An unknown key or a bad value
    /// stops the start, naming it and its line.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the configuration in effect, from --config and the flags, as a config file,
    /// and exit (2 if it is not valid).
    #[arg(long)]
    pub print_config: bool,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Where to serve the HTTP API: unix:PATH, a Unix socket only the agent's user can
    /// reach (the default), or IP:PORT (port 0 picks a free port), which needs
    /// --http-token-file, and --http-public beyond loopback.
    #[arg(long, value_name = "ADDR", default_value_t = Endpoint::default(), value_parser = endpoint::parse)]
    pub http: Endpoint,
    /// A file holding the API's token (at least 16 printable characters; `polity keygen`
    /// prints one): every request must carry it, as `Authorization: Bearer TOKEN`.
    /// Needed for a TCP --http; the client commands read it from POLITY_HTTP_TOKEN or
    /// their own --http-token-file.
    #[arg(long, value_name = "FILE")]
    pub http_token_file: Option<PathBuf>,
    /// Allow a TCP --http on an address other than loopback (it still needs the token).
    #[arg(long)]
    pub http_public: bool,
    /// Also serve health and metrics alone (GET /v1/health, /v1/metrics and /metrics),
    /// read-only and with no token, on this TCP address, for monitoring.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// The API's token, or why the flags given cannot serve it safely.
fn api_token(args: &AgentArgs) -> Result<Option<Token>, String> {
    let token = match &args.http_token_file {
        Some(path) => Some(Token::read(path)?),
        None => None,
    };
    match &args.http {
        Endpoint::Unix(_) if args.http_public => {
            Err("--http-public is for a TCP --http IP:PORT; the API is on a Unix socket".into())
        }
        Endpoint::Tcp(addr) if args.http_public && token.is_none() => Err(format!(
            "--http-public needs --http-token-file FILE: the API at {addr} could be reached \
             from other hosts, and whoever reaches it can elect, resign and recall roles and \
             change the cluster's keys"
        )),
        Endpoint::Tcp(addr) if !addr.ip().is_loopback() && !args.http_public => Err(format!(
            "--http {addr} is not a loopback address; give --http-public (and \
             --http-token-file FILE) to serve the API there anyway, or use 127.0.0.1:PORT"
        )),
        Endpoint::Tcp(addr) if token.is_none() => Err(format!(
            "--http {addr} serves the API over TCP, where any user of this host can reach \
             it: give --http-token-file FILE (a secret of at least {} characters; \
             `polity keygen` prints one), or leave --http out to serve it on a Unix socket",
            token::MIN_LEN
        )),
        _ => Ok(token),
    }
}

pub fn run(mut args: AgentArgs, matches: &clap::ArgMatches) -> ExitCode {
    if let Some(path) = &args.config {
        match ConfigFile::read(path) {
            Ok(file) => file.apply(&mut args, |id| {
                matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            }),
            Err(error) => {
                eprintln!("polity: {error}");
                return exit_code::usage();
            }
        }
    }
    if args.print_config {
        return print_config(&args);
    }
    logging::init(args.node.log_format);
    let token = match api_token(&args) {
        Ok(token) => token,
        Err(error) => {
            eprintln!("polity: {error}");
            return exit_code::usage();
        }
    };
    let mut config = match args.node.config_or_exit() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match exit_code::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        // The join addresses first: until one resolves the agent serves nothing, so a
        // client is told no agent runs rather than kept waiting.
        let mut stop = match StopSignals::new() {
            Ok(stop) => stop,
            Err(error) => {
                eprintln!("polity: cannot handle SIGINT and SIGTERM: {error}");
                return exit_code::failure();
            }
        };
        let retry = args.node.retry();
        let attempts =
            match join::resolve_or_stop(&mut config, &args.node.join, retry, &mut stop).await {
                Ok(attempts) => attempts,
                Err(code) => return code,
            };
        // Then the API's listeners: if one cannot be had, the node never joins the
        // cluster.
        let (listener, http) = match ApiListener::bind(&args.http).await {
            Ok(bound) => bound,
            Err(error) => {
                eprintln!("polity: {error}");
                return exit_code::failure();
            }
        };
        let monitoring = match args.metrics_addr {
            None => None,
            Some(addr) => match TcpListener::bind(addr).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    eprintln!(
                        "polity: cannot serve metrics on {addr}: {error}; pick another \
                         address with --metrics-addr (port 0 picks a free one)"
                    );
                    return exit_code::failure();
                }
            },
        };
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
        let listeners = Listeners {
            api: listener,
            http,
            token,
            monitoring,
        };
        let joining = tokio::spawn(join::keep_joining(
            node.clone(),
            args.node.join,
            retry,
            attempts,
        ));
        serve(node, listeners, joining, args.node.keyring, stop).await
    })
}

/// What the agent serves, bound.
struct Listeners {
    api: ApiListener,
    /// Where the API is, as the agent reports it.
    http: Endpoint,
    token: Option<Token>,
    monitoring: Option<TcpListener>,
}

/// Serves `router` on `listener` until `stop` turns true.
fn spawn_server<L: axum::serve::Listener>(
    listener: L,
    router: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>>
where
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .into_future(),
    )
}

/// Prints the configuration `args` give, if it is valid.
fn print_config(args: &AgentArgs) -> ExitCode {
    if let Err(error) = args.node.config() {
        eprintln!("polity: {error}");
        return exit_code::usage();
    }
    match ConfigFile::show(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("polity: cannot show the configuration: {error}");
            exit_code::failure()
        }
    }
}

async fn serve(
    node: NodeHandle,
    listeners: Listeners,
    mut joining: JoinHandle<Result<(), String>>,
    keyring: Option<PathBuf>,
    mut stop_signals: StopSignals,
) -> ExitCode {
    // Subscribed before anything can happen: the node's task has not run yet.
    let mut events = node.events();
    let observed = Arc::new(Observed::default());
    let agent = Arc::new(Agent {
        node: node.clone(),
        holdings: Arc::new(Holdings::default()),
        observed: Arc::clone(&observed),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let Listeners {
        api,
        http,
        token,
        monitoring,
    } = listeners;
    let router = http_api::router(Arc::clone(&agent), token);
    // Kept until the agent stops: dropping it removes the socket.
    let (mut server, _socket) = match api {
        ApiListener::Unix(listener, file) => {
            (spawn_server(listener, router, stopped.clone()), Some(file))
        }
        ApiListener::Tcp(listener) => (spawn_server(listener, router, stopped.clone()), None),
    };
    let metrics_at = monitoring
        .as_ref()
        .and_then(|listener| listener.local_addr().ok());
    let monitor = monitoring
        .map(|listener| spawn_server(listener, http_api::monitoring_router(agent), stopped));

    let mut stdout = std::io::stdout().lock();
    let mut lines = format!("udp: {}\nhttp: {http}\n", node.local_addr());
    if let Some(addr) = metrics_at {
        lines.push_str(&format!("metrics: {addr}\n"));
    }
    let announced = stdout
        .write_all(lines.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = announced {
        tracing::warn!(%error, "cannot write the addresses to standard output");
    }
    tracing::info!(id = %node.id(), udp = %node.local_addr(), %http, "agent running");
    notify_service_manager(sd_notify::NotifyState::Ready);

    let mut code = ExitCode::SUCCESS;
    let mut joined = false;
    loop {
        tokio::select! {
            outcome = &mut joining, if !joined => {
                joined = true;
                let error = match outcome {
                    Ok(Ok(())) => continue,
                    Ok(Err(error)) => error,
                    Err(error) => error.to_string(),
                };
                tracing::error!(%error, "cannot join the cluster");
                code = exit_code::failure();
                break;
            }
            event = events.recv() => match event {
                Ok(event) => {
                    observed.event(&event, std::time::Instant::now());
                    event_log::log(node.id().name(), &event);
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
            _ = stop_signals.recv() => break,
        }
    }

    tracing::info!("leaving the cluster");
    notify_service_manager(sd_notify::NotifyState::Stopping);
    joining.abort();
    // Resigns every role held, cancels every request under way and ends every watch,
    // so the API's open requests finish.
    if let Err(error) = node.leave().await {
        tracing::warn!(%error, "leave failed");
    }
    let _ = stop.send(true);
    if !server.is_finished() && tokio::time::timeout(DRAIN, &mut server).await.is_err() {
        tracing::warn!("requests still open after {DRAIN:?}; closing them");
        server.abort();
    }
    if let Some(monitor) = monitor {
        monitor.abort();
    }
    code
}

/// Tells systemd (under `Type=notify`, which sets `NOTIFY_SOCKET`) that the agent is
/// ready or stopping; nothing happens without a service manager.
fn notify_service_manager(state: sd_notify::NotifyState) {
    if let Err(error) = sd_notify::notify(&[state]) {
        tracing::warn!(%error, "cannot notify the service manager");
    }
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
