//! The roles the agent holds because its API was asked to elect them.
//!
//! A role won through `POST /v1/roles/{role}/elect` makes the agent's own node the
//! holder. The agent keeps the [`Leadership`] (dropping it would resign the role at
//! once) until the role is lost: resigned through the API, recalled, not renewed in
//! time, or given up when the agent leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use polity::{LamportTime, Leadership, RoleName};

#[derive(Debug, Default)]
pub struct Holdings {
    held: Mutex<HashMap<RoleName, Leadership>>,
}

impl Holdings {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoleName, Leadership>> {
        // Nothing panics while holding the lock; if something did, the map is still whole.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `leadership` until its tenure ends.
    pub fn keep(self: &Arc<Self>, leadership: Leadership) {
        let role = leadership.role().clone();
        let term = leadership.term();
        let lost = leadership.lost();
        let previous = self.lock().insert(role.clone(), leadership);
        // An earlier election of the same tenure already waits for its end.
        if previous.is_some_and(|previous| previous.term() == term) {
            return;
        }
        let holdings = Arc::clone(self);
        tokio::spawn(async move {
            let _ = lost.await;
            holdings.forget(&role, term);
        });
    }

    /// The tenure of `role` kept, if any.
    pub fn get(&self, role: &RoleName) -> Option<Leadership> {
        self.lock().get(role).cloned()
    }

    /// Lets go of `role` at `term`, if that is the tenure kept.
    fn forget(&self, role: &RoleName, term: LamportTime) {
        let mut held = self.lock();
        if held.get(role).is_some_and(|kept| kept.term() == term) {
            held.remove(role);
        }
    }
}
