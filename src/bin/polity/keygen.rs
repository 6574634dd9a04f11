//! `polity keygen`: a new cluster key.

use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The flags of `polity keygen`.
#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Print `{"key": "..."}` instead of the bare key.
    #[arg(long)]
    json: bool,
}

/// Length of a cluster key, in bytes (XChaCha20-Poly1305 takes 32).
const KEY_LEN: usize = 32;

/// A new key: 32 bytes from the operating system's generator, in standard base64.
fn new_key() -> String {
    STANDARD.encode(rand::random::<[u8; KEY_LEN]>())
}

/// Prints a new key.
pub fn run(args: KeygenArgs) -> ExitCode {
    let key = new_key();
    if args.json {
        println!("{}", serde_json::json!({ "key": key }));
    } else {
        println!("{key}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_random_bytes_in_base64() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        for key in [a, b] {
            assert_eq!(STANDARD.decode(&key).map(|k| k.len()), Ok(KEY_LEN), "{key}");
        }
    }
}
