//! `polity completions SHELL` and `polity man`: shell completions and a man page, made
//! from the command's own definition, so they never fall behind its flags.

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::CommandFactory as _;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell` on standard output.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "polity", &mut out);
    print(&out)
}

/// Prints the man page, polity(1), in roff on standard output.
pub fn man() -> ExitCode {
    let mut out = Vec::new();
    match clap_mangen::Man::new(crate::Cli::command()).render(&mut out) {
        Ok(()) => print(&out),
        Err(error) => {
            eprintln!("polity: cannot write the man page: {error}");
            ExitCode::FAILURE
        }
    }
}

fn print(bytes: &[u8]) -> ExitCode {
    match io::stdout().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`polity man | head`) is not worth a message.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("polity: cannot write to standard output: {error}");
            ExitCode::FAILURE
        }
    }
}
