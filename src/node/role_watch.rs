//! The latest view of every role, shared by the node's task (which publishes each
//! change) and its handles (which subscribe without a round trip to the task).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::core::RoleState;
use crate::identity::RoleName;

/// One watch channel per role the node has heard of (or was asked about), holding the
/// node's current view of it.
#[derive(Debug)]
pub(crate) struct RoleWatches {
    inner: Mutex<Registry>,
}

#[derive(Debug)]
struct Registry {
    /// False once the node's task has ended.
    open: bool,
    senders: HashMap<RoleName, watch::Sender<RoleState>>,
}

impl RoleWatches {
    pub(crate) fn new() -> Self {
        RoleWatches {
            inner: Mutex::new(Registry {
                open: true,
                senders: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Nothing panics while holding the lock; if something did, the map is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of `role`'s view. A role the node never heard of is vacant (as the
    /// core reports it). Once the node has stopped, the receiver is already closed.
    pub(crate) fn subscribe(&self, role: RoleName) -> watch::Receiver<RoleState> {
        let mut registry = self.lock();
        if !registry.open {
            return watch::channel(RoleState::Vacant).1;
        }
        registry
            .senders
            .entry(role)
            .or_insert_with(|| watch::channel(RoleState::Vacant).0)
            .subscribe()
    }

    /// Records the node's new view of `role` and wakes its watchers.
    pub(crate) fn publish(&self, role: &RoleName, state: &RoleState) {
        let mut registry = self.lock();
        match registry.senders.get(role) {
            Some(sender) => {
                sender.send_replace(state.clone());
            }
            None => {
                let (sender, _) = watch::channel(state.clone());
                registry.senders.insert(role.clone(), sender);
            }
        }
    }

    /// The node's task has ended: closes every receiver.
    pub(crate) fn close(&self) {
        let mut registry = self.lock();
        registry.open = false;
        registry.senders.clear();
    }
}
