//! Keys as people handle them: a key is 32 bytes in standard base64 (what `polity keygen`
//! prints), and a keyring file is a JSON list of such keys, the first primary, as serf's
//! keyring file is.

use std::io::Write as _;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use polity::wire::{KEY_LEN, Key, Keyring};

use crate::secret_file;

/// The largest keyring file read, in bytes.
const MAX_KEYRING_FILE: u64 = 64 * 1024;

/// A key from its base64 text, or why it is not one.
pub fn parse_key(text: &str) -> Result<Key, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64 ({e}); make a key with `polity keygen`"))?;
    let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "has {} bytes, not {KEY_LEN}; make a key with `polity keygen`",
            b.len()
        )
    })?;
    Ok(Key::new(bytes))
}

/// A key's base64 text: for the keyring file and `polity keygen` only, never for an
/// answer of the API.
pub fn encode_key(key: &Key) -> String {
    STANDARD.encode(key.bytes())
}

/// How a key is shown wherever it is named (the API, `polity keys`, logs): the first 8
/// bytes of its SHA-256 digest, in hex. It tells keys apart and gives nothing of them
/// away.
pub fn fingerprint(key: &Key) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Reads one key from a file (or standard input for `-`), as `polity keygen` writes it.
pub fn read_key_file(path: &Path) -> Result<Key, String> {
    let text = secret_file::read("key file", path, 1024)?;
    parse_key(&text).map_err(|e| format!("the key in {} {e}", path.display()))
}

/// Reads a keyring file, or says what is wrong with it.
pub fn read(path: &Path) -> Result<Keyring, String> {
    let name = path.display();
    let text = secret_file::read("keyring", path, MAX_KEYRING_FILE)?;
    let encoded: Vec<String> = serde_json::from_str(&text).map_err(|e| {
        format!("keyring {name} is not a JSON list of base64 keys ({e}); make a key with `polity keygen`")
    })?;
    let keys = encoded
        .iter()
        .enumerate()
        .map(|(i, key)| parse_key(key).map_err(|e| format!("keyring {name}: key {} {e}", i + 1)))
        .collect::<Result<Vec<Key>, String>>()?;
    Keyring::new(keys).map_err(|e| format!("keyring {name}: {e}"))
}

/// Replaces the keyring file with `keys`, atomically: a temporary file beside it, flushed
/// to the disk, renamed over it. The file is readable by its owner only.
pub fn write(path: &Path, keys: &[Key]) -> std::io::Result<()> {
    let encoded: Vec<String> = keys.iter().map(encode_key).collect();
    let text = serde_json::to_string_pretty(&encoded).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_files_are_read_or_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let good = "[\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\", \"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"]";
        let ring = read(&file("good", good)).unwrap();
        assert_eq!(ring.keys().len(), 2);
        assert_eq!(
            ring.keys()[0],
            Key::new([1; KEY_LEN]),
            "the first key is primary"
        );
        for (text, reason) in [
            ("[]", "at least one key"),
            ("not json", "not a JSON list"),
            ("[\"!!\"]", "not base64"),
            ("[\"AQID\"]", "has 3 bytes"),
        ] {
            let error = read(&file("bad", text)).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
        assert!(
            read(&dir.path().join("missing"))
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn a_written_keyring_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let keys = vec![Key::new([3; KEY_LEN]), Key::new([4; KEY_LEN])];
        write(&path, &keys).unwrap();
        assert_eq!(read(&path).unwrap().keys(), keys.as_slice());
        write(&path, &keys[1..]).unwrap();
        assert_eq!(read(&path).unwrap().keys(), &keys[1..]);
        assert_eq!(
            parse_key(&encode_key(&keys[0])).unwrap(),
            keys[0],
            "keys read back as written"
        );
    }

    #[test]
    fn fingerprints_tell_keys_apart_and_hold_nothing_of_them() {
        let one = Key::new([1; KEY_LEN]);
        let print = fingerprint(&one);
        assert_eq!(print.len(), 16);
        assert!(print.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(print, fingerprint(&Key::new([1; KEY_LEN])));
        assert_ne!(print, fingerprint(&Key::new([2; KEY_LEN])));
        assert!(!encode_key(&one).contains(&print));
    }
}
