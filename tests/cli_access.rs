//! Who may use an agent's API, through the `polity` binary: the default Unix socket only
//! the agent's user can open, a TCP listener that admits only its token, the read-only
//! metrics listener, and no key material in any answer.
#![cfg(feature = "cli")]
// The harness is shared with `cli_agent.rs`; these tests use only part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any wait: convergence, an election, failure detection.
const BOUND: Duration = Duration::from_secs(30);

/// The token of the TCP agents of these tests.
const TOKEN: &str = "a-token-of-the-tests-0123456789";

include!("cli_agent/harness.rs");

#[test]
fn by_default_the_api_is_a_socket_only_the_agents_user_can_open() {
    let runtime = tempfile::tempdir().expect("a temporary directory");
    let xdg = runtime.path().to_str().expect("a UTF-8 path").to_owned();
    let env = [("XDG_RUNTIME_DIR", xdg.as_str())];
    let mut child = Command::new(POLITY)
        .args([
            "agent",
            "--name",
            "solo",
            "--bind",
            "127.0.0.1:0",
            "--profile",
            "fast",
        ])
        .env_remove("POLITY_HTTP_ADDR")
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the polity binary runs");
    let lines = Lines::new(child.stdout.take().expect("stdout is piped"));
    let mut agent = Guard(child);
    let socket = runtime.path().join("polity/agent.sock");
    assert!(lines.next().is_some_and(|l| l.starts_with("udp: ")));
    assert_eq!(
        lines.next(),
        Some(format!("http: unix:{}", socket.display()))
    );

    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("it exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&socket), 0o600, "only the agent's user can connect");
    assert_eq!(mode(socket.parent().expect("a directory")), 0o700);

    // Every client command finds it with no --http.
    let members = polity_with(&["members", "--json"], &env);
    assert_eq!(members.code, 0, "{members:?}");
    assert_eq!(
        statuses(&members.json()),
        vec![("solo".into(), "alive".into())]
    );

    // A second agent never takes over the socket of a live one.
    let second = polity_with(&["agent", "--name", "two", "--bind", "127.0.0.1:0"], &env);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second.stderr.contains("another agent serves its API there"),
        "{second:?}"
    );

    // Leaving removes the socket.
    let pid = nix::unistd::Pid::from_raw(agent.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal sent");
    let status = agent.0.wait().expect("the agent exits");
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "the socket is removed on leaving");
}

#[test]
fn tcp_without_a_token_is_refused_at_start_naming_the_flag() {
    let refused = |args: &[&str]| {
        let mut all = vec!["agent", "--name", "a", "--bind", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let run = polity(&all);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        run.stderr
    };
    let public = refused(&["--http", "0.0.0.0:0", "--http-public"]);
    assert!(
        public.contains("--http-public needs --http-token-file"),
        "{public}"
    );
    let loopback = refused(&["--http", "127.0.0.1:0"]);
    assert!(loopback.contains("--http-token-file"), "{loopback}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let short = dir.path().join("short");
    std::fs::write(&short, "too-short").expect("written");
    let short = refused(&[
        "--http",
        "127.0.0.1:0",
        "--http-token-file",
        short.to_str().unwrap_or("-"),
    ]);
    assert!(short.contains("16 to"), "{short}");
}

/// The status code of a whole HTTP answer.
fn code(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}

/// Three agents serving their API on TCP with [`TOKEN`], `a` with metrics too.
fn tcp_cluster() -> Cluster {
    Cluster::start_with(|dir, name| {
        let token = dir.join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).expect("the token file can be written");
        let mut flags = vec![
            "--http".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--http-token-file".to_owned(),
            token.display().to_string(),
        ];
        if name == "a" {
            flags.extend(["--metrics-addr".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        flags
    })
}

#[test]
fn a_tcp_api_answers_401_and_changes_nothing_without_its_token() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).expect("written");
    let token_file = token_file.display().to_string();
    let cluster = tcp_cluster();
    let a = cluster.http("a").to_owned();
    let wrong = "Authorization: Bearer a-token-of-the-tests-0123456780\r\n";
    for headers in [
        "",
        wrong,
        "Authorization: a-token-of-the-tests-0123456789\r\n",
    ] {
        for (method, path) in [
            ("POST", "/v1/roles/taken/elect"),
            ("POST", "/v1/members/b/force-leave"),
            ("POST", "/v1/keys/install"),
            ("GET", "/v1/keys"),
            ("GET", "/v1/members"),
            ("GET", "/v1/metrics"),
            ("GET", "/v1/no-such-route"),
        ] {
            let answer = http(&a, method, path, headers, "");
            assert_eq!(code(&answer), 401, "{method} {path} {headers:?}: {answer}");
            assert!(answer.contains("POLITY_HTTP_TOKEN"), "{answer}");
        }
    }
    let without = polity(&["query", "taken", "--http", &a]);
    assert_eq!(without.code, 1, "{without:?}");
    assert!(without.stderr.contains("needs its token"), "{without:?}");

    // Nothing changed: the role is vacant and b is still a member.
    let with_file = ["--http", &a, "--http-token-file", &token_file];
    let vacant = polity(&[&["query", "taken"][..], &with_file].concat());
    assert_eq!(vacant.code, 3, "{vacant:?}");
    let members = polity(&[&["members", "--json"][..], &with_file].concat()).json();
    assert_eq!(
        status_of(&members, "b").as_deref(),
        Some("alive"),
        "{members}"
    );

    // The token admits, from the environment or from a file.
    let won = polity_with(
        &["elect", "taken", "--http", &a],
        &[("POLITY_HTTP_TOKEN", TOKEN)],
    );
    assert_eq!(won.code, 0, "{won:?}");
    let held = polity(&[&["query", "taken"][..], &with_file].concat());
    assert_eq!(held.code, 0, "{held:?}");
    assert!(held.stdout.starts_with("taken a "), "{held:?}");

    // The metrics listener needs no token, and serves nothing else.
    let metrics = cluster
        .agent("a")
        .metrics
        .clone()
        .expect("a serves metrics");
    let scraped = http_get(&metrics, "/metrics");
    assert_eq!(code(&scraped), 200, "{scraped}");
    assert!(scraped.contains("polity_roles_held 1"), "{scraped}");
    assert_eq!(code(&http_get(&metrics, "/v1/health")), 200);
    for (method, path) in [
        ("POST", "/v1/roles/taken/resign"),
        ("GET", "/v1/keys"),
        ("GET", "/v1/members"),
    ] {
        let answer = http(&metrics, method, path, "", "");
        assert!([404, 405].contains(&code(&answer)), "{answer}");
    }
    let still = polity(&[&["query", "taken"][..], &with_file].concat());
    assert_eq!(still.code, 0, "{still:?}");
}

/// The ways a key could be written out: base64 (standard and URL-safe, padded or
/// not) and hex.
fn spellings(key: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = STANDARD.decode(key).expect("a key is base64");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        STANDARD.encode(&bytes),
        STANDARD_NO_PAD.encode(&bytes),
        URL_SAFE.encode(&bytes),
        URL_SAFE_NO_PAD.encode(&bytes),
        hex.clone(),
        hex.to_uppercase(),
    ]
}

#[test]
fn no_answer_of_any_route_carries_a_key() {
    let old = polity(&["keygen"]).stdout;
    let new = polity(&["keygen"]).stdout;
    let cluster = Cluster::start_with(|dir, name| {
        let file = dir.join(format!("{name}.keyring"));
        std::fs::write(&file, serde_json::json!([old]).to_string()).expect("written");
        let mut flags = vec!["--keyring".to_owned(), file.display().to_string()];
        if name == "a" {
            flags.extend(["--metrics-addr".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        flags
    });
    let a = cluster.http("a").to_owned();
    let metrics = cluster
        .agent("a")
        .metrics
        .clone()
        .expect("a serves metrics");
    let json = "Content-Type: application/json\r\n";
    let body = |key: &str| serde_json::json!({ "key": key }).to_string();
    let mut answers = Vec::new();
    let mut ask = |method: &str, path: &str, headers: &str, payload: &str| {
        let answer = http(&a, method, path, headers, payload);
        answers.push((format!("{method} {path}"), answer));
    };
    // Every route of the API, in the order of its table, with the keys changed on the
    // way so that answers name both.
    ask("GET", "/v1/health", "", "");
    ask("GET", "/v1/members", "", "");
    ask("POST", "/v1/members/b/force-leave", "", "");
    ask("POST", "/v1/roles/secret/elect", "", "");
    ask("GET", "/v1/roles", "", "");
    ask("GET", "/v1/roles/secret", "", "");
    ask("GET", "/v1/roles/secret/query", "", "");
    ask("POST", "/v1/roles/secret/resign", "", "");
    ask("POST", "/v1/roles/secret/elect?wait=true", "", "");
    ask("POST", "/v1/roles/secret/recall", "", "");
    ask("GET", "/v1/metrics", "", "");
    ask("GET", "/v1/keys", "", "");
    ask("POST", "/v1/keys/install", json, &body(&new));
    ask("POST", "/v1/keys/use", json, &body(&new));
    ask("GET", "/v1/keys", "", "");
    ask("POST", "/v1/keys/remove", json, &body(&old));
    ask("POST", "/v1/keys/remove", json, &body(&new));
    ask("POST", "/v1/keys/install", json, "{\"key\": \"not a key\"}");
    ask("GET", "/v1/no-such-route", "", "");
    ask("DELETE", "/v1/roles", "", "");
    for path in ["/metrics", "/v1/metrics", "/v1/health", "/v1/keys"] {
        answers.push((format!("metrics GET {path}"), http_get(&metrics, path)));
    }
    // A watch streams until stopped: its first line, as `polity watch` shows it.
    let mut watch = Command::new(POLITY)
        .args(["watch", "secret", "--json", "--http", &a])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the polity binary runs");
    let lines = Lines::new(watch.stdout.take().expect("stdout is piped"));
    let mut watch = Guard(watch);
    answers.push(("watch".into(), lines.next().expect("a first line")));
    watch.kill();

    for (what, answer) in &answers[..2] {
        assert_eq!(code(answer), 200, "{what}: {answer}");
    }
    let keys_listed = &answers
        .iter()
        .find(|(what, _)| what == "GET /v1/keys")
        .expect("listed")
        .1;
    assert!(keys_listed.contains("\"fingerprint\""), "{keys_listed}");
    for key in [&old, &new] {
        for spelling in spellings(key) {
            for (what, answer) in &answers {
                assert!(
                    !answer.contains(&spelling),
                    "{what} gave away a key: {answer}"
                );
            }
        }
    }
}

#[test]
fn another_user_cannot_open_the_socket() {
    let runuser = Path::new("/usr/sbin/runuser");
    if !nix::unistd::Uid::effective().is_root() || !runuser.exists() {
        eprintln!("skipped: needs root and runuser to act as another user");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let agent = Agent::start(dir.path(), "solo", None);
    let as_nobody = || {
        Command::new(runuser)
            .args([
                "-u",
                "nobody",
                "--",
                POLITY,
                "members",
                "--http",
                &agent.http,
            ])
            .env_remove("POLITY_HTTP_TOKEN")
            .output()
            .expect("runuser runs")
    };
    // The directory keeps other users out; with it opened up, the socket's own mode
    // still does.
    for dir_mode in [0o700, 0o755] {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode))
            .expect("the mode can be set");
        let refused = as_nobody();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "dir {dir_mode:o}: {stderr}");
        assert!(
            stderr.contains("Permission denied"),
            "dir {dir_mode:o}: {stderr}"
        );
        assert!(refused.stdout.is_empty());
    }
    let mine = polity(&["members", "--http", &agent.http]);
    assert_eq!(mine.code, 0, "the agent's own user gets in: {mine:?}");
}
