// The harness of `cli_campaign.rs`, included into it: scratch directories, `polity
// campaign` nodes, their logs, and clusters of them.

/// Held for the whole of a test, so that tests run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A scratch directory of its own under the system's temp directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "polity-cli-campaign-{}-{test}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The file's contents, or `None` while it does not exist.
    fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.file(name)).ok()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `polity campaign` whose standard error (its own and CMD's) is collected.
/// Dropping it kills it with SIGKILL (CMD then dies of its parent-death signal) and
/// reaps it.
struct Campaign {
    name: String,
    child: Child,
    log: Arc<Mutex<String>>,
    /// Set once every writer of standard error has closed it.
    log_closed: Arc<AtomicBool>,
}

impl Campaign {
    /// Starts `polity campaign ROLE --name NAME --bind 127.0.0.1:0 --profile fast FLAGS
    /// -- CMD...` (no `--profile fast` if FLAGS name a profile).
    fn start(name: &str, flags: &[&str], cmd: &[&str]) -> Self {
        let profile: &[&str] = if flags.contains(&"--profile") {
            &[]
        } else {
            &["--profile", "fast"]
        };
        let mut child = Command::new(POLITY)
            .args(["campaign", ROLE, "--name", name])
            .args(["--bind", "127.0.0.1:0"])
            .args(profile)
            .args(flags)
            .arg("--")
            .args(cmd)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let log_closed = Arc::new(AtomicBool::new(false));
        let (sink, closed) = (Arc::clone(&log), Arc::clone(&log_closed));
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
            closed.store(true, Ordering::Release);
        });
        Campaign {
            name: name.to_owned(),
            child,
            log,
            log_closed,
        }
    }

    /// A node of the three-node cluster, running [`SCRIPT`] in `scratch`.
    fn member(name: &str, join: Option<&str>, extra: &[&str], scratch: &Scratch) -> Self {
        let dir = scratch.path().to_str().unwrap();
        Self::member_running(name, join, extra, &["sh", "-c", SCRIPT, "cmd", dir])
    }

    /// A node of the three-node cluster, running `cmd`.
    fn member_running(name: &str, join: Option<&str>, extra: &[&str], cmd: &[&str]) -> Self {
        let mut flags = vec!["--electorate", "n0,n1,n2"];
        if let Some(addr) = join {
            flags.extend(["--join", addr]);
        }
        flags.extend(extra);
        Self::start(name, &flags, cmd)
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap())
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The whole log, once the process and everything it started have closed standard
    /// error.
    fn final_log(&self, logs: &Logs) -> String {
        let what = format!("{} to close its standard error", self.name);
        logs.wait_for(&what, || {
            self.log_closed.load(Ordering::Acquire).then_some(())
        });
        self.log()
    }

    /// The address the node prints at start.
    fn addr(&self, logs: &Logs) -> String {
        let prefix = format!("polity: node {} listening on ", self.name);
        logs.wait_for(&format!("{} to print its address", self.name), || {
            self.log()
                .lines()
                .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        })
    }

    /// Waits for the process to exit.
    fn exit_status(&mut self, logs: &Logs) -> ExitStatus {
        let what = format!("{} to exit", self.name);
        logs.wait_for(&what, || self.child.try_wait().unwrap())
    }
}

impl Drop for Campaign {
    fn drop(&mut self) {
        // A stopped process dies of SIGKILL too; SIGCONT only lets it go at once.
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The logs of some processes, to show when a wait fails.
struct Logs(Vec<(String, Arc<Mutex<String>>)>);

impl Logs {
    fn of<'a>(campaigns: impl IntoIterator<Item = &'a Campaign>) -> Self {
        Logs(
            campaigns
                .into_iter()
                .map(|c| (c.name.clone(), Arc::clone(&c.log)))
                .collect(),
        )
    }

    fn dump(&self) -> String {
        let mut out = String::new();
        for (name, log) in &self.0 {
            out.push_str(&format!("---- {name} ----\n{}", log.lock().unwrap()));
        }
        out
    }

    /// Polls `check` until it returns `Some`; panics with the logs after [`GUARD`].
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + GUARD;
        loop {
            if let Some(value) = check() {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "waited {GUARD:?} for {what}\n{}",
                self.dump()
            );
            std::thread::sleep(POLL);
        }
    }
}

/// Three nodes `n0`, `n1`, `n2` running `cmd`, `extra` flags for each: `n0` first, then
/// the two others joining it at the address it prints.
fn three_running(extra: &[&str], cmd: &[&str]) -> Vec<Campaign> {
    let n0 = Campaign::member_running("n0", None, extra, cmd);
    let addr = n0.addr(&Logs::of([&n0]));
    let mut nodes = vec![n0];
    for name in ["n1", "n2"] {
        nodes.push(Campaign::member_running(name, Some(&addr), extra, cmd));
    }
    nodes
}

/// Three nodes `n0`, `n1`, `n2` running [`SCRIPT`], `extra` flags for each; returns once
/// each sees the two others.
fn cluster(scratch: &Scratch, extra: &[&str]) -> Vec<Campaign> {
    let dir = scratch.path().to_str().unwrap();
    let nodes = three_running(extra, &["sh", "-c", SCRIPT, "cmd", dir]);
    let logs = Logs::of(&nodes);
    for node in &nodes {
        let what = format!("{} to see two members up", node.name);
        logs.wait_for(&what, || {
            (node.log().matches("member up").count() >= 2).then_some(())
        });
    }
    nodes
}

/// Waits until exactly one node has started CMD; returns its index. Panics if several
/// have.
fn holder(nodes: &[Campaign], scratch: &Scratch) -> usize {
    Logs::of(nodes).wait_for("a node to start CMD", || {
        let started: Vec<usize> = (0..nodes.len())
            .filter(|&i| scratch.file(&format!("{}.started", nodes[i].name)).exists())
            .collect();
        assert!(started.len() <= 1, "two holders: {started:?}");
        started.first().copied()
    })
}

/// Reads what [`SCRIPT`] recorded for `name`: role, term, holder.
fn recorded_env(scratch: &Scratch, name: &str) -> (String, u64, String) {
    let env = scratch.read(&format!("{name}.env")).unwrap();
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines.len(), 3, "{env:?}");
    let term = lines[1]
        .parse()
        .unwrap_or_else(|_| panic!("POLITY_TERM {:?} is not a number", lines[1]));
    (lines[0].to_owned(), term, lines[2].to_owned())
}
