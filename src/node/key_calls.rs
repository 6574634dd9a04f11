//! [`NodeHandle`]'s keyring operations: the keys of this node, and changes rolled out to
//! every live member as serf's `keys` command does.

use super::command::Command;
use super::error::NodeError;
use super::handle::NodeHandle;
use crate::core::KeyRollout;
use crate::wire::{Key, KeyOp};

impl NodeHandle {
    /// This node's keys, primary first; `None` if it does not seal datagrams.
    pub async fn keys(&self) -> Result<Option<Vec<Key>>, NodeError> {
        self.ask(Command::Keys).await
    }

    /// Makes a keyring change (or, with [`KeyOp::List`], a listing) on this node and on
    /// every live member, and reports what each answered and who did not answer within
    /// one lease. Rotate a key in three rollouts, checking each is complete
    /// ([`KeyRollout::is_complete`]) before the next: install the new key, use it,
    /// remove the old one. A node left out of a `Use` can no longer talk to the others.
    ///
    /// Every node whose keyring changed reports [`crate::Event::KeyringChanged`].
    pub async fn rollout_keys(&self, op: KeyOp) -> Result<KeyRollout, NodeError> {
        self.ask(|reply| Command::RolloutKeys(op, reply)).await
    }
}
