//! What can go wrong when starting a node or talking to a running one.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::InvalidConfig;
use crate::core::{ForceLeaveError, RoleError};
use crate::identity::InvalidName;
use crate::tags::TagsError;

/// Why [`super::Node::start`] could not start a node. Nothing is left running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The config broke one or more rules; fix the fields named in the message (see
    /// [`crate::Config::validate`]).
    #[error(transparent)]
    Config(#[from] InvalidConfig),
    /// The UDP socket could not bind `addr`: another process may hold the port, or the IP
    /// is not one of this host's. Pick another port (0 picks a free one) or another IP.
    #[error("cannot bind a UDP socket to {addr}: {source}")]
    Bind {
        /// The address that was tried (`config.bind`).
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The node binds a wildcard address (such as `0.0.0.0`) and no address to tell the
    /// other members could be worked out: there is no `advertise` address, and no `join`
    /// address to find the route towards (or no route to it). Set `advertise`, or bind a
    /// specific IP.
    #[error(
        "cannot tell which address other nodes should reach this node on: it binds the \
         wildcard address {bind}{}; set `advertise`, or bind a specific IP",
        route_note(.route_error)
    )]
    NoAdvertiseAddress {
        /// The wildcard address the socket was bound to.
        bind: SocketAddr,
        /// Why the route towards the first join address could not be found, when there
        /// was one to look for.
        route_error: Option<io::Error>,
    },
    /// The state directory could not be made (or is not a directory). Fix its path or
    /// its permissions.
    #[error("cannot use the state directory {}: {source}; check its path and permissions", .dir.display())]
    StateDir {
        /// The directory given.
        dir: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The state file could not be read or written, is too large, or does not hold a
    /// polity state. Fix its permissions, or remove it to start afresh: the node then
    /// forgets the members it counted, which only matters if most of the cluster
    /// restarts at once.
    #[error(
        "cannot use the state file {}: {reason}; remove it to start afresh (the node then \
         forgets the members it counted) or fix its permissions",
        .path.display()
    )]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn route_note(error: &Option<io::Error>) -> String {
    match error {
        Some(error) => {
            format!(" and the route towards its first join address is unknown ({error})")
        }
        None => String::from(" and has no join address to find a route towards"),
    }
}

/// Why a request to a running node failed.
///
/// Every request can fail with [`NodeError::ShutDown`]; the other variants name the
/// requests that return them. Role names are checked when a [`crate::RoleName`] is
/// made, not by the node: [`NodeError::InvalidName`] exists so that a function returning
/// `NodeError` can `?` both [`crate::RoleName::new`] and the role requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node's task has ended: it left, was shut down, or every handle was dropped.
    /// A node does not restart; start a new one with [`super::Node::start`].
    #[error("the node has shut down; start a new one")]
    ShutDown,
    /// [`super::NodeHandle::force_leave`] was refused; the inner error says why (an unknown
    /// name, or a member that is not down).
    #[error(transparent)]
    ForceLeave(#[from] ForceLeaveError),
    /// A role request failed; the inner error says why, for instance
    /// [`RoleError::Lost`] to a named holder, [`RoleError::NotEnoughMembers`],
    /// [`RoleError::RoleUnfilled`] (recalling a vacant role), [`RoleError::NotHolder`]
    /// (resigning a role not held), [`RoleError::TimedOut`] (no quorum answered in time),
    /// or [`RoleError::Cancelled`] (the node left while the request waited).
    #[error(transparent)]
    Role(#[from] RoleError),
    /// A name was refused by [`crate::RoleName::new`] (or [`crate::NodeName::new`]): it
    /// is empty, too long, or holds whitespace or control characters.
    #[error("invalid name: {0}")]
    InvalidName(#[from] InvalidName),
    /// [`super::NodeHandle::update_tags`] would break a rule of [`crate::Tags`] (a bad key,
    /// a control character, too long); nothing changed.
    #[error(transparent)]
    Tags(#[from] TagsError),
}
