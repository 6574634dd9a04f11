//! Reading the small files that hold secrets (a keyring, a key, an API token), so that
//! they stay out of shell history and `ps`: bounded in size, with errors that name the
//! file.

use std::io::Read as _;
use std::path::Path;

/// Reads the text of `path`, or of standard input when `path` is `-`, refusing more than
/// `max` bytes. Errors say what the file was for (`what`) and name it.
pub fn read(what: &str, path: &Path, max: u64) -> Result<String, String> {
    let name = path.display();
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().take(max + 1).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(max + 1).read_to_string(&mut text))
    };
    read.map_err(|e| format!("{what} {name}: {e}"))?;
    if text.len() as u64 > max {
        return Err(format!("{what} {name} is larger than {max} bytes"));
    }
    Ok(text)
}
