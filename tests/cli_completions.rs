//! `polity completions SHELL` and `polity man`, through the binary: each shell's script
//! names the commands and their flags, the man page is roff, and an unknown shell is a
//! usage error.
#![cfg(feature = "cli")]

use std::process::Command;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(POLITY)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run polity {args:?}: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, stderr) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        // Commands, and flags by name (fish writes them `-l NAME`, the others `--NAME`).
        for word in [
            "campaign",
            "members",
            "tags",
            "http-token-file",
            "cluster-label",
        ] {
            assert!(script.contains(word), "{shell}: no {word} in the script");
        }
    }
    let (code, _, stderr) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("possible values"), "{stderr}");
}

#[test]
fn the_man_page_is_roff_naming_every_command() {
    let (code, page, stderr) = run(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        page.starts_with(".ie") || page.contains(".TH polity"),
        "{page}"
    );
    for command in ["agent", "campaign", "elect", "members", "tags", "keys"] {
        assert!(page.contains(command), "no {command} in the man page");
    }
}
