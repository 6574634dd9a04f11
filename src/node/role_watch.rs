//! The latest view of every role, shared by the node's task (which publishes each
//! change) and its handles (which subscribe without a round trip to the task).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::core::RoleState;
use crate::identity::RoleName;

/// One watch channel per role that is held or watched, holding the node's current view
/// of it.
#[derive(Debug)]
pub(crate) struct RoleWatches {
    inner: Mutex<Registry>,
}

#[derive(Debug)]
struct Registry {
    /// False once the node's task has ended.
    open: bool,
    senders: HashMap<RoleName, watch::Sender<RoleState>>,
    /// How many channels were left after the last prune: the next one runs once there
    /// are twice as many, so pruning costs O(1) per channel made.
    pruned_to: usize,
}

/// Channels kept before the first prune.
const PRUNE_FROM: usize = 64;

impl RoleWatches {
    pub(crate) fn new() -> Self {
        RoleWatches {
            inner: Mutex::new(Registry {
                open: true,
                senders: HashMap::new(),
                pruned_to: 0,
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
        let receiver = registry
            .senders
            .entry(role)
            .or_insert_with(|| watch::channel(RoleState::Vacant).0)
            .subscribe();
        registry.prune_if_grown();
        receiver
    }

    /// Records the node's new view of `role` and wakes its watchers. A vacant role
    /// nobody watches keeps no channel: [`RoleWatches::subscribe`] starts it vacant
    /// again, so the registry follows the roles in use, not every role ever named.
    pub(crate) fn publish(&self, role: &RoleName, state: &RoleState) {
        let mut registry = self.lock();
        let vacant = *state == RoleState::Vacant;
        match registry.senders.get(role) {
            Some(sender) if vacant && sender.receiver_count() == 0 => {
                registry.senders.remove(role);
            }
            Some(sender) => {
                sender.send_replace(state.clone());
            }
            None if vacant => {}
            None => {
                let (sender, _) = watch::channel(state.clone());
                registry.senders.insert(role.clone(), sender);
            }
        }
        registry.prune_if_grown();
    }

    /// The node's task has ended: closes every receiver.
    pub(crate) fn close(&self) {
        let mut registry = self.lock();
        registry.open = false;
        registry.senders.clear();
    }
}

impl Registry {
    /// Drops the channels of vacant roles whose last watcher went away after the role
    /// became vacant (a holder's `Leadership` dropped after its resignation was
    /// published, a watch that ended), once the registry has doubled since the last prune.
    fn prune_if_grown(&mut self) {
        if self.senders.len() < PRUNE_FROM.max(2 * self.pruned_to) {
            return;
        }
        self.senders.retain(|_, sender| {
            sender.receiver_count() > 0 || *sender.borrow() != RoleState::Vacant
        });
        self.senders.shrink_to_fit();
        self.pruned_to = self.senders.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LamportTime;
    use crate::identity::NodeName;

    fn role(name: &str) -> RoleName {
        RoleName::new(name).expect("a valid role name")
    }

    fn held() -> RoleState {
        RoleState::Held {
            holder: NodeName::new("n1").expect("a valid node name"),
            term: LamportTime(3),
            value: crate::RoleValue::EMPTY,
        }
    }

    fn channels(watches: &RoleWatches) -> usize {
        watches.lock().senders.len()
    }

    #[test]
    fn a_role_that_ends_vacant_with_nobody_watching_keeps_no_channel() {
        let watches = RoleWatches::new();
        for i in 0..100 {
            let role = role(&format!("job-{i}"));
            watches.publish(&role, &held());
            watches.publish(&role, &RoleState::Vacant);
        }
        assert_eq!(channels(&watches), 0);
        // A later subscriber still sees the role vacant, then held when it is.
        let mut rx = watches.subscribe(role("job-7"));
        assert_eq!(*rx.borrow_and_update(), RoleState::Vacant);
        watches.publish(&role("job-7"), &held());
        assert!(rx.has_changed().expect("the channel is open"));
        assert_eq!(*rx.borrow(), held());
    }

    #[test]
    fn channels_whose_watchers_left_after_the_role_went_vacant_are_pruned() {
        let watches = RoleWatches::new();
        for i in 0..10_000 {
            // As a holder's Leadership does: watched while held, dropped after the
            // resignation is published.
            let role = role(&format!("job-{i}"));
            let rx = watches.subscribe(role.clone());
            watches.publish(&role, &held());
            watches.publish(&role, &RoleState::Vacant);
            drop(rx);
        }
        assert!(
            channels(&watches) <= 2 * PRUNE_FROM,
            "{}",
            channels(&watches)
        );
        // Watched or held roles survive every prune.
        let watched = watches.subscribe(role("scheduler"));
        watches.publish(&role("compactor"), &held());
        for i in 0..1_000 {
            let role = role(&format!("other-{i}"));
            drop(watches.subscribe(role));
        }
        assert_eq!(*watched.borrow(), RoleState::Vacant);
        let registry = watches.lock();
        assert!(registry.senders.contains_key(&role("scheduler")));
        assert_eq!(*registry.senders[&role("compactor")].borrow(), held());
    }

    #[test]
    fn a_watched_role_keeps_its_channel_when_vacant() {
        let watches = RoleWatches::new();
        let rx = watches.subscribe(role("scheduler"));
        watches.publish(&role("scheduler"), &held());
        watches.publish(&role("scheduler"), &RoleState::Vacant);
        assert_eq!(channels(&watches), 1);
        assert_eq!(*rx.borrow(), RoleState::Vacant);
    }
}
