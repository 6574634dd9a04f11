//! The API token: a TCP listener of the agent answers only requests that carry it
//! (`Authorization: Bearer TOKEN`), as serf's RPC answers only its auth key. The agent
//! reads it from `--http-token-file`; the client commands from `POLITY_HTTP_TOKEN`, or
//! from the file named by their own `--http-token-file`.

use std::path::Path;

use subtle::ConstantTimeEq as _;

use crate::secret_file;

/// The environment variable holding the token for the client commands.
pub const ENV: &str = "POLITY_HTTP_TOKEN";

/// The environment variable naming the token file for the client commands.
pub const FILE_ENV: &str = "POLITY_HTTP_TOKEN_FILE";

/// The shortest token accepted, in bytes.
pub const MIN_LEN: usize = 16;

/// The longest token accepted, in bytes.
const MAX_LEN: usize = 1024;

/// A secret that lets a request in.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A token from its text, trimmed of surrounding white space: printable ASCII (it
    /// travels in a header), at least [`MIN_LEN`] bytes.
    pub fn new(text: &str) -> Result<Token, String> {
        let text = text.trim();
        if text.len() < MIN_LEN || text.len() > MAX_LEN {
            return Err(format!(
                "a token has {MIN_LEN} to {MAX_LEN} bytes, this one {}; `polity keygen` \
                 prints one",
                text.len()
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "a token is printable ASCII with no spaces; `polity keygen` prints one".into(),
            );
        }
        Ok(Token(text.to_owned()))
    }

    /// Reads the token in `path`.
    pub fn read(path: &Path) -> Result<Token, String> {
        let text = secret_file::read("token file", path, MAX_LEN as u64 + 2)?;
        Token::new(&text).map_err(|e| format!("token file {}: {e}", path.display()))
    }

    /// The token of the client commands: the file given, else `POLITY_HTTP_TOKEN`, else
    /// none.
    pub fn for_client(file: Option<&Path>) -> Result<Option<Token>, String> {
        if let Some(path) = file {
            return Token::read(path).map(Some);
        }
        match std::env::var(ENV) {
            Ok(text) if !text.is_empty() => Token::new(&text)
                .map(Some)
                .map_err(|e| format!("{ENV}: {e}")),
            _ => Ok(None),
        }
    }

    /// The value of the `Authorization` header that carries this token.
    pub fn header(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Whether an `Authorization` header carries this token. The comparison takes the
    /// same time wherever the two differ, so timing tells an attacker nothing of it.
    pub fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        // Digests first: equal lengths, so not even the token's length leaks.
        let digest = |bytes: &[u8]| {
            use sha2::Digest as _;
            sha2::Sha256::digest(bytes)
        };
        digest(given.trim_ascii())
            .ct_eq(&digest(self.0.as_bytes()))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_itself_is_admitted() {
        let token = Token::new("  correct-horse-battery\n").unwrap();
        assert!(token.admits(Some(token.header().as_bytes())));
        assert!(token.admits(Some(b"Bearer correct-horse-battery")));
        for wrong in [
            &b"Bearer correct-horse-batterz"[..],
            b"Bearer correct-horse-battery-staple",
            b"Bearer ",
            b"correct-horse-battery",
            b"Basic correct-horse-battery",
        ] {
            assert!(!token.admits(Some(wrong)), "{wrong:?}");
        }
        assert!(!token.admits(None));
    }

    #[test]
    fn short_or_unprintable_tokens_are_refused() {
        assert!(Token::new("short").unwrap_err().contains("16 to"));
        assert!(
            Token::new("sixteen bytes ok!")
                .unwrap_err()
                .contains("no spaces")
        );
        assert!(format!("{:?}", Token::new("0123456789abcdef").unwrap()) == "Token(..)");
    }
}
