// The harness of `cli_agent.rs`, included into it: running `polity` commands, agents
// and clusters of agents, and reading what they print.

/// What a finished command printed, and its exit code.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {self:?}"))
    }
}

/// Runs `polity ARGS` to the end. `POLITY_HTTP_ADDR` and the token variables are
/// removed, so only the flags count.
fn polity(args: &[&str]) -> Run {
    polity_with(args, &[])
}

/// [`polity`] with these environment variables set.
fn polity_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(POLITY)
        .args(args)
        .env_remove("POLITY_HTTP_ADDR")
        .env_remove("POLITY_HTTP_TOKEN")
        .env_remove("POLITY_HTTP_TOKEN_FILE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the polity binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr)
            .trim_end()
            .to_owned(),
    }
}

/// Runs `polity ARGS` every 50 ms until `done` accepts what it printed; panics with
/// `what` and the last run after [`BOUND`].
fn poll(what: &str, args: &[&str], done: impl Fn(&Run) -> bool) -> Run {
    let deadline = Instant::now() + BOUND;
    loop {
        let run = polity(args);
        if done(&run) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "waited {BOUND:?} for {what}; last `polity {}` gave {run:?}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `polity ARGS` in the background, its standard output piped; it is killed when
/// the guard is dropped.
fn spawn_polity(args: &[&str]) -> Guard {
    let child = Command::new(POLITY)
        .args(args)
        .env_remove("POLITY_HTTP_ADDR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the polity binary runs");
    Guard(child)
}

/// Polls `polity query ROLE` at `http` until `holder` holds the role; returns its term.
fn term_once_held_by(http: &str, role: &str, holder: &str) -> u64 {
    let prefix = format!("{role} {holder} ");
    let what = format!("{holder} to hold {role}");
    let held = poll(&what, &["query", role, "--http", http], |run| {
        run.code == 0 && run.stdout.starts_with(&prefix)
    });
    held.stdout
        .split(' ')
        .nth(2)
        .and_then(|term| term.parse().ok())
        .unwrap_or_else(|| panic!("no term in {held:?}"))
}

/// Checks `done` every 50 ms until it holds; panics with `what` after [`BOUND`].
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done() {
        assert!(Instant::now() < deadline, "waited {BOUND:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The whole answer (status line, headers and body) to `METHOD PATH` at `addr` (a TCP
/// address, or `unix:PATH`), read with a bare HTTP/1.0 request carrying `headers` (each
/// ending in CRLF) and `body`.
fn http(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> String {
    use std::io::{Read, Write};
    fn exchange(mut stream: impl Read + Write, request: &str) -> String {
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        answer
    }
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    match addr.strip_prefix("unix:") {
        Some(socket) => exchange(
            std::os::unix::net::UnixStream::connect(socket).expect("the agent's API accepts"),
            &request,
        ),
        None => exchange(
            std::net::TcpStream::connect(addr).expect("the agent's API accepts"),
            &request,
        ),
    }
}

/// [`http`] for a `GET` with no more headers.
fn http_get(addr: &str, path: &str) -> String {
    http(addr, "GET", path, "", "")
}

/// The lines a child writes to standard output, read on a thread of their own so that
/// the pipe never fills up.
struct Lines(mpsc::Receiver<String>);

impl Lines {
    fn new(out: impl std::io::Read + Send + 'static) -> Self {
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Lines(receive)
    }

    /// The next line, or `None` if none came within [`BOUND`] or the output closed.
    fn next(&self) -> Option<String> {
        self.0.recv_timeout(BOUND).ok()
    }

    /// Reads lines until one equals `wanted`; panics with what came instead.
    fn until(&self, wanted: &str) {
        let mut seen = Vec::new();
        while let Some(line) = self.next() {
            if line == wanted {
                return;
            }
            seen.push(line);
        }
        panic!("never read {wanted:?}; read {seen:?}");
    }
}

/// A child process, killed and reaped when dropped.
struct Guard(Child);

impl Guard {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `polity agent`.
struct Agent {
    name: String,
    process: Guard,
    udp: String,
    http: String,
    /// Where `--metrics-addr` serves, if given.
    #[allow(dead_code, reason = "read by cli_access.rs only")]
    metrics: Option<String>,
    /// The `--http-token-file` it was given, if any.
    token_file: Option<String>,
    log: PathBuf,
}

impl Agent {
    /// Starts `polity agent --name NAME` on loopback with the fast profile, its API on
    /// the socket `dir/NAME.sock`, joining `join` if given, logging to a file in `dir`;
    /// returns once it reported its addresses.
    fn start(dir: &Path, name: &str, join: Option<&str>) -> Agent {
        Agent::start_with(dir, name, join, &[])
    }

    /// [`Agent::start`] with more flags.
    fn start_with(dir: &Path, name: &str, join: Option<&str>, flags: &[String]) -> Agent {
        let mut args: Vec<String> = ["--name", name, "--bind", "127.0.0.1:0"]
            .map(String::from)
            .into();
        if !flags.iter().any(|flag| flag == "--http") {
            let socket = dir.join(format!("{name}.sock"));
            args.extend(["--http".into(), format!("unix:{}", socket.display())]);
        }
        args.extend(["--profile".into(), "fast".into()]);
        if let Some(join) = join {
            args.extend(["--join".into(), join.into()]);
        }
        args.extend_from_slice(flags);
        Agent::run(dir, name, &args)
    }

    /// `polity agent ARGS`, logging to `dir/NAME.log`; returns once it reported its
    /// addresses.
    fn run(dir: &Path, name: &str, args: &[String]) -> Agent {
        Agent::run_with_env(dir, name, args, &[])
    }

    /// [`Agent::run`] with more variables in its environment.
    fn run_with_env(dir: &Path, name: &str, args: &[String], env: &[(&str, &str)]) -> Agent {
        let log = dir.join(format!("{name}.log"));
        let mut command = Command::new(POLITY);
        command
            .arg("agent")
            .args(args)
            .env("RUST_LOG", "info,polity=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("the log file can be made"));
        let mut child = command.spawn().expect("the polity binary runs");
        let stdout = child.stdout.take().expect("stdout is piped");
        let process = Guard(child);
        let lines = Lines::new(stdout);
        let read = |prefix: &str| {
            let line = lines.next().unwrap_or_else(|| {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("agent {name} did not report its {prefix} address; its log:\n{log}")
            });
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("agent {name} wrote {line:?}, not {prefix}"))
                .to_owned()
        };
        let udp = read("udp: ");
        let http = read("http: ");
        let metrics = args
            .iter()
            .any(|flag| flag == "--metrics-addr")
            .then(|| read("metrics: "));
        let token_file = args
            .iter()
            .position(|flag| flag == "--http-token-file")
            .and_then(|at| args.get(at + 1))
            .cloned();
        Agent {
            name: name.to_owned(),
            process,
            udp,
            http,
            metrics,
            token_file,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Three agents, `a`, `b` and `c`, the last two joined to the first. Their logs are
/// printed if a test fails while they run.
struct Cluster {
    agents: Vec<Agent>,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with(|_, _| Vec::new())
    }

    /// Three agents, each given the flags `flags(dir, name)` returns.
    fn start_with(flags: impl Fn(&Path, &str) -> Vec<String>) -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path();
        let a = Agent::start_with(path, "a", None, &flags(path, "a"));
        let b = Agent::start_with(path, "b", Some(&a.udp), &flags(path, "b"));
        let c = Agent::start_with(path, "c", Some(&a.udp), &flags(path, "c"));
        let cluster = Cluster {
            agents: vec![a, b, c],
            dir,
        };
        for agent in &cluster.agents {
            let mut reach = vec!["--http", agent.http.as_str()];
            if let Some(file) = &agent.token_file {
                reach.extend(["--http-token-file", file.as_str()]);
            }
            poll(
                &format!("{} to see 3 members alive", agent.name),
                &[&["members", "--json"][..], &reach].concat(),
                |run| {
                    run.code == 0
                        && statuses(&run.json()).iter().all(|(_, s)| s == "alive")
                        && statuses(&run.json()).len() == 3
                },
            );
            // A node answers role requests once it has been in the cluster for a lease,
            // and votes once it has run for a lease: then a query is answered.
            poll(
                &format!("{} to answer a query", agent.name),
                &[&["query", "probe"][..], &reach].concat(),
                |run| run.code == 3,
            );
        }
        cluster
    }

    fn http(&self, name: &str) -> &str {
        &self.agent(name).http
    }

    fn agent(&self, name: &str) -> &Agent {
        self.agents
            .iter()
            .find(|agent| agent.name == name)
            .expect("a known agent")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for agent in &self.agents {
                eprintln!("---- log of agent {} ----\n{}", agent.name, agent.log());
            }
        }
    }
}

/// Every member's name and status in a `members --json` answer.
fn statuses(members: &Value) -> Vec<(String, String)> {
    members["members"]
        .as_array()
        .expect("a members array")
        .iter()
        .map(|member| {
            (
                member["name"].as_str().unwrap_or_default().to_owned(),
                member["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn status_of(members: &Value, name: &str) -> Option<String> {
    statuses(members)
        .into_iter()
        .find(|(member, _)| member == name)
        .map(|(_, status)| status)
}
