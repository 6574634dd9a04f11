//! Where the agent listens: its API on a Unix socket (the default) or a TCP address, and
//! the read-only monitoring routes on a TCP address of their own.
//!
//! A Unix socket is made mode 0600 in a directory only its owner can write, so only the
//! agent's user (and root) can connect; a stale socket left by an agent that died is
//! replaced, a live one is never taken over.

use std::io;
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, MetadataExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, UnixListener};

use crate::endpoint::Endpoint;

/// A bound API listener.
pub enum ApiListener {
    /// A Unix socket, removed when the agent stops.
    Unix(UnixListener, SocketFile),
    /// A TCP listener.
    Tcp(TcpListener),
}

/// The path of a socket the agent made: removed when dropped.
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl ApiListener {
    /// Binds `endpoint`; gives the listener and where it listens (the port picked, for
    /// port 0). The error says what is wrong and what to do.
    pub async fn bind(endpoint: &Endpoint) -> Result<(ApiListener, Endpoint), String> {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let listener = TcpListener::bind(addr).await.map_err(|error| {
                    format!(
                        "cannot serve the HTTP API on {addr}: {error}; pick another address \
                         with --http (port 0 picks a free one)"
                    )
                })?;
                let bound = listener.local_addr().unwrap_or(*addr);
                Ok((ApiListener::Tcp(listener), Endpoint::Tcp(bound)))
            }
            Endpoint::Unix(path) => {
                let (listener, file) = bind_socket(path).map_err(|error| {
                    format!(
                        "cannot serve the HTTP API on the socket {}: {error}",
                        path.display()
                    )
                })?;
                Ok((ApiListener::Unix(listener, file), endpoint.clone()))
            }
        }
    }
}

/// Makes the socket at `path`, mode 0600, in a directory made 0700 if it is missing.
fn bind_socket(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    check_dir(dir)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another agent serves its API there; stop it, or give this one \
                     another --http unix:PATH",
                ));
            }
            // Nobody answers: the socket of an agent that did not stop cleanly.
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "something other than a socket is there; remove it or pick another path",
            ));
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    // Made with no permission for group and others, so there is no moment when another
    // user could connect; then set to 0600 explicitly, whatever the umask was.
    let mask = nix::sys::stat::Mode::from_bits_truncate(0o177);
    let previous = nix::sys::stat::umask(mask);
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(previous);
    let listener = bound?;
    let file = SocketFile(path.to_path_buf());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok((listener, file))
}

/// Refuses a directory another user could write to: whoever can, can put a socket of
/// their own where the client commands look for the agent.
fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    let me = nix::unistd::Uid::effective().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user (uid {}); the socket must be in a directory \
                 of the agent's user or root",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} can be written by other users (mode {:o}); put the socket in a \
                 directory only its owner can write, such as the default one",
                dir.display(),
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_is_made_0600_and_a_stale_one_replaced_but_never_a_live_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/agent.sock");
        let (first, file) = bind_socket(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let live = bind_socket(&path).err().expect("a live socket is kept");
        assert!(live.to_string().contains("another agent"), "{live}");
        // An agent that died leaves its socket behind, with nobody listening.
        drop(first);
        std::mem::forget(file);
        let (_again, _file) = bind_socket(&path).expect("a stale socket is replaced");
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_dir(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("written by other users"),
            "{error}"
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let (_, refused) = (
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)),
            bind_socket(&file),
        );
        assert!(
            refused
                .err()
                .unwrap()
                .to_string()
                .contains("other than a socket")
        );
    }
}
