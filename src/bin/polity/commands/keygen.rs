//! `polity keygen`: a new cluster key.

use std::process::ExitCode;

use polity::wire::{KEY_LEN, Key};

use crate::keyring_file::encode_key;

/// The flags of `polity keygen`.
#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Print `{"key": "..."}` instead of the bare key.
    #[arg(long)]
    json: bool,
}

/// A new key: 32 bytes from the operating system's generator, in standard base64.
fn new_key() -> String {
    encode_key(&Key::new(rand::random::<[u8; KEY_LEN]>()))
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
    use crate::keyring_file::parse_key;

    #[test]
    fn keys_are_32_random_bytes_in_base64() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        for key in [a, b] {
            assert!(parse_key(&key).is_ok(), "{key}");
        }
    }
}
