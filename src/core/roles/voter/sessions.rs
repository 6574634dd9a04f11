//! The held sets a voter keeps, one per holder: put together from every chunk of one
//! renewal round, then renewed by version alone, which moves one `until` for every lease
//! in the set (`docs/design/forgetting-and-sessions.md`).
//!
//! Invariants:
//! - a set binds leases only once whole: every chunk of one round arrived and every
//!   lease in it was renewed on receipt; changes to a whole set apply only once every
//!   chunk of them arrived in one round and every lease they add was renewed, and only
//!   to the version they name;
//! - a whole set's `until` is no later than the end of any lease it binds as that lease
//!   was last renewed by list, plus the renewals by version since: so the lease a bound
//!   role runs to is `max(lease.until, set.until)`, what renewing each lease by list
//!   at the same instants would have given.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::SetPart;

/// The most chunks a held set may come in: 4,096 datagrams of `max_datagram_size` carry
/// well over 10,000 roles, and bound what one holder can make a voter keep.
const MAX_CHUNKS: u32 = 4096;

/// Whether `part` names a chunk that can be: one of at most [`MAX_CHUNKS`].
fn fits(part: &SetPart) -> bool {
    part.chunks > 0 && part.chunks <= MAX_CHUNKS && part.chunk < part.chunks
}

/// One holder's held set as this voter received it.
#[derive(Debug)]
pub(super) struct HeldSet {
    holder: NodeId,
    version: u64,
    /// The round whose chunks are put together, and which of them arrived.
    round: u64,
    chunks: u32,
    received: BTreeSet<u32>,
    leases: BTreeMap<RoleName, LamportTime>,
    /// Whether every lease received was renewed: one refused keeps the set from use.
    all_renewed: bool,
    /// Every lease the set binds runs at least until this: the end of the lease renewed
    /// by the round's first chunk, moved on by each renewal by version.
    until: Instant,
    /// The pending session check, once whole.
    check_at: Option<Instant>,
    last_used: Instant,
    /// Changes to this set being put together from one round's chunks.
    staged: Option<Staged>,
}

/// Changes to a held set, as they arrive.
#[derive(Debug)]
struct Staged {
    round: u64,
    part: SetPart,
    received: BTreeSet<u32>,
    changes: BTreeMap<RoleName, Option<LamportTime>>,
    all_renewed: bool,
    /// When the first chunk arrived: once applied, the set runs at least a lease from
    /// then, since this round renewed it.
    started: Instant,
}

/// One chunk of the changes a holder sends to a voter that keeps its set at `from`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangesChunk<'a> {
    pub(crate) round: u64,
    pub(crate) from: u64,
    pub(crate) part: SetPart,
    pub(crate) changes: &'a [(RoleName, Option<LamportTime>)],
    /// Whether the voter renewed every lease the chunk adds, on receipt.
    pub(crate) all_renewed: bool,
}

impl HeldSet {
    fn is_whole(&self) -> bool {
        self.all_renewed && self.received.len() == self.chunks as usize
    }
}

/// One chunk of a holder's renewal round, as a voter received it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk<'a> {
    pub(crate) round: u64,
    pub(crate) part: SetPart,
    pub(crate) leases: &'a [(RoleName, LamportTime)],
    /// Whether the voter renewed every lease in it, on receipt.
    pub(crate) all_renewed: bool,
}

/// What adding a chunk did.
#[derive(Debug, Default)]
pub(super) struct PartAdded {
    /// The set's version, if this chunk made it whole.
    pub(super) whole: Option<u64>,
    /// When to check the set's end, if it just became whole.
    pub(super) check_at: Option<Instant>,
}

/// The held sets this voter keeps, one per holder.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    by_holder: BTreeMap<NodeName, HeldSet>,
}

impl Sessions {
    /// Until when `holder`'s whole set keeps `role` at `term` renewed, if it binds it.
    pub(super) fn until_for(
        &self,
        holder: &NodeName,
        role: &RoleName,
        term: LamportTime,
    ) -> Option<Instant> {
        let set = self.by_holder.get(holder)?;
        (set.is_whole() && set.leases.get(role) == Some(&term)).then_some(set.until)
    }

    /// Whether `holder`'s set that chunk `part` of `round` belongs to would replace a
    /// whole set kept now (whose leases must then be settled before it goes).
    pub(super) fn replaces_whole(&self, holder: &NodeId, round: u64, part: &SetPart) -> bool {
        self.by_holder.get(holder.name()).is_some_and(|set| {
            set.is_whole()
                && (set.holder != *holder || set.version != part.version || set.round != round)
        })
    }

    /// Adds `chunk` of `holder`'s set, received at `now` (its leases renewed for
    /// `lease`). Settle the set it replaces first ([`Sessions::replaces_whole`]).
    pub(super) fn add_part(
        &mut self,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        chunk: Chunk<'_>,
    ) -> PartAdded {
        let Chunk {
            round,
            part,
            leases,
            all_renewed,
        } = chunk;
        if !fits(&part) {
            return PartAdded::default();
        }
        let fresh = || HeldSet {
            holder: holder.clone(),
            version: part.version,
            round,
            chunks: part.chunks,
            received: BTreeSet::new(),
            leases: BTreeMap::new(),
            all_renewed: true,
            until: now + lease,
            check_at: None,
            last_used: now,
            staged: None,
        };
        let mut added = PartAdded::default();
        let set = self
            .by_holder
            .entry(holder.name().clone())
            .or_insert_with(fresh);
        if set.holder != *holder
            || set.version != part.version
            || set.round != round
            || set.chunks != part.chunks
        {
            *set = fresh();
        }
        if set.is_whole() {
            // A chunk sent again after the set was put together adds nothing.
            added.whole = Some(set.version);
            return added;
        }
        set.last_used = now;
        set.all_renewed &= all_renewed;
        if set.received.insert(part.chunk) {
            set.leases.extend(leases.iter().cloned());
        }
        if set.is_whole() {
            added.whole = Some(set.version);
            set.check_at = Some(set.until);
            added.check_at = set.check_at;
        }
        added
    }

    /// Adds `chunk` of the changes to `holder`'s whole set at `chunk.from`, received at
    /// `now`, and renews that set for `lease` as a renewal by version would. `None` if
    /// no such set is kept; else the roles the changes touch once every chunk of the
    /// round has arrived with every added lease renewed: settle their leases, then
    /// [`Sessions::apply`] them.
    pub(super) fn stage(
        &mut self,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        chunk: ChangesChunk<'_>,
    ) -> Option<Option<Vec<RoleName>>> {
        let part = chunk.part;
        if !fits(&part) {
            return None;
        }
        let set = self.by_holder.get_mut(holder.name())?;
        if set.holder != *holder || set.version != chunk.from || !set.is_whole() {
            return None;
        }
        set.until = set.until.max(now + lease);
        set.last_used = now;
        let staged = match &mut set.staged {
            Some(staged)
                if staged.round == chunk.round
                    && staged.part.version == part.version
                    && staged.part.chunks == part.chunks =>
            {
                staged
            }
            slot => slot.insert(Staged {
                round: chunk.round,
                part,
                received: BTreeSet::new(),
                changes: BTreeMap::new(),
                all_renewed: true,
                started: now,
            }),
        };
        staged.all_renewed &= chunk.all_renewed;
        if staged.received.insert(part.chunk) {
            staged.changes.extend(chunk.changes.iter().cloned());
        }
        Some(
            (staged.all_renewed && staged.received.len() == part.chunks as usize)
                .then(|| staged.changes.keys().cloned().collect()),
        )
    }

    /// Applies `holder`'s staged changes, complete ([`Sessions::stage`]): the set is now
    /// at their version, renewed for `lease` from when they began to arrive. Returns the
    /// new version.
    pub(super) fn apply(&mut self, lease: Duration, holder: &NodeName) -> Option<u64> {
        let set = self.by_holder.get_mut(holder)?;
        let staged = set.staged.take()?;
        for (role, change) in staged.changes {
            match change {
                Some(term) => set.leases.insert(role, term),
                None => set.leases.remove(&role),
            };
        }
        set.version = staged.part.version;
        set.round = staged.round;
        set.until = set.until.max(staged.started + lease);
        set.last_used = set.last_used.max(staged.started);
        Some(set.version)
    }

    /// Renews `holder`'s whole set at `version` for `lease` from `now`; false if no such
    /// set is kept.
    pub(super) fn renew(
        &mut self,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        version: u64,
    ) -> bool {
        let Some(set) = self.by_holder.get_mut(holder.name()) else {
            return false;
        };
        if set.holder != *holder || set.version != version || !set.is_whole() {
            return false;
        }
        set.until = set.until.max(now + lease);
        set.last_used = now;
        true
    }

    /// The session check armed at `at` for `holder`'s set came due at `now`: `Some(at)`
    /// again if the set runs on (re-armed), `None` if it ended (take it out) or the check
    /// is no longer this set's.
    pub(super) fn check(&mut self, now: Instant, holder: &NodeName, at: Instant) -> Check {
        let Some(set) = self.by_holder.get_mut(holder) else {
            return Check::Stale;
        };
        if set.check_at != Some(at) {
            return Check::Stale;
        }
        if set.until > now {
            set.check_at = Some(set.until);
            Check::Again(set.until)
        } else {
            set.check_at = None;
            Check::Ended
        }
    }

    /// Whether `holder`'s set binds `role` at `term`.
    pub(super) fn binds(&self, holder: &NodeName, role: &RoleName, term: LamportTime) -> bool {
        self.until_for(holder, role, term).is_some()
    }

    /// The roles `holder`'s whole set binds (none if it is not whole).
    pub(super) fn bound_roles(&self, holder: &NodeName) -> Vec<RoleName> {
        self.by_holder
            .get(holder)
            .filter(|set| set.is_whole())
            .map(|set| set.leases.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Takes `role` out of `holder`'s set, which goes on binding the rest; settle its
    /// lease first.
    pub(super) fn remove_role(&mut self, holder: &NodeName, role: &RoleName) {
        if let Some(set) = self.by_holder.get_mut(holder) {
            set.leases.remove(role);
        }
    }

    /// Forgets `holder`'s set; settle the leases it binds first.
    pub(super) fn remove(&mut self, holder: &NodeName) {
        self.by_holder.remove(holder);
    }

    /// Forgets the sets that never became whole and that no holder has used for `idle`:
    /// they bind no lease. Whole sets go when they end.
    pub(super) fn forget_idle(&mut self, now: Instant, idle: Duration) {
        self.by_holder
            .retain(|_, set| set.is_whole() || now.saturating_duration_since(set.last_used) < idle);
    }
}

/// What a session check found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// Not this set's check (it was replaced, or checked since).
    Stale,
    /// The set was renewed: check again then.
    Again(Instant),
    /// No renewal came in time: the leases it binds end.
    Ended,
}
