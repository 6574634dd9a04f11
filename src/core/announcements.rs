//! The foca broadcast handler for [`Announcement`]s.
//!
//! foca owns the handler and offers no way back to it, so the handler shares its state
//! with the core: it decides whether an announcement is news (and so worth gossiping
//! further), and queues news for the core to apply.
//!
//! An election that is old news here is still applied (not spread): a view may have
//! missed it, and the core's views ignore what they already know.
//!
//! While the gossip backlog is full, news of roles is applied but not gossiped further
//! (the handler answers "nothing to spread"), so a burst of role churn cannot grow
//! foca's queue past `Config::max_gossip_backlog`. News of members is always spread.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::wire::{Announcement, AnnouncementKey, Subject, WireError, decode_exact};

#[derive(Debug, Default)]
struct Shared {
    /// News not yet applied by the core, in arrival order.
    inbox: VecDeque<Announcement>,
    /// The newest version seen per subject.
    newest: BTreeMap<Subject, (u64, u64)>,
    /// News of a role with no entry in `newest` is news only above this term: the
    /// highest term of the roles forgotten.
    forgotten_through: u64,
    /// Whether the gossip backlog is full: news of roles is then not spread.
    backlog_full: bool,
    /// News of roles applied but not spread because the backlog was full.
    unspread: u64,
}

/// The handler foca calls for every announcement, and the core's side of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Announcements {
    shared: Arc<Mutex<Shared>>,
}

impl Announcements {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Nothing can panic while the lock is held, so it is never poisoned; recover anyway.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next announcement to apply.
    pub(crate) fn next(&self) -> Option<Announcement> {
        self.lock().inbox.pop_front()
    }

    /// Tells the handler whether the gossip backlog is full, after every change to it.
    pub(crate) fn set_backlog_full(&self, full: bool) {
        self.lock().backlog_full = full;
    }

    /// How many announcements of roles were applied but not gossiped further.
    pub(crate) fn unspread(&self) -> u64 {
        self.lock().unspread
    }

    /// Forgets what was seen about `subject`, when the subject itself is forgotten.
    pub(crate) fn forget(&self, subject: &Subject) {
        let mut shared = self.lock();
        if let Some((term, _)) = shared.newest.remove(subject)
            && matches!(subject, Subject::Role(_))
        {
            shared.forgotten_through = shared.forgotten_through.max(term);
        }
    }
}

impl<T> foca::BroadcastHandler<T> for Announcements {
    type Key = AnnouncementKey;
    type Error = WireError;

    fn receive_item(
        &mut self,
        data: &[u8],
        _sender: Option<&T>,
    ) -> Result<Option<AnnouncementKey>, WireError> {
        let announcement: Announcement = decode_exact(data)?;
        let key = announcement.key();
        let mut shared = self.lock();
        let newest = shared.newest.get(key.subject());
        let old = match newest {
            Some(&seen) => seen >= key.version(),
            None => {
                matches!(key.subject(), Subject::Role(_))
                    && key.version().0 <= shared.forgotten_through
            }
        };
        if old {
            // An election the gossip has newer news of (its recall, say), or of a role
            // forgotten here, can still be news to a view: one that never learned the
            // tenure before the newer news came, or one a renewal made again since. The
            // core keeps each view's order and its own floor for forgotten roles, so it
            // is applied there, but not spread.
            if matches!(announcement, Announcement::Elected { .. }) {
                shared.inbox.push_back(announcement);
            }
            return Ok(None);
        }
        shared.newest.insert(key.subject().clone(), key.version());
        shared.inbox.push_back(announcement);
        if shared.backlog_full && matches!(key.subject(), Subject::Role(_)) {
            shared.unspread += 1;
            return Ok(None);
        }
        Ok(Some(key))
    }
}
