//! Renewing by session: a voter that has received a holder's whole held set in one
//! round keeps it, and the holder then renews it by version alone, so that a steady
//! renewal costs one small datagram per voter whatever the number of roles held
//! (`docs/design/forgetting-and-sessions.md`).
//!
//! Invariants:
//! - a holder's set version rises whenever the set of (role, term) it holds changes, so
//!   one version always names one set;
//! - a voter keeps a set only as assembled from every chunk of one round, each of whose
//!   leases it renewed on receipt; a renewal by version renews each lease of that set
//!   exactly as the full list would (`Roles::renew_leases`), and answers `whole` only if
//!   every one was renewed, else it forgets the set;
//! - the holder counts a `whole` answer as an acknowledgement of every role of the round
//!   answered, and only for the round's own version: the voter renewed every lease of
//!   that set after the round was sent, so `sent_at + holder_lease` stays within every
//!   voter's lease (S1).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{Ctx, Outbox, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Body, SetPart};

/// The most chunks a held set may come in: 4,096 datagrams of `max_datagram_size` carry
/// well over 10,000 roles, and bound what one holder can make a voter keep.
pub(crate) const MAX_CHUNKS: u32 = 4096;

/// One holder's held set as this voter received it.
#[derive(Debug)]
struct HeldSet {
    holder: NodeId,
    version: u64,
    /// The round whose chunks were put together, and which of them arrived.
    round: u64,
    chunks: u32,
    received: BTreeSet<u32>,
    leases: Vec<(RoleName, LamportTime)>,
    /// Whether every lease received was renewed: one refused keeps the set from use.
    all_renewed: bool,
    last_used: Instant,
}

impl HeldSet {
    fn is_whole(&self) -> bool {
        self.all_renewed && self.received.len() == self.chunks as usize
    }
}

/// The held sets this voter keeps, one per holder.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_holder: BTreeMap<NodeName, HeldSet>,
}

impl Sessions {
    /// Adds one chunk of `holder`'s set, received in `round` with `leases` (all renewed
    /// if `all_renewed`). Returns the set's version once the round brought it whole.
    pub(crate) fn add_part(
        &mut self,
        now: Instant,
        holder: &NodeId,
        round: u64,
        part: SetPart,
        leases: &[(RoleName, LamportTime)],
        all_renewed: bool,
    ) -> Option<u64> {
        if part.chunks == 0 || part.chunks > MAX_CHUNKS || part.chunk >= part.chunks {
            return None;
        }
        let fresh = || HeldSet {
            holder: holder.clone(),
            version: part.version,
            round,
            chunks: part.chunks,
            received: BTreeSet::new(),
            leases: Vec::new(),
            all_renewed: true,
            last_used: now,
        };
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
        set.last_used = now;
        set.all_renewed &= all_renewed;
        if set.received.insert(part.chunk) {
            set.leases.extend_from_slice(leases);
        }
        set.is_whole().then_some(set.version)
    }

    /// Takes `holder`'s whole set at `version` out, to renew it; give it back with
    /// [`Sessions::put_back`] if every lease in it was renewed.
    pub(crate) fn take_whole(
        &mut self,
        holder: &NodeId,
        version: u64,
    ) -> Option<Vec<(RoleName, LamportTime)>> {
        let set = self.by_holder.get_mut(holder.name())?;
        if set.holder != *holder || set.version != version || !set.is_whole() {
            return None;
        }
        Some(std::mem::take(&mut set.leases))
    }

    /// Gives back the leases taken by [`Sessions::take_whole`], all renewed at `now`.
    pub(crate) fn put_back(
        &mut self,
        now: Instant,
        holder: &NodeId,
        leases: Vec<(RoleName, LamportTime)>,
    ) {
        if let Some(set) = self.by_holder.get_mut(holder.name()) {
            set.leases = leases;
            set.last_used = now;
        }
    }

    /// Forgets `holder`'s set: a lease in it was refused.
    pub(crate) fn drop_set(&mut self, holder: &NodeName) {
        self.by_holder.remove(holder);
    }

    /// Forgets the sets no holder has used for `idle`.
    pub(crate) fn forget_idle(&mut self, now: Instant, idle: Duration) {
        self.by_holder
            .retain(|_, set| now.saturating_duration_since(set.last_used) < idle);
    }
}

/// On a holder: the version of its held set, and which voters keep it whole.
#[derive(Debug, Default)]
pub(crate) struct HeldVersion {
    version: u64,
    synced: BTreeMap<NodeName, u64>,
}

impl HeldVersion {
    /// The set changed: every voter needs the full list again.
    pub(crate) fn changed(&mut self) {
        self.version += 1;
    }

    /// The current version.
    pub(crate) fn current(&self) -> u64 {
        self.version
    }

    /// Whether `voter` keeps the current set whole, as far as this holder knows.
    pub(crate) fn is_synced(&self, voter: &NodeName) -> bool {
        self.synced.get(voter) == Some(&self.version)
    }

    /// `voter` keeps the set at `version` whole.
    pub(crate) fn synced(&mut self, voter: &NodeName, version: u64) {
        self.synced.insert(voter.clone(), version);
    }

    /// `voter` no longer keeps a whole set: it gets the full list again.
    pub(crate) fn unsynced(&mut self, voter: &NodeName) {
        self.synced.remove(voter);
    }

    /// Forgets the voters not in `live`.
    pub(crate) fn retain(&mut self, live: &BTreeSet<NodeName>) {
        self.synced.retain(|voter, _| live.contains(voter));
    }
}

impl Roles {
    /// A chunk of a holder's renewal: each lease renewed as [`Roles::renew_leases`] says;
    /// the answer names the set's version once this round brought it whole.
    pub(super) fn on_renew(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        round: u64,
        part: SetPart,
        leases: Vec<(RoleName, LamportTime)>,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let acked = self.renew_leases(ctx, out, from, &leases);
        let all_renewed = acked.len() == leases.len();
        let whole = self
            .sessions
            .add_part(ctx.now, from, round, part, &leases, all_renewed);
        reply(ctx, out, from, round, acked, whole);
    }

    /// A renewal by version: every lease of the set kept for `from` is renewed as if
    /// listed. Unless every one was, or no whole set at `version` is kept, the answer
    /// names no version and the holder sends the list again.
    pub(super) fn on_renew_set(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        round: u64,
        version: u64,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let (acked, whole) = match self.sessions.take_whole(from, version) {
            Some(leases) => {
                let acked = self.renew_leases(ctx, out, from, &leases);
                if acked.len() == leases.len() {
                    self.sessions.put_back(ctx.now, from, leases);
                    (Vec::new(), Some(version))
                } else {
                    self.sessions.drop_set(from.name());
                    (acked, None)
                }
            }
            None => (Vec::new(), None),
        };
        reply(ctx, out, from, round, acked, whole);
    }
}

/// Answers `from`'s renewal round `round`, by list or by version alike.
fn reply(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    from: &NodeId,
    round: u64,
    acked: Vec<LamportTime>,
    whole: Option<u64>,
) {
    out.sends.push((
        from.addr(),
        Body::RenewReply {
            round,
            population: ctx.population_u32(),
            acked,
            whole,
        },
    ));
}
