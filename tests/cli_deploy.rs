//! Deploying the agent as serf and Consul agents are deployed, through the `polity`
//! binary: a config file (alone, overridden by flags, refused when wrong), `--join` by
//! host name with retries that give up, agents on IPv6 loopback, systemd readiness, the
//! shipped unit and config file, the structured logs, and `--help` examples.
#![cfg(feature = "cli")]
// The harness is shared with `cli_agent.rs`; these tests use only part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any wait: convergence, an election, failure detection.
const BOUND: Duration = Duration::from_secs(30);

include!("cli_agent/harness.rs");

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// Waits until `members --json` at `http` lists `names`, all alive.
fn wait_for_members(http: &str, names: &[&str]) {
    poll(
        &format!("{http} to see {names:?} alive"),
        &["members", "--json", "--http", http],
        |run| {
            let mut seen: Vec<String> = if run.code == 0 {
                statuses(&run.json())
                    .into_iter()
                    .filter(|(_, status)| status == "alive")
                    .map(|(name, _)| name)
                    .collect()
            } else {
                Vec::new()
            };
            seen.sort();
            seen == names
        },
    );
}

#[test]
fn a_config_file_alone_starts_an_agent_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("a.sock");
    let config = dir.path().join("polity.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"a\"\nbind = \"127.0.0.1:0\"\nprofile = \"fast\"\npreference-delay = \"2s\"\n\
             http = \"unix:{}\"\n\n[tags]\nzone = \"eu-1\"\n",
            socket.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let a = Agent::run(dir.path(), "a", &strings(&["--config", config]));
    assert_eq!(a.http, format!("unix:{}", socket.display()));
    wait_for_members(&a.http, &["a"]);
    let members = polity(&["members", "--json", "--http", &a.http]).json();
    assert_eq!(members["members"][0]["tags"]["zone"], "eu-1", "{members}");

    // The same file for a second agent: the flags override its name, its socket, its
    // (empty) join list and one tag's table.
    let b_socket = format!("unix:{}", dir.path().join("b.sock").display());
    let overrides = ["--name", "b", "--http", &b_socket, "--join", &a.udp];
    let b_args = [
        &["--config", config][..],
        &overrides,
        &["--tag", "zone=eu-2"],
    ]
    .concat();
    let b = Agent::run(dir.path(), "b", &strings(&b_args));
    assert_eq!(b.http, b_socket);
    wait_for_members(&a.http, &["a", "b"]);
    wait_for_members(&b.http, &["a", "b"]);
    let members = polity(&["members", "--json", "--tag", "zone=eu-2", "--http", &a.http]);
    assert_eq!(statuses(&members.json()).len(), 1, "{members:?}");

    // --print-config shows what is in effect, as a file that gives it.
    let shown = polity(
        &[
            &["agent", "--print-config", "--config", config][..],
            &overrides,
        ]
        .concat(),
    );
    assert_eq!(shown.code, 0, "{shown:?}");
    for line in [
        "name = \"b\"",
        "bind = \"127.0.0.1:0\"",
        "profile = \"fast\"",
        &format!("join = [\"{}\"]", a.udp),
        "zone = \"eu-1\"",
        "retry-interval = \"5s\"",
        "preference-delay = \"2s\"",
    ] {
        assert!(shown.stdout.lines().any(|l| l == line), "{line}: {shown:?}");
    }
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &shown.stdout).unwrap();
    let reread = polity(&[
        "agent",
        "--print-config",
        "--config",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        reread.stdout, shown.stdout,
        "the printed file gives the same configuration"
    );
}

#[test]
fn bad_config_files_are_refused_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let cases = [
        (
            write(
                "unknown.toml",
                "name = \"a\"\nprofile = \"lan\"\nbindd = \"127.0.0.1:0\"\n",
            ),
            vec!["line 3", "bindd", "unknown field"],
        ),
        (
            write("value.toml", "name = \"a\"\nbind = \"here\"\n"),
            vec!["line 2", "bind", "invalid socket address"],
        ),
        (
            write("join.toml", "name = \"a\"\njoin = [\"10.0.0.1\"]\n"),
            vec!["line 2", "is not a join address"],
        ),
        (
            write("tag.toml", "name = \"a\"\n\n[tags]\n\"a key\" = \"x\"\n"),
            vec!["line 3", "tag key \"a key\""],
        ),
        (
            write("syntax.toml", "name = \"a\nbind = 1\n"),
            vec!["line 1"],
        ),
        (
            write("unknown.json", "{\n  \"name\": \"a\",\n  \"bogus\": 1\n}\n"),
            vec!["line 3", "bogus", "unknown field"],
        ),
        (
            dir.path().join("missing.toml").to_str().unwrap().to_owned(),
            vec!["cannot read the config file", "missing.toml"],
        ),
        (
            write("nameless.toml", "profile = \"lan\"\n"),
            vec!["needs a name"],
        ),
    ];
    for (path, wanted) in cases {
        let run = polity(&["agent", "--config", &path]);
        assert_eq!(run.code, 2, "{path}: {run:?}");
        for text in wanted {
            assert!(run.stderr.contains(text), "{path}: no {text:?} in {run:?}");
        }
    }
    // JSON is read as well as TOML.
    let json = write(
        "good.json",
        "{\"name\": \"j\", \"join\": [\"polity.internal:7700\"]}",
    );
    let shown = polity(&["agent", "--config", &json, "--print-config"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown.stdout.contains("join = [\"polity.internal:7700\"]"),
        "{shown:?}"
    );
}

#[test]
fn agents_join_through_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = Agent::start(dir.path(), "a", None);
    let port = a.udp.rsplit_once(':').map(|(_, port)| port).unwrap();
    let by_name = format!("localhost:{port}");
    let b = Agent::start(dir.path(), "b", Some(&by_name));
    wait_for_members(&a.http, &["a", "b"]);
    wait_for_members(&b.http, &["a", "b"]);
    assert!(b.log().contains("resolved"), "{}", b.log());
}

#[test]
fn an_agent_that_no_member_answers_retries_then_gives_up() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the announcements go unanswered.
    let started = Instant::now();
    let run = polity(&[
        "agent",
        "--name",
        "lonely",
        "--bind",
        "127.0.0.1:0",
        "--http",
        &format!("unix:{}", dir.path().join("lonely.sock").display()),
        "--join",
        "127.0.0.1:1",
        "--retry-interval",
        "100ms",
        "--retry-max",
        "3",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("no member answered at 127.0.0.1:1 after 3 attempts"),
        "{run:?}"
    );
    for attempt in ["attempt 2 of 3", "attempt 3 of 3"] {
        assert!(run.stderr.contains(attempt), "{attempt}: {run:?}");
    }
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
}

#[test]
fn a_node_given_join_addresses_starts_only_once_one_resolves() {
    let dir = tempfile::tempdir().unwrap();
    // An IPv4 address is of no use to a node bound to IPv6: nothing to join through, so
    // the node must not start as a cluster of its own.
    let run = polity(&[
        "agent",
        "--name",
        "waiting",
        "--bind",
        "[::1]:0",
        "--http",
        &format!("unix:{}", dir.path().join("waiting.sock").display()),
        "--join",
        "127.0.0.1:1",
        "--retry-interval",
        "100ms",
        "--retry-max",
        "2",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("udp:"), "the node started: {run:?}");
    for text in [
        "no address of the bound socket's family",
        "the node starts once one does",
        "after 2 attempts",
    ] {
        assert!(run.stderr.contains(text), "{text}: {run:?}");
    }
}

#[test]
fn agents_on_ipv6_loopback_elect_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let flags = |name: &str, join: Option<&str>| {
        let socket = format!("unix:{}", dir.path().join(format!("{name}.sock")).display());
        let mut args = strings(&["--name", name, "--bind", "[::1]:0", "--http", &socket]);
        args.extend(strings(&["--profile", "fast", "--metrics-addr", "[::1]:0"]));
        if let Some(join) = join {
            args.extend(strings(&["--join", join]));
        }
        args
    };
    let a = Agent::run(dir.path(), "a", &flags("a", None));
    assert!(a.udp.starts_with("[::1]:"), "{}", a.udp);
    let b = Agent::run(dir.path(), "b", &flags("b", Some(&a.udp)));
    let c = Agent::run(dir.path(), "c", &flags("c", Some(&a.udp)));
    for agent in [&a, &b, &c] {
        wait_for_members(&agent.http, &["a", "b", "c"]);
        poll(
            "a query to be answered",
            &["query", "probe", "--http", &agent.http],
            |run| run.code == 3,
        );
    }
    let elected = polity(&["elect", "scheduler", "--http", &b.http]);
    assert_eq!(elected.code, 0, "{elected:?}");
    for agent in [&a, &c] {
        let query = polity(&["query", "scheduler", "--json", "--http", &agent.http]);
        assert_eq!(query.code, 0, "{query:?}");
        assert_eq!(query.json()["holder"], "b", "{query:?}");
    }
    let members = polity(&["members", "--json", "--http", &c.http]).json();
    for member in members["members"].as_array().unwrap() {
        assert!(
            member["addr"].as_str().unwrap().starts_with("[::1]:"),
            "{member}"
        );
    }
    let metrics = a.metrics.as_deref().unwrap();
    assert!(metrics.starts_with("[::1]:"), "{metrics}");
    assert!(http_get(metrics, "/v1/health").contains("\"joined\":true"));
}

#[test]
fn the_agent_tells_systemd_it_is_ready_then_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify");
    let socket = UnixDatagram::bind(&notify).unwrap();
    socket.set_read_timeout(Some(BOUND)).unwrap();
    let http = format!("unix:{}", dir.path().join("a.sock").display());
    let args = strings(&["--name", "a", "--bind", "127.0.0.1:0", "--http", &http]);
    let notify_env = notify.to_str().unwrap();
    let mut agent = Agent::run_with_env(dir.path(), "a", &args, &[("NOTIFY_SOCKET", notify_env)]);
    let mut message = [0; 256];
    let read = |message: &mut [u8]| {
        let len = socket.recv(message).expect("a notification");
        String::from_utf8_lossy(&message[..len]).into_owned()
    };
    // Ready once it reported its addresses, which it did before `run` returned.
    assert_eq!(read(&mut message), "READY=1\n");
    let pid = nix::unistd::Pid::from_raw(agent.process.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(read(&mut message), "STOPPING=1\n");
    let status = agent.process.0.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", agent.log());
}

#[test]
fn the_shipped_config_file_and_unit_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("dist/polity.toml");
    let shown = polity(&[
        "agent",
        "--config",
        config.to_str().unwrap(),
        "--print-config",
    ]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown.stdout.contains("join = [\"polity.internal:7700\"]"),
        "{shown:?}"
    );

    let unit = std::fs::read_to_string(root.join("dist/systemd/polity.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/polity agent --config /etc/polity/polity.toml")
    );
    assert!(unit.contains("Type=notify"));
    // systemd's own check, with the binary just built in place of the installed one.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("polity.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/polity", POLITY)).unwrap();
    let verified = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze runs (apt-get install systemd)");
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

/// The JSON log lines of `agent` that say `message`.
fn logged(agent: &Agent, message: &str) -> Vec<Value> {
    agent
        .log()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message)
        .collect()
}

#[test]
fn membership_and_role_changes_are_logged_with_fields_to_index() {
    let dir = tempfile::tempdir().unwrap();
    let json = strings(&["--log-format", "json"]);
    let a = Agent::start_with(dir.path(), "a", None, &json);
    let b = Agent::start_with(dir.path(), "b", Some(&a.udp), &json);
    wait_for_members(&a.http, &["a", "b"]);
    poll(
        "a query to be answered",
        &["query", "probe", "--http", &b.http],
        |run| run.code == 3,
    );
    let elected = polity(&["elect", "scheduler", "--http", &b.http]);
    assert_eq!(elected.code, 0, "{elected:?}");
    let term = elected.stdout.clone();
    wait_for("a to log b's election", || {
        logged(&a, "role changed").iter().any(|line| {
            let fields = &line["fields"];
            line["level"] == "INFO"
                && fields["node"] == "a"
                && fields["role"] == "scheduler"
                && fields["status"] == "held"
                && fields["holder"] == "b"
                && fields["term"] == term.as_str()
        })
    });
    let held = logged(&b, "holding role");
    assert!(
        held.iter().any(|line| line["fields"]["role"] == "scheduler"
            && line["fields"]["term"] == term.as_str()
            && line["fields"]["holder"] == "b"),
        "{held:?}"
    );
    let up = logged(&a, "member up");
    assert!(
        up.iter().any(|line| line["fields"]["member"] == "b"
            && line["fields"]["addr"] == b.udp.as_str()
            && line["fields"]["node"] == "a"),
        "{up:?}"
    );
}

#[test]
fn every_command_ends_its_help_with_examples() {
    let help = polity(&["--help"]);
    let commands: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|command| command != "help")
        .collect();
    assert!(commands.len() >= 15, "{commands:?}");
    for command in commands {
        let run = polity(&[&command, "--help"]);
        assert_eq!(run.code, 0, "{command}: {run:?}");
        let examples = run
            .stdout
            .split_once("\nExamples:\n")
            .map(|(_, examples)| examples)
            .unwrap_or_else(|| panic!("{command} --help has no examples: {run:?}"));
        assert!(
            examples
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("polity {command}"))),
            "{command}: {examples}"
        );
    }
}
